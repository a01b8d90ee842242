//! The integration's tests: one binary, one module per concern.

mod common;

mod ballista;
mod properties;
mod rate;
