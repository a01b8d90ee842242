//! Memory of the streaming aggregator: 10 M events of an order-free
//! metric (`sum_agg`, issue 12's workload: 3 charge filters + the default
//! bucket, 1,000 groups), generated on the fly, read from JSON Lines text
//! by `EventReader` and aggregated. Prints the peak resident set
//! (`VmHWM` of /proc/self/status) after 1, 2, 5 and 10 M events: it stays
//! flat, bounded by the groups and not by the events.
//!
//! ```sh
//! cargo run --release --example aggregate_memory            # 10 M events
//! cargo run --release --example aggregate_memory -- 20000000
//! cargo run --release --example aggregate_memory -- 10000000 --dedup
//! ```
//!
//! `--dedup` also checks transaction ids for duplicates (QA19), which has
//! to remember every id: that memory grows with the events, on purpose.

// Examples may unwrap, index and panic: a failure is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Instant;

use meterprice::{Aggregator, EventReader, TransactionIds};

#[path = "../benches/workload/mod.rs"]
mod workload;
use workload::{GROUPS, REGIONS, spec};

/// Peak resident set size, in kB (`VmHWM`).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: u64 = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let dedup = args.iter().any(|a| a == "--dedup");
    let mut agg = Aggregator::new(spec("sum_agg", Some("value"))).expect("aggregator");
    let mut reader = EventReader::new(agg.keys());
    let mut ids = TransactionIds::default();
    let mut line = String::with_capacity(256);
    let mut r: u64 = 0x9E37_79B9_7F4A_7C15;
    let checkpoints = [
        1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000,
    ];
    println!("events,peak_rss_kb,seconds (dedup: {dedup})");
    let start = Instant::now();
    for i in 0..total {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        line.clear();
        let secs = 1_709_251_200 + r % (31 * 86_400);
        let cents = (r >> 20) % 100_000;
        use std::fmt::Write;
        let _ = write!(
            line,
            r#"{{"transaction_id":"tx-{i}","timestamp":{secs},"properties":{{"region":"{}","agent":"agent-{}","value":"{}.{:02}"}}}}"#,
            REGIONS[(r % 4) as usize],
            (r >> 8) % GROUPS as u64,
            cents / 100,
            cents % 100
        );
        let Ok(event) = reader.read(&line) else {
            continue;
        };
        let Ok(meta) = event.meta(i, true) else {
            continue;
        };
        if dedup && !ids.first(meta.transaction_id) {
            continue;
        }
        agg.push(&meta, &event);
        if checkpoints.contains(&(i + 1)) {
            println!(
                "{},{},{:.1}",
                i + 1,
                peak_rss_kb(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    let result = agg.finish().expect("finish");
    println!(
        "# {} buckets (bucket × group), peak RSS {} kB",
        result.buckets.len(),
        peak_rss_kb()
    );
}
