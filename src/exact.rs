//! Exact decimal arithmetic for computed figures.
//!
//! Inputs are `rust_decimal::Decimal` values (at most 28 fractional digits,
//! magnitude below 2^96). Their products and sums can need more digits than a
//! `Decimal` holds (Lago's own results reach 36 significant digits, e.g.
//! `120488375275.015898629866425611965834`), and `rust_decimal` would round
//! them silently. [`Exact`] keeps a 256-bit mantissa instead, so every figure
//! of magnitude below 2^96 with at most 56 fractional digits (the product of
//! two inputs of 28) is held exactly; anything else is an [`ArithmeticError`],
//! never a rounded number. Only [`quotient`] rounds, and only a quotient that
//! does not terminate (or whose exact value leaves that range), to 28
//! significant digits (decisions.md M3).

use std::cmp::Ordering;
use std::fmt;

use ethnum::{I256, U256};
use rust_decimal::Decimal;

use crate::error::ArithmeticError;

/// Most fractional digits a computed figure may have: the product of two
/// inputs of 28 places each (M3: such a product, e.g. 1e-12 × 0.5000…01 with
/// 20 places, is exact).
const MAX_SCALE: u32 = 56;

/// Significant digits a non-terminating quotient carries (M3).
const QUOTIENT_DIGITS: u32 = 28;

/// `10^k` for `k ≤ 38`, as a compile-time table (price exploration's
/// 128-bit paths read it too).
pub(crate) const POW10_U128: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `10^k` for `k ≤ 18`, as i64: a 64-bit mantissa times one of these is
/// below 2^123, so it fits i128 with no overflow check.
const POW10_I64: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Aligns two 64-bit mantissas to the larger scale in i128, when the
/// scales differ by at most 18 (no overflow possible).
#[inline(always)]
fn align_small(x: i64, sx: u32, y: i64, sy: u32) -> Option<(i128, i128, u32)> {
    let s = sx.max(sy);
    let px = *POW10_I64.get((s - sx) as usize)?;
    let py = *POW10_I64.get((s - sy) as usize)?;
    Some((
        i128::from(x) * i128::from(px),
        i128::from(y) * i128::from(py),
        s,
    ))
}

/// 2^96 as i128.
const LIMIT_I128: i128 = 1 << 96;

/// Aligns two 128-bit mantissas to the larger scale in i128, when the
/// aligned values fit: figures between 2^63 and 2^127 (large amounts,
/// 28-digit quotients) skip the 256-bit products.
#[inline]
fn align_word(a: &Exact, b: &Exact) -> Option<(i128, i128, u32)> {
    let (x, y) = (word(a.m())?, word(b.m())?);
    let s = a.s.max(b.s);
    let up = |m: i128, from: u32| {
        let p = *POW10_U128.get((s - from) as usize)?;
        m.checked_mul(i128::try_from(p).ok()?)
    };
    Some((up(x, a.s)?, up(y, b.s)?, s))
}

/// `10^k` for `k ≤ 76` (the largest power of ten below 2^255).
fn pow10(k: u32) -> U256 {
    let k = k as usize;
    match POW10_U128.get(k) {
        Some(p) => U256::from(*p),
        None => {
            let hi = POW10_U128.get(k - 38).copied().unwrap_or(1);
            U256::from(POW10_U128[38]) * U256::from(hi)
        }
    }
}

/// The mantissa as an `i128` when it fits, read off the two words (cheaper
/// than the generic conversion, on every hot path).
#[inline(always)]
fn word(m: I256) -> Option<i128> {
    let (hi, lo) = m.into_words();
    if (hi == 0 && lo >= 0) || (hi == -1 && lo < 0) {
        Some(lo)
    } else {
        None
    }
}

/// 2^96: figures must stay below it in magnitude.
fn limit() -> U256 {
    U256::ONE << 96
}

/// An exact decimal: a 256-bit mantissa and a scale of at most 28, whose
/// magnitude is below 2^96.
///
/// Every computed figure of meterprice (amounts, tier units, taxes) is an
/// `Exact`: it holds up to 57 significant digits, so nothing in the contract's
/// range is ever rounded. It converts to and from [`Decimal`] and prints in
/// plain notation.
///
/// ```
/// use meterprice::Exact;
/// use rust_decimal::Decimal;
/// let x = Exact::from(Decimal::new(125, 3));
/// assert_eq!(x.to_string(), "0.125");
/// assert_eq!(x.to_decimal(), Some(Decimal::new(125, 3)));
/// ```
#[derive(Clone, Copy)]
pub struct Exact {
    /// The mantissa, as the four little-endian 64-bit words of an `I256`:
    /// 8-byte alignment keeps an `Exact` at 40 bytes instead of 48 (an
    /// `I256` is 16-byte aligned), and fees and amount details are made of
    /// them.
    m: [u64; 4],
    /// Fractional digits, at most 56.
    s: u32,
}

impl Exact {
    /// Packs a mantissa and a scale of at most 56.
    #[inline(always)]
    const fn pack(m: I256, s: u32) -> Self {
        let (hi, lo) = m.into_words();
        Self {
            m: [lo as u64, (lo >> 64) as u64, hi as u64, (hi >> 64) as u64],
            s,
        }
    }

    /// The mantissa.
    #[inline(always)]
    fn m(&self) -> I256 {
        let [a, b, c, d] = self.m;
        let lo = (u128::from(b) << 64 | u128::from(a)) as i128;
        let hi = (u128::from(d) << 64 | u128::from(c)) as i128;
        I256::from_words(hi, lo)
    }

    /// The mantissa as an `i64` when it fits, read off the words (the
    /// upper three must be the sign extension of the first): the test on
    /// every fast path.
    #[inline(always)]
    fn small(&self) -> Option<i64> {
        let [a, b, c, d] = self.m;
        let ext = ((a as i64) >> 63) as u64;
        (b == ext && c == ext && d == ext).then_some(a as i64)
    }

    /// Zero.
    pub const ZERO: Self = Self::pack(I256::ZERO, 0);
    /// One.
    pub const ONE: Self = Self::pack(I256::ONE, 0);

    /// Builds from a mantissa and scale, checking the range; trailing zeros
    /// beyond 56 fractional digits are dropped, other digits are an error.
    #[inline]
    fn new(m: I256, s: u32, what: &'static str) -> Result<Self, ArithmeticError> {
        // Fast path: a mantissa below 2^96 is in range at any scale ≤ 56.
        if s <= MAX_SCALE && word(m).is_some_and(|w| w.unsigned_abs() < LIMIT_I128 as u128) {
            return Ok(Self::pack(m, s));
        }
        Self::new_wide(m, s, what)
    }

