//! The same pricing query on a Ballista cluster (an in-process scheduler
//! and executor talking gRPC on localhost), on DataFusion alone and in the
//! core crate: identical figures. The cluster's own function registry
//! never sees the meterprice functions: they reach the scheduler and the
//! executor through the extension codecs only.

use std::path::PathBuf;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::arrow::array::{ArrayRef, AsArray, Decimal128Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::SessionStateBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use meterprice::Exact;

use crate::common::{FeeRow, charge, core_row, ctx, fee_rows, quote, run};

const CHARGE: &str = r#"{"charge_model": "graduated", "properties": {"graduated_ranges": [
    {"from_value": 0, "to_value": 100, "per_unit_amount": "0.01", "flat_amount": "1"},
    {"from_value": 101, "to_value": null, "per_unit_amount": "0.0075", "flat_amount": "0"}]},
  "taxes": [{"code": "vat", "rate": "19"}], "min_amount_cents": 150}"#;

const SUBSCRIPTIONS: usize = 25;
const FILES: usize = 4;
const ROWS_PER_FILE: usize = 500;

/// Events with units of scale 6, deterministic, in `FILES` Parquet files;
/// returns the directory and each event's (subscription, units text).
fn write_events(name: &str) -> (PathBuf, Vec<(String, String)>) {
    let dir = std::env::temp_dir().join(format!("meterprice-df-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let schema = Arc::new(Schema::new(vec![
        Field::new("subscription_id", DataType::Utf8, false),
        Field::new("charge", DataType::Utf8, false),
        Field::new("units", DataType::Decimal128(20, 6), false),
        Field::new(
            "ts",
            DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("seq", DataType::Int64, false),
    ]));
    // 2024-03-01T00:00:00Z; events fall on whole hours, so timestamps tie.
    const MARCH_US: i64 = 1_709_251_200_000_000;
    let mut events = Vec::new();
    let mut seed: u64 = 0x5eed;
    for file in 0..FILES {
        let (mut subs, mut units, mut times, mut seqs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROWS_PER_FILE {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let k = (seed >> 33) as usize % SUBSCRIPTIONS;
            let sub = format!("sub_{k:03}");
            // Subscription k's events are below (k + 1) × 0.2 units: the
            // first ones stay under the minimum, the last ones do not.
            let micros = i128::from((seed >> 11) % ((k as u64 + 1) * 200_000));
            events.push((
                sub.clone(),
                format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000),
            ));
            subs.push(sub);
            units.push(micros);
            times.push(MARCH_US + ((seed >> 3) % 200) as i64 * 3_600_000_000);
            seqs.push(events.len() as i64);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(subs)),
            Arc::new(StringArray::from(vec![CHARGE; ROWS_PER_FILE])),
            Arc::new(
                Decimal128Array::from(units)
                    .with_precision_and_scale(20, 6)
                    .expect("decimal"),
            ),
            Arc::new(datafusion::arrow::array::TimestampMicrosecondArray::from(
                times,
            )),
            Arc::new(datafusion::arrow::array::Int64Array::from(seqs)),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).expect("batch");
        let path = dir.join(format!("part-{file}.parquet"));
        let mut writer = ArrowWriter::try_new(
            std::fs::File::create(path).expect("file"),
            schema.clone(),
            None,
        )
        .expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
    }
    (dir, events)
}

/// The core's figures per subscription, in subscription order.
fn core_fees(events: &[(String, String)]) -> Vec<(String, FeeRow)> {
    let mut usage: std::collections::BTreeMap<&str, (Exact, u64)> = Default::default();
    for (sub, units) in events {
        let entry = usage.entry(sub.as_str()).or_insert((Exact::ZERO, 0));
        entry.0 = entry
            .0
            .checked_add(units.parse().expect("units"))
            .expect("in range");
        entry.1 += 1;
    }
    let charge = charge("EUR", CHARGE);
    usage
        .into_iter()
        .map(|(sub, (units, n))| (sub.to_string(), core_row(&charge, &units.to_string(), n)))
        .collect()
}

/// Literal charge (bound at planning, shipped as bytes) and charge column
/// (the unbound function, shipped by name).
fn queries() -> [String; 2] {
    [
        format!(
            "SELECT subscription_id, meterprice_rate({}, 'EUR', SUM(units), COUNT(*)) AS fee \
             FROM events GROUP BY subscription_id ORDER BY subscription_id",
            quote(CHARGE)
        ),
        "SELECT subscription_id, meterprice_rate(MIN(charge), 'EUR', SUM(units), COUNT(*)) AS fee \
         FROM events GROUP BY subscription_id ORDER BY subscription_id"
            .to_string(),
    ]
}

