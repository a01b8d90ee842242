//! Reading a `meterprice usage` request (usage-json.md) into a plan, a
//! period, the given buckets and the options.

use serde::Deserialize;

use crate::aggregate::CarriedState;
use crate::customer_usage::{
    EventsSetup, PeriodError, PlanUsage, PresentationBreakdown, UsageBucket, UsageMode,
    UsageOptions, UsagePeriod,
};
use crate::exact::Exact;
use crate::lago::aggregate::request::carried_state;
use crate::lago::raw::Raw;
use crate::lago::raw::RawJson;
use crate::lago::request::{self as rq, Idx, Line, Obj, RawBucket, RequestError, Sub};
use crate::lago::validate::Report;
use crate::plan::Plan;
use crate::rate::Bucket;

use super::plan::{given, read_plan};

/// The top level of a usage request; every part stays raw until read.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RawRequest<'a> {
    #[serde(borrow, default)]
    pub(super) id: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    currency: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    timezone: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    period: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    taxes: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    plan: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub(super) events: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    usage: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    state: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    options: Option<RawJson<'a>>,
}

/// Reads the top level: a JSON object, else a parse error.
pub(super) fn envelope(text: &str) -> Result<RawRequest<'_>, String> {
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(e) => super::super::position(&e),
            Ok(_) => "line 1, column 1: a request must be a JSON object".into(),
        });
    }
    serde_json::from_str::<Obj<RawRequest<'_>>>(text)
        .map(|o| o.0)
        .map_err(|e| super::super::position(&e))
}

#[derive(Deserialize)]
struct RawPeriod<'a> {
    #[serde(borrow, default)]
    from_datetime: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    to_datetime: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    charges_duration: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawOptions<'a> {
    #[serde(borrow, default)]
    mode: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    apply_taxes: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    legacy_groups: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    strict_filters: Option<RawJson<'a>>,
}

/// A bucket's figures beyond the `rate` contract's bucket (U4, U10).
#[derive(Deserialize)]
struct RawBucketExtras<'a> {
    #[serde(borrow, default)]
    current_usage_units: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    total_aggregated_units: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    presentation_breakdowns: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawBreakdown<'a> {
    #[serde(borrow, default)]
    presentation_by: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    units: Option<RawJson<'a>>,
}

/// A request ready to price.
pub(super) struct UsageRequest {
    pub(super) plan: Plan,
    pub(super) period: UsagePeriod,
    pub(super) usage: PlanUsage,
    pub(super) options: UsageOptions,
    /// Which charges take the request's events, with their state.
    pub(super) setup: EventsSetup,
}

/// A bucket as read, its filter still given by values.
struct GivenBucket {
    bucket: Bucket,
    extras: UsageBucket,
}

/// Parses and validates a whole request: shapes first (`parse_error`),
/// then every rule (`validation_error`), then the buckets against the
/// plan (`invalid_usage`).
pub(super) fn parse(text: &str, raw: &RawRequest<'_>) -> Result<UsageRequest, RequestError> {
    let line = Line { text };
    let currency_code = rq::borrowed_string(&line, "currency", given(raw.currency))?;
    let timezone = rq::string(&line, "timezone", given(raw.timezone))?;
    let (period, duration) = read_period(&line, raw.period)?;
    let given_usage = read_usage(&line, given(raw.usage))?;
    read_list(&line, "events", given(raw.events))?;
    let mut report = Report::default();
    let (options, strict_filters) = read_options(&line, given(raw.options), &mut report)?;
    let currency = rq::currency(currency_code.as_deref(), &mut report);
    let taxes = rq::parse_taxes(&line, "taxes", given(raw.taxes), &mut report)?;
    let plan = read_plan(&line, raw.plan, currency, taxes, &mut report)?;
    let period = in_timezone(period, timezone.as_deref(), &mut report);
    let plan = report.finish(plan)?;
    let usage = resolve(&plan, given_usage)?;
    let mut setup = EventsSetup::default().with_strict_filters(strict_filters);
    setup.given_buckets = usage.0.clone();
    setup.states = read_state(&line, &plan, &usage, given(raw.state))?;
    let period = period.and_then(|p| match duration {
        Some(days) => p.with_charges_duration(days),
        None => Ok(p),
    });
    let period = period.map_err(|e| RequestError::Usage(e.to_string()))?;
    Ok(UsageRequest {
        plan,
        period,
        usage: usage.1,
        options,
        setup,
    })
}

