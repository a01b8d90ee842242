//! A month of events as Parquet, priced with the SQL that `plan_sql` writes
//! from a plan.
//!
//! ```text
//! cargo run --release -p meterprice-datafusion --example billing -- [EVENTS] [SUBSCRIPTIONS] [DIR] [AGENTS]
//! ```
//!
//! Writes EVENTS events (default 10,000,000) of SUBSCRIPTIONS subscriptions
//! (default 10,000), their storage spread over AGENTS agents (default 1,000,
//! as `gen_events.py --groups`), in March 2024 to Parquet files in DIR (default: a folder
//! in the system's temp dir), in the layout `plan_sql` reads
//! (`EventsTable::new`'s columns, one column per property the plan reads).
//! The plan is `examples/gen_events.py`'s three charges: storage (a `sum`,
//! graduated, three region filters and the default bucket, each grouped by
//! agent), API calls (a `count`, package) and seats (a `unique_count`,
//! standard). `plan_sql` turns it into one query, which prices every
//! subscription; the example prints the first subscriptions and the totals.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::util::pretty::print_batches;
use datafusion::error::Result;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use meterprice_datafusion::{EventsTable, plan_sql};

/// `examples/gen_events.py`'s plan file. `plan_sql` reads its `plan` and
/// leaves the invoice taxes out: it prices with the charges' own taxes only
/// (usage taxes the invoice once).
const PLAN: &str = include_str!("../../../examples/month-plan.json");

const FROM: &str = "2024-03-01T00:00:00Z";
const TO: &str = "2024-03-31T23:59:59Z";
/// 2024-03-01T00:00:00Z in seconds, and March's length.
const START: i64 = 1_709_251_200;
const MONTH: u64 = 31 * 86_400;
const REGIONS: [&str; 4] = ["eu", "us", "asia", "af"];
const FILES: usize = 8;
const BATCH: usize = 65_536;

/// The columns `plan_sql` reads: `EventsTable::new`'s, then the properties
/// (`region`, `agent`: storage's filter and group keys; `gb`: its
/// `field_name`; `user`: the seats' `field_name`), as text.
fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new("external_subscription_id", DataType::Utf8, false),
        Field::new("code", DataType::Utf8, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("seq", DataType::Int64, false),
        text("operation_type"),
        text("region"),
        text("agent"),
        text("gb"),
        text("user"),
    ]))
}

/// How many subscriptions and agents (storage's group key) the events
/// spread over.
#[derive(Clone, Copy)]
struct Shape {
    subscriptions: u64,
    agents: u64,
}

/// A deterministic pseudo-random stream (the example needs no random
/// crate): 31 bits a call.
struct Stream(u64);

impl Stream {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// One batch of events from `seq` on, the kinds mixed as `gen_events.py`
/// mixes them: 60 % storage, 25 % API calls, 15 % seats.
fn batch(rng: &mut Stream, rows: usize, shape: Shape, seq: i64) -> Result<RecordBatch> {
    let mut subs = Vec::with_capacity(rows);
    let mut codes = Vec::with_capacity(rows);
    let mut times = Vec::with_capacity(rows);
    let mut props: [Vec<Option<String>>; 4] = Default::default();
    for _ in 0..rows {
        subs.push(format!("sub_{:05}", rng.below(shape.subscriptions)));
        times.push((START + rng.below(MONTH) as i64) * 1_000_000);
        let kind = rng.below(100);
        let (code, values) = if kind < 60 {
            let region = REGIONS[rng.below(4) as usize].to_string();
            let agent = format!("agent_{}", rng.below(shape.agents));
            let gb = format!("{}.{}", rng.below(50), rng.below(10));
            ("storage_gb", [Some(region), Some(agent), Some(gb), None])
        } else if kind < 85 {
            ("api_calls", [None, None, None, None])
        } else {
            let user = format!("user_{}", rng.below(200));
            ("active_users", [None, None, None, Some(user)])
        };
        codes.push(code);
        for (column, value) in props.iter_mut().zip(values) {
            column.push(value);
        }
    }
    let [region, agent, gb, user] = props.map(|p| Arc::new(StringArray::from(p)) as ArrayRef);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(subs)),
        Arc::new(StringArray::from(codes)),
        Arc::new(TimestampMicrosecondArray::from(times)),
        Arc::new(Int64Array::from_iter_values(seq..seq + rows as i64)),
        Arc::new(StringArray::new_null(rows)),
        region,
        agent,
        gb,
        user,
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

fn write_events(dir: &Path, events: usize, shape: Shape) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Stream(42);
    let per_file = events.div_ceil(FILES);
    let mut written = 0;
    for file in 0..FILES {
        let path = dir.join(format!("events-{file}.parquet"));
        let mut writer = ArrowWriter::try_new(std::fs::File::create(path)?, schema(), None)?;
        let end = (written + per_file).min(events);
        while written < end {
            let rows = BATCH.min(end - written);
            let b = batch(&mut rng, rows, shape, written as i64)?;
            writer.write(&b)?;
            written += rows;
        }
        writer.close()?;
    }
    Ok(())
}

