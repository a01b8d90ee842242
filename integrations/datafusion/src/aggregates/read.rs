//! Reading the aggregates' argument columns: values by Lago's rule (A13
//! with AD1), timestamps, input positions and texts.
//!
//! A text column holds a property as Postgres' `properties->>'key'` gives
//! it (A12), so A13's pattern applies to it as Lago's SQL applies it; a
//! decimal or integer column holds numbers, read exactly. A NULL is a
//! missing or `null` property.

use datafusion::arrow::array::{Array, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{DataFusionError, Result, exec_datafusion_err, exec_err, plan_err};
use meterprice::{EventOrder, Exact, Timestamp, Value, numeric_value};

use crate::columns::{Decimals, Texts};

/// A value argument's type after coercion, or a planning error naming
/// `function` (floats are refused: they are not exact).
pub(crate) fn value_type(function: &str, t: &DataType) -> Result<DataType> {
    Ok(match t {
        DataType::Null
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::Int64
        | DataType::UInt64 => t.clone(),
        t if t.is_signed_integer() => DataType::Int64,
        t if t.is_unsigned_integer() => DataType::UInt64,
        DataType::Dictionary(_, v) if v.is_string() => DataType::Utf8,
        t if t.is_floating() => {
            return plan_err!(
                "{function}: a value of type {t} is a binary float, not an exact number; \
                 cast it to DECIMAL or text"
            );
        }
        t => return plan_err!("{function}: a value cannot be {t}"),
    })
}

/// A text argument's type after coercion (properties, operation types):
/// text as it is; integers and decimals as their text, a decimal written
/// at its column's scale (as A12 keeps a number's written digits).
pub(crate) fn text_type(function: &str, t: &DataType) -> Result<DataType> {
    Ok(match t {
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => t.clone(),
        DataType::Dictionary(_, v) if v.is_string() => DataType::Utf8,
        DataType::Decimal128(..) | DataType::Decimal256(..) => DataType::Utf8,
        t if t.is_integer() => DataType::Utf8,
        t => return plan_err!("{function}: a property text cannot be {t}"),
    })
}

/// A timestamp argument's type after coercion: microseconds, in the time
/// zone it has (the stored instant is UTC either way); text is parsed.
pub(crate) fn timestamp_type(function: &str, t: &DataType) -> Result<DataType> {
    Ok(match t {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        }
        t => return plan_err!("{function}: a timestamp cannot be {t}"),
    })
}

/// An input-position argument's type after coercion.
pub(crate) fn seq_type(function: &str, t: &DataType) -> Result<DataType> {
    if t.is_integer() || t == &DataType::Null {
        Ok(DataType::Int64)
    } else {
        plan_err!("{function}: the input position (seq) must be an integer, not {t}")
    }
}

/// A value column of a batch: property text (A13 applies) or numbers.
pub(crate) enum Values<'a> {
    Text(Texts<'a>),
    Number(Decimals<'a>),
}

impl<'a> Values<'a> {
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                Self::Text(Texts::new(array)?)
            }
            _ => Self::Number(Decimals::new(array)?),
        })
    }

    /// Row `row`'s value by A13: `None` when the event is left out (NULL,
    /// or a text not matching `^-?\d+(\.\d+)?$`); an error for a value
    /// beyond the decimal range (magnitude 2^96 or more, more than 28
    /// fractional digits), which the core rejects too.
    #[inline]
    pub fn get(&self, row: usize) -> Result<Option<Exact>> {
        match self {
            Self::Text(t) => match t.get(row) {
                Some(s) => numeric_value(Some(Value::String(s)))
                    .map_err(|_| out_of_range(format!("value {s:?} is outside the decimal range"))),
                None => Ok(None),
            },
            Self::Number(d) => d.get(row, "value").map_err(|e| exec_datafusion_err!("{e}")),
        }
    }
}

fn out_of_range(message: String) -> DataFusionError {
    exec_datafusion_err!("arithmetic_overflow: {message}")
}

/// Timestamps and input positions: the events' [`EventOrder`].
pub(crate) struct Orders<'a> {
    times: Times<'a>,
    seqs: Option<&'a Int64Array>,
}

impl<'a> Orders<'a> {
    /// `seqs` may be absent (weighted sums need no tie-break).
    pub fn new(times: &'a dyn Array, seqs: Option<&'a dyn Array>) -> Result<Self> {
        let seqs = match seqs {
            Some(a) if a.data_type() == &DataType::Int64 => Some(a.as_primitive::<Int64Type>()),
            Some(a) if a.data_type() == &DataType::Null => return exec_err!("seq is NULL"),
            Some(a) => return exec_err!("unexpected seq type {}", a.data_type()),
            None => None,
        };
        Ok(Self {
            times: Times::new(times)?,
            seqs,
        })
    }

    /// The timestamp of `row`.
    pub fn timestamp(&self, row: usize) -> Result<Timestamp> {
        self.times.get(row)
    }

    /// The order of `row`: its timestamp, then its input position.
    pub fn order(&self, row: usize) -> Result<EventOrder> {
        let seq = match self.seqs {
            Some(s) if s.is_valid(row) => seq_key(s.value(row)),
            _ => return exec_err!("an event's input position (seq) is NULL"),
        };
        Ok(EventOrder::new(self.times.get(row)?, seq))
    }
}

/// An `i64` input position as a `u64` of the same order.
pub(crate) fn seq_key(seq: i64) -> u64 {
    seq.cast_unsigned() ^ (1 << 63)
}

/// The inverse of [`seq_key`].
pub(crate) fn seq_of_key(key: u64) -> i64 {
    (key ^ (1 << 63)).cast_signed()
}

/// A timestamp column (microseconds since the epoch, UTC).
pub(crate) struct Times<'a>(
    Option<&'a datafusion::arrow::array::PrimitiveArray<TimestampMicrosecondType>>,
);

impl<'a> Times<'a> {
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        match array.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Ok(Self(Some(array.as_primitive::<TimestampMicrosecondType>())))
            }
            DataType::Null => Ok(Self(None)),
            t => exec_err!("unexpected timestamp type {t}"),
        }
    }

    pub fn get(&self, row: usize) -> Result<Timestamp> {
        match self.0 {
            Some(a) if a.is_valid(row) => micros(a.value(row)),
            _ => exec_err!("an event's timestamp is NULL"),
        }
    }
}

/// A timestamp from microseconds since the epoch.
pub(crate) fn micros(us: i64) -> Result<Timestamp> {
    Timestamp::from_micros(us)
        .ok_or_else(|| exec_datafusion_err!("timestamp {us} µs is out of range"))
}
