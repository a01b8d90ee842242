//! The value rules of Lago's validators (semantics.md §8), written once.
//!
//! The typed constructors (`Graduated::try_new`, `Charge::builder`, …) and
//! the JSON edge (`src/lago/validate/`) both call these functions, so a rule
//! and its violation (Lago's field and code, and the message) exist in one
//! place. A rule says where the value sits (`place`: the field with its
//! index, e.g. `graduated_ranges[1].flat_amount`) and how it reads (`shown`:
//! the value as the caller has it; the JSON edge shows it as written).
//! What only JSON can get wrong (a string where a number belongs, a list
//! that is not a list) stays at the edge.

use std::fmt::Display;

use crate::error::{ValidationError, Violation};
use crate::exact::Exact;

/// Violations collected while a definition is checked, in the order Lago
/// lists them.
#[derive(Debug, Default)]
pub(crate) struct Violations(pub(crate) Vec<Violation>);

impl Violations {
    /// Records the violation of a failed rule; gives its value otherwise.
    #[inline]
    pub(crate) fn check<T>(&mut self, rule: Result<T, Violation>) -> Option<T> {
        match rule {
            Ok(v) => Some(v),
            Err(v) => {
                self.0.push(v);
                None
            }
        }
    }

    /// Records a violation.
    pub(crate) fn push(&mut self, v: Violation) {
        self.0.push(v);
    }

    /// `value` when nothing was violated, else every violation.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, ValidationError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(ValidationError { violations: self.0 }),
        }
    }
}

/// Lago's `valid_amount?` on a decimal (§8.1): at least 0.
#[inline]
pub(crate) fn amount(
    value: Exact,
    field: &str,
    code: &'static str,
    place: &dyn Display,
    shown: &dyn Display,
) -> Result<Exact, Violation> {
    if value.is_negative() && !value.is_zero() {
        return Err(Violation::new(
            field,
            code,
            format!("{place} must be a decimal >= 0, got {shown}"),
        ));
    }
    Ok(value)
}

/// [`amount`] of a typed value: the field is its own place, the value its
/// own text.
#[inline]
pub(crate) fn typed_amount(
    value: Exact,
    field: &str,
    code: &'static str,
) -> Result<Exact, Violation> {
    amount(value, field, code, &field, &value)
}

/// A count that must be an integer above 0 (`package_size`,
/// `free_units_per_events`); `None` is a value that is not an integer.
#[inline]
pub(crate) fn positive_count(
    value: Option<i128>,
    field: &str,
    code: &'static str,
    place: &dyn Display,
    shown: &dyn Display,
) -> Result<u64, Violation> {
    value
        .filter(|n| *n > 0)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| {
            Violation::new(
                field,
                code,
                format!("{place} must be an integer > 0, got {shown}"),
            )
        })
}

/// A count that must be an integer of at least 0 (`free_units`); `None` is
/// a value that is not an integer.
#[cfg(feature = "lago")]
#[inline]
pub(crate) fn count(
    value: Option<i128>,
    field: &str,
    code: &'static str,
    place: &dyn Display,
    shown: &dyn Display,
) -> Result<u64, Violation> {
    value
        .filter(|n| *n >= 0)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| {
            Violation::new(
                field,
                code,
                format!("{place} must be an integer >= 0, got {shown}"),
            )
        })
}

/// Percentage's per-transaction bounds (§8.3): the maximum may not be below
/// the minimum. Compared whenever both are decimals, even ones invalid on
/// their own (a negative bound), as Lago compares `D(min) > D(max)`.
pub(crate) fn per_transaction_bounds(
    min: Option<Exact>,
    max: Option<Exact>,
    prefix: &str,
) -> Result<(), Violation> {
    match (min, max) {
        (Some(lo), Some(hi)) if lo > hi => Err(Violation::new(
            "per_transaction_max_amount",
            "per_transaction_max_lower_than_per_transaction_min",
            format!(
                "{prefix}per_transaction_max_amount {hi} is below per_transaction_min_amount {lo}"
            ),
        )),
        _ => Ok(()),
    }
}

/// Grouping keys (§8.3: Lago's `all?(&:present?)`): every key non-blank.
#[inline]
pub(crate) fn group_keys(
    keys: Option<Vec<String>>,
    field: &str,
    place: &dyn Display,
    shown: &dyn Display,
) -> Result<Vec<String>, Violation> {
    keys.filter(|k| k.iter().all(|s| !s.trim().is_empty()))
        .ok_or_else(|| {
            Violation::new(
                field,
                "invalid_type",
                format!("{place} must be a list of non-empty strings, got {shown}"),
            )
        })
}

/// A pricing unit's conversion rate (§4.6): above 0.
pub(crate) fn conversion_rate(rate: Exact, path: &str) -> Result<Exact, Violation> {
    if rate > Exact::ZERO {
        return Ok(rate);
    }
    Err(Violation::new(
        "applied_pricing_unit.conversion_rate",
        "value_is_out_of_range",
        format!("{path}.conversion_rate must be > 0, got {rate}"),
    ))
}

/// The list a typed value shows in a message: `["a", "b"]`.
pub(crate) fn shown_list(items: &[String]) -> String {
    format!("{items:?}")
}
