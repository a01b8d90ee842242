//! `dynamic`: the events carry their own price.

use super::ModelOutcome;
use crate::currency::Currency;
use crate::details::AmountDetails;
use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure};
use crate::usage::Usage;

/// The amount is the events' `precise_total_amount_cents` in main units;
/// zero units cost 0 (semantics.md §2.7, Q28 kept).
pub(crate) fn apply(usage: &Usage, currency: Currency) -> Result<ModelOutcome, ArithmeticError> {
    let full = usage.full_or_units();
    if full.is_zero() {
        return Ok(ModelOutcome {
            amount: Exact::ZERO,
            unit_amount: Exact::ZERO,
            details: AmountDetails::Empty,
        });
    }
    let cents = usage.precise_total_amount_cents.unwrap_or(Exact::ZERO);
    let amount = currency.cents_to_units(cents)?;
    let unit_amount = amount.over(full).figure("dynamic unit_amount")?;
    Ok(ModelOutcome {
        amount,
        unit_amount,
        details: AmountDetails::Empty,
    })
}