/// `period`: the two datetimes (a text that is not RFC 3339 is a parse
/// error; a reversed period waits for the rules) and `charges_duration`.
fn read_period(
    line: &Line<'_>,
    raw: Option<RawJson<'_>>,
) -> Result<(Result<UsagePeriod, PeriodError>, Option<u32>), RequestError> {
    let Some(raw) = given(raw) else {
        return Err(RequestError::Parse(
            "period: required ({\"from_datetime\", \"to_datetime\", \"charges_duration\"})".into(),
        ));
    };
    let rp: RawPeriod<'_> = rq::object(line, "period", raw)?;
    let text = |key: &str, value: Option<RawJson<'_>>| -> Result<String, RequestError> {
        rq::string(line, Sub(&"period", key), given(value))?
            .ok_or_else(|| RequestError::Parse(format!("period.{key}: required")))
    };
    let from = text("from_datetime", rp.from_datetime)?;
    let to = text("to_datetime", rp.to_datetime)?;
    let period = match UsagePeriod::parse(&from, &to) {
        Err(PeriodError::Datetime { field, value }) => {
            let at = if field == "from_datetime" {
                rp.from_datetime
            } else {
                rp.to_datetime
            };
            let message = format!(
                "expected an RFC 3339 datetime such as \"2024-03-01T00:00:00Z\", got {value:?}"
            );
            return Err(match at {
                Some(r) => line.parse_error(Sub(&"period", field), r, &message),
                None => RequestError::Parse(message),
            });
        }
        other => other,
    };
    let duration = match given(rp.charges_duration) {
        None => None,
        Some(r) => {
            let n = rq::integer(line, "period.charges_duration", r)?;
            Some(u32::try_from(n).map_err(|_| {
                RequestError::Usage(format!(
                    "period.charges_duration must be a whole number of days > 0, got {n}"
                ))
            })?)
        }
    };
    Ok((period, duration))
}

/// The customer's time zone (C4): an unknown name is a rule broken.
fn in_timezone(
    period: Result<UsagePeriod, PeriodError>,
    timezone: Option<&str>,
    report: &mut Report,
) -> Result<UsagePeriod, PeriodError> {
    let Some(name) = timezone else {
        return period;
    };
    if let Err(e) = UsagePeriod::check_timezone(name) {
        report.violation("timezone", "value_is_invalid", e.to_string());
        return Err(e);
    }
    period.and_then(|p| p.in_timezone(name))
}

/// An array's length (the events are read by `super::events`).
fn read_list(line: &Line<'_>, path: &str, raw: Option<RawJson<'_>>) -> Result<usize, RequestError> {
    let Some(raw) = raw else { return Ok(0) };
    serde_json::from_str::<Vec<serde::de::IgnoredAny>>(raw.get())
        .map(|v| v.len())
        .map_err(|_| line.parse_error(path, raw, &format!("expected an array, got {}", raw.get())))
}

/// `options` (usage-json.md); an unknown mode is a rule broken.
fn read_options(
    line: &Line<'_>,
    raw: Option<RawJson<'_>>,
    report: &mut Report,
) -> Result<(UsageOptions, bool), RequestError> {
    let mut options = UsageOptions::default();
    let Some(raw) = raw else {
        return Ok((options, false));
    };
    let ro: RawOptions<'_> = rq::object(line, "options", raw)?;
    let flag = |key: &str, value: Option<RawJson<'_>>, default: bool| {
        rq::boolean(line, Sub(&"options", key), given(value), default)
    };
    options.apply_taxes = flag("apply_taxes", ro.apply_taxes, true)?;
    options.legacy_groups = flag("legacy_groups", ro.legacy_groups, false)?;
    // AD4's single assignment only changes aggregation.
    let strict = flag("strict_filters", ro.strict_filters, false)?;
    match rq::string(line, "options.mode", given(ro.mode))?.as_deref() {
        None | Some("current_usage") => {}
        Some("invoice") => options.mode = UsageMode::Invoice,
        Some(other) => report.violation(
            "options.mode",
            "value_is_invalid",
            format!("options.mode {other:?} is not \"current_usage\" or \"invoice\""),
        ),
    }
    Ok((options, strict))
}

