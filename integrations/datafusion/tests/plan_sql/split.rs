//! `plan_sql` on charges with filters and pricing groups: per subscription,
//! each charge's units, events and amount (Σ of its fees' rounded cents)
//! equal `meterprice usage`'s for the same events, on hand-made events and
//! on generated ones.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, Schema, TimeUnit, UInt64Type};
use datafusion::prelude::SessionContext;
use meterprice_datafusion::{EventsTable, PlanSqlError, plan_sql};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::{FROM, TO, march_us};
use crate::common::{run, runtime};

/// A graduated charge's one open tier: `price` per unit and a `flat` fee,
/// so that a bucket without events still costs its flat fee (A30, U6).
fn open_tier(price: &str, flat: &str) -> Json {
    json!([{"from_value": 0, "to_value": null, "per_unit_amount": price, "flat_amount": flat}])
}

fn plan() -> Json {
    json!({"plan": {"code": "split", "charges": [
        // Groups by cloud; each group's first 10 units cost 0.5 plus a
        // flat 2 EUR, so the number of groups shows in the amount.
        {"code": "compute", "charge_model": "graduated",
         "properties": {"pricing_group_keys": ["cloud"], "graduated_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "0.5", "flat_amount": "2"},
            {"from_value": 11, "to_value": null, "per_unit_amount": "0.25", "flat_amount": "0"}]},
         "billable_metric": {"code": "cpu", "aggregation_type": "sum_agg", "field_name": "value"}},
        // Filters that partly overlap (us in both), a filter on another
        // key (eu + gold in both), a grouped filter, the default bucket.
        {"code": "api", "charge_model": "graduated",
         "properties": {"graduated_ranges": open_tier("0.02", "1")},
         "filters": [
            {"values": {"region": ["eu", "us"]},
             "properties": {"graduated_ranges": open_tier("0.1", "3")}},
            {"values": {"region": ["us", "asia"]},
             "properties": {"grouped_by": ["cloud"], "graduated_ranges": open_tier("0.2", "5")}},
            {"values": {"tier": ["gold"]},
             "properties": {"graduated_ranges": open_tier("0.3", "7")}}],
         "billable_metric": {"code": "requests", "aggregation_type": "count_agg",
            "filters": [{"key": "region", "values": ["eu", "us", "asia"]},
                        {"key": "tier", "values": ["gold", "silver"]}]}},
        // All the metric's tiers, and gold alone: gold goes to the
        // narrower filter only (A25); bronze, not a metric value, and a
        // missing tier go to the default bucket.
        {"code": "seats", "charge_model": "package",
         "properties": {"amount": "4", "package_size": 1, "free_units": 0},
         "filters": [
            {"values": {"tier": ["__ALL_FILTER_VALUES__"]},
             "properties": {"amount": "10", "package_size": 1, "free_units": 0}},
            {"values": {"tier": ["gold"]},
             "properties": {"amount": "25", "package_size": 1, "free_units": 0}}],
         "billable_metric": {"code": "seat", "aggregation_type": "unique_count_agg",
            "field_name": "user", "filters": [{"key": "tier", "values": ["gold", "silver"]}]}},
        {"code": "storage", "charge_model": "standard", "properties": {"amount": "0.125"},
         "billable_metric": {"code": "gb", "aggregation_type": "sum_agg", "field_name": "value"}}
    ]}})
}

const CODES: [&str; 4] = ["compute", "api", "seats", "storage"];

/// One event: subscription, code, seconds into March, and its properties
/// (`value`, `user`, `region`, `cloud`, `tier`; `None`: missing).
#[derive(Debug, Clone)]
struct Event {
    sub: String,
    code: &'static str,
    second: i64,
    props: [Option<String>; 5],
}

const KEYS: [&str; 5] = ["value", "user", "region", "cloud", "tier"];

fn event(sub: &str, code: &'static str, second: i64, props: [Option<&str>; 5]) -> Event {
    Event {
        sub: sub.into(),
        code,
        second,
        props: props.map(|p| p.map(String::from)),
    }
}

