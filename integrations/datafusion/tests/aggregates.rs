//! The aggregate functions against the core: every public aggregation case
//! that SQL can express (one metric, no filters, groups, rounding,
//! expression, proration, payment in advance or carried state), run
//! through `meterprice_*` over a table of its events, equals the core's
//! `aggregate` result for the same request (and the case's expected
//! aggregation), in one partition and in three.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit, UInt64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use meterprice::{EventReader, Exact, Properties};
use serde_json::Value as Json;
use serde_json::value::RawValue;

use crate::common::run;

/// The public cases (the root crate's copy).
pub fn case_lines() -> Vec<String> {
    let path = format!(
        "{}/../../tests/data/aggregation-cases.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// One event row: (code, A12 text of the field, timestamp µs, seq, operation_type).
pub type Row = (Option<String>, Option<String>, i64, i64, Option<String>);

pub fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("seq", DataType::Int64, false),
        Field::new("op", DataType::Utf8, true),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.0.clone()))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.clone()))),
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            rows.iter().map(|r| r.2),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.3))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.4.clone()))),
    ];
    RecordBatch::try_new(schema(), columns).expect("batch")
}

/// A context with the events table split into `partitions` partitions
/// (round robin, so each partition holds events of every time).
pub fn table_ctx(rows: &[Row], partitions: usize) -> SessionContext {
    let ctx = SessionContext::new_with_config(
        SessionConfig::new().with_target_partitions(partitions.max(1)),
    );
    meterprice_datafusion::register(&ctx);
    let mut parts = vec![Vec::new(); partitions.max(1)];
    for (i, r) in rows.iter().enumerate() {
        parts[i % partitions.max(1)].push(r.clone());
    }
    let parts = parts.iter().map(|p| vec![batch(p)]).collect();
    let table = MemTable::try_new(schema(), parts).expect("table");
    ctx.register_table("events", Arc::new(table))
        .expect("register");
    ctx
}

/// The (aggregation, events_count) of the single row of `sql`.
pub async fn sql_result(ctx: &SessionContext, sql: &str) -> (Exact, u64) {
    let batches = run(ctx, sql).await;
    let rows: Vec<_> = batches.iter().filter(|b| b.num_rows() > 0).collect();
    assert_eq!(rows.len(), 1, "{sql}");
    let s = rows[0].column(0).as_struct();
    let a = s.column_by_name("aggregation").unwrap().as_string::<i32>();
    let n = s
        .column_by_name("events_count")
        .unwrap()
        .as_primitive::<UInt64Type>();
    (a.value(0).parse().expect("decimal"), n.value(0))
}

/// The call that aggregates `metric`'s type over `events`.
pub fn call(aggregation_type: &str, from_us: i64, to_us: i64, duration: Option<u64>) -> String {
    match aggregation_type {
        "count_agg" => "meterprice_count(1)".into(),
        "sum_agg" => "meterprice_sum(value)".into(),
        "max_agg" => "meterprice_max(value)".into(),
        "latest_agg" => "meterprice_latest(value, ts, seq)".into(),
        "unique_count_agg" => "meterprice_unique_count(value, ts, seq, op)".into(),
        "weighted_sum_agg" => format!(
            "meterprice_weighted_sum(value, ts, to_timestamp_micros({from_us}), \
             to_timestamp_micros({to_us}), NULL, {})",
            duration.map_or("NULL".into(), |d| d.to_string())
        ),
        other => panic!("no function for {other}"),
    }
}

/// Whether SQL over one events table expresses the case.
fn expressible(case: &Json) -> bool {
    let bm = &case["billable_metric"];
    let plain_metric = ["filters", "rounding_function", "expression"]
        .iter()
        .all(|k| bm.get(*k).is_none_or(Json::is_null))
        && bm["recurring"] != true;
    let charge = &case["charge"];
    let plain_charge =
        charge.is_null() || (charge["prorated"] != true && charge["pay_in_advance"] != true);
    let extras = [
        "pricing_group_keys",
        "options",
        "pay_in_advance_event",
        "charge_filters",
        "cached_aggregations",
        "current_filter",
        "matching_filters",
        "weighted_sum_initial",
        "per_event",
        "kind",
    ];
    plain_metric
        && plain_charge
        && case.get("events").is_some()
        && extras
            .iter()
            .all(|k| case.get(*k).is_none_or(Json::is_null))
}

