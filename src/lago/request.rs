//! Reading a rating request (rating-json.md) into typed values.
//!
//! Every field is first taken as raw JSON, then converted by hand, so that
//! numbers keep their exact text and every message names the field path.

use std::borrow::Cow;
use std::fmt::Display;
use std::sync::Arc;

use crate::exact::Exact;
use crate::lago::raw::RawJson;
use serde::Deserialize;

use crate::charge::{Charge, ChargeFilter, Labels, PricingUnit, Tax, flag_rules};
use crate::currency::Currency;
use crate::error::{DefinitionError, ValidationError, Violation};
use crate::fee::Echo;
use crate::lago::decimal::{DecimalTextError, parse_decimal};
use crate::lago::fields::RawProperties;
pub(crate) use crate::lago::fields::{Envelope, Obj, RawBucket, RawCharge, UsageField};
use crate::lago::raw::Raw;
use crate::lago::validate::{self, Place, Report};
use crate::models::ChargeModel;
use crate::models::ModelKind;
use crate::rate::{Bucket, Event, Period};
use crate::rules;
use crate::usage::Usage;

/// Why a request could not be priced, as the contract's error codes. A
/// charge or plan definition's failure travels as it is, the library
/// face's [`DefinitionError`]: wrapped here, never converted back and forth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// `parse_error`.
    Parse(String),
    /// `unsupported`, with its message.
    Unsupported(String),
    /// `arithmetic_overflow` for a request value (usage, event).
    Overflow(String),
    /// `invalid_usage`.
    Usage(String),
    /// A definition that cannot be priced (its own code: validation,
    /// unsupported, out of range, malformed).
    Definition(DefinitionError),
}

impl From<DefinitionError> for RequestError {
    fn from(e: DefinitionError) -> Self {
        Self::Definition(e)
    }
}

impl RequestError {
    /// The contract's code.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Parse(_) => "parse_error",
            Self::Unsupported(_) => "unsupported",
            Self::Overflow(_) => "arithmetic_overflow",
            Self::Usage(_) => "invalid_usage",
            Self::Definition(d) => d.code(),
        }
    }

    /// The contract's message (violations joined with `"; "`).
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Parse(m) | Self::Unsupported(m) | Self::Overflow(m) | Self::Usage(m) => m.clone(),
            Self::Definition(d) => d.to_string(),
        }
    }

    /// The violations of a `validation_error`.
    pub(crate) fn details(&self) -> Option<&[Violation]> {
        match self {
            Self::Definition(DefinitionError::Invalid(v)) => Some(&v.violations),
            _ => None,
        }
    }

    /// The same error with every message placed by `place` (a charge's
    /// messages inside a plan), keeping the code.
    pub(crate) fn placed(self, place: impl Fn(&str) -> String) -> Self {
        let message = place(&self.message());
        match self {
            Self::Definition(DefinitionError::Invalid(v)) => {
                let violations = v
                    .violations
                    .into_iter()
                    .map(|x| Violation::new(x.field, x.code, place(&x.message)))
                    .collect();
                Self::Definition(DefinitionError::Invalid(ValidationError { violations }))
            }
            Self::Parse(_) | Self::Definition(DefinitionError::Malformed(_)) => {
                Self::Parse(message)
            }
            Self::Overflow(_) | Self::Definition(DefinitionError::OutOfRange { .. }) => {
                Self::Overflow(message)
            }
            Self::Usage(_) => Self::Usage(message),
            Self::Unsupported(_) | Self::Definition(_) => Self::Unsupported(message),
        }
    }

    /// The error as the library face reports a definition's failure
    /// (`from_lago_json`): a definition error as it is, anything else a
    /// malformed definition.
    pub(crate) fn into_definition(self) -> DefinitionError {
        match self {
            Self::Definition(d) => d,
            Self::Unsupported(m) | Self::Overflow(m) | Self::Parse(m) | Self::Usage(m) => {
                DefinitionError::Malformed(m)
            }
        }
    }
}

/// The top level with every part raw: only for explaining a request whose
/// one-pass read failed.
#[derive(Deserialize)]
pub(crate) struct LenientEnvelope<'a> {
    #[serde(borrow, default)]
    pub id: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    charge: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    usage: Option<RawJson<'a>>,
}

