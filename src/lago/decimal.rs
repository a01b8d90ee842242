//! Lago's decimal grammar, read exactly into [`Exact`]: the string grammar
//! that Lago accepts through Ruby's `BigDecimal` 4.1.2 in strict mode
//! (semantics.md §8.1, `ext/bigdecimal/bigdecimal.c` `VpAlloc`), which is
//! also how JSON numbers are read (M14). It belongs to the JSON edge: the
//! core reads plain notation only (`Exact`'s `FromStr`).
//!
//! The digits are accumulated by the core's scientific-notation reader
//! (`exact/scientific.rs`); this file adds Ruby's spellings around them.
//! The parser never goes through floating point: digits are accumulated as an
//! integer significand and the decimal exponent is tracked separately, so the
//! result is either the exact value or an error. It runs in one linear pass and
//! keeps constant state, because it is fed arbitrary (fuzzed, very long) text.

use crate::exact::{EXPONENT_CAP, Exact, Significand, parse_plain, to_exact};

/// Why a text is not a usable decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalTextError {
    /// Not a decimal in the accepted grammar (e.g. `""`, `"."`, `"1e"`, `"1,5"`, `"0x1A"`, `"12abc"`, `"1__0"`, `"_1"`, `"1._5"`, a NUL byte).
    Invalid,
    /// "Infinity", "+Infinity", "-Infinity", "NaN" (grammar-valid, but not finite).
    NonFinite,
    /// A valid finite decimal whose exact value cannot be held by `rust_decimal`: |value| >= 2^96 mantissa at its needed scale, or more than 28 significant fractional digits after removing trailing zeros (e.g. `"1e400"`, `"1e-400"`, `"0.00000000000000000000000000001"`).
    OutOfRange,
}

/// Most fractional digits a figure may have.
const MAX_SCALE: i128 = 28;

/// The special spellings `BigDecimal` accepts (case-sensitive, checked after
/// leading whitespace, in this order, and only followed by whitespace).
const NON_FINITE: [&str; 4] = ["Infinity", "+Infinity", "-Infinity", "NaN"];

/// Ruby's `ISSPACE`: space, \t, \n, \v, \f, \r.
///
/// Not `u8::is_ascii_whitespace`, which leaves out \v (0x0B).
fn is_ws(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// A forward-only position in the input bytes; every access is bounds-checked
/// through `get`, so malformed input can never panic.
struct Cursor<'a> {
    /// The whole input.
    bytes: &'a [u8],
    /// Index of the next unread byte (always `<= bytes.len()`).
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Starts at the beginning of `bytes`.
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// The next unread byte, if any.
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The byte after the next one, if any (needed for the `_` look-ahead).
    fn peek_second(&self) -> Option<u8> {
        self.bytes.get(self.pos.saturating_add(1)).copied()
    }

    /// The unread tail of the input.
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// Consumes one byte; a no-op at the end so `pos` never passes `len`.
    fn bump(&mut self) {
        if self.pos < self.bytes.len() {
            self.pos = self.pos.saturating_add(1);
        }
    }

    /// Consumes the next byte if `pred` accepts it and returns it.
    fn eat_if(&mut self, pred: impl Fn(u8) -> bool) -> Option<u8> {
        let byte = self.peek().filter(|&b| pred(b))?;
        self.bump();
        Some(byte)
    }

    /// Skips any run of whitespace.
    fn skip_ws(&mut self) {
        while self.eat_if(is_ws).is_some() {}
    }
}

/// Where a single `_` may appear inside a digit group besides between digits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Underscore {
    /// Integer part: also allowed as the group's last character when followed
    /// by the end of input or whitespace (`"1_"`, `"1_000_ "`), as in `VpAlloc`.
    TrailingAllowed,
    /// Fraction and exponent: only allowed directly between two digits
    /// (`"1.5_"` and `"1e1_"` are rejected by `BigDecimal`).
    BetweenDigitsOnly,
}

