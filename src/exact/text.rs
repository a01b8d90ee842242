//! The text of an [`Exact`] (quarantined performance code): the one digit
//! writer (plain notation, trailing zeros dropped, quoted for JSON or not)
//! behind `Display` and every JSON writer, and the reader of the same plain
//! notation behind `FromStr`.
//!
//! Plain notation is `-?digits(.digits)?`: no exponent, no sign but `-`,
//! no spaces, underscores or lone points, and no negative zero. Lago's
//! wider decimal grammar (Ruby's `BigDecimal`: `"1e3"`, `" 7 "`,
//! `"1_000.5"`, `".5"`, …) is read in `lago/decimal.rs`, at the edge.

use std::fmt;

use ethnum::U256;

use super::{Exact, MAX_SCALE, word};
use crate::error::ParseExactError;

/// Stores `b` at `buf[at]`; every caller keeps `at` inside `buf`.
#[inline(always)]
fn put_at(buf: &mut [u8], at: usize, b: u8) {
    let slot = buf.get_mut(at);
    debug_assert!(slot.is_some(), "a digit written outside its buffer");
    if let Some(slot) = slot {
        *slot = b;
    }
}

impl Exact {
    /// Writes the plain-notation text right-aligned into `buf`, returning
    /// where it starts: 78 digits, a point, the leading zeros of a small
    /// fraction and a sign always fit in 128 bytes.
    fn render(&self, buf: &mut [u8; 128]) -> usize {
        let n = self.normalize();
        let mut at = buf.len();
        let mut push = |b: u8, at: &mut usize| {
            debug_assert!(*at > 0, "the text of an Exact fits 128 bytes");
            *at = at.saturating_sub(1);
            put_at(buf.as_mut_slice(), *at, b);
        };
        let mut written = 0u32;
        let mut emit_digit = |d: u8, at: &mut usize, written: &mut u32| {
            if *written == n.s && n.s > 0 {
                push(b'.', at);
            }
            push(b'0' + d, at);
            *written += 1;
        };
        let magnitude = n.m().unsigned_abs();
        if let Ok(mut small) = u64::try_from(magnitude) {
            // Most figures: plain 64-bit digit steps.
            loop {
                emit_digit((small % 10) as u8, &mut at, &mut written);
                small /= 10;
                if small == 0 {
                    break;
                }
            }
        } else {
            let mut big = magnitude;
            loop {
                emit_digit((big % 10).as_u8(), &mut at, &mut written);
                big /= 10;
                if big == 0 {
                    break;
                }
            }
        }
        // A fraction below 1: pad with zeros up to the point, then "0.".
        while written < n.s {
            emit_digit(0, &mut at, &mut written);
        }
        if written == n.s && n.s > 0 {
            push(b'.', &mut at);
            push(b'0', &mut at);
        }
        if n.m() < 0 {
            push(b'-', &mut at);
        }
        at
    }

    /// Appends the plain-notation text to `out`, without the formatting
    /// machinery (the JSON writer's hot path).
    #[cfg(test)]
    pub(crate) fn write_plain(&self, out: &mut Vec<u8>) {
        self.write(false, out);
    }

    /// Whether `other` has the same mantissa and scale, so the same text
    /// (equal values of different scales may not).
    pub(crate) fn is_identical(&self, other: &Self) -> bool {
        self.s == other.s && self.m == other.m
    }

    /// Appends the plain-notation text in quotes (a JSON string).
    #[cfg(feature = "lago")]
    pub(crate) fn write_quoted(&self, out: &mut Vec<u8>) {
        self.write(true, out);
    }

    fn write(&self, quoted: bool, out: &mut Vec<u8>) {
        if let Some(m) = self.small() {
            write_small(m, self.s, quoted, out);
            return;
        }
        if let Some(m) = word(self.m()) {
            write_word(m, self.s, quoted, out);
            return;
        }
        if quoted {
            out.push(b'"');
        }
        let mut buf = [0u8; 128];
        let at = self.render(&mut buf);
        out.extend_from_slice(buf.get(at..).unwrap_or_default());
        if quoted {
            out.push(b'"');
        }
    }
}

#[cfg(test)]
impl Exact {
    /// The general renderer's text (256-bit digit steps): the oracle the
    /// fast writers are tested against.
    pub(super) fn rendered(&self) -> String {
        let mut buf = [0u8; 128];
        let at = self.render(&mut buf);
        String::from_utf8_lossy(buf.get(at..).unwrap_or_default()).into_owned()
    }
}

/// An integer in JSON (the writer's counts and cents), by the same digit
/// writers as the decimals.
#[cfg(feature = "lago")]
pub(crate) fn write_integer(value: i128, out: &mut Vec<u8>) {
    match i64::try_from(value) {
        Ok(v) => write_small(v, 0, false, out),
        Err(_) => write_word(value, 0, false, out),
    }
}

