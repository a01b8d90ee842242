//! Event property values and how Lago reads them: as text (A12) for
//! filters and groups, as an exact decimal (A13, AD1) for numeric
//! aggregations.

use std::borrow::Cow;

use crate::exact::Exact;
use crate::exact::{ScientificError, parse_scientific};

/// One event property value, borrowed from wherever the event was read.
///
/// The reader decides the variant from the JSON type; the core never sees
/// JSON text (a `Composite` is already in Postgres' `jsonb` text form).
///
/// ```
/// use meterprice::Value;
/// assert_eq!(Value::Number("1e3").text().as_deref(), Some("1000"));
/// assert_eq!(Value::Number("2.50").text().as_deref(), Some("2.50"));
/// assert_eq!(Value::Bool(true).text().as_deref(), Some("true"));
/// assert_eq!(Value::Null.text(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its JSON literal (`12`, `2.50`, `1e3`).
    Number(&'a str),
    /// A string, unescaped.
    String(&'a str),
    /// An object or array, as its `jsonb` text (`{"a": 1}`).
    Composite(&'a str),
}

/// An A12 text longer than this is refused: a number such as `1e999999`
/// would otherwise expand to a million digits.
const MAX_TEXT: usize = 1024;

impl<'a> Value<'a> {
    /// The value as Postgres' `properties->>'key'` gives it (A12): a
    /// string as itself, a number in plain notation with its trailing
    /// zeros (`1e3` → `1000`, `-0.0` → `0.0`), `true`/`false`, an object's
    /// text; `None` for `null`. A number whose plain notation would run
    /// beyond 1,024 characters (`1e5000`) keeps its literal.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match *self {
            Value::Null => None,
            Value::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Value::Number(raw) => Some(numeric_text(raw).unwrap_or(Cow::Borrowed(raw))),
            Value::String(s) | Value::Composite(s) => Some(Cow::Borrowed(s)),
        }
    }

    /// Whether the A12 text equals `s` (A20: `2` matches `"2"`, `2.0` does
    /// not); `null` equals nothing.
    pub(crate) fn text_eq(&self, s: &str) -> bool {
        match *self {
            Value::String(t) | Value::Composite(t) => t == s,
            Value::Number(raw) if is_plain_number(raw) => raw == s,
            _ => self.text().is_some_and(|t| t == s),
        }
    }

    /// Whether this is `null` or the empty string, which a group label
    /// shows as `null` (A28, merged into one group by AD6).
    pub(crate) fn is_blank(&self) -> bool {
        matches!(self, Value::Null | Value::String(""))
    }
}

/// Why a value that passes A13 still cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

/// Reads a property for a numeric aggregation (A13 with AD1).
///
/// `Ok(None)` means the event is left out of value and count: the field is
/// missing, `null`, a boolean, an object, or a string not matching
/// `^-?\d+(\.\d+)?$` (so `"1e3"`, `"+5"`, `" 5"`, `".5"` are out, QA2).
/// A JSON number of any spelling is read exactly. `Err` is a value that
/// qualifies but lies beyond the input range (magnitude 2^96 or more, or
/// more than 28 fractional digits).
///
/// ```
/// use meterprice::{Value, numeric_value};
/// assert_eq!(numeric_value(Some(Value::String("12.50"))), Ok(Some("12.5".parse()?)));
/// assert_eq!(numeric_value(Some(Value::Number("1e3"))), Ok(Some("1000".parse()?)));
/// assert_eq!(numeric_value(Some(Value::String("1e3"))), Ok(None));
/// assert!(numeric_value(Some(Value::Number("1e40"))).is_err());
/// # Ok::<(), meterprice::ParseExactError>(())
/// ```
#[inline]
pub fn numeric_value(value: Option<Value<'_>>) -> Result<Option<Exact>, OutOfRange> {
    if let Some(Value::String(s) | Value::Number(s)) = value
        && let Some(x) = short_numeric(s.as_bytes())
    {
        return Ok(Some(x));
    }
    let text = match value {
        Some(Value::Number(raw)) => raw,
        Some(Value::String(s)) if matches_numeric_pattern(s) => s,
        _ => return Ok(None),
    };
    match parse_scientific(text, 28) {
        Ok(x) => Ok(Some(x)),
        Err(ScientificError::OutOfRange) => Err(OutOfRange),
        Err(_) => Ok(None),
    }
}

/// A13's pattern `^-?\d+(\.\d+)?$` read in one pass when the digits fit
/// 64 bits (at most 18 characters after the sign): the common spelling.
/// `None` sends anything else to the general path.
#[inline]
fn short_numeric(bytes: &[u8]) -> Option<Exact> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let (mut m, mut point) = (0i64, None);
    let last = digits.len() - 1;
    for (i, &b) in digits.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d < 10 {
            m = m * 10 + i64::from(d);
        } else if b == b'.' && point.is_none() && i > 0 && i < last {
            point = Some(i);
        } else {
            return None;
        }
    }
    let scale = point.map_or(0, |p| last - p) as u32;
    Some(Exact::from_small(if negative { -m } else { m }, scale))
}