/// A request ready to price.
#[derive(Debug)]
pub(crate) struct Request {
    pub charge: Charge,
    pub buckets: Vec<Bucket>,
    pub event: Option<Event>,
    pub period: Period,
}

/// `{parent}.{key}`, formatted only when a message needs it.
#[derive(Clone, Copy)]
pub(crate) struct Sub<'a>(pub(crate) &'a dyn Display, pub(crate) &'a str);

impl Display for Sub<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// `{parent}[{index}]`, formatted only when a message needs it.
#[derive(Clone, Copy)]
pub(crate) struct Idx<'a>(pub(crate) &'a dyn Display, pub(crate) usize);

impl Display for Idx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// Where a raw value sits in the line, for messages (1-based byte column).
pub(crate) struct Line<'a> {
    pub(crate) text: &'a str,
}

impl Line<'_> {
    fn column(&self, raw: RawJson<'_>) -> usize {
        let start = self.text.as_ptr() as usize;
        let at = raw.get().as_ptr() as usize;
        at.saturating_sub(start) + 1
    }

    pub(crate) fn parse_error(
        &self,
        path: impl Display,
        raw: RawJson<'_>,
        what: &str,
    ) -> RequestError {
        RequestError::Parse(format!(
            "line 1, column {}: {path}: {what}",
            self.column(raw)
        ))
    }
}

pub(crate) fn object<'a, T: Deserialize<'a>>(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: RawJson<'a>,
) -> Result<T, RequestError> {
    if !raw.get().starts_with('{') {
        return Err(line.parse_error(path, raw, &format!("expected an object, got {}", raw.get())));
    }
    serde_json::from_str(raw.get()).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rfind(" at line ")
            .and_then(|i| message.get(..i))
            .unwrap_or(&message);
        // serde names the internal type; say what the contract expects.
        let message = message.replace("struct RawProperties", "a properties object");
        line.parse_error(path, raw, &message)
    })
}

pub(crate) fn string(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: Option<RawJson<'_>>,
) -> Result<Option<String>, RequestError> {
    Ok(borrowed_string(line, path, raw)?.map(Cow::into_owned))
}

/// A string field, borrowed from the request when it has no escapes (for
/// values only looked at, like the currency code).
pub(crate) fn borrowed_string<'a>(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: Option<RawJson<'a>>,
) -> Result<Option<Cow<'a, str>>, RequestError> {
    match raw {
        None => Ok(None),
        Some(r) => match Raw::of(Some(r)) {
            Raw::String(s) => Ok(Some(s)),
            _ => Err(line.parse_error(path, r, &format!("expected a string, got {}", r.get()))),
        },
    }
}

pub(crate) fn boolean(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: Option<RawJson<'_>>,
    default: bool,
) -> Result<bool, RequestError> {
    let Some(r) = raw else { return Ok(default) };
    match r.get() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(line.parse_error(path, r, &format!("expected a boolean, got {other}"))),
    }
}

/// The error a failed report stands for.
fn failure(report: Report) -> RequestError {
    match report.finish::<()>(None) {
        Err(e) => e.into(),
        Ok(()) => DefinitionError::Invalid(ValidationError {
            violations: Vec::new(),
        })
        .into(),
    }
}

/// A JSON integer, as an i128.
pub(crate) fn integer(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: RawJson<'_>,
) -> Result<i128, RequestError> {
    let text = raw.get();
    crate::lago::raw::json_integer(text).ok_or_else(|| {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            // An integer, but beyond any count or cent figure (2^127).
            RequestError::Overflow(format!(
                "{path}: {text} is outside the integer range (|x| < 2^127)"
            ))
        } else {
            line.parse_error(path, raw, &format!("expected a JSON integer, got {text}"))
        }
    })
}

/// A decimal given as a JSON string or number, read exactly.
pub(crate) fn decimal(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: RawJson<'_>,
) -> Result<Exact, RequestError> {
    let parsed = match Raw::of(Some(raw)) {
        Raw::String(s) => parse_decimal(&s),
        Raw::Number(t) => parse_decimal(t),
        _ => {
            return Err(line.parse_error(
                path,
                raw,
                &format!("expected a decimal, got {}", raw.get()),
            ));
        }
    };
    match parsed {
        Ok(d) => Ok(d),
        Err(DecimalTextError::OutOfRange) => Err(RequestError::Overflow(format!(
            "{path}: {} is outside the decimal range (|x| < 2^96, at most 28 fractional digits)",
            raw.get()
        ))),
        Err(_) => {
            Err(line.parse_error(path, raw, &format!("expected a decimal, got {}", raw.get())))
        }
    }
}

