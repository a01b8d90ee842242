//! Exact decimal arithmetic on top of `rust_decimal`.
//!
//! `rust_decimal` silently rounds a product or a sum whose exact value needs
//! more than 28 fractional digits or a mantissa of more than 96 bits. A billing
//! engine must not do that behind the caller's back, so every money operation
//! goes through this module: [`mul`], [`add`] and [`sub`] return the exact
//! result or an [`ArithmeticError`]; [`quotient`] is the one operation allowed
//! to round (a non-terminating quotient such as 10/3 carries 28 significant
//! digits, decisions.md M3).

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::ArithmeticError;

/// Largest mantissa `rust_decimal` can hold: 2^96 − 1.
const MAX_MANTISSA: u128 = (1u128 << 96) - 1;
/// Largest scale `rust_decimal` can hold.
const MAX_SCALE: u32 = 28;

/// A mantissa and scale as `rust_decimal` stores them, made unsigned.
#[inline]
fn parts(d: Decimal) -> (bool, u128, u32) {
    (d.is_sign_negative(), d.mantissa().unsigned_abs(), d.scale())
}

/// Builds a decimal from an exact unsigned mantissa and scale, dropping only
/// trailing zeros to make it fit. Fails when a non-zero digit would be lost.
#[inline]
fn build(
    neg: bool,
    mut m: u128,
    mut scale: u32,
    what: &'static str,
) -> Result<Decimal, ArithmeticError> {
    while m > MAX_MANTISSA || scale > MAX_SCALE {
        if scale == 0 || m % 10 != 0 {
            return Err(ArithmeticError::new(what));
        }
        m /= 10;
        scale -= 1;
    }
    // `m` fits in 96 bits, so the cast and the constructor cannot fail.
    let signed = if neg { -(m as i128) } else { m as i128 };
    Decimal::try_from_i128_with_scale(signed, scale).map_err(|_| ArithmeticError::new(what))
}

/// A 256-bit unsigned product of two 96-bit mantissas, as four 64-bit limbs
/// (least significant first).
fn wide_mul(a: u128, b: u128) -> [u64; 4] {
    let a_lo = a as u64 as u128;
    let a_hi = a >> 64;
    let b_lo = b as u64 as u128;
    let b_hi = b >> 64;
    // Each partial product of 64-bit halves fits in u128.
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mut limbs = [0u64; 4];
    limbs[0] = ll as u64;
    let mid = (ll >> 64) + (lh as u64 as u128) + (hl as u64 as u128);
    limbs[1] = mid as u64;
    let upper = (mid >> 64) + (lh >> 64) + (hl >> 64) + (hh as u64 as u128);
    limbs[2] = upper as u64;
    limbs[3] = ((upper >> 64) + (hh >> 64)) as u64;
    limbs
}

/// Divides a 256-bit number by 10 in place, returning the remainder.
fn wide_div10(limbs: &mut [u64; 4]) -> u64 {
    let mut rem: u128 = 0;
    for limb in limbs.iter_mut().rev() {
        let cur = (rem << 64) | (*limb as u128);
        *limb = (cur / 10) as u64;
        rem = cur % 10;
    }
    rem as u64
}