fn hand_made() -> Vec<Event> {
    let n = None;
    let s = Some;
    vec![
        // sub_a compute: aws 3 + 4, gcp 5, "" 1 and missing 2 (one null
        // group, AD6), a group of only "n/a" values (no group, A29).
        event("sub_a", "cpu", 10, [s("3"), n, n, s("aws"), n]),
        event("sub_a", "cpu", 20, [s("4"), n, n, s("aws"), n]),
        event("sub_a", "cpu", 30, [s("5"), n, n, s("gcp"), n]),
        event("sub_a", "cpu", 40, [s("1"), n, n, s(""), n]),
        event("sub_a", "cpu", 50, [s("2"), n, n, n, n]),
        event("sub_a", "cpu", 60, [s("n/a"), n, n, s("azure"), n]),
        // sub_a api: eu (filter 0), us (filters 0 and 1), asia (1),
        // eu + gold (0 and 2), latam and no region (default).
        event("sub_a", "requests", 100, [n, n, s("eu"), n, n]),
        event("sub_a", "requests", 110, [n, n, s("us"), s("aws"), n]),
        event("sub_a", "requests", 120, [n, n, s("asia"), n, n]),
        event("sub_a", "requests", 130, [n, n, s("eu"), n, s("gold")]),
        event("sub_a", "requests", 140, [n, n, s("latam"), n, n]),
        event("sub_a", "requests", 150, [n, n, n, n, n]),
        // sub_a seats: u1 silver, u2 gold, u3 bronze, u4 no tier.
        event("sub_a", "seat", 200, [n, s("u1"), n, n, s("silver")]),
        event("sub_a", "seat", 210, [n, s("u2"), n, n, s("gold")]),
        event("sub_a", "seat", 220, [n, s("u3"), n, n, s("bronze")]),
        event("sub_a", "seat", 230, [n, s("u4"), n, n, n]),
        // sub_b: storage only, and one compute event outside March.
        event("sub_b", "gb", 300, [s("8"), n, n, n, n]),
        event("sub_b", "cpu", -10, [s("9"), n, n, s("aws"), n]),
    ]
}

fn table(events: &[Event], parts: usize) -> SessionContext {
    let mut fields = vec![
        Field::new("external_subscription_id", DataType::Utf8, false),
        Field::new("code", DataType::Utf8, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("seq", DataType::Int64, false),
        Field::new("operation_type", DataType::Utf8, true),
    ];
    fields.extend(KEYS.iter().map(|k| Field::new(*k, DataType::Utf8, true)));
    let schema = Arc::new(Schema::new(fields));
    let mut batches = Vec::new();
    for p in 0..parts {
        let rows: Vec<(usize, &Event)> = events
            .iter()
            .enumerate()
            .filter(|(i, _)| i % parts == p)
            .collect();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, e)| e.sub.clone()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, e)| e.code),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|(_, e)| march_us() + e.second * 1_000_000),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|(i, _)| *i as i64),
            )),
            Arc::new(StringArray::from_iter(rows.iter().map(|_| None::<&str>))),
        ];
        for k in 0..KEYS.len() {
            columns.push(Arc::new(StringArray::from_iter(
                rows.iter().map(|(_, e)| e.props[k].clone()),
            )));
        }
        batches.push(vec![RecordBatch::try_new(schema.clone(), columns).unwrap()]);
    }
    crate::common::events_ctx(parts, schema, batches)
}

/// Per-charge figures: (units, events_count, amount_cents).
type Figures = (meterprice::Exact, u64, i128);

/// `meterprice usage` for one subscription's events, charge by charge.
fn usage(plan: &Json, events: &[Event], sub: &str) -> Vec<(String, Figures)> {
    let events: Vec<Json> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.sub == sub)
        .map(|(i, e)| {
            let mut props = serde_json::Map::new();
            for (k, v) in KEYS.iter().zip(&e.props) {
                if let Some(v) = v {
                    props.insert((*k).into(), Json::String(v.clone()));
                }
            }
            json!({"transaction_id": format!("t{i}"), "code": e.code,
                   "timestamp": march_us() / 1_000_000 + e.second, "properties": props})
        })
        .collect();
    let request = json!({"currency": "EUR", "period": {"from_datetime": FROM, "to_datetime": TO},
        "plan": plan["plan"], "events": events});
    let mut out = Vec::new();
    meterprice::usage_json(&request.to_string(), &mut out, false);
    let v: Json = serde_json::from_slice(&out).unwrap();
    let charges = v["customer_usage"]["charges_usage"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    charges
        .iter()
        .map(|c| {
            let units = match &c["units"] {
                Json::String(s) => s.parse().unwrap(),
                other => other.to_string().parse().unwrap(),
            };
            let figures = (
                units,
                c["events_count"].as_u64().unwrap(),
                i128::from(c["amount_cents"].as_i64().unwrap()),
            );
            (c["charge"]["code"].as_str().unwrap().to_string(), figures)
        })
        .collect()
}