fn opt_decimal(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: Option<RawJson<'_>>,
) -> Result<Option<Exact>, RequestError> {
    raw.map(|r| decimal(line, path, r)).transpose()
}

fn decimals(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: Option<RawJson<'_>>,
) -> Result<Vec<Exact>, RequestError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let items: Vec<RawJson<'_>> = serde_json::from_str(raw.get()).map_err(|_| {
        line.parse_error(
            path,
            raw,
            &format!("expected an array of decimals, got {}", raw.get()),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, r)| decimal(line, Idx(&path, i), *r))
        .collect()
}

/// A JSON object read as ordered (key, value) pairs.
struct Pairs<'a>(Vec<(Cow<'a, str>, RawJson<'a>)>);

impl<'de> Deserialize<'de> for Pairs<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Pairs<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, RawJson<'de>>()? {
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

pub(crate) fn pairs<'a>(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: RawJson<'a>,
) -> Result<Vec<(Cow<'a, str>, RawJson<'a>)>, RequestError> {
    if !raw.get().starts_with('{') {
        return Err(line.parse_error(path, raw, &format!("expected an object, got {}", raw.get())));
    }
    serde_json::from_str::<Pairs<'a>>(raw.get())
        .map(|p| p.0)
        .map_err(|e| line.parse_error(path, raw, &e.to_string()))
}

/// The members of an object whose keys name things (filter keys, group
/// keys): each key once, since JSON leaves a repeated key's meaning open.
fn unique_pairs<'a>(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: RawJson<'a>,
) -> Result<Vec<(Cow<'a, str>, RawJson<'a>)>, RequestError> {
    let members = pairs(line, path, raw)?;
    for (i, (k, v)) in members.iter().enumerate() {
        if members
            .get(..i)
            .is_some_and(|before| before.iter().any(|(b, _)| b == k))
        {
            return Err(line.parse_error(path, *v, &format!("key {k:?} is given twice")));
        }
    }
    Ok(members)
}

/// `{key: [string, ...]}` in the order given.
pub(crate) fn filter_values(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: RawJson<'_>,
) -> Result<Vec<(String, Vec<String>)>, RequestError> {
    unique_pairs(line, path, raw)?
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_str::<Vec<String>>(v.get())
                .map(|vals| (k.clone().into_owned(), vals))
                .map_err(|_| {
                    line.parse_error(
                        Sub(&path, &k),
                        v,
                        &format!("expected an array of strings, got {}", v.get()),
                    )
                })
        })
        .collect()
}

#[derive(Deserialize)]
struct RawFilter<'a> {
    #[serde(borrow, default)]
    values: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    properties: Option<Obj<RawProperties<'a>>>,
    #[serde(borrow, default)]
    invoice_display_name: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawTax<'a> {
    #[serde(borrow, default)]
    code: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    name: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    rate: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawPricingUnit<'a> {
    #[serde(borrow, default)]
    code: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pricing_unit: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    conversion_rate: Option<RawJson<'a>>,
}

/// The parts of a charge (or filter) that hold objects, read leniently.
#[derive(Deserialize)]
struct LenientCharge<'a> {
    #[serde(borrow, default)]
    properties: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    filters: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow, default)]
    value: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    prorated_value: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    precise_total_amount_cents: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawPeriod<'a> {
    #[serde(borrow, default)]
    duration_days: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    billed_days: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    elapsed_days: Option<RawJson<'a>>,
}

