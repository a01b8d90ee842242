//! A plan as SQL: the query that prices a table of events into one row per
//! subscription, one fee column per charge.
//!
//! [`plan_sql`] reads a plan in the `meterprice usage` form (Lago's charges,
//! each with its `billable_metric`), validates it with
//! [`meterprice::Plan::from_lago_json`], and writes a query over an events
//! table ([`EventsTable`]) that
//!
//! 1. keeps the period's events (A7: `floor_ms(from) ≤ timestamp ≤ to`),
//! 2. aggregates, per subscription and per charge, the events of the
//!    charge's metric code (A4) with the metric type's aggregate function
//!    (`meterprice_sum(…) FILTER (WHERE code = …)`, see the crate docs),
//! 3. prices each aggregation with `meterprice_rate` and the charge's own
//!    JSON, bound at planning (so the query runs on Ballista as well).
//!
//! **What it covers (documented limits).** Charges without `filters`,
//! without `pricing_group_keys`/`grouped_by`, not paid in advance, not
//! prorated; metrics that are not recurring, without metric `filters`,
//! `expression` or rounding. Taxes are the charges' own (`taxes` on the
//! charge; the usage request's top-level taxes are not applied). Events
//! must carry unique `transaction_id`s (Lago keeps the first of a duplicate,
//! QA19; deduplicate before). A plan beyond these limits is an
//! [`PlanSqlError::Unsupported`] naming the charge and the feature, never a
//! query that prices differently.

use datafusion::common::DataFusionError;
use meterprice::{AggregationType, Plan, PlanCharge, Timestamp};

use crate::Metric;

/// How the events table is laid out: its name and the columns the query
/// reads. Each metric's `field_name` is read from the column of that name
/// (the property's text as `properties->>'field'` gives it, or a decimal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsTable {
    /// The table.
    pub table: String,
    /// The subscription's column (`external_subscription_id`).
    pub subscription: String,
    /// The metric code's column (`code`).
    pub code: String,
    /// The timestamp column (`timestamp`).
    pub timestamp: String,
    /// The input position column (`seq`), for latest and unique counts.
    pub seq: String,
    /// The `operation_type` column, for unique counts.
    pub operation_type: String,
}

impl EventsTable {
    /// `table` with the default column names.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
            subscription: "external_subscription_id".into(),
            code: "code".into(),
            timestamp: "timestamp".into(),
            seq: "seq".into(),
            operation_type: "operation_type".into(),
        }
    }
}

/// Why a plan cannot be written as SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanSqlError {
    /// The plan does not validate (the core's message).
    Invalid(String),
    /// The plan uses what the SQL form does not cover.
    Unsupported {
        /// The charge's code.
        charge: String,
        /// What it uses.
        feature: String,
    },
}

impl std::fmt::Display for PlanSqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m) => write!(f, "validation_error: {m}"),
            Self::Unsupported { charge, feature } => write!(
                f,
                "unsupported: charge {charge:?} uses {feature}, which plan_sql does not cover"
            ),
        }
    }
}

impl std::error::Error for PlanSqlError {}

impl From<PlanSqlError> for DataFusionError {
    fn from(e: PlanSqlError) -> Self {
        DataFusionError::Plan(e.to_string())
    }
}

/// A SQL identifier, quoted.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn unsupported(pc: &PlanCharge, feature: &str) -> PlanSqlError {
    PlanSqlError::Unsupported {
        charge: pc.code().to_string(),
        feature: feature.to_string(),
    }
}

/// The charge's JSON objects in plan order (`plan.charges[i]`).
fn charge_texts(plan_json: &str) -> Result<Vec<Box<serde_json::value::RawValue>>, PlanSqlError> {
    use serde_json::value::RawValue;
    let malformed = |e: serde_json::Error| PlanSqlError::Invalid(e.to_string());
    let mut top: std::collections::BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(plan_json).map_err(malformed)?;
    let plan = match top.remove("plan") {
        Some(inner) => serde_json::from_str(inner.get()).map_err(malformed)?,
        None => top,
    };
    let charges = plan
        .get("charges")
        .ok_or_else(|| PlanSqlError::Invalid("plan.charges is missing".into()))?;
    serde_json::from_str(charges.get()).map_err(malformed)
}

/// What the SQL form does not cover in one charge, if anything.
fn check(pc: &PlanCharge, json: &serde_json::Value) -> Result<Metric, PlanSqlError> {
    let charge = pc.charge();
    let metric = pc.metric();
    let a = metric.aggregation();
    let props = &json["properties"];
    let grouped = ["pricing_group_keys", "grouped_by"]
        .iter()
        .any(|k| props[*k].as_array().is_some_and(|v| !v.is_empty()));
    let limits = [
        (!charge.filters().is_empty(), "charge filters"),
        (grouped, "pricing group keys"),
        (charge.pay_in_advance(), "pay_in_advance"),
        (charge.prorated(), "proration"),
        (metric.recurring(), "a recurring metric"),
        (!a.filters.is_empty(), "metric filters"),
        (a.expression.is_some(), "a metric expression"),
        (a.rounding_function.is_some(), "metric rounding"),
    ];
    if let Some((_, feature)) = limits.iter().find(|(used, _)| *used) {
        return Err(unsupported(pc, feature));
    }
    Ok(match metric.aggregation_type() {
        AggregationType::Count => Metric::Count,
        AggregationType::Sum => Metric::Sum,
        AggregationType::Max => Metric::Max,
        AggregationType::UniqueCount => Metric::UniqueCount,
        AggregationType::Latest => Metric::Latest,
        AggregationType::WeightedSum => Metric::WeightedSum,
        _ => return Err(unsupported(pc, "an aggregation type without SQL function")),
    })
}

