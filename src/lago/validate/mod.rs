//! Lago's validation of a charge's `properties` (semantics.md §8): raw
//! JSON values in, a typed model or every violation out.
//!
//! Values arrive as raw JSON so that numbers keep their exact text and wrong
//! types become violations with Lago's codes, never parse failures. What
//! only JSON can get wrong (types, shapes) is checked here; every rule on
//! the values themselves is the core's (`src/rules.rs`, the tier chain in
//! `src/tiers.rs`, the models' constructors), called with the place and the
//! value as written.

mod keys;
mod models;
mod ranges;

use crate::error::{DefinitionError, ValidationError, Violation};
use crate::exact::Exact;
use crate::lago::decimal::{DecimalTextError, parse_decimal};
use crate::lago::fields::RawProperties;
use crate::lago::raw::{Raw, RawJson, json_integer};
use crate::models::{ChargeModel, Graduated, GraduatedPercentage, ModelKind, Volume};
use crate::rules;
use crate::tiers::TierKind;

/// Where a value sits, formatted only when a message needs it (valid
/// definitions, the common case, allocate no message text).
#[derive(Clone, Copy)]
pub(crate) struct Place<'a> {
    prefix: &'a str,
    list: &'a str,
    index: Option<usize>,
    key: &'a str,
}

impl<'a> Place<'a> {
    /// `{prefix}{key}`, e.g. `filters[0].properties.amount`.
    pub(crate) fn key(prefix: &'a str, key: &'a str) -> Self {
        Self {
            prefix,
            list: "",
            index: None,
            key,
        }
    }

    /// The same place, one key further in.
    pub(super) fn with_key(self, key: &'a str) -> Self {
        Self { key, ..self }
    }

    /// `{prefix}{list}[{index}].{key}` (no `.key` when `key` is empty).
    pub(super) fn item(prefix: &'a str, list: &'a str, index: usize, key: &'a str) -> Self {
        Self {
            prefix,
            list,
            index: Some(index),
            key,
        }
    }
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.prefix)?;
        match self.index {
            Some(i) if self.key.is_empty() => write!(f, "{}[{i}]", self.list),
            Some(i) => write!(f, "{}[{i}].{}", self.list, self.key),
            None => f.write_str(self.key),
        }
    }
}

/// Collects violations and out-of-range values while a definition is read.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub violations: Vec<Violation>,
    pub out_of_range: Option<(String, String)>,
}

impl Report {
    /// Records the violation of a failed rule; gives its value otherwise.
    #[inline]
    pub(crate) fn check<T>(&mut self, rule: Result<T, Violation>) -> Option<T> {
        match rule {
            Ok(v) => Some(v),
            Err(v) => {
                self.violations.push(v);
                None
            }
        }
    }

    pub(crate) fn violation(&mut self, field: &str, code: &'static str, message: String) {
        self.violations.push(Violation::new(field, code, message));
    }

    /// Adds what `later` found after this report's own findings.
    pub(super) fn append(&mut self, later: Report) {
        self.violations.extend(later.violations);
        if self.out_of_range.is_none() {
            self.out_of_range = later.out_of_range;
        }
    }

    /// The outcome: every violation, else the first out-of-range value.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, DefinitionError> {
        if !self.violations.is_empty() {
            return Err(DefinitionError::Invalid(ValidationError {
                violations: self.violations,
            }));
        }
        if let Some((field, value)) = self.out_of_range {
            return Err(DefinitionError::OutOfRange { field, value });
        }
        value.ok_or_else(|| {
            DefinitionError::Invalid(ValidationError {
                violations: Vec::new(),
            })
        })
    }

    pub(super) fn out_of_range(&mut self, place: Place<'_>, raw: &Raw<'_>) {
        if self.out_of_range.is_none() {
            let value = match raw {
                Raw::Number(t) => (*t).to_string(),
                Raw::String(s) => s.to_string(),
                other => other.show(),
            };
            self.out_of_range = Some((place.to_string(), value));
        }
    }
}

/// The value of a leaf written as a plain decimal, quoted or not (`"12.5"`,
/// `12.5`): the common case, read without building a [`Raw`]. `None` for
/// anything else, which the general reading then handles (and it gives
/// the same value for these texts).
#[inline]
pub(super) fn plain_leaf(value: Option<RawJson<'_>>) -> Option<Exact> {
    let text = value?.get();
    let inner = match text.as_bytes() {
        [b'"', .., b'"'] => text.get(1..text.len() - 1)?,
        _ => text,
    };
    crate::exact::parse_plain(inner.as_bytes())
}

