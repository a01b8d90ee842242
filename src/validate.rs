//! Lago's validation rules (semantics.md §8) as data: raw property values
//! in, a typed model or every violation out.
//!
//! Values arrive as raw JSON so that numbers keep their exact text and wrong
//! types become violations with Lago's codes, never parse failures.

use std::borrow::Cow;

use crate::exact::{self, Exact};
use crate::raw_json::RawJson;
use serde::Deserialize;

use crate::decimal_text::{DecimalTextError, parse_decimal};
use crate::error::{DefinitionError, ValidationError, Violation};
use crate::models::{
    ChargeModel, Graduated, GraduatedPercentage, Package, Percentage, RateTierPrice, TierPrice,
    Volume,
};
use crate::tiers::{Tier, Tiers};

/// A JSON value seen only as far as validation needs.
#[derive(Debug)]
pub(crate) enum Raw<'a> {
    /// Absent or `null`.
    Null,
    /// `true` / `false`.
    Bool,
    /// A JSON number, as its exact text.
    Number(&'a str),
    /// A JSON string, unescaped.
    String(Cow<'a, str>),
    /// A JSON array.
    Array(RawJson<'a>),
    /// A JSON object.
    Object(RawJson<'a>),
}

impl<'a> Raw<'a> {
    pub(crate) fn of(value: Option<RawJson<'a>>) -> Self {
        let Some(v) = value else { return Self::Null };
        let text = v.get();
        match text.as_bytes().first() {
            // A string without escapes is its text between the quotes (the
            // outer parse already checked it); only escapes need decoding.
            Some(b'"') => match text.get(1..text.len().saturating_sub(1)) {
                Some(inner) if text.len() >= 2 && !inner.contains('\\') && text.ends_with('"') => {
                    Self::String(Cow::Borrowed(inner))
                }
                _ => match serde_json::from_str::<Cow<'a, str>>(text) {
                    Ok(s) => Self::String(s),
                    Err(_) => Self::Null,
                },
            },
            Some(b'[') => Self::Array(v),
            Some(b'{') => Self::Object(v),
            Some(b't' | b'f') => Self::Bool,
            Some(b'n') | None => Self::Null,
            Some(_) => Self::Number(text),
        }
    }

    /// How the value reads in a message.
    fn show(&self) -> String {
        match self {
            Self::Null => "null".into(),
            Self::Bool => "a boolean".into(),
            Self::Number(t) => (*t).to_string(),
            Self::String(s) => format!("{s:?}"),
            Self::Array(_) => "an array".into(),
            Self::Object(_) => "an object".into(),
        }
    }

    /// Lago's `blank?`: null, an empty or whitespace string, `[]`, `{}`.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Self::Null => true,
            Self::String(s) => s.trim().is_empty(),
            Self::Array(v) | Self::Object(v) => {
                let inner = v
                    .get()
                    .get(1..v.get().len().saturating_sub(1))
                    .unwrap_or("");
                inner.trim().is_empty()
            }
            Self::Bool | Self::Number(_) => false,
        }
    }
}

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
    fn with_key(self, key: &'a str) -> Self {
        Self { key, ..self }
    }

    /// `{prefix}{list}[{index}].{key}` (no `.key` when `key` is empty).
    fn item(prefix: &'a str, list: &'a str, index: usize, key: &'a str) -> Self {
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
    pub(crate) fn violation(&mut self, field: &str, code: &'static str, message: String) {
        self.violations.push(Violation::new(field, code, message));
    }

    /// Adds what `later` found after this report's own findings.
    fn append(&mut self, later: Report) {
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

    fn out_of_range(&mut self, place: Place<'_>, raw: &Raw<'_>) {
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
fn plain_leaf(value: Option<RawJson<'_>>) -> Option<Exact> {
    let text = value?.get();
    let inner = match text.as_bytes() {
        [b'"', .., b'"'] => text.get(1..text.len() - 1)?,
        _ => text,
    };
    crate::decimal_text::parse_plain(inner.as_bytes())
}

/// A decimal as Lago reads it: a string, or (M14) a JSON number.
fn decimal_of(raw: &Raw<'_>) -> Result<Exact, DecimalTextError> {
    match raw {
        Raw::String(s) => parse_decimal(s),
        Raw::Number(t) => parse_decimal(t),
        _ => Err(DecimalTextError::Invalid),
    }
}

/// Lago's `valid_amount?` (§8.1): a finite decimal ≥ 0. `place` names the
/// field with its index in messages; `field` and `code` are Lago's.
pub(crate) fn amount(
    report: &mut Report,
    raw: &Raw<'_>,
    field: &str,
    place: Place<'_>,
    code: &'static str,
) -> Option<Exact> {
    match decimal_of(raw) {
        Ok(d) if d.is_negative() && !d.is_zero() => {
            report.violation(
                field,
                code,
                format!("{place} must be a decimal >= 0, got {}", raw.show()),
            );
            None
        }
        Ok(d) => Some(d),
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

/// A JSON integer (no fraction, no exponent) as u64.
fn integer_of(raw: &Raw<'_>) -> Option<i128> {
    match raw {
        Raw::Number(t) => json_integer(t),
        _ => None,
    }
}

/// The text of a JSON number as an integer, when it has no fraction and no
/// exponent (`10`, `-3`; not `10.0` or `1e1`).
pub(crate) fn json_integer(text: &str) -> Option<i128> {
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        text.parse().ok()
    } else {
        None
    }
}

/// The raw keys of Lago's `properties`, each read without assuming a type.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub(crate) struct RawProperties<'a> {
    #[serde(borrow, default)]
    pub(crate) amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) graduated_ranges: Option<RangeList<'a>>,
    #[serde(borrow, default)]
    pub(crate) graduated_percentage_ranges: Option<RangeList<'a>>,
    #[serde(borrow, default)]
    pub(crate) volume_ranges: Option<RangeList<'a>>,
    #[serde(borrow, default)]
    pub(crate) package_size: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) free_units: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) rate: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) fixed_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) free_units_per_events: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) free_units_per_total_aggregation: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) per_transaction_min_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) per_transaction_max_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) pricing_group_keys: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) grouped_by: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) presentation_group_keys: Option<RawJson<'a>>,
}