/// Scans a run of ASCII digits with single `_` separators, calling `on_digit`
/// with each digit's value, and returns how many digits were seen.
///
/// A `_` must follow at least one digit of the same group (`"_1"`, `"1._5"`
/// are invalid) and may not be doubled (`"1__0"`), mirroring `VpAlloc`.
fn scan_digits(
    cursor: &mut Cursor<'_>,
    underscore: Underscore,
    mut on_digit: impl FnMut(u8),
) -> Result<usize, DecimalTextError> {
    let mut count: usize = 0;
    while let Some(byte) = cursor.peek() {
        if byte.is_ascii_digit() {
            // `byte` is an ASCII digit, so this cannot wrap.
            on_digit(byte.wrapping_sub(b'0'));
            count = count.saturating_add(1);
            cursor.bump();
        } else if byte == b'_' {
            let next = cursor.peek_second();
            let next_is_digit = next.is_some_and(|b| b.is_ascii_digit());
            let next_ends_group = next.is_none_or(is_ws);
            let allowed = count > 0
                && (next_is_digit
                    || (underscore == Underscore::TrailingAllowed && next_ends_group));
            if !allowed {
                return Err(DecimalTextError::Invalid);
            }
            cursor.bump();
        } else {
            break;
        }
    }
    Ok(count)
}

/// Parses Lago's decimal grammar (`BigDecimal` strict mode) exactly.
///
/// Accepts `ws* ( "Infinity" | "+Infinity" | "-Infinity" | "NaN" ) ws*` (as
/// [`DecimalTextError::NonFinite`]) or
/// `ws* "#"? [+-]? int? ( "." frac? )? ( [eEdD] [+-]? digits )? ws*` with at
/// least one digit in `int` or `frac`. Zero is always returned as a
/// non-negative [`Exact::ZERO`]; other values are returned normalized (no
/// trailing fractional zeros). Negative values parse; rejecting them is the
/// caller's business. In range: magnitude below 2^96, at most 28 fractional
/// digits (up to 57 significant digits).
pub(crate) fn parse_decimal(text: &str) -> Result<Exact, DecimalTextError> {
    match parse_plain(text.as_bytes()) {
        Some(x) => Ok(x),
        None => parse_general(text, MAX_SCALE),
    }
}

