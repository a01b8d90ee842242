//! Exact decimal arithmetic for computed figures.
//!
//! Inputs have at most 28 fractional digits and a magnitude below 2^96.
//! Their products and sums can need more digits than a 96-bit decimal holds
//! (Lago's own results reach 36 significant digits, e.g.
//! `120488375275.015898629866425611965834`), and a 96-bit decimal would
//! round them silently. [`Exact`] keeps a 256-bit mantissa instead, so every
//! figure of magnitude below 2^96 with at most 56 fractional digits (the
//! product of two inputs of 28) is held exactly; anything else is an
//! [`ArithmeticError`], never a rounded number. Only a quotient rounds, and
//! only one that does not terminate (or whose exact value leaves that
//! range), to 28 significant digits (decisions.md M3).
//!
//! The kernels (`ops.rs`) and the digit writer and reader (`text.rs`) are
//! the quarantined performance code; this file is the type and its API.

mod ops;
mod scientific;
mod text;

use std::cmp::Ordering;
use std::fmt;

use ethnum::{I256, U256};
use rust_decimal::Decimal;

use crate::error::ArithmeticError;

pub(crate) use ops::{Figure, Overflow, round_half_away};
#[cfg(feature = "lago")]
pub(crate) use scientific::{EXPONENT_CAP, Significand, to_exact};
pub(crate) use scientific::{ScientificError, parse_scientific};
#[cfg(feature = "lago")]
pub(crate) use text::{parse_plain, write_integer};

/// Most fractional digits a computed figure may have: the product of two
/// inputs of 28 places each (M3: such a product, e.g. 1e-12 × 0.5000…01 with
/// 20 places, is exact).
const MAX_SCALE: u32 = 56;

/// `10^k` for `k ≤ 38`, as a compile-time table (price exploration's
/// 128-bit paths read it too).
// Evaluated by the compiler: an index out of the table fails the build.
#[allow(clippy::indexing_slicing)]
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
// Evaluated by the compiler: an index out of the table fails the build.
#[allow(clippy::indexing_slicing)]
const POW10_I64: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// 10^38, the table's last entry.
const TEN_POW_38: u128 = 100_000_000_000_000_000_000_000_000_000_000_000_000;

/// 2^96 as i128.
const LIMIT_I128: i128 = 1 << 96;

