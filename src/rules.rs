//! The value rules of Lago's validators (semantics.md §8), written once:
//! the typed constructors (`Standard::new`, …) and the JSON edge both call
//! them, so a rule and its violation (field, code, message) exist in one
//! place.

use crate::error::{ValidationError, Violation};
use crate::exact::Exact;

/// A non-negative decimal for typed construction.
pub(crate) fn non_negative(
    field: &str,
    code: &'static str,
    value: Exact,
) -> Result<(), ValidationError> {
    if value.is_negative() && !value.is_zero() {
        return Err(ValidationError {
            violations: vec![Violation::new(
                field,
                code,
                format!("{field} must be >= 0, got {value}"),
            )],
        });
    }
    Ok(())
}
