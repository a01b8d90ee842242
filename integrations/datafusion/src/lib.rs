//! meterprice inside [Apache DataFusion](https://datafusion.apache.org): SQL
//! functions that price usage exactly as the `meterprice` crate does, and
//! extension codecs that carry them to [Apache
//! Ballista](https://datafusion.apache.org/ballista/) executors.
//!
//! ```
//! use datafusion::prelude::SessionContext;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> datafusion::error::Result<()> {
//! let ctx = SessionContext::new();
//! meterprice_datafusion::register(&ctx);
//! let df = ctx.sql(r#"
//!     SELECT get_field(fee, 'amount') AS amount, get_field(fee, 'amount_cents') AS cents
//!     FROM (SELECT meterprice_rate(
//!         '{"charge_model": "standard", "properties": {"amount": "0.0125"}}', 'EUR',
//!         units, events) AS fee
//!       FROM (VALUES (CAST(1234.5 AS DECIMAL(10, 1)), 3)) AS t(units, events))
//! "#).await?;
//! let batches = df.collect().await?;
//! let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
//! // 1234.5 × 0.0125 = 15.43125 EUR, 1543 cents (half away from zero)
//! assert!(text.contains("| 15.43125 | 1543  |"), "{text}");
//! # Ok(())
//! # }
//! ```
//!
//! # `meterprice_rate(charge, currency, units, events_count [, precise_total_amount_cents [, full_units_number]])`
//!
//! Prices one usage bucket (the default bucket of the charge) per row:
//!
//! - `charge`: Lago's charge object as JSON text (the `charge` of the
//!   `meterprice rate` contract), `currency`: an ISO 4217 code. Given as
//!   literals (the usual case), the charge is validated once, at planning:
//!   a charge that breaks a rule is a planning error carrying the
//!   validation message, and the function is bound to the validated charge
//!   (the charge then travels to Ballista executors as bytes, see
//!   [`codec`]). Given as columns, each distinct (charge, currency) text is
//!   validated once and cached; an invalid one gives row errors.
//! - `units` (and the optional decimals): `Utf8`, `LargeUtf8`, `Utf8View`
//!   (Lago's decimal grammar), `Decimal128`, `Decimal256` or integers; read
//!   exactly, never through a binary float (floats are refused at
//!   planning). At most 28 fractional digits and a magnitude below 2^96.
//! - `events_count`: an integer.
//!
//! It returns a struct (see [`fee_fields`]): `amount` and
//! `precise_unit_amount` as exact decimal text, `amount_cents`,
//! `taxes_amount_cents`, `total_amount_cents` and `true_up_amount_cents` as
//! `Decimal128(38, 0)`, `amount_details` as the JSON text `meterprice rate`
//! writes, and `error`. A row that cannot be priced (a NULL or non-numeric
//! units value, too many fractional digits, a negative count, an exact
//! figure that does not fit its column, …) has NULL figures and its reason
//! in `error` (`"<code>: <message>"`, with the codes of the `rate`
//! contract); the query itself never fails for one bad row.
//!
//! Read fields with `get_field(fee, 'amount_cents')` (or `fee['amount_cents']`).
//! A call whose struct is read for one field only
//! (`meterprice_rate(…)['amount_cents']`) builds that field only: an
//! optimizer rule that [`register`] adds ([`RateFieldPruning`]) narrows the
//! struct to it, so a query that sums cents does not write the texts.
//! The figures and errors are the same either way (a figure that does not
//! fit its column still makes the row an error).
//!
//! A literal standard charge without filters, groups, minimum, proration,
//! taxes or pricing unit, over `Decimal128` or integer units, is priced
//! column by column on 128-bit integers (its closed form, `units × price`),
//! with the same figures and texts as the general path; any row that form
//! cannot price exactly (NULL, negative, near the decimal range) takes the
//! general path.
//!
//! # Billable-metric aggregates
//!
//! One SQL aggregate function per aggregation type of Lago's billable
//! metrics, each accumulating with the `meterprice` core's accumulator of
//! that type (exact, with Lago's value-reading rule), with partial states
//! that merge across partitions and Ballista executors:
//!
//! | function | arguments | Lago type |
//! |---|---|---|
//! | `meterprice_count` | `(x)`: every row counts | `count_agg` |
//! | `meterprice_sum` | `(value)` | `sum_agg` |
//! | `meterprice_max` | `(value)` | `max_agg` |
//! | `meterprice_latest` | `(value, timestamp, seq)` | `latest_agg` |
//! | `meterprice_unique_count` | `(property, timestamp, seq [, operation_type])` | `unique_count_agg` |
//! | `meterprice_weighted_sum` | `(value, timestamp, from, to [, initial [, charges_duration]])` | `weighted_sum_agg` |
//!
//! Each returns a struct of `aggregation` (exact decimal text) and
//! `events_count`, ready for `meterprice_rate`. A text value is the
//! property as Postgres' `properties->>'key'` gives it: one that does not
//! match `^-?\d+(\.\d+)?$` (`'1e3'`, `'+5'`, `'5.'`), or NULL, is left out
//! of the value and the count, as Lago leaves it out. Decimal and integer
//! columns are read exactly; floats are refused at planning; a value or a
//! total beyond the decimal range fails the query (`arithmetic_overflow`).
//! The order latest and unique count depend on is in their arguments
//! (`timestamp`, then `seq`, the event's input position), so no sort is
//! needed and rows may arrive in any order. The period's window, the
//! metric code and groups are the query's `WHERE`, `FILTER` and `GROUP
//! BY`; [`plan_sql`] writes them for a whole plan.
//!
//! ```
//! use datafusion::prelude::SessionContext;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> datafusion::error::Result<()> {
//! let ctx = SessionContext::new();
//! meterprice_datafusion::register(&ctx);
//! let df = ctx.sql(r#"
//!     SELECT get_field(s, 'aggregation') AS units, get_field(s, 'events_count') AS events
//!     FROM (SELECT meterprice_sum(gb) AS s
//!       FROM (VALUES ('2.5'), ('1e3'), (NULL), ('0.25')) AS t(gb))
//! "#).await?;
//! let text = datafusion::arrow::util::pretty::pretty_format_batches(&df.collect().await?)?
//!     .to_string();
//! // '1e3' and NULL are not numeric properties (A13): 2.5 + 0.25 over 2 events.
//! assert!(text.contains("| 2.75  | 2      |"), "{text}");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod aggregates;
mod charges;
#[cfg(feature = "proto")]
pub mod codec;
mod columns;
mod fees;
mod plan_sql;
mod rate;