/// A tier list read in the same pass as the rest of the request: the
/// ranges when it is a list, else what it was (for Lago's codes).
#[derive(Debug, PartialEq)]
pub(crate) enum RangeList<'a> {
    /// A JSON array: each element a range object, or not.
    Items(Vec<RangeItem<'a>>),
    /// Anything else: whether it is blank (`""`, `{}`), and what it is.
    Other { blank: bool, shown: &'static str },
}

/// One element of a tier list.
#[derive(Debug, PartialEq)]
pub(crate) enum RangeItem<'a> {
    /// An object.
    Range(RawRange<'a>),
    /// Anything else.
    NotObject,
}

impl<'de: 'a, 'a> Deserialize<'de> for RangeList<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RangeList<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of ranges")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RangeList::Items(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut blank = true;
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {
                    blank = false;
                }
                Ok(RangeList::Other {
                    blank,
                    shown: "an object",
                })
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: v.trim().is_empty(),
                    shown: "a string",
                })
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a boolean",
                })
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a number",
                })
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a number",
                })
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: false,
                    shown: "a number",
                })
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RangeList::Other {
                    blank: true,
                    shown: "null",
                })
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RangeItem<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RangeItem<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a range")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                RawRange::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RangeItem::Range)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(RangeItem::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RangeItem::NotObject)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One raw tier.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub(crate) struct RawRange<'a> {
    #[serde(borrow, default)]
    pub(crate) from_value: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) to_value: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) per_unit_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) flat_amount: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(crate) rate: Option<RawJson<'a>>,
}

/// A model's properties after validation.
#[derive(Debug, Clone)]
pub(crate) struct Properties {
    pub model: ChargeModel,
    /// `pricing_group_keys` (or the older `grouped_by`), empty when the
    /// charge is not grouped.
    pub group_keys: Vec<String>,
}