/// The two-digit groups `00` to `99`, for writing digits two at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the digits of `n` so that they end just before `buf[at]`, two at
/// a time, and returns where they start (`0` is one digit). The caller
/// leaves room: 20 bytes before `at` hold any `u64`.
#[inline]
fn put_digits(mut n: u64, buf: &mut [u8], mut at: usize) -> usize {
    while n >= 100 {
        at = put_pair(n % 100, buf, at);
        n /= 100;
    }
    if n >= 10 {
        at = put_pair(n, buf, at);
    } else {
        at = at.saturating_sub(1);
        put_at(buf, at, b'0' + n as u8);
    }
    at
}

/// Writes the two digits of `k < 100` just before `buf[at]`; returns
/// where they start.
#[inline]
fn put_pair(k: u64, buf: &mut [u8], at: usize) -> usize {
    debug_assert!(at >= 2 && k < 100, "room for two digits of a pair");
    let at = at.saturating_sub(2);
    let k = k as usize * 2;
    if let (Some(dst), Some(src)) = (buf.get_mut(at..at + 2), DIGIT_PAIRS.get(k..k + 2)) {
        dst.copy_from_slice(src);
    }
    at
}

/// `m × 10^-s` in plain notation, trailing fractional zeros removed, in
/// quotes when `quoted`: the writer's path for 64-bit mantissas (nearly
/// every figure). The text is built right to left on the stack, two digits
/// at a time, and copied out once.
fn write_small(m: i64, s: u32, quoted: bool, out: &mut Vec<u8>) {
    let (mut n, mut s) = (m.unsigned_abs(), s as usize);
    while s > 0 && n % 10 == 0 {
        n /= 10;
        s -= 1;
    }
    // Quotes, a sign, 19 integer digits, a point and 56 places at most end
    // at TEXT_END, prefilled with zeros, which pad the places of a small
    // fraction; the slack after it lets a short text leave in one
    // fixed-size copy.
    let mut buf = [b'0'; TEXT_END + SHORT_TEXT];
    let mut at = TEXT_END;
    let put = |buf: &mut [u8], b: u8, at: &mut usize| {
        debug_assert!(*at > 0, "the text fits before TEXT_END");
        *at = at.saturating_sub(1);
        put_at(buf, *at, b);
    };
    if quoted {
        put(&mut buf, b'"', &mut at);
    }
    if s > 0 {
        // The places, two at a time by constant divisors (a division by
        // 10^s would be a slow one); once the digits run out, the rest
        // are the prefilled zeros.
        let end = at;
        let mut left = s;
        if left % 2 == 1 {
            put(&mut buf, b'0' + (n % 10) as u8, &mut at);
            n /= 10;
            left -= 1;
        }
        while left > 0 && n > 0 {
            at = put_pair(n % 100, &mut buf, at);
            n /= 100;
            left -= 2;
        }
        at = end.saturating_sub(s);
        put(&mut buf, b'.', &mut at);
    }
    at = put_digits(n, &mut buf, at);
    if m < 0 {
        put(&mut buf, b'-', &mut at);
    }
    if quoted {
        put(&mut buf, b'"', &mut at);
    }
    let len = TEXT_END - at;
    match buf
        .get(at..at + SHORT_TEXT)
        .map(<&[u8; SHORT_TEXT]>::try_from)
    {
        // A copy of constant size is a few moves, where a copy of the
        // text's own length is a call; the excess is cut off again.
        Some(Ok(chunk)) if len <= SHORT_TEXT => {
            let keep = out.len() + len;
            out.extend_from_slice(chunk);
            out.truncate(keep);
        }
        _ => out.extend_from_slice(buf.get(at..TEXT_END).unwrap_or_default()),
    }
}

/// Where [`write_small`]'s text ends in its buffer (the longest text fits
/// before it).
const TEXT_END: usize = 80;
/// Texts up to this length leave [`write_small`] in one fixed-size copy.
const SHORT_TEXT: usize = 32;

