//! Extension codecs that carry the meterprice functions in serialized plans
//! (DataFusion's protobuf plans, as Ballista ships them to its scheduler
//! and executors).
//!
//! A function bound to a charge ([`RateUdf::bound`]) is encoded as its
//! currency and charge text; decoding validates the charge again and binds
//! it. An unbound function is encoded by name (an empty payload), and
//! decoded by name even where the receiving side never registered it. A
//! function pruned to fewer fields of its struct (`rate/prune.rs`) puts
//! them first, so that the receiving side returns the same struct.
//! Everything else goes to the wrapped codec (Ballista's own, or
//! DataFusion's default).
//!
//! ```
//! use std::sync::Arc;
//! use datafusion::logical_expr::ScalarUDF;
//! use datafusion_proto::logical_plan::{DefaultLogicalExtensionCodec, LogicalExtensionCodec};
//! use meterprice_datafusion::{RateUdf, codec::LogicalCodec};
//!
//! let codec = LogicalCodec::new(Arc::new(DefaultLogicalExtensionCodec {}));
//! let charge = r#"{"charge_model": "standard", "properties": {"amount": "2"}}"#;
//! let udf = ScalarUDF::from(RateUdf::bound("EUR", charge)?);
//! let mut bytes = Vec::new();
//! codec.try_encode_udf(&udf, &mut bytes)?;
//! let back = codec.try_decode_udf("meterprice_rate", &bytes)?;
//! assert_eq!(back.as_ref(), &udf);
//! # Ok::<(), datafusion::error::DataFusionError>(())
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result, TableReference, internal_datafusion_err};
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{
    AggregateUDF, Extension, HigherOrderUDF, LogicalPlan, ScalarUDF, WindowUDF,
};
use datafusion::physical_expr_common::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

use crate::fees::FeeFields;
use crate::{AggregateUdf, RATE_FUNCTION, RateUdf};

/// The first byte of a bound function's payload: the format's version.
const BOUND_V1: u8 = 1;

/// The first byte of a pruned function's payload, followed by its fields
/// (one byte) and the payload of the whole-struct function.
const FIELDS_V1: u8 = 2;

/// Writes a meterprice function's payload; `false` when `udf` is not one
/// of ours (the wrapped codec then encodes it).
pub fn encode_udf(udf: &ScalarUDF, buf: &mut Vec<u8>) -> Result<bool> {
    let Some(rate) = udf.inner().downcast_ref::<RateUdf>() else {
        return Ok(false);
    };
    if rate.fields() != FeeFields::ALL {
        buf.extend_from_slice(&[FIELDS_V1, rate.fields().bits()]);
    }
    if let Some((currency, charge)) = rate.charge_text() {
        let len = u32::try_from(currency.len())
            .map_err(|_| internal_datafusion_err!("meterprice_rate: currency too long"))?;
        buf.push(BOUND_V1);
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(currency.as_bytes());
        buf.extend_from_slice(charge.as_bytes());
    }
    Ok(true)
}

/// Reads a meterprice function's payload; `None` when `name` is not one of
/// ours.
///
/// # Errors
/// A malformed payload, or a charge that no longer validates.
pub fn decode_udf(name: &str, buf: &[u8]) -> Option<Result<Arc<ScalarUDF>>> {
    if name != RATE_FUNCTION {
        return None;
    }
    Some(decode_rate(buf).map(|f| Arc::new(ScalarUDF::from(f))))
}

fn malformed() -> DataFusionError {
    internal_datafusion_err!("meterprice_rate: malformed plan payload")
}

fn decode_rate(buf: &[u8]) -> Result<RateUdf> {
    match buf {
        [FIELDS_V1, bits, rest @ ..] => {
            let fields = FeeFields::from_bits(*bits).ok_or_else(malformed)?;
            Ok(decode_whole(rest)?.with_fields(fields))
        }
        _ => decode_whole(buf),
    }
}

/// The payload of a function that returns the whole struct.
fn decode_whole(buf: &[u8]) -> Result<RateUdf> {
    let Some((&version, rest)) = buf.split_first() else {
        return Ok(RateUdf::new());
    };
    if version != BOUND_V1 {
        return Err(malformed());
    }
    let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(malformed)?;
    let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| malformed())?;
    let (currency, charge) = rest.split_at_checked(len).ok_or_else(malformed)?;
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map_err(|_| malformed())
            .map(str::to_owned)
    };
    RateUdf::bound(&text(currency)?, &text(charge)?)
}