/// The models the contract prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelKind {
    Standard,
    Graduated,
    GraduatedPercentage,
    Package,
    Percentage,
    Volume,
    Dynamic,
}

impl ModelKind {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "standard" => Self::Standard,
            "graduated" => Self::Graduated,
            "graduated_percentage" => Self::GraduatedPercentage,
            "package" => Self::Package,
            "percentage" => Self::Percentage,
            "volume" => Self::Volume,
            "dynamic" => Self::Dynamic,
            _ => return None,
        })
    }
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
            let tiers = ranges(
                report,
                props.graduated_ranges.as_ref(),
                RangeKind::Graduated,
                prefix,
            );
            tiers.map(|t| ChargeModel::Graduated(Graduated { ranges: t }))
        }
        ModelKind::Volume => {
            let tiers = ranges(
                report,
                props.volume_ranges.as_ref(),
                RangeKind::Volume,
                prefix,
            );
            tiers.map(|t| ChargeModel::Volume(Volume { ranges: t }))
        }
        ModelKind::GraduatedPercentage => {
            percent_ranges(report, props.graduated_percentage_ranges.as_ref(), prefix)
                .map(|t| ChargeModel::GraduatedPercentage(GraduatedPercentage { ranges: t }))
        }
        ModelKind::Package => package(report, props, prefix).map(ChargeModel::Package),
        ModelKind::Percentage => percentage(report, props, prefix).map(ChargeModel::Percentage),
        ModelKind::Dynamic => Some(ChargeModel::Dynamic),
    };
    let group_keys = group_keys(report, props, prefix);
    // Lago drops presentation_group_keys from filters (semantics §1.3).
    if prefix.is_empty() {
        presentation_keys(report, props, prefix);
    }
    Some(Properties {
        model: model?,
        group_keys: group_keys?,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Graduated,
    Volume,
    GraduatedPercentage,
}

impl RangeKind {
    fn field(self) -> &'static str {
        match self {
            Self::Graduated => "graduated_ranges",
            Self::Volume => "volume_ranges",
            Self::GraduatedPercentage => "graduated_percentage_ranges",
        }
    }
    fn missing(self) -> &'static str {
        match self {
            Self::Graduated => "missing_graduated_ranges",
            Self::Volume => "missing_volume_ranges",
            Self::GraduatedPercentage => "missing_graduated_percentage_ranges",
        }
    }
    fn invalid(self) -> &'static str {
        match self {
            Self::Graduated => "invalid_graduated_ranges",
            Self::Volume => "invalid_volume_ranges",
            Self::GraduatedPercentage => "invalid_graduated_percentage_ranges",
        }
    }
}

/// Reads the raw tier list; `None` after reporting when it is missing or
/// not a list of objects.
fn raw_ranges<'l, 'a>(
    report: &mut Report,
    value: Option<&'l RangeList<'a>>,
    kind: RangeKind,
    prefix: &str,
) -> Option<&'l [RangeItem<'a>]> {
    let field = kind.field();
    let items = match value {
        None | Some(RangeList::Other { blank: true, .. }) => {
            report.violation(
                field,
                kind.missing(),
                format!("{prefix}{field} must be a non-empty list of ranges"),
            );
            return None;
        }
        Some(RangeList::Items(items)) if items.is_empty() => {
            report.violation(
                field,
                kind.missing(),
                format!("{prefix}{field} must be a non-empty list of ranges"),
            );
            return None;
        }
        Some(RangeList::Other { shown, .. }) => {
            report.violation(
                field,
                kind.invalid(),
                format!("{prefix}{field} must be a list of ranges, got {shown}"),
            );
            return None;
        }
        Some(RangeList::Items(items)) => items,
    };
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        if let RangeItem::NotObject = item {
            ok = false;
            report.violation(
                field,
                kind.invalid(),
                format!("{prefix}{field}[{i}] must be an object"),
            );
        }
    }
    ok.then_some(items.as_slice())
}

