//! The budget search's fast path (a performance trick, kept here): on an
//! affine segment of a charge without a pricing unit, the cost `rate`
//! bills at grid index `k` worked out in 128-bit integers, and the last
//! index within a budget in closed form.
//!
//! Along such a segment the amount is `A(k) = (c0 + k·c1) / 10^S` exactly
//! (the model's `base + (k·s − origin) × rate`, over 100 for a rate in
//! percent), so its counted cents are `n(k) = ⌊(2·sub·(c0 + k·c1) + 10^S)
//! / (2·10^S)⌋` (half away from zero, `A ≥ 0`). What `rate` bills for `n`
//! cents is `max(n, M)` without taxes and, with them, each fee's cents plus
//! its taxes rounded once on their exact sum: `T(n) + T(M − n)` below the
//! minimum `M`, with `T(x) = x + round(x·R/100)` and `R` the rates' sum.
//!
//! The kernel answers only where `rate` cannot fail: amounts below the
//! explorer's safe bound, unit amounts below its safe unit bound, scales
//! far from the 56 places an `Exact` holds. Anywhere else it answers
//! `None` and the search prices the point with `rate`'s own functions; a
//! test holds the two to the same costs.

use ethnum::U256;

use super::cost::Money;
use super::shape::{Affine, Line as Kind, Unit};
use crate::Exact;
use crate::exact;

/// The largest scale of an amount the kernel takes: its taxes' exact
/// amounts (`+` a rate's places `+ 2`) and the true-up's figures (`+ 4`)
/// stay well inside 56 places.
const MAX_SCALE: u32 = 28;
/// The most places of a tax rate the kernel takes (see [`MAX_SCALE`]).
const MAX_RATE_SCALE: u32 = 24;

const WHAT: &str = "explore kernel";

/// `10^k` as i128, for `k ≤ 38`.
fn pow10(k: u32) -> Option<i128> {
    10i128.checked_pow(k)
}

/// A price taken as the unit amount itself: at most 28 digits, in range.
fn price_ok(p: Exact, safe_unit: i128) -> bool {
    p.as_quotient().is_some() && p.floor().to_i128().is_some_and(|f| f < safe_unit)
}

/// `x × 10^scale` as an integer, when exact and within i128.
fn int_at(x: Exact, scale: u32) -> Option<i128> {
    let m = i128::try_from(x.scaled_magnitude(scale)?).ok()?;
    Some(if x.is_negative() { -m } else { m })
}

/// What `rate` bills for a fee of `n` counted cents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CentsCost {
    min: i128,
    /// The rates' sum as `r / 10^places`, with `half_unit = 10^(places+2)`.
    r: i128,
    per: i128,
}

impl CentsCost {
    /// For a charge without a pricing unit whose figures keep the kernel
    /// exact (non-negative rates of at most 24 places, a minimum whose own
    /// fee would be safe).
    pub(crate) fn of(money: &Money<'_>) -> Option<Self> {
        if money.has_pricing_unit() {
            return None;
        }
        let mut sum = Exact::ZERO;
        for t in money.taxes() {
            if t.rate.is_negative() || t.rate.scale() > MAX_RATE_SCALE {
                return None;
            }
            sum = exact::add(sum, t.rate, WHAT).ok()?;
        }
        let places = sum.scale();
        let min = money.min().max(0);
        // A minimum whose fee would be safe keeps its true-up's figures
        // (and their taxes) in range too.
        let sub = Exact::from(money.counted_subunit());
        let min_amount = exact::quotient(Exact::try_from(min).ok()?, sub, WHAT).ok()?;
        if min > 0 && !money.amount_is_safe(min_amount) {
            return None;
        }
        Some(Self {
            min,
            r: int_at(sum, places)?,
            per: pow10(places + 2)?,
        })
    }

    /// `x` cents with their taxes (one rounding of the exact sum).
    fn with_taxes(&self, x: i128) -> Option<i128> {
        if self.r == 0 {
            return Some(x);
        }
        let t = x.checked_mul(self.r)?.checked_mul(2)?.checked_add(self.per)? / (2 * self.per);
        x.checked_add(t)
    }

    /// The cost of a fee of `n ≥ 0` counted cents, with the true-up (and
    /// the taxes of both when `taxes`).
    pub(crate) fn cost(&self, n: i128, taxes: bool) -> Option<i128> {
        let up = (self.min - n).max(0);
        if !taxes {
            return n.checked_add(up);
        }
        let fee = self.with_taxes(n)?;
        if up == 0 {
            return Some(fee);
        }
        fee.checked_add(self.with_taxes(up)?)
    }
}

/// An affine segment's amounts on the grid points of one run, as integers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    c0: i128,
    c1: i128,
    /// `10^S`.
    pow: i128,
    /// Counted cents per main unit.
    sub: i128,
    /// `A(k)·10^S` below this is safe.
    safe: i128,
}

