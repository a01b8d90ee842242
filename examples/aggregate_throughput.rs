//! Throughput of the aggregation on issue 12's workload (1 M events of one
//! subscription, 3 charge filters + the default bucket, 1,000 groups), as
//! events per second of *CPU time* (utime + stime of /proc/self/stat) and
//! of wall time. On a shared machine the CPU-time figure is the one per
//! core; `benches/aggregate.rs` has the criterion (wall-time) version.
//!
//! ```sh
//! cargo run --release --example aggregate_throughput
//! ```
//!
//! Rows: `sum_agg` and `count_agg` over parsed events (properties in slots,
//! texts in one arena); `unique_count_agg` with one event in five a
//! remove, values of 10 per group (users of an agent, 10,000 in all) and
//! values independent of the group (nearly every (group, value) pair
//! distinct: 1 M table entries); `jsonl` reads the same events from JSON
//! Lines with `EventReader`, without and with the duplicate check; `serde`
//! is serde_json parsing the lines into borrowed fields and nothing else.

// Examples may unwrap, index and panic: a failure is the point. The
// floats are timings (events per second), never money.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::float_arithmetic
)]

use std::time::Instant;

use meterprice::{Aggregator, EventMeta};

#[path = "../benches/workload/mod.rs"]
mod workload;
use workload::{Borrowed, Ev, events, from_lines, jsonl, parsed, slots, spec};

const N: usize = 1_000_000;

/// CPU seconds of this process so far (utime + stime).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `work` `reps` times; prints events/s of CPU time and of wall time.
fn measure(name: &str, reps: usize, mut work: impl FnMut() -> usize) {
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let mut check = 0;
    for _ in 0..reps {
        check += work();
    }
    let cpu = (cpu_seconds() - c0) / reps as f64;
    let wall = t0.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{name:<44} {:>6.2} M events/s per core (CPU time), {:>6.2} M/s wall  [{check}]",
        N as f64 / cpu / 1e6,
        N as f64 / wall / 1e6
    );
}

/// Aggregates the parsed events `reps` times (`any_user`: the user values
/// independent of the group).
fn run_parsed(ev: &[Ev], kind: &str, field: Option<&str>, any_user: bool, reps: usize, name: &str) {
    let spec = spec(kind, field);
    let probe = Aggregator::new(spec.clone()).expect("spec");
    let texts = parsed(ev, any_user);
    let props = slots(&probe, &texts, ev);
    let width = probe.keys().len().max(1);
    let metas: Vec<EventMeta<'_>> = ev
        .iter()
        .enumerate()
        .map(|(i, e)| EventMeta::new(&e.tx, i as u64, e.ts))
        .collect();
    measure(name, reps, || {
        let mut agg = Aggregator::new(spec.clone()).expect("spec");
        for (meta, p) in metas.iter().zip(props.chunks(width)) {
            agg.push(meta, p);
        }
        agg.finish().expect("finish").buckets.len()
    });
}

fn main() {
    let ev = events(N);
    run_parsed(&ev, "sum_agg", Some("value"), false, 10, "sum_agg (parsed)");
    run_parsed(&ev, "count_agg", None, false, 10, "count_agg (parsed)");
    run_parsed(
        &ev,
        "unique_count_agg",
        Some("user"),
        false,
        5,
        "unique_count_agg, removes, 10 values per group",
    );
    run_parsed(
        &ev,
        "unique_count_agg",
        Some("user"),
        true,
        3,
        "unique_count_agg, removes, values across groups",
    );
    let text = jsonl(&ev);
    let sum = spec("sum_agg", Some("value"));
    measure("jsonl sum_agg (EventReader)", 5, || {
        from_lines(&text, &sum, false)
    });
    measure("jsonl sum_agg (EventReader, duplicate check)", 5, || {
        from_lines(&text, &sum, true)
    });
    measure("serde_json, borrowed fields, parse only", 5, || {
        text.lines()
            .filter(|l| serde_json::from_str::<Borrowed<'_>>(l).is_ok())
            .count()
    });
}