/// `usage`: charge code → one bucket or a list, in the `rate` contract's
/// bucket form plus U4's and U10's figures.
fn read_usage(
    line: &Line<'_>,
    raw: Option<RawJson<'_>>,
) -> Result<Vec<(String, Vec<GivenBucket>)>, RequestError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, Vec<GivenBucket>)> = Vec::new();
    for (code, value) in rq::pairs(line, "usage", raw)? {
        let path = format!("usage.{code}");
        if out.iter().any(|(c, _)| *c == *code) {
            return Err(RequestError::Usage(format!("{path}: given twice")));
        }
        let items: Vec<RawJson<'_>> = match value.get().as_bytes().first() {
            Some(b'{') => vec![value],
            Some(b'[') => serde_json::from_str(value.get())
                .map_err(|e| line.parse_error(path.as_str(), value, &e.to_string()))?,
            _ => {
                return Err(line.parse_error(
                    path.as_str(),
                    value,
                    &format!(
                        "expected a bucket object or an array of them, got {}",
                        value.get()
                    ),
                ));
            }
        };
        let mut buckets = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            buckets.push(read_bucket(line, &format!("{path}[{i}]"), *item)?);
        }
        out.push((code.into_owned(), buckets));
    }
    Ok(out)
}

fn read_bucket(line: &Line<'_>, path: &str, raw: RawJson<'_>) -> Result<GivenBucket, RequestError> {
    let mut rb: RawBucket<'_> = rq::object(line, path, raw)?;
    // A null filter or label (as `aggregate` writes for the default bucket
    // and an ungrouped one) is no filter or label.
    rb.filter = given(rb.filter);
    rb.grouped_by = given(rb.grouped_by);
    let bucket = rq::parse_bucket(line, path, &rb)?;
    let re: RawBucketExtras<'_> = rq::object(line, path, raw)?;
    let decimal = |key: &str, value: Option<RawJson<'_>>| -> Result<Option<Exact>, RequestError> {
        given(value)
            .map(|r| rq::decimal(line, Sub(&path, key), r))
            .transpose()
    };
    let mut extras = UsageBucket {
        current_usage_units: decimal("current_usage_units", re.current_usage_units)?,
        total_aggregated_units: decimal("total_aggregated_units", re.total_aggregated_units)?,
        ..UsageBucket::default()
    };
    if let Some(list) = given(re.presentation_breakdowns) {
        let at = format!("{path}.presentation_breakdowns");
        let items: Vec<RawJson<'_>> = serde_json::from_str(list.get()).map_err(|_| {
            line.parse_error(
                at.as_str(),
                list,
                &format!("expected an array, got {}", list.get()),
            )
        })?;
        for (j, item) in items.iter().enumerate() {
            extras
                .presentation_breakdowns
                .push(read_breakdown(line, Idx(&at, j), *item)?);
        }
    }
    Ok(GivenBucket { bucket, extras })
}

fn read_breakdown(
    line: &Line<'_>,
    path: Idx<'_>,
    raw: RawJson<'_>,
) -> Result<PresentationBreakdown, RequestError> {
    let rb: RawBreakdown<'_> = rq::object(line, path, raw)?;
    let units = match given(rb.units) {
        Some(u) => rq::decimal(line, Sub(&path, "units"), u)?,
        None => return Err(RequestError::Parse(format!("{path}.units: required"))),
    };
    let mut by = Vec::new();
    if let Some(p) = given(rb.presentation_by) {
        for (k, v) in rq::pairs(line, Sub(&path, "presentation_by"), p)? {
            let value = match Raw::of(Some(v)) {
                Raw::Null => None,
                Raw::String(s) => Some(s.into_owned()),
                _ => {
                    return Err(line.parse_error(
                        Sub(&Sub(&path, "presentation_by"), &k),
                        v,
                        &format!("expected a string or null, got {}", v.get()),
                    ));
                }
            };
            by.push((k.into_owned(), value));
        }
    }
    Ok(PresentationBreakdown::new(by, units))
}