/// A range bound: a JSON number or (M13) a numeric string; `None` is null.
fn bound(report: &mut Report, raw: &Raw<'_>, place: Place<'_>) -> Result<Option<Exact>, ()> {
    match raw {
        Raw::Null => Ok(None),
        Raw::Number(_) | Raw::String(_) => match decimal_of(raw) {
            Ok(d) => Ok(Some(d)),
            Err(DecimalTextError::OutOfRange) => {
                report.out_of_range(place, raw);
                Err(())
            }
            Err(_) => Err(()),
        },
        _ => Err(()),
    }
}

/// [`bound`] of a leaf, by the plain fast path when it applies. Inlined:
/// two per range, and returned through memory its result costs more than
/// the fast path itself.
#[inline(always)]
fn leaf_bound(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    place: Place<'_>,
) -> Result<Option<Exact>, ()> {
    match plain_leaf(value) {
        Some(d) => Ok(Some(d)),
        None => bound(report, &Raw::of(value), place),
    }
}

/// The bound chain (§8.2), followed one range at a time.
struct Chain<'p> {
    kind: RangeKind,
    prefix: &'p str,
    last: usize,
    /// The `from_value` the next range must start at (or one above).
    next_from: Exact,
    /// False once a bound could not be read: the chain is not followed
    /// past it.
    readable: bool,
}

impl<'p> Chain<'p> {
    fn new(kind: RangeKind, prefix: &'p str, len: usize) -> Self {
        Self {
            kind,
            prefix,
            last: len.saturating_sub(1),
            next_from: Exact::ZERO,
            readable: true,
        }
    }

    /// The bounds of range `i` when they continue the chain; else `None`,
    /// after reporting one violation that names the range.
    fn next(
        &mut self,
        report: &mut Report,
        r: &RawRange<'_>,
        i: usize,
    ) -> Option<(Exact, Option<Exact>)> {
        if !self.readable {
            return None;
        }
        let (kind, prefix) = (self.kind, self.prefix);
        let field = kind.field();
        let place = Place::item(prefix, field, i, "");
        // Texts for messages, only read when one is written.
        let from_shown = || Raw::of(r.from_value).show();
        let to_shown = || Raw::of(r.to_value).show();
        let from = leaf_bound(
            report,
            r.from_value,
            Place::item(prefix, field, i, "from_value"),
        );
        let to = leaf_bound(
            report,
            r.to_value,
            Place::item(prefix, field, i, "to_value"),
        );
        let (Ok(Some(from)), Ok(to)) = (from, to) else {
            self.readable = false;
            report.violation(
                field,
                kind.invalid(),
                format!(
                    "{place}: from_value and to_value must be numbers, got {} and {}",
                    from_shown(),
                    to_shown()
                ),
            );
            return None;
        };
        let next_from = self.next_from;
        let plus_one = exact::add(next_from, Exact::ONE, "range bound").ok();
        let start_ok = from == next_from || Some(from) == plus_one;
        let end_ok = if i == self.last {
            to.is_none()
        } else {
            to.unwrap_or(Exact::ZERO) > from
        };
        let step = match kind {
            RangeKind::Volume => Exact::ONE,
            _ => Exact::ZERO,
        };
        self.next_from =
            exact::add(to.unwrap_or(Exact::ZERO), step, "range bound").unwrap_or(Exact::ZERO);
        if !start_ok {
            let expected = match plus_one {
                Some(p) => format!("{} or {}", next_from.normalize(), p.normalize()),
                None => next_from.normalize().to_string(),
            };
            report.violation(
                field,
                kind.invalid(),
                format!(
                    "{place}: from_value must be {expected}, got {}",
                    from_shown()
                ),
            );
            return None;
        }
        if !end_ok {
            let why = if i == self.last {
                format!(
                    "{place}: the last range must have a null to_value, got {}",
                    to_shown()
                )
            } else {
                format!(
                    "{place}: to_value must be a number above from_value {}, got {}",
                    from_shown(),
                    to_shown()
                )
            };
            report.violation(field, kind.invalid(), why);
            return None;
        }
        Some((from, to))
    }
}

