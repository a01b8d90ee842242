//! Timed: `meterprice_rate` over ROWS usage rows against DataFusion
//! computing `units * price` for the same standard charge on the same
//! column, with 1 and 2 partitions.
//!
//! ```text
//! cargo run --release -p meterprice-datafusion --example speed -- [ROWS] [RUNS]
//! ```
//!
//! ROWS defaults to 10,000,000, RUNS (timed runs per query, the best and
//! the median are printed) to 3. The table is in memory, `Decimal128(18, 4)`
//! units and `Int64` counts, split into as many partitions as
//! `target_partitions`. Each query sums its result so that nothing but one
//! number is materialized. The first `meterprice_rate` query reads one field
//! of the struct (the cents), so only that field is built (`rate/prune.rs`);
//! the second reads two, the cents and the amount's text (DataFusion 55
//! evaluates the call once per field read, each building its own field).

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
const STANDARD: &str = r#"{"charge_model": "standard", "properties": {"amount": "0.0125"}}"#;

fn partitions(rows: usize, parts: usize) -> Result<(Arc<Schema>, Vec<Vec<RecordBatch>>)> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("units", DataType::Decimal128(18, 4), false),
        Field::new("events", DataType::Int64, false),
    ]));
    let mut seed = 7u64;
    let mut out = vec![Vec::new(); parts];
    let mut done = 0;
    let mut part = 0;
    while done < rows {
        let n = BATCH.min(rows - done);
        let mut units = Vec::with_capacity(n);
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Up to 1,000,000 units with 4 decimals.
            units.push(i128::from((seed >> 20) % 10_000_000_000));
            events.push(((seed >> 8) % 1000) as i64);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Decimal128Array::from(units).with_precision_and_scale(18, 4)?),
            Arc::new(Int64Array::from(events)),
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
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    let queries = [
        (
            "units * price (DataFusion)",
            "SELECT SUM(units * CAST(0.0125 AS DECIMAL(10, 4))) FROM usage".to_string(),
        ),
        (
            "meterprice_rate, one field",
            format!(
                "SELECT SUM(get_field(meterprice_rate('{STANDARD}', 'EUR', units, events), \
                 'amount_cents')) FROM usage"
            ),
        ),
        (
            "meterprice_rate, two fields",
            format!(
                "SELECT SUM(get_field(fee, 'amount_cents')), MAX(get_field(fee, 'amount')) \
                 FROM (SELECT meterprice_rate('{STANDARD}', 'EUR', units, events) AS fee \
                 FROM usage)"
            ),
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
        let mut baseline = None;
        for (name, sql) in &queries {
            let (times, answer) = time(&ctx, sql, runs).await?;
            let best = times.first().copied().unwrap_or_default();
            let median = times.get(times.len() / 2).copied().unwrap_or_default();
            let per_row = best.as_nanos() / rows.max(1) as u128;
            let ratio = baseline.map_or(String::new(), |b: Duration| {
                format!(
                    ", {:.1}x the baseline",
                    best.as_micros() as f64 / b.as_micros().max(1) as f64
                )
            });
            baseline.get_or_insert(best);
            println!(
                "partitions {parts}: {name:<28} best {best:>9.1?} median {median:>9.1?} \
                 ({per_row} ns/row{ratio}) = {}",
                answer.trim()
            );
        }
    }
    Ok(())
}
