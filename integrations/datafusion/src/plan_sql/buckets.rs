//! A charge with filters or pricing groups as SQL: one `UNION ALL` branch
//! per bucket (A18), each event in the buckets Lago puts it in (A21–A24),
//! each bucket grouped by its own keys (A27, A28 with AD6), each group
//! priced with its bucket's properties, and the fees summed per
//! subscription (U11), a bucket without groups counting as the fee of an
//! empty aggregation (A30, U6).

use std::collections::BTreeMap;

use meterprice::{Charge, ChargeFilterSpec, FilterScope, MetricFilter, PlanCharge};
use serde_json::value::RawValue;

use super::{PlanSqlError, Query, ident, literal};

/// A JSON object, its members kept as their text (no number goes through a
/// binary float).
type Object = BTreeMap<String, Box<RawValue>>;

/// Whether the charge has more than one possible fee: filters or pricing
/// group keys.
pub(super) fn is_split(pc: &PlanCharge) -> bool {
    !pc.charge().filters().is_empty() || !pc.charge().group_keys().is_empty()
}

/// One bucket: the charge JSON that prices it, and its fee rows.
struct BucketSql {
    charge: String,
    rows: String,
}

/// A split charge's buckets, in Lago's order: the filters, then the
/// default bucket.
pub(super) struct Split {
    buckets: Vec<BucketSql>,
    currency: String,
}

fn invalid(pc: &PlanCharge, what: &str) -> PlanSqlError {
    PlanSqlError::Invalid(format!("charge {:?}: {what}", pc.code()))
}

impl Split {
    /// The buckets of `pc` (its JSON `charge_json`), aggregated by `call`.
    pub(super) fn new(
        q: &Query<'_>,
        pc: &PlanCharge,
        charge_json: &str,
        call: &str,
    ) -> Result<Self, PlanSqlError> {
        let charge = pc.charge();
        let metric: Vec<MetricFilter> = pc
            .metric()
            .aggregation()
            .filters
            .iter()
            .map(|(key, values)| MetricFilter {
                key: key.clone(),
                values: values.clone(),
            })
            .collect();
        let specs: Vec<ChargeFilterSpec> = charge
            .filters()
            .iter()
            .map(|f| ChargeFilterSpec::new(f.values.clone()).with_group_keys(f.group_keys.clone()))
            .collect();
        let object: Object = serde_json::from_str(charge_json)
            .map_err(|e| invalid(pc, &format!("not a JSON object: {e}")))?;
        let slots = (0..specs.len()).map(Some).chain(std::iter::once(None));
        let mut buckets = Vec::with_capacity(specs.len() + 1);
        for (b, slot) in slots.enumerate() {
            // Without filters the one bucket takes every event (A18).
            let scope = if specs.is_empty() {
                FilterScope::default()
            } else {
                FilterScope::of(&specs, &metric, slot)
            };
            let keys = match slot {
                Some(i) => specs.get(i).map_or(&[][..], |f| &f.group_keys[..]),
                None => charge.group_keys(),
            };
            let json = bucket_charge(pc, &object, slot)?;
            Charge::from_lago_json(q.currency, &json)
                .map_err(|e| invalid(pc, &format!("bucket {b}: {e}")))?;
            let rows = rows(q, pc, call, b, &predicate(&scope), keys, &json);
            buckets.push(BucketSql { charge: json, rows });
        }
        Ok(Self {
            buckets,
            currency: q.currency.to_string(),
        })
    }

    /// Per subscription: how many fees each bucket has (`n<b>`), and the
    /// fees' sums (`cents`, `units`, `events`) and errors.
    pub(super) fn sums(&self) -> String {
        let counts: String = (0..self.buckets.len())
            .map(|b| format!("COUNT(*) FILTER (WHERE b = {b}) AS n{b}, "))
            .collect();
        let branches: Vec<&str> = self.buckets.iter().map(|b| b.rows.as_str()).collect();
        format!(
            "SELECT subscription_id, {counts}\
             SUM(get_field(fee, 'amount_cents')) AS cents, \
             COUNT(get_field(fee, 'error')) AS errors, MIN(get_field(fee, 'error')) AS error, \
             meterprice_sum(units) AS units, SUM(events) AS events \
             FROM ({}) GROUP BY subscription_id",
            branches.join(" UNION ALL ")
        )
    }

    /// The charge's column from its sums `c` (NULL when the subscription
    /// has no event of the charge's metric): every bucket without a fee
    /// adds the fee of an empty aggregation.
    pub(super) fn column(&self, c: &str) -> String {
        let mut amount = format!("COALESCE({c}.cents, 0)");
        let mut errors = format!("{c}.error");
        for (b, bucket) in self.buckets.iter().enumerate() {
            let empty = format!(
                "meterprice_rate({}, {}, '0', 0)",
                literal(&bucket.charge),
                literal(&self.currency)
            );
            let none = format!("COALESCE({c}.n{b}, 0) = 0");
            amount.push_str(&format!(
                " + CASE WHEN {none} THEN get_field({empty}, 'amount_cents') ELSE 0 END"
            ));
            errors.push_str(&format!(
                ", CASE WHEN {none} THEN get_field({empty}, 'error') END"
            ));
        }
        format!(
            "named_struct('units', COALESCE(get_field({c}.units, 'aggregation'), '0'), \
             'events_count', CAST(COALESCE({c}.events, 0) AS BIGINT UNSIGNED), \
             'amount_cents', CASE WHEN {c}.errors > 0 THEN NULL \
             ELSE CAST({amount} AS DECIMAL(38, 0)) END, \
             'error', COALESCE({errors}))"
        )
    }
}

