//! `standard`: a price per unit.

use rust_decimal::Decimal;

use super::ModelOutcome;
use crate::details::AmountDetails;
use crate::error::ArithmeticError;
use crate::exact;
use crate::usage::Usage;

/// A price per unit (semantics.md §2.1).
///
/// ```
/// use meterprice::{ChargeModel, Currency, Standard, Usage};
/// use rust_decimal::Decimal;
/// let model = ChargeModel::Standard(Standard::new(Decimal::new(512345, 5))?);
/// let out = model.apply(&Usage::new(Decimal::from(10)), Currency::from_code("EUR").unwrap())?;
/// assert_eq!(out.amount, Decimal::new(512345, 4)); // 10 × 5.12345 = 51.2345
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standard {
    amount: Decimal,
}

impl Standard {
    /// A standard model with this unit price.
    ///
    /// # Errors
    /// A [`crate::ValidationError`] when the price is negative.
    pub fn new(amount: Decimal) -> Result<Self, crate::ValidationError> {
        crate::validate::non_negative("amount", "invalid_amount", amount)?;
        Ok(Self { amount })
    }

    pub(crate) fn from_valid(amount: Decimal) -> Self {
        Self { amount }
    }

    /// The unit price.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub(crate) fn apply(&self, usage: &Usage) -> Result<ModelOutcome, ArithmeticError> {
        let amount = exact::mul(usage.units, self.amount, "standard amount")?;
        let unit_amount = exact::quotient(amount, usage.full_or_units(), "standard unit_amount")?;
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Empty,
        })
    }

    pub(crate) fn project(&self, projected_units: Decimal) -> Result<Decimal, ArithmeticError> {
        exact::mul(projected_units, self.amount, "standard projected_amount")
    }
}