/// A tier list in one pass: each range's prices by `price`, its bounds by
/// the chain. Lago lists the chain's violations after every price's, so
/// they wait in a report of their own.
fn tier_list<P>(
    report: &mut Report,
    value: Option<&RangeList<'_>>,
    kind: RangeKind,
    prefix: &str,
    price: impl Fn(&mut Report, &RawRange<'_>, Place<'_>) -> Option<P>,
) -> Option<Tiers<P>> {
    let items = raw_ranges(report, value, kind, prefix)?;
    let mut chain_report = Report::default();
    let mut chain = Chain::new(kind, prefix, items.len());
    let mut tiers = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        // raw_ranges let only objects through.
        let RangeItem::Range(r) = item else { continue };
        let price = price(report, r, Place::item(prefix, kind.field(), i, ""));
        let bounds = chain.next(&mut chain_report, r, i);
        match (price, bounds) {
            (Some(price), Some((from_value, to_value))) => tiers.push(Tier {
                from_value,
                to_value,
                price,
            }),
            _ => ok = false,
        }
    }
    report.append(chain_report);
    ok.then(|| Tiers::new_unchecked(tiers))
}

/// An amount of range `at` (`at` names the range; `key` the field).
fn range_amount(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    at: Place<'_>,
    key: &'static str,
    code: &'static str,
) -> Option<Exact> {
    leaf_amount(report, value, key, at.with_key(key), code)
}