/// The charge JSON that prices one bucket: a filter's bucket takes the
/// filter's properties whole (semantics.md §3.1); the fee of one group
/// needs no filters and no group keys.
fn bucket_charge(
    pc: &PlanCharge,
    charge: &Object,
    filter: Option<usize>,
) -> Result<String, PlanSqlError> {
    let text = |e: serde_json::Error| invalid(pc, &e.to_string());
    let mut charge = charge.clone();
    let filters = charge.remove("filters");
    let properties = match filter {
        Some(i) => {
            let list: Vec<Box<RawValue>> = match &filters {
                Some(f) => serde_json::from_str(f.get()).map_err(text)?,
                None => Vec::new(),
            };
            let f: Object = match list.get(i) {
                Some(f) => serde_json::from_str(f.get()).map_err(text)?,
                None => return Err(invalid(pc, &format!("filters[{i}] is missing"))),
            };
            f.get("properties").cloned()
        }
        None => charge.get("properties").cloned(),
    };
    if let Some(p) = properties.filter(|p| p.get() != "null") {
        let mut p: Object = serde_json::from_str(p.get()).map_err(text)?;
        p.remove("pricing_group_keys");
        p.remove("grouped_by");
        let p = RawValue::from_string(serde_json::to_string(&p).map_err(text)?).map_err(text)?;
        charge.insert("properties".into(), p);
    }
    serde_json::to_string(&charge).map_err(text)
}

/// A list of SQL string literals.
fn literals(values: &[String]) -> String {
    let list: Vec<String> = values.iter().map(|v| literal(v)).collect();
    list.join(", ")
}

/// A property's text: the key column as text.
fn property(key: &str) -> String {
    format!("CAST({} AS VARCHAR)", ident(key))
}

/// A21 and A23 as a SQL predicate: every matching key's text is one of its
/// values (a NULL text matches nothing), and no ignored entry (empty lists
/// dropped, empty entries skipped) has all its keys' `coalesce(text, '')`
/// in its lists.
fn predicate(scope: &FilterScope) -> String {
    let matching: Vec<String> = scope
        .matching
        .iter()
        .map(|(k, values)| {
            if values.is_empty() {
                "FALSE".to_string()
            } else {
                format!("{} IN ({})", property(k), literals(values))
            }
        })
        .collect();
    let ignored: Vec<String> = scope
        .ignored
        .iter()
        .map(|entry| {
            let keys: Vec<String> = entry
                .iter()
                .filter(|(_, values)| !values.is_empty())
                .map(|(k, values)| {
                    format!("COALESCE({}, '') IN ({})", property(k), literals(values))
                })
                .collect();
            keys.join(" AND ")
        })
        .filter(|e| !e.is_empty())
        .map(|e| format!("({e})"))
        .collect();
    let matches = if matching.is_empty() {
        "TRUE".to_string()
    } else {
        format!("COALESCE({}, FALSE)", matching.join(" AND "))
    };
    if ignored.is_empty() {
        matches
    } else {
        format!("{matches} AND NOT ({})", ignored.join(" OR "))
    }
}

/// The types whose groups are made of the events with a numeric value
/// only (A29 with A13): a group of none does not exist.
fn numeric(pc: &PlanCharge) -> bool {
    use meterprice::AggregationType as T;
    matches!(
        pc.metric().aggregation_type(),
        T::Sum | T::Max | T::Latest | T::WeightedSum
    )
}

/// Bucket `b`'s fees: its events (the window, the metric code, the
/// bucket's predicate) aggregated per subscription and group, each group
/// priced with the bucket's charge.
fn rows(
    q: &Query<'_>,
    pc: &PlanCharge,
    call: &str,
    b: usize,
    predicate: &str,
    keys: &[String],
    charge: &str,
) -> String {
    let events = q.events;
    let sub = ident(&events.subscription);
    let groups: String = keys
        .iter()
        .map(|k| format!(", NULLIF({}, '')", property(k)))
        .collect();
    let existing = if numeric(pc) { " WHERE events > 0" } else { "" };
    format!(
        "SELECT subscription_id, {b} AS b, units, events, \
         meterprice_rate({charge}, {currency}, units, events) AS fee \
         FROM (SELECT subscription_id, get_field(a, 'aggregation') AS units, \
         get_field(a, 'events_count') AS events \
         FROM (SELECT {sub} AS subscription_id, {call} AS a FROM {table} \
         WHERE {window} AND {code} = {metric} AND {predicate} GROUP BY {sub}{groups})){existing}",
        charge = literal(charge),
        currency = literal(q.currency),
        table = ident(&events.table),
        window = q.window(),
        code = ident(&events.code),
        metric = literal(pc.metric().code()),
    )
}