/// The query's first and last characters (the charges' JSON makes it long).
fn abbreviated(sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    if chars.len() <= 1200 {
        return sql.to_string();
    }
    let head: String = chars[..800].iter().collect();
    let tail: String = chars[chars.len() - 300..].iter().collect();
    format!("{head}\n  … ({} characters in all) …\n{tail}", chars.len())
}

/// Each charge's cents (and storage's units) out of `plan_sql`'s columns,
/// and every fee error of the row.
fn priced_sql(plan_query: &str) -> String {
    format!(
        "CREATE TABLE priced AS SELECT subscription_id,
           get_field(storage, 'units') AS storage_gb,
           get_field(storage, 'amount_cents') AS storage_cents,
           get_field(api_calls, 'amount_cents') AS api_calls_cents,
           get_field(seats, 'amount_cents') AS seats_cents,
           concat_ws('; ', get_field(storage, 'error'), get_field(api_calls, 'error'),
             get_field(seats, 'error')) AS errors
         FROM ({plan_query})"
    )
}

/// How many times the physical plan of `sql` reads the events table.
async fn scans(ctx: &SessionContext, sql: &str) -> Result<usize> {
    let plan = ctx.sql(&format!("EXPLAIN {sql}")).await?.collect().await?;
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&plan)?.to_string();
    Ok(text.matches("DataSourceExec").count())
}

const TOTALS: &str = "SELECT COUNT(*) AS subscriptions, \
     SUM(storage_cents) AS storage_cents, SUM(api_calls_cents) AS api_calls_cents, \
     SUM(seats_cents) AS seats_cents, \
     SUM(storage_cents + api_calls_cents + seats_cents) AS amount_cents, \
     COUNT(*) FILTER (WHERE errors <> '') AS with_errors FROM priced";

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

    let agents: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let shape = Shape {
        subscriptions: subscriptions as u64,
        agents,
    };

    let started = Instant::now();
    write_events(&dir, events, shape)?;
    let write = started.elapsed();
    eprintln!(
        "wrote {events} events of {subscriptions} subscriptions ({agents} agents) to {} in {write:.1?} ({:.2} M events/s)",
        dir.display(),
        events as f64 / write.as_secs_f64() / 1e6
    );

    let ctx = SessionContext::new();
    meterprice_datafusion::register(&ctx);
    let dir_text = dir.to_string_lossy();
    ctx.register_parquet("events", dir_text.as_ref(), ParquetReadOptions::default())
        .await?;

    let started = Instant::now();
    let sql = plan_sql("EUR", PLAN, &EventsTable::new("events"), FROM, TO)?;
    eprintln!("plan_sql wrote:\n{}\n", abbreviated(&sql));
    ctx.sql(&priced_sql(&sql)).await?.collect().await?;
    let price = started.elapsed();
    eprintln!(
        "the query scans the events table {} times",
        scans(&ctx, &sql).await?
    );
    eprintln!(
        "planned, aggregated and priced in {price:.1?} ({:.2} M events/s)",
        events as f64 / price.as_secs_f64() / 1e6
    );

    let first = ctx
        .sql("SELECT * FROM priced ORDER BY subscription_id LIMIT 5")
        .await?
        .collect()
        .await?;
    print_batches(&first)?;
    print_batches(&ctx.sql(TOTALS).await?.collect().await?)?;
    Ok(())
}