fn micros(text: &str) -> i64 {
    meterprice::Timestamp::parse(text)
        .expect("timestamp")
        .micros()
}

/// The case's events as rows: readable ones only (the core rejects the
/// others), the first of each transaction id (QA19).
fn rows_of(line: &str, field: Option<&str>) -> Vec<Row> {
    let fields: std::collections::BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(line).expect("case");
    let events: Vec<Box<RawValue>> = serde_json::from_str(fields["events"].get()).expect("events");
    let keys: Vec<Box<str>> = vec![field.unwrap_or("").into(), "operation_type".into()];
    let mut reader = EventReader::new(&keys);
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (seq, raw) in events.iter().enumerate() {
        let event = reader.read(raw.get()).expect("event JSON");
        let Ok(meta) = event.meta(seq as u64, true) else {
            continue;
        };
        if !seen.insert(meta.transaction_id.to_string()) {
            continue;
        }
        let text = |k: usize| event.get(k).and_then(|v| v.text()).map(|t| t.to_string());
        rows.push((
            meta.code.map(str::to_string),
            field.and_then(|_| text(0)),
            meta.timestamp.micros(),
            seq as i64,
            text(1),
        ));
    }
    rows
}

/// The core's (aggregation, count) for the request `line`.
fn core_result(line: &str) -> (Exact, u64) {
    let mut out = Vec::new();
    meterprice::aggregate_json(line, &mut out, false);
    let v: Json = serde_json::from_slice(&out).expect("aggregate output");
    let bucket = v["buckets"]
        .get(0)
        .unwrap_or_else(|| panic!("no bucket in {v}"));
    let dec = |j: &Json| match j {
        Json::String(s) => s.parse::<Exact>().expect("decimal"),
        other => other.to_string().parse().expect("decimal"),
    };
    (
        dec(&bucket["aggregation"]),
        dec(&bucket["count"]).to_string().parse().expect("count"),
    )
}

#[test]
fn public_cases_equal_the_core() {
    let rt = crate::common::runtime();
    let mut checked = Vec::new();
    for line in case_lines() {
        let case: Json = serde_json::from_str(&line).expect("case");
        if !expressible(&case) {
            continue;
        }
        let id = case["id"].as_str().unwrap().to_string();
        let bm = &case["billable_metric"];
        let kind = bm["aggregation_type"].as_str().unwrap();
        let code = bm["code"].as_str().unwrap();
        let rows = rows_of(&line, bm["field_name"].as_str());
        let from = micros(case["period"]["from_datetime"].as_str().unwrap());
        let to = micros(case["period"]["to_datetime"].as_str().unwrap());
        let duration = case["period"]["charges_duration"].as_u64();
        // A7's window: floor_ms(from) ≤ timestamp ≤ to, or A9's max_timestamp.
        let from_ms = from.div_euclid(1000) * 1000;
        let upper = case["period"]["max_timestamp"].as_str().map_or(to, micros);
        let sql = format!(
            "SELECT {} FROM events WHERE (code = '{code}' OR code IS NULL) \
             AND ts >= to_timestamp_micros({from_ms}) AND ts <= to_timestamp_micros({upper})",
            call(kind, from, to, duration)
        );
        let core = core_result(&line);
        for partitions in [1, 3] {
            let ctx = table_ctx(&rows, partitions);
            let got = rt.block_on(sql_result(&ctx, &sql));
            assert_eq!(got, core, "{id} in {partitions} partition(s): {sql}");
        }
        // The core itself meets the case (the anchor of the comparison).
        let exp = &case["expected"];
        let want = match &exp["aggregation"] {
            Json::Object(o) => {
                let places = o["round"].as_u64().unwrap() as u32;
                let v: Exact = o["value"].as_str().unwrap().parse().unwrap();
                assert_eq!(core.0.round_half_away(places), v, "{id}");
                v
            }
            Json::String(s) => s.parse().unwrap(),
            other => other.to_string().parse().unwrap(),
        };
        if !exp["aggregation"].is_object() {
            assert_eq!(core.0, want, "{id}");
        }
        checked.push(format!("{id} ({kind})"));
    }
    // Every type is among the cases checked.
    for kind in [
        "count_agg",
        "sum_agg",
        "max_agg",
        "latest_agg",
        "unique_count_agg",
        "weighted_sum_agg",
    ] {
        assert!(
            checked.iter().any(|c| c.contains(kind)),
            "no public case of {kind}: {checked:?}"
        );
    }
    eprintln!("{} public cases checked: {checked:?}", checked.len());
}

