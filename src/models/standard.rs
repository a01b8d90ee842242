//! `standard`: a price per unit.

use super::ModelOutcome;
use crate::details::AmountDetails;
use crate::error::{ArithmeticError, ValidationError};
use crate::exact::{Exact, Figure};
use crate::rules::{self, Violations};
use crate::usage::Usage;

/// A price per unit (semantics.md §2.1).
///
/// ```
/// use meterprice::{ChargeModel, Currency, Exact, Standard, Usage};
/// let model = ChargeModel::Standard(Standard::try_new("5.12345".parse()?)?);
/// let eur = Currency::from_code("EUR").unwrap();
/// let out = model.apply(&Usage::new(Exact::from(10u32)), eur)?;
/// assert_eq!(out.amount, "51.2345".parse()?); // 10 × 5.12345
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standard {
    amount: Exact,
    /// `amount` as a unit amount (its own quotient by the units, which
    /// terminates, so it is the price itself, M3), worked out once.
    unit_price: Option<Exact>,
}

impl Standard {
    /// A standard model with this unit price, checked as Lago checks
    /// `amount` (§8.1: at least 0).
    ///
    /// ```
    /// use meterprice::Standard;
    /// let e = Standard::try_new("-1".parse()?).unwrap_err();
    /// assert_eq!(e.violations[0].code, "invalid_amount");
    /// assert_eq!(e.violations[0].message, "amount must be a decimal >= 0, got -1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A [`ValidationError`] when the price is negative.
    pub fn try_new(amount: Exact) -> Result<Self, ValidationError> {
        let mut found = Violations::default();
        let amount = found.check(rules::typed_amount(amount, "amount", "invalid_amount"));
        found.finish(amount.map(Self::from_valid))
    }

    pub(crate) fn from_valid(amount: Exact) -> Self {
        Self {
            amount,
            unit_price: amount.as_quotient(),
        }
    }

    /// The unit price.
    pub fn amount(&self) -> Exact {
        self.amount
    }

    pub(crate) fn apply(&self, usage: &Usage) -> Result<ModelOutcome, ArithmeticError> {
        let amount = usage.units.times(self.amount).figure("standard amount")?;
        // Per unit of the same units, the amount is the price: no division.
        let same_units = usage.full_units_number.is_none_or(|f| f == usage.units);
        let direct = self
            .unit_price
            .filter(|_| same_units && !usage.units.is_zero());
        let unit_amount = match direct {
            Some(price) => price,
            None => amount
                .over(usage.full_or_units())
                .figure("standard unit_amount")?,
        };
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Empty,
        })
    }

    pub(crate) fn project(&self, projected_units: Exact) -> Result<Exact, ArithmeticError> {
        projected_units
            .times(self.amount)
            .figure("standard projected_amount")
    }
}
