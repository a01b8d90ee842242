//! `volume`: every unit at the price of the tier the total falls in.

use super::{ModelOutcome, TierPrice};
use crate::details::{AmountDetails, VolumeDetails};
use crate::error::{ArithmeticError, ValidationError};
use crate::exact::{Exact, Figure};
use crate::tiers::{Tier, TierKind, Tiers};
use crate::usage::Usage;

/// Volume tiers (semantics.md §2.6 with the one tier rule, M1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub(crate) ranges: Tiers<TierPrice>,
}

impl Volume {
    /// Volume tiers, checked as Lago checks `volume_ranges` (§8.2): every
    /// price at least 0, and a bound chain from 0 where each tier starts
    /// one or two above the last one's end.
    ///
    /// ```
    /// use meterprice::{Exact, Tier, TierPrice, Volume};
    /// let d = |t: &str| t.parse::<Exact>().unwrap();
    /// let volume = Volume::try_new(vec![
    ///     Tier::new(d("0"), Some(d("100")), TierPrice::new(d("2"), d("10"))),
    ///     Tier::new(d("101"), None, TierPrice::new(d("1"), d("0"))),
    /// ])?;
    /// assert_eq!(volume.ranges().as_slice().len(), 2);
    /// // A negative price names its range and field.
    /// let e = Volume::try_new(vec![Tier::new(d("0"), None, TierPrice::new(d("-1"), d("0")))])
    ///     .unwrap_err();
    /// assert_eq!((e.violations[0].field.as_str(), e.violations[0].code), ("per_unit_amount", "invalid_amount"));
    /// assert_eq!(e.violations[0].message, "volume_ranges[0].per_unit_amount must be a decimal >= 0, got -1");
    /// # Ok::<(), meterprice::ValidationError>(())
    /// ```
    ///
    /// # Errors
    /// [`ValidationError`] with every violation.
    pub fn try_new(tiers: Vec<Tier<TierPrice>>) -> Result<Self, ValidationError> {
        let ranges = Tiers::try_new(TierKind::Volume, tiers, TierPrice::violations)?;
        Ok(Self { ranges })
    }

    /// The tiers.
    pub fn ranges(&self) -> &Tiers<TierPrice> {
        &self.ranges
    }

    pub(crate) fn apply(
        &self,
        usage: &Usage,
        prorated: bool,
    ) -> Result<ModelOutcome, ArithmeticError> {
        // A prorated charge picks its tier on the unprorated units.
        let select = match usage.full_units_number {
            Some(full) if prorated => full,
            _ => usage.units,
        };
        let tier = self.ranges.as_slice().get(self.ranges.find(select));
        let (price, flat) = tier.map_or((Exact::ZERO, Exact::ZERO), |t| {
            (t.price.per_unit_amount, t.price.flat_amount)
        });
        let per_unit_total_amount = usage
            .units
            .times(price)
            .figure("volume per_unit_total_amount")?;
        let amount = per_unit_total_amount.plus(flat).figure("volume amount")?;
        // Over the same units the per-unit figure is the tier price itself:
        // no division (and no flat fee in the unit amount when it is 0).
        let direct = Exact::per_unit_of(price, usage.units).filter(|_| select == usage.units);
        let per_unit_amount = match direct {
            Some(p) => p,
            None => per_unit_total_amount
                .over(select)
                .figure("volume per_unit_amount")?,
        };
        let unit_amount = match direct.filter(|_| flat.is_zero()) {
            Some(p) => p,
            None => amount.over(select).figure("volume unit_amount")?,
        };
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Volume(VolumeDetails {
                flat_unit_amount: flat,
                per_unit_amount,
                per_unit_total_amount,
            }),
        })
    }

    pub(crate) fn project(&self, projected_units: Exact) -> Result<Exact, ArithmeticError> {
        if projected_units.is_zero() {
            return Ok(Exact::ZERO);
        }
        let Some(tier) = self
            .ranges
            .as_slice()
            .get(self.ranges.find(projected_units))
        else {
            return Ok(Exact::ZERO);
        };
        let amount = projected_units
            .times(tier.price.per_unit_amount)
            .and_then(|units_total| units_total.plus(tier.price.flat_amount));
        amount.figure("volume projected_amount")
    }
}