    #[cold]
    #[inline(never)]
    fn new_wide(m: I256, s: u32, what: &'static str) -> Result<Self, ArithmeticError> {
        let (mut m, mut s) = (m, s);
        while s > MAX_SCALE {
            if m % 10 != 0 {
                return Err(ArithmeticError::new(what));
            }
            m /= 10;
            s -= 1;
        }
        let x = Self::pack(m, s);
        let magnitude = x.m().unsigned_abs();
        // Below 2^96 the value is in range at any scale: skip the product.
        // A bound past 2^256 cannot be reached by a 256-bit mantissa.
        if magnitude >= limit()
            && limit()
                .checked_mul(pow10(s))
                .is_some_and(|bound| magnitude >= bound)
        {
            return Err(ArithmeticError::new(what));
        }
        Ok(x)
    }

    /// A value from its sign, magnitude mantissa and scale, if in range.
    pub(crate) fn from_parts(negative: bool, m: U256, s: u32) -> Option<Self> {
        let m = I256::try_from(m).ok()?;
        Self::new(if negative { -m } else { m }, s, "value").ok()
    }

    /// A 64-bit mantissa at a scale of at most 28: always in range.
    #[inline]
    pub(crate) fn from_small(m: i64, s: u32) -> Self {
        debug_assert!(s <= 28);
        Self::pack(I256::from(m), s)
    }

    /// A non-negative 128-bit mantissa at a scale of at most 56, if in
    /// range (grid points and kernel figures of price exploration).
    #[inline]
    pub(crate) fn from_u128(m: u128, s: u32) -> Option<Self> {
        let m = i128::try_from(m).ok()?;
        Self::new(I256::from(m), s, "value").ok()
    }

    /// The signed mantissa when it fits 128 bits, and the scale.
    #[inline]
    pub(crate) fn to_i128_parts(self) -> Option<(i128, u32)> {
        Some((word(self.m())?, self.s))
    }

    /// The sign, magnitude mantissa and scale: the inverse of
    /// [`Exact::from_parts`] (grid indices of price exploration are
    /// integers beyond the decimal range).
    pub(crate) fn to_parts(self) -> (bool, U256, u32) {
        (self.is_negative(), self.m().unsigned_abs(), self.s)
    }

    /// The value as a `Decimal`, when it fits one exactly.
    pub fn to_decimal(self) -> Option<Decimal> {
        let n = self.normalize();
        let m = i128::try_from(n.m()).ok()?;
        Decimal::try_from_i128_with_scale(m, n.s).ok()
    }

    /// Fractional digits of the representation (not normalized).
    pub(crate) fn scale(&self) -> u32 {
        self.s
    }

    /// `|value| × 10^scale` as an integer, for `scale ≥ self.scale()`, when
    /// it fits 128 bits.
    pub(crate) fn scaled_magnitude(&self, scale: u32) -> Option<u128> {
        let m = u128::try_from(self.m().unsigned_abs()).ok()?;
        let up = POW10_U128.get(scale.checked_sub(self.s)? as usize)?;
        m.checked_mul(*up)
    }

    /// `(units × price) / units` without the division: `price` itself, when
    /// `units` is not zero (the quotient terminates, so it is exactly the
    /// price, M3).
    pub(crate) fn per_unit_of(price: Self, units: Self) -> Option<Self> {
        if units.is_zero() {
            return None;
        }
        price.as_quotient()
    }

    /// The value as a quotient equal to it gives it: normalized (a
    /// terminating quotient is exact, M3, and every `Exact` terminates).
    pub(crate) fn as_quotient(self) -> Option<Self> {
        Some(self.normalize())
    }

    /// Whether the value is zero.
    #[inline]
    pub fn is_zero(&self) -> bool {
        self.m == [0; 4]
    }

    /// Whether the value is below zero.
    #[inline]
    pub fn is_negative(&self) -> bool {
        let [.., top] = self.m;
        (top as i64) < 0
    }

    /// Whether the value has no fractional part.
    pub fn is_integer(&self) -> bool {
        self.normalize().s == 0
    }

    /// Whether the value has no trailing fractional zeros (a cheap test:
    /// the last digit of a 64-bit mantissa).
    #[inline]
    pub(crate) fn is_normalized(&self) -> bool {
        self.s == 0 || self.small().is_some_and(|m| m % 10 != 0)
    }

    /// The value with trailing fractional zeros removed.
    pub fn normalize(&self) -> Self {
        // Most figures fit 64 bits, where division by 10 is a multiply.
        if let Some(small) = self.small() {
            let (mut m, mut s) = (small, self.s);
            while s > 0 && m % 10 == 0 {
                m /= 10;
                s -= 1;
            }
            return Self::pack(I256::from(m), if m == 0 { 0 } else { s });
        }
        if let Some(small) = word(self.m()) {
            let (mut m, mut s) = (small, self.s);
            // Strip zeros eight at a time first: 128-bit division is costly.
            while s >= 8 && m % 100_000_000 == 0 && m != 0 {
                m /= 100_000_000;
                s -= 8;
            }
            while s > 0 && m % 10 == 0 {
                m /= 10;
                s -= 1;
            }
            return Self::pack(I256::from(m), if m == 0 { 0 } else { s });
        }
        let (mut m, mut s) = (self.m(), self.s);
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        if m == 0 {
            s = 0;
        }
        Self::pack(m, s)
    }

    /// The mantissa at scale `s ≥ self.s`, when it fits 256 bits (always
    /// for `s ≤ 48`; a large value at 56 places may not).
    fn at_scale(&self, s: u32) -> Option<I256> {
        self.m().checked_mul(pow10(s - self.s).as_i256())
    }

    /// Compares values whose aligned mantissas overflow: integer parts first,
    /// then the fractional parts (each below 1, so they always align).
    fn cmp_wide(&self, other: &Self) -> Ordering {
        let (ta, tb) = (self.trunc(), other.trunc());
        if ta.m() != tb.m() {
            return ta.m().cmp(&tb.m());
        }
        let frac = |x: &Self, t: &Self| x.m() - t.m() * pow10(x.s).as_i256();
        let (fa, fb) = (frac(self, &ta), frac(other, &tb));
        let s = self.s.max(other.s);
        let (fa, fb) = (
            fa * pow10(s - self.s).as_i256(),
            fb * pow10(s - other.s).as_i256(),
        );
        fa.cmp(&fb)
    }

    /// The integer part, toward zero.
    pub fn trunc(&self) -> Self {
        if self.s == 0 {
            return *self;
        }
        if let (Some(m), Some(d)) = (self.small(), POW10_I64.get(self.s as usize)) {
            // 64-bit division: a 128-bit one is a library call.
            return Self::pack(I256::from(m / d), 0);
        }
        if let (Some(m), Some(&d)) = (word(self.m()), POW10_U128.get(self.s as usize)) {
            // ...and a 256-bit one a longer one.
            return Self::pack(I256::from(m / d as i128), 0);
        }
        let d = pow10(self.s).as_i256();
        Self::pack(self.m() / d, 0)
    }

