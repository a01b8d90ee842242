//! Timed: the `meterprice_sum` aggregate against DataFusion's built-in
//! `SUM` on the same `Decimal128(18, 4)` column, ungrouped and grouped by
//! subscription, with 1 and 2 partitions.
//!
//! ```text
//! cargo run --release -p meterprice-datafusion --example sum_speed -- [ROWS] [RUNS]
//! ```
//!
//! ROWS defaults to 10,000,000 (over 10,000 subscriptions), RUNS (timed
//! runs per query; the best and the median are printed) to 5. The table is
//! in memory, split into as many partitions as `target_partitions`.
//! `SUM` gives a `Decimal128(28, 4)`; `meterprice_sum` gives the exact sum
//! as text with the events counted. A grouped query returns its 10,000
//! rows, sorted, for both functions alike.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{ArrayRef, Decimal128Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::{SessionConfig, SessionContext};

mod shared;
use shared::time;

const BATCH: usize = 8192;
const SUBSCRIPTIONS: u64 = 10_000;

fn partitions(rows: usize, parts: usize) -> Result<(Arc<Schema>, Vec<Vec<RecordBatch>>)> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("sub", DataType::Int64, false),
        Field::new("units", DataType::Decimal128(18, 4), false),
    ]));
    let mut seed = 7u64;
    let mut out = vec![Vec::new(); parts];
    let (mut done, mut part) = (0, 0);
    while done < rows {
        let n = BATCH.min(rows - done);
        let (mut subs, mut units) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            subs.push(((seed >> 33) % SUBSCRIPTIONS) as i64);
            // Up to 1,000,000 units with 4 decimals.
            units.push(i128::from((seed >> 20) % 10_000_000_000));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(subs)),
            Arc::new(Decimal128Array::from(units).with_precision_and_scale(18, 4)?),
        ];
        if let Some(p) = out.get_mut(part) {
            p.push(RecordBatch::try_new(schema.clone(), columns)?);
        }
        part = (part + 1) % parts;
        done += n;
    }
    Ok((schema, out))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5).max(1);
    let queries = [
        ("SUM (ungrouped)", "SELECT SUM(units) FROM usage"),
        (
            "meterprice_sum (ungrouped)",
            "SELECT meterprice_sum(units) FROM usage",
        ),
        (
            "SUM (by subscription)",
            "SELECT sub, SUM(units) FROM usage GROUP BY sub ORDER BY sub",
        ),
        (
            "meterprice_sum (by subscription)",
            "SELECT sub, meterprice_sum(units) FROM usage GROUP BY sub ORDER BY sub",
        ),
    ];
    println!("{rows} rows, best and median of {runs} runs");
    for parts in [1, 2] {
        let (schema, data) = partitions(rows, parts)?;
        let config = SessionConfig::new()
            .with_target_partitions(parts)
            .with_batch_size(BATCH);
        let ctx = SessionContext::new_with_config(config);
        meterprice_datafusion::register(&ctx);
        ctx.register_table("usage", Arc::new(MemTable::try_new(schema, data)?))?;
        let mut baseline = Duration::ZERO;
        for (i, (name, sql)) in queries.iter().enumerate() {
            let (times, answer) = time(&ctx, sql, runs).await?;
            let best = times.first().copied().unwrap_or_default();
            let median = times.get(times.len() / 2).copied().unwrap_or_default();
            let per_row = best.as_nanos() as f64 / rows.max(1) as f64;
            // Even queries are DataFusion's, odd ones meterprice's.
            let ratio = if i % 2 == 0 {
                baseline = best;
                String::new()
            } else {
                format!(
                    ", {:.2}x SUM",
                    best.as_micros() as f64 / baseline.as_micros().max(1) as f64
                )
            };
            println!(
                "partitions {parts}: {name:<34} best {best:>9.1?} median {median:>9.1?} \
                 ({per_row:.2} ns/row{ratio}) first row: {}",
                answer.trim()
            );
        }
    }
    Ok(())
}