#[cfg(feature = "ballista")]
pub mod ballista;

use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

pub use aggregates::{AggregateUdf, Metric, aggregate_fields, aggregate_functions};
pub use fees::fee_fields;
pub use plan_sql::{EventsTable, PlanSqlError, plan_sql};
pub use rate::{RateFieldPruning, RateUdf};

/// The SQL name of the rating function.
pub const RATE_FUNCTION: &str = "meterprice_rate";

/// Every meterprice function, ready to register.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    vec![ScalarUDF::from(RateUdf::new())]
}

/// Registers every meterprice function on `ctx`: `meterprice_rate` and
/// the billable-metric aggregates, and the optimizer rule that builds only
/// the field a query reads of `meterprice_rate`'s struct
/// ([`RateFieldPruning`]).
///
/// Registers them one by one: DataFusion's
/// `SessionStateBuilder::with_scalar_functions` would replace the built-in
/// functions instead of adding to them.
pub fn register(ctx: &SessionContext) {
    for udf in scalar_functions() {
        ctx.register_udf(udf);
    }
    for udaf in aggregate_functions() {
        ctx.register_udaf(udaf);
    }
    ctx.add_optimizer_rule(std::sync::Arc::new(RateFieldPruning));
}

/// Registers every meterprice function on a session state (or any other
/// function registry), e.g. before building a Ballista context from it.
///
/// # Errors
/// When the registry refuses a function.
pub fn register_in(registry: &mut dyn FunctionRegistry) -> datafusion::error::Result<()> {
    for udf in scalar_functions() {
        registry.register_udf(std::sync::Arc::new(udf))?;
    }
    for udaf in aggregate_functions() {
        registry.register_udaf(std::sync::Arc::new(udaf))?;
    }
    Ok(())
}