    /// The largest integer not above the value.
    pub fn floor(&self) -> Self {
        let t = self.trunc();
        if self.is_negative() && t != *self {
            Self::pack(t.m() - 1, 0)
        } else {
            t
        }
    }

    /// The value as an integer, when it is one.
    pub(crate) fn to_i128(self) -> Option<i128> {
        // Integers read from a request have scale 0 already.
        if let (Some(m), 0) = (self.small(), self.s) {
            return Some(i128::from(m));
        }
        let n = self.normalize();
        if n.s != 0 {
            return None;
        }
        i128::try_from(n.m()).ok()
    }

    /// `self + rhs`, or `None` when the exact sum leaves the range.
    pub fn checked_add(self, rhs: Self) -> Option<Self> {
        add(self, rhs, "checked_add").ok()
    }

    /// `self − rhs`, or `None` when the exact difference leaves the range.
    pub fn checked_sub(self, rhs: Self) -> Option<Self> {
        sub(self, rhs, "checked_sub").ok()
    }

    /// `self × rhs`, or `None` when the exact product leaves the range
    /// (2^96 or more, or more than 56 fractional digits).
    pub fn checked_mul(self, rhs: Self) -> Option<Self> {
        mul(self, rhs, "checked_mul").ok()
    }

    /// `self / rhs` as a quotient: exact when it terminates (and the exact
    /// value is in range), else rounded half away from zero to 28
    /// significant digits; `None` for a zero divisor or a quotient out of
    /// range.
    pub fn checked_div(self, rhs: Self) -> Option<Self> {
        if rhs.is_zero() {
            return None;
        }
        quotient(self, rhs, "checked_div").ok()
    }

    /// Rounded half away from zero to `dp` fractional digits.
    pub fn round_half_away(self, dp: u32) -> Self {
        round_half_away(self, dp)
    }

    /// The larger of two values.
    pub fn max(self, other: Self) -> Self {
        if self >= other { self } else { other }
    }

    /// The smaller of two values.
    pub fn min(self, other: Self) -> Self {
        if self <= other { self } else { other }
    }
}

/// Parses the decimal grammar Lago accepts (`"12.5"`, `"1e3"`, `" 7 "`),
/// up to 56 fractional digits, so that every `Exact` reads back from its text.
impl core::str::FromStr for Exact {
    type Err = crate::error::ParseExactError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::decimal_text::parse_decimal_places(text, i128::from(MAX_SCALE)).map_err(|_| {
            crate::error::ParseExactError {
                text: text.chars().take(64).collect(),
            }
        })
    }
}

impl Default for Exact {
    fn default() -> Self {
        Self::ZERO
    }
}

impl From<Decimal> for Exact {
    fn from(d: Decimal) -> Self {
        Self::pack(I256::from(d.mantissa()), d.scale())
    }
}

impl From<u64> for Exact {
    fn from(n: u64) -> Self {
        Self::pack(I256::from(n), 0)
    }
}

impl From<u32> for Exact {
    fn from(n: u32) -> Self {
        Self::pack(I256::from(n), 0)
    }
}

impl TryFrom<i128> for Exact {
    type Error = ArithmeticError;
    fn try_from(n: i128) -> Result<Self, ArithmeticError> {
        Self::new(I256::from(n), 0, "integer")
    }
}

impl core::ops::Neg for Exact {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        // |m| < 2^190, so negation cannot overflow.
        Self::pack(-self.m(), self.s)
    }
}

impl PartialEq for Exact {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        // At one scale, equal values have equal words.
        if self.s == other.s {
            return self.m == other.m;
        }
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Exact {}

impl PartialOrd for Exact {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Exact {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        if self.s == other.s {
            // The top word signed, the others unsigned, most significant
            // first: the two's-complement order of the mantissas.
            let ([a0, a1, a2, a3], [b0, b1, b2, b3]) = (self.m, other.m);
            return (a3 as i64, a2, a1, a0).cmp(&(b3 as i64, b2, b1, b0));
        }
        // Fast path: 64-bit mantissas aligned within i128 (a tier bound at
        // scale 0 against usage at scale 1 is the common case).
        if let (Some(x), Some(y)) = (self.small(), other.small())
            && let Some((a, b, _)) = align_small(x, self.s, y, other.s)
        {
            return a.cmp(&b);
        }
        self.cmp_aligned(other)
    }
}

impl Exact {
    #[cold]
    #[inline(never)]
    fn cmp_aligned(&self, other: &Self) -> Ordering {
        if let Some((a, b, _)) = align_word(self, other) {
            return a.cmp(&b);
        }
        let s = self.s.max(other.s);
        match (self.at_scale(s), other.at_scale(s)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.cmp_wide(other),
        }
    }
}

impl core::hash::Hash for Exact {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        let n = self.normalize();
        n.m().hash(state);
        n.s.hash(state);
    }
}

impl fmt::Debug for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
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
            *at -= 1;
            if let Some(slot) = buf.get_mut(*at) {
                *slot = b;
            }
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

    /// Appends the plain-notation text in quotes (a JSON string).
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

/// An integer in JSON (the writer's counts and cents), by the same digit
/// writers as the decimals.
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
        if let Some(d) = buf.get_mut(at) {
            *d = b'0' + n as u8;
        }
    }
    at
}

/// Writes the two digits of `k < 100` just before `buf[at]`; returns
/// where they start.
#[inline]
fn put_pair(k: u64, buf: &mut [u8], at: usize) -> usize {
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
        *at = at.saturating_sub(1);
        if let Some(slot) = buf.get_mut(*at) {
            *slot = b;
        }
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
fn write_word(m: i128, s: u32, quoted: bool, out: &mut Vec<u8>) {
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
        let mut buf = [0u8; 128];
        let at = self.render(&mut buf);
        let text = buf
            .get(at..)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("");
        f.write_str(text)
    }
}

/// `a × b`, exactly.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the exact product is 2^96 or more
/// in magnitude or needs more than 56 fractional digits.
#[inline(always)]
pub(crate) fn mul(a: Exact, b: Exact, what: &'static str) -> Result<Exact, ArithmeticError> {
    // Fast path: 64-bit mantissas multiply within i128; a product below
    // 2^96 at a scale of at most 56 is in range as it is.
    if let (Some(x), Some(y)) = (a.small(), b.small()) {
        let p = i128::from(x) * i128::from(y);
        let s = a.s + b.s;
        if p == 0 {
            return Ok(Exact::ZERO);
        }
        // Below 2^96 at a scale of at most 56: in range as it is (the
        // hottest path of every model, so tested here on the i128).
        if s <= MAX_SCALE && p.unsigned_abs() < LIMIT_I128 as u128 {
            return Ok(Exact::pack(I256::from(p), s));
        }
        return Exact::new(I256::from(p), s, what);
    }
    mul_wide(a, b, what)
}