async fn subscription_fees(ctx: &SessionContext, sql: &str) -> Vec<(String, FeeRow)> {
    let batches = run(ctx, sql).await;
    let mut subs = Vec::new();
    for b in &batches {
        let ids = b
            .column_by_name("subscription_id")
            .expect("subscription_id");
        let ids = cast(ids, &DataType::Utf8).expect("text");
        let ids = ids.as_string::<i32>();
        let ids = ids.iter().map(|s| s.unwrap_or_default().to_string());
        subs.extend(ids);
    }
    subs.into_iter().zip(fee_rows(&batches, "fee")).collect()
}

/// (subscription, `cents`) of each row of `sql`.
async fn subscription_cents(ctx: &SessionContext, sql: &str) -> Vec<(String, Option<i128>)> {
    let mut out = Vec::new();
    for b in run(ctx, sql).await {
        let ids = cast(b.column(0), &DataType::Utf8).expect("text");
        let cents = b.column_by_name("cents").expect("cents");
        let cents = cents.as_primitive::<datafusion::arrow::datatypes::Decimal128Type>();
        for (id, c) in ids.as_string::<i32>().iter().zip(cents.iter()) {
            out.push((id.unwrap_or_default().to_string(), c));
        }
    }
    out
}

/// Which of meterprice's codecs the cluster's session has.
#[derive(Clone, Copy)]
enum Codecs {
    Both,
    LogicalOnly,
    None,
}