/// The SQL that prices `events` under the plan `plan_json` (priced in
/// `currency`) for the period from `from` to `to` (inclusive): one row per
/// subscription, its id then one `meterprice_rate` struct per charge, named
/// by the charge's code, in plan order. See the module docs for what it
/// covers.
///
/// ```
/// use meterprice_datafusion::{EventsTable, plan_sql};
/// let plan = r#"{"plan": {"code": "p", "charges": [{"code": "api", "charge_model": "standard",
///   "properties": {"amount": "0.01"},
///   "billable_metric": {"code": "requests", "aggregation_type": "count_agg"}}]}}"#;
/// let sql = plan_sql("EUR", plan, &EventsTable::new("events"),
///     "2024-03-01T00:00:00Z", "2024-03-31T23:59:59.999999Z")?;
/// assert!(sql.contains("meterprice_count(1) FILTER (WHERE \"code\" = 'requests')"), "{sql}");
/// # Ok::<(), meterprice_datafusion::PlanSqlError>(())
/// ```
///
/// # Errors
/// [`PlanSqlError::Invalid`] when the plan or the period does not
/// validate, [`PlanSqlError::Unsupported`] beyond the SQL form's limits.
pub fn plan_sql(
    currency: &str,
    plan_json: &str,
    events: &EventsTable,
    from: &str,
    to: &str,
) -> Result<String, PlanSqlError> {
    let plan = Plan::from_lago_json(currency, plan_json)
        .map_err(|e| PlanSqlError::Invalid(e.to_string()))?;
    let texts = charge_texts(plan_json)?;
    let time =
        |t: &str| Timestamp::parse(t).map_err(|e| PlanSqlError::Invalid(format!("period: {e}")));
    let (from, to) = (time(from)?, time(to)?);
    // A7's lower bound is the start floored to the millisecond.
    let lower = from.micros().div_euclid(1000) * 1000;
    let ts = ident(&events.timestamp);
    let mut aggregates = Vec::new();
    let mut fees = Vec::new();
    for (i, pc) in plan.charges().iter().enumerate() {
        let raw = texts
            .get(i)
            .ok_or_else(|| PlanSqlError::Invalid(format!("plan.charges[{i}] is missing")))?;
        let json: serde_json::Value =
            serde_json::from_str(raw.get()).map_err(|e| PlanSqlError::Invalid(e.to_string()))?;
        let metric = check(pc, &json)?;
        let field = pc.metric().aggregation().field_name.as_deref().map(ident);
        let value = || {
            field
                .clone()
                .ok_or_else(|| unsupported(pc, "a metric without field_name"))
        };
        let seq = ident(&events.seq);
        let call = match metric {
            Metric::Count => "meterprice_count(1)".to_string(),
            Metric::Sum => format!("meterprice_sum({})", value()?),
            Metric::Max => format!("meterprice_max({})", value()?),
            Metric::Latest => format!("meterprice_latest({}, {ts}, {seq})", value()?),
            Metric::UniqueCount => format!(
                "meterprice_unique_count({}, {ts}, {seq}, {})",
                value()?,
                ident(&events.operation_type)
            ),
            Metric::WeightedSum => format!(
                "meterprice_weighted_sum({}, {ts}, to_timestamp_micros({}), to_timestamp_micros({}))",
                value()?,
                from.micros(),
                to.micros()
            ),
        };
        let code = literal(pc.metric().code());
        aggregates.push(format!(
            "{call} FILTER (WHERE {} = {code}) AS a{i}",
            ident(&events.code)
        ));
        fees.push(format!(
            "meterprice_rate({}, {}, get_field(a{i}, 'aggregation'), \
             get_field(a{i}, 'events_count')) AS {}",
            literal(raw.get()),
            literal(currency),
            ident(pc.code())
        ));
    }
    let sub = ident(&events.subscription);
    Ok(format!(
        "SELECT subscription_id, {fees} FROM (SELECT {sub} AS subscription_id, {aggregates} \
         FROM {table} WHERE {ts} >= to_timestamp_micros({lower}) \
         AND {ts} <= to_timestamp_micros({upper}) GROUP BY {sub}) ORDER BY subscription_id",
        fees = fees.join(", "),
        aggregates = aggregates.join(", "),
        table = ident(&events.table),
        upper = to.micros(),
    ))
}