#[cold]
#[inline(never)]
fn mul_wide(a: Exact, b: Exact, what: &'static str) -> Result<Exact, ArithmeticError> {
    if a.is_zero() || b.is_zero() {
        return Ok(Exact::ZERO);
    }
    // A 28-digit quotient times a count: 128 bits are enough, and far
    // cheaper than 256.
    if let (Some(x), Some(y)) = (word(a.m()), word(b.m()))
        && let Some(p) = x.checked_mul(y)
    {
        return Exact::new(I256::from(p), a.s + b.s, what);
    }
    match a.m().checked_mul(b.m()) {
        Some(m) => Exact::new(m, a.s + b.s, what),
        None => {
            // Only trailing zeros can make such a product fit: retry without them.
            let (a2, b2) = (a.normalize(), b.normalize());
            if (a2.s, b2.s) == (a.s, b.s) {
                return Err(ArithmeticError::new(what));
            }
            let m = a2
                .m()
                .checked_mul(b2.m())
                .ok_or(ArithmeticError::new(what))?;
            Exact::new(m, a2.s + b2.s, what)
        }
    }
}

/// `a + b`, exactly.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the sum is 2^96 or more in magnitude.
#[inline(always)]
pub(crate) fn add(a: Exact, b: Exact, what: &'static str) -> Result<Exact, ArithmeticError> {
    // Fast path: 64-bit mantissas aligned within i128.
    if let (Some(x), Some(y)) = (a.small(), b.small()) {
        if a.s == b.s {
            // |x + y| < 2^64: in range at any scale.
            return Ok(Exact::pack(I256::from(i128::from(x) + i128::from(y)), a.s));
        }
        if let Some((x, y, s)) = align_small(x, a.s, y, b.s) {
            // Both below 2^123: the sum fits i128.
            return Exact::new(I256::from(x + y), s, what);
        }
    }
    add_wide(a, b, what)
}

#[cold]
#[inline(never)]
fn add_wide(a: Exact, b: Exact, what: &'static str) -> Result<Exact, ArithmeticError> {
    if let Some((x, y, s)) = align_word(&a, &b)
        && let Some(sum) = x.checked_add(y)
    {
        return Exact::new(I256::from(sum), s, what);
    }
    let s = a.s.max(b.s);
    // Both aligned mantissas are below 2^190: their sum cannot overflow.
    // Aligned mantissas that leave 256 bits cannot make an in-range sum.
    match (a.at_scale(s), b.at_scale(s)) {
        (Some(x), Some(y)) => {
            Exact::new(x.checked_add(y).ok_or(ArithmeticError::new(what))?, s, what)
        }
        _ => Err(ArithmeticError::new(what)),
    }
}

/// `a − b`, exactly.
///
/// # Errors
/// As [`add`].
#[inline(always)]
pub(crate) fn sub(a: Exact, b: Exact, what: &'static str) -> Result<Exact, ArithmeticError> {
    add(a, -b, what)
}

/// Sums exactly.
///
/// # Errors
/// As [`add`].
pub(crate) fn sum<I: IntoIterator<Item = Exact>>(
    items: I,
    what: &'static str,
) -> Result<Exact, ArithmeticError> {
    items
        .into_iter()
        .try_fold(Exact::ZERO, |acc, x| add(acc, x, what))
}

/// Divides exactly by `10^k` (a percentage, a minor-unit scale).
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the result needs more than 28
/// fractional digits.
pub(crate) fn div_pow10(a: Exact, k: u32, what: &'static str) -> Result<Exact, ArithmeticError> {
    Exact::new(a.m(), a.s + k, what)
}

/// `a / b` for a quotient (a unit amount, a ratio): exact when it
/// terminates and the exact value is a computed figure (below 2^96, at most
/// 56 places), otherwise rounded half away from zero to 28 significant
/// digits (at most 56 places), decisions.md M3. `b = 0` gives 0, the value
/// Lago uses for a unit amount over zero units.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the quotient is 2^96 or more.
pub(crate) fn quotient(a: Exact, b: Exact, what: &'static str) -> Result<Exact, ArithmeticError> {
    if b.is_zero() || a.is_zero() {
        return Ok(Exact::ZERO);
    }
    // value = (ma / mb) × 10^(sb − sa): produce the digits of ma/mb until
    // the quotient is exact or has 28 significant digits (at most 56
    // places), then round once on the exact remainder.
    let negative = a.is_negative() != b.is_negative();
    let (q, scale) = match (a.small(), b.small()) {
        (Some(x), Some(y)) => {
            let (ma, mb) = (x.unsigned_abs(), y.unsigned_abs());
            let (q, scale, exact) = quotient_small(ma, mb, a.s, b.s);
            // Past 28 digits a quotient that terminates is still exact (M3).
            if !exact
                && ma % strip_2_5(mb) == 0
                && let Some(t) =
                    terminating(U256::from(ma), U256::from(mb), a.s, b.s, negative, what)
            {
                return Ok(t);
            }
            // The common case: at most 28 digits (below 2^94) at a scale
            // of 0 to 56, in range as it is.
            if let (Ok(s), Ok(m)) = (u32::try_from(scale), i128::try_from(q))
                && s <= MAX_SCALE
                && q < LIMIT_I128 as u128
            {
                let x = Exact::pack(I256::from(if negative { -m } else { m }), s);
                // Only a rounded-up last digit or an exact early stop can
                // leave zeros.
                return Ok(if rem10(q) == 0 { x.normalize() } else { x });
            }
            (U256::from(q), scale)
        }
        _ => {
            let (ma, mb) = (a.m().unsigned_abs(), b.m().unsigned_abs());
            let (q, scale, exact) =
                quotient_wide(ma, mb, a.s, b.s).ok_or(ArithmeticError::new(what))?;
            if !exact && let Some(t) = terminating(ma, mb, a.s, b.s, negative, what) {
                return Ok(t);
            }
            (q, scale)
        }
    };
    // A quotient with more integer digits than fit below 10^28 may come
    // back at a negative scale: bring it to scale 0.
    let (q, scale) = if scale < 0 {
        let up = pow10(u32::try_from(-scale).unwrap_or(0));
        (q.checked_mul(up).ok_or(ArithmeticError::new(what))?, 0)
    } else {
        (q, scale)
    };
    let m = I256::try_from(q).map_err(|_| ArithmeticError::new(what))?;
    let x = Exact::new(
        if negative { -m } else { m },
        u32::try_from(scale).unwrap_or(0),
        what,
    )?;
    // Only a rounded-up last digit or an exact early stop can leave zeros.
    let last_digit_zero = match word(x.m()) {
        Some(v) => rem10(v.unsigned_abs()) == 0,
        None => x.m() % 10 == 0,
    };
    Ok(if last_digit_zero { x.normalize() } else { x })
}