/// A standalone cluster whose session knows the codecs but not the
/// functions; the client context gets the functions.
async fn cluster(codecs: Codecs) -> SessionContext {
    let config = SessionConfig::new_with_ballista().with_target_partitions(2);
    let config = match codecs {
        Codecs::Both => meterprice_datafusion::ballista::session_config(config),
        Codecs::LogicalOnly => config.with_ballista_logical_extension_codec(Arc::new(
            meterprice_datafusion::ballista::logical_codec(),
        )),
        Codecs::None => config,
    };
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::standalone_with_state(state)
        .await
        .expect("standalone cluster");
    meterprice_datafusion::register(&ctx);
    ctx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ballista_equals_datafusion_and_the_core() {
    let (dir, events) = write_events("ballista");
    let expected = core_fees(&events);
    assert_eq!(expected.len(), SUBSCRIPTIONS);
    assert!(
        expected.iter().all(|(_, f)| f.error.is_none()),
        "{expected:?}"
    );
    // Some subscriptions stay under the minimum, others do not.
    assert!(
        expected
            .iter()
            .any(|(_, f)| f.true_up_amount_cents.is_some())
    );
    assert!(
        expected
            .iter()
            .any(|(_, f)| f.true_up_amount_cents.is_none())
    );

    let local = ctx();
    let distributed = cluster(Codecs::Both).await;
    for c in [&local, &distributed] {
        c.register_parquet(
            "events",
            dir.to_str().expect("utf-8"),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register");
    }
    // The same prices from meterprice_sum's exact sum and count (the
    // aggregate's partial states cross the cluster through the codecs).
    let with_udaf = format!(
        "SELECT subscription_id, meterprice_rate({}, 'EUR', get_field(s, 'aggregation'), \
         get_field(s, 'events_count')) AS fee FROM (SELECT subscription_id, \
         meterprice_sum(units) AS s FROM events GROUP BY subscription_id) \
         ORDER BY subscription_id",
        quote(CHARGE)
    );
    for sql in queries().into_iter().chain([with_udaf]) {
        assert_eq!(
            subscription_fees(&local, &sql).await,
            expected,
            "DataFusion: {sql}"
        );
        assert_eq!(
            subscription_fees(&distributed, &sql).await,
            expected,
            "Ballista: {sql}"
        );
    }
    // One field read: the function pruned to it (rate/prune.rs) crosses
    // the cluster with its field list, literal charge or charge column.
    let want: Vec<(String, Option<i128>)> = expected
        .iter()
        .map(|(s, f)| (s.clone(), f.total_amount_cents))
        .collect();
    for charge in [quote(CHARGE), "MIN(charge)".to_string()] {
        let sql = format!(
            "SELECT subscription_id, get_field(meterprice_rate({charge}, 'EUR', SUM(units), \
             COUNT(*)), 'total_amount_cents') AS cents FROM events GROUP BY subscription_id \
             ORDER BY subscription_id"
        );
        assert_eq!(
            subscription_cents(&local, &sql).await,
            want,
            "DataFusion: {sql}"
        );
        assert_eq!(
            subscription_cents(&distributed, &sql).await,
            want,
            "Ballista: {sql}"
        );
    }
    // Every aggregate, ungrouped, equals the core's accumulators.
    let sql = "SELECT meterprice_count(1) AS c, meterprice_sum(units) AS s, \
               meterprice_max(units) AS m FROM events";
    let (mut sum, mut max) = (meterprice::SumAcc::default(), meterprice::MaxAcc::default());
    for (_, units) in &events {
        sum.update(units.parse().expect("units")).expect("in range");
        max.update(units.parse().expect("units"));
    }
    let want = vec![
        (Exact::from(events.len() as u64), events.len() as u64),
        sum.finish(),
        max.finish(),
    ];
    assert_eq!(aggregates(&local, sql).await, want, "DataFusion");
    assert_eq!(aggregates(&distributed, sql).await, want, "Ballista");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The (aggregation, events_count) of each column of `sql`'s one row.
async fn aggregates(ctx: &SessionContext, sql: &str) -> Vec<(Exact, u64)> {
    let batches = run(ctx, sql).await;
    let b = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
    b.columns()
        .iter()
        .map(|c| {
            let s = c.as_struct();
            let a = s.column(0).as_string::<i32>().value(0);
            let n = s
                .column(1)
                .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
                .value(0);
            (a.parse().expect("decimal"), n)
        })
        .collect()
}

/// Runs every query on a cluster with `codecs`, expecting each to fail
/// with `message`.
async fn fails_without(codecs: Codecs, name: &str, message: &str) {
    let (dir, _) = write_events(name);
    let distributed = cluster(codecs).await;
    distributed
        .register_parquet(
            "events",
            dir.to_str().expect("utf-8"),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register");
    for sql in queries() {
        let outcome = match distributed.sql(&sql).await {
            Ok(df) => df.collect().await.map(|_| ()),
            Err(e) => Err(e),
        };
        let error = outcome
            .expect_err("the cluster cannot decode the function")
            .to_string();
        assert!(error.contains(message), "{error}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_logical_codec_the_scheduler_cannot_read_the_plan() {
    fails_without(
        Codecs::None,
        "no-codecs",
        "LogicalExtensionCodec is not provided for scalar function meterprice_rate",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_physical_codec_the_executor_cannot_read_its_task() {
    fails_without(
        Codecs::LogicalOnly,
        "logical-only",
        "PhysicalExtensionCodec is not provided for scalar function meterprice_rate",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_codecs_the_aggregates_do_not_reach_the_cluster() {
    let (dir, _) = write_events("no-codecs-udaf");
    let distributed = cluster(Codecs::None).await;
    distributed
        .register_parquet(
            "events",
            dir.to_str().expect("utf-8"),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register");
    let sql = "SELECT subscription_id, meterprice_sum(units) FROM events GROUP BY subscription_id";
    let outcome = match distributed.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(e) => Err(e),
    };
    let error = outcome
        .expect_err("the cluster cannot decode the aggregate")
        .to_string();
    assert!(
        error.contains(
            "LogicalExtensionCodec is not provided for aggregate function meterprice_sum"
        ),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aggregate_runs_on_the_cluster_as_on_datafusion() {
    // DataFusion's figures equal the core's (the aggregate property test);
    // here the cluster's equal DataFusion's, for the order-dependent types
    // and the weighted sum's constants too.
    let (dir, _) = write_events("all-aggregates");
    let local = ctx();
    let distributed = cluster(Codecs::Both).await;
    for c in [&local, &distributed] {
        c.register_parquet(
            "events",
            dir.to_str().expect("utf-8"),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register");
    }
    let sql = "SELECT subscription_id, meterprice_count(1) AS c, meterprice_sum(units) AS s, \
               meterprice_max(units) AS m, meterprice_latest(units, ts, seq) AS l, \
               meterprice_unique_count(units, ts, seq) AS u, \
               meterprice_weighted_sum(units, ts, TIMESTAMP '2024-03-01T00:00:00', \
               TIMESTAMP '2024-03-31T23:59:59.999999') AS w \
               FROM events GROUP BY subscription_id ORDER BY subscription_id";
    let text = |batches: &[RecordBatch]| {
        datafusion::arrow::util::pretty::pretty_format_batches(batches)
            .expect("format")
            .to_string()
    };
    let here = text(&run(&local, sql).await);
    let there = text(&run(&distributed, sql).await);
    assert_eq!(here.lines().count(), SUBSCRIPTIONS + 4, "{here}");
    assert_eq!(here, there);
    let _ = std::fs::remove_dir_all(&dir);
}
