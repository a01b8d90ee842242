//! The minimum-spend true-up (semantics.md §6 with M9, M10): the fee that
//! makes a charge's fees reach its minimum, prorated to the days billed.

use super::overflow;
use crate::charge::Charge;
use crate::currency::{Currency, cents_of};
use crate::details::AmountDetails;
use crate::error::RateError;
use crate::exact::{Exact, Figure};
use crate::fee::{self, Fee, Money, Priced};
use crate::rate::Period;
use crate::{ArithmeticError, PricingUnit};

impl Charge {
    /// The minimum-spend true-up (§6 with M9, M10), `None` when met.
    pub(crate) fn true_up(&self, fees: &[Fee], period: &Period) -> Result<Option<Fee>, RateError> {
        const WHAT: &str = "true-up";
        if self.min_amount_cents <= 0 {
            return Ok(None);
        }
        let min = Exact::try_from(self.min_amount_cents)?;
        let (billed, duration) = (period.billed_days, period.duration_days);
        let prorated_min = min
            .times_over(Exact::from(billed), Exact::from(duration))
            .figure(WHAT)?;
        // With a pricing unit the minimum is in pricing-unit cents.
        let (used_cents, used_precise) = if self.pricing_unit.is_some() {
            let pu = |f: &Fee| {
                f.pricing_unit_details
                    .as_ref()
                    .map_or((0, Exact::ZERO), |p| {
                        (p.amount_cents, p.precise_amount_cents)
                    })
            };
            sum_cents(fees.iter().map(pu))?
        } else {
            sum_cents(
                fees.iter()
                    .map(|f| (f.amount_cents, f.precise_amount_cents)),
            )?
        };
        let Some(mut money) = true_up_money(
            prorated_min,
            (used_cents, used_precise),
            self.currency,
            self.pricing_unit.as_ref(),
        )?
        else {
            return Ok(None);
        };
        let taxes = fee::taxes(&self.taxes, money.amount_cents, money.precise_amount_cents)?;
        // The exact amount whose scaling is precise_amount_cents (a shift of
        // places, not a quotient to round).
        money.amount = self.currency.cents_to_units(money.precise_amount_cents)?;
        let details = AmountDetails::Empty;
        let fee = Fee::new(&self.echo, (Exact::ONE, 0), money, taxes, details, false);
        Ok(Some(fee))
    }
}

/// The true-up's money figures for a prorated minimum and the counted
/// cents the fees used (M9, M10); `None` when the minimum is met or the
/// difference rounds to 0 cents. Shared with the price exploration, so
/// that its true-up is rate's own.
pub(crate) fn true_up_money(
    prorated_min: Exact,
    (used_cents, used_precise): (i128, Exact),
    currency: Currency,
    pricing_unit: Option<&PricingUnit>,
) -> Result<Option<Money>, ArithmeticError> {
    const WHAT: &str = "true-up";
    let used = Exact::try_from(used_cents)?;
    if used >= prorated_min {
        return Ok(None);
    }
    let diff = prorated_min.minus(used).figure(WHAT)?;
    let diff_precise = prorated_min.minus(used_precise).figure(WHAT)?;
    let unit_currency = if pricing_unit.is_some() {
        Currency::PRICING_UNIT
    } else {
        currency
    };
    let priced = Priced {
        amount: unit_currency.cents_to_units(diff)?,
        unit_amount: unit_currency.cents_to_units_rounded(diff_precise)?,
    };
    let mut money = fee::money(&priced, currency, pricing_unit)?;
    if pricing_unit.is_none() {
        // Without a pricing unit the true-up is the cents difference
        // itself; the unit amount stays priced.unit_amount.
        let cents = cents_of(diff.round_half_away(0));
        (money.amount_cents, money.unit_amount_cents) = (cents, cents);
        money.precise_amount_cents = diff_precise;
    }
    Ok((money.amount_cents != 0).then_some(money))
}

fn sum_cents(items: impl Iterator<Item = (i128, Exact)>) -> Result<(i128, Exact), RateError> {
    let mut cents: i128 = 0;
    let mut precise = Exact::ZERO;
    for (c, p) in items {
        cents = cents
            .checked_add(c)
            .ok_or_else(|| overflow("fees_amount_cents"))?;
        precise = precise.plus(p).figure("fees precise_amount_cents")?;
    }
    Ok((cents, precise))
}