impl Line {
    /// The line of an affine segment on the grid of `step` (`step_m ×
    /// 10^-step_s`), for the run of indices `[lo, ∞)`; `None` where the
    /// kernel cannot vouch for `rate` (then the search prices each point).
    pub(crate) fn of(a: &Affine, step: (u128, u32), lo: U256, money: &Money<'_>) -> Option<Self> {
        if money.has_pricing_unit() || a.rate.is_negative() || a.base.is_negative() {
            return None;
        }
        let (step_m, step_s) = step;
        let pct = match a.line {
            Kind::Mul => 0,
            Kind::Percent => 2,
        };
        let (rs, os, bs) = (a.rate.scale(), a.origin.scale(), a.base.scale());
        let scale = bs.max(step_s + rs + pct).max(os + rs + pct);
        if scale > MAX_SCALE || money.safe_scale().is_none_or(|s| scale > s) {
            return None;
        }
        let rate = int_at(a.rate, rs)?;
        let c1 = i128::try_from(step_m)
            .ok()?
            .checked_mul(rate)?
            .checked_mul(pow10(scale - step_s - rs - pct)?)?;
        let origin = int_at(a.origin, os)?
            .checked_mul(rate)?
            .checked_mul(pow10(scale - os - rs - pct)?)?;
        let pow = pow10(scale)?;
        let (safe_unit, safe_amount) = money.safe_ints();
        // A rate in percent is multiplied before it is divided by 100:
        // that product, not only the amount, must stay in range.
        let safe_amount = if pct > 0 { safe_amount / 100 } else { safe_amount };
        let line = Self {
            c0: int_at(a.base, scale)?.checked_sub(origin)?,
            c1,
            pow,
            sub: i128::from(money.counted_subunit()),
            // The safe bound at S places (a bound past i128 is past every
            // amount here).
            safe: safe_amount.saturating_mul(pow),
        };
        // Unit amounts: `rate·10^-(rs+pct)` for the slope.
        let slope_ok = rate <= safe_unit.saturating_mul(pow10(rs + pct)?);
        let units_ok = match a.unit {
            Unit::Quotient => slope_ok && line.first_unit_ok(step, lo, safe_unit),
            Unit::Price(p) => price_ok(p, safe_unit),
            Unit::Volume { price, flat } if flat.is_zero() => price_ok(price, safe_unit),
            Unit::Volume { .. } => slope_ok && line.first_unit_ok(step, lo, safe_unit),
            Unit::Paid(_) => false,
        };
        units_ok.then_some(line)
    }

    /// Whether the unit amount `A(k)/u(k)` at the run's first point is in
    /// range: from there it moves monotonically toward the slope, so those
    /// two bound it. `A(lo)·10^S × 10^step_s ≤ lo·step_m × safe_unit × 10^S`.
    fn first_unit_ok(&self, (step_m, step_s): (u128, u32), lo: U256, safe_unit: i128) -> bool {
        let check = || -> Option<bool> {
            let amount = self.scaled(lo)?.checked_mul(pow10(step_s)?)?;
            let units = i128::try_from(u128::try_from(lo).ok()?.checked_mul(step_m)?).ok()?;
            let bound = units.checked_mul(safe_unit)?.checked_mul(self.pow)?;
            Some(units > 0 && amount <= bound)
        };
        check().unwrap_or(false)
    }

    /// `A(k)·10^S`, when within i128.
    fn scaled(&self, k: U256) -> Option<i128> {
        let k = i128::try_from(u128::try_from(k).ok()?).ok()?;
        k.checked_mul(self.c1)?.checked_add(self.c0)
    }

    /// The counted cents at `k`, where the kernel vouches for them.
    pub(crate) fn cents(&self, k: U256) -> Option<i128> {
        let a = self.scaled(k)?;
        if !(0..self.safe).contains(&a) {
            return None;
        }
        let twice = a.checked_mul(2 * self.sub)?.checked_add(self.pow)?;
        Some(twice / (2 * self.pow))
    }

    /// The last index `k ≥ 0` whose counted cents are at most `c`: `2·sub·
    /// (c0 + k·c1) < (2c + 1)·10^S`. `Some(None)` when there is none,
    /// `None` where the integers leave i128 (or the line is flat).
    pub(crate) fn last_within(&self, c: i128) -> Option<Option<U256>> {
        let x = c
            .checked_mul(2)?
            .checked_add(1)?
            .checked_mul(self.pow)?
            .checked_sub(self.c0.checked_mul(2 * self.sub)?)?;
        let y = self.c1.checked_mul(2 * self.sub)?;
        if y <= 0 {
            return None;
        }
        if x <= 0 {
            return Some(None);
        }
        // k·y < x  ⟺  k ≤ ⌈x/y⌉ − 1 = ⌊(x − 1)/y⌋.
        Some(Some(U256::from(((x - 1) / y).unsigned_abs())))
    }
}