/// Parses and validates a whole request.
pub(crate) fn parse(text: &str, envelope: &Envelope<'_>) -> Result<Request, RequestError> {
    let line = Line { text };
    // Shapes first: a wrong JSON type anywhere outside `properties` is a
    // parse error, before any rule is checked.
    let raw_charge = envelope.charge.as_ref().map(|c| &c.0);
    let currency_code = borrowed_string(&line, "currency", envelope.currency)?;
    let buckets = match &envelope.usage {
        None => {
            return Err(RequestError::Parse(
                "usage: required (one bucket object or an array of them)".into(),
            ));
        }
        Some(UsageField::One(b)) => vec![parse_bucket(&line, "usage", b)?],
        Some(UsageField::Many(list)) => list
            .iter()
            .enumerate()
            .map(|(i, b)| parse_bucket(&line, &format!("usage[{i}]"), b))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let event = envelope.event.map(|e| parse_event(&line, e)).transpose()?;
    let period = parse_period(&line, envelope.period)?;

    let mut report = Report::default();
    let currency = currency(currency_code.as_deref(), &mut report);
    let Some(rc) = raw_charge else {
        report.violation("charge", "value_is_mandatory", "charge is required".into());
        return Err(failure(report));
    };
    let charge = parse_charge(&line, rc, currency, report)?;
    Ok(Request {
        charge,
        buckets,
        event,
        period,
    })
}

/// The request's `currency`: required, and one Lago accepts.
pub(crate) fn currency(code: Option<&str>, report: &mut Report) -> Option<Currency> {
    let Some(code) = code else {
        report.violation(
            "currency",
            "value_is_mandatory",
            "currency is required".into(),
        );
        return None;
    };
    let c = Currency::from_code(code);
    if c.is_none() {
        report.violation(
            "currency",
            "value_is_invalid",
            format!("currency {code:?} is not a currency Lago accepts"),
        );
    }
    c
}

/// Reads `currency` and one charge object of another contract (explore)
/// exactly as a rating request's: the same shapes, rules and errors.
/// `scanned` is the charge already read by the scanner, if it was.
pub(crate) fn read_charge<'a>(
    text: &str,
    currency_raw: Option<RawJson<'_>>,
    charge: RawJson<'a>,
    scanned: Option<RawCharge<'a>>,
) -> Result<Charge, RequestError> {
    let line = Line { text };
    let code = borrowed_string(&line, "currency", currency_raw)?;
    // The one-pass scanner for the plain charge, serde for the rest.
    let scanned = scanned
        .or_else(|| super::scan::charge(charge.get()))
        .ok_or(());
    let rc: RawCharge<'_> = match scanned.or_else(|()| object(&line, "charge", charge)) {
        Ok(rc) => rc,
        // Say which object is malformed, as `explain` does for `rate`.
        Err(e) => {
            let lc: LenientCharge<'_> = object(&line, "charge", charge)?;
            if let Some(p) = lc.properties {
                let _: RawJson<'_> = object(&line, "charge.properties", p)?;
            }
            return Err(e);
        }
    };
    let mut report = Report::default();
    let currency = currency(code.as_deref(), &mut report);
    parse_charge(&line, &rc, currency, report)
}

/// Reads a bucket template (a bucket without `units`) as a rating request
/// reads a bucket; its units are 0.
pub(crate) fn read_template(text: &str, raw: Option<RawJson<'_>>) -> Result<Bucket, RequestError> {
    let line = Line { text };
    let Some(raw) = raw else {
        return Ok(Bucket::new(Usage::default()));
    };
    let rb: RawBucket<'_> = match super::scan::bucket(raw.get()) {
        Some(rb) => rb,
        None => object(&line, "usage", raw)?,
    };
    bucket_of(&line, "usage", &rb, Exact::ZERO)
}