/// The given buckets against the plan: each code a charge of it, each
/// bucket's filter values one of its filters (the first that selects
/// them, as in the `rate` contract).
fn resolve(
    plan: &Plan,
    given_usage: Vec<(String, Vec<GivenBucket>)>,
) -> Result<(Vec<String>, PlanUsage), RequestError> {
    let mut usage = PlanUsage::new();
    let mut codes = Vec::with_capacity(given_usage.len());
    for (code, buckets) in given_usage {
        let Some(pc) = plan.charge(&code) else {
            return Err(RequestError::Usage(format!(
                "usage.{code}: the plan has no charge with code {code:?}"
            )));
        };
        let mut out = Vec::with_capacity(buckets.len());
        for (i, b) in buckets.into_iter().enumerate() {
            let filter = match &b.bucket.filter {
                None => None,
                Some(values) => Some(
                    pc.charge()
                        .filters()
                        .iter()
                        .position(|f| f.selects(values))
                        .ok_or_else(|| {
                            RequestError::Usage(format!(
                                "usage.{code}[{i}].filter {values:?} matches no charge filter"
                            ))
                        })?,
                ),
            };
            let mut bucket = b.extras;
            bucket.usage = b.bucket.usage;
            bucket.filter = filter;
            bucket.grouped_by = b.bucket.grouped_by;
            out.push(bucket);
        }
        usage = usage.with_buckets(code.clone(), out);
        codes.push(code);
    }
    Ok((codes, usage))
}

/// `state.charges.<code>` (aggregation.md §1.5, AD3): state only matters
/// to aggregation, so a charge given buckets ignores it (C7).
fn read_state(
    line: &Line<'_>,
    plan: &Plan,
    usage: &(Vec<String>, PlanUsage),
    raw: Option<RawJson<'_>>,
) -> Result<Vec<(String, CarriedState)>, RequestError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    #[derive(Deserialize)]
    struct RawState<'a> {
        #[serde(borrow, default)]
        charges: Option<RawJson<'a>>,
    }
    let rs: RawState<'_> = rq::object(line, "state", raw)?;
    let Some(charges) = given(rs.charges) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (code, value) in rq::pairs(line, "state.charges", charges)? {
        if plan.charge(&code).is_none() {
            return Err(RequestError::Usage(format!(
                "state.charges.{code}: the plan has no charge with code {code:?}"
            )));
        }
        if usage.0.iter().any(|c| *c == *code) {
            continue;
        }
        let path = format!("state.charges.{code}");
        match carried_state(value.get()) {
            Err(e) => return Err(line.parse_error(path.as_str(), value, &e)),
            Ok(Err(mut violations)) => {
                for v in &mut violations {
                    v.field = format!("{path}.{}", v.field);
                }
                return Err(RequestError::Definition(
                    crate::error::DefinitionError::Invalid(crate::error::ValidationError {
                        violations,
                    }),
                ));
            }
            Ok(Ok(state)) => out.push((code.into_owned(), state)),
        }
    }
    Ok(out)
}

/// Carried state per subscription: each charge code with its state.
pub(super) type SubscriptionStates = Vec<(String, Vec<(String, CarriedState)>)>;

/// A billing run's plan (usage-json.md, "Billing run"): a usage request
/// without `id`, `period` and `events`, priced over `period` (JSON text of
/// a request's `period`), its `state` keyed by `external_subscription_id`.
pub(super) fn parse_run_plan(
    text: &str,
    period: &str,
) -> Result<(UsageRequest, SubscriptionStates), RequestError> {
    let mut raw = envelope(text).map_err(RequestError::Parse)?;
    for (key, given_there) in [
        ("id", raw.id.is_some()),
        ("period", raw.period.is_some()),
        ("events", raw.events.is_some()),
    ] {
        if given_there {
            return Err(RequestError::Parse(format!(
                "{key}: a billing run's plan has no {key} (the period comes from --from and --to, the events from the event file)"
            )));
        }
    }
    let period: RawJson<'_> =
        serde_json::from_str(period).map_err(|e| RequestError::Parse(e.to_string()))?;
    raw.period = Some(period);
    let state = raw.state.take();
    let req = parse(text, &raw)?;
    let line = Line { text };
    let given_usage = (req.setup.given_buckets.clone(), req.usage.clone());
    let mut states = Vec::new();
    if let Some(s) = given(state) {
        for (subscription, value) in rq::pairs(&line, "state", s)? {
            let read = read_state(&line, &req.plan, &given_usage, Some(value))?;
            states.push((subscription.into_owned(), read));
        }
    }
    Ok((req, states))
}
