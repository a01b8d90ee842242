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
use crate::exact::Figure;
use crate::exact::POW10_U128;

/// The largest scale of an amount the kernel takes: its taxes' exact
/// amounts (`+` a rate's places `+ 2`) and the true-up's figures (`+ 4`)
/// stay well inside 56 places.
const MAX_SCALE: u32 = 28;
/// The most places of a tax rate the kernel takes (see [`MAX_SCALE`]).
const MAX_RATE_SCALE: u32 = 24;

const WHAT: &str = "explore kernel";

/// `10^k` as i128, for `k ≤ 38`.
fn pow10(k: u32) -> Option<i128> {
    POW10_U128
        .get(k as usize)
        .and_then(|p| i128::try_from(*p).ok())
}

/// A price taken as the unit amount itself: at most 28 digits, in range.
fn price_ok(p: Exact, safe_unit: i128) -> bool {
    p.as_quotient().is_some() && p.floor().to_i128().is_some_and(|f| f < safe_unit)
}

/// `x × 10^scale` as an integer, when exact and within i128.
fn int_at(x: Exact, scale: u32) -> Option<i128> {
    let (m, s) = x.to_i128_parts()?;
    m.checked_mul(pow10(scale.checked_sub(s)?)?)
}

/// What `rate` bills for a fee of `n` counted cents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CentsCost {
    min: i128,
    /// The rates' sum over 100 as `r / per` (`per = 10^(places + 2)`).
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
            sum = sum.plus(t.rate).figure(WHAT).ok()?;
        }
        let places = sum.scale();
        let min = money.min().max(0);
        // A minimum whose fee would be safe keeps its true-up's figures
        // (and their taxes) in range too.
        let sub = Exact::from(money.counted_subunit());
        let min_amount = Exact::try_from(min).ok()?.over(sub).figure(WHAT).ok()?;
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
        let t = x
            .checked_mul(self.r)?
            .checked_mul(2)?
            .checked_add(self.per)?
            / (2 * self.per);
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

/// How a segment's unit amount is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Units {
    /// A quotient `A/u`, bounded by its first point and its slope.
    Quotient,
    /// A price in range: nothing to check.
    Price,
}

/// An affine segment's amount before the grid is known: `A(u)·10^S0 =
/// c0 + u·r·10^(S0 − places)` with `r` the rate as an integer of `places`
/// places (its own, plus 2 for a rate in percent). Worked out once per
/// explorer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PreLine {
    c0: i128,
    s0: u32,
    rate: i128,
    places: u32,
    units: Units,
    /// Whether the quotient's bound holds from the segment's start on
    /// (then no run of it needs its first point checked).
    units_from_start: bool,
    /// ...or from 1 unit on (then no run on a step of at least 1 does).
    units_from_one: bool,
    /// `A·10^0` below this is safe (the amount, or for a rate in percent
    /// the product taken before the division by 100).
    safe: i128,
    safe_unit: i128,
    /// The most places the kernel takes (its own and the fees').
    max_scale: u32,
    sub: i128,
}

impl PreLine {
    /// The pre-line of an affine segment of a charge the kernel prices;
    /// `start` is the segment's start with the amount's limit there.
    pub(crate) fn of(a: &Affine, start: (Exact, Exact), money: &Money<'_>) -> Option<Self> {
        if money.has_pricing_unit() || a.rate.is_negative() || a.base.is_negative() {
            return None;
        }
        let pct = match a.line {
            Kind::Mul => 0,
            Kind::Percent => 2,
        };
        let (rs, os, bs) = (a.rate.scale(), a.origin.scale(), a.base.scale());
        let max_scale = money.safe_scale()?.min(MAX_SCALE);
        let s0 = bs.max(os + rs + pct);
        if s0 > max_scale {
            return None;
        }
        let rate = int_at(a.rate, rs)?;
        let origin = int_at(a.origin, os)?
            .checked_mul(rate)?
            .checked_mul(pow10(s0 - os - rs - pct)?)?;
        let (safe_unit, safe_amount) = money.safe_ints();
        // Unit amounts: `rate·10^-(rs+pct)` for the slope.
        let slope_ok = rate <= safe_unit.saturating_mul(pow10(rs + pct)?);
        let units = match a.unit {
            Unit::Quotient => slope_ok.then_some(Units::Quotient),
            Unit::Price(p) => price_ok(p, safe_unit).then_some(Units::Price),
            Unit::Volume { price, flat } if flat.is_zero() => {
                price_ok(price, safe_unit).then_some(Units::Price)
            }
            Unit::Volume { .. } => slope_ok.then_some(Units::Quotient),
            Unit::Paid(_) => None,
        }?;
        // `A(u)/u` moves monotonically toward the slope: from a start
        // above 0 its first value there bounds it with the slope.
        let (lo, at_lo) = start;
        let units_from_start = !lo.is_zero() && money.unit_is_safe(at_lo, lo);
        let c0 = int_at(a.base, s0)?.checked_sub(origin)?;
        // A(1)·10^S0 = c0 + r·10^(S0 − places), against the bound at S0.
        let at_one = rate
            .checked_mul(pow10(s0 - rs - pct)?)
            .and_then(|r| r.checked_add(c0));
        let units_from_one =
            at_one.is_some_and(|x| x <= safe_unit.saturating_mul(pow10(s0).unwrap_or(i128::MAX)));
        Some(Self {
            c0,
            s0,
            rate,
            places: rs + pct,
            units,
            units_from_start,
            units_from_one,
            // A rate in percent is multiplied before it is divided by 100:
            // that product, not only the amount, must stay in range.
            safe: if pct > 0 {
                safe_amount / 100
            } else {
                safe_amount
            },
            safe_unit,
            max_scale,
            sub: i128::from(money.counted_subunit()),
        })
    }

