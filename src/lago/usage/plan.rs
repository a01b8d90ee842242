//! Reading a plan from Lago's JSON: its charges, each with its
//! `billable_metric` (usage-json.md), into a validated [`Plan`].

use serde::Deserialize;

use crate::charge::Tax;
use crate::currency::Currency;
use crate::error::{DefinitionError, ValidationError, Violation};
use crate::lago::raw::Raw;
use crate::lago::raw::RawJson;
use crate::lago::request::{self as rq, Line, RawCharge, RequestError, Sub};
use crate::lago::validate::Report;
use crate::plan::{AggregationType, BillableMetric, MetricAggregation, Plan, PlanCharge};

/// The parts of a plan object this reader looks at.
#[derive(Deserialize)]
struct RawPlan<'a> {
    #[serde(borrow, default)]
    plan: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    charges: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    taxes: Option<RawJson<'a>>,
}

/// What a plan charge has beyond the `rate` contract's charge.
#[derive(Deserialize)]
struct RawPlanCharge<'a> {
    #[serde(borrow, default)]
    lago_id: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    billable_metric: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    lago_billable_metric_id: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    billable_metric_code: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    applied_pricing_unit: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    properties: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    filters: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawMetric<'a> {
    #[serde(borrow, default)]
    lago_id: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    code: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    name: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    aggregation_type: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    recurring: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    field_name: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    rounding_function: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    rounding_precision: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    expression: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    filters: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct RawMetricFilter<'a> {
    #[serde(borrow, default)]
    key: Option<RawJson<'a>>,
    #[serde(default)]
    values: Option<Vec<String>>,
}

/// `short_name` of an applied pricing unit; `presentation_group_keys` of
/// properties; `lago_id` and `properties` of a filter.
#[derive(Deserialize)]
struct RawExtras<'a> {
    #[serde(borrow, default)]
    short_name: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    presentation_group_keys: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    lago_id: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    properties: Option<RawJson<'a>>,
}

