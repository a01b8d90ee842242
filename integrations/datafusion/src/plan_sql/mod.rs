//! A plan as SQL: the query that prices a table of events into one row per
//! subscription, one column per charge.
//!
//! [`plan_sql`] reads a plan in the `meterprice usage` form (Lago's charges,
//! each with its `billable_metric`), validates it with
//! [`meterprice::Plan::from_lago_json`] and sets its aggregation up as
//! `meterprice usage` does ([`meterprice::PlanAggregator`]), and writes a
//! query over an events table ([`EventsTable`]) that
//!
//! 1. keeps the period's events (A7: `floor_ms(from) ≤ timestamp ≤ to`),
//! 2. aggregates, per subscription and per charge, the events of the
//!    charge's metric code (A4) with the metric type's aggregate function
//!    (`meterprice_sum(…) FILTER (WHERE code = …)`, see the crate docs),
//! 3. prices each aggregation with `meterprice_rate` and the charge's own
//!    JSON, bound at planning (so the query runs on Ballista as well).
//!
//! A charge without filters or pricing group keys is one fee: its column is
//! the `meterprice_rate` struct ([`crate::fee_fields`]).
//!
//! **Filters and groups.** A charge with `filters` or with
//! `pricing_group_keys` (or the legacy `grouped_by`) is split as
//! `meterprice usage` splits it (aggregation.md §5–§6), one `UNION ALL`
//! branch per bucket:
//!
//! - one bucket per charge filter, in filter order, then the default
//!   bucket; an event is in a bucket by Lago's matching and ignored filters
//!   (A21–A24, resolved by [`meterprice::FilterScope`], with
//!   `__ALL_FILTER_VALUES__` read from the metric's `filters`, A19),
//!   written as predicates over the key columns. So an event that matches
//!   two filters that partly overlap counts in both, as in Lago (A25, the
//!   default of AD4; the strict mode is not offered), and an event matching
//!   no filter goes to the default bucket;
//! - inside a bucket, one group per distinct tuple of the bucket's group
//!   keys (a filter's own keys, the charge's for the default bucket, A27),
//!   a missing key and `""` forming one `null` group (A28 with AD6), among
//!   the events the metric aggregates (A29: for `sum`, `max`, `latest` and
//!   `weighted_sum` the events with a numeric value);
//! - each group is priced by `meterprice_rate` with its bucket's properties
//!   (a filter's own, semantics.md §3.1), and a bucket without any group is
//!   the fee of an empty aggregation (A30, U6).
//!
//! The charge's column is then a struct of `units` (Σ of the fees' units,
//! exact text), `events_count` (Σ, `UInt64`), `amount_cents` (Σ of the
//! fees' rounded `amount_cents`, U11, `Decimal128(38, 0)`) and `error`
//! (NULL, or the first fee error; `amount_cents` is then NULL, never a sum
//! that leaves a fee out): `meterprice usage`'s `units`, `events_count` and
//! `amount_cents` of that charge. Taxes of a split charge are not summed
//! (usage taxes the invoice once, U12).
//!
//! **Property columns.** The metric's `field_name`, and every filter key
//! and group key, is read from the events table's column of that name,
//! holding the property's text as Postgres' `properties->>'key'` gives it
//! (A12: a JSON number's text, `"true"`, NULL when missing); key columns
//! are compared as text (`CAST(… AS VARCHAR)`).
//!
//! **What it does not cover (documented limits).** Charges paid in
//! advance, prorated charges, recurring metrics, metrics with an
//! `expression` or a rounding, the `dynamic` model and percentage charges
//! that read per-event values (`free_units_per_events`,
//! `free_units_per_total_aggregation`, `per_transaction_min_amount`,
//! `per_transaction_max_amount`) are refused with
//! [`PlanSqlError::Unsupported`] naming the charge and the feature, never
//! written as a query that prices differently. Taxes are the charges' own
//! (`taxes` on the charge; the usage request's top-level taxes are not
//! applied). Events must carry unique `transaction_id`s (Lago keeps the
//! first of a duplicate, QA19; deduplicate before). A split charge reads
//! the table once per bucket.

mod buckets;

use datafusion::common::DataFusionError;
use meterprice::{
    AggregationType, ChargeModel, EventsSetup, Plan, PlanAggregator, PlanCharge, Timestamp,
    UsagePeriod,
};

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

/// A model's rule the SQL form cannot feed: `meterprice_rate` is given the
/// units and the events count only.
fn model_limit(model: &ChargeModel) -> Option<&'static str> {
    match model {
        ChargeModel::Dynamic => Some("the dynamic model"),
        ChargeModel::Percentage(p)
            if p.free_units_per_events().is_some()
                || p.free_units_per_total_aggregation().is_some()
                || p.per_transaction_min_amount().is_some()
                || p.per_transaction_max_amount().is_some() =>
        {
            Some("percentage rules that read per-event values")
        }
        _ => None,
    }
}

