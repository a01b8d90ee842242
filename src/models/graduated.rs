//! `graduated`: each unit at the price of the tier it falls in.

use super::{ModelOutcome, TierPrice};
use crate::details::{AmountDetails, GraduatedLine};
use crate::error::{ArithmeticError, ValidationError};
use crate::exact::{Exact, Figure};
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
        amounts_only: bool,
    ) -> Result<ModelOutcome, ArithmeticError> {
        let reached = if amounts_only {
            0
        } else {
            self.ranges.reached(usage.units)
        };
        let mut lines = Vec::with_capacity(reached);
        let mut amount = Exact::ZERO;
        self.ranges
            .walk(usage.units, |tier, units| {
                // No price where no unit falls in the tier.
                let per_unit_amount = if units.is_zero() {
                    Exact::ZERO
                } else {
                    tier.price.per_unit_amount
                };
                let per_unit_total_amount = units.times(per_unit_amount)?;
                let total_with_flat_amount = per_unit_total_amount.plus(tier.price.flat_amount)?;
                amount = amount.plus(total_with_flat_amount)?;
                if amounts_only {
                    return Ok(());
                }
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
            })
            .figure("graduated amount")?;
        if usage.units.is_zero() && first_event_excluded {
            amount = Exact::ZERO;
        }
        let unit_amount = if amounts_only {
            Exact::ZERO
        } else {
            amount
                .over(usage.full_or_units())
                .figure("graduated unit_amount")?
        };
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Graduated(lines),
        })
    }

    /// The amount alone, without building amount details.
    pub(crate) fn amount(&self, units: Exact) -> Result<Exact, ArithmeticError> {
        let mut amount = Exact::ZERO;
        self.ranges
            .walk(units, |tier, n| {
                let line = n.times(tier.price.per_unit_amount)?;
                amount = amount.plus(line.plus(tier.price.flat_amount)?)?;
                Ok(())
            })
            .figure("graduated amount")?;
        Ok(amount)
    }

    /// Projection (§2.10): the tier walk without a flat fee at zero units.
    pub(crate) fn project(&self, projected_units: Exact) -> Result<Exact, ArithmeticError> {
        if projected_units <= Exact::ZERO {
            return Ok(Exact::ZERO);
        }
        self.amount(projected_units)
    }
}
