//! The integration's tests: one binary, one module per concern.

mod common;

mod aggregate_properties;
mod aggregates;
mod ballista;
mod plan_sql;
mod properties;
mod rate;
