//! The totals of a customer usage: amounts (U11), taxes rounded once over
//! the whole object (U12, UD2), and the invoice view's true-ups (M9).

use crate::charge::Tax;
use crate::error::{ArithmeticError, RateError};
use crate::exact::{Exact, Figure, Overflow};
use crate::fee::{self, Fee};
use crate::plan::{Plan, PlanCharge};
use crate::rate::Period;

use super::{ChargeUsage, CustomerUsage, InvoiceTotals, UsageMode, UsageOptions, UsagePeriod};

const WHAT: &str = "customer usage taxes";

/// The exact taxes of `amount_cents` under `taxes`: Σ amount × rate / 100,
/// unrounded (UD2 sums these before its one rounding).
fn exact_taxes(amount_cents: i128, taxes: &[Tax]) -> Result<Exact, ArithmeticError> {
    let base = Exact::try_from(amount_cents)?;
    let sum = taxes.iter().try_fold(Exact::ZERO, |sum, tax| {
        sum.plus(base.times(tax.rate)?.percent()?)
    });
    sum.figure(WHAT)
}

/// Rounds the exact taxes once, half away from zero, to whole cents.
fn round_once(taxes: Exact) -> Result<i128, ArithmeticError> {
    taxes
        .round_half_away(0)
        .to_i128()
        .ok_or(Overflow)
        .figure(WHAT)
}

/// The object's totals: amounts summed (U11), taxes per UD2, and the
/// invoice totals in the invoice view.
pub(super) fn customer_usage<'p>(
    plan: &'p Plan,
    period: &UsagePeriod,
    charges_usage: Vec<ChargeUsage<'p>>,
    options: &UsageOptions,
) -> Result<CustomerUsage<'p>, RateError> {
    let amounts = charges_usage
        .iter()
        .map(|cu| (cu.charge, cu.totals.amount_cents));
    let (amount, total, taxes_amount_cents) = amounts_and_taxes(plan, options, amounts)?;
    let invoice = match options.mode {
        UsageMode::CurrentUsage => None,
        UsageMode::Invoice => Some(invoice(plan, &charges_usage, options)?),
    };
    Ok(CustomerUsage {
        period: period.clone(),
        currency: plan.currency,
        amount_cents: amount,
        taxes_amount_cents,
        total_amount_cents: total,
        charges_usage,
        invoice,
    })
}

fn overflow() -> RateError {
    RateError::from(Overflow.figure("customer usage amount_cents"))
}

/// `(amount_cents, total_amount_cents, taxes_amount_cents)` of a usage
/// whose charges come to these amounts: summed (U11), taxed per charge
/// exactly and rounded once (UD2).
pub(crate) fn amounts_and_taxes<'p>(
    plan: &Plan,
    options: &UsageOptions,
    charges: impl Iterator<Item = (&'p PlanCharge, i128)>,
) -> Result<(i128, i128, i128), RateError> {
    let (mut amount, mut taxes) = (0i128, Exact::ZERO);
    for (pc, cents) in charges {
        let own = exact_taxes(cents, plan.taxes_for(pc, options))?;
        amount = amount.checked_add(cents).ok_or_else(overflow)?;
        taxes = taxes.plus(own).figure(WHAT)?;
    }
    let taxes = round_once(taxes)?;
    let total = amount.checked_add(taxes).ok_or_else(overflow)?;
    Ok((amount, total, taxes))
}

/// The invoice view's totals: every true-up added, taxes rounded once over
/// the fees and the true-ups.
fn invoice(
    plan: &Plan,
    charges_usage: &[ChargeUsage<'_>],
    options: &UsageOptions,
) -> Result<InvoiceTotals, RateError> {
    let (mut amount, mut taxes) = (0i128, Exact::ZERO);
    for cu in charges_usage {
        let charge_taxes = plan.taxes_for(cu.charge, options);
        let own = exact_taxes(cu.totals.amount_cents, charge_taxes)?;
        let true_up = cu.true_up_fee.as_ref().map_or(0, |f| f.amount_cents);
        amount = amount
            .checked_add(cu.totals.amount_cents)
            .and_then(|a| a.checked_add(true_up))
            .ok_or_else(overflow)?;
        let true_up_taxes = exact_taxes(true_up, charge_taxes)?;
        taxes = taxes
            .plus(own)
            .and_then(|t| t.plus(true_up_taxes))
            .figure(WHAT)?;
    }
    let taxes_amount_cents = round_once(taxes)?;
    Ok(InvoiceTotals {
        amount_cents: amount,
        taxes_amount_cents,
        total_amount_cents: amount
            .checked_add(taxes_amount_cents)
            .ok_or_else(overflow)?,
    })
}

/// A charge's minimum-spend true-up over its usage fees (semantics.md §6,
/// M9, M10), the minimum prorated by the period's days over
/// `charges_duration`, taxed with the charge's taxes (Q23 per fee).
pub(super) fn true_up(
    pc: &PlanCharge,
    taxes: &[Tax],
    usage: &ChargeUsage<'_>,
    period: &UsagePeriod,
) -> Result<Option<Fee>, RateError> {
    if pc.charge.min_amount_cents <= 0 {
        return Ok(None);
    }
    let fees: Vec<Fee> = usage.fees.iter().map(|f| f.fee.clone()).collect();
    let days = Period::new(period.charges_duration(), period.billed_days())?;
    let Some(mut fee) = pc.charge.true_up(&fees, &days)? else {
        return Ok(None);
    };
    fee.taxes = fee::taxes(taxes, fee.amount_cents, fee.precise_amount_cents)?;
    Ok(Some(fee))
}
