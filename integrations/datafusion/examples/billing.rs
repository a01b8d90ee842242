//! A month of events as Parquet, aggregated and priced with SQL.
//!
//! ```text
//! cargo run --release -p meterprice-datafusion --example billing -- [EVENTS] [SUBSCRIPTIONS] [DIR]
//! ```
//!
//! Writes EVENTS events (default 10,000,000) of SUBSCRIPTIONS subscriptions
//! (default 10,000) over three metrics to Parquet files in DIR (default: a
//! folder in the system's temp dir), sums and counts them per subscription
//! and metric with DataFusion's built-in `SUM` and `COUNT`, prices each
//! metric with its charge through `meterprice_rate`, and prints the first
//! subscriptions and the totals.

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::pretty::print_batches;
use datafusion::error::Result;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

/// The plan: three charges, one per billable metric.
const API_CALLS: &str = r#"{"charge_model": "graduated", "properties": {"graduated_ranges": [
    {"from_value": 0, "to_value": 100, "per_unit_amount": "0", "flat_amount": "0"},
    {"from_value": 101, "to_value": 10000, "per_unit_amount": "0.02", "flat_amount": "1"},
    {"from_value": 10001, "to_value": null, "per_unit_amount": "0.01", "flat_amount": "0"}]},
  "taxes": [{"code": "vat_fr", "name": "TVA", "rate": "20"}]}"#;
const STORAGE_GB: &str = r#"{"charge_model": "package", "properties":
  {"amount": "4.5", "package_size": 100, "free_units": 50},
  "taxes": [{"code": "vat_fr", "name": "TVA", "rate": "20"}]}"#;
const TRANSACTIONS: &str = r#"{"charge_model": "percentage", "properties":
  {"rate": "1.4", "fixed_amount": "0.25"},
  "taxes": [{"code": "vat_fr", "name": "TVA", "rate": "20"}]}"#;

const METRICS: [&str; 3] = ["api_calls", "storage_gb", "transactions"];
const FILES: usize = 8;
const BATCH: usize = 65_536;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("subscription_id", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Decimal128(18, 6), false),
        Field::new("timestamp", DataType::Int64, false),
    ]))
}

/// One batch of events: a deterministic pseudo-random stream (the
/// example needs no random crate).
fn batch(seed: &mut u64, rows: usize, subscriptions: usize, start: i64) -> Result<RecordBatch> {
    let (mut subs, mut metrics, mut values, mut times) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for i in 0..rows {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = *seed >> 16;
        subs.push(format!("sub_{:05}", r as usize % subscriptions));
        let metric = (r >> 20) as usize % METRICS.len();
        metrics.push(METRICS[metric]);
        // In millionths: an API call counts 1; storage is up to 20 GB with
        // 3 decimals; a transaction is up to 500 EUR.
        let micros = match metric {
            0 => 1_000_000,
            1 => i128::from((r >> 24) % 20_000) * 1000,
            _ => i128::from((r >> 24) % 500_000_000),
        };
        values.push(micros);
        times.push(start + i as i64);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(subs)),
        Arc::new(StringArray::from(metrics)),
        Arc::new(Decimal128Array::from(values).with_precision_and_scale(18, 6)?),
        Arc::new(Int64Array::from(times)),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

fn write_events(dir: &std::path::Path, events: usize, subscriptions: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut seed = 42u64;
    let per_file = events.div_ceil(FILES);
    let mut written = 0;
    for file in 0..FILES {
        let path = dir.join(format!("events-{file}.parquet"));
        let mut writer = ArrowWriter::try_new(std::fs::File::create(path)?, schema(), None)?;
        let end = (written + per_file).min(events);
        while written < end {
            let rows = BATCH.min(end - written);
            writer.write(&batch(&mut seed, rows, subscriptions, written as i64)?)?;
            written += rows;
        }
        writer.close()?;
    }
    Ok(())
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn pricing_sql() -> String {
    format!(
        "CREATE VIEW fees AS
         WITH usage AS (
           SELECT subscription_id,
             COALESCE(SUM(value) FILTER (WHERE metric = 'api_calls'), 0) AS api_units,
             COUNT(*) FILTER (WHERE metric = 'api_calls') AS api_events,
             COALESCE(SUM(value) FILTER (WHERE metric = 'storage_gb'), 0) AS storage_units,
             COUNT(*) FILTER (WHERE metric = 'storage_gb') AS storage_events,
             COALESCE(SUM(value) FILTER (WHERE metric = 'transactions'), 0) AS tx_units,
             COUNT(*) FILTER (WHERE metric = 'transactions') AS tx_events
           FROM events GROUP BY subscription_id),
         priced AS (
           SELECT subscription_id,
             meterprice_rate({api}, 'EUR', api_units, api_events) AS api,
             meterprice_rate({storage}, 'EUR', storage_units, storage_events) AS storage,
             meterprice_rate({tx}, 'EUR', tx_units, tx_events) AS tx
           FROM usage)
         SELECT subscription_id,
           get_field(api, 'amount') AS api_amount,
           get_field(storage, 'amount') AS storage_amount,
           get_field(tx, 'amount') AS tx_amount,
           get_field(api, 'amount_cents') + get_field(storage, 'amount_cents')
             + get_field(tx, 'amount_cents') AS amount_cents,
           get_field(api, 'taxes_amount_cents') + get_field(storage, 'taxes_amount_cents')
             + get_field(tx, 'taxes_amount_cents') AS taxes_amount_cents,
           get_field(api, 'total_amount_cents') + get_field(storage, 'total_amount_cents')
             + get_field(tx, 'total_amount_cents') AS total_amount_cents,
           concat_ws('; ', get_field(api, 'error'), get_field(storage, 'error'),
             get_field(tx, 'error')) AS errors
         FROM priced",
        api = quote(API_CALLS),
        storage = quote(STORAGE_GB),
        tx = quote(TRANSACTIONS),
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let events: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let subscriptions: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = args.get(2).map_or_else(
        || std::env::temp_dir().join("meterprice-billing-events"),
        std::path::PathBuf::from,
    );

    let started = Instant::now();
    write_events(&dir, events, subscriptions)?;
    eprintln!(
        "wrote {events} events of {subscriptions} subscriptions to {} in {:.1?}",
        dir.display(),
        started.elapsed()
    );

    let ctx = SessionContext::new();
    meterprice_datafusion::register(&ctx);
    let dir_text = dir.to_string_lossy();
    ctx.register_parquet("events", dir_text.as_ref(), ParquetReadOptions::default())
        .await?;
    ctx.sql(&pricing_sql()).await?.collect().await?;

    let started = Instant::now();
    ctx.sql("CREATE TABLE priced AS SELECT * FROM fees")
        .await?
        .collect()
        .await?;
    eprintln!("aggregated and priced in {:.1?}", started.elapsed());

    let first = ctx
        .sql("SELECT * FROM priced ORDER BY subscription_id LIMIT 5")
        .await?
        .collect()
        .await?;
    print_batches(&first)?;
    let totals = ctx
        .sql(
            "SELECT COUNT(*) AS subscriptions, SUM(amount_cents) AS amount_cents, \
             SUM(taxes_amount_cents) AS taxes_amount_cents, \
             SUM(total_amount_cents) AS total_amount_cents, \
             COUNT(*) FILTER (WHERE errors <> '') AS with_errors FROM priced",
        )
        .await?
        .collect()
        .await?;
    print_batches(&totals)?;
    Ok(())
}