/// [`write_small`] for a 128-bit mantissa (a 28-digit unit amount): the
/// digits come out 19 at a time by [`put_digits`], trailing fractional
/// zeros are dropped from the text, then the point goes in.
pub(super) fn write_word(m: i128, s: u32, quoted: bool, out: &mut Vec<u8>) {
    const CHUNK: u128 = 10_000_000_000_000_000_000;
    // 39 digits at most, right-aligned; inner chunks keep their leading
    // zeros, which the prefill supplies.
    let mut digits = [b'0'; 40];
    let mut at = digits.len();
    let mut n = m.unsigned_abs();
    while n >= CHUNK {
        put_digits((n % CHUNK) as u64, &mut digits, at);
        at = at.saturating_sub(19);
        n /= CHUNK;
    }
    // Below 10^19 < 2^64.
    at = put_digits(n as u64, &mut digits, at);
    let mut text = digits.get(at..).unwrap_or_default();
    let mut s = s as usize;
    while s > 0 && text.last() == Some(&b'0') {
        text = text.get(..text.len() - 1).unwrap_or_default();
        s -= 1;
    }
    out.reserve(text.len() + s + 5);
    if quoted {
        out.push(b'"');
    }
    if m < 0 {
        out.push(b'-');
    }
    if s == 0 {
        out.extend_from_slice(text);
    } else if text.len() > s {
        let (int, frac) = text.split_at(text.len() - s);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', s - text.len()));
        out.extend_from_slice(text);
    }
    if quoted {
        out.push(b'"');
    }
}

/// Plain notation, trailing zeros removed: `12.5`, `0.00001`, `-3`.
impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(32);
        self.write(false, &mut out);
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// Reads plain notation (`12.5`, `-3`, `0.0125`, trailing zeros allowed),
/// exactly: at most 56 fractional digits once trailing zeros are dropped,
/// a magnitude below 2^96. Every `Exact` reads back from its `Display`.
///
/// ```
/// use meterprice::Exact;
/// assert_eq!("12.50".parse::<Exact>()?.to_string(), "12.5");
/// // Lago's wider grammar is the JSON edge's business, not this one's.
/// assert!("1e3".parse::<Exact>().is_err());
/// assert!(" 7".parse::<Exact>().is_err());
/// assert_eq!("1e3".parse::<Exact>().unwrap_err().code(), "parse_error");
/// // A valid decimal outside the range is an overflow, not a typo.
/// let big = "79228162514264337593543950336".parse::<Exact>().unwrap_err();
/// assert_eq!(big.code(), "arithmetic_overflow");
/// # Ok::<(), meterprice::ParseExactError>(())
/// ```
impl core::str::FromStr for Exact {
    type Err = ParseExactError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(x) = parse_plain(text.as_bytes()) {
            if x.is_zero() && text.starts_with('-') {
                return Err(ParseExactError::invalid(text));
            }
            return Ok(x);
        }
        parse_long(text)
    }
}

/// Plain notation of any length, digit by digit into 256 bits.
fn parse_long(text: &str) -> Result<Exact, ParseExactError> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(ParseExactError::invalid(text));
    }
    let frac = frac.unwrap_or("").trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if frac.is_empty() && int.is_empty() {
        return if negative {
            Err(ParseExactError::invalid(text))
        } else {
            Ok(Exact::ZERO)
        };
    }
    let scale = u32::try_from(frac.len()).map_err(|_| ParseExactError::out_of_range(text))?;
    if scale > MAX_SCALE {
        return Err(ParseExactError::out_of_range(text));
    }
    let mut m = U256::ZERO;
    for b in int.bytes().chain(frac.bytes()) {
        m = m
            .checked_mul(U256::from(10u8))
            .and_then(|m| m.checked_add(U256::from(b - b'0')))
            .ok_or_else(|| ParseExactError::out_of_range(text))?;
    }
    Exact::from_parts(negative, m, scale).ok_or_else(|| ParseExactError::out_of_range(text))
}

/// The common spelling `-?digits(.digits)?` with at most 18 digits, read
/// straight into a 64-bit mantissa: `FromStr`'s fast path, and the JSON
/// edge's for every plain amount. Zero is [`Exact::ZERO`] whatever its
/// sign, and trailing fractional zeros are dropped; `None` for anything
/// else (longer texts, other spellings), which the callers read in full.
pub(crate) fn parse_plain(bytes: &[u8]) -> Option<Exact> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    // 19 digits at most: below 10^19 < 2^64, no overflow.
    let (mut m, mut scale, mut seen_point, mut count) = (0u64, 0u32, false, 0u32);
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                m = m * 10 + u64::from(b - b'0');
                count += 1;
                if seen_point {
                    scale += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    // "1." and ".5" are not plain notation.
    if count > 18 || digits.first() == Some(&b'.') || digits.last() == Some(&b'.') {
        return None;
    }
    // At most 18 digits: below 10^18 < 2^63. Normalizing drops trailing
    // fractional zeros and makes any zero the plain Exact::ZERO; other
    // texts are normal as they stand.
    let signed = i64::try_from(m).ok()?;
    let x = Exact::from_small(if negative { -signed } else { signed }, scale);
    Some(if m == 0 || (scale > 0 && digits.last() == Some(&b'0')) {
        x.normalize()
    } else {
        x
    })
}