/// A value that is present and not JSON `null`.
pub(super) fn given(raw: Option<RawJson<'_>>) -> Option<RawJson<'_>> {
    raw.filter(|r| r.get() != "null")
}

/// A path inside a charge of the plan, for messages.
fn charge_path(i: usize) -> String {
    format!("plan.charges[{i}]")
}

/// A message about a charge, placed in the plan: `charge.x` becomes
/// `plan.charges[i].x`, any other message is prefixed.
fn in_charge(message: &str, i: usize) -> String {
    let here = charge_path(i);
    if let Some(rest) = message.strip_prefix("charge.") {
        return format!("{here}.{rest}");
    }
    match message.find(": charge.") {
        Some(at) => format!(
            "{}: {here}.{}",
            message.get(..at).unwrap_or_default(),
            message.get(at + 9..).unwrap_or_default()
        ),
        None => format!("{here}: {message}"),
    }
}

fn charge_error(e: RequestError, i: usize) -> RequestError {
    e.placed(|m| in_charge(m, i))
}

/// Reads a plan object; its rule violations go to `report`. `taxes` are
/// the request's, for a plan without taxes of its own (C12). `None` when
/// a rule is broken.
pub(super) fn read_plan(
    line: &Line<'_>,
    raw: Option<RawJson<'_>>,
    currency: Option<Currency>,
    taxes: Vec<Tax>,
    report: &mut Report,
) -> Result<Option<Plan>, RequestError> {
    let Some(raw) = given(raw) else {
        report.violation("plan", "value_is_mandatory", "plan is required".into());
        return Ok(None);
    };
    let rp: RawPlan<'_> = rq::object(line, "plan", raw)?;
    let own_taxes = rq::parse_taxes(line, "plan.taxes", given(rp.taxes), report)?;
    let Some(list) = given(rp.charges) else {
        report.violation(
            "charges",
            "value_is_mandatory",
            "plan.charges is required".into(),
        );
        return Ok(None);
    };
    let items: Vec<RawJson<'_>> = serde_json::from_str(list.get()).map_err(|_| {
        line.parse_error(
            "plan.charges",
            list,
            &format!("expected an array, got {}", list.get()),
        )
    })?;
    // With a currency that is not valid (reported already), the charges
    // are still checked, priced in EUR for the purpose.
    let checked_in = currency.or_else(|| Currency::from_code("EUR"));
    let mut charges = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        charges.push(read_charge(line, i, *item, checked_in, report)?);
    }
    let (Some(currency), Some(charges)) = (currency, charges.into_iter().collect::<Option<_>>())
    else {
        return Ok(None);
    };
    match Plan::new(currency, charges) {
        Ok(plan) => Ok(Some(plan.with_taxes(if own_taxes.is_empty() {
            taxes
        } else {
            own_taxes
        }))),
        Err(DefinitionError::Invalid(v)) => {
            report.violations.extend(v.violations);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// One charge of the plan with its metric; `None` when a rule is broken.
fn read_charge(
    line: &Line<'_>,
    i: usize,
    raw: RawJson<'_>,
    currency: Option<Currency>,
    report: &mut Report,
) -> Result<Option<PlanCharge>, RequestError> {
    let path = charge_path(i);
    let extras: RawPlanCharge<'_> = rq::object(line, path.as_str(), raw)?;
    let rc: RawCharge<'_> = rq::object(line, path.as_str(), raw)?;
    let metric = read_metric(line, &path, &extras, report)?;
    let charge = match rq::parse_charge(line, &rc, currency, Report::default()) {
        Ok(c) => Some(c),
        Err(RequestError::Definition(DefinitionError::Invalid(v))) => {
            push(report, v.violations, i);
            None
        }
        Err(e) => return Err(charge_error(e, i)),
    };
    let (Some(charge), Some(metric)) = (charge, metric) else {
        return Ok(None);
    };
    let pc = match PlanCharge::new(charge, metric) {
        Ok(pc) => pc,
        Err(DefinitionError::Invalid(ValidationError { violations })) => {
            push(report, violations, i);
            return Ok(None);
        }
        Err(e) => return Err(charge_error(e.into(), i)),
    };
    decorate(line, &path, pc, &extras).map(Some)
}

fn push(report: &mut Report, violations: Vec<Violation>, i: usize) {
    report.violations.extend(
        violations
            .into_iter()
            .map(|x| Violation::new(x.field, x.code, in_charge(&x.message, i))),
    );
}

/// The charge's `billable_metric`; `None` (with a violation) when it is
/// missing or its type unknown, `unsupported` for `custom_agg` (AD10).
fn read_metric(
    line: &Line<'_>,
    path: &str,
    extras: &RawPlanCharge<'_>,
    report: &mut Report,
) -> Result<Option<BillableMetric>, RequestError> {
    let here = format!("{path}.billable_metric");
    let Some(raw) = given(extras.billable_metric) else {
        report.violation(
            "billable_metric",
            "value_is_mandatory",
            format!("{here} is required"),
        );
        return Ok(None);
    };
    let rm: RawMetric<'_> = rq::object(line, here.as_str(), raw)?;
    let code = rq::string(line, Sub(&here, "code"), given(rm.code))?;
    let code = match code {
        Some(c) => Some(c),
        None => rq::string(
            line,
            Sub(&path, "billable_metric_code"),
            given(extras.billable_metric_code),
        )?,
    };
    let lago_id = match rq::string(line, Sub(&here, "lago_id"), given(rm.lago_id))? {
        Some(id) => Some(id),
        None => rq::string(
            line,
            Sub(&path, "lago_billable_metric_id"),
            given(extras.lago_billable_metric_id),
        )?,
    };
    let name = rq::string(line, Sub(&here, "name"), given(rm.name))?;
    let recurring = rq::boolean(line, Sub(&here, "recurring"), given(rm.recurring), false)?;
    let aggregation = read_aggregation(line, &here, &rm)?;
    let kind = read_kind(line, &here, rm.aggregation_type, report)?;
    if code.is_none() {
        report.violation(
            "code",
            "value_is_mandatory",
            format!("{here}.code is required"),
        );
    }
    let (Some(code), Some(kind)) = (code, kind) else {
        return Ok(None);
    };
    let mut metric = BillableMetric::new(code, kind)
        .with_recurring(recurring)
        .with_aggregation(aggregation);
    metric.lago_id = lago_id;
    metric.name = name;
    Ok(Some(metric))
}

/// `aggregation_type`: one of Lago's names; `unsupported` for
/// `custom_agg` (AD10); `None` (with a violation) when missing or unknown.
fn read_kind(
    line: &Line<'_>,
    here: &str,
    raw: Option<RawJson<'_>>,
    report: &mut Report,
) -> Result<Option<AggregationType>, RequestError> {
    let name = rq::string(line, Sub(&here, "aggregation_type"), given(raw))?;
    let Some(name) = name else {
        report.violation(
            "aggregation_type",
            "value_is_mandatory",
            format!("{here}.aggregation_type is required"),
        );
        return Ok(None);
    };
    if name == "custom_agg" {
        return Err(RequestError::Unsupported(format!(
            "{here}.aggregation_type \"custom_agg\" is not supported by meterprice (AD10: Lago's custom aggregators run user code)"
        )));
    }
    let kind = AggregationType::from_lago_name(&name);
    if kind.is_none() {
        report.violation(
            "aggregation_type",
            "value_is_invalid",
            format!("{here}.aggregation_type {name:?} is not one of count_agg, sum_agg, max_agg, unique_count_agg, weighted_sum_agg, latest_agg"),
        );
    }
    Ok(kind)
}

/// The metric's aggregation definition, as given (the aggregation module
/// validates it).
fn read_aggregation(
    line: &Line<'_>,
    here: &str,
    rm: &RawMetric<'_>,
) -> Result<MetricAggregation, RequestError> {
    let mut out = MetricAggregation {
        field_name: rq::string(line, Sub(&here, "field_name"), given(rm.field_name))?,
        rounding_function: rq::string(
            line,
            Sub(&here, "rounding_function"),
            given(rm.rounding_function),
        )?,
        expression: rq::string(line, Sub(&here, "expression"), given(rm.expression))?,
        ..MetricAggregation::default()
    };
    if let Some(p) = given(rm.rounding_precision) {
        let n = rq::integer(line, Sub(&here, "rounding_precision"), p)?;
        out.rounding_precision = Some(i64::try_from(n).map_err(|_| {
            line.parse_error(
                Sub(&here, "rounding_precision"),
                p,
                "expected a small integer",
            )
        })?);
    }
    if let Some(f) = given(rm.filters) {
        let path = format!("{here}.filters");
        let items: Vec<RawMetricFilter<'_>> = serde_json::from_str(f.get()).map_err(|_| {
            line.parse_error(
                path.as_str(),
                f,
                "expected an array of {\"key\", \"values\": [strings]}",
            )
        })?;
        for (j, item) in items.into_iter().enumerate() {
            let key = rq::string(line, Sub(&format!("{path}[{j}]"), "key"), item.key)?;
            out.filters
                .push((key.unwrap_or_default(), item.values.unwrap_or_default()));
        }
    }
    Ok(out)
}

