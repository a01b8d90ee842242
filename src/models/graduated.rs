//! `graduated`: each unit at the price of the tier it falls in.

use crate::exact::Exact;

use super::{ModelOutcome, TierPrice};
use crate::details::{AmountDetails, GraduatedLine};
use crate::error::{ArithmeticError, ValidationError};
use crate::exact;
use crate::tiers::{Tier, TierKind, Tiers};
use crate::usage::Usage;

/// Graduated tiers (semantics.md §2.2 with the one tier rule, M1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graduated {
    pub(crate) ranges: Tiers<TierPrice>,
}

impl Graduated {
    /// Graduated tiers, checked as Lago checks `graduated_ranges` (§8.2):
    /// every price at least 0, and a bound chain from 0 whose last tier
    /// alone is open.
    ///
    /// ```
    /// use meterprice::{ChargeModel, Currency, Exact, Graduated, Tier, TierPrice, Usage};
    /// let d = |t: &str| t.parse::<Exact>().unwrap();
    /// let graduated = Graduated::try_new(vec![
    ///     Tier::new(d("0"), Some(d("10")), TierPrice::new(d("10"), d("2"))),
    ///     Tier::new(d("11"), None, TierPrice::new(d("5"), d("3"))),
    /// ])?;
    /// let eur = Currency::from_code("EUR").unwrap();
    /// let out = ChargeModel::Graduated(graduated).apply(&Usage::new(d("12")), eur)?;
    /// assert_eq!(out.amount, d("115")); // 10 × 10 + 2 + 2 × 5 + 3
    ///
    /// // A gap in the chain is refused with Lago's field and code.
    /// let gap = Graduated::try_new(vec![
    ///     Tier::new(d("0"), Some(d("10")), TierPrice::new(d("1"), d("0"))),
    ///     Tier::new(d("15"), None, TierPrice::new(d("1"), d("0"))),
    /// ]).unwrap_err();
    /// assert_eq!(gap.violations[0].code, "invalid_graduated_ranges");
    /// assert_eq!(gap.violations[0].message, "graduated_ranges[1]: from_value must be 10 or 11, got 15");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ValidationError`] with every violation.
    pub fn try_new(tiers: Vec<Tier<TierPrice>>) -> Result<Self, ValidationError> {
        let ranges = Tiers::try_new(TierKind::Graduated, tiers, TierPrice::violations)?;
        Ok(Self { ranges })
    }

    /// The tiers.
    pub fn ranges(&self) -> &Tiers<TierPrice> {
        &self.ranges
    }

