//! The arithmetic kernels of [`Exact`] (quarantined performance code):
//! each operation first asks whether both mantissas fit 64 bits, and then
//! works in `i64`/`i128` inline; the 256-bit paths are out of line and
//! cold. Divisions by powers of ten use 64-bit division whenever the
//! operands allow, because a 128-bit division is a library call.
//!
//! A kernel reports an out-of-range result as [`Overflow`], which carries no
//! name: the code that computes a figure names it once
//! ([`Figure::figure`]), whatever the number of operations it took.

use std::cmp::Ordering;

use ethnum::{I256, U256};

use super::{Exact, LIMIT_I128, MAX_SCALE, POW10_I64, POW10_U128, limit, pow10, word};
use crate::error::ArithmeticError;

/// Significant digits a non-terminating quotient carries (M3).
const QUOTIENT_DIGITS: u32 = 28;

/// An exact result outside the range (2^96 or more in magnitude, or more
/// than 56 fractional digits), before the figure it belongs to is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

/// Names the figure an [`Overflow`] happened in: the one place a
/// computation's error gets its context.
pub(crate) trait Figure<T> {
    /// The result, with an overflow reported as an [`ArithmeticError`] in
    /// the figure `name` (e.g. `"graduated amount"`).
    fn figure(self, name: &'static str) -> Result<T, ArithmeticError>;
}

impl<T> Figure<T> for Result<T, Overflow> {
    #[inline(always)]
    fn figure(self, name: &'static str) -> Result<T, ArithmeticError> {
        self.map_err(|Overflow| ArithmeticError::new(name))
    }
}

impl Overflow {
    /// The overflow as the error of figure `name`.
    pub(crate) fn figure(self, name: &'static str) -> ArithmeticError {
        ArithmeticError::new(name)
    }
}

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

/// Arithmetic as the figures use it: every result exact, or [`Overflow`].
impl Exact {
    /// `self + rhs`, exactly.
    #[inline(always)]
    pub(crate) fn plus(self, rhs: Self) -> Result<Self, Overflow> {
        add(self, rhs)
    }

    /// `self − rhs`, exactly.
    #[inline(always)]
    pub(crate) fn minus(self, rhs: Self) -> Result<Self, Overflow> {
        add(self, -rhs)
    }

    /// `self × rhs`, exactly.
    #[inline(always)]
    pub(crate) fn times(self, rhs: Self) -> Result<Self, Overflow> {
        mul(self, rhs)
    }

    /// `self / rhs` as a quotient ([`quotient`]): exact when it terminates,
    /// else 28 significant digits; 0 for `rhs = 0`.
    #[inline]
    pub(crate) fn over(self, rhs: Self) -> Result<Self, Overflow> {
        quotient(self, rhs)
    }

    /// `self × rhs / by`, multiplying first (M3).
    pub(crate) fn times_over(self, rhs: Self, by: Self) -> Result<Self, Overflow> {
        quotient(mul(self, rhs)?, by)
    }

    /// `self / rhs` rounded half away from zero at `dp` places, once.
    pub(crate) fn over_rounded(self, rhs: Self, dp: u32) -> Result<Self, Overflow> {
        quotient_rounded(self, rhs, dp)
    }

    /// `self / 100`, exactly: `x.times(rate)?.percent()` is `rate` % of `x`.
    #[inline]
    pub(crate) fn percent(self) -> Result<Self, Overflow> {
        self.div_pow10(2)
    }

    /// `self / 10^k`, exactly (a percentage, a minor-unit scale).
    #[inline]
    pub(crate) fn div_pow10(self, k: u32) -> Result<Self, Overflow> {
        Self::new(self.m(), self.s + k)
    }
}

impl Exact {
    /// Builds from a mantissa and scale, checking the range; trailing zeros
    /// beyond 56 fractional digits are dropped, other digits are an error.
    #[inline]
    pub(crate) fn new(m: I256, s: u32) -> Result<Self, Overflow> {
        // Fast path: a mantissa below 2^96 is in range at any scale ≤ 56.
        if s <= MAX_SCALE && word(m).is_some_and(|w| w.unsigned_abs() < LIMIT_I128 as u128) {
            return Ok(Self::pack(m, s));
        }
        Self::new_wide(m, s)
    }