/// Sets what the usage object echoes beyond the charge: its lago_id, the
/// pricing unit's short name (C3), filter ids (C2), presentation keys (C8).
fn decorate(
    line: &Line<'_>,
    path: &str,
    pc: PlanCharge,
    extras: &RawPlanCharge<'_>,
) -> Result<PlanCharge, RequestError> {
    let mut pc = pc;
    if let Some(id) = rq::string(line, Sub(&path, "lago_id"), given(extras.lago_id))? {
        pc = pc.with_lago_id(id);
    }
    if let Some(unit) = given(extras.applied_pricing_unit) {
        let u: RawExtras<'_> = rq::object(line, Sub(&path, "applied_pricing_unit"), unit)?;
        let at = format!("{path}.applied_pricing_unit");
        if let Some(s) = rq::string(line, Sub(&at, "short_name"), given(u.short_name))? {
            pc = pc.with_pricing_unit_short_name(s);
        }
    }
    pc = pc.with_presentation_group_keys(presentation_keys(extras.properties));
    let filters: Vec<RawJson<'_>> = given(extras.filters)
        .and_then(|f| serde_json::from_str(f.get()).ok())
        .unwrap_or_default();
    let mut ids = Vec::with_capacity(filters.len());
    let mut keys = Vec::with_capacity(filters.len());
    for (j, f) in filters.iter().enumerate() {
        let at = format!("{path}.filters[{j}]");
        let fe: RawExtras<'_> = rq::object(line, at.as_str(), *f)?;
        ids.push(rq::string(line, Sub(&at, "lago_id"), given(fe.lago_id))?);
        keys.push(presentation_keys(fe.properties));
    }
    Ok(pc
        .with_filter_lago_ids(ids)
        .with_filter_presentation_group_keys(keys))
}