/// `v mod 10` without a 128-bit division: 2^64 ≡ 6 (mod 10).
#[inline]
fn rem10(v: u128) -> u64 {
    let (hi, lo) = ((v >> 64) as u64, v as u64);
    ((hi % 10) * 6 + lo % 10) % 10
}

/// The digit loop of [`quotient`] for 64-bit mantissas, in u128: the
/// remainder stays below 2^63 so 19 digits come per step, and the quotient
/// keeps at most 28 significant digits (below 2^94). Returns the rounded
/// magnitude, its scale (`generated + sa − sb`, possibly negative) and
/// whether it is the exact quotient.
fn quotient_small(ma: u64, mb: u64, sa: u32, sb: u32) -> (u128, i64, bool) {
    let (mut q, mut rem) = (u128::from(ma / mb), ma % mb);
    let mb128 = u128::from(mb);
    let max_generated = i64::from(MAX_SCALE) + i64::from(sb) - i64::from(sa);
    let mut generated: i64 = 0;
    // Digits of q (0 for 0); 64-bit logarithms are much cheaper.
    let sig = |q: u128| match u64::try_from(q) {
        Ok(v) => v.checked_ilog10().map_or(0, |d| d + 1),
        Err(_) => q.ilog10() + 1,
    };
    while generated < max_generated {
        // Exact (at a non-negative scale): the digits left are zeros.
        if rem == 0 && generated + i64::from(sa) >= i64::from(sb) {
            break;
        }
        let room = if q == 0 {
            19
        } else {
            QUOTIENT_DIGITS.saturating_sub(sig(q))
        };
        if room == 0 {
            break;
        }
        // As many digits as keep rem × 10^k within 64 bits (a hardware
        // division), at least one.
        let fits = 19 - rem.checked_ilog10().map_or(0, |d| d + 1);
        let mut k = room
            .min(fits.max(1))
            .min(u32::try_from(max_generated - generated).unwrap_or(19));
        let mut p = POW10_U128.get(k as usize).copied().unwrap_or(1);
        // rem < mb < 2^63 and p ≤ 10^19: t < 2^127.
        let t = u128::from(rem) * p;
        // A 64-bit division when t allows (a small divisor, few digits).
        let (mut d, r) = match u64::try_from(t) {
            Ok(t) => (u128::from(t / mb), t % mb),
            Err(_) => {
                let d = t / mb128;
                // r < mb, so it fits 64 bits.
                (d, u64::try_from(t - d * mb128).unwrap_or(0))
            }
        };
        // d < 10^k ≤ 10^19 always fits 64 bits.
        if let (0, Ok(mut d64)) = (r, u64::try_from(d)) {
            // The quotient ends in this chunk: drop its trailing zeros (as
            // far as a non-negative scale allows), in 64 bits, so that no
            // 128-bit normalization follows.
            let keep = i64::from(sb) - i64::from(sa) - generated;
            while i64::from(k) > keep.max(0) && d64 % 10 == 0 {
                d64 /= 10;
                k -= 1;
            }
            d = u128::from(d64);
            p = POW10_U128.get(k as usize).copied().unwrap_or(1);
        }
        q = q * p + d;
        rem = r;
        generated += i64::from(k);
    }
    // Half away from zero: the digits not produced are worth rem/mb.
    if u128::from(rem) * 2 >= mb128 && rem != 0 {
        q += 1;
    }
    (q, generated + i64::from(sa) - i64::from(sb), rem == 0)
}

/// The digit loop of [`quotient`] for wider mantissas, one digit a step in
/// 256 bits; a quotient of more than 28 integer digits is cut back with one
/// rounding. `None` when the digits leave 256 bits (far out of range).
fn quotient_wide(ma: U256, mb: U256, sa: u32, sb: u32) -> Option<(U256, i64, bool)> {
    let (mut q, mut rem) = (ma / mb, ma % mb);
    let max_generated = i64::from(MAX_SCALE) + i64::from(sb) - i64::from(sa);
    let mut generated: i64 = 0;
    let sig = |q: U256| if q == 0 { 0 } else { decimal_digits(q) };
    while generated < max_generated && sig(q) < QUOTIENT_DIGITS {
        if rem == 0 && generated + i64::from(sa) >= i64::from(sb) {
            break;
        }
        let r10 = rem.checked_mul(U256::from(10u8))?;
        q = q.checked_mul(U256::from(10u8))?.checked_add(r10 / mb)?;
        rem = r10 % mb;
        generated += 1;
    }
    let digits = sig(q);
    let cut = digits.saturating_sub(QUOTIENT_DIGITS);
    let (up, exact) = if cut == 0 {
        (
            rem != 0 && rem.checked_mul(U256::from(2u8))? >= mb,
            rem == 0,
        )
    } else {
        let p = pow10(cut);
        let rk = q % p;
        q /= p;
        // The dropped digits decide alone: rem/mb < 1 cannot lift 2·rk
        // past 10^cut (both even integers).
        (rk * 2 >= p, rk == 0 && rem == 0)
    };
    if up {
        q += 1;
    }
    Some((
        q,
        generated - i64::from(cut) + i64::from(sa) - i64::from(sb),
        exact,
    ))
}

/// `x` without its factors 2 and 5: the part of a divisor that makes a
/// quotient repeat (a quotient `a / x` terminates exactly when this part
/// divides `a`).
#[inline]
fn strip_2_5(x: u64) -> u64 {
    let mut r = x >> x.trailing_zeros();
    while r != 0 && r.is_multiple_of(5) {
        r /= 5;
    }
    r
}