/// Whether `udaf` is one of the meterprice aggregate functions (encoded by
/// name: they carry no payload, their constants are in the plan).
pub fn encode_udaf(udaf: &AggregateUDF) -> bool {
    udaf.inner().downcast_ref::<AggregateUdf>().is_some()
}

/// The meterprice aggregate function `name`; `None` when `name` is not one
/// of ours.
pub fn decode_udaf(name: &str) -> Option<Arc<AggregateUDF>> {
    crate::aggregates::by_name(name)
}

/// A logical codec that knows the meterprice functions and hands every
/// other node to `inner`.
#[derive(Debug)]
pub struct LogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
}

impl LogicalCodec {
    /// Wraps `inner` (e.g. Ballista's `BallistaLogicalExtensionCodec`).
    pub fn new(inner: Arc<dyn LogicalExtensionCodec>) -> Self {
        Self { inner }
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        self.inner
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udf(node, buf)? {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_higher_order_function(
        &self,
        name: &str,
        buf: &[u8],
    ) -> Result<Arc<HigherOrderUDF>> {
        self.inner.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(
        &self,
        node: &HigherOrderUDF,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        match decode_udaf(name) {
            Some(udaf) => Ok(udaf),
            None => self.inner.try_decode_udaf(name, buf),
        }
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udaf(node) {
            return Ok(());
        }
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// A physical codec that knows the meterprice functions and hands every
/// other node to `inner`.
#[derive(Debug)]
pub struct PhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
}

impl PhysicalCodec {
    /// Wraps `inner` (e.g. Ballista's `BallistaPhysicalExtensionCodec`).
    pub fn new(inner: Arc<dyn PhysicalExtensionCodec>) -> Self {
        Self { inner }
    }
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udf(node, buf)? {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_higher_order_function(
        &self,
        name: &str,
        buf: &[u8],
    ) -> Result<Arc<HigherOrderUDF>> {
        self.inner.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(
        &self,
        node: &HigherOrderUDF,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        match decode_udaf(name) {
            Some(udaf) => Ok(udaf),
            None => self.inner.try_decode_udaf(name, buf),
        }
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        if encode_udaf(node) {
            return Ok(());
        }
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        self.inner.try_decode_expr(buf, inputs, ctx)
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> Result<()> {
        self.inner.try_encode_expr(node, buf, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHARGE: &str = r#"{"charge_model": "standard", "properties": {"amount": "2"}}"#;

    fn round_trip(udf: RateUdf) -> RateUdf {
        let udf = ScalarUDF::from(udf);
        let mut bytes = Vec::new();
        assert!(encode_udf(&udf, &mut bytes).unwrap());
        let back = decode_udf(RATE_FUNCTION, &bytes).unwrap().unwrap();
        assert_eq!(back.as_ref(), &udf);
        back.inner().downcast_ref::<RateUdf>().unwrap().clone()
    }

    #[test]
    fn a_pruned_function_keeps_its_fields_bound_or_not() {
        let cents = FeeFields::named("amount_cents").unwrap();
        let bound = RateUdf::bound("EUR", CHARGE).unwrap().with_fields(cents);
        let back = round_trip(bound);
        assert_eq!(back.fields(), cents);
        assert_eq!(back.charge_text(), Some(("EUR", CHARGE)));
        let back = round_trip(RateUdf::new().with_fields(cents));
        assert_eq!((back.fields(), back.charge_text()), (cents, None));
        // The whole struct keeps the payload it always had.
        let mut bytes = Vec::new();
        encode_udf(&ScalarUDF::from(RateUdf::new()), &mut bytes).unwrap();
        assert!(bytes.is_empty());
    }

    #[test]
    fn malformed_field_payloads_are_errors() {
        // No field byte; an empty field set; a second field prefix; a bad version.
        for bytes in [
            &[FIELDS_V1][..],
            &[FIELDS_V1, 0],
            &[FIELDS_V1, 2, FIELDS_V1, 2],
            &[9],
        ] {
            let decoded = decode_udf(RATE_FUNCTION, bytes).unwrap();
            assert!(decoded.is_err(), "{bytes:?}");
        }
    }
}
