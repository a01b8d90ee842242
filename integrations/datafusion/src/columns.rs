//! Reading the arguments of a batch: text, decimals and counts, exactly.
//!
//! Decimals come from text (Lago's grammar), from `Decimal128`/`Decimal256`
//! mantissas or from integers, never through a binary float. A value that
//! cannot be read is a row error (`"<code>: <message>"`), not a failed
//! batch.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Decimal256Array, Int64Array, LargeStringArray,
    StringArray, StringViewArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Decimal256Type, Int64Type, UInt64Type, i256,
};
use datafusion::common::{Result, exec_err, plan_err};
use meterprice::Exact;
use rust_decimal::Decimal;

/// The most fractional digits an input may have (the `rate` contract).
const MAX_INPUT_PLACES: u32 = 28;

/// What an argument of this type is read as, after [`coerce`]; `None` for
/// a type the function refuses.
pub(crate) fn accepted_decimal(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Null
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Some(t.clone()),
        t if t.is_signed_integer() || t.is_unsigned_integer() => Some(t.clone()),
        DataType::Dictionary(_, v) if accepted_text(v).is_some() => Some(DataType::Utf8),
        _ => None,
    }
}

/// A text argument (charge, currency).
pub(crate) fn accepted_text(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Some(t.clone())
        }
        DataType::Dictionary(_, v) if accepted_text(v).is_some() => Some(DataType::Utf8),
        _ => None,
    }
}

/// A count argument.
pub(crate) fn accepted_count(t: &DataType) -> Option<DataType> {
    (matches!(t, DataType::Null) || t.is_signed_integer() || t.is_unsigned_integer())
        .then(|| t.clone())
}

/// Checks an argument's type, naming it in the planning error.
pub(crate) fn coerce(
    name: &str,
    t: &DataType,
    accepted: fn(&DataType) -> Option<DataType>,
) -> Result<DataType> {
    match accepted(t) {
        Some(t) => Ok(t),
        None if t.is_floating() => plan_err!(
            "meterprice_rate: {name} is {t}: binary floats are not exact money; \
             cast to DECIMAL or text before pricing"
        ),
        None => plan_err!("meterprice_rate: {name} cannot be {t}"),
    }
}

/// A text column of a batch.
pub(crate) enum Texts<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    Null,
}

impl<'a> Texts<'a> {
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Self::Large(array.as_string::<i64>()),
            DataType::Utf8View => Self::View(array.as_string_view()),
            DataType::Null => Self::Null,
            t => return exec_err!("meterprice_rate: unexpected text type {t}"),
        })
    }

    pub fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Self::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Self::Large(a) => a.is_valid(row).then(|| a.value(row)),
            Self::View(a) => a.is_valid(row).then(|| a.value(row)),
            Self::Null => None,
        }
    }
}