/// The exact value of `ma / mb × 10^(sb − sa)` when that quotient
/// terminates and is a computed figure (decisions.md M3: a terminating
/// quotient is never rounded); `None` when it repeats or leaves the range,
/// and the caller's 28-digit rounding applies.
#[cold]
#[inline(never)]
fn terminating(
    ma: U256,
    mb: U256,
    sa: u32,
    sb: u32,
    negative: bool,
    what: &'static str,
) -> Option<Exact> {
    if mb == 0 {
        return None;
    }
    // mb = 2^twos × 5^fives × r; the quotient terminates iff r divides ma.
    let twos = mb.trailing_zeros();
    let (mut r, mut fives) = (mb >> twos, 0u32);
    while r % 5 == 0 {
        r /= 5;
        fives += 1;
    }
    if ma % r != 0 {
        return None;
    }
    // ma / mb = (ma / r) × 2^(k − twos) × 5^(k − fives) / 10^k.
    let k = twos.max(fives);
    let mut m = (ma / r).checked_mul(U256::ONE.checked_shl(k - twos)?)?;
    for _ in fives..k {
        m = m.checked_mul(U256::from(5u8))?;
    }
    let mut scale = i64::from(k) + i64::from(sa) - i64::from(sb);
    while scale < 0 {
        m = m.checked_mul(U256::from(10u8))?;
        scale += 1;
    }
    let m = I256::try_from(m).ok()?;
    let x = Exact::new(
        if negative { -m } else { m },
        u32::try_from(scale).ok()?,
        what,
    )
    .ok()?;
    Some(x.normalize())
}

/// Number of decimal digits of `n` (1 for 0).
fn decimal_digits(n: U256) -> u32 {
    if let Ok(small) = u128::try_from(n) {
        return small.checked_ilog10().map_or(1, |d| d + 1);
    }
    let mut digits = 39;
    while digits < 78 && n >= pow10(digits) {
        digits += 1;
    }
    digits
}

/// `a × b / c` with the product taken exactly first (multiply before
/// dividing, decisions.md M3); `c = 0` gives 0.
///
/// # Errors
/// As [`mul`] and [`quotient`].
pub(crate) fn mul_div(
    a: Exact,
    b: Exact,
    c: Exact,
    what: &'static str,
) -> Result<Exact, ArithmeticError> {
    quotient(mul(a, b, what)?, c, what)
}

/// `a / b` rounded half away from zero at `dp` places, once: the 28-digit
/// quotient is only the estimate (rounding it again at `dp` could cross a
/// tie, e.g. 0.00499…96 → 0.005 → 0.01), corrected with exact products.
///
/// # Errors
/// As [`quotient`], and when a product leaves the range.
pub(crate) fn quotient_rounded(
    a: Exact,
    b: Exact,
    dp: u32,
    what: &'static str,
) -> Result<Exact, ArithmeticError> {
    // A zero divisor gives 0, as `quotient` does (and the loops below
    // would not end).
    if b.is_zero() || a.is_zero() {
        return Ok(Exact::ZERO);
    }
    let negative = a.is_negative() != b.is_negative();
    let abs = |x: Exact| if x.is_negative() { -x } else { x };
    let (a, b) = (abs(a), abs(b));
    let step = div_pow10(Exact::ONE, dp, what)?;
    let half = div_pow10(Exact::from(5u32), dp + 1, what)?;
    let mut q = round_half_away(quotient(a, b, what)?, dp);
    // On magnitudes half away is half up: q is right when
    // q − half ≤ a/b < q + half.
    while q > Exact::ZERO && mul(sub(q, half, what)?, b, what)? > a {
        q = sub(q, step, what)?;
    }
    while mul(add(q, half, what)?, b, what)? <= a {
        q = add(q, step, what)?;
    }
    Ok(if negative { -q } else { q })
}