    #[cold]
    #[inline(never)]
    fn new_wide(m: I256, s: u32) -> Result<Self, Overflow> {
        let (mut m, mut s) = (m, s);
        while s > MAX_SCALE {
            if m % 10 != 0 {
                return Err(Overflow);
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
            return Err(Overflow);
        }
        Ok(x)
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

/// `a × b`, exactly.
///
/// # Errors
/// [`Overflow`] when the exact product is 2^96 or more
/// in magnitude or needs more than 56 fractional digits.
#[inline(always)]
pub(crate) fn mul(a: Exact, b: Exact) -> Result<Exact, Overflow> {
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
        return Exact::new(I256::from(p), s);
    }
    mul_wide(a, b)
}

#[cold]
#[inline(never)]
fn mul_wide(a: Exact, b: Exact) -> Result<Exact, Overflow> {
    if a.is_zero() || b.is_zero() {
        return Ok(Exact::ZERO);
    }
    // A 28-digit quotient times a count: 128 bits are enough, and far
    // cheaper than 256.
    if let (Some(x), Some(y)) = (word(a.m()), word(b.m()))
        && let Some(p) = x.checked_mul(y)
    {
        return Exact::new(I256::from(p), a.s + b.s);
    }
    match a.m().checked_mul(b.m()) {
        Some(m) => Exact::new(m, a.s + b.s),
        None => {
            // Only trailing zeros can make such a product fit: retry without them.
            let (a2, b2) = (a.normalize(), b.normalize());
            if (a2.s, b2.s) == (a.s, b.s) {
                return Err(Overflow);
            }
            let m = a2.m().checked_mul(b2.m()).ok_or(Overflow)?;
            Exact::new(m, a2.s + b2.s)
        }
    }
}

/// `a + b`, exactly.
///
/// # Errors
/// [`Overflow`] when the sum is 2^96 or more in magnitude.
#[inline(always)]
pub(crate) fn add(a: Exact, b: Exact) -> Result<Exact, Overflow> {
    // Fast path: 64-bit mantissas aligned within i128.
    if let (Some(x), Some(y)) = (a.small(), b.small()) {
        if a.s == b.s {
            // |x + y| < 2^64: in range at any scale.
            return Ok(Exact::pack(I256::from(i128::from(x) + i128::from(y)), a.s));
        }
        if let Some((x, y, s)) = align_small(x, a.s, y, b.s) {
            // Both below 2^123: the sum fits i128.
            return Exact::new(I256::from(x + y), s);
        }
    }
    add_wide(a, b)
}

#[cold]
#[inline(never)]
fn add_wide(a: Exact, b: Exact) -> Result<Exact, Overflow> {
    if let Some((x, y, s)) = align_word(&a, &b)
        && let Some(sum) = x.checked_add(y)
    {
        return Exact::new(I256::from(sum), s);
    }
    let s = a.s.max(b.s);
    // Both aligned mantissas are below 2^190: their sum cannot overflow.
    // Aligned mantissas that leave 256 bits cannot make an in-range sum.
    match (a.at_scale(s), b.at_scale(s)) {
        (Some(x), Some(y)) => Exact::new(x.checked_add(y).ok_or(Overflow)?, s),
        _ => Err(Overflow),
    }
}

/// `a − b`, exactly.
///
/// # Errors
/// As [`add`].
#[inline(always)]
pub(crate) fn sub(a: Exact, b: Exact) -> Result<Exact, Overflow> {
    add(a, -b)
}

/// Divides exactly by `10^k` (a percentage, a minor-unit scale).
///
/// # Errors
/// [`Overflow`] when the result needs more than 28
/// fractional digits.
pub(crate) fn div_pow10(a: Exact, k: u32) -> Result<Exact, Overflow> {
    Exact::new(a.m(), a.s + k)
}

/// `a / b` for a quotient (a unit amount, a ratio): exact when it
/// terminates and the exact value is a computed figure (below 2^96, at most
/// 56 places), otherwise rounded half away from zero to 28 significant
/// digits (at most 56 places), decisions.md M3. `b = 0` gives 0, the value
/// Lago uses for a unit amount over zero units.
///
/// # Errors
/// [`Overflow`] when the quotient is 2^96 or more.
pub(crate) fn quotient(a: Exact, b: Exact) -> Result<Exact, Overflow> {
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
                && let Some(t) = terminating(U256::from(ma), U256::from(mb), a.s, b.s, negative)
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
            let (q, scale, exact) = quotient_wide(ma, mb, a.s, b.s).ok_or(Overflow)?;
            if !exact && let Some(t) = terminating(ma, mb, a.s, b.s, negative) {
                return Ok(t);
            }
            (q, scale)
        }
    };
    // A quotient with more integer digits than fit below 10^28 may come
    // back at a negative scale: bring it to scale 0.
    let (q, scale) = if scale < 0 {
        let up = u32::try_from(-scale).map(pow10);
        debug_assert!(up.is_ok(), "quotient scale {scale}");
        let up = up.map_err(|_| Overflow)?;
        (q.checked_mul(up).ok_or(Overflow)?, 0)
    } else {
        (q, scale)
    };
    let m = I256::try_from(q).map_err(|_| Overflow)?;
    let scale = u32::try_from(scale);
    debug_assert!(scale.is_ok(), "a quotient brought to scale 0 or more");
    let x = Exact::new(if negative { -m } else { m }, scale.map_err(|_| Overflow)?)?;
    // Only a rounded-up last digit or an exact early stop can leave zeros.
    let last_digit_zero = match word(x.m()) {
        Some(v) => rem10(v.unsigned_abs()) == 0,
        None => x.m() % 10 == 0,
    };
    Ok(if last_digit_zero { x.normalize() } else { x })
}

/// `v mod 10` without a 128-bit division: 2^64 ≡ 6 (mod 10).
#[inline]
pub(super) fn rem10(v: u128) -> u64 {
    let (hi, lo) = ((v >> 64) as u64, v as u64);
    ((hi % 10) * 6 + lo % 10) % 10
}

/// The digit loop of [`quotient`] for 64-bit mantissas, in u128: the
/// remainder stays below 2^63 so 19 digits come per step, and the quotient
/// keeps at most 28 significant digits (below 2^94). Returns the rounded
/// magnitude, its scale (`generated + sa − sb`, possibly negative) and
/// whether it is the exact quotient.
pub(super) fn quotient_small(ma: u64, mb: u64, sa: u32, sb: u32) -> (u128, i64, bool) {
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
        debug_assert!(k <= 19, "at most 19 digits per step");
        let mut p = POW10_U128.get(k as usize).copied().unwrap_or(1);
        // rem < mb < 2^63 and p ≤ 10^19: t < 2^127.
        let t = u128::from(rem) * p;
        // A 64-bit division when t allows (a small divisor, few digits).
        let (mut d, r) = match u64::try_from(t) {
            Ok(t) => (u128::from(t / mb), t % mb),
            Err(_) => {
                let d = t / mb128;
                // r < mb, so it fits 64 bits.
                let r = u64::try_from(t - d * mb128);
                debug_assert!(r.is_ok(), "a remainder below the 64-bit divisor");
                (d, r.unwrap_or(0))
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
pub(super) fn quotient_wide(ma: U256, mb: U256, sa: u32, sb: u32) -> Option<(U256, i64, bool)> {
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
fn terminating(ma: U256, mb: U256, sa: u32, sb: u32, negative: bool) -> Option<Exact> {
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
    let x = Exact::new(if negative { -m } else { m }, u32::try_from(scale).ok()?).ok()?;
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

/// `a / b` rounded half away from zero at `dp` places, once: the 28-digit
/// quotient is only the estimate (rounding it again at `dp` could cross a
/// tie, e.g. 0.00499…96 → 0.005 → 0.01), corrected with exact products.
///
/// # Errors
/// As [`quotient`], and when a product leaves the range.
pub(crate) fn quotient_rounded(a: Exact, b: Exact, dp: u32) -> Result<Exact, Overflow> {
    // A zero divisor gives 0, as `quotient` does (and the loops below
    // would not end).
    if b.is_zero() || a.is_zero() {
        return Ok(Exact::ZERO);
    }
    let negative = a.is_negative() != b.is_negative();
    let abs = |x: Exact| if x.is_negative() { -x } else { x };
    let (a, b) = (abs(a), abs(b));
    let step = div_pow10(Exact::ONE, dp)?;
    let half = div_pow10(Exact::from(5u32), dp + 1)?;
    let mut q = round_half_away(quotient(a, b)?, dp);
    // On magnitudes half away is half up: q is right when
    // q − half ≤ a/b < q + half.
    while q > Exact::ZERO && mul(sub(q, half)?, b)? > a {
        q = sub(q, step)?;
    }
    while mul(add(q, half)?, b)? <= a {
        q = add(q, step)?;
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
