//! `meterprice_rate`: one usage bucket per row, priced by `Charge::rate`
//! (or, for a plain standard charge, by its closed form: `fast_standard.rs`).

pub(crate) mod fast_standard;
mod prune;

pub use prune::RateFieldPruning;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_datafusion_err, plan_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use meterprice::{Bucket, Charge, Period, Usage};

use crate::RATE_FUNCTION;
use crate::charges::{BoundCharge, ChargeCache};
use crate::columns::{self, Counts, Decimals, Texts};
use crate::fees::{FeeColumns, FeeFields, fee_fields_in};

/// What an argument accepts: its type after coercion, `None` if refused.
type Accepts = fn(&DataType) -> Option<DataType>;

/// The usage arguments, after the charge and currency: their names and
/// what each accepts. The first two are required.
const USAGE_ARGS: [(&str, Accepts); 4] = [
    ("units", columns::accepted_decimal),
    ("events_count", columns::accepted_count),
    ("precise_total_amount_cents", columns::accepted_decimal),
    ("full_units_number", columns::accepted_decimal),
];

/// The `meterprice_rate` scalar function (see the crate docs).
///
/// [`RateUdf::new`] takes the charge and currency as its first two
/// arguments. When both are literals, planning validates the charge once
/// and replaces the call by one bound to it ([`RateUdf::bound`]), which
/// takes the usage arguments only and carries the charge's text, so the
/// codecs can ship it to executors as bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateUdf {
    signature: Signature,
    bound: Option<BoundCharge>,
    cache: ChargeCache,
    /// The struct's fields it returns: all, unless [`RateFieldPruning`]
    /// found that the query reads fewer.
    fields: FeeFields,
}

impl Default for RateUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl RateUdf {
    /// `meterprice_rate(charge, currency, units, events_count [, …])`.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            bound: None,
            cache: ChargeCache::default(),
            fields: FeeFields::ALL,
        }
    }

    /// The function bound to one charge: `meterprice_rate(units,
    /// events_count [, …])`.
    ///
    /// # Errors
    /// A planning error with the validation message (`"validation_error:
    /// …"`) when the charge is not valid.
    pub fn bound(currency: &str, charge_json: &str) -> Result<Self> {
        let bound = BoundCharge::new(currency, charge_json)
            .map_err(|e| plan_datafusion_err!("meterprice_rate: {e}"))?;
        Ok(Self {
            bound: Some(bound),
            ..Self::new()
        })
    }

    /// The bound charge's (currency, JSON text), if bound.
    pub fn charge_text(&self) -> Option<(&str, &str)> {
        self.bound
            .as_ref()
            .map(|b| (b.currency.as_ref(), b.json.as_ref()))
    }

    /// The same function returning only `fields` of the struct.
    pub(crate) fn with_fields(self, fields: FeeFields) -> Self {
        Self { fields, ..self }
    }

    /// The struct's fields it returns.
    pub(crate) fn fields(&self) -> FeeFields {
        self.fields
    }

    /// How many leading arguments are the charge and currency.
    fn charge_args(&self) -> usize {
        if self.bound.is_some() { 0 } else { 2 }
    }

    /// The charge a literal (currency, charge) pair names, validated (and
    /// cached): an invalid one is a planning error.
    fn literal_charge(&self, charge: &ScalarValue, currency: &ScalarValue) -> Result<()> {
        if let (Some(charge), Some(currency)) = (text_of(charge), text_of(currency)) {
            self.cache
                .get(currency, charge)
                .map_err(|e| plan_datafusion_err!("meterprice_rate: {e}"))?;
        }
        Ok(())
    }
}

fn is_scalar(value: &ColumnarValue) -> bool {
    matches!(value, ColumnarValue::Scalar(_))
}

/// The text of a string literal (`None` for NULL or another type).
fn text_of(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.as_deref(),
        _ => None,
    }
}

impl ScalarUDFImpl for RateUdf {
    fn name(&self) -> &str {
        RATE_FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let lead = self.charge_args();
        let usage = arg_types.len().saturating_sub(lead);
        if arg_types.len() < lead + 2 || usage > USAGE_ARGS.len() {
            let form = if lead == 0 { "" } else { "charge, currency, " };
            return plan_err!(
                "meterprice_rate({form}units, events_count [, precise_total_amount_cents \
                 [, full_units_number]]): got {} arguments",
                arg_types.len()
            );
        }
        let (charge, usage) = arg_types.split_at(lead);
        let mut out = Vec::with_capacity(arg_types.len());
        for (t, name) in charge.iter().zip(["charge", "currency"]) {
            out.push(columns::coerce(name, t, columns::accepted_text)?);
        }
        for (t, (name, accepted)) in usage.iter().zip(USAGE_ARGS) {
            out.push(columns::coerce(name, t, accepted)?);
        }
        Ok(out)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fee_fields_in(self.fields)))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if self.bound.is_none()
            && let [Some(charge), Some(currency), ..] = args.scalar_arguments
        {
            self.literal_charge(charge, currency)?;
        }
        // The struct itself is never NULL: a row without figures has its error.
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Struct(fee_fields_in(self.fields)),
            false,
        )))
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        if self.bound.is_some() {
            return Ok(ExprSimplifyResult::Original(args));
        }
        let literal = |i: usize| match args.get(i) {
            Some(Expr::Literal(v, _)) => text_of(v),
            _ => None,
        };
        let (Some(charge), Some(currency)) = (literal(0), literal(1)) else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        let bound = ScalarUDF::from(Self::bound(currency, charge)?.with_fields(self.fields));
        let usage = args.into_iter().skip(2).collect();
        Ok(ExprSimplifyResult::Simplified(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::new(bound), usage),
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(if is_scalar(a) { 1 } else { rows }))
            .map(|a| a.and_then(|a| columns::widen(&a)))
            .collect::<Result<_>>()?;
        let scalar: Vec<bool> = args.args.iter().map(is_scalar).collect();
        let (charge_arrays, usage_arrays) = arrays.split_at(self.charge_args());
        let batch = Batch::new(
            usage_arrays,
            scalar.get(self.charge_args()..).unwrap_or(&[]),
        )?;
        let fast = self.bound.as_ref().and_then(|b| b.fast.as_ref());
        if let Some(column) = fast.and_then(|f| f.cents_column(&batch, rows, self.fields)) {
            return Ok(ColumnarValue::Array(column?));
        }
        let mut out = FeeColumns::with_capacity(rows, self.fields);
        match &self.bound {
            Some(b) => {
                let general =
                    |row: usize, out: &mut FeeColumns| rate_row(&b.charge, &batch, row, out);
                if !fast.is_some_and(|f| f.rate(&batch, rows, &mut out, general)) {
                    for row in 0..rows {
                        rate_row(&b.charge, &batch, row, &mut out);
                    }
                }
            }
            None => self.rate_rows(charge_arrays, &scalar, &batch, rows, &mut out)?,
        }
        Ok(ColumnarValue::Array(out.finish()?))
    }
}