/// What the SQL form does not cover in one charge, if anything; else the
/// metric's aggregate function.
fn check(pc: &PlanCharge) -> Result<Metric, PlanSqlError> {
    let charge = pc.charge();
    let metric = pc.metric();
    let a = metric.aggregation();
    let limits = [
        (charge.pay_in_advance(), "pay_in_advance"),
        (charge.prorated(), "proration"),
        (metric.recurring(), "a recurring metric"),
        (a.expression.is_some(), "a metric expression"),
        (a.rounding_function.is_some(), "metric rounding"),
    ];
    if let Some((_, feature)) = limits.iter().find(|(used, _)| *used) {
        return Err(unsupported(pc, feature));
    }
    let models = std::iter::once(charge.model()).chain(charge.filters().iter().map(|f| &f.model));
    if let Some(feature) = models.filter_map(model_limit).next() {
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

/// What every charge's query shares: the table, the currency, the period.
struct Query<'a> {
    events: &'a EventsTable,
    currency: &'a str,
    from: Timestamp,
    to: Timestamp,
}

impl Query<'_> {
    /// A7: the period's events, the start floored to the millisecond.
    fn window(&self) -> String {
        let lower = self.from.micros().div_euclid(1000) * 1000;
        let ts = ident(&self.events.timestamp);
        format!(
            "{ts} >= to_timestamp_micros({lower}) AND {ts} <= to_timestamp_micros({})",
            self.to.micros()
        )
    }

    /// The aggregate call of the charge's metric.
    fn aggregate(&self, pc: &PlanCharge, metric: Metric) -> Result<String, PlanSqlError> {
        let value = || {
            pc.metric()
                .aggregation()
                .field_name
                .as_deref()
                .map(ident)
                .ok_or_else(|| unsupported(pc, "a metric without field_name"))
        };
        let ts = ident(&self.events.timestamp);
        let seq = ident(&self.events.seq);
        Ok(match metric {
            Metric::Count => "meterprice_count(1)".to_string(),
            Metric::Sum => format!("meterprice_sum({})", value()?),
            Metric::Max => format!("meterprice_max({})", value()?),
            Metric::Latest => format!("meterprice_latest({}, {ts}, {seq})", value()?),
            Metric::UniqueCount => format!(
                "meterprice_unique_count({}, {ts}, {seq}, {})",
                value()?,
                ident(&self.events.operation_type)
            ),
            Metric::WeightedSum => format!(
                "meterprice_weighted_sum({}, {ts}, to_timestamp_micros({}), to_timestamp_micros({}))",
                value()?,
                self.from.micros(),
                self.to.micros()
            ),
        })
    }
}

/// The period, and the plan's aggregation set up as `meterprice usage`
/// sets it up (so a plan it refuses is refused here too).
fn period(plan: &Plan, from: &str, to: &str) -> Result<(Timestamp, Timestamp), PlanSqlError> {
    let invalid = |e: String| PlanSqlError::Invalid(format!("period: {e}"));
    let time = |t: &str| Timestamp::parse(t).map_err(|e| invalid(e.to_string()));
    let usage_period = UsagePeriod::parse(from, to).map_err(|e| invalid(e.to_string()))?;
    PlanAggregator::new(plan, &usage_period, &EventsSetup::default())
        .map_err(|e| PlanSqlError::Invalid(e.to_string()))?;
    Ok((time(from)?, time(to)?))
}

/// The SQL that prices `events` under the plan `plan_json` (priced in
/// `currency`) for the period from `from` to `to` (inclusive): one row per
/// subscription with an event in the period, its id then one column per
/// charge, named by the charge's code, in plan order: a `meterprice_rate`
/// struct, or for a charge with filters or pricing groups the sum of its
/// fees. See the module docs for what it covers.
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
    let metrics = plan
        .charges()
        .iter()
        .map(check)
        .collect::<Result<Vec<_>, _>>()?;
    let (from, to) = period(&plan, from, to)?;
    let q = Query {
        events,
        currency,
        from,
        to,
    };
    let mut aggregates = Vec::new();
    let mut columns = Vec::new();
    let mut joins = Vec::new();
    for (i, (pc, metric)) in plan.charges().iter().zip(metrics).enumerate() {
        let raw = texts
            .get(i)
            .ok_or_else(|| PlanSqlError::Invalid(format!("plan.charges[{i}] is missing")))?;
        let call = q.aggregate(pc, metric)?;
        let name = ident(pc.code());
        if buckets::is_split(pc) {
            let split = buckets::Split::new(&q, pc, raw.get(), &call)?;
            joins.push(format!(
                " LEFT JOIN ({}) AS c{i} ON c{i}.subscription_id = s.subscription_id",
                split.sums()
            ));
            columns.push(format!("{} AS {name}", split.column(&format!("c{i}"))));
            continue;
        }
        aggregates.push(format!(
            ", {call} FILTER (WHERE {} = {}) AS a{i}",
            ident(&events.code),
            literal(pc.metric().code())
        ));
        columns.push(format!(
            "meterprice_rate({}, {}, get_field(a{i}, 'aggregation'), \
             get_field(a{i}, 'events_count')) AS {name}",
            literal(raw.get()),
            literal(currency),
        ));
    }
    let sub = ident(&events.subscription);
    let inner = format!(
        "SELECT {sub} AS subscription_id{aggregates} FROM {table} WHERE {window} GROUP BY {sub}",
        aggregates = aggregates.concat(),
        table = ident(&events.table),
        window = q.window(),
    );
    let columns = columns.join(", ");
    Ok(if joins.is_empty() {
        format!("SELECT subscription_id, {columns} FROM ({inner}) ORDER BY subscription_id")
    } else {
        format!(
            "SELECT s.subscription_id AS subscription_id, {columns} FROM ({inner}) AS s{} \
             ORDER BY subscription_id",
            joins.concat()
        )
    })
}