/// [`amount`] of a leaf, by the plain fast path when it applies.
fn leaf_amount(
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

fn ranges(
    report: &mut Report,
    value: Option<&RangeList<'_>>,
    kind: RangeKind,
    prefix: &str,
) -> Option<Tiers<TierPrice>> {
    tier_list(report, value, kind, prefix, |report, r, at| {
        let per = range_amount(
            report,
            r.per_unit_amount,
            at,
            "per_unit_amount",
            "invalid_amount",
        );
        let flat = range_amount(report, r.flat_amount, at, "flat_amount", "invalid_amount");
        Some(TierPrice {
            per_unit_amount: per?,
            flat_amount: flat?,
        })
    })
}

fn percent_ranges(
    report: &mut Report,
    value: Option<&RangeList<'_>>,
    prefix: &str,
) -> Option<Tiers<RateTierPrice>> {
    let kind = RangeKind::GraduatedPercentage;
    tier_list(report, value, kind, prefix, |report, r, at| {
        let flat = range_amount(report, r.flat_amount, at, "flat_amount", "invalid_amount");
        let rate = range_amount(report, r.rate, at, "rate", "invalid_rate");
        Some(RateTierPrice {
            rate: rate?,
            flat_amount: flat?,
        })
    })
}

fn package(report: &mut Report, props: &RawProperties<'_>, prefix: &str) -> Option<Package> {
    let amount = leaf_amount(
        report,
        props.amount,
        "amount",
        Place::key(prefix, "amount"),
        "invalid_amount",
    );
    let size_raw = Raw::of(props.package_size);
    let size = integer_of(&size_raw)
        .filter(|n| *n > 0)
        .and_then(|n| u64::try_from(n).ok());
    if size.is_none() {
        report.violation(
            "package_size",
            "invalid_package_size",
            format!(
                "{prefix}package_size must be an integer > 0, got {}",
                size_raw.show()
            ),
        );
    }
    let free_raw = Raw::of(props.free_units);
    let free = integer_of(&free_raw)
        .filter(|n| *n >= 0)
        .and_then(|n| u64::try_from(n).ok());
    if free.is_none() {
        report.violation(
            "free_units",
            "invalid_free_units",
            format!(
                "{prefix}free_units must be an integer >= 0, got {}",
                free_raw.show()
            ),
        );
    }
    Some(Package {
        amount: amount?,
        package_size: size?,
        free_units: free?,
    })
}

/// A per-transaction bound: blank means not set (M13), else a valid amount.
fn per_transaction(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    field: &str,
    prefix: &str,
) -> Result<Option<Exact>, ()> {
    let raw = Raw::of(value);
    if matches!(&raw, Raw::Null) || matches!(&raw, Raw::String(s) if s.trim().is_empty()) {
        return Ok(None);
    }
    amount(
        report,
        &raw,
        field,
        Place::key(prefix, field),
        "invalid_amount",
    )
    .map(Some)
    .ok_or(())
}

/// The value of a per-transaction bound that failed validation, when it is
/// a decimal all the same (a negative one).
fn bound_value(value: Option<RawJson<'_>>) -> Option<Exact> {
    match Raw::of(value) {
        Raw::String(s) if s.trim().is_empty() => None,
        raw => decimal_of(&raw).ok(),
    }
}

fn percentage(report: &mut Report, props: &RawProperties<'_>, prefix: &str) -> Option<Percentage> {
    let rate = leaf_amount(
        report,
        props.rate,
        "rate",
        Place::key(prefix, "rate"),
        "invalid_rate",
    );
    let fixed_raw = Raw::of(props.fixed_amount);
    let fixed = match fixed_raw {
        Raw::Null => Some(Exact::ZERO),
        _ => amount(
            report,
            &fixed_raw,
            "fixed_amount",
            Place::key(prefix, "fixed_amount"),
            "invalid_fixed_amount",
        ),
    };
    let n_raw = Raw::of(props.free_units_per_events);
    let n = match n_raw {
        Raw::Null => Some(None),
        _ => match integer_of(&n_raw)
            .filter(|n| *n > 0)
            .and_then(|n| u64::try_from(n).ok())
        {
            Some(n) => Some(Some(n)),
            None => {
                report.violation(
                    "free_units_per_events",
                    "invalid_free_units_per_events",
                    format!(
                        "{prefix}free_units_per_events must be an integer > 0, got {}",
                        n_raw.show()
                    ),
                );
                None
            }
        },
    };
    let t_raw = Raw::of(props.free_units_per_total_aggregation);
    let t = match t_raw {
        Raw::Null => Some(None),
        _ => amount(
            report,
            &t_raw,
            "free_units_per_total_aggregation",
            Place::key(prefix, "free_units_per_total_aggregation"),
            "invalid_free_units_per_total_aggregation",
        )
        // "0" counts as not set.
        .map(|t| (!t.is_zero()).then_some(t)),
    };
    let min = per_transaction(
        report,
        props.per_transaction_min_amount,
        "per_transaction_min_amount",
        prefix,
    );
    let max = per_transaction(
        report,
        props.per_transaction_max_amount,
        "per_transaction_max_amount",
        prefix,
    );
    // Compared whenever both bounds are numbers, even ones invalid on
    // their own (a negative bound): semantics.md §8.3 checks D(min) > D(max)
    // for any two non-null bounds.
    let value = |read: Result<Option<Exact>, ()>, raw| read.unwrap_or_else(|()| bound_value(raw));
    if let (Some(lo), Some(hi)) = (
        value(min, props.per_transaction_min_amount),
        value(max, props.per_transaction_max_amount),
    ) && lo > hi
    {
        report.violation(
            "per_transaction_max_amount",
            "per_transaction_max_lower_than_per_transaction_min",
            format!(
                "{prefix}per_transaction_max_amount {hi} is below per_transaction_min_amount {lo}"
            ),
        );
        return None;
    }
    Some(Percentage {
        rate: rate?,
        fixed_amount: fixed?,
        free_units_per_events: n?,
        free_units_per_total_aggregation: t?,
        per_transaction_min_amount: min.ok()?,
        per_transaction_max_amount: max.ok()?,
    })
}

/// `pricing_group_keys` (or `grouped_by` when it is null): null, `[]` or a
/// list of non-blank strings (semantics.md §8.3: Lago's `all?(&:present?)`).
fn group_keys(report: &mut Report, props: &RawProperties<'_>, prefix: &str) -> Option<Vec<String>> {
    // Lago validates `pricing_group_keys`, or `grouped_by` when it is null.
    let check = |report: &mut Report, field: &str, raw: &Raw<'_>| -> Option<Vec<String>> {
        let keys = match raw {
            Raw::Null => Some(Vec::new()),
            Raw::Array(v) => serde_json::from_str::<Vec<String>>(v.get())
                .ok()
                .filter(|k| k.iter().all(|s| !s.trim().is_empty())),
            _ => None,
        };
        if keys.is_none() {
            report.violation(
                field,
                "invalid_type",
                format!(
                    "{prefix}{field} must be a list of non-empty strings, got {}",
                    raw.show()
                ),
            );
        }
        keys
    };
    let pgk = Raw::of(props.pricing_group_keys);
    let legacy = Raw::of(props.grouped_by);
    if matches!(pgk, Raw::Null) {
        return check(report, "grouped_by", &legacy);
    }
    let keys = check(report, "pricing_group_keys", &pgk)?;
    // A blank `pricing_group_keys` gives way to `grouped_by` (semantics §1.3).
    if keys.is_empty() && !matches!(legacy, Raw::Null) {
        let mut quiet = Report::default();
        return Some(check(&mut quiet, "grouped_by", &legacy).unwrap_or_default());
    }
    Some(keys)
}

