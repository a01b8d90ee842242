//! Prorated `graduated` (semantics.md §2.9, exact coefficients per M12):
//! each event's prorated quantity is priced at the tier its full quantity
//! lands in, following Lago's own state machine (its tier selection is
//! defined by it); flat fees follow the peak full quantity.

use super::{Graduated, ModelOutcome, TierPrice};
use crate::details::AmountDetails;
use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure, Overflow};
use crate::tiers::Tier;
use crate::usage::Usage;

impl Graduated {
    /// Prorated graduated: the amount of the events' prorated quantities,
    /// per unit of their full quantities.
    pub(crate) fn apply_prorated(&self, usage: &Usage) -> Result<ModelOutcome, ArithmeticError> {
        let amount =
            prorated_amount(self.ranges.as_slice(), usage).figure("prorated graduated amount")?;
        let full_sum = Exact::try_sum(usage.event_values.iter().copied())
            .figure("prorated graduated units")?;
        let unit_amount = amount
            .over(full_sum)
            .figure("prorated graduated unit_amount")?;
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Empty,
        })
    }
}

/// The tier the next quantity falls in (Lago's `tier` helper, by index).
fn tier_index(
    ranges: &[Tier<TierPrice>],
    full: Exact,
    overflow: Exact,
    next: Option<Exact>,
) -> Result<usize, Overflow> {
    if full <= Exact::ZERO {
        return Ok(0);
    }
    let u = if overflow.is_zero() {
        full
    } else if overflow > Exact::ZERO {
        full.minus(overflow)?.plus(Exact::ONE)?
    } else {
        full.plus(overflow)?
    };
    for (i, r) in ranges.iter().enumerate() {
        if Some(u) == r.to_value {
            return Ok(
                if next.is_some_and(|n| n > Exact::ZERO) && i + 1 < ranges.len() {
                    i + 1
                } else {
                    i
                },
            );
        }
        if u >= r.from_value && r.to_value.is_none_or(|to| u < to) {
            return Ok(i);
        }
    }
    Ok(0)
}

/// How the prorated share `x × P_j / F_j` of an event is taken (M12).
enum Shares {
    /// Every prorated quantity is scaled by `c = L / 10^S`, where `L` is the
    /// least common multiple of the full values written as integers at
    /// their common scale `S`: each share `x × P_j × (L / F_j')` is then an
    /// exact product, and the one division happens at the end.
    Scaled { c: Exact, factors: Vec<Exact> },
    /// A rounded quotient per share, when that multiple is too large.
    Quotient,
}

impl Shares {
    /// The exact strategy when the full values allow it.
    fn scaled(full: &[Exact]) -> Option<Self> {
        let scale = full.iter().map(|f| f.scale()).max().unwrap_or(0);
        let ints: Vec<u128> = full
            .iter()
            .map(|f| f.scaled_magnitude(scale))
            .collect::<Option<_>>()?;
        let gcd = |mut a: u128, mut b: u128| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let mut lcm: u128 = 1;
        for &v in ints.iter().filter(|v| **v != 0) {
            lcm = (lcm / gcd(lcm, v)).checked_mul(v)?;
            // Beyond 2^64 the scaled sums would soon leave the range.
            if lcm > u128::from(u64::MAX) {
                return None;
            }
        }
        let lcm_i = i128::try_from(lcm).ok()?;
        let c = Exact::try_from(lcm_i).ok()?.div_pow10(scale).ok()?;
        let factors = full
            .iter()
            .zip(&ints)
            .map(|(f, v)| {
                if *v == 0 {
                    return Some(Exact::ZERO);
                }
                let k = Exact::try_from(i128::try_from(lcm / v).ok()?).ok()?;
                Some(if f.is_negative() { -k } else { k })
            })
            .collect::<Option<_>>()?;
        Some(Self::Scaled { c, factors })
    }

    /// `x × P_j / F_j`, scaled by `c` in the exact strategy.
    fn share(&self, x: Exact, usage: &Usage, j: usize) -> Result<Exact, Overflow> {
        // Rating checks that both value lists have an entry per event.
        debug_assert!(
            j < usage.prorated_event_values.len() && j < usage.event_values.len(),
            "event {j} of a prorated bucket"
        );
        let p = usage
            .prorated_event_values
            .get(j)
            .copied()
            .unwrap_or(Exact::ZERO);
        match self {
            Self::Scaled { factors, .. } => {
                let k = factors.get(j).copied().unwrap_or(Exact::ZERO);
                x.times(p)?.times(k)
            }
            Self::Quotient => {
                let f = usage.event_values.get(j).copied().unwrap_or(Exact::ZERO);
                x.times_over(p, f)
            }
        }
    }

    /// A prorated quantity in the strategy's scale.
    fn scale_up(&self, p: Exact) -> Result<Exact, Overflow> {
        match self {
            Self::Scaled { c, .. } => p.times(*c),
            Self::Quotient => Ok(p),
        }
    }

    /// A result in the strategy's scale, back to currency units.
    fn scale_down(&self, x: Exact) -> Result<Exact, Overflow> {
        match self {
            Self::Scaled { c, .. } => x.over(*c),
            Self::Quotient => Ok(x),
        }
    }
}