pub(crate) fn parse_charge(
    line: &Line<'_>,
    rc: &RawCharge<'_>,
    currency: Option<Currency>,
    mut report: Report,
) -> Result<Charge, RequestError> {
    let model_name = borrowed_string(line, "charge.charge_model", rc.charge_model)?;
    let kind = model_kind(model_name.as_deref(), &mut report)?;
    if !Raw::of(rc.group_properties).is_blank() {
        return Err(RequestError::Definition(
            DefinitionError::UnsupportedField {
                field: "charge.group_properties".into(),
                reason: "Lago's legacy per-group properties; give them as charge.filters".into(),
            },
        ));
    }
    let flags = read_flags(line, rc)?;
    let labels = Labels {
        code: string(line, "charge.code", rc.code)?,
        billable_metric_code: string(line, "charge.billable_metric_code", rc.billable_metric_code)?,
        billable_metric_name: string(line, "charge.billable_metric_name", rc.billable_metric_name)?,
        invoice_display_name: string(line, "charge.invoice_display_name", rc.invoice_display_name)?,
    };
    let no_properties = RawProperties::default();
    let raw_props = rc.properties.as_ref().map_or(&no_properties, |p| &p.0);
    let filters_raw = read_filters(line, rc.filters)?;
    let taxes = parse_taxes(line, "charge.taxes", rc.taxes, &mut report)?;
    let pricing_unit = parse_pricing_unit(line, rc.applied_pricing_unit, &mut report)?;
    // Charge-level rules (semantics.md §8.4), the builder's own.
    let (pay_in_advance, invoiceable, prorated, min) = flags;
    let flags = (pay_in_advance, invoiceable, prorated);
    flag_rules(kind, flags, min, &mut report.violations);
    let props = kind.and_then(|k| validate::properties(&mut report, k, raw_props, ""));
    let mut filters = Vec::with_capacity(filters_raw.len());
    for (i, (values, p, name)) in filters_raw.into_iter().enumerate() {
        let prefix = format!("filters[{i}].properties.");
        if let Some(fp) = kind.and_then(|k| validate::properties(&mut report, k, &p, &prefix)) {
            filters.push(ChargeFilter {
                values,
                model: fp.model,
                group_keys: fp.group_keys,
                invoice_display_name: name,
            });
        }
    }
    let (Some(currency), Some(props)) = (currency, props) else {
        return Err(failure(report));
    };
    let echo = Echo::new(&props.model, currency, invoiceable, labels, &filters);
    let charge = Charge {
        currency,
        model: props.model,
        group_keys: props.group_keys,
        filters,
        pay_in_advance,
        invoiceable,
        prorated,
        min_amount_cents: min,
        taxes,
        pricing_unit,
        echo: Arc::new(echo),
    };
    report.finish(Some(charge)).map_err(RequestError::from)
}

/// `charge_model`: required, a model meterprice prices (`custom` is
/// refused as unsupported).
fn model_kind(name: Option<&str>, report: &mut Report) -> Result<Option<ModelKind>, RequestError> {
    let Some(name) = name else {
        report.violation(
            "charge_model",
            "value_is_mandatory",
            "charge.charge_model is required".into(),
        );
        return Ok(None);
    };
    if name == "custom" {
        return Err(RequestError::Definition(DefinitionError::Unsupported(
            "custom".into(),
        )));
    }
    let k = ModelKind::from_name(name);
    if k.is_none() {
        report.violation(
            "charge_model",
            "value_is_invalid",
            format!("charge.charge_model {name:?} is not a charge model"),
        );
    }
    Ok(k)
}

/// `pay_in_advance`, `invoiceable`, `prorated` and `min_amount_cents`.
fn read_flags(
    line: &Line<'_>,
    rc: &RawCharge<'_>,
) -> Result<(bool, bool, bool, i128), RequestError> {
    let pay_in_advance = boolean(line, "charge.pay_in_advance", rc.pay_in_advance, false)?;
    let invoiceable = boolean(line, "charge.invoiceable", rc.invoiceable, true)?;
    let prorated = boolean(line, "charge.prorated", rc.prorated, false)?;
    let min_amount_cents = match rc.min_amount_cents {
        None => 0,
        Some(r) if r.get() == "null" => 0,
        Some(r) => integer(line, "charge.min_amount_cents", r)?,
    };
    Ok((pay_in_advance, invoiceable, prorated, min_amount_cents))
}

/// A filter as read: its values, raw properties and display name.
type RawFilterParts<'a> = (
    Vec<(String, Vec<String>)>,
    RawProperties<'a>,
    Option<String>,
);

/// `charge.filters`, each read as far as its shape.
fn read_filters<'a>(
    line: &Line<'_>,
    raw: Option<RawJson<'a>>,
) -> Result<Vec<RawFilterParts<'a>>, RequestError> {
    let raw_filters = match raw {
        None => Vec::new(),
        Some(f) => serde_json::from_str::<Vec<RawJson<'_>>>(f.get()).map_err(|_| {
            line.parse_error(
                "charge.filters",
                f,
                &format!("expected an array, got {}", f.get()),
            )
        })?,
    };
    let mut out = Vec::with_capacity(raw_filters.len());
    for (i, f) in raw_filters.iter().enumerate() {
        let path = format!("charge.filters[{i}]");
        let rf: RawFilter<'_> = object(line, &path, *f)?;
        let values = match rf.values {
            Some(v) => filter_values(line, Sub(&path, "values"), v)?,
            None => Vec::new(),
        };
        let props = rf.properties.map(|p| p.0).unwrap_or_default();
        let name = string(
            line,
            Sub(&path, "invoice_display_name"),
            rf.invoice_display_name,
        )?;
        out.push((values, props, name));
    }
    Ok(out)
}

