//! Criterion benchmarks of the aggregation (issue 12's workload): 1 M
//! events of one subscription, 3 charge filters + the default bucket,
//! 1,000 groups.
//!
//! IDs (throughput: events, so criterion prints events/s):
//! * `sum_agg/1M_events`: parsed events (properties in slots) through the
//!   streaming aggregator, every bucket in one pass, then `finish`.
//! * `count_agg/1M_events`; `unique_count_agg/1M_events_with_removes`
//!   (one event in five a remove; values of 10 per group, users of an
//!   agent, 10,000 in all) and `.../values_across_groups` (values
//!   independent of the group: nearly every (group, value) pair distinct).
//! * `from_jsonl/sum_agg_1M_events`: the same events as JSON Lines text,
//!   read by `EventReader` (no map per event), checked for duplicate ids,
//!   aggregated; `..._no_dedup` skips the duplicate check.
//! * `floor/bare_sum_1M_events`: the least work there is — pre-parsed
//!   `rust_decimal` values added into a bucket × group table by
//!   precomputed indices.
//! * `floor/serde_json_borrowed_1M_lines`: serde_json parsing the lines
//!   into a struct of borrowed fields, nothing else (the JSON anchor).

// Benches may unwrap, index and panic: a failure is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use meterprice::{AggregationSpec, Aggregator, EventMeta};
use rust_decimal::Decimal;

mod workload;
use workload::{Borrowed, Ev, GROUPS, REGIONS, events, from_lines, jsonl, parsed, slots, spec};

const EVENTS: usize = 1_000_000;

fn bench_parsed(c: &mut Criterion, id: &str, spec: AggregationSpec, events: &[Ev], any_user: bool) {
    let probe = Aggregator::new(spec.clone()).unwrap();
    let texts = parsed(events, any_user);
    let props = slots(&probe, &texts, events);
    let width = probe.keys().len().max(1);
    let metas: Vec<EventMeta<'_>> = events
        .iter()
        .enumerate()
        .map(|(i, e)| EventMeta::new(&e.tx, i as u64, e.ts))
        .collect();
    let (group, name) = id.split_once('/').unwrap_or((id, id));
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut agg = Aggregator::new(spec.clone()).unwrap();
            for (meta, p) in metas.iter().zip(props.chunks(width)) {
                agg.push(meta, p);
            }
            black_box(agg.finish().unwrap().buckets.len())
        });
    });
    g.finish();
}

/// The floor: Σ into a bucket × group table by precomputed indices.
fn bare_sum(values: &[(usize, usize, Decimal)]) -> Decimal {
    let mut table = vec![vec![Decimal::ZERO; GROUPS]; REGIONS.len()];
    for &(b, g, v) in values {
        if let Some(cell) = table.get_mut(b).and_then(|row| row.get_mut(g)) {
            *cell += v;
        }
    }
    table.iter().flatten().copied().sum()
}

fn benches(c: &mut Criterion) {
    let events = events(EVENTS);
    bench_parsed(
        c,
        "sum_agg/1M_events",
        spec("sum_agg", Some("value")),
        &events,
        false,
    );
    bench_parsed(
        c,
        "count_agg/1M_events",
        spec("count_agg", None),
        &events,
        false,
    );
    let unique = spec("unique_count_agg", Some("user"));
    bench_parsed(
        c,
        "unique_count_agg/1M_events_with_removes",
        unique.clone(),
        &events,
        false,
    );
    bench_parsed(
        c,
        "unique_count_agg/1M_events_with_removes_values_across_groups",
        unique,
        &events,
        true,
    );

    let text = jsonl(&events);
    let sum = spec("sum_agg", Some("value"));
    assert_eq!(
        from_lines(&text, &sum, true),
        from_lines(&text, &sum, false)
    );
    let mut g = c.benchmark_group("from_jsonl");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("sum_agg_1M_events", |b| {
        b.iter(|| from_lines(black_box(&text), &sum, true))
    });
    g.bench_function("sum_agg_1M_events_no_dedup", |b| {
        b.iter(|| from_lines(black_box(&text), &sum, false))
    });
    g.finish();

    let values: Vec<(usize, usize, Decimal)> = events
        .iter()
        .map(|e| (e.bucket, e.group, e.value.parse().unwrap()))
        .collect();
    let mut g = c.benchmark_group("floor");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("bare_sum_1M_events", |b| {
        b.iter(|| bare_sum(black_box(&values)))
    });
    g.bench_function("serde_json_borrowed_1M_lines", |b| {
        b.iter(|| {
            text.lines()
                .filter(|l| serde_json::from_str::<Borrowed<'_>>(l).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group!(aggregate, benches);
criterion_main!(aggregate);