/// The query's rows: subscription → per charge, its figures (a plain
/// charge's fee struct gives `units` through its amount only, so its units
/// and events are not read).
fn sql(plan: &Json, events: &[Event], parts: usize) -> Vec<(String, Vec<(String, Figures)>)> {
    let sql = plan_sql(
        "EUR",
        &plan.to_string(),
        &EventsTable::new("events"),
        FROM,
        TO,
    )
    .unwrap();
    let batches = runtime().block_on(run(&table(events, parts), &sql));
    let mut out = Vec::new();
    for b in &batches {
        for row in 0..b.num_rows() {
            let sub = b.column(0).as_string::<i32>().value(row).to_string();
            let charges = CODES
                .iter()
                .map(|code| {
                    let s = b.column_by_name(code).unwrap().as_struct();
                    let cents = s
                        .column_by_name("amount_cents")
                        .unwrap()
                        .as_primitive::<Decimal128Type>();
                    let error = s.column_by_name("error").unwrap().as_string::<i32>();
                    assert!(error.is_null(row), "{sub} {code}: {}", error.value(row));
                    let figures = match s.column_by_name("units") {
                        Some(units) => (
                            units.as_string::<i32>().value(row).parse().unwrap(),
                            s.column_by_name("events_count")
                                .unwrap()
                                .as_primitive::<UInt64Type>()
                                .value(row),
                            cents.value(row),
                        ),
                        None => (meterprice::Exact::ZERO, 0, cents.value(row)),
                    };
                    (code.to_string(), figures)
                })
                .collect();
            out.push((sub, charges));
        }
    }
    out
}

/// The SQL figures equal `meterprice usage`'s, charge by charge (a plain
/// charge by amount only), for every subscription.
fn assert_agrees(plan: &Json, events: &[Event], parts: usize) {
    let rows = sql(plan, events, parts);
    let mut subs: Vec<&str> = events.iter().map(|e| e.sub.as_str()).collect();
    subs.sort();
    subs.dedup();
    // Only subscriptions with an event in March have a row.
    let in_march: Vec<&str> = subs
        .into_iter()
        .filter(|s| {
            events
                .iter()
                .any(|e| e.sub == *s && (0..86_400 * 31).contains(&e.second))
        })
        .collect();
    let got: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(got, in_march);
    for (sub, charges) in &rows {
        let reference = usage(plan, events, sub);
        for (code, figures) in charges {
            let (_, want) = reference
                .iter()
                .find(|(c, _)| c == code)
                .unwrap_or_else(|| panic!("{sub}: usage has no {code}: {reference:?}"));
            if *code == "storage" {
                assert_eq!(figures.2, want.2, "{sub} {code} ({parts} partitions)");
            } else {
                assert_eq!(figures, want, "{sub} {code} ({parts} partitions)");
            }
        }
    }
}

#[test]
fn filters_and_groups_price_as_meterprice_usage() {
    for parts in [1, 3] {
        assert_agrees(&plan(), &hand_made(), parts);
    }
}

#[test]
fn hand_worked_figures() {
    let rows = sql(&plan(), &hand_made(), 2);
    let figures = |sub: &str, code: &str| {
        let (_, charges) = rows.iter().find(|(s, _)| s == sub).unwrap();
        charges.iter().find(|(c, _)| c == code).unwrap().1
    };
    let d = |t: &str| t.parse::<meterprice::Exact>().unwrap();
    // compute, sub_a: groups aws 7, gcp 5, null 3 (""  and missing are one
    // group); azure has no numeric event, so no group. Each: 2 EUR flat +
    // 0.5 per unit: 550 + 450 + 350 = 1350 cents.
    assert_eq!(figures("sub_a", "compute"), (d("15"), 5, 1350));
    // api, sub_a: filter 0 (eu, us): eu, us, eu+gold = 3 → 300 + 30 = 330;
    // filter 1 (us, asia) grouped by cloud: us/aws 1 → 520, asia/null 1 →
    // 520; filter 2 (gold): 1 → 730; default (latam, none): 2 → 104.
    // 330 + 1040 + 730 + 104 = 2204 cents over 3 + 2 + 1 + 2 = 8 events.
    assert_eq!(figures("sub_a", "api"), (d("8"), 8, 2204));
    // seats, sub_a: filter 0 (gold, silver but not gold): u1 → 1000;
    // filter 1 (gold): u2 → 2500; default: u3, u4 → 800. 4300 cents.
    assert_eq!(figures("sub_a", "seats"), (d("4"), 4, 4300));
    // sub_b has no March event of these metrics: each bucket is the fee of
    // an empty aggregation. compute: one null group, 2 EUR flat = 200;
    // api: 300 + 500 + 700 + 100 = 1600; seats: 0.
    assert_eq!(figures("sub_b", "compute"), (d("0"), 0, 200));
    assert_eq!(figures("sub_b", "api"), (d("0"), 0, 1600));
    assert_eq!(figures("sub_b", "seats"), (d("0"), 0, 0));
}

