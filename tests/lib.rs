//! Integration tests: one binary, one module per concern.

// Tests and benches may unwrap, index and panic: a failure is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod aggregate;
mod billing;
mod builders;
mod cli;
mod common;
mod conformance;
mod explore;
mod features;
mod models;
mod plan_examples;
mod presentation;
mod properties;
mod usage;