/// The whole grammar, one byte at a time.
fn parse_general(text: &str, max_scale: i128) -> Result<Exact, DecimalTextError> {
    let bytes = text.as_bytes();
    // Ruby's `StringValueCStr` raises on an embedded NUL before BigDecimal
    // ever sees the text, so such a string can never be a valid amount.
    if bytes.contains(&0) {
        return Err(DecimalTextError::Invalid);
    }

    let mut cursor = Cursor::new(bytes);
    cursor.skip_ws();

    // The special values are recognized before `#` or digits are looked at,
    // so `"#NaN"` or `"Infinityx"` fall through and fail as numbers.
    let rest = cursor.rest();
    for special in NON_FINITE {
        if let Some(tail) = rest.strip_prefix(special.as_bytes())
            && tail.iter().all(|&b| is_ws(b))
        {
            return Err(DecimalTextError::NonFinite);
        }
    }

    // `#` is a legacy precision marker that BigDecimal skips.
    cursor.eat_if(|b| b == b'#');
    let negative = cursor.eat_if(|b| b == b'+' || b == b'-') == Some(b'-');

    let mut significand = Significand::default();
    let int_digits = scan_digits(&mut cursor, Underscore::TrailingAllowed, |d| {
        significand.push(d);
    })?;

    let mut frac_digits: usize = 0;
    if cursor.eat_if(|b| b == b'.').is_some() {
        frac_digits = scan_digits(&mut cursor, Underscore::BetweenDigitsOnly, |d| {
            significand.push(d);
        })?;
    }

    let mut exponent: i128 = 0;
    if cursor
        .eat_if(|b| matches!(b, b'e' | b'E' | b'd' | b'D'))
        .is_some()
    {
        let exp_negative = cursor.eat_if(|b| b == b'+' || b == b'-') == Some(b'-');
        let mut magnitude: i128 = 0;
        let exp_digits = scan_digits(&mut cursor, Underscore::BetweenDigitsOnly, |d| {
            // Clamp instead of overflowing; see `EXPONENT_CAP` for why the
            // clamped value still classifies the number exactly.
            if magnitude <= EXPONENT_CAP {
                magnitude = magnitude.saturating_mul(10).saturating_add(i128::from(d));
            }
        })?;
        if exp_digits == 0 {
            return Err(DecimalTextError::Invalid);
        }
        exponent = if exp_negative {
            magnitude.saturating_neg()
        } else {
            magnitude
        };
    }

    cursor.skip_ws();
    if cursor.peek().is_some() || (int_digits == 0 && frac_digits == 0) {
        return Err(DecimalTextError::Invalid);
    }

    to_exact(negative, &significand, frac_digits, exponent, max_scale)
        .ok_or(DecimalTextError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::{DecimalTextError, parse_decimal, parse_general};
    use crate::exact::{Exact, parse_plain};
    use rust_decimal::Decimal;

    #[test]
    fn plain_fast_path_agrees_with_the_grammar() {
        // Every spelling the fast path takes must read as the grammar reads
        // it, mantissa and scale alike (the scale shows in the text).
        let taken = [
            "0",
            "-0",
            "0.0",
            "000",
            "7",
            "-7",
            "12.50",
            "0.0125",
            "100",
            "-100.000",
            "999999999999999999",
            "0.00000000000000001",
            "-123456789.123456789",
            "00012.340",
            "1.00000000000000000",
        ];
        for t in taken {
            let fast = parse_plain(t.as_bytes());
            assert!(fast.is_some(), "{t:?} should take the fast path");
            let general = parse_general(t, 28).ok();
            assert_eq!(fast, general, "{t:?}");
            assert_eq!(
                fast.map(|x| x.to_string()),
                general.map(|x| x.to_string()),
                "{t:?}"
            );
        }
        // Left to the grammar: 19+ digits, exponents, spaces, signs, lone points.
        for t in [
            "9999999999999999999",
            "1e3",
            " 1",
            "+1",
            "1.",
            ".5",
            "-",
            "",
            "1.2.3",
            "1_0",
            "--1",
        ] {
            assert_eq!(parse_plain(t.as_bytes()), None, "{t:?}");
        }
    }

    /// Asserts `text` parses to exactly the value written as `expected`.
    fn assert_value(text: &str, expected: &str) {
        let want = Decimal::from_str_exact(expected);
        assert!(want.is_ok(), "bad expectation {expected:?}");
        let got = parse_decimal(text);
        assert_eq!(got.ok(), want.ok().map(Exact::from), "parsing {text:?}");
    }

    /// Asserts `text` parses to a zero that is not negative.
    fn assert_zero(text: &str) {
        let got = parse_decimal(text);
        assert_eq!(got, Ok(Exact::ZERO), "parsing {text:?}");
        assert!(
            got.is_ok_and(|d| !d.is_negative()),
            "negative zero from {text:?}"
        );
    }

    /// Asserts `text` fails with `error`.
    fn assert_err(text: &str, error: DecimalTextError) {
        assert_eq!(parse_decimal(text), Err(error), "parsing {text:?}");
    }

    #[test]
    fn max_mantissa_matches_rust_decimal() {
        // rust_decimal's largest value is 2^96 - 1: the same range.
        assert_eq!(Decimal::MAX.mantissa().unsigned_abs(), (1u128 << 96) - 1);
        assert_eq!(Decimal::MAX.to_string(), "79228162514264337593543950335");
    }

    #[test]
    fn accepted_examples() {
        assert_value("15.00", "15");
        assert_value(" 15 ", "15");
        assert_value("1_000", "1000");
        assert_value(".5", "0.5");
        assert_value("1.", "1");
        assert_value("5.", "5");
        assert_value("1e3", "1000");
        assert_value("1E-2", "0.01");
        assert_value("1d2", "100");
        assert_value("1D2", "100");
        assert_value("+5", "5");
        assert_value("#12", "12");
        assert_value("1_", "1");
        assert_value("1_000_", "1000");
        assert_value("1.5_5", "1.55");
        assert_value("\t7\n", "7");
        assert_value("-15.00", "-15");
        assert_value("0005", "5");
        assert_value("1.0e-12", "0.000000000001");
        assert_value("1_000.5", "1000.5");
        assert_eq!(
            parse_decimal("1_000.5"),
            Ok(Exact::from(Decimal::new(10005, 1)))
        );
        assert_eq!(
            parse_decimal("-15.00"),
            Ok(Exact::from(Decimal::new(-15, 0)))
        );
    }

    #[test]
    fn zeros_are_never_negative() {
        for text in [
            "0",
            "-0",
            "+0",
            "-0.0",
            "-.0",
            "0.",
            "0.E-9",
            "000",
            "0_0",
            "#-0",
            "-0e5",
            "0e99999999999999",
            "0e-99999999999999999999999999999999999999999999",
            "0.00000000000000000000000000000000000000000",
        ] {
            assert_zero(text);
        }
    }

    #[test]
    fn whitespace_is_ruby_isspace() {
        assert_value(" \t\n\u{b}\u{c}\r7 \t\n\u{b}\u{c}\r", "7");
        assert_value("1_ ", "1");
        assert_value("1_\t", "1");
        assert_value("1e5 ", "100000");
        // Non-ASCII spaces are not whitespace to BigDecimal.
        assert_err("1\u{a0}", DecimalTextError::Invalid);
        assert_err("\u{2003}1", DecimalTextError::Invalid);
        assert_err("   ", DecimalTextError::Invalid);
    }

    #[test]
    fn rejected_examples() {
        for text in [
            "", ".", "1e", "1,5", "0x1A", "12abc", "1.5.3", "foobar", "1__0", "_1", "1._5", "1 2",
            "e5", "--1", "+-1", "\0", "1\0", "\x001", " 1 \0", "1.5\0",
        ] {
            assert_err(text, DecimalTextError::Invalid);
        }
    }

    #[test]
    fn rejected_edge_cases() {
        for text in [
            "+", "-", "#", "#+", "-#5", "# 5", "#.", ".e5", "1e+", "1e-", "1.5e", "1ee5", "1e5e5",
            "1e5.5", "1e 5", "1 e5", "- 1", "1_.5", "1_e5", "1_,5", "_", "._5", "1.5_", "1.5__5",
            "1e_5", "1e5_", "1e5__0", "1e+_5", "-_1", "１", "1f", "1E5x", "0b1", "1/2",
        ] {
            assert_err(text, DecimalTextError::Invalid);
        }
    }

    #[test]
    fn underscores_follow_bigdecimal() {
        assert_value("1_0_0", "100");
        assert_value("0_1", "1");
        assert_value("1_000_000.000_5", "1000000.0005");
        assert_value("1e1_0", "10000000000");
        assert_value("1E-0_2", "0.01");
        assert_value("#-1_0", "-10");
    }

    #[test]
    fn non_finite_spellings() {
        for text in [
            "Infinity",
            "+Infinity",
            "-Infinity",
            "NaN",
            "  NaN\u{b}",
            "\tInfinity \r\n",
        ] {
            assert_err(text, DecimalTextError::NonFinite);
        }
        // Anything else near them is simply not a number.
        for text in [
            "infinity",
            "nan",
            "Inf",
            "+NaN",
            "-NaN",
            "#NaN",
            "#Infinity",
            "Infinityx",
            "NaN 1",
            "Infinity\0",
            "I nfinity",
        ] {
            assert_err(text, DecimalTextError::Invalid);
        }
    }

    #[test]
    fn out_of_range() {
        for text in [
            "1e400",
            "1e-400",
            "-1e400",
            "0.00000000000000000000000000001",
            "79228162514264337593543950336",
            "-79228162514264337593543950336",
            "1e29",
            "8e28",
            "1e99999999999999999999999",
            "1e-99999999999999999999999",
            "9e9223372036854775807",
            "9e-9223372036854775808",
            "1.00000000000000000000000000001",
            "100000000000000000000000000000000000000000000",
        ] {
            assert_err(text, DecimalTextError::OutOfRange);
        }
    }

    #[test]
    fn max_boundary() {
        assert_eq!(
            parse_decimal("79228162514264337593543950335"),
            Ok(Exact::from(Decimal::MAX))
        );
        assert_eq!(
            parse_decimal("-79228162514264337593543950335"),
            Ok(Exact::from(Decimal::MIN))
        );
        assert_eq!(
            parse_decimal("7922816251426433759354395033.5e1"),
            Ok(Exact::from(Decimal::MAX))
        );
        assert_eq!(
            parse_decimal("0.79228162514264337593543950335e29"),
            Ok(Exact::from(Decimal::MAX))
        );
        assert_eq!(
            parse_decimal("79228162514264337593543950335.000"),
            Ok(Exact::from(Decimal::MAX))
        );
        assert_value("7e28", "70000000000000000000000000000");
        assert_value("1e28", "10000000000000000000000000000");
        assert_value(
            "7.9228162514264337593543950335",
            "7.9228162514264337593543950335",
        );
    }

    #[test]
    fn fractional_digit_limit() {
        assert_eq!(
            parse_decimal("0.0000000000000000000000000001"),
            Ok(Exact::from(Decimal::new(1, 28)))
        );
        assert_err(
            "0.00000000000000000000000000001",
            DecimalTextError::OutOfRange,
        );
        assert_value("0.10000000000000000000000000000000000", "0.1");
        assert_value("1e-28", "0.0000000000000000000000000001");
        assert_err("1e-29", DecimalTextError::OutOfRange);
        assert_value(
            "0.00000000000000000000000000001e1",
            "0.0000000000000000000000000001",
        );
    }

    #[test]
    fn huge_inputs_are_linear_and_exact() {
        let zeros = "0".repeat(100_000);

        assert_err(&format!("0.{zeros}1"), DecimalTextError::OutOfRange);
        assert_value(&format!("{zeros}5"), "5");
        assert_value(&format!("0.{zeros}1e100001"), "1");
        assert_value(&format!("5{zeros}e-100000"), "5");
        assert_value(&format!("1.5{zeros}"), "1.5");
        assert_value(&format!("1e{zeros}5"), "100000");
        assert_zero(&format!("0.{zeros}"));
        assert_zero(&format!("{zeros}e{zeros}9"));
        assert_err(&format!("1{zeros}"), DecimalTextError::OutOfRange);
        assert_err(&format!("1{zeros}1e-100001"), DecimalTextError::OutOfRange);
        assert_err(
            &format!("1e{}", "9".repeat(100_000)),
            DecimalTextError::OutOfRange,
        );
        assert_err(
            &format!("1e-{}", "9".repeat(100_000)),
            DecimalTextError::OutOfRange,
        );
        assert_value(&format!("{}1", "0_".repeat(50_000)), "1");
        assert_err(&format!("{zeros}x"), DecimalTextError::Invalid);
        assert_err(
            &format!("{} ", "1".repeat(100_000)),
            DecimalTextError::OutOfRange,
        );
    }

    #[test]
    fn json_number_texts() {
        assert_value("10", "10");
        assert_value("-3", "-3");
        assert_value("1.5e-7", "0.00000015");
        assert_value("1E+2", "100");
        assert_value("0.1", "0.1");
        assert_value("-0.5e1", "-5");
        assert_value("123456789012345678", "123456789012345678");
        assert_zero("0");
        assert_zero("-0.0e-0");
    }

    /// On scientific notation (JSON numbers, A13 strings) the core's reader
    /// and this grammar are one reader: same values, same range errors.
    #[test]
    fn the_core_reads_scientific_notation_as_this_grammar_does() {
        use crate::exact::{ScientificError, parse_scientific};
        let zeros = "0".repeat(200);
        let long = [
            format!("1{zeros}e-200"),
            format!("0.{zeros}1e201"),
            format!("1{zeros}"),
            format!("-{zeros}.5"),
        ];
        let short = [
            "0",
            "-0",
            "007",
            "+5",
            ".5",
            "5.",
            "1e3",
            "1E+2",
            "-2.50e-2",
            "1e-28",
            "1e-29",
            "79228162514264337593543950335",
            "79228162514264337593543950336",
            "1.5e-7",
            "123456789012345678901234567890",
            "0e99999999999999999999999999999999999",
            "1e",
            "",
        ];
        for text in short.iter().copied().chain(long.iter().map(String::as_str)) {
            let core = parse_scientific(text, 28);
            let ruby = parse_decimal(text);
            match (core, ruby) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(ScientificError::OutOfRange), Err(DecimalTextError::OutOfRange))
                | (Err(ScientificError::Invalid), Err(DecimalTextError::Invalid)) => {}
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn values_beyond_a_decimal_mantissa_stay_exact() {
        // 30 significant digits: below 2^96 and within 28 places, so in range.
        let parsed = parse_decimal("486374144085517859.877567743443");
        assert_eq!(
            parsed.map(|d| d.to_string()),
            Ok("486374144085517859.877567743443".to_string())
        );
        assert_err(
            "79228162514264337593543950336",
            DecimalTextError::OutOfRange,
        );
        assert_err(
            "79228162514264337593543950336.5",
            DecimalTextError::OutOfRange,
        );
        // Just below 2^96, with a fraction: in range.
        assert!(parse_decimal("79228162514264337593543950335.5").is_ok());
    }

    #[test]
    fn results_are_normalized() {
        let parsed = parse_decimal("15.00");
        assert_eq!(parsed.map(|d| d.to_string()), Ok("15".to_string()));
        let parsed = parse_decimal("1.2300e1");
        assert_eq!(parsed.map(|d| d.to_string()), Ok("12.3".to_string()));
    }
}
