//! Criterion benchmark of the billing run's pricing half (issue 13): one
//! subscription of `examples/gen_events.py`'s workload (1,000 events of
//! the three-charge plan: 60 % storage over 4 regions × 1,000 agents, so
//! nearly every storage event makes its own (bucket, group)), already
//! aggregated; what is timed is what a run does per subscription after
//! reading: finishing the aggregators and pricing the customer usage.
//!
//! IDs (throughput: priced buckets, so criterion prints buckets/s):
//! * `usage/price_subscription`: `PlanAggregator::finish` then
//!   `Plan::customer_usage` (the buckets lent).
//! * `usage/price_subscription_owned`: the same with
//!   `Plan::customer_usage_from` (the buckets given).
//! * `usage/usage_json_subscription`: the subscription's `meterprice usage`
//!   request (its 1,000 events) read, aggregated, priced and written, as a
//!   billing run prices each subscription.

// Benches may unwrap, index and panic: a failure is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use meterprice::{EventReader, EventsSetup, Plan, PlanAggregator, UsageOptions, UsagePeriod};

/// The plan of `examples/gen_events.py` (`examples/month-plan.json`), its
/// invoice tax moved into the plan.
fn plan() -> Plan {
    let mut file: serde_json::Value =
        serde_json::from_str(include_str!("../examples/month-plan.json")).unwrap();
    let taxes = file["taxes"].take();
    let mut plan = file["plan"].take();
    plan["taxes"] = taxes;
    Plan::from_lago_json("EUR", &plan.to_string()).unwrap()
}

const EVENTS: u64 = 1_000;

/// One subscription's month of events, as `gen_events.py` draws them
/// (deterministic xorshift instead of Python's generator).
fn lines() -> Vec<String> {
    let mut r: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: u64| {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r % n
    };
    let regions = ["eu", "us", "asia", "af"];
    (0..EVENTS)
        .map(|i| {
            let t = 1_709_251_200 + next(31 * 86_400);
            let (code, props) = match next(100) {
                0..60 => (
                    "storage_gb",
                    format!(
                        r#"{{"region":"{}","agent":"agent_{}","gb":"{}.{}"}}"#,
                        regions[next(4) as usize],
                        next(1000),
                        next(50),
                        next(10)
                    ),
                ),
                60..85 => ("api_calls", r#"{"endpoint":"/v1/items"}"#.to_string()),
                _ => ("active_users", format!(r#"{{"user":"user_{}"}}"#, next(200))),
            };
            format!(
                r#"{{"transaction_id":"tx_{i}","external_subscription_id":"sub_0","code":"{code}","timestamp":{t},"properties":{props}}}"#
            )
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let plan = plan();
    let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z").unwrap();
    let mut agg = PlanAggregator::new(&plan, &period, &EventsSetup::default()).unwrap();
    let mut reader = EventReader::new(agg.keys());
    for (i, line) in lines().iter().enumerate() {
        let event = reader.read(line).unwrap();
        agg.push(&event.meta(i as u64, false).unwrap(), &event);
    }
    let options = UsageOptions::default();
    let buckets: usize = agg
        .clone()
        .finish()
        .unwrap()
        .buckets
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    let mut g = c.benchmark_group("usage");
    g.throughput(Throughput::Elements(buckets as u64));
    g.bench_function("price_subscription", |b| {
        b.iter_batched(
            || agg.clone(),
            |agg| {
                let usage = agg.finish().unwrap().add_buckets_to(Default::default());
                let cu = plan.customer_usage(&period, &usage, &options).unwrap();
                black_box(cu.amount_cents)
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("price_subscription_owned", |b| {
        b.iter_batched(
            || agg.clone(),
            |agg| {
                let usage = agg.finish().unwrap().add_buckets_to(Default::default());
                let cu = plan.customer_usage_from(&period, usage, &options).unwrap();
                black_box(cu.amount_cents)
            },
            BatchSize::SmallInput,
        );
    });
    let request = request(&lines());
    g.bench_function("usage_json_subscription", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            meterprice::usage_json(&request, &mut out, false);
            black_box(out.len())
        });
    });
    g.finish();
}

/// The subscription's usage request: the plan file, the period and the
/// events.
fn request(lines: &[String]) -> String {
    let mut file: serde_json::Value =
        serde_json::from_str(include_str!("../examples/month-plan.json")).unwrap();
    file["period"] = serde_json::json!({
        "from_datetime": "2024-03-01T00:00:00Z", "to_datetime": "2024-03-31T23:59:59Z"});
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    file["events"] = events.into();
    let text = file.to_string();
    // The request prices: a broken one would time an error record.
    let mut out = Vec::new();
    assert_eq!(
        meterprice::usage_json(&text, &mut out, false),
        meterprice::Outcome::Priced
    );
    text
}

criterion_group!(usage, benches);
criterion_main!(usage);