/// `presentation_group_keys`: display only, validated as Lago does: each
/// element an object with a non-empty string `value` and, optionally,
/// `options` exactly `{display_in_invoice: bool}`.
fn presentation_keys(report: &mut Report, props: &RawProperties<'_>, prefix: &str) {
    const FIELD: &str = "presentation_group_keys";
    let raw = Raw::of(props.presentation_group_keys);
    if raw.is_blank() {
        return;
    }
    let elements: Option<Vec<serde_json::Map<String, serde_json::Value>>> = match &raw {
        Raw::Array(v) => serde_json::from_str::<Vec<serde_json::Value>>(v.get())
            .ok()
            .map(|items| {
                items
                    .into_iter()
                    .filter_map(|i| {
                        if let serde_json::Value::Object(m) = i {
                            Some(m)
                        } else {
                            None
                        }
                    })
                    .collect()
            }),
        _ => None,
    };
    let element_count = match &raw {
        Raw::Array(v) => serde_json::from_str::<Vec<RawJson<'_>>>(v.get())
            .map(|x| x.len())
            .unwrap_or(0),
        _ => 0,
    };
    let valid_element = |m: &serde_json::Map<String, serde_json::Value>| {
        let value_ok = m
            .get("value")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|v| !v.trim().is_empty());
        let options_ok = match m.get("options") {
            None => true,
            Some(serde_json::Value::Object(o)) => {
                o.len() == 1
                    && o.get("display_in_invoice")
                        .is_some_and(serde_json::Value::is_boolean)
            }
            Some(_) => false,
        };
        value_ok && options_ok && m.keys().all(|k| k == "value" || k == "options")
    };
    let all_valid = elements
        .as_ref()
        .is_some_and(|e| e.len() == element_count && e.iter().all(valid_element));
    if !all_valid {
        report.violation(
            FIELD,
            "invalid_type",
            format!(
                "{prefix}{FIELD} must be a list of {{value, options}} objects, got {}",
                raw.show()
            ),
        );
    }
    // Lago counts with `size`: elements of a list, characters of a string,
    // keys of an object.
    let size = match &raw {
        Raw::Array(v) => serde_json::from_str::<Vec<RawJson<'_>>>(v.get())
            .map(|x| x.len())
            .unwrap_or(0),
        Raw::Object(v) => {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(v.get())
                .map(|m| m.len())
                .unwrap_or(0)
        }
        Raw::String(s) => s.chars().count(),
        _ => 0,
    };
    if size > 2 {
        report.violation(
            FIELD,
            "too_many_keys",
            format!("{prefix}{FIELD} has {size} keys, at most 2 are allowed"),
        );
    }
    // Duplicates are looked for among the values given, whatever else is
    // wrong with the list.
    let values: Vec<&str> = elements
        .iter()
        .flatten()
        .filter_map(|m| m.get("value").and_then(serde_json::Value::as_str))
        .collect();
    if values
        .iter()
        .enumerate()
        .any(|(i, v)| values.get(..i).is_some_and(|before| before.contains(v)))
    {
        report.violation(
            FIELD,
            "value_is_duplicated",
            format!("{prefix}{FIELD} repeats a value"),
        );
    }
}
