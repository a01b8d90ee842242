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

use meterprice::{
    AggregationSpec, Aggregator, BillingPeriod, ChargeFilterSpec, EventMeta, EventReader, Filters,
    MetricDefinition, MetricFilter, MetricSpec, Timestamp, TransactionIds, Value,
};

const N: usize = 1_000_000;
const REGIONS: [&str; 4] = ["eu", "us", "asia", "af"];

struct Events {
    arena: String,
    /// Per event: (region, agent, value, local user, any user) spans.
    spans: Vec<[(usize, usize); 5]>,
    removes: Vec<bool>,
    stamps: Vec<Timestamp>,
    ids: Vec<String>,
}

impl Events {
    fn text(&self, i: usize, j: usize) -> &str {
        let (a, b) = self.spans[i][j];
        &self.arena[a..b]
    }
}

fn events() -> Events {
    let start = Timestamp::parse("2024-03-01T00:00:00Z")
        .expect("start")
        .micros();
    let mut r: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r
    };
    let mut ev = Events {
        arena: String::new(),
        spans: Vec::with_capacity(N),
        removes: Vec::with_capacity(N),
        stamps: Vec::with_capacity(N),
        ids: Vec::with_capacity(N),
    };
    for i in 0..N {
        let group = next() % 1000;
        let cents = next() % 100_000;
        let texts = [
            REGIONS[(next() % 4) as usize].to_string(),
            format!("agent-{group}"),
            format!("{}.{:02}", cents / 100, cents % 100),
            format!("user-{}", group * 10 + next() % 10),
            format!("user-{}", next() % 10_000),
        ];
        let mut spans = [(0, 0); 5];
        for (j, t) in texts.iter().enumerate() {
            let a = ev.arena.len();
            ev.arena.push_str(t);
            spans[j] = (a, ev.arena.len());
        }
        ev.spans.push(spans);
        ev.removes.push(next() % 5 == 0);
        let secs = (next() % (31 * 86_400)) as i64;
        ev.stamps
            .push(Timestamp::from_micros(start + secs * 1_000_000).expect("in range"));
        ev.ids.push(format!("tx-{i:08}"));
    }
    ev
}

fn spec(kind: &str, field: Option<&str>) -> AggregationSpec {
    let mut def = MetricDefinition::default();
    def.code = "api_calls".into();
    def.aggregation_type = kind.into();
    def.field_name = field.map(Into::into);
    def.filters = vec![MetricFilter {
        key: "region".into(),
        values: REGIONS.iter().map(|r| r.to_string()).collect(),
    }];
    let period = BillingPeriod::new(
        Timestamp::parse("2024-03-01T00:00:00Z").expect("from"),
        Timestamp::parse("2024-03-31T23:59:59.999999Z").expect("to"),
    )
    .expect("period");
    let mut spec = AggregationSpec::new(MetricSpec::new(def).expect("metric"), period);
    let filter = |r: &str| {
        ChargeFilterSpec::new(vec![("region".into(), vec![r.into()])])
            .with_group_keys(vec!["agent".into()])
    };
    spec.charge.filters = Filters::Charge(vec![filter("eu"), filter("us"), filter("asia")]);
    spec.charge.group_keys = vec!["agent".into()];
    spec
}

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

fn parsed(ev: &Events, kind: &str, field: Option<&str>, user: usize, reps: usize, name: &str) {
    let spec = spec(kind, field);
    let keys: Vec<String> = Aggregator::new(spec.clone())
        .expect("spec")
        .keys()
        .iter()
        .map(|k| k.to_string())
        .collect();
    let mut flat: Vec<Option<Value<'_>>> = Vec::with_capacity(N * keys.len());
    for i in 0..N {
        for key in &keys {
            flat.push(match key.as_str() {
                "region" => Some(Value::String(ev.text(i, 0))),
                "agent" => Some(Value::String(ev.text(i, 1))),
                "value" => Some(Value::String(ev.text(i, 2))),
                "user" => Some(Value::String(ev.text(i, user))),
                "operation_type" if ev.removes[i] => Some(Value::String("remove")),
                _ => None,
            });
        }
    }
    let metas: Vec<EventMeta<'_>> = (0..N)
        .map(|i| EventMeta::new(&ev.ids[i], i as u64, ev.stamps[i]))
        .collect();
    measure(name, reps, || {
        let mut agg = Aggregator::new(spec.clone()).expect("spec");
        for (meta, props) in metas.iter().zip(flat.chunks(keys.len())) {
            agg.push(meta, props);
        }
        agg.finish().expect("finish").buckets.len()
    });
}

fn jsonl(ev: &Events) -> String {
    let mut out = String::with_capacity(N * 200);
    for i in 0..N {
        out.push_str(&format!(
            r#"{{"transaction_id":"{}","external_subscription_id":"sub_1","code":"api_calls","timestamp":"{}","properties":{{"region":"{}","agent":"{}","value":"{}"}}}}"#,
            ev.ids[i],
            ev.stamps[i].to_string().replace(".000000", ""),
            ev.text(i, 0),
            ev.text(i, 1),
            ev.text(i, 2)
        ));
        out.push('\n');
    }
    out
}

fn read_lines(text: &str, spec: &AggregationSpec, dedup: bool) -> usize {
    let mut agg = Aggregator::new(spec.clone()).expect("spec");
    let mut reader = EventReader::new(agg.keys());
    let mut ids = TransactionIds::default();
    for (i, line) in text.lines().enumerate() {
        let Ok(event) = reader.read(line) else {
            continue;
        };
        let Ok(meta) = event.meta(i as u64, true) else {
            continue;
        };
        if dedup && !ids.first(meta.transaction_id) {
            continue;
        }
        agg.push(&meta, &event);
    }
    agg.finish().expect("finish").buckets.len()
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Borrowed<'a> {
    transaction_id: &'a str,
    external_subscription_id: &'a str,
    code: &'a str,
    timestamp: &'a str,
    #[serde(borrow)]
    properties: BorrowedProps<'a>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct BorrowedProps<'a> {
    region: &'a str,
    agent: &'a str,
    value: &'a str,
}

fn main() {
    let ev = events();
    parsed(&ev, "sum_agg", Some("value"), 3, 10, "sum_agg (parsed)");
    parsed(&ev, "count_agg", None, 3, 10, "count_agg (parsed)");
    parsed(
        &ev,
        "unique_count_agg",
        Some("user"),
        3,
        5,
        "unique_count_agg, removes, 10 values per group",
    );
    parsed(
        &ev,
        "unique_count_agg",
        Some("user"),
        4,
        3,
        "unique_count_agg, removes, values across groups",
    );
    let text = jsonl(&ev);
    let sum = spec("sum_agg", Some("value"));
    measure("jsonl sum_agg (EventReader)", 5, || {
        read_lines(&text, &sum, false)
    });
    measure("jsonl sum_agg (EventReader, duplicate check)", 5, || {
        read_lines(&text, &sum, true)
    });
    measure("serde_json, borrowed fields, parse only", 5, || {
        text.lines()
            .filter(|l| serde_json::from_str::<Borrowed<'_>>(l).is_ok())
            .count()
    });
}
