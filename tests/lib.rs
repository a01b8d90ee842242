//! Integration tests: one binary, one module per concern.

mod builders;
mod cli;
mod common;
mod conformance;
mod explore;
mod features;
mod models;
mod properties;
mod usage;
