//! Property: on generated events, grouped by subscription and split over
//! partitions, every `meterprice_*` aggregate gives exactly the core's
//! `aggregate` result for that subscription's events, with values as
//! property text (A13 applies) and as `Decimal128` numbers.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit, UInt64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use meterprice::{Exact, Timestamp};
use proptest::prelude::*;
use serde_json::Value as Json;

use crate::common::{run, runtime};

const FROM: &str = "2024-03-01T00:00:00Z";
const TO: &str = "2024-03-31T23:59:59.999999Z";
const TYPES: [(&str, &str); 6] = [
    ("count_agg", "meterprice_count(1)"),
    ("sum_agg", "meterprice_sum(v)"),
    ("max_agg", "meterprice_max(v)"),
    ("latest_agg", "meterprice_latest(v, ts, seq)"),
    (
        "unique_count_agg",
        "meterprice_unique_count(v, ts, seq, op)",
    ),
    (
        "weighted_sum_agg",
        "meterprice_weighted_sum(v, ts, TIMESTAMP '2024-03-01T00:00:00', \
         TIMESTAMP '2024-03-31T23:59:59.999999')",
    ),
];

/// One generated event.
#[derive(Debug, Clone)]
struct Ev {
    sub: u8,
    /// The property: a JSON string's text, or none.
    text: Option<String>,
    /// The property as a number: mantissa at scale 3.
    number: i64,
    /// Seconds into March (a few values, so timestamps tie).
    second: i64,
    op: Option<&'static str>,
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        (-500i64..500, 0u32..4).prop_map(|(m, s)| Some(Exact::from_mantissa_text(m, s))),
        prop::sample::select(vec![
            "1e3", "+5", " 5", "5.", "abc", "", "true", "007", "-0.0"
        ])
        .prop_map(|s| Some(s.to_string())),
        Just(None),
    ]
}

trait FromMantissa {
    fn from_mantissa_text(m: i64, scale: u32) -> String;
}

impl FromMantissa for Exact {
    /// `m × 10^-scale` as plain text (trailing zeros kept: `1.50`).
    fn from_mantissa_text(m: i64, scale: u32) -> String {
        let digits = format!("{:0>width$}", m.unsigned_abs(), width = scale as usize + 1);
        let (int, frac) = digits.split_at(digits.len() - scale as usize);
        let sign = if m < 0 { "-" } else { "" };
        if scale == 0 {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }
}

fn event() -> impl Strategy<Value = Ev> {
    (
        0u8..4,
        text(),
        -99_999i64..99_999,
        prop::sample::select(vec![0i64, 3_600, 86_400, 86_400 * 15 + 7, 86_400 * 30]),
        prop::sample::select(vec![None, Some("add"), Some("remove")]),
    )
        .prop_map(|(sub, text, number, second, op)| Ev {
            sub,
            text,
            number,
            second,
            op,
        })
}

fn start_us() -> i64 {
    Timestamp::parse(FROM).unwrap().micros()
}

fn table(events: &[Ev], partitions: usize, decimal: bool) -> SessionContext {
    let v_type = if decimal {
        DataType::Decimal128(20, 3)
    } else {
        DataType::Utf8
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("sub", DataType::Utf8, false),
        Field::new("v", v_type, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("seq", DataType::Int64, false),
        Field::new("op", DataType::Utf8, true),
    ]));
    // Batches of at most 5 rows: partitions see several batches, so
    // states merge and partial aggregation can be skipped mid-stream.
    let batch = |rows: &[(usize, &Ev)]| {
        let v: ArrayRef = if decimal {
            Arc::new(
                Decimal128Array::from_iter_values(rows.iter().map(|(_, e)| i128::from(e.number)))
                    .with_precision_and_scale(20, 3)
                    .unwrap(),
            )
        } else {
            Arc::new(StringArray::from_iter(
                rows.iter().map(|(_, e)| e.text.clone()),
            ))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, e)| format!("s{}", e.sub)),
            )),
            v,
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|(_, e)| start_us() + e.second * 1_000_000),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|(i, _)| *i as i64),
            )),
            Arc::new(StringArray::from_iter(rows.iter().map(|(_, e)| e.op))),
        ];
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    };
    let mut parts = Vec::new();
    for p in 0..partitions {
        let rows: Vec<(usize, &Ev)> = events
            .iter()
            .enumerate()
            .filter(|(i, _)| i % partitions == p)
            .collect();
        let mut batches: Vec<RecordBatch> = rows.chunks(5).map(batch).collect();
        if batches.is_empty() {
            batches.push(batch(&[]));
        }
        parts.push(batches);
    }
    let ctx =
        SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    meterprice_datafusion::register(&ctx);
    ctx.register_table(
        "events",
        Arc::new(MemTable::try_new(schema, parts).unwrap()),
    )
    .unwrap();
    ctx
}

