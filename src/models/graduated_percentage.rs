//! `graduated_percentage`: a percentage of the units per tier.

use super::{ModelOutcome, RateTierPrice};
use crate::details::{AmountDetails, GraduatedPercentageLine};
use crate::error::{ArithmeticError, ValidationError};
use crate::exact::{Exact, Figure};
use crate::tiers::{Tier, TierKind, Tiers};
use crate::usage::Usage;

/// Graduated-percentage tiers (semantics.md §2.3 with the one tier rule, M1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraduatedPercentage {
    pub(crate) ranges: Tiers<RateTierPrice>,
}

impl GraduatedPercentage {
    /// Graduated-percentage tiers, checked as Lago checks
    /// `graduated_percentage_ranges` (§8.2): rates and flat amounts at
    /// least 0, and the graduated bound chain.
    ///
    /// ```
    /// use meterprice::{Exact, GraduatedPercentage, RateTierPrice, Tier};
    /// let d = |t: &str| t.parse::<Exact>().unwrap();
    /// let gp = GraduatedPercentage::try_new(vec![
    ///     Tier::new(d("0"), Some(d("10")), RateTierPrice::new(d("1"), d("200"))),
    ///     Tier::new(d("11"), None, RateTierPrice::new(d("2"), d("300"))),
    /// ])?;
    /// assert_eq!(gp.ranges().as_slice()[1].price.rate, d("2"));
    /// # Ok::<(), meterprice::ValidationError>(())
    /// ```
    ///
    /// # Errors
    /// [`ValidationError`] with every violation.
    pub fn try_new(tiers: Vec<Tier<RateTierPrice>>) -> Result<Self, ValidationError> {
        let kind = TierKind::GraduatedPercentage;
        let ranges = Tiers::try_new(kind, tiers, RateTierPrice::violations)?;
        Ok(Self { ranges })
    }

    /// The tiers.
    pub fn ranges(&self) -> &Tiers<RateTierPrice> {
        &self.ranges
    }

    /// In arrears; `first_event_excluded` as for graduated (M11): the flat
    /// fees are not billed at zero units on the "without" side of the
    /// period's first in-advance event.
    pub(crate) fn apply(
        &self,
        usage: &Usage,
        first_event_excluded: bool,
    ) -> Result<ModelOutcome, ArithmeticError> {
        let drop_flat = usage.units.is_zero() && first_event_excluded;
        let mut lines = Vec::with_capacity(self.ranges.reached(usage.units));
        let mut amount = Exact::ZERO;
        self.ranges
            .walk(usage.units, |tier, units| {
                let flat = if drop_flat {
                    Exact::ZERO
                } else {
                    tier.price.flat_amount
                };
                let per_unit_total_amount = units.times(tier.price.rate)?.percent()?;
                let total_with_flat_amount = per_unit_total_amount.plus(flat)?;
                amount = amount.plus(total_with_flat_amount)?;
                lines.push(GraduatedPercentageLine {
                    from_value: tier.from_value,
                    to_value: tier.to_value,
                    flat_unit_amount: flat,
                    rate: tier.price.rate,
                    units,
                    per_unit_total_amount,
                    total_with_flat_amount,
                });
                Ok(())
            })
            .figure("graduated_percentage amount")?;
        let unit_amount = amount
            .over(usage.full_or_units())
            .figure("graduated_percentage unit_amount")?;
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::GraduatedPercentage(lines),
        })
    }
}