/// `10^k` for `k ≤ 76` (the largest power of ten below 2^255).
fn pow10(k: u32) -> U256 {
    let k = k as usize;
    match POW10_U128.get(k) {
        Some(p) => U256::from(*p),
        None => {
            // k ≤ 76: 10^38 × 10^(k − 38).
            let hi = POW10_U128.get(k - 38).copied();
            debug_assert!(hi.is_some(), "10^{k} is beyond 256 bits");
            U256::from(TEN_POW_38) * U256::from(hi.unwrap_or(1))
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

/// An exact decimal: a 256-bit mantissa and a scale of at most 56, whose
/// magnitude is below 2^96.
///
/// Every computed figure of meterprice (amounts, tier units, taxes) is an
/// `Exact`: it holds up to 57 significant digits, so nothing in the
/// contract's range is ever rounded. Arithmetic is checked (`checked_add`,
/// `checked_sub`, `checked_mul`, `checked_div`, and [`Sum`](std::iter::Sum)
/// into an `Option`), text is plain notation both ways, and it converts to
/// and from [`Decimal`] and integers.
///
/// ```
/// use meterprice::Exact;
/// use rust_decimal::Decimal;
/// let x = Exact::from(Decimal::new(125, 3));
/// assert_eq!(x.to_string(), "0.125");
/// assert_eq!(x.to_decimal(), Some(Decimal::new(125, 3)));
/// // Products keep every digit: 30 significant digits, beyond a Decimal.
/// let p = "999999999999997".parse::<Exact>()?
///     .checked_mul("486.374144085519".parse()?).unwrap();
/// assert_eq!(p.to_string(), "486374144085517540.877567743443");
/// assert_eq!(p.to_decimal(), None);
/// // Sums are checked too: `None` past the range.
/// let total: Option<Exact> = ["1.5", "2.25"].iter().map(|t| t.parse::<Exact>().unwrap()).sum();
/// assert_eq!(total, Some("3.75".parse()?));
/// assert_eq!("12".parse::<Exact>()?.to_i128(), Some(12));
/// # Ok::<(), meterprice::ParseExactError>(())
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

    /// A value from its sign, magnitude mantissa and scale, if in range.
    pub(crate) fn from_parts(negative: bool, m: U256, s: u32) -> Option<Self> {
        let m = I256::try_from(m).ok()?;
        Self::new(if negative { -m } else { m }, s).ok()
    }

    /// A non-negative 128-bit mantissa at a scale of at most 56, if in
    /// range (grid points and kernel figures of price exploration).
    #[inline]
    pub(crate) fn from_u128(m: u128, s: u32) -> Option<Self> {
        let m = i128::try_from(m).ok()?;
        Self::new(I256::from(m), s).ok()
    }

    /// The signed mantissa when it fits 128 bits, and the scale.
    #[inline]
    pub(crate) fn to_i128_parts(self) -> Option<(i128, u32)> {
        Some((word(self.m())?, self.s))
    }

    /// Whether the value has no trailing fractional zeros (a cheap test:
    /// the last digit of a 64-bit mantissa).
    #[inline]
    pub(crate) fn is_normalized(&self) -> bool {
        self.s == 0 || self.small().is_some_and(|m| m % 10 != 0)
    }

    /// The mantissa and scale, when the mantissa fits 64 bits and the
    /// scale is at most 28: [`Exact::from_small`] gives the same figure
    /// back, mantissa and scale.
    #[inline]
    pub(crate) fn small_parts(&self) -> Option<(i64, u32)> {
        self.small().filter(|_| self.s <= 28).map(|m| (m, self.s))
    }

    /// A 64-bit mantissa at a scale of at most 28: always in range.
    #[inline]
    pub(crate) fn from_small(m: i64, s: u32) -> Self {
        debug_assert!(s <= 28, "from_small at scale {s}");
        Self::pack(I256::from(m), s)
    }

    /// The sign, magnitude mantissa and scale: the inverse of
    /// [`Exact::from_parts`] (grid indices of price exploration are
    /// integers beyond the decimal range).
    pub(crate) fn to_parts(self) -> (bool, U256, u32) {
        (self.is_negative(), self.m().unsigned_abs(), self.s)
    }

    /// The value as a `Decimal`, when it fits one exactly (at most 28
    /// fractional digits once trailing zeros are dropped, and 96 bits).
    pub fn to_decimal(self) -> Option<Decimal> {
        let n = self.normalize();
        let m = i128::try_from(n.m()).ok()?;
        Decimal::try_from_i128_with_scale(m, n.s).ok()
    }

    /// The value as an integer, when it is one (`12.0` is 12, `12.5` is
    /// `None`).
    ///
    /// ```
    /// use meterprice::Exact;
    /// assert_eq!("-7.00".parse::<Exact>()?.to_i128(), Some(-7));
    /// assert_eq!("0.5".parse::<Exact>()?.to_i128(), None);
    /// # Ok::<(), meterprice::ParseExactError>(())
    /// ```
    pub fn to_i128(self) -> Option<i128> {
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

    /// The largest integer not above the value.
    pub fn floor(&self) -> Self {
        let t = self.trunc();
        if self.is_negative() && t != *self {
            Self::pack(t.m() - 1, 0)
        } else {
            t
        }
    }

    /// `self + rhs`, or `None` when the exact sum leaves the range.
    pub fn checked_add(self, rhs: Self) -> Option<Self> {
        self.plus(rhs).ok()
    }

    /// `self − rhs`, or `None` when the exact difference leaves the range.
    pub fn checked_sub(self, rhs: Self) -> Option<Self> {
        self.minus(rhs).ok()
    }

    /// `self × rhs`, or `None` when the exact product leaves the range
    /// (2^96 or more, or more than 56 fractional digits).
    pub fn checked_mul(self, rhs: Self) -> Option<Self> {
        self.times(rhs).ok()
    }

    /// `self / rhs` as a quotient: exact when it terminates (and the exact
    /// value is in range), else rounded half away from zero to 28
    /// significant digits; `None` for a zero divisor or a quotient out of
    /// range.
    ///
    /// ```
    /// use meterprice::Exact;
    /// let x = |t: &str| t.parse::<Exact>().unwrap();
    /// assert_eq!(x("10").checked_div(x("4")), Some(x("2.5")));
    /// assert_eq!(x("1").checked_div(x("3")).unwrap().to_string(), "0.3333333333333333333333333333");
    /// assert_eq!(x("1").checked_div(Exact::ZERO), None);
    /// ```
    pub fn checked_div(self, rhs: Self) -> Option<Self> {
        if rhs.is_zero() {
            return None;
        }
        self.over(rhs).ok()
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

    /// The exact sum of `items`, or `Overflow` past the range.
    pub(crate) fn try_sum<I: IntoIterator<Item = Exact>>(items: I) -> Result<Self, Overflow> {
        items.into_iter().try_fold(Self::ZERO, |acc, x| acc.plus(x))
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

impl From<i64> for Exact {
    fn from(n: i64) -> Self {
        Self::pack(I256::from(n), 0)
    }
}

/// An integer of magnitude below 2^96.
impl TryFrom<i128> for Exact {
    type Error = ArithmeticError;
    fn try_from(n: i128) -> Result<Self, ArithmeticError> {
        Self::new(I256::from(n), 0).map_err(|o| o.figure("integer"))
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

/// Checked: `None` when the sum leaves the range.
impl std::iter::Sum<Exact> for Option<Exact> {
    fn sum<I: Iterator<Item = Exact>>(iter: I) -> Self {
        Exact::try_sum(iter).ok()
    }
}

/// Checked: `None` when the sum leaves the range.
impl<'a> std::iter::Sum<&'a Exact> for Option<Exact> {
    fn sum<I: Iterator<Item = &'a Exact>>(iter: I) -> Self {
        Exact::try_sum(iter.copied()).ok()
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

#[cfg(test)]
mod tests;