    /// In arrears. `first_event_excluded` is the pay-in-advance "without"
    /// side of the period's first event: zero units then cost nothing, so the
    /// first tier's flat fee is billed once, by that event (M11).
    pub(crate) fn apply(
        &self,
        usage: &Usage,
        first_event_excluded: bool,
    ) -> Result<ModelOutcome, ArithmeticError> {
        let mut lines = Vec::with_capacity(self.ranges.reached(usage.units));
        let mut amount = Exact::ZERO;
        self.ranges.walk(usage.units, |tier, units| {
            let per_unit_amount = if units.is_zero() {
                Exact::ZERO
            } else {
                tier.price.per_unit_amount
            };
            let per_unit_total_amount =
                exact::mul(units, per_unit_amount, "graduated per_unit_total_amount")?;
            let total_with_flat_amount = exact::add(
                per_unit_total_amount,
                tier.price.flat_amount,
                "graduated total_with_flat_amount",
            )?;
            amount = exact::add(amount, total_with_flat_amount, "graduated amount")?;
            lines.push(GraduatedLine {
                from_value: tier.from_value,
                to_value: tier.to_value,
                flat_unit_amount: tier.price.flat_amount,
                per_unit_amount,
                units,
                per_unit_total_amount,
                total_with_flat_amount,
            });
            Ok(())
        })?;
        if usage.units.is_zero() && first_event_excluded {
            amount = Exact::ZERO;
        }
        let unit_amount = exact::quotient(amount, usage.full_or_units(), "graduated unit_amount")?;
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Graduated(lines),
        })
    }

    /// The amount alone, without building amount details.
    pub(crate) fn amount(&self, units: Exact) -> Result<Exact, ArithmeticError> {
        let mut amount = Exact::ZERO;
        self.ranges.walk(units, |tier, n| {
            let line = exact::mul(
                n,
                tier.price.per_unit_amount,
                "graduated per_unit_total_amount",
            )?;
            let line = exact::add(
                line,
                tier.price.flat_amount,
                "graduated total_with_flat_amount",
            )?;
            amount = exact::add(amount, line, "graduated amount")?;
            Ok(())
        })?;
        Ok(amount)
    }

    /// Projection (§2.10): the tier walk without a flat fee at zero units.
    pub(crate) fn project(&self, projected_units: Exact) -> Result<Exact, ArithmeticError> {
        if projected_units <= Exact::ZERO {
            return Ok(Exact::ZERO);
        }
        self.amount(projected_units)
    }

    /// Prorated graduated (semantics.md §2.9, exact coefficients per M12):
    /// each event's prorated quantity is priced at the tier its full quantity
    /// lands in; flat fees follow the peak full quantity.
    pub(crate) fn apply_prorated(&self, usage: &Usage) -> Result<ModelOutcome, ArithmeticError> {
        let amount = prorated_amount(self.ranges.as_slice(), usage)?;
        let full_sum = exact::sum(
            usage.event_values.iter().copied(),
            "prorated graduated units",
        )?;
        let unit_amount = exact::quotient(amount, full_sum, "prorated graduated unit_amount")?;
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
) -> Result<usize, ArithmeticError> {
    const WHAT: &str = "prorated graduated tier";
    if full <= Exact::ZERO {
        return Ok(0);
    }
    let u = if overflow.is_zero() {
        full
    } else if overflow > Exact::ZERO {
        exact::add(exact::sub(full, overflow, WHAT)?, Exact::ONE, WHAT)?
    } else {
        exact::add(full, overflow, WHAT)?
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
        let c = exact::div_pow10(Exact::try_from(lcm_i).ok()?, scale, "prorated scale").ok()?;
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
    fn share(&self, x: Exact, usage: &Usage, j: usize) -> Result<Exact, ArithmeticError> {
        const WHAT: &str = "prorated graduated coefficient";
        let p = usage
            .prorated_event_values
            .get(j)
            .copied()
            .unwrap_or(Exact::ZERO);
        match self {
            Self::Scaled { factors, .. } => {
                let k = factors.get(j).copied().unwrap_or(Exact::ZERO);
                exact::mul(exact::mul(x, p, WHAT)?, k, WHAT)
            }
            Self::Quotient => {
                let f = usage.event_values.get(j).copied().unwrap_or(Exact::ZERO);
                exact::mul_div(x, p, f, WHAT)
            }
        }
    }

    /// A prorated quantity in the strategy's scale.
    fn scale_up(&self, p: Exact) -> Result<Exact, ArithmeticError> {
        match self {
            Self::Scaled { c, .. } => exact::mul(p, *c, "prorated graduated amount"),
            Self::Quotient => Ok(p),
        }
    }

    /// A result in the strategy's scale, back to currency units.
    fn scale_down(&self, x: Exact) -> Result<Exact, ArithmeticError> {
        match self {
            Self::Scaled { c, .. } => exact::quotient(x, *c, "prorated graduated amount"),
            Self::Quotient => Ok(x),
        }
    }
}

fn prorated_amount(ranges: &[Tier<TierPrice>], usage: &Usage) -> Result<Exact, ArithmeticError> {
    let first_flat = ranges.first().map_or(Exact::ZERO, |r| r.price.flat_amount);
    if usage.units.is_zero() {
        return Ok(first_flat);
    }
    // Exact when the full values have a manageable common multiple (M12);
    // otherwise, and if the scaled figures leave the range, per-share
    // quotients of 28 significant digits.
    if let Some(shares) = Shares::scaled(&usage.event_values)
        && let Ok(amount) = run_prorated(ranges, usage, &shares)
    {
        return Ok(amount);
    }
    run_prorated(ranges, usage, &Shares::Quotient)
}

/// Lago's prorated-graduated state machine (semantics.md §2.9).
fn run_prorated(
    ranges: &[Tier<TierPrice>],
    usage: &Usage,
    shares: &Shares,
) -> Result<Exact, ArithmeticError> {
    const WHAT: &str = "prorated graduated amount";
    let (p, f) = (&usage.prorated_event_values, &usage.event_values);
    let n = p.len().min(f.len());
    let (mut idx, mut overflow, mut full, mut maxfull) =
        (0usize, Exact::ZERO, Exact::ZERO, Exact::ZERO);
    let (mut psum, mut result) = (Exact::ZERO, Exact::ZERO);
    let mut r = 0usize;
    // Every overflow step moves to a later tier, so this bound is never
    // reached by a valid chain; it keeps any input from spinning forever.
    let mut budget = (n + 1).saturating_mul(ranges.len() + 2).saturating_add(16);
    let price = |i: usize| {
        ranges
            .get(i)
            .map_or(Exact::ZERO, |t| t.price.per_unit_amount)
    };
    while idx < n || !overflow.is_zero() {
        budget = budget.checked_sub(1).ok_or(ArithmeticError::new(WHAT))?;
        r = tier_index(ranges, full, overflow, f.get(idx).copied())?;
        let (from_r, to_r) = ranges
            .get(r)
            .map_or((Exact::ZERO, None), |t| (t.from_value, t.to_value));
        if !overflow.is_zero() {
            let prev = idx.saturating_sub(1);
            psum = exact::add(psum, shares.share(overflow, usage, prev)?, WHAT)?;
            if let Some(to) = to_r.filter(|to| full >= *to) {
                overflow = exact::sub(full, to, WHAT)?;
                psum = exact::sub(psum, shares.share(overflow, usage, prev)?, WHAT)?;
                result = exact::add(result, exact::mul(psum, price(r), WHAT)?, WHAT)?;
                psum = Exact::ZERO;
                continue;
            }
            overflow = Exact::ZERO;
        }
        if idx >= n {
            break;
        }
        let (Some(&pi), Some(&fi)) = (p.get(idx), f.get(idx)) else {
            break;
        };
        if pi.is_zero() && fi > Exact::ZERO {
            idx += 1;
            continue;
        }
        if pi.is_zero() && fi < Exact::ZERO && exact::add(full, fi, WHAT)? < Exact::ZERO {
            idx += 1;
            continue;
        }
        full = exact::add(full, fi, WHAT)?;
        maxfull = maxfull.max(full);
        psum = exact::add(psum, shares.scale_up(pi)?, WHAT)?;
        idx += 1;
        let from_minus_one = exact::sub(from_r, Exact::ONE, WHAT)?;
        let inside = match to_r {
            None => full >= from_minus_one,
            Some(to) => from_r <= full && full < to,
        };
        if inside {
            continue;
        }
        overflow = match to_r {
            Some(to) if full >= to => exact::sub(full, to, WHAT)?,
            _ => exact::add(exact::sub(full, from_r, WHAT)?, Exact::ONE, WHAT)?,
        };
        psum = exact::sub(psum, shares.share(overflow, usage, idx - 1)?, WHAT)?;
        result = exact::add(result, exact::mul(psum, price(r), WHAT)?, WHAT)?;
        psum = Exact::ZERO;
    }
    result = exact::add(result, exact::mul(psum, price(r), WHAT)?, WHAT)?;
    let result = shares.scale_down(result)?;
    // Flat fees of every tier the peak full quantity reached.
    if full < Exact::ZERO {
        return Ok(Exact::ZERO);
    }
    let mut amount = result.max(Exact::ZERO);
    for t in ranges {
        amount = exact::add(amount, t.price.flat_amount, WHAT)?;
        if t.to_value.is_none_or(|to| maxfull <= to) {
            break;
        }
    }
    Ok(amount)
}
