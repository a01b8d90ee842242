//! A fee's money figures: a model amount (in the currency or a pricing
//! unit) to cents, unit amounts and pricing-unit details (semantics.md §4.1,
//! §4.6 with M8), and its taxes (§7).

use crate::charge::{PricingUnit, Tax};
use crate::error::ArithmeticError;
use crate::exact::{self, Exact};
use crate::money::{Currency, cents_of};

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
            unit_amount_cents: currency.to_cents_truncated(priced.unit_amount)?,
            precise_unit_amount: priced.unit_amount,
            pricing_unit_details: None,
        });
    };
    let pu_currency = Currency::PRICING_UNIT;
    let (pu_amount_cents, pu_precise_amount_cents) =
        pu_currency.cents_and_precise(priced.amount)?;
    let pu_unit_amount_cents = pu_currency.to_cents_truncated(priced.unit_amount)?;
    // Fiat figures come from the rounded (amount) and truncated (unit)
    // pricing-unit cents, as Lago converts them (Q19, kept).
    let fiat_amount = exact::div_pow10(
        exact::mul(
            Exact::try_from(pu_amount_cents)?,
            pu.conversion_rate,
            "pricing unit conversion",
        )?,
        2,
        "pricing unit conversion",
    )?;
    let fiat_unit = exact::div_pow10(
        exact::mul(
            Exact::try_from(pu_unit_amount_cents)?,
            pu.conversion_rate,
            "pricing unit conversion",
        )?,
        2,
        "pricing unit conversion",
    )?;
    let (fiat_cents, fiat_precise) = currency.cents_and_precise(fiat_amount)?;
    Ok(Money {
        amount: fiat_amount,
        amount_cents: fiat_cents,
        precise_amount_cents: fiat_precise,
        unit_amount_cents: currency.to_cents_truncated(fiat_unit)?,
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

/// Taxes of a fee (§7): each tax rounded on its own, the fee's taxes the
/// rounded sum of the exact amounts.
pub(crate) fn taxes(
    taxes: &[Tax],
    amount_cents: i128,
    precise_amount_cents: Exact,
) -> Result<FeeTaxes, ArithmeticError> {
    const WHAT: &str = "taxes";
    let base = Exact::try_from(amount_cents)?;
    let mut out = FeeTaxes {
        applied: Vec::with_capacity(taxes.len()),
        ..FeeTaxes::default()
    };
    let mut exact_sum = Exact::ZERO;
    for tax in taxes {
        let t = exact::div_pow10(exact::mul(base, tax.rate, WHAT)?, 2, WHAT)?;
        let t_precise =
            exact::div_pow10(exact::mul(precise_amount_cents, tax.rate, WHAT)?, 2, WHAT)?;
        exact_sum = exact::add(exact_sum, t, WHAT)?;
        out.taxes_precise_amount_cents =
            exact::add(out.taxes_precise_amount_cents, t_precise, WHAT)?;
        out.taxes_rate = exact::add(out.taxes_rate, tax.rate, WHAT)?;
        out.applied.push(AppliedTax {
            code: tax.code.clone(),
            name: tax.name.clone(),
            rate: tax.rate,
            amount_cents: cents_of(exact::round_half_away(t, 0)),
            precise_amount_cents: t_precise,
        });
    }
    out.taxes_amount_cents = cents_of(exact::round_half_away(exact_sum, 0));
    out.total_amount_cents = amount_cents
        .checked_add(out.taxes_amount_cents)
        .ok_or(ArithmeticError::new(WHAT))?;
    Ok(out)
}
