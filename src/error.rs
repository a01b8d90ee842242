//! The crate's error types, one per concern. Each has a stable `code()`:
//! the error code of the JSON contracts (docs/rating-json.md) for the same
//! failure, so a service answers the same code whichever face it uses.

use std::fmt;

/// An exact result that does not fit the decimal range: a magnitude of 2^96
/// or more, or more than 56 fractional digits. meterprice never rounds such a
/// result silently.
///
/// ```
/// use meterprice::{Bucket, Charge, ChargeModel, Currency, Exact, Period, RateError, Standard, Usage};
/// let big: Exact = "79228162514264337593543950335".parse()?; // 2^96 − 1
/// let eur = Currency::from_code("EUR").unwrap();
/// let charge = Charge::builder(eur, ChargeModel::Standard(Standard::try_new(big)?)).build()?;
/// let e = charge.rate(&[Bucket::new(Usage::new(Exact::from(2u32)))], &Period::full(30)).unwrap_err();
/// let RateError::Arithmetic(a) = &e else { panic!("{e}") };
/// assert_eq!((a.figure, a.bucket), ("standard amount", Some(0)));
/// assert_eq!(e.code(), "arithmetic_overflow");
/// assert!(e.to_string().starts_with("arithmetic overflow in standard amount of usage[0]"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArithmeticError {
    /// The figure being computed, e.g. `"graduated amount"`.
    pub figure: &'static str,
    /// The bucket (its index in the request) whose figure it is, when it
    /// is one bucket's.
    pub bucket: Option<usize>,
}

impl ArithmeticError {
    pub(crate) const fn new(figure: &'static str) -> Self {
        Self {
            figure,
            bucket: None,
        }
    }

    /// The same error, in bucket `index`'s figure.
    pub(crate) fn in_bucket(self, index: usize) -> Self {
        Self {
            bucket: self.bucket.or(Some(index)),
            ..self
        }
    }

    /// `"arithmetic_overflow"`.
    pub fn code(&self) -> &'static str {
        "arithmetic_overflow"
    }
}

impl fmt::Display for ArithmeticError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arithmetic overflow in {}", self.figure)?;
        if let Some(i) = self.bucket {
            write!(f, " of usage[{i}]")?;
        }
        f.write_str(": the exact result is 2^96 or more, or needs more than 56 fractional digits")
    }
}

impl std::error::Error for ArithmeticError {}

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
///
/// ```
/// use meterprice::{Exact, Graduated, Tier, TierPrice};
/// let d = |t: &str| t.parse::<Exact>().unwrap();
/// // A negative price and a last tier that is not open: two violations.
/// let e = Graduated::try_new(vec![Tier::new(d("0"), Some(d("10")), TierPrice::new(d("-1"), d("0")))])
///     .unwrap_err();
/// let found: Vec<(&str, &str)> = e.violations.iter().map(|v| (v.field.as_str(), v.code)).collect();
/// assert_eq!(found, [("per_unit_amount", "invalid_amount"), ("graduated_ranges", "invalid_graduated_ranges")]);
/// assert_eq!(e.code(), "validation_error");
/// assert_eq!(e.to_string(), "graduated_ranges[0].per_unit_amount must be a decimal >= 0, got -1; \
///     graduated_ranges[0]: the last range must have a null to_value, got 10");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ValidationError {
    /// The violations, in the order the definition was read.
    pub violations: Vec<Violation>,
}

impl ValidationError {
    /// `"validation_error"`.
    pub fn code(&self) -> &'static str {
        "validation_error"
    }
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
    #[error("charge_model {model:?} is not supported by meterprice{why}", model = .0, why = why_unsupported(.0))]
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

/// Why a model is not priced, when it is known.
fn why_unsupported(model: &str) -> &'static str {
    if model == "custom" {
        " (Lago's custom model runs user scripts)"
    } else {
        ""
    }
}

impl DefinitionError {
    /// The contract's code: `validation_error`, `arithmetic_overflow` (a
    /// value out of range), `parse_error` (malformed JSON) or
    /// `unsupported`.
    ///
    /// ```
    /// use meterprice::Charge;
    /// let e = Charge::from_lago_json("EUR", r#"{"charge_model": "custom"}"#).unwrap_err();
    /// assert_eq!(e.code(), "unsupported");
    /// let e = Charge::from_lago_json("EUR", r#"{"charge_model": "standard",
    ///     "properties": {"amount": "-1"}}"#).unwrap_err();
    /// assert_eq!(e.code(), "validation_error");
    /// assert_eq!(e.to_string(), "amount must be a decimal >= 0, got \"-1\"");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "validation_error",
            Self::OutOfRange { .. } => "arithmetic_overflow",
            Self::Malformed(_) => "parse_error",
            Self::Unsupported(_) | Self::UnsupportedField { .. } => "unsupported",
        }
    }
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

    /// `"invalid_usage"`.
    ///
    /// ```
    /// use meterprice::Period;
    /// let e = Period::new(0, 0).unwrap_err();
    /// assert_eq!((e.code(), e.message.as_str()), ("invalid_usage", "period.duration_days must be > 0"));
    /// ```
    pub fn code(&self) -> &'static str {
        "invalid_usage"
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

impl RateError {
    /// The same error, an overflow placed in bucket `index`.
    pub(crate) fn in_bucket(self, index: usize) -> Self {
        match self {
            Self::Arithmetic(a) => Self::Arithmetic(a.in_bucket(index)),
            usage => usage,
        }
    }

    /// `"invalid_usage"` or `"arithmetic_overflow"`.
    ///
    /// ```
    /// use meterprice::{Bucket, Charge, ChargeModel, Currency, Period, Standard, Usage};
    /// let eur = Currency::from_code("EUR").unwrap();
    /// let charge = Charge::builder(eur, ChargeModel::Standard(Standard::try_new("1".parse()?)?)).build()?;
    /// // A bucket for a filter the charge does not have.
    /// let bucket = Bucket::new(Usage::new("1".parse()?))
    ///     .with_filter(vec![("region".into(), vec!["eu".into()])]);
    /// let e = charge.rate(&[bucket], &Period::full(30)).unwrap_err();
    /// assert_eq!(e.code(), "invalid_usage");
    /// assert!(e.to_string().starts_with("usage[0].filter"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Usage(e) => e.code(),
            Self::Arithmetic(e) => e.code(),
        }
    }
}

/// A text that is not a decimal meterprice can hold exactly: not plain
/// notation (`parse_error`), or a decimal outside the range
/// (`arithmetic_overflow`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ParseExactError {
    /// The text (its first 64 characters).
    pub text: String,
    out_of_range: bool,
}

impl ParseExactError {
    fn new(text: &str, out_of_range: bool) -> Self {
        Self {
            text: text.chars().take(64).collect(),
            out_of_range,
        }
    }

    pub(crate) fn invalid(text: &str) -> Self {
        Self::new(text, false)
    }

    pub(crate) fn out_of_range(text: &str) -> Self {
        Self::new(text, true)
    }

    /// `"parse_error"` for a text that is not plain notation,
    /// `"arithmetic_overflow"` for a decimal outside the range.
    pub fn code(&self) -> &'static str {
        if self.out_of_range {
            "arithmetic_overflow"
        } else {
            "parse_error"
        }
    }
}

impl fmt::Display for ParseExactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.out_of_range {
            write!(
                f,
                "{:?} is outside the decimal range (|x| < 2^96, at most 56 fractional digits)",
                self.text
            )
        } else {
            write!(
                f,
                "{:?} is not a decimal in plain notation (-?digits(.digits)?)",
                self.text
            )
        }
    }
}