/// `^-?\d+(\.\d+)?$` (Postgres' `numeric_condition`).
pub(crate) fn matches_numeric_pattern(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// A JSON number already in Postgres' text form: no exponent, and not a
/// negative zero.
fn is_plain_number(raw: &str) -> bool {
    let exponent = raw.bytes().any(|b| matches!(b, b'e' | b'E'));
    let negative_zero =
        raw.starts_with('-') && raw.bytes().all(|b| matches!(b, b'-' | b'0' | b'.'));
    !exponent && !negative_zero
}

/// The Postgres `numeric` text of a number literal (A12): the exponent
/// expanded, the literal's own fractional digits kept (`1.50e1` → `15.0`),
/// a negative zero without its sign. `None` for a literal that is not a
/// number or whose text would be absurdly long.
pub(crate) fn numeric_text(raw: &str) -> Option<Cow<'_, str>> {
    if is_plain_number(raw) {
        return matches_numeric_pattern(raw).then_some(Cow::Borrowed(raw));
    }
    let (negative, body) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (body.get(..i)?, body.get(i + 1..)?.parse::<i64>().ok()?),
        None => (body, 0),
    };
    if !matches_numeric_pattern(mantissa) {
        return None;
    }
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = int.chars().chain(frac.chars()).collect();
    let scale = (frac.len() as i64).saturating_sub(exponent).max(0);
    // The value is digits × 10^(exponent − len(frac)); the point goes
    // `point` digits from the left.
    let point = (int.len() as i64).checked_add(exponent)?;
    if scale > MAX_TEXT as i64 || point > MAX_TEXT as i64 {
        return None;
    }
    let text = place_point(&digits, point, scale as usize);
    let zero = text.bytes().all(|b| b == b'0' || b == b'.');
    Some(Cow::Owned(if negative && !zero {
        format!("-{text}")
    } else {
        text
    }))
}

/// `digits` with a decimal point `point` digits from the left (negative:
/// before leading zeros), padded to `scale` fractional digits, without
/// superfluous leading zeros.
fn place_point(digits: &str, point: i64, scale: usize) -> String {
    let mut int = String::new();
    let mut frac = String::new();
    for (i, c) in digits.chars().enumerate() {
        if (i as i64) < point {
            int.push(c);
        } else {
            frac.push(c);
        }
    }
    // Zeros between the point and the digits, or after the digits.
    if point < 0 {
        let lead = usize::try_from(-point).unwrap_or(0);
        frac = "0".repeat(lead) + &frac;
    } else {
        let missing = usize::try_from(point)
            .unwrap_or(0)
            .saturating_sub(digits.len());
        int.push_str(&"0".repeat(missing));
    }
    frac.truncate(scale);
    while frac.len() < scale {
        frac.push('0');
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if scale == 0 {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_text_is_postgres_numeric_text() {
        // A12's examples, plus exponents that move the point both ways.
        for (raw, want) in [
            ("2.50", "2.50"),
            ("1e3", "1000"),
            ("1E-7", "0.0000001"),
            ("-0.0", "0.0"),
            ("-0", "0"),
            ("1.50e1", "15.0"),
            ("1.0E-7", "0.00000010"),
            ("12.5e-1", "1.25"),
            ("-3e2", "-300"),
            ("0.5e1", "5"),
            ("7", "7"),
        ] {
            assert_eq!(numeric_text(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(numeric_text("1e999999"), None);
        assert_eq!(numeric_text("abc"), None);
        // Too long to write out: the literal stands for itself.
        assert_eq!(
            Value::Number("1e999999").text().as_deref(),
            Some("1e999999")
        );
    }

    #[test]
    fn the_numeric_pattern_is_the_one_of_a13() {
        for ok in ["5", "-5", "12.50", "0.0", "007"] {
            assert!(matches_numeric_pattern(ok), "{ok}");
        }
        for bad in ["1e3", "+5", " 5", ".5", "5.", "", "-", "1.2.3", "five"] {
            assert!(!matches_numeric_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn numeric_reads_follow_a13_and_ad1() {
        let x = |s: &str| s.parse::<Exact>().unwrap();
        assert_eq!(
            numeric_value(Some(Value::String("-2.5"))),
            Ok(Some(x("-2.5")))
        );
        assert_eq!(
            numeric_value(Some(Value::Number("1E-7"))),
            Ok(Some(x("0.0000001")))
        );
        assert_eq!(numeric_value(Some(Value::Bool(true))), Ok(None));
        assert_eq!(numeric_value(Some(Value::Null)), Ok(None));
        assert_eq!(numeric_value(None), Ok(None));
        assert_eq!(numeric_value(Some(Value::String("5."))), Ok(None));
        // 2^96 = 79228162514264337593543950336 is the first value out.
        assert_eq!(
            numeric_value(Some(Value::String("79228162514264337593543950336"))),
            Err(OutOfRange)
        );
        assert!(numeric_value(Some(Value::String("79228162514264337593543950335"))).is_ok());
        // 29 fractional digits are beyond the input range.
        assert_eq!(numeric_value(Some(Value::Number("1e-29"))), Err(OutOfRange));
    }

    #[test]
    fn the_short_path_reads_what_the_general_one_reads() {
        for t in [
            "0",
            "-0",
            "12.50",
            "-3.25",
            "007",
            "123456789012345678",
            "1.5",
            "9999999999999999.9",
        ] {
            assert_eq!(
                short_numeric(t.as_bytes()),
                Some(parse_scientific(t, 28).unwrap()),
                "{t}"
            );
        }
        for t in [
            "",
            "-",
            ".5",
            "5.",
            "1.2.3",
            "+1",
            "1e3",
            " 1",
            "1234567890123456789",
            "99999999999999999.9",
            "--1",
        ] {
            assert_eq!(short_numeric(t.as_bytes()), None, "{t}");
        }
    }

    #[test]
    fn text_equality_is_on_a12_text() {
        assert!(Value::Number("2").text_eq("2"));
        assert!(!Value::Number("2.0").text_eq("2"));
        assert!(Value::Number("2e0").text_eq("2"));
        assert!(Value::Bool(false).text_eq("false"));
        assert!(!Value::Null.text_eq(""));
        assert!(Value::String("").is_blank() && Value::Null.is_blank());
    }
}