/// The core's (aggregation, count) for one subscription's events.
fn core(kind: &str, events: &[(usize, &Ev)], decimal: bool) -> (Exact, u64) {
    let events: Vec<Json> = events
        .iter()
        .map(|(i, e)| {
            let mut props = serde_json::Map::new();
            if decimal {
                let number = Exact::from_mantissa_text(e.number, 3);
                props.insert("value".into(), serde_json::from_str(&number).unwrap());
            } else if let Some(t) = &e.text {
                props.insert("value".into(), Json::String(t.clone()));
            }
            if let Some(op) = e.op {
                props.insert("operation_type".into(), Json::String(op.into()));
            }
            serde_json::json!({
                "transaction_id": format!("t{i}"),
                "timestamp": start_us() / 1_000_000 + e.second,
                "properties": props,
            })
        })
        .collect();
    let request = serde_json::json!({
        "billable_metric": {"code": "bm", "aggregation_type": kind, "field_name": "value",
            "recurring": false, "weighted_interval": "seconds"},
        "period": {"from_datetime": FROM, "to_datetime": TO},
        "events": events,
    });
    let mut out = Vec::new();
    meterprice::aggregate_json(&request.to_string(), &mut out, false);
    let v: Json = serde_json::from_slice(&out).unwrap();
    let b = &v["buckets"][0];
    let dec = |j: &Json| match j {
        Json::String(s) => s.parse::<Exact>().unwrap(),
        other => other
            .to_string()
            .parse::<Exact>()
            .unwrap_or_else(|_| panic!("{v}")),
    };
    (
        dec(&b["aggregation"]),
        dec(&b["count"]).to_string().parse().unwrap(),
    )
}

/// Every subscription's results of every function, by SQL.
async fn by_sql(ctx: &SessionContext) -> BTreeMap<String, Vec<(Exact, u64)>> {
    let calls: Vec<String> = TYPES.iter().map(|(_, c)| c.to_string()).collect();
    let sql = format!("SELECT sub, {} FROM events GROUP BY sub", calls.join(", "));
    let mut out = BTreeMap::new();
    for b in run(ctx, &sql).await {
        for row in 0..b.num_rows() {
            let sub = b.column(0).as_string::<i32>().value(row).to_string();
            let results = (1..=TYPES.len())
                .map(|c| {
                    let s = b.column(c).as_struct();
                    let a = s.column(0).as_string::<i32>().value(row);
                    let n = s.column(1).as_primitive::<UInt64Type>().value(row);
                    (a.parse().unwrap(), n)
                })
                .collect();
            out.insert(sub, results);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn grouped_and_partitioned_aggregates_equal_the_core(
        events in prop::collection::vec(event(), 0..40),
        partitions in 1usize..4,
        decimal in any::<bool>(),
    ) {
        let ctx = table(&events, partitions, decimal);
        let got = runtime().block_on(by_sql(&ctx));
        let mut subs: BTreeMap<String, Vec<(usize, &Ev)>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            subs.entry(format!("s{}", e.sub)).or_default().push((i, e));
        }
        prop_assert_eq!(got.len(), subs.len());
        for (sub, evs) in &subs {
            let want: Vec<_> = TYPES.iter().map(|(kind, _)| core(kind, evs, decimal)).collect();
            prop_assert_eq!(&got[sub], &want, "{}", sub);
        }
    }
}

/// Every subscription's sums (text and Decimal128, with and without a
/// `FILTER`) in a context that skips partial aggregation after one row,
/// which turns each row into a state of its own (`convert_to_state`).
async fn sums(ctx: &SessionContext) -> Vec<String> {
    let sql = "SELECT sub, meterprice_sum(v) AS s, \
               meterprice_sum(v) FILTER (WHERE seq % 2 = 0) AS f \
               FROM events GROUP BY sub ORDER BY sub";
    let batches = run(ctx, sql).await;
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
        .lines()
        .map(str::to_string)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn skipping_partial_aggregation_changes_nothing(
        events in prop::collection::vec(event(), 1..60),
        decimal in any::<bool>(),
    ) {
        let rt = runtime();
        let usual = rt.block_on(sums(&table(&events, 2, decimal)));
        let ctx = table(&events, 2, decimal);
        let state = ctx.state_ref();
        {
            let mut state = state.write();
            let options = state.config_mut().options_mut();
            options.execution.skip_partial_aggregation_probe_rows_threshold = 1;
            options.execution.skip_partial_aggregation_probe_ratio_threshold = 0.0;
        }
        let skipping = rt.block_on(sums(&ctx));
        prop_assert_eq!(skipping, usual);
    }
}