/// A list of taxes at `path` (`charge.taxes`, `taxes`, `plan.taxes`).
pub(crate) fn parse_taxes(
    line: &Line<'_>,
    path: &str,
    raw: Option<RawJson<'_>>,
    report: &mut Report,
) -> Result<Vec<Tax>, RequestError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let items: Vec<RawJson<'_>> = serde_json::from_str(raw.get()).map_err(|_| {
        line.parse_error(path, raw, &format!("expected an array, got {}", raw.get()))
    })?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let rt: RawTax<'_> = object(line, &path, *item)?;
        let code = string(line, Sub(&path, "code"), rt.code)?.unwrap_or_default();
        let name = string(line, Sub(&path, "name"), rt.name)?;
        let rate_raw = Raw::of(rt.rate);
        let rate_path = format!("{path}.");
        let rate = validate::amount(
            report,
            &rate_raw,
            "rate",
            Place::key(&rate_path, "rate"),
            "value_is_invalid",
        );
        if let Some(rate) = rate {
            out.push(Tax { code, name, rate });
        }
    }
    Ok(out)
}

fn parse_pricing_unit(
    line: &Line<'_>,
    raw: Option<RawJson<'_>>,
    report: &mut Report,
) -> Result<Option<PricingUnit>, RequestError> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    let path = "charge.applied_pricing_unit";
    let rp: RawPricingUnit<'_> = object(line, path, raw)?;
    let code = match string(line, Sub(&path, "code"), rp.code)? {
        Some(c) => c,
        None => string(line, Sub(&path, "pricing_unit"), rp.pricing_unit)?.unwrap_or_default(),
    };
    const FIELD: &str = "applied_pricing_unit.conversion_rate";
    let rate_raw = Raw::of(rp.conversion_rate);
    let rate = validate::amount(
        report,
        &rate_raw,
        FIELD,
        Place::key("charge.applied_pricing_unit.", "conversion_rate"),
        "value_is_out_of_range",
    );
    let rate = rate.and_then(|r| report.check(rules::conversion_rate(r, path)));
    Ok(rate.map(|conversion_rate| PricingUnit {
        code,
        conversion_rate,
    }))
}

/// Why a request that failed the one-pass read is malformed: each part is
/// read on its own, so the message names the part, path and column.
pub(crate) fn explain(
    text: &str,
    envelope: &LenientEnvelope<'_>,
    fallback: &serde_json::Error,
) -> RequestError {
    let line = Line { text };
    let check = || -> Result<(), RequestError> {
        if let Some(c) = envelope.charge {
            // `properties` objects first, for a message that names them.
            let lc: LenientCharge<'_> = object(&line, "charge", c)?;
            if let Some(p) = lc.properties {
                let _: RawJson<'_> = object(&line, "charge.properties", p)?;
            }
            let filters: Vec<LenientCharge<'_>> = match lc.filters {
                Some(f) => serde_json::from_str(f.get()).unwrap_or_default(),
                None => Vec::new(),
            };
            for (i, f) in filters.iter().enumerate() {
                if let Some(p) = f.properties {
                    let path = format!("charge.filters[{i}].properties");
                    let _: RawJson<'_> = object(&line, path.as_str(), p)?;
                }
            }
            let _: RawCharge<'_> = object(&line, "charge", c)?;
        }
        parse_usage(&line, envelope.usage)?;
        Ok(())
    };
    match check() {
        Err(e) => e,
        Ok(()) => RequestError::Parse(format!(
            "line {}, column {}: {fallback}",
            fallback.line(),
            fallback.column()
        )),
    }
}

