//! Throughput of the billing run (usage-json.md, "Billing run") on the
//! month `examples/gen_events.py` writes: wall time, CPU time (utime +
//! stime of /proc/self/stat, all threads) and events per second. The event
//! file is read into memory first and the output is counted, not kept, so
//! the figure is the run's own, not the disk's.
//!
//! ```sh
//! python3 examples/gen_events.py --events 1000000 --subscriptions 1000 --out target/bill
//! cargo run --release --example billing_run -- target/bill
//! ```
//!
//! The binary allocates with jemalloc (feature `fast-alloc`); this example
//! does too when the feature is on, so its figures are the CLI's.

// Examples may unwrap, index and panic: a failure is the point. The
// floats are timings (events per second), never money.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::float_arithmetic
)]

#[cfg(feature = "fast-alloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::io::Write;
use std::time::Instant;

use meterprice::{BillingRunOptions, billing_run};

/// Counts the bytes written.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/bill".into());
    let read = |name: &str| {
        let path = format!("{dir}/{name}");
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!("cannot read {path} ({e}): run python3 examples/gen_events.py --out {dir} first")
        })
    };
    let plan = String::from_utf8(read("plan.json")).unwrap();
    let events = read("events.jsonl");
    let opts = BillingRunOptions::new(plan, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z");
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    let mut out = Count(0);
    let summary = billing_run(&opts, events.as_slice(), &mut out, std::io::sink()).unwrap();
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let n = summary.events as f64;
    println!(
        "{} events, {} subscriptions, {:.0} MB out: {wall:.2} s wall ({:.3} M events/s), \
         {cpu:.2} s CPU ({:.3} M events/s per CPU second)",
        summary.events,
        summary.subscriptions,
        out.0 as f64 / 1e6,
        n / wall / 1e6,
        n / cpu / 1e6
    );
}

/// This process's CPU time so far (all threads), in seconds.
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