/// A decimal as Lago reads it: a string, or (M14) a JSON number.
#[inline]
pub(super) fn decimal_of(raw: &Raw<'_>) -> Result<Exact, DecimalTextError> {
    match raw {
        Raw::String(s) => parse_decimal(s),
        Raw::Number(t) => parse_decimal(t),
        _ => Err(DecimalTextError::Invalid),
    }
}

/// Lago's `valid_amount?` (§8.1): a finite decimal ≥ 0. `place` names the
/// field with its index in messages; `field` and `code` are Lago's.
#[inline]
pub(crate) fn amount(
    report: &mut Report,
    raw: &Raw<'_>,
    field: &str,
    place: Place<'_>,
    code: &'static str,
) -> Option<Exact> {
    match decimal_of(raw) {
        Ok(d) => report.check(rules::amount(d, field, code, &place, &raw.shown())),
        Err(DecimalTextError::OutOfRange) => {
            report.out_of_range(place, raw);
            None
        }
        Err(_) => {
            report.violation(
                field,
                code,
                format!("{place} must be a decimal string >= 0, got {}", raw.show()),
            );
            None
        }
    }
}

/// A JSON integer (no fraction, no exponent) as u64.
#[inline]
pub(super) fn integer_of(raw: &Raw<'_>) -> Option<i128> {
    match raw {
        Raw::Number(t) => json_integer(t),
        _ => None,
    }
}

/// [`amount`] of a leaf, by the plain fast path when it applies.
#[inline]
pub(super) fn leaf_amount(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    field: &str,
    place: Place<'_>,
    code: &'static str,
) -> Option<Exact> {
    match plain_leaf(value) {
        Some(d) if !d.is_negative() => Some(d),
        _ => amount(report, &Raw::of(value), field, place, code),
    }
}

/// A model's properties after validation.
#[derive(Debug, Clone)]
pub(crate) struct Properties {
    pub model: ChargeModel,
    /// `pricing_group_keys` (or the older `grouped_by`), empty when the
    /// charge is not grouped.
    pub group_keys: Vec<String>,
}

/// Validates `properties` for `kind`, reporting into `report`; `prefix`
/// (e.g. `"filters[1].properties."`) places messages of filter properties.
pub(crate) fn properties(
    report: &mut Report,
    kind: ModelKind,
    props: &RawProperties<'_>,
    prefix: &str,
) -> Option<Properties> {
    let model = match kind {
        ModelKind::Standard => {
            let a = leaf_amount(
                report,
                props.amount,
                "amount",
                Place::key(prefix, "amount"),
                "invalid_amount",
            );
            a.map(|amount| ChargeModel::Standard(crate::models::Standard::from_valid(amount)))
        }
        ModelKind::Graduated => {
            let tiers = ranges::priced(
                report,
                props.graduated_ranges.as_ref(),
                TierKind::Graduated,
                prefix,
            );
            tiers.map(|t| ChargeModel::Graduated(Graduated { ranges: t }))
        }
        ModelKind::Volume => {
            let tiers = ranges::priced(
                report,
                props.volume_ranges.as_ref(),
                TierKind::Volume,
                prefix,
            );
            tiers.map(|t| ChargeModel::Volume(Volume { ranges: t }))
        }
        ModelKind::GraduatedPercentage => {
            ranges::rated(report, props.graduated_percentage_ranges.as_ref(), prefix)
                .map(|t| ChargeModel::GraduatedPercentage(GraduatedPercentage { ranges: t }))
        }
        ModelKind::Package => models::package(report, props, prefix).map(ChargeModel::Package),
        ModelKind::Percentage => {
            models::percentage(report, props, prefix).map(ChargeModel::Percentage)
        }
        ModelKind::Dynamic => Some(ChargeModel::Dynamic),
    };
    let group_keys = keys::group_keys(report, props, prefix);
    // Lago drops presentation_group_keys from filters (semantics §1.3).
    if prefix.is_empty() {
        keys::presentation_keys(report, props, prefix);
    }
    Some(Properties {
        model: model?,
        group_keys: group_keys?,
    })
}
