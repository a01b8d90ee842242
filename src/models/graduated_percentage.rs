//! `graduated_percentage`: a percentage of the units per tier.

use crate::exact::Exact;

use super::{ModelOutcome, RateTierPrice};
use crate::details::{AmountDetails, GraduatedPercentageLine};
use crate::error::ArithmeticError;
use crate::exact;
use crate::tiers::Tiers;
use crate::usage::Usage;

/// Graduated-percentage tiers (semantics.md §2.3 with the one tier rule, M1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraduatedPercentage {
    pub(crate) ranges: Tiers<RateTierPrice>,
}

impl GraduatedPercentage {
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
        self.ranges.walk(usage.units, |tier, units| {
            let flat = if drop_flat {
                Exact::ZERO
            } else {
                tier.price.flat_amount
            };
            let per_unit_total_amount = exact::div_pow10(
                exact::mul(
                    units,
                    tier.price.rate,
                    "graduated_percentage per_unit_total_amount",
                )?,
                2,
                "graduated_percentage per_unit_total_amount",
            )?;
            let total_with_flat_amount = exact::add(
                per_unit_total_amount,
                flat,
                "graduated_percentage total_with_flat_amount",
            )?;
            amount = exact::add(
                amount,
                total_with_flat_amount,
                "graduated_percentage amount",
            )?;
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
        })?;
        let unit_amount = exact::quotient(
            amount,
            usage.full_or_units(),
            "graduated_percentage unit_amount",
        )?;
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::GraduatedPercentage(lines),
        })
    }
}