    /// The line on the grid of `step` (`step_m × 10^-step_s`, `whole`
    /// when at least 1) for the run of indices from `lo`; `None` where the
    /// kernel cannot vouch for `rate` there (then the search prices each
    /// point).
    pub(crate) fn line(
        &self,
        (step_m, step_s): (u128, u32),
        whole: bool,
        lo: U256,
    ) -> Option<Line> {
        let scale = self.s0.max(step_s + self.places);
        if scale > self.max_scale {
            return None;
        }
        let pow = pow10(scale)?;
        let c0 = match scale - self.s0 {
            0 => self.c0,
            up => self.c0.checked_mul(pow10(up)?)?,
        };
        // All non-negative: unsigned products.
        let c1 = step_m
            .checked_mul(self.rate.unsigned_abs())?
            .checked_mul(pow10(scale - step_s - self.places)?.unsigned_abs())?;
        let twice = 2 * self.sub;
        let line = Line {
            d0: c0.checked_mul(twice)?.checked_add(pow)?,
            d1: c1.checked_mul(twice.unsigned_abs())?,
            pow,
            // The safe bound at S places (a bound past i128 is past every
            // amount here).
            limit: self
                .safe
                .saturating_mul(pow)
                .saturating_mul(twice)
                .saturating_add(pow),
            twice,
        };
        let units_ok = match self.units {
            Units::Price => true,
            Units::Quotient => {
                self.units_from_start
                    || (whole && self.units_from_one)
                    || line.first_unit_ok((step_m, step_s), lo, self.safe_unit)
            }
        };
        units_ok.then_some(line)
    }
}

/// An affine segment's amounts on the grid points of one run, as integers
/// ready for rounding: `t(k) = 2·sub·A(k)·10^S + 10^S = d0 + k·d1`, so
/// that the counted cents are `⌊t(k) / (2·10^S)⌋`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    d0: i128,
    d1: u128,
    /// `10^S`.
    pow: i128,
    /// `t(k)` below this is safe.
    limit: i128,
    /// `2·sub`.
    twice: i128,
}

impl Line {
    /// Whether the unit amount `A(k)/u(k)` at the run's first point is in
    /// range: from there it moves monotonically toward the slope, so those
    /// two bound it. `A(lo)·10^S × 10^step_s ≤ lo·step_m × safe_unit × 10^S`,
    /// doubled with the sub-units as `t` is.
    fn first_unit_ok(&self, (step_m, step_s): (u128, u32), lo: U256, safe_unit: i128) -> bool {
        let check = || -> Option<bool> {
            let amount = self
                .t(lo)?
                .checked_sub(self.pow)?
                .checked_mul(pow10(step_s)?)?;
            let units = i128::try_from(u128::try_from(lo).ok()?.checked_mul(step_m)?).ok()?;
            let bound = units
                .checked_mul(safe_unit)?
                .checked_mul(self.pow)?
                .checked_mul(self.twice)?;
            Some(units > 0 && amount <= bound)
        };
        check().unwrap_or(false)
    }

    /// `t(k)`, when within i128.
    #[inline]
    fn t(&self, k: U256) -> Option<i128> {
        let k = u128::try_from(k).ok()?;
        // A product of two 64-bit halves needs no overflow check.
        let p = match (u64::try_from(k), u64::try_from(self.d1)) {
            (Ok(k), Ok(d)) => u128::from(k) * u128::from(d),
            _ => k.checked_mul(self.d1)?,
        };
        i128::try_from(p).ok()?.checked_add(self.d0)
    }

    /// The counted cents at `k`, where the kernel vouches for them.
    pub(crate) fn cents(&self, k: U256) -> Option<i128> {
        let t = self.t(k)?;
        // A(k) ≥ 0 and below the safe bound.
        if !(self.pow..self.limit).contains(&t) {
            return None;
        }
        // Both non-negative: an unsigned division, a hardware one when the
        // dividend fits 64 bits.
        let (n, d) = (t.unsigned_abs(), (2 * self.pow).unsigned_abs());
        let q = match (u64::try_from(n), u64::try_from(d)) {
            (Ok(n), Ok(d)) => u128::from(n / d),
            _ => n / d,
        };
        i128::try_from(q).ok()
    }

    /// The last index `k ≥ 0` whose counted cents are at most `c`: `t(k) <
    /// (2c + 2)·10^S`, so `k·d1 < (2c + 2)·10^S − d0`. `Some(None)` when
    /// there is none, `None` where the integers leave i128 (or the line is
    /// flat).
    pub(crate) fn last_within(&self, c: i128) -> Option<Option<U256>> {
        let x = c
            .checked_add(1)?
            .checked_mul(2)?
            .checked_mul(self.pow)?
            .checked_sub(self.d0)?;
        if self.d1 == 0 {
            return None;
        }
        if x <= 0 {
            return Some(None);
        }
        // k·d1 < x  ⟺  k ≤ ⌈x/d1⌉ − 1 = ⌊(x − 1)/d1⌋.
        Some(Some(U256::from((x - 1).unsigned_abs() / self.d1)))
    }
}