fn parse_usage(line: &Line<'_>, raw: Option<RawJson<'_>>) -> Result<Vec<Bucket>, RequestError> {
    let Some(raw) = raw else {
        return Err(RequestError::Parse(
            "usage: required (one bucket object or an array of them)".into(),
        ));
    };
    let text = raw.get();
    if text.starts_with('{') {
        let rb: RawBucket<'_> = object(line, "usage", raw)?;
        return Ok(vec![parse_bucket(line, "usage", &rb)?]);
    }
    if !text.starts_with('[') {
        return Err(line.parse_error(
            "usage",
            raw,
            &format!("expected an object or an array, got {text}"),
        ));
    }
    let items: Vec<RawJson<'_>> =
        serde_json::from_str(text).map_err(|e| line.parse_error("usage", raw, &e.to_string()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let path = format!("usage[{i}]");
            let rb: RawBucket<'_> = object(line, &path, *b)?;
            parse_bucket(line, &path, &rb)
        })
        .collect()
}

pub(crate) fn parse_bucket(
    line: &Line<'_>,
    path: &str,
    rb: &RawBucket<'_>,
) -> Result<Bucket, RequestError> {
    let Some(units_raw) = rb.units else {
        return Err(RequestError::Parse(format!("{path}: units is required")));
    };
    let units = decimal(line, Sub(&path, "units"), units_raw)?;
    bucket_of(line, path, rb, units)
}

/// A bucket's fields besides `units`.
fn bucket_of(
    line: &Line<'_>,
    path: &str,
    rb: &RawBucket<'_>,
    units: Exact,
) -> Result<Bucket, RequestError> {
    let events_count = match rb.events_count {
        None => 0,
        Some(r) if r.get() == "null" => 0,
        Some(r) => {
            let n = integer(line, Sub(&path, "events_count"), r)?;
            u64::try_from(n).map_err(|_| {
                RequestError::Usage(format!(
                    "{path}.events_count must be {}, got {n}",
                    range_rule(n, u64::MAX)
                ))
            })?
        }
    };
    let mut usage = Usage::new(units).with_events_count(events_count);
    usage.event_values = decimals(line, Sub(&path, "event_values"), rb.event_values)?;
    usage.prorated_event_values = decimals(
        line,
        Sub(&path, "prorated_event_values"),
        rb.prorated_event_values,
    )?;
    usage.full_units_number =
        opt_decimal(line, Sub(&path, "full_units_number"), rb.full_units_number)?;
    usage.precise_total_amount_cents = opt_decimal(
        line,
        Sub(&path, "precise_total_amount_cents"),
        rb.precise_total_amount_cents,
    )?;
    let filter = rb
        .filter
        .map(|f| filter_values(line, Sub(&path, "filter"), f))
        .transpose()?;
    let grouped_by = match rb.grouped_by {
        None => None,
        Some(g) => {
            let pairs = unique_pairs(line, Sub(&path, "grouped_by"), g)?;
            let mut out = Vec::with_capacity(pairs.len());
            for (k, v) in pairs {
                let value = match Raw::of(Some(v)) {
                    Raw::Null => None,
                    Raw::String(s) => Some(s.into_owned()),
                    _ => {
                        return Err(line.parse_error(
                            Sub(&Sub(&path, "grouped_by"), &k),
                            v,
                            &format!("expected a string or null, got {}", v.get()),
                        ));
                    }
                };
                out.push((k.into_owned(), value));
            }
            Some(out)
        }
    };
    Ok(Bucket {
        usage,
        filter,
        grouped_by,
    })
}

fn parse_event(line: &Line<'_>, raw: RawJson<'_>) -> Result<Event, RequestError> {
    let re: RawEvent<'_> = object(line, "event", raw)?;
    let Some(v) = re.value else {
        return Err(line.parse_error("event", raw, "value is required"));
    };
    Ok(Event {
        value: decimal(line, "event.value", v)?,
        prorated_value: opt_decimal(line, "event.prorated_value", re.prorated_value)?,
        precise_total_amount_cents: opt_decimal(
            line,
            "event.precise_total_amount_cents",
            re.precise_total_amount_cents,
        )?,
    })
}

fn days(
    line: &Line<'_>,
    path: impl Display + Copy,
    raw: Option<RawJson<'_>>,
) -> Result<Option<u32>, RequestError> {
    let Some(r) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    let n = integer(line, path, r)?;
    u32::try_from(n).map(Some).map_err(|_| {
        RequestError::Usage(format!(
            "{path} must be a whole number of days {}, got {n}",
            range_rule(n, u32::MAX)
        ))
    })
}

/// The bound an integer `n` outside `0..=max` breaks, for a message.
fn range_rule(n: i128, max: impl Display) -> String {
    if n < 0 {
        ">= 0".to_string()
    } else {
        format!("at most {max}")
    }
}

