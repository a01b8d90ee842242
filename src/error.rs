//! The crate's error types, one per concern.

use std::fmt;

/// An exact result that does not fit the decimal range: a magnitude of 2^96
/// or more, or more than 56 fractional digits. meterprice never rounds such a
/// result silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "arithmetic overflow in {what}: the exact result is 2^96 or more, or needs more than 56 fractional digits"
)]
#[non_exhaustive]
pub struct ArithmeticError {
    /// The figure being computed, e.g. `"graduated per_unit_total_amount"`.
    pub what: &'static str,
}

impl ArithmeticError {
    pub(crate) const fn new(what: &'static str) -> Self {
        Self { what }
    }
}

/// One broken rule of a charge definition, with Lago's field and error code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// Lago's field name, e.g. `"per_unit_amount"` or `"graduated_ranges"`.
    pub field: String,
    /// Lago's error code, e.g. `"invalid_amount"`.
    pub code: &'static str,
    /// A lowercase sentence naming the place (index) and the value.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}: {})", self.message, self.field, self.code)
    }
}

/// Every rule a charge definition breaks, reported at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ValidationError {
    /// The violations, in the order the definition was read.
    pub violations: Vec<Violation>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for v in &self.violations {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            f.write_str(&v.message)?;
        }
        Ok(())
    }
}

/// Why a definition cannot be built at all, beyond broken validation rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionError {
    /// The definition breaks Lago's validation rules.
    #[error("{0}")]
    Invalid(ValidationError),
    /// A valid value (e.g. `"1e400"`) that the decimal range cannot hold.
    #[error(
        "{field}: {value:?} is outside the decimal range (|x| < 2^96, at most 28 fractional digits)"
    )]
    OutOfRange {
        /// The field and index, e.g. `graduated_ranges[2].per_unit_amount`.
        field: String,
        /// The value as given.
        value: String,
    },
    /// JSON of the wrong shape outside `properties` (a boolean given as a
    /// string, a filter that is not an object, …).
    #[error("{0}")]
    Malformed(String),
    /// A Lago model that meterprice does not price (`custom`), by name.
    #[error("charge_model {0:?} is not supported by meterprice")]
    Unsupported(String),
    /// A Lago field that meterprice does not read (the legacy
    /// `group_properties`): refused rather than ignored, since ignoring it
    /// would price the charge without what it says.
    #[error("{field} is not supported by meterprice: {reason}")]
    UnsupportedField {
        /// The field's path, e.g. `charge.group_properties`.
        field: String,
        /// Why, and what to use instead.
        reason: String,
    },
}

/// A usage bucket or pay-in-advance event that cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct UsageError {
    /// A lowercase sentence naming the bucket, the field and the value.
    pub message: String,
}

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Why rating a charge failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// A usage bucket or event that cannot be priced (`invalid_usage`).
    #[error("{0}")]
    Usage(#[from] UsageError),
    /// A figure outside the decimal range (`arithmetic_overflow`).
    #[error("{0}")]
    Arithmetic(#[from] ArithmeticError),
}

/// A text that is not a decimal meterprice can hold exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a decimal of at most 56 fractional digits and magnitude below 2^96")]
#[non_exhaustive]
pub struct ParseExactError {
    /// The text (its first 64 characters).
    pub text: String,
}