/// A decimal column of a batch.
pub(crate) enum Decimals<'a> {
    Text(Texts<'a>),
    D128(&'a Decimal128Array, i8),
    D256(&'a Decimal256Array, i8),
    Signed(&'a Int64Array),
    Unsigned(&'a UInt64Array),
}

/// Integers of any width, widened (exactly) to 64 bits; other arrays as
/// they are.
pub(crate) fn widen(array: &ArrayRef) -> Result<ArrayRef> {
    let t = array.data_type();
    Ok(if t.is_signed_integer() && t != &DataType::Int64 {
        cast(array, &DataType::Int64)?
    } else if t.is_unsigned_integer() && t != &DataType::UInt64 {
        cast(array, &DataType::UInt64)?
    } else if let DataType::Dictionary(..) = t {
        cast(array, &DataType::Utf8)?
    } else {
        array.clone()
    })
}

impl<'a> Decimals<'a> {
    /// A view of a [`widen`]ed array.
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Decimal128(_, s) => Self::D128(array.as_primitive::<Decimal128Type>(), *s),
            DataType::Decimal256(_, s) => Self::D256(array.as_primitive::<Decimal256Type>(), *s),
            DataType::Int64 => Self::Signed(array.as_primitive::<Int64Type>()),
            DataType::UInt64 => Self::Unsigned(array.as_primitive::<UInt64Type>()),
            _ => Self::Text(Texts::new(array)?),
        })
    }

    /// The value of `row` (`None` for NULL), or a row error naming `field`.
    pub fn get(&self, row: usize, field: &str) -> Result<Option<Exact>, String> {
        match self {
            Self::Text(t) => t.get(row).map(|s| from_text(s, field)).transpose(),
            Self::D128(a, s) => (a.is_valid(row))
                .then(|| from_i128(a.value(row), *s, field))
                .transpose(),
            Self::D256(a, s) => (a.is_valid(row))
                .then(|| from_i256(a.value(row), *s, field))
                .transpose(),
            Self::Signed(a) => (a.is_valid(row))
                .then(|| from_i128(i128::from(a.value(row)), 0, field))
                .transpose(),
            Self::Unsigned(a) => Ok(a.is_valid(row).then(|| Exact::from(a.value(row)))),
        }
    }
}

/// A count column of a batch.
pub(crate) enum Counts<'a> {
    Signed(&'a Int64Array),
    Unsigned(&'a UInt64Array),
    Null,
}

impl<'a> Counts<'a> {
    /// A view of a [`widen`]ed array.
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Int64 => Self::Signed(array.as_primitive::<Int64Type>()),
            DataType::UInt64 => Self::Unsigned(array.as_primitive::<UInt64Type>()),
            DataType::Null => Self::Null,
            t => return exec_err!("meterprice_rate: unexpected count type {t}"),
        })
    }

    /// Whether every row's count is valid (not NULL, not negative), checked
    /// over the whole column at once.
    pub fn all_valid(&self) -> bool {
        match self {
            Self::Signed(a) => a.null_count() == 0 && a.values().iter().all(|n| *n >= 0),
            Self::Unsigned(a) => a.null_count() == 0,
            Self::Null => false,
        }
    }

    /// The count of `row`, or a row error naming `field`.
    #[inline]
    pub fn get(&self, row: usize, field: &str) -> Result<u64, String> {
        match self {
            Self::Signed(a) if a.is_valid(row) => {
                let n = a.value(row);
                u64::try_from(n)
                    .map_err(|_| format!("invalid_usage: {field} must be >= 0, got {n}"))
            }
            Self::Unsigned(a) if a.is_valid(row) => Ok(a.value(row)),
            _ => Err(format!("invalid_usage: {field} is NULL")),
        }
    }
}

fn out_of_range(field: &str, text: &str) -> String {
    format!(
        "arithmetic_overflow: {field}: {text} is outside the decimal range \
         (|x| < 2^96, at most {MAX_INPUT_PLACES} fractional digits)"
    )
}

/// Whether an exact value has more fractional digits than an input may.
fn too_precise(x: Exact) -> bool {
    x.round_half_away(MAX_INPUT_PLACES) != x
}

/// A decimal from Lago's text grammar, as the `rate` contract reads one
/// (`"-0"` is 0, `"1e2"` is 100).
pub(crate) fn from_text(text: &str, field: &str) -> Result<Exact, String> {
    match meterprice::parse_lago_decimal(text) {
        Ok(x) if too_precise(x) => Err(out_of_range(field, &format!("{text:?}"))),
        Ok(x) => Ok(x),
        Err(e) if e.code() == "arithmetic_overflow" => {
            Err(out_of_range(field, &format!("{text:?}")))
        }
        Err(_) => Err(format!(
            "parse_error: {field}: expected a decimal, got {text:?}"
        )),
    }
}

/// `mantissa × 10^-scale` as plain decimal text.
fn mantissa_text(negative: bool, digits: &str, scale: i8) -> String {
    let sign = if negative { "-" } else { "" };
    match usize::try_from(scale) {
        Ok(0) => format!("{sign}{digits}"),
        Ok(s) => {
            let padded = format!("{digits:0>width$}", width = s + 1);
            let (int, frac) = padded
                .split_at_checked(padded.len() - s)
                .unwrap_or(("0", ""));
            format!("{sign}{int}.{frac}")
        }
        Err(_) => format!("{sign}{digits}e{}", -i32::from(scale)),
    }
}

/// A `Decimal128` value (or an integer at scale 0).
pub(crate) fn from_i128(m: i128, scale: i8, field: &str) -> Result<Exact, String> {
    // The common case: a mantissa below 2^96 at a scale of at most 28 is a
    // `Decimal`, exactly.
    if let Ok(s) = u32::try_from(scale)
        && let Ok(d) = Decimal::try_from_i128_with_scale(m, s)
    {
        return Ok(Exact::from(d));
    }
    let text = mantissa_text(m < 0, &m.unsigned_abs().to_string(), scale);
    from_text(&text, field)
}

/// A `Decimal256` value.
pub(crate) fn from_i256(m: i256, scale: i8, field: &str) -> Result<Exact, String> {
    if let Some(small) = m.to_i128() {
        return from_i128(small, scale, field);
    }
    let text = m.to_string();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.as_str()),
    };
    from_text(&mantissa_text(negative, digits, scale), field)
}