#[test]
fn what_it_still_does_not_cover_is_refused_by_name() {
    let refused = |edit: &dyn Fn(&mut Json), charge: &str, feature: &str| {
        let mut p = plan();
        edit(&mut p);
        let e = plan_sql("EUR", &p.to_string(), &EventsTable::new("events"), FROM, TO).unwrap_err();
        let want = PlanSqlError::Unsupported {
            charge: charge.into(),
            feature: feature.into(),
        };
        assert_eq!(e, want);
    };
    refused(
        &|p| {
            // Proration needs a recurring metric; proration is named first.
            p["plan"]["charges"][0]["prorated"] = json!(true);
            p["plan"]["charges"][0]["billable_metric"]["recurring"] = json!(true);
        },
        "compute",
        "proration",
    );
    refused(
        &|p| p["plan"]["charges"][0]["billable_metric"]["recurring"] = json!(true),
        "compute",
        "a recurring metric",
    );
    refused(
        &|p| {
            p["plan"]["charges"][0]["billable_metric"]["expression"] =
                json!("event.properties.value * 2")
        },
        "compute",
        "a metric expression",
    );
    refused(
        &|p| p["plan"]["charges"][0]["billable_metric"]["rounding_function"] = json!("ceil"),
        "compute",
        "metric rounding",
    );
    refused(
        &|p| {
            p["plan"]["charges"][3] = json!({"code": "gmv", "charge_model": "dynamic",
                "billable_metric": {"code": "gb", "aggregation_type": "sum_agg", "field_name": "value"}})
        },
        "gmv",
        "the dynamic model",
    );
    refused(
        &|p| {
            p["plan"]["charges"][3] = json!({"code": "fx", "charge_model": "percentage",
                "properties": {"rate": "1"},
                "filters": [{"values": {"region": ["eu"]},
                    "properties": {"rate": "2", "free_units_per_events": 3}}],
                "billable_metric": {"code": "gb", "aggregation_type": "sum_agg", "field_name": "value",
                    "filters": [{"key": "region", "values": ["eu"]}]}})
        },
        "fx",
        "percentage rules that read per-event values",
    );
}

/// Generated events over the plan's keys: texts from small sets, with
/// `""`, missing values and a non-numeric value among them.
fn generated() -> impl Strategy<Value = Vec<Event>> {
    let text = |choices: &'static [&'static str]| {
        prop::sample::select(choices).prop_map(|c| (c != "-").then(|| c.to_string()))
    };
    let one = (
        0..3usize,
        prop::sample::select(&["cpu", "requests", "seat", "gb"][..]),
        -86_400i64..86_400 * 32,
        text(&["1", "2.5", "10", "0.125", "n/a", "-"]),
        text(&["u1", "u2", "u3", "-"]),
        text(&["eu", "us", "asia", "latam", "", "-"]),
        text(&["aws", "gcp", "", "-"]),
        text(&["gold", "silver", "bronze", "", "-"]),
    )
        .prop_map(
            |(s, code, second, value, user, region, cloud, tier)| Event {
                sub: format!("sub_{s}"),
                code,
                second,
                props: [value, user, region, cloud, tier],
            },
        );
    prop::collection::vec(one, 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn generated_events_price_as_meterprice_usage(events in generated(), parts in 1..3usize) {
        assert_agrees(&plan(), &events, parts);
    }
}