fn parse_period(line: &Line<'_>, raw: Option<RawJson<'_>>) -> Result<Period, RequestError> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(Period::full(1));
    };
    let rp: RawPeriod<'_> = object(line, "period", raw)?;
    let duration = days(line, "period.duration_days", rp.duration_days)?;
    let billed = days(line, "period.billed_days", rp.billed_days)?;
    let elapsed = days(line, "period.elapsed_days", rp.elapsed_days)?;
    let duration_days = match (duration, billed) {
        (Some(d), _) => d,
        (None, Some(b)) => b,
        (None, None) => 1,
    };
    let period = Period::new(duration_days, billed.unwrap_or(duration_days))
        .map_err(|e| RequestError::Usage(e.message))?;
    Ok(match elapsed {
        Some(e) => period.with_elapsed_days(e),
        None => period,
    })
}

/// Reads a charge definition (the contract's `charge` object) for
/// [`Charge::from_lago_json`].
pub(crate) fn charge_from_json(currency: &str, text: &str) -> Result<Charge, DefinitionError> {
    let line = Line { text };
    let to_definition = RequestError::into_definition;
    let raw: RawJson<'_> =
        serde_json::from_str(text).map_err(|e| DefinitionError::Malformed(e.to_string()))?;
    let rc: RawCharge<'_> = object(&line, "charge", raw).map_err(to_definition)?;
    let mut report = Report::default();
    let c = Currency::from_code(currency);
    if c.is_none() {
        report.violation(
            "currency",
            "value_is_invalid",
            format!("currency {currency:?} is not a currency Lago accepts"),
        );
    }
    parse_charge(&line, &rc, c, report).map_err(to_definition)
}

impl Charge {
    /// Builds a charge from Lago's JSON charge object (`charge_model`,
    /// `properties`, `filters`, `pay_in_advance`, `min_amount_cents`,
    /// `taxes`, `applied_pricing_unit`, …) priced in `currency`, checking
    /// every rule of semantics.md §8 at once.
    ///
    /// ```
    /// use meterprice::{Bucket, Charge, Period, Usage};
    /// let charge = Charge::from_lago_json("EUR", r#"{"charge_model": "graduated",
    ///   "properties": {"graduated_ranges": [
    ///     {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
    ///     {"from_value": 11, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "2"}]}}"#)?;
    /// let usage = Usage::new("12.5".parse()?);
    /// let fees = charge.rate(&[Bucket::new(usage)], &Period::full(31))?;
    /// // 10 × 1 + 2.5 × 0.5 + flat 2 = 13.25 EUR
    /// assert_eq!(fees.fees[0].amount_cents, 1325);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`DefinitionError::Invalid`] with every violation and Lago's codes,
    /// [`DefinitionError::Unsupported`] for `custom`,
    /// [`DefinitionError::UnsupportedField`] for the legacy
    /// `group_properties`,
    /// [`DefinitionError::OutOfRange`] for a value beyond the decimal range,
    /// [`DefinitionError::Malformed`] for JSON of the wrong shape.
    pub fn from_lago_json(currency: &str, charge: &str) -> Result<Self, DefinitionError> {
        charge_from_json(currency, charge)
    }
}

impl ChargeModel {
    /// Builds a model from its name and Lago's `properties` JSON object,
    /// with every validation rule of semantics.md §8.3.
    ///
    /// ```
    /// use meterprice::{ChargeModel, Currency, Usage};
    /// let m = ChargeModel::from_lago_json("package", r#"{"amount": "100", "package_size": 10, "free_units": 0}"#)?;
    /// let out = m.apply(&Usage::new("121".parse()?), Currency::from_code("EUR").unwrap())?;
    /// assert_eq!(out.amount, "1300".parse()?); // ceil(121 / 10) = 13 packages × 100
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Charge::from_lago_json`].
    pub fn from_lago_json(model: &str, properties: &str) -> Result<Self, DefinitionError> {
        let name =
            serde_json::to_string(model).map_err(|e| DefinitionError::Malformed(e.to_string()))?;
        let charge = format!(r#"{{"charge_model":{name},"properties":{properties}}}"#);
        charge_from_json("EUR", &charge).map(|c| c.model)
    }
}