/// Rounds half away from zero to `dp` fractional digits (Lago's `round`).
pub(crate) fn round_half_away(a: Exact, dp: u32) -> Exact {
    if a.s <= dp {
        return a;
    }
    if let (Some(m), Some(&d)) = (a.small(), POW10_I64.get((a.s - dp) as usize)) {
        // 64-bit division: a 128-bit one is a library call.
        let (mut q, r) = (m / d, m % d);
        if r.unsigned_abs() * 2 >= d.unsigned_abs() {
            q += if m < 0 { -1 } else { 1 };
        }
        return Exact::pack(I256::from(q), dp);
    }
    if let (Some(m), Some(&d)) = (word(a.m()), POW10_U128.get((a.s - dp) as usize)) {
        // A 128-bit division: a 256-bit one is a longer call.
        let (mut q, r) = (m.unsigned_abs() / d, m.unsigned_abs() % d);
        if r * 2 >= d {
            q += 1;
        }
        // q ≤ |m| < 2^127.
        let q = q as i128;
        return Exact::pack(I256::from(if m < 0 { -q } else { q }), dp);
    }
    let d = pow10(a.s - dp).as_i256();
    let (mut q, r) = (a.m() / d, a.m() % d);
    if r.unsigned_abs() * 2 >= d.unsigned_abs() {
        q += if a.m() < 0 { -1 } else { 1 };
    }
    // Rounding moves the value by less than one unit of the last kept place,
    // which keeps it inside the range for dp ≥ 0.
    Exact::pack(q, dp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(s: &str) -> Exact {
        s.parse().unwrap()
    }

    #[test]
    fn the_64_bit_quotient_agrees_with_the_digit_by_digit_one() {
        // quotient_small (chunked, 64/128-bit) against quotient_wide (one
        // digit a step in 256 bits), as values, over mixed magnitudes.
        let value = |q: U256, scale: i64| {
            let (m, s) = if scale < 0 {
                (q * pow10(u32::try_from(-scale).unwrap()), 0)
            } else {
                (q, u32::try_from(scale).unwrap())
            };
            Exact::from_parts(false, m, s)
        };
        let mut r: u64 = 7;
        let mut next = || {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            r
        };
        // Powers of two give exact ties: 1 / 2^41 = 5^41 × 10^-41 has 29
        // significant digits, the last a 5.
        let ties = (30..63u32).flat_map(|j| [1u64, 3, 7, 11].map(|a| (a, 1u64 << j)));
        let random = (0..5000).map(|_| {
            let ma = (next() >> (next() % 64)).min(i64::MAX as u64).max(1);
            let mb = (next() >> (next() % 64)).min(i64::MAX as u64).max(1);
            (ma, mb)
        });
        let cases: Vec<(u64, u64)> = ties.chain(random).collect();
        for (ma, mb) in cases {
            let (sa, sb) = ((next() % 29) as u32, (next() % 29) as u32);
            let (q, scale, exact) = quotient_small(ma, mb, sa, sb);
            let wide = quotient_wide(U256::from(ma), U256::from(mb), sa, sb).unwrap();
            assert_eq!(
                value(U256::from(q), scale),
                value(wide.0, wide.1),
                "{ma}e-{sa} / {mb}e-{sb}"
            );
            assert_eq!(exact, wide.2, "{ma}e-{sa} / {mb}e-{sb}");
        }
    }

    #[test]
    fn a_quotient_rounded_at_places_is_rounded_once() {
        // 0.0149999999999999999999999999989 / 3 = 0.00499999999999999999999999999963…
        // repeats: at 2 places that is 0.00, while the 28-digit quotient
        // 0.005000… would round again to 0.01.
        let (a, b) = (x("0.0149999999999999999999999999989"), x("3"));
        assert_eq!(
            round_half_away(quotient(a, b, "t").unwrap(), 2),
            x("0.01"),
            "the double rounding this guards against"
        );
        assert_eq!(quotient_rounded(a, b, 2, "t").unwrap(), x("0"));
        assert_eq!(quotient_rounded(-a, b, 2, "t").unwrap(), x("0"));
        // Exact ties go away from zero: 0.025 / 1 → 0.03, −0.025 → −0.03;
        // 1 / 8 = 0.125 → 0.13; 2 / 3 = 0.666… → 0.67; 10 / −4 = −2.5 → −3;
        // a zero divisor gives 0, as quotient does.
        for (a, b, dp, want) in [
            ("0.025", "1", 2, "0.03"),
            ("-0.025", "1", 2, "-0.03"),
            ("1", "8", 2, "0.13"),
            ("2", "3", 2, "0.67"),
            ("10", "-4", 0, "-3"),
            ("0", "7", 2, "0"),
            ("5", "0", 2, "0"),
        ] {
            assert_eq!(
                quotient_rounded(x(a), x(b), dp, "t").unwrap(),
                x(want),
                "{a} / {b} at {dp}"
            );
        }
    }

    #[test]
    fn the_128_bit_product_and_truncation_agree_with_256_bit_arithmetic() {
        // mul_wide's i128 path and trunc's i128 division, against the same
        // operations on the 256-bit mantissas.
        let mut r: u128 = 5;
        let mut next = || {
            r = r
                .wrapping_mul(0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645)
                .wrapping_add(1);
            r
        };
        for _ in 0..5000 {
            let (ra, rb) = (next(), next());
            let a = (ra >> (ra % 127 + 1)) as i128 * if ra % 3 == 0 { -1 } else { 1 };
            let b = (rb >> (rb % 127 + 1)) as i128;
            let (sa, sb) = ((ra % 29) as u32, (rb % 29) as u32);
            let (xa, xb) = (
                Exact::pack(I256::from(a), sa),
                Exact::pack(I256::from(b), sb),
            );
            let want = Exact::new(I256::from(a) * I256::from(b), sa + sb, "t");
            assert_eq!(mul(xa, xb, "t"), want, "{a} × {b}");
            let t = xa.trunc();
            assert_eq!(t.scale(), 0);
            assert_eq!(
                t.m(),
                I256::from(a) / pow10(sa).as_i256(),
                "trunc {a} at {sa}"
            );
        }
    }

    #[test]
    fn the_128_bit_writer_agrees_with_the_general_one() {
        // write_word against render (Display), for mantissas beyond 64 bits.
        let mut r: u128 = 11;
        for _ in 0..2000 {
            r = r
                .wrapping_mul(0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645)
                .wrapping_add(1);
            let m = (r >> (r % 64 + 1)) as i128 * if r.is_multiple_of(3) { -1 } else { 1 };
            for s in [0u32, 1, 5, 19, 20, 28, 38, 45, 56] {
                let x = Exact::pack(I256::from(m), s);
                let mut out = Vec::new();
                write_word(m, s, false, &mut out);
                assert_eq!(String::from_utf8(out).unwrap(), x.to_string(), "{m} at {s}");
            }
        }
        for m in [
            i128::from(i64::MAX) + 1,
            10i128.pow(19),
            10i128.pow(38),
            -(10i128.pow(20)),
        ] {
            let mut out = Vec::new();
            write_word(m, 20, true, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}\"", Exact::pack(I256::from(m), 20))
            );
        }
    }

    #[test]
    fn rem10_is_the_last_digit() {
        for v in [
            0u128,
            9,
            10,
            123_456_789,
            u128::from(u64::MAX),
            1 << 64,
            (1 << 64) + 7,
            u128::MAX,
        ] {
            assert_eq!(u128::from(rem10(v)), v % 10, "{v}");
        }
    }

    #[test]
    fn the_64_bit_writer_agrees_with_rust_decimal() {
        // rust_decimal's own plain formatting of the normalized value is the
        // oracle, over mantissas of every length, both signs, scales 0–18.
        let mut m: i64 = 1;
        let mut values = vec![0, 1, -1, 9, 10, 99, 100, i64::MAX, i64::MIN + 1];
        for _ in 0..200 {
            m = m
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            values.push(m >> (m.unsigned_abs() % 63));
        }
        for &v in &values {
            for s in 0..=18u32 {
                let mut out = Vec::new();
                Exact::from_small(v, s).write_plain(&mut out);
                let want = Decimal::new(v, s).normalize().to_string();
                assert_eq!(String::from_utf8(out).unwrap(), want, "{v} at scale {s}");
            }
            // Beyond rust_decimal's scale the digits are all places, padded
            // with zeros: the general renderer is the oracle there.
            for s in 19..=MAX_SCALE {
                let x = Exact::pack(I256::from(v), s);
                let mut out = Vec::new();
                x.write_quoted(&mut out);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format!("\"{x}\""),
                    "{v} at scale {s}"
                );
            }
        }
    }

    #[test]
    fn products_beyond_28_digits_stay_exact() {
        // 999999999999997 × 486.374144085519 = 486374144085517540.877567743443
        // (30 significant digits: a Decimal would round it).
        let p = mul(x("999999999999997"), x("486.374144085519"), "t").unwrap();
        assert_eq!(p.to_string(), "486374144085517540.877567743443");
        assert_eq!(p.to_decimal(), None);
    }

    #[test]
    fn mul_keeps_up_to_56_places_and_rejects_more() {
        // 1e-15 × 1e-15 = 1e-30: 30 places, exact (M3).
        assert_eq!(
            mul(x("0.000000000000001"), x("0.000000000000001"), "t")
                .unwrap()
                .to_string(),
            "0.000000000000000000000000000001"
        );
        // 1e-12 × 0.50000000000000000001 = 5.0000000000000000001e-13 (32 places).
        let p = mul(x("0.000000000001"), x("0.50000000000000000001"), "t").unwrap();
        assert_eq!(p.to_string(), "0.00000000000050000000000000000001");
        // 1e-28 × 1e-28 = 1e-56 is the smallest; one more place is too many.
        let tiny = x("0.0000000000000000000000000001");
        let square = mul(tiny, tiny, "t").unwrap();
        assert!(div_pow10(square, 1, "t").is_err());
        // 1e20 × 1e10 = 1e30 ≥ 2^96.
        assert!(mul(x("100000000000000000000"), x("10000000000"), "t").is_err());
        // Trailing zeros are not digits: 0.10…0 (28 places) squared is 0.01.
        let tenth = x("0.1000000000000000000000000000");
        assert_eq!(mul(tenth, tenth, "t").unwrap(), x("0.01"));
    }

    #[test]
    fn sums_are_exact() {
        assert_eq!(add(x("0.15"), x("0.25"), "t").unwrap(), x("0.4"));
        assert_eq!(sub(x("1"), x("1.5"), "t").unwrap(), x("-0.5"));
        // 1e20 + 1e-20 has 41 significant digits: exact here.
        let s = add(x("100000000000000000000"), x("0.00000000000000000001"), "t").unwrap();
        assert_eq!(s.to_string(), "100000000000000000000.00000000000000000001");
        assert!(add(Exact::from(Decimal::MAX), Exact::ONE, "t").is_err());
    }

    #[test]
    fn quotient_rounds_only_non_terminating() {
        assert_eq!(quotient(x("2.04"), x("2"), "t").unwrap(), x("1.02"));
        assert_eq!(
            quotient(x("1"), x("3"), "t").unwrap().to_string(),
            "0.3333333333333333333333333333"
        );
        assert_eq!(
            quotient(x("2"), x("3"), "t").unwrap().to_string(),
            "0.6666666666666666666666666667"
        );
        assert_eq!(
            quotient(x("-2"), x("3"), "t").unwrap().to_string(),
            "-0.6666666666666666666666666667"
        );
        assert_eq!(quotient(x("1"), x("0"), "t").unwrap(), Exact::ZERO);
        // 10/4 terminates: exact.
        assert_eq!(quotient(x("10"), x("4"), "t").unwrap(), x("2.5"));
        // A small quotient still carries 28 significant digits (M3):
        // 0.01 / 3e9 = 3.333…e-12.
        assert_eq!(
            quotient(x("0.01"), x("3000000000"), "t")
                .unwrap()
                .to_string(),
            "0.000000000003333333333333333333333333333"
        );
        // 10 / 0.5 = 20: a terminating quotient of a finer divisor.
        assert_eq!(quotient(x("10"), x("0.5"), "t").unwrap(), x("20"));
        // Wide operands take the 256-bit loop with the same result.
        let big = x("486374144085517540.877567743443");
        assert_eq!(
            quotient(big, x("999999999999997"), "t")
                .unwrap()
                .to_string(),
            "486.374144085519"
        );
        // Tiny over tiny.
        let q = quotient(
            x("0.0000000000000000000000000005"),
            x("0.0000000000000000000000000001"),
            "t",
        )
        .unwrap();
        assert_eq!(q, x("5"));
        // A long quotient keeps 28 significant digits: 1e20 / 3.
        let q = quotient(x("100000000000000000000"), x("3"), "t").unwrap();
        assert_eq!(q.to_string(), "33333333333333333333.33333333");
        // 17000 / 31 to 28 significant digits, rounded up at the last place.
        let q = quotient(x("17000"), x("31"), "t").unwrap();
        assert_eq!(q.to_string(), "548.3870967741935483870967742");
    }

    #[test]
    fn a_terminating_quotient_is_exact_past_28_digits() {
        // 39614081257132168796771975167.745 / 2 (an input below 2^96 with 32
        // significant digits) terminates: 19807040628566084398385987583.8725.
        let q = quotient(x("39614081257132168796771975167.745"), x("2"), "t").unwrap();
        assert_eq!(q.to_string(), "19807040628566084398385987583.8725");
        // 1 / 2^41 = 4.547473508864641189575195312e-13 terminates after 41
        // places, with 29 significant digits (the 64-bit loop stops at 28).
        let q = quotient(x("1"), x("2199023255552"), "t").unwrap();
        assert_eq!(q.to_string(), "0.00000000000045474735088646411895751953125");
        // The same divided by a scaled divisor (0.0002199023255552 = 2^41 / 10^16).
        let q = quotient(x("-1"), x("0.0002199023255552"), "t").unwrap();
        assert_eq!(q.to_string(), "-4547.4735088646411895751953125");
        // A quotient that reduces: 3 × 2^-41 over 3.
        let q = quotient(
            x("0.00000000000136424205265939235687255859375"),
            x("3"),
            "t",
        )
        .unwrap();
        assert_eq!(q.to_string(), "0.00000000000045474735088646411895751953125");
        // Terminating, but beyond 56 places (2^-60 needs 60): rounded to 28
        // significant digits like a repeating quotient.
        let q = quotient(x("1"), x("1152921504606846976"), "t").unwrap();
        assert_eq!(
            q.to_string(),
            "0.0000000000000000008673617379884035472059622407"
        );
        // Repeating quotients keep 28 significant digits on both paths.
        let q = quotient(x("39614081257132168796771975167.745"), x("3"), "t").unwrap();
        assert_eq!(q.to_string(), "13204693752377389598923991720");
        assert_eq!(
            quotient(x("10"), x("3"), "t").unwrap().to_string(),
            "3.333333333333333333333333333"
        );
        // Out of range stays an error.
        assert!(quotient(x("39614081257132168796771975167.745"), x("0.25"), "t").is_err());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_away(x("0.125"), 2), x("0.13"));
        assert_eq!(round_half_away(x("-0.125"), 2), x("-0.13"));
        assert_eq!(round_half_away(x("2.5"), 0), x("3"));
        assert_eq!(round_half_away(x("2.4999"), 0), x("2"));
    }

    #[test]
    fn display_is_plain_and_normalized() {
        assert_eq!(x("10.0").to_string(), "10");
        assert_eq!(x("0.00001").to_string(), "0.00001");
        assert_eq!(x("-0.5").to_string(), "-0.5");
        assert_eq!(x("-0").to_string(), "0");
        assert_eq!(Exact::ZERO.to_string(), "0");
        // Mantissas past 64 bits render in 19-digit chunks, inner zeros kept.
        for text in [
            "10000000000000000000",
            "18446744073709551616",
            "0.1000000000000000000000000001",
            "-1000000000000000000000000.0007",
            "486374144085517540.877567743443",
        ] {
            assert_eq!(x(text).to_string(), text);
        }
    }

    #[test]
    fn text_round_trips_at_every_scale() {
        let tiny = x("0.0000000000000000000000000001");
        let square = mul(tiny, tiny, "t").unwrap();
        assert_eq!(square.to_string().parse::<Exact>().unwrap(), square);
        assert!("0.1e-56".parse::<Exact>().is_err());
    }

    #[test]
    fn floor_and_trunc() {
        assert_eq!(x("2.7").floor(), x("2"));
        assert_eq!(x("-2.7").floor(), x("-3"));
        assert_eq!(x("-2.7").trunc(), x("-2"));
        assert_eq!(x("-3").floor(), x("-3"));
    }
}
