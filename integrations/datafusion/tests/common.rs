//! Helpers shared by the test modules.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StructArray};
use datafusion::arrow::datatypes::Decimal128Type;
use datafusion::prelude::SessionContext;
use meterprice::{Bucket, Charge, Period, Usage};

/// A context with the meterprice functions.
pub fn ctx() -> SessionContext {
    let ctx = SessionContext::new();
    meterprice_datafusion::register(&ctx);
    ctx
}

/// A context with the meterprice functions, `parts` target partitions and
/// the in-memory table `events` (one `Vec` of batches per partition).
pub fn events_ctx(
    parts: usize,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: Vec<Vec<RecordBatch>>,
) -> SessionContext {
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionConfig;
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(parts));
    meterprice_datafusion::register(&ctx);
    let table = MemTable::try_new(schema, batches).expect("a table");
    ctx.register_table("events", Arc::new(table))
        .expect("registered");
    ctx
}

/// A single-threaded runtime for tests that are not async themselves.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `sql` and returns its batches.
pub async fn run(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("planning {sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("running {sql}: {e}"))
}

/// One row of the struct `meterprice_rate` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRow {
    pub amount: Option<String>,
    pub amount_cents: Option<i128>,
    pub precise_unit_amount: Option<String>,
    pub taxes_amount_cents: Option<i128>,
    pub total_amount_cents: Option<i128>,
    pub true_up_amount_cents: Option<i128>,
    pub amount_details: Option<String>,
    pub error: Option<String>,
}

impl FeeRow {
    /// A row without figures.
    pub fn error(text: &str) -> Self {
        Self {
            amount: None,
            amount_cents: None,
            precise_unit_amount: None,
            taxes_amount_cents: None,
            total_amount_cents: None,
            true_up_amount_cents: None,
            amount_details: None,
            error: Some(text.to_string()),
        }
    }
}

fn text(s: &StructArray, field: &str, row: usize) -> Option<String> {
    let a = s.column_by_name(field).expect(field).as_string::<i32>();
    a.is_valid(row).then(|| a.value(row).to_string())
}

fn cents(s: &StructArray, field: &str, row: usize) -> Option<i128> {
    let a = s
        .column_by_name(field)
        .expect(field)
        .as_primitive::<Decimal128Type>();
    a.is_valid(row).then(|| a.value(row))
}

/// The fee rows of column `column` (a `meterprice_rate` struct).
pub fn fee_rows(batches: &[RecordBatch], column: &str) -> Vec<FeeRow> {
    let mut out = Vec::new();
    for b in batches {
        let s = b.column_by_name(column).expect(column).as_struct();
        for row in 0..s.len() {
            out.push(FeeRow {
                amount: text(s, "amount", row),
                amount_cents: cents(s, "amount_cents", row),
                precise_unit_amount: text(s, "precise_unit_amount", row),
                taxes_amount_cents: cents(s, "taxes_amount_cents", row),
                total_amount_cents: cents(s, "total_amount_cents", row),
                true_up_amount_cents: cents(s, "true_up_amount_cents", row),
                amount_details: text(s, "amount_details", row),
                error: text(s, "error", row),
            });
        }
    }
    out
}

/// What the core crate gives for one bucket: the same figures, from
/// `Charge::rate` directly.
pub fn core_row(charge: &Charge, units: &str, events: u64) -> FeeRow {
    let units = match meterprice::parse_lago_decimal(units) {
        Ok(u) => u,
        Err(e) => return FeeRow::error(&format!("core parse: {e}")),
    };
    core_fee(charge, Usage::new(units).with_events_count(events))
}

/// [`core_row`] for any usage.
pub fn core_fee(charge: &Charge, usage: Usage) -> FeeRow {
    match charge.rate(&[Bucket::new(usage)], &Period::full(1)) {
        Ok(fees) => {
            let fee = &fees.fees[0];
            let mut details = Vec::new();
            meterprice::write_amount_details_json(&fee.amount_details, &mut details);
            FeeRow {
                amount: Some(fee.amount.to_string()),
                amount_cents: Some(fee.amount_cents),
                precise_unit_amount: Some(fee.precise_unit_amount.to_string()),
                taxes_amount_cents: Some(fee.taxes.taxes_amount_cents),
                total_amount_cents: Some(fee.taxes.total_amount_cents),
                true_up_amount_cents: fees.true_up_fee.as_ref().map(|t| t.amount_cents),
                amount_details: Some(String::from_utf8(details).expect("utf-8")),
                error: None,
            }
        }
        Err(e) => FeeRow::error(&format!("{}: {e}", e.code())),
    }
}

/// A charge validated by the core.
pub fn charge(currency: &str, json: &str) -> Arc<Charge> {
    Arc::new(Charge::from_lago_json(currency, json).expect("valid charge"))
}

/// A SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
