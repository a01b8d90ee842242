//! Scientific notation read exactly into [`Exact`]:
//! `[+-]? digits? ("." digits?)? ([eE] [+-]? digits)?` with at least one
//! digit before the exponent. It is the grammar of a JSON number, of the
//! numeric strings aggregation.md A13 admits and of the decimals of the
//! metric expression language (A3). Lago's wider grammar (Ruby's
//! `BigDecimal`: whitespace, `_`, `#`, a `d` exponent) is read in
//! `lago/decimal.rs`, which builds on the [`Significand`] and
//! [`to_exact`] kept here so the digits are accumulated one way.
//!
//! Never through floating point, in one linear pass and constant state:
//! the text may be arbitrary (fuzzed, very long).

use ethnum::U256;

use super::{Exact, text::parse_plain};

/// Values stay below 2^96 in magnitude (the contract's decimal range).
const MAGNITUDE_BITS: u32 = 96;

/// Exponent magnitudes beyond this are not accumulated further.
///
/// Any input is shorter than `usize::MAX` (< 2 * 10^19) bytes, so digit counts
/// can shift the exponent by far less than this; an exponent clamped here is
/// therefore out of range exactly when the true one is, with the same sign.
pub(crate) const EXPONENT_CAP: i128 = 1_000_000_000_000_000_000_000_000_000_000;

/// Why a text is not a decimal in scientific notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScientificError {
    /// Not in the grammar (`""`, `"."`, `"1e"`, `"1_0"`, `" 1"`).
    Invalid,
    /// In the grammar, but beyond 2^96 in magnitude or `max_scale` places.
    OutOfRange,
}

/// The significant digits of a number, accumulated as an integer.
///
/// Leading zeros are never stored and trailing zeros are only counted, being
/// multiplied in when a later nonzero digit shows they were not trailing. This
/// keeps the state bounded for inputs of any length.
#[derive(Default)]
pub(crate) struct Significand {
    /// Digits from the first to the last nonzero digit seen so far.
    value: U256,
    /// Zeros seen after the last nonzero digit.
    trailing_zeros: usize,
    /// Whether any nonzero digit was seen (otherwise the number is zero).
    nonzero: bool,
    /// Set once `value` would exceed 2^96 × 10^56, the largest mantissa
    /// any in-range figure can have: since `value` only grows, the number is
    /// then certainly out of range.
    overflow: bool,
}

impl Significand {
    /// Appends one decimal digit (0..=9).
    pub(crate) fn push(&mut self, digit: u8) {
        if digit == 0 {
            // Leading zeros carry no value; later zeros may be trailing.
            if self.nonzero {
                self.trailing_zeros = self.trailing_zeros.saturating_add(1);
            }
            return;
        }
        if !self.overflow {
            // Fast path: short significands (nearly all) stay in u64.
            if let Ok(small) = u64::try_from(self.value) {
                let shifted = u32::try_from(self.trailing_zeros.saturating_add(1))
                    .ok()
                    .and_then(|places| 10u64.checked_pow(places))
                    .and_then(|factor| small.checked_mul(factor))
                    .and_then(|v| v.checked_add(u64::from(digit)));
                if let Some(v) = shifted {
                    self.value = U256::from(v);
                    self.nonzero = true;
                    self.trailing_zeros = 0;
                    return;
                }
            }
            let appended = if self.nonzero {
                // Shift past the pending zeros and this digit; more than 76
                // places cannot fit 256 bits, which `checked_pow` reports.
                u32::try_from(self.trailing_zeros.saturating_add(1))
                    .ok()
                    .and_then(|places| U256::from(10u8).checked_pow(places))
                    .and_then(|factor| self.value.checked_mul(factor))
                    .and_then(|shifted| shifted.checked_add(U256::from(digit)))
            } else {
                Some(U256::from(digit))
            };
            match appended {
                Some(value) if value < mantissa_cap() => self.value = value,
                _ => self.overflow = true,
            }
        }
        self.nonzero = true;
        self.trailing_zeros = 0;
    }
}

/// 2^96 × 10^56: no figure of at most 56 places below 2^96 has a mantissa
/// this large (the bound exceeds 2^256, so it is the 256-bit limit itself).
fn mantissa_cap() -> U256 {
    let p28 = U256::from(10_000_000_000_000_000_000_000_000_000u128);
    (U256::ONE << MAGNITUDE_BITS)
        .checked_mul(p28)
        .and_then(|x| x.checked_mul(p28))
        .unwrap_or(U256::MAX)
}