/// `a × b`, exactly.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the exact product needs more than
/// 28 fractional digits or more than 96 bits of mantissa.
#[inline]
pub(crate) fn mul(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, ArithmeticError> {
    let (na, ma, sa) = parts(a);
    let (nb, mb, sb) = parts(b);
    let neg = na != nb;
    if ma == 0 || mb == 0 {
        return Ok(Decimal::ZERO);
    }
    let scale = sa + sb;
    if let Some(m) = ma.checked_mul(mb) {
        return build(neg, m, scale, what);
    }
    // The product is above 2^128: reduce it in 256 bits, dropping only zeros.
    let mut limbs = wide_mul(ma, mb);
    let mut scale = scale;
    while limbs[2] != 0 || limbs[3] != 0 {
        if scale == 0 {
            return Err(ArithmeticError::new(what));
        }
        let mut probe = limbs;
        if wide_div10(&mut probe) != 0 {
            return Err(ArithmeticError::new(what));
        }
        limbs = probe;
        scale -= 1;
    }
    let m = ((limbs[1] as u128) << 64) | limbs[0] as u128;
    build(neg, m, scale, what)
}

/// Scales a mantissa up by `10^k`, or `None` when it leaves u128.
#[inline]
fn rescale_up(m: u128, k: u32) -> Option<u128> {
    10u128.checked_pow(k).and_then(|p| m.checked_mul(p))
}

/// `a + b`, exactly.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the exact sum does not fit.
#[inline]
pub(crate) fn add(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, ArithmeticError> {
    let (na, ma, sa) = parts(a);
    let (nb, mb, sb) = parts(b);
    if ma == 0 {
        return Ok(b);
    }
    if mb == 0 {
        return Ok(a);
    }
    let scale = sa.max(sb);
    let (ma, mb) = match (rescale_up(ma, scale - sa), rescale_up(mb, scale - sb)) {
        (Some(x), Some(y)) => (x, y),
        // Aligning overflowed: retry once on the normalized operands, whose
        // scales are the least the exact sum can need.
        _ => {
            let (an, bn) = (a.normalize(), b.normalize());
            if an.scale() == sa && bn.scale() == sb {
                return Err(ArithmeticError::new(what));
            }
            return add(an, bn, what);
        }
    };
    let (neg, m) = if na == nb {
        match ma.checked_add(mb) {
            Some(m) => (na, m),
            None => return Err(ArithmeticError::new(what)),
        }
    } else if ma >= mb {
        (na, ma - mb)
    } else {
        (nb, mb - ma)
    };
    if m == 0 {
        return Ok(Decimal::ZERO);
    }
    build(neg, m, scale, what)
}

/// `a − b`, exactly.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the exact difference does not fit.
#[inline]
pub(crate) fn sub(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, ArithmeticError> {
    add(a, -b, what)
}

/// Sums exactly.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when a partial sum does not fit.
pub(crate) fn sum<I: IntoIterator<Item = Decimal>>(
    items: I,
    what: &'static str,
) -> Result<Decimal, ArithmeticError> {
    items
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, x| add(acc, x, what))
}

/// `a / b` for a quotient (a unit amount, a ratio): exact when the quotient
/// terminates within 28 significant digits, otherwise rounded half away from
/// zero by `rust_decimal` to the precision it can hold. `b = 0` gives 0, the
/// value Lago uses for a unit amount over zero units.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the quotient is beyond the range.
#[inline]
pub(crate) fn quotient(
    a: Decimal,
    b: Decimal,
    what: &'static str,
) -> Result<Decimal, ArithmeticError> {
    if b.is_zero() || a.is_zero() {
        return Ok(Decimal::ZERO);
    }
    a.checked_div(b)
        .map(|q| q.normalize())
        .ok_or(ArithmeticError::new(what))
}

/// `a × b / c` with the product taken exactly first (multiply before
/// dividing, decisions.md M3); `c = 0` gives 0.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the product or the quotient does
/// not fit.
pub(crate) fn mul_div(
    a: Decimal,
    b: Decimal,
    c: Decimal,
    what: &'static str,
) -> Result<Decimal, ArithmeticError> {
    quotient(mul(a, b, what)?, c, what)
}

/// Divides exactly by `10^k` (a percentage, a minor-unit scale): only the
/// scale changes, so nothing is lost unless the scale leaves 28 digits.
///
/// # Errors
/// [`ArithmeticError`] naming `what` when the result needs more than 28
/// fractional digits.
#[inline]
pub(crate) fn div_pow10(
    a: Decimal,
    k: u32,
    what: &'static str,
) -> Result<Decimal, ArithmeticError> {
    let (neg, m, s) = parts(a);
    if m == 0 {
        return Ok(Decimal::ZERO);
    }
    build(neg, m, s + k, what)
}

/// Rounds half away from zero to `dp` fractional digits (Lago's `round`).
#[inline]
pub(crate) fn round_half_away(a: Decimal, dp: u32) -> Decimal {
    a.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn mul_exact_and_small() {
        // 5.12345 × 10 = 51.2345
        assert_eq!(mul(d("5.12345"), d("10"), "t").unwrap(), d("51.2345"));
        assert_eq!(mul(d("-2"), d("0.5"), "t").unwrap(), d("-1"));
        assert_eq!(mul(d("0"), d("-5"), "t").unwrap(), Decimal::ZERO);
    }

    #[test]
    fn mul_rejects_lost_digits() {
        // 1e-15 × 1e-15 = 1e-30 needs 30 fractional digits.
        assert!(mul(d("0.000000000000001"), d("0.000000000000001"), "t").is_err());
        // 1e20 × 1e10 = 1e30 is beyond 2^96.
        assert!(mul(d("100000000000000000000"), d("10000000000"), "t").is_err());
    }

    #[test]
    fn mul_keeps_exact_results_past_u128() {
        // (2^96−1) × 1.0000000000000000000000000000 = 2^96−1: the 256-bit
        // product has only trailing zeros to drop.
        let max = Decimal::MAX;
        let one = d("1.0000000000000000000000000000");
        assert_eq!(mul(max, one, "t").unwrap(), max);
        // 0.2 × 0.5 with scales that overflow 28 only through zeros.
        let a = d("0.2000000000000000000000000000");
        let b = d("0.5000000000000000000000000000");
        assert_eq!(mul(a, b, "t").unwrap(), d("0.1"));
    }

    #[test]
    fn add_exact_and_rejects() {
        assert_eq!(add(d("0.15"), d("0.25"), "t").unwrap(), d("0.4"));
        assert_eq!(sub(d("1"), d("1.5"), "t").unwrap(), d("-0.5"));
        // 1e28 + 1e-28 needs 57 digits.
        assert!(
            add(
                d("10000000000000000000000000000"),
                d("0.0000000000000000000000000001"),
                "t"
            )
            .is_err()
        );
        // Trailing zeros do not count: 1e28 + 0.0000000000000000000000000000 = 1e28.
        assert_eq!(
            add(
                d("10000000000000000000000000000"),
                d("0.0000000000000000000000000000"),
                "t"
            )
            .unwrap(),
            d("10000000000000000000000000000")
        );
        assert!(add(Decimal::MAX, Decimal::ONE, "t").is_err());
    }

    #[test]
    fn quotient_rounds_only_non_terminating() {
        assert_eq!(quotient(d("2.04"), d("2"), "t").unwrap(), d("1.02"));
        assert_eq!(
            quotient(d("1"), d("3"), "t").unwrap(),
            d("0.3333333333333333333333333333")
        );
        assert_eq!(quotient(d("1"), d("0"), "t").unwrap(), Decimal::ZERO);
    }

    #[test]
    fn div_pow10_is_exact() {
        assert_eq!(div_pow10(d("130"), 2, "t").unwrap(), d("1.3"));
        assert!(div_pow10(d("0.00000000000000000000000001"), 3, "t").is_err());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_away(d("0.125"), 2), d("0.13"));
        assert_eq!(round_half_away(d("-0.125"), 2), d("-0.13"));
        assert_eq!(round_half_away(d("2.5"), 0), d("3"));
    }
}