fn prorated_amount(ranges: &[Tier<TierPrice>], usage: &Usage) -> Result<Exact, Overflow> {
    let first_flat = ranges.first().map_or(Exact::ZERO, |r| r.price.flat_amount);
    if usage.units.is_zero() {
        return Ok(first_flat);
    }
    // Exact when the full values have a manageable common multiple (M12);
    // otherwise, and if the scaled figures leave the range, per-share
    // quotients of 28 significant digits.
    if let Some(shares) = Shares::scaled(&usage.event_values)
        && let Ok(amount) = Run::new(ranges, usage, &shares).amount()
    {
        return Ok(amount);
    }
    Run::new(ranges, usage, &Shares::Quotient).amount()
}

/// Lago's prorated-graduated state machine (semantics.md §2.9): the events
/// in order, each adding its full quantity to the running `full` and its
/// prorated share to `psum`; a quantity that crosses a tier's end bills the
/// share at the tier's price and carries the rest (`overflow`) on.
struct Run<'a> {
    ranges: &'a [Tier<TierPrice>],
    usage: &'a Usage,
    shares: &'a Shares,
    /// The next event.
    idx: usize,
    /// What the last event carried past its tier.
    overflow: Exact,
    full: Exact,
    maxfull: Exact,
    psum: Exact,
    result: Exact,
    /// The tier the share is priced at.
    tier: usize,
}

impl<'a> Run<'a> {
    fn new(ranges: &'a [Tier<TierPrice>], usage: &'a Usage, shares: &'a Shares) -> Self {
        Self {
            ranges,
            usage,
            shares,
            idx: 0,
            overflow: Exact::ZERO,
            full: Exact::ZERO,
            maxfull: Exact::ZERO,
            psum: Exact::ZERO,
            result: Exact::ZERO,
            tier: 0,
        }
    }

    /// The amount: every event's share, then the flat fees of every tier
    /// the peak full quantity reached.
    fn amount(mut self) -> Result<Exact, Overflow> {
        let (p, f) = (&self.usage.prorated_event_values, &self.usage.event_values);
        let n = p.len().min(f.len());
        // Every overflow step moves to a later tier, so this bound is never
        // reached by a valid chain; it keeps any input from spinning forever.
        let mut budget = (n + 1)
            .saturating_mul(self.ranges.len() + 2)
            .saturating_add(16);
        while self.idx < n || !self.overflow.is_zero() {
            budget = budget.checked_sub(1).ok_or(Overflow)?;
            self.tier = tier_index(
                self.ranges,
                self.full,
                self.overflow,
                f.get(self.idx).copied(),
            )?;
            if !self.overflow.is_zero() && self.carry()? {
                continue;
            }
            let (Some(&pi), Some(&fi)) = (p.get(self.idx), f.get(self.idx)) else {
                break;
            };
            self.event(pi, fi)?;
        }
        self.bill()?;
        let result = self.shares.scale_down(self.result)?;
        if self.full < Exact::ZERO {
            return Ok(Exact::ZERO);
        }
        let mut amount = result.max(Exact::ZERO);
        for t in self.ranges {
            amount = amount.plus(t.price.flat_amount)?;
            if t.to_value.is_none_or(|to| self.maxfull <= to) {
                break;
            }
        }
        Ok(amount)
    }

    /// The current tier's bounds.
    fn bounds(&self) -> (Exact, Option<Exact>) {
        self.ranges
            .get(self.tier)
            .map_or((Exact::ZERO, None), |t| (t.from_value, t.to_value))
    }

    /// Bills the share so far at the current tier's price.
    fn bill(&mut self) -> Result<(), Overflow> {
        let price = self
            .ranges
            .get(self.tier)
            .map_or(Exact::ZERO, |t| t.price.per_unit_amount);
        self.result = self.result.plus(self.psum.times(price)?)?;
        self.psum = Exact::ZERO;
        Ok(())
    }

    /// Carries the last event's overflow into the current tier; whether it
    /// fills that tier too (and overflows again).
    fn carry(&mut self) -> Result<bool, Overflow> {
        let prev = self.idx.saturating_sub(1);
        let share = self.shares.share(self.overflow, self.usage, prev)?;
        self.psum = self.psum.plus(share)?;
        if let (_, Some(to)) = self.bounds()
            && self.full >= to
        {
            self.overflow = self.full.minus(to)?;
            let share = self.shares.share(self.overflow, self.usage, prev)?;
            self.psum = self.psum.minus(share)?;
            self.bill()?;
            return Ok(true);
        }
        self.overflow = Exact::ZERO;
        Ok(false)
    }

    /// Adds event `idx` (prorated `pi`, full `fi`); when its full quantity
    /// leaves the current tier, bills the share and keeps the overflow.
    fn event(&mut self, pi: Exact, fi: Exact) -> Result<(), Overflow> {
        self.idx += 1;
        if pi.is_zero() && fi > Exact::ZERO {
            return Ok(());
        }
        if pi.is_zero() && fi < Exact::ZERO && self.full.plus(fi)? < Exact::ZERO {
            return Ok(());
        }
        self.full = self.full.plus(fi)?;
        self.maxfull = self.maxfull.max(self.full);
        self.psum = self.psum.plus(self.shares.scale_up(pi)?)?;
        let (from_r, to_r) = self.bounds();
        let inside = match to_r {
            None => self.full >= from_r.minus(Exact::ONE)?,
            Some(to) => from_r <= self.full && self.full < to,
        };
        if inside {
            return Ok(());
        }
        self.overflow = match to_r {
            Some(to) if self.full >= to => self.full.minus(to)?,
            _ => self.full.minus(from_r)?.plus(Exact::ONE)?,
        };
        let share = self.shares.share(self.overflow, self.usage, self.idx - 1)?;
        self.psum = self.psum.minus(share)?;
        self.bill()
    }
}