/// The exact value `±significand * 10^(exponent - frac_digits)`, or `None`
/// when it is beyond 2^96 in magnitude or needs more than `max_scale`
/// places.
pub(crate) fn to_exact(
    negative: bool,
    significand: &Significand,
    frac_digits: usize,
    exponent: i128,
    max_scale: i128,
) -> Option<Exact> {
    // Any spelling of zero ("-0", "0e999999999999", "0.000") is plain zero;
    // returning the constant also rules out a negative zero.
    if !significand.nonzero {
        return Some(Exact::ZERO);
    }
    if significand.overflow {
        return None;
    }
    let frac_digits = i128::try_from(frac_digits).ok()?;
    let trailing_zeros = i128::try_from(significand.trailing_zeros).ok()?;
    // Power of ten applied to the stripped significand. Magnitudes stay far
    // from i128 limits; saturating is only belt and braces.
    let power = exponent
        .saturating_sub(frac_digits)
        .saturating_add(trailing_zeros);
    let (mantissa, scale) = if power >= 0 {
        // The significand is >= 1, so 10^29 or more is already past 2^96.
        if power > 28 {
            return None;
        }
        let mantissa = u32::try_from(power)
            .ok()
            .and_then(|p| U256::from(10u8).checked_pow(p))
            .and_then(|factor| significand.value.checked_mul(factor))?;
        (mantissa, 0)
    } else {
        // The significand has no trailing zeros, so this is the minimal scale:
        // more places than `max_scale` cannot be represented exactly.
        let scale = power.saturating_neg();
        if scale > max_scale {
            return None;
        }
        (significand.value, u32::try_from(scale).ok()?)
    };
    Exact::from_parts(negative, mantissa, scale)
}

/// Reads scientific notation (the module's grammar) with at most
/// `max_scale` places. Zero is [`Exact::ZERO`] whatever its sign; other
/// values are normalized.
pub(crate) fn parse_scientific(text: &str, max_scale: i128) -> Result<Exact, ScientificError> {
    if let Some(x) = parse_plain(text.as_bytes()) {
        return Ok(x);
    }
    let mut bytes = text.as_bytes();
    let negative = match bytes.split_first() {
        Some((b'-', rest)) => {
            bytes = rest;
            true
        }
        Some((b'+', rest)) => {
            bytes = rest;
            false
        }
        _ => false,
    };
    let mut significand = Significand::default();
    let int_digits = digits(&mut bytes, |d| significand.push(d));
    let mut frac_digits = 0;
    if let Some((b'.', rest)) = bytes.split_first() {
        bytes = rest;
        frac_digits = digits(&mut bytes, |d| significand.push(d));
    }
    let mut exponent: i128 = 0;
    if let Some((b'e' | b'E', rest)) = bytes.split_first() {
        bytes = rest;
        let exp_negative = match bytes.split_first() {
            Some((sign @ (b'+' | b'-'), rest)) => {
                bytes = rest;
                *sign == b'-'
            }
            _ => false,
        };
        let mut magnitude: i128 = 0;
        let exp_digits = digits(&mut bytes, |d| {
            // Clamp instead of overflowing (see `EXPONENT_CAP`).
            if magnitude <= EXPONENT_CAP {
                magnitude = magnitude.saturating_mul(10).saturating_add(i128::from(d));
            }
        });
        if exp_digits == 0 {
            return Err(ScientificError::Invalid);
        }
        exponent = if exp_negative {
            magnitude.saturating_neg()
        } else {
            magnitude
        };
    }
    if !bytes.is_empty() || (int_digits == 0 && frac_digits == 0) {
        return Err(ScientificError::Invalid);
    }
    to_exact(negative, &significand, frac_digits, exponent, max_scale)
        .ok_or(ScientificError::OutOfRange)
}

/// Consumes a run of ASCII digits, giving each to `on_digit`; returns how
/// many there were.
fn digits(bytes: &mut &[u8], mut on_digit: impl FnMut(u8)) -> usize {
    let count = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let (run, rest) = bytes.split_at(count);
    for &b in run {
        on_digit(b.wrapping_sub(b'0'));
    }
    *bytes = rest;
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<String, ScientificError> {
        parse_scientific(text, 56).map(|x| x.to_string())
    }

    #[test]
    fn json_numbers_and_a13_strings() {
        assert_eq!(read("1e3"), Ok("1000".into()));
        assert_eq!(read("-2.50E-2"), Ok("-0.025".into()));
        assert_eq!(read("+5"), Ok("5".into()));
        assert_eq!(read(".5"), Ok("0.5".into()));
        assert_eq!(read("5."), Ok("5".into()));
        assert_eq!(read("007"), Ok("7".into()));
        assert_eq!(read("-0.000"), Ok("0".into()));
        assert_eq!(
            read("0e999999999999999999999999999999999999999"),
            Ok("0".into())
        );
    }

    #[test]
    fn other_spellings_are_invalid() {
        for text in [
            "", ".", "-", "1e", "1e+", "1_0", " 1", "1 ", "#1", "1d3", "NaN", "0x1",
        ] {
            assert_eq!(read(text), Err(ScientificError::Invalid), "{text:?}");
        }
    }

    #[test]
    fn range_is_2_pow_96_and_max_scale() {
        // 2^96 = 79228162514264337593543950336.
        assert_eq!(
            read("79228162514264337593543950336"),
            Err(ScientificError::OutOfRange)
        );
        assert!(read("79228162514264337593543950335").is_ok());
        assert_eq!(read("1e-56"), Ok(format!("0.{}1", "0".repeat(55))));
        assert_eq!(read("1e-57"), Err(ScientificError::OutOfRange));
        assert_eq!(
            parse_scientific("1e-29", 28),
            Err(ScientificError::OutOfRange)
        );
        assert_eq!(
            read("1e99999999999999999999999999999999999999999"),
            Err(ScientificError::OutOfRange)
        );
    }
}
