//! Integration tests: one binary, one module per concern.

mod common;
mod conformance;
mod properties;
