//! `plan_sql`: the query it writes prices a table of events exactly as the
//! core aggregates and prices each subscription's events (units, events and
//! amount per charge), and it refuses what it does not cover.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::prelude::SessionContext;
use meterprice::Timestamp;
use meterprice_datafusion::{EventsTable, PlanSqlError, plan_sql};
use serde_json::{Value as Json, json};

use crate::common::{charge, core_row, fee_rows, run};

mod split;

const FROM: &str = "2024-03-01T00:00:00Z";
const TO: &str = "2024-03-31T23:59:59.999999Z";

fn plan() -> Json {
    json!({"plan": {"code": "startup", "charges": [
        {"code": "api", "charge_model": "graduated", "properties": {"graduated_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "0.05", "flat_amount": "1"},
            {"from_value": 11, "to_value": null, "per_unit_amount": "0.01", "flat_amount": "0"}]},
         "billable_metric": {"code": "requests", "aggregation_type": "count_agg"}},
        {"code": "storage", "charge_model": "standard", "properties": {"amount": "0.125"},
         "taxes": [{"code": "vat", "rate": "20"}],
         "billable_metric": {"code": "gb", "aggregation_type": "sum_agg", "field_name": "value"}},
        {"code": "seats", "charge_model": "package",
         "properties": {"amount": "5", "package_size": 2, "free_units": 1},
         "billable_metric": {"code": "seat", "aggregation_type": "unique_count_agg",
                             "field_name": "value"}}
    ]}})
}

/// (subscription, code, value text, seconds into March, operation_type).
type Event = (
    String,
    &'static str,
    Option<String>,
    i64,
    Option<&'static str>,
);

fn events() -> Vec<Event> {
    let mut out = Vec::new();
    let mut seed = 11u64;
    for i in 0..300 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let sub = format!("sub_{}", (seed >> 33) % 5);
        let second = ((seed >> 20) % (86_400 * 33)) as i64 - 86_400; // some outside March
        let (code, value, op) = match i % 3 {
            0 => ("requests", None, None),
            1 => (
                "gb",
                Some(format!("{}.{}", (seed >> 40) % 50, (seed >> 8) % 10)),
                None,
            ),
            _ => (
                "seat",
                Some(format!("u{}", (seed >> 44) % 6)),
                if (seed >> 7).is_multiple_of(4) {
                    Some("remove")
                } else {
                    None
                },
            ),
        };
        // One value in twenty is not numeric: A13 leaves it out.
        let value = if i % 20 == 4 {
            Some("n/a".to_string())
        } else {
            value
        };
        out.push((sub, code, value, second, op));
    }
    out
}

fn march_us() -> i64 {
    Timestamp::parse(FROM).unwrap().micros()
}

fn table(parts: usize) -> SessionContext {
    let evs = events();
    let schema = Arc::new(Schema::new(vec![
        Field::new("external_subscription_id", DataType::Utf8, false),
        Field::new("code", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("seq", DataType::Int64, false),
        Field::new("operation_type", DataType::Utf8, true),
    ]));
    let mut batches = Vec::new();
    for p in 0..parts {
        let rows: Vec<_> = evs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % parts == p)
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, e)| e.0.clone()),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(_, e)| e.1))),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|(_, e)| e.2.clone()),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|(_, e)| march_us() + e.3 * 1_000_000),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|(i, _)| *i as i64),
            )),
            Arc::new(StringArray::from_iter(rows.iter().map(|(_, e)| e.4))),
        ];
        batches.push(vec![RecordBatch::try_new(schema.clone(), columns).unwrap()]);
    }
    crate::common::events_ctx(parts, schema, batches)
}

/// One subscription's events as Lago JSON.
fn sub_events(sub: &str) -> Vec<Json> {
    events()
        .iter()
        .enumerate()
        .filter(|(_, e)| e.0 == sub)
        .map(|(i, e)| {
            let mut props = serde_json::Map::new();
            if let Some(v) = &e.2 {
                props.insert("value".into(), Json::String(v.clone()));
            }
            if let Some(op) = e.4 {
                props.insert("operation_type".into(), Json::String(op.into()));
            }
            json!({"transaction_id": format!("t{i}"), "code": e.1,
                   "timestamp": march_us() / 1_000_000 + e.3, "properties": props})
        })
        .collect()
}

/// A count or a decimal as JSON gives it, as text.
fn text_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The core for one subscription, charge by charge: its events through
/// `aggregate` (the metric, the period), the aggregation priced by
/// `Charge::rate`: (code, units, events_count, amount_cents).
fn core_usage(sub: &str) -> Vec<(String, String, u64, i64)> {
    let events = sub_events(sub);
    let plan = plan();
    plan["plan"]["charges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let request = json!({"billable_metric": c["billable_metric"],
                "period": {"from_datetime": FROM, "to_datetime": TO}, "events": events});
            let mut out = Vec::new();
            meterprice::aggregate_json(&request.to_string(), &mut out, false);
            let v: Json = serde_json::from_slice(&out).unwrap();
            let b = &v["buckets"][0];
            let units = text_of(&b["aggregation"]);
            let n: u64 = text_of(&b["count"])
                .parse()
                .unwrap_or_else(|_| panic!("{v}"));
            let fee = core_row(&charge("EUR", &c.to_string()), &units, n);
            (
                c["code"].as_str().unwrap().to_string(),
                units,
                n,
                i64::try_from(fee.amount_cents.unwrap_or_else(|| panic!("{fee:?}"))).unwrap(),
            )
        })
        .collect()
}

