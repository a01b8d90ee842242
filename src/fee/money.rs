//! A fee's money figures: a model amount (in the currency or a pricing
//! unit) to cents, unit amounts and pricing-unit details (semantics.md §4.1,
//! §4.6 with M8), and its taxes (§7).

use crate::charge::{PricingUnit, Tax};
use crate::currency::{Currency, cents_of};
use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure, Overflow};

use super::{AppliedTax, FeeTaxes, PricingUnitDetails};

/// What a fee is built from: an amount and unit amount in the model's unit
/// (currency or pricing unit), already clamped.
pub(crate) struct Priced {
    pub amount: Exact,
    pub unit_amount: Exact,
}

/// Money figures of a fee before taxes.
pub(crate) struct Money {
    pub amount: Exact,
    pub amount_cents: i128,
    pub precise_amount_cents: Exact,
    pub unit_amount_cents: i128,
    pub precise_unit_amount: Exact,
    pub pricing_unit_details: Option<Box<PricingUnitDetails>>,
}

/// Converts a model amount (in the currency, or in the pricing unit) to the
/// fee's money figures (§4.1, §4.6 with M8).
pub(crate) fn money(
    priced: &Priced,
    currency: Currency,
    pricing_unit: Option<&PricingUnit>,
) -> Result<Money, ArithmeticError> {
    let Some(pu) = pricing_unit else {
        let (amount_cents, precise_amount_cents) = currency.cents_and_precise(priced.amount)?;
        return Ok(Money {
            amount: priced.amount,
            amount_cents,
            precise_amount_cents,
            unit_amount_cents: unit_cents(currency, priced.unit_amount)?,
            precise_unit_amount: priced.unit_amount,
            pricing_unit_details: None,
        });
    };
    let pu_currency = Currency::PRICING_UNIT;
    let (pu_amount_cents, pu_precise_amount_cents) =
        pu_currency.cents_and_precise(priced.amount)?;
    let pu_unit_amount_cents = unit_cents(pu_currency, priced.unit_amount)?;
    // Fiat figures come from the rounded (amount) and truncated (unit)
    // pricing-unit cents, as Lago converts them (Q19, kept).
    let to_fiat = |cents: i128| {
        Exact::try_from(cents)?
            .times(pu.conversion_rate)
            .and_then(Exact::percent)
            .figure("pricing unit conversion")
    };
    let fiat_amount = to_fiat(pu_amount_cents)?;
    let fiat_unit = to_fiat(pu_unit_amount_cents)?;
    let (fiat_cents, fiat_precise) = currency.cents_and_precise(fiat_amount)?;
    Ok(Money {
        amount: fiat_amount,
        amount_cents: fiat_cents,
        precise_amount_cents: fiat_precise,
        unit_amount_cents: unit_cents(currency, fiat_unit)?,
        precise_unit_amount: fiat_unit,
        pricing_unit_details: Some(Box::new(PricingUnitDetails {
            pricing_unit_code: pu.code.clone(),
            conversion_rate: pu.conversion_rate,
            amount_cents: pu_amount_cents,
            precise_amount_cents: pu_precise_amount_cents,
            unit_amount_cents: pu_unit_amount_cents,
            precise_unit_amount: priced.unit_amount,
        })),
    })
}

/// A unit amount in minor units, truncated toward zero (Q17); zero, the
/// unit amount of every fee priced for customer usage's JSON, without a
/// conversion.
fn unit_cents(currency: Currency, unit_amount: Exact) -> Result<i128, ArithmeticError> {
    if unit_amount.is_zero() {
        return Ok(0);
    }
    currency.to_cents_truncated(unit_amount)
}

/// Taxes of a fee (§7): each tax rounded on its own, the fee's taxes the
/// rounded sum of the exact amounts.
pub(crate) fn taxes(
    taxes: &[Tax],
    amount_cents: i128,
    precise_amount_cents: Exact,
) -> Result<FeeTaxes, ArithmeticError> {
    let base = Exact::try_from(amount_cents)?;
    let mut out = FeeTaxes {
        applied: Vec::with_capacity(taxes.len()),
        ..FeeTaxes::default()
    };
    let mut exact_sum = Exact::ZERO;
    for tax in taxes {
        let applied = (|| {
            let t = base.times(tax.rate)?.percent()?;
            let t_precise = precise_amount_cents.times(tax.rate)?.percent()?;
            exact_sum = exact_sum.plus(t)?;
            out.taxes_precise_amount_cents = out.taxes_precise_amount_cents.plus(t_precise)?;
            out.taxes_rate = out.taxes_rate.plus(tax.rate)?;
            Ok(AppliedTax {
                code: tax.code.clone(),
                name: tax.name.clone(),
                rate: tax.rate,
                amount_cents: cents_of(t.round_half_away(0)),
                precise_amount_cents: t_precise,
            })
        })()
        .figure("taxes")?;
        out.applied.push(applied);
    }
    out.taxes_amount_cents = cents_of(exact_sum.round_half_away(0));
    out.total_amount_cents = amount_cents
        .checked_add(out.taxes_amount_cents)
        .ok_or(Overflow)
        .figure("taxes")?;
    Ok(out)
}