/// The error of running `sql`, or a panic if it runs.
async fn error_of(ctx: &SessionContext, sql: &str) -> String {
    let outcome = match ctx.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(e) => Err(e),
    };
    outcome.expect_err(sql).to_string()
}

#[tokio::test]
async fn mantissa_sums_beyond_i128_stay_exact() {
    // Decimal128(38, 10): 7e27 has the mantissa 7e37, and three of them
    // (2.1e38) leave i128 (1.7e38): the fast path hands what it summed to
    // the exact sum and goes on. 3 × 7e27 − 2 × 7e27 = 7e27, in range.
    let ctx = crate::common::ctx();
    let values = "(CAST('7000000000000000000000000000' AS DECIMAL(38, 10)), 'a'), \
                  (CAST('7000000000000000000000000000' AS DECIMAL(38, 10)), 'a'), \
                  (CAST('7000000000000000000000000000' AS DECIMAL(38, 10)), 'a'), \
                  (CAST('-7000000000000000000000000000' AS DECIMAL(38, 10)), 'a'), \
                  (CAST('-7000000000000000000000000000' AS DECIMAL(38, 10)), 'a')";
    for sql in [
        format!("SELECT meterprice_sum(v) FROM (VALUES {values}) AS t(v, g)"),
        format!("SELECT meterprice_sum(v) FROM (VALUES {values}) AS t(v, g) GROUP BY g"),
    ] {
        let want: Exact = "7000000000000000000000000000".parse().unwrap();
        assert_eq!(sql_result(&ctx, &sql).await, (want, 5), "{sql}");
    }
}

#[tokio::test]
async fn bad_values_are_left_out_refused_or_errors() {
    let ctx = crate::common::ctx();
    // A13: NULL, '1e3', ' 5' and '5.' are left out of value and count;
    // 2.5 + 007 = 9.5 over 2 events.
    let sql = "SELECT meterprice_sum(v) FROM (VALUES ('2.5'), (NULL), ('1e3'), (' 5'), ('5.'), ('007')) AS t(v)";
    assert_eq!(sql_result(&ctx, sql).await, ("9.5".parse().unwrap(), 2));
    // 2^96 is beyond the decimal range: the core rejects the event; here
    // the query fails rather than leave it out silently.
    let e = error_of(
        &ctx,
        "SELECT meterprice_max(v) FROM (VALUES ('79228162514264337593543950336')) AS t(v)",
    )
    .await;
    assert!(e.contains("arithmetic_overflow"), "{e}");
    // Binary floats are refused at planning.
    let e = error_of(
        &ctx,
        "SELECT meterprice_sum(CAST(v AS DOUBLE)) FROM (VALUES (1.5)) AS t(v)",
    )
    .await;
    assert!(e.contains("binary float"), "{e}");
    // A sum that leaves the range fails with arithmetic_overflow.
    let e = error_of(
        &ctx,
        "SELECT meterprice_sum(v) FROM (VALUES ('79228162514264337593543950335'), ('1')) AS t(v)",
    )
    .await;
    assert!(e.contains("arithmetic_overflow"), "{e}");
    // A weighted sum's period bounds must be constants.
    let e = error_of(
        &ctx,
        "SELECT meterprice_weighted_sum(v, ts, ts, ts) FROM \
         (VALUES ('1', TIMESTAMP '2024-03-01T00:00:00')) AS t(v, ts)",
    )
    .await;
    assert!(e.contains("must be a constant"), "{e}");
}

#[tokio::test]
async fn no_rows_is_zero() {
    // A30: an empty bucket aggregates to 0 over 0 events.
    let ctx = crate::common::ctx();
    let sql = "SELECT meterprice_max(v) FROM (VALUES ('3')) AS t(v) WHERE v = 'x'";
    assert_eq!(sql_result(&ctx, sql).await, (Exact::ZERO, 0));
}