impl RateUdf {
    /// Rows whose charge and currency come from columns: each run of equal
    /// texts looks its charge up once.
    fn rate_rows(
        &self,
        charge_arrays: &[ArrayRef],
        scalar: &[bool],
        batch: &Batch<'_>,
        rows: usize,
        out: &mut FeeColumns,
    ) -> Result<()> {
        let [charges, currencies] = charge_arrays else {
            return plan_err!("meterprice_rate: charge and currency are required");
        };
        let (charges, currencies) = (Texts::new(charges)?, Texts::new(currencies)?);
        let at = |i: usize, row: usize| if scalar.get(i) == Some(&true) { 0 } else { row };
        type Last<'a> = (&'a str, &'a str, Result<Arc<Charge>, Arc<str>>);
        let mut last: Option<Last<'_>> = None;
        for row in 0..rows {
            let (Some(charge), Some(currency)) =
                (charges.get(at(0, row)), currencies.get(at(1, row)))
            else {
                out.push_error("invalid_usage: charge or currency is NULL");
                continue;
            };
            let same = matches!(&last, Some((c, k, _)) if *c == charge && *k == currency);
            if !same {
                last = Some((charge, currency, self.cache.get(currency, charge)));
            }
            match last.as_ref().map(|(_, _, v)| v) {
                Some(Ok(c)) => rate_row(c, batch, row, out),
                Some(Err(e)) => out.push_error(e),
                None => out.push_error("invalid_usage: no charge"),
            }
        }
        Ok(())
    }
}

/// The usage columns of one batch.
pub(crate) struct Batch<'a> {
    units: Decimals<'a>,
    events_count: Counts<'a>,
    precise_total_amount_cents: Option<Decimals<'a>>,
    full_units_number: Option<Decimals<'a>>,
    /// Which of the four were scalars (read at row 0).
    scalar: [bool; 4],
}

impl<'a> Batch<'a> {
    /// Whether usage argument `i` (0: units) is a scalar, read at row 0.
    fn scalar_at(&self, i: usize) -> bool {
        self.scalar.get(i) == Some(&true)
    }

    pub(crate) fn new(arrays: &'a [ArrayRef], scalar: &[bool]) -> Result<Self> {
        let array = |i: usize| arrays.get(i).map(|a| a.as_ref() as &dyn Array);
        let Some(units) = array(0) else {
            return plan_err!("meterprice_rate: units is required");
        };
        let Some(events_count) = array(1) else {
            return plan_err!("meterprice_rate: events_count is required");
        };
        let flag = |i: usize| scalar.get(i) == Some(&true);
        Ok(Self {
            units: Decimals::new(units)?,
            events_count: Counts::new(events_count)?,
            precise_total_amount_cents: array(2).map(Decimals::new).transpose()?,
            full_units_number: array(3).map(Decimals::new).transpose()?,
            scalar: [flag(0), flag(1), flag(2), flag(3)],
        })
    }

    /// The usage of `row`, or the row's error.
    fn usage(&self, row: usize) -> Result<Usage, String> {
        let at = |i: usize| {
            if self.scalar.get(i) == Some(&true) {
                0
            } else {
                row
            }
        };
        let Some(units) = self.units.get(at(0), "units")? else {
            return Err("invalid_usage: units is NULL".to_string());
        };
        let mut usage =
            Usage::new(units).with_events_count(self.events_count.get(at(1), "events_count")?);
        if let Some(col) = &self.precise_total_amount_cents
            && let Some(cents) = col.get(at(2), "precise_total_amount_cents")?
        {
            usage = usage.with_precise_total_amount_cents(cents);
        }
        if let Some(col) = &self.full_units_number
            && let Some(full) = col.get(at(3), "full_units_number")?
        {
            usage = usage.with_full_units_number(full);
        }
        Ok(usage)
    }
}

/// Prices one row: its usage as the charge's one (default) bucket, over a
/// full period.
pub(crate) fn rate_row(charge: &Charge, batch: &Batch<'_>, row: usize, out: &mut FeeColumns) {
    let usage = match batch.usage(row) {
        Ok(u) => u,
        Err(e) => return out.push_error(&e),
    };
    match charge.rate(&[Bucket::new(usage)], &Period::full(1)) {
        Ok(fees) => out.push(&fees),
        Err(e) => out.push_error(&format!("{}: {e}", e.code())),
    }
}
