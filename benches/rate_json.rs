//! Criterion benchmarks of the whole request path (parse, validate, price,
//! serialize) through `meterprice::rate_json`, one request line per model.
//!
//! IDs: `rate_json/<model>` (`rate_json/graduated_5_tiers` for graduated);
//! throughput is one request per iteration, so criterion prints requests/s.
//!
//! `json_floor/<model>` is the same request's JSON alone, with no pricing:
//! serde_json checks the request line (`IgnoredAny`, the cheapest full
//! read) and writes the very result line `rate_json` writes, from a parsed
//! `serde_json::Value`. `rate_json/<model>` over `json_floor/<model>` is
//! how far the whole path is from the cost of its JSON.

// Tests and benches may unwrap, index and panic: a failure is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use meterprice::{Outcome, rate_json};

mod tiers;
use tiers::graduated_charge;

/// A graduated request with `n` tiers (`{"from_value": 0, "to_value": 10}`,
/// `{"from_value": 11, "to_value": 20}`, …, last `to_value` null) and its
/// usage in the last tier.
fn graduated_request(n: usize) -> String {
    format!(
        r#"{{"id": "graduated", "currency": "EUR", "charge": {}, "usage": {{"units": "{}.5", "events_count": 42}}}}"#,
        graduated_charge(n),
        10 * (n - 1) + 5
    )
}

/// `(benchmark id, request line)`, one per model.
fn requests() -> Vec<(&'static str, String)> {
    vec![
        (
            "standard",
            r#"{"id": "standard", "currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": "0.0125"}, "billable_metric_code": "api_calls", "billable_metric_name": "API calls"}, "usage": {"units": "1234", "events_count": 1234}}"#
                .to_owned(),
        ),
        ("graduated_5_tiers", graduated_request(5)),
        (
            "graduated_percentage",
            r#"{"id": "graduated_percentage", "currency": "USD", "charge": {"charge_model": "graduated_percentage", "properties": {"graduated_percentage_ranges": [{"from_value": 0, "to_value": 1000, "rate": "2", "flat_amount": "0.3"}, {"from_value": 1001, "to_value": null, "rate": "1.5", "flat_amount": "0"}]}}, "usage": {"units": "2500", "events_count": 7}}"#
                .to_owned(),
        ),
        (
            "package",
            r#"{"id": "package", "currency": "EUR", "charge": {"charge_model": "package", "properties": {"amount": "5", "package_size": 100, "free_units": 50}}, "usage": {"units": "1234", "events_count": 9}}"#
                .to_owned(),
        ),
        (
            "percentage",
            r#"{"id": "percentage", "currency": "EUR", "charge": {"charge_model": "percentage", "properties": {"rate": "1.3", "fixed_amount": "0.1", "free_units_per_events": 2, "free_units_per_total_aggregation": "250", "per_transaction_min_amount": "0.2", "per_transaction_max_amount": "5"}}, "usage": {"units": "2450", "events_count": 10, "event_values": ["50", "100", "400", "500", "12.5", "7", "300", "1000", "0.5", "80"]}}"#
                .to_owned(),
        ),
        (
            "volume",
            r#"{"id": "volume", "currency": "JPY", "charge": {"charge_model": "volume", "properties": {"volume_ranges": [{"from_value": 0, "to_value": 100, "per_unit_amount": "2", "flat_amount": "10"}, {"from_value": 101, "to_value": null, "per_unit_amount": "1.5", "flat_amount": "0"}]}}, "usage": {"units": "100.5", "events_count": 3}}"#
                .to_owned(),
        ),
        (
            "dynamic",
            r#"{"id": "dynamic", "currency": "KWD", "charge": {"charge_model": "dynamic", "properties": {}}, "usage": {"units": "20", "events_count": 2, "precise_total_amount_cents": "4025.5"}}"#
                .to_owned(),
        ),
    ]
}

fn bench_rate_json(c: &mut Criterion) {
    let mut g = c.benchmark_group("rate_json");
    g.throughput(Throughput::Elements(1));
    for (id, line) in requests() {
        // Every line must price: an error object would bench the wrong path.
        let mut out = Vec::with_capacity(4096);
        let outcome = rate_json(&line, &mut out, false);
        assert_eq!(
            outcome,
            Outcome::Priced,
            "{id}: {}",
            String::from_utf8_lossy(&out)
        );
        g.bench_function(id, |b| {
            b.iter(|| {
                out.clear();
                let outcome = rate_json(black_box(&line), &mut out, false);
                black_box(&out);
                outcome
            });
        });
    }
    g.finish();
}

fn bench_json_floor(c: &mut Criterion) {
    json_only(c, "json_floor", |line| {
        serde_json::from_str::<serde::de::IgnoredAny>(line).unwrap();
    });
    json_only(c, "json_value", |line| {
        black_box(serde_json::from_str::<serde_json::Value>(line).unwrap());
    });
}

/// Reads each request with `read` and writes `rate_json`'s result line for
/// it with serde_json: JSON work only, no pricing.
fn json_only(c: &mut Criterion, group: &str, read: impl Fn(&str)) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    for (id, line) in requests() {
        let mut result = Vec::new();
        rate_json(&line, &mut result, false);
        // The floor writes the very bytes rate_json writes.
        let value: serde_json::Value = serde_json::from_slice(&result).unwrap();
        let mut out = Vec::with_capacity(4096);
        serde_json::to_writer(&mut out, &value).unwrap();
        assert_eq!(
            out.len(),
            result.len(),
            "{id}: the floor writes another line"
        );
        g.bench_function(id, |b| {
            b.iter(|| {
                out.clear();
                read(black_box(&line));
                serde_json::to_writer(&mut out, black_box(&value)).unwrap();
                black_box(&out);
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench_rate_json, bench_json_floor);
criterion_main!(benches);