/// The keys of `properties.presentation_group_keys`: each element's
/// `value` (or the element itself, when a string). The charge validator
/// has checked the charge's own; anything else is skipped.
fn presentation_keys(properties: Option<RawJson<'_>>) -> Vec<String> {
    let Some(p) = given(properties) else {
        return Vec::new();
    };
    let Ok(props) = serde_json::from_str::<RawExtras<'_>>(p.get()) else {
        return Vec::new();
    };
    let Some(list) = given(props.presentation_group_keys) else {
        return Vec::new();
    };
    let items: Vec<RawJson<'_>> = serde_json::from_str(list.get()).unwrap_or_default();
    items
        .iter()
        .filter_map(|item| match Raw::of(Some(*item)) {
            Raw::String(s) => Some(s.into_owned()),
            _ => value_of(*item),
        })
        .filter(|k| !k.trim().is_empty())
        .collect()
}

/// `{"value": "key", …}` → `key`.
fn value_of(item: RawJson<'_>) -> Option<String> {
    #[derive(Deserialize)]
    struct Value {
        value: Option<String>,
    }
    serde_json::from_str::<Value>(item.get()).ok()?.value
}

impl Plan {
    /// Builds a plan from Lago's JSON plan object (`{"charges": [...],
    /// "taxes": [...]}`, or the API's `{"plan": {...}}`), each charge with
    /// its `billable_metric` (`code`, `name`, `aggregation_type`, …),
    /// priced in `currency`, with every rule checked at once.
    ///
    /// ```
    /// use meterprice::{AggregationType, Plan};
    /// let plan = Plan::from_lago_json("EUR", r#"{"plan": {"code": "startup", "charges": [
    ///   {"lago_id": "c1", "code": "api", "charge_model": "standard", "properties": {"amount": "0.01"},
    ///    "billable_metric": {"code": "requests", "name": "Requests", "aggregation_type": "count_agg"}}]}}"#)?;
    /// let api = plan.charge("api").unwrap();
    /// assert_eq!(api.metric().aggregation_type(), AggregationType::Count);
    /// assert_eq!(api.lago_id(), Some("c1"));
    /// # Ok::<(), meterprice::DefinitionError>(())
    /// ```
    ///
    /// # Errors
    /// [`DefinitionError::Invalid`] with every violation (charge rules,
    /// C13, duplicate codes), [`DefinitionError::Unsupported`] for a
    /// `custom` model or a `custom_agg` metric,
    /// [`DefinitionError::OutOfRange`] or [`DefinitionError::Malformed`]
    /// for values out of range or of the wrong JSON shape.
    pub fn from_lago_json(currency: &str, plan: &str) -> Result<Self, DefinitionError> {
        let line = Line { text: plan };
        let raw: RawJson<'_> =
            serde_json::from_str(plan).map_err(|e| DefinitionError::Malformed(e.to_string()))?;
        let inner = rq::object::<RawPlan<'_>>(&line, "plan", raw)
            .ok()
            .and_then(|p| given(p.plan));
        let mut report = Report::default();
        let c = Currency::from_code(currency);
        if c.is_none() {
            report.violation(
                "currency",
                "value_is_invalid",
                format!("currency {currency:?} is not a currency Lago accepts"),
            );
        }
        let built = read_plan(
            &line,
            Some(inner.unwrap_or(raw)),
            c,
            Vec::new(),
            &mut report,
        )
        .map_err(definition)?;
        report.finish(built)
    }
}

/// A request error as a definition error (the library face).
fn definition(e: RequestError) -> DefinitionError {
    match e {
        RequestError::Unsupported(m) => DefinitionError::Unsupported(m),
        RequestError::Overflow(m) => DefinitionError::OutOfRange {
            field: "plan".into(),
            value: m,
        },
        RequestError::Parse(m) | RequestError::Usage(m) => DefinitionError::Malformed(m),
        RequestError::Definition(d) => d,
    }
}
