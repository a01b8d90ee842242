//! Criterion benchmarks of price exploration (docs/explore-json.md).
//!
//! IDs:
//! - `budget/graduated_5_tiers/{1e2,1e22}`: `Explorer::units_for_budget` on
//!   a prepared 5-tier graduated charge, budgets of 10^2 and 10^22 cents
//!   (the answers: the first tier, and far in the last one);
//! - `budget/graduated_1000_tiers/{1e2,1e22}`: the same on 1,000 tiers (the
//!   segments before the answer are passed over by bisection);
//! - `curve/graduated_1000_tiers`: `Explorer::curve` up to the last bound;
//! - `json/explore_budget` and `json/rate`: one `explore` budget request and
//!   one `rate` request on the same 5-tier charge, through the JSON edge.
//!
//! Throughput is one answer per iteration, so criterion prints answers/s.

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
use meterprice::{Bucket, BudgetQuery, Charge, Exact, Usage, explore_json, rate_json};

mod tiers;
use tiers::graduated_charge as graduated;

fn budget(c: &mut Criterion) {
    for tiers in [5, 1000] {
        let charge = Charge::from_lago_json("EUR", &graduated(tiers)).expect("charge");
        let explorer = charge
            .explore(&Bucket::new(Usage::default()))
            .expect("explorer");
        let mut group = c.benchmark_group(format!("budget/graduated_{tiers}_tiers"));
        group.throughput(Throughput::Elements(1));
        for (id, cents) in [("1e2", 100i128), ("1e22", 10i128.pow(22))] {
            let query = BudgetQuery::new(cents, Exact::ONE, false).expect("query");
            group.bench_function(id, |b| {
                b.iter(|| {
                    explorer
                        .units_for_budget(black_box(&query))
                        .expect("answer")
                })
            });
        }
        group.finish();
    }
}

fn curve(c: &mut Criterion) {
    let charge = Charge::from_lago_json("EUR", &graduated(1000)).expect("charge");
    let explorer = charge
        .explore(&Bucket::new(Usage::default()))
        .expect("explorer");
    let up_to = Exact::from(10_000u32);
    let mut group = c.benchmark_group("curve");
    group.throughput(Throughput::Elements(1));
    group.bench_function("graduated_1000_tiers", |b| {
        b.iter(|| explorer.curve(black_box(up_to), 10_000).expect("curve"))
    });
    group.finish();
}

fn json(c: &mut Criterion) {
    let charge = graduated(5);
    let explore = format!(
        r#"{{"id": "b", "currency": "EUR", "charge": {charge}, "usage": {{"events_count": 42}}, "budget": {{"budget_cents": 100000, "units_step": "1"}}}}"#
    );
    let rate = format!(
        r#"{{"id": "r", "currency": "EUR", "charge": {charge}, "usage": {{"units": "45.5", "events_count": 42}}}}"#
    );
    let mut group = c.benchmark_group("json");
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(4096);
    group.bench_function("explore_budget", |b| {
        b.iter(|| {
            out.clear();
            explore_json(black_box(&explore), &mut out, false)
        })
    });
    group.bench_function("rate", |b| {
        b.iter(|| {
            out.clear();
            rate_json(black_box(&rate), &mut out, false)
        })
    });
    group.finish();
}

criterion_group!(benches, budget, curve, json);
criterion_main!(benches);