/// `meterprice usage` for one subscription: (code, units, events_count,
/// amount_cents) per charge.
fn usage(sub: &str) -> Vec<(String, String, u64, i64)> {
    let request = json!({"currency": "EUR", "period": {"from_datetime": FROM, "to_datetime": TO},
        "plan": plan()["plan"], "events": sub_events(sub)});
    let mut out = Vec::new();
    meterprice::usage_json(&request.to_string(), &mut out, false);
    let v: Json = serde_json::from_slice(&out).unwrap();
    let charges = v["customer_usage"]["charges_usage"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    charges
        .iter()
        .map(|c| {
            (
                c["charge"]["code"].as_str().unwrap().to_string(),
                text_of(&c["units"]),
                c["events_count"].as_u64().unwrap(),
                c["amount_cents"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn meterprice_usage_agrees_with_the_core_reference() {
    // The reference the SQL is held to is `meterprice usage`'s own figures
    // (units compared by value: usage prints Ruby's `4.0`).
    for sub in (0..5).map(|k| format!("sub_{k}")) {
        let reference = core_usage(&sub);
        let usage = usage(&sub);
        assert_eq!(usage.len(), reference.len(), "{sub}: {usage:?}");
        for (u, r) in usage.iter().zip(&reference) {
            let value = |t: &str| t.parse::<meterprice::Exact>().unwrap();
            assert_eq!(
                (&u.0, value(&u.1), u.2, u.3),
                (&r.0, value(&r.1), r.2, r.3),
                "{sub}"
            );
        }
    }
}

#[test]
fn the_plan_query_prices_as_the_core() {
    let sql = plan_sql(
        "EUR",
        &plan().to_string(),
        &EventsTable::new("events"),
        FROM,
        TO,
    )
    .unwrap();
    let rt = crate::common::runtime();
    for parts in [1, 3] {
        let batches = rt.block_on(run(&table(parts), &sql));
        let subs: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_string::<i32>();
                (0..a.len())
                    .map(|i| a.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(subs.len(), 5, "{subs:?}");
        let codes = ["api", "storage", "seats"];
        let fees: Vec<_> = codes.iter().map(|c| fee_rows(&batches, c)).collect();
        // The units each fee was priced on: the aggregation fed to it.
        for (row, sub) in subs.iter().enumerate() {
            let core = core_usage(sub);
            for (k, code) in codes.iter().enumerate() {
                let fee = &fees[k][row];
                assert_eq!(fee.error, None, "{sub} {code}");
                let (_, _, _, cents) = core
                    .iter()
                    .find(|c| c.0 == *code)
                    .unwrap_or_else(|| panic!("{sub}: no usage of {code}: {core:?}"));
                assert_eq!(
                    fee.amount_cents,
                    Some(i128::from(*cents)),
                    "{sub} {code} ({parts} partitions)"
                );
            }
        }
    }
}

#[test]
fn units_and_counts_are_the_cores() {
    // The aggregations alone, read back from the inner query's columns.
    let sql = plan_sql(
        "EUR",
        &plan().to_string(),
        &EventsTable::new("events"),
        FROM,
        TO,
    )
    .unwrap();
    let inner = sql
        .split_once("FROM (")
        .map(|(_, rest)| rest.rsplit_once(") ORDER BY").unwrap().0.to_string())
        .unwrap();
    let batches = crate::common::runtime()
        .block_on(run(&table(2), &format!("{inner} ORDER BY subscription_id")));
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 5);
    for b in &batches {
        for row in 0..b.num_rows() {
            let sub = b.column(0).as_string::<i32>().value(row);
            let core = core_usage(sub);
            for (k, code) in ["api", "storage", "seats"].iter().enumerate() {
                let s = b.column(k + 1).as_struct();
                let units: meterprice::Exact =
                    s.column(0).as_string::<i32>().value(row).parse().unwrap();
                let n = s
                    .column(1)
                    .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
                    .value(row);
                let c = core.iter().find(|c| c.0 == *code).unwrap();
                assert_eq!(units, c.1.parse().unwrap(), "{sub} {code} units");
                assert_eq!(n, c.2, "{sub} {code} events");
            }
        }
    }
}

#[test]
fn what_it_does_not_cover_is_refused_by_name() {
    let mut p = plan();
    p["plan"]["charges"][1]["pay_in_advance"] = json!(true);
    let e = plan_sql("EUR", &p.to_string(), &EventsTable::new("events"), FROM, TO).unwrap_err();
    assert_eq!(
        e,
        PlanSqlError::Unsupported {
            charge: "storage".into(),
            feature: "pay_in_advance".into()
        }
    );
    let mut p = plan();
    p["plan"]["charges"][0]["properties"]["graduated_ranges"] = json!([]);
    let e = plan_sql("EUR", &p.to_string(), &EventsTable::new("events"), FROM, TO).unwrap_err();
    assert!(matches!(e, PlanSqlError::Invalid(_)), "{e}");
}
