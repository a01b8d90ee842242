//! Projected usage (semantics.md §2.10): a fee's units and amount carried
//! to the end of the period, multiplying before dividing (M3).

use crate::charge::Charge;
use crate::currency::Currency;
use crate::error::{ArithmeticError, RateError};
use crate::exact::{Exact, Figure};
use crate::fee::{self, Fee, Priced, Projection};
use crate::models::ChargeModel;
use crate::usage::Usage;

impl Charge {
    /// Projected usage of a fee (§2.10) with ratio `elapsed / duration`.
    pub(super) fn project(
        &self,
        model: &ChargeModel,
        usage: &Usage,
        fee: &Fee,
        duration: u32,
        elapsed: u32,
    ) -> Result<Projection, RateError> {
        let elapsed = elapsed.min(duration);
        let (d, e) = (Exact::from(duration), Exact::from(elapsed));
        // Multiply before dividing (M3): x / (e/d) = x × d / e.
        let scale_up = |x: Exact| -> Result<Exact, ArithmeticError> {
            if e.is_zero() {
                Ok(Exact::ZERO)
            } else {
                x.times_over(d, e).figure("projected_amount")
            }
        };
        let units = usage.units;
        let (projected_units, projected_amount) = if self.prorated {
            // Recurring (prorated) usage is not projected: the fee's own
            // current values (its units are the full units), as Lago's
            // projection returns them.
            (fee.units, fee_model_amount(fee)?)
        } else {
            let pu = if units.is_zero() {
                Exact::ZERO
            } else {
                scale_up(units)?.round_half_away(2)
            };
            let amount = match model {
                ChargeModel::Standard(m) => m.project(pu)?,
                ChargeModel::Graduated(m) => m.project(pu)?,
                ChargeModel::Volume(m) => m.project(pu)?,
                ChargeModel::Package(m) => m.project(pu)?,
                ChargeModel::Percentage(_)
                | ChargeModel::GraduatedPercentage(_)
                | ChargeModel::Dynamic => scale_up(fee_model_amount(fee)?)?,
            };
            (pu, amount)
        };
        let priced = Priced {
            amount: projected_amount,
            unit_amount: Exact::ZERO,
        };
        let cents = fee::money(&priced, self.currency, self.pricing_unit.as_ref())?
            .amount_cents
            .max(0);
        Ok(Projection {
            projected_units,
            projected_amount,
            projected_amount_cents: cents,
        })
    }
}

/// The amount the fee was built from, in the model's unit.
fn fee_model_amount(fee: &Fee) -> Result<Exact, ArithmeticError> {
    match &fee.pricing_unit_details {
        // The pricing-unit amount: precise pricing-unit cents back to units.
        Some(p) => Currency::PRICING_UNIT.cents_to_units(p.precise_amount_cents),
        None => Ok(fee.amount),
    }
}
