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
use meterprice::{
    AggregationSpec, Aggregator, BillingPeriod, ChargeFilterSpec, EventMeta, EventReader, Filters,
    MetricDefinition, MetricFilter, MetricSpec, Timestamp, TransactionIds, Value,
};
use rust_decimal::Decimal;

const EVENTS: usize = 1_000_000;
const GROUPS: usize = 1_000;
const REGIONS: [&str; 4] = ["eu", "us", "asia", "af"];

/// One generated event, as text pieces.
struct Ev {
    tx: String,
    ts: Timestamp,
    ts_text: String,
    region: &'static str,
    agent: String,
    value: String,
    /// One of the group's 10 users.
    user: String,
    /// Any of 10,000 users.
    any_user: String,
    remove: bool,
    bucket: usize,
    group: usize,
}

fn events() -> Vec<Ev> {
    let start = Timestamp::parse("2024-03-01T00:00:00Z").unwrap().micros();
    let mut r: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r
    };
    (0..EVENTS)
        .map(|i| {
            let region_i = (next() % 4) as usize;
            let group = (next() % GROUPS as u64) as usize;
            let secs = (next() % (31 * 86_400)) as i64;
            let ts = Timestamp::from_micros(start + secs * 1_000_000).unwrap();
            let cents = next() % 100_000;
            Ev {
                tx: format!("tx-{i:08}"),
                ts_text: ts.to_string().replace(".000000", ""),
                ts,
                region: REGIONS[region_i],
                agent: format!("agent-{group}"),
                value: format!("{}.{:02}", cents / 100, cents % 100),
                user: format!("user-{}", group as u64 * 10 + next() % 10),
                any_user: format!("user-{}", next() % 10_000),
                remove: next() % 5 == 0,
                bucket: region_i,
                group,
            }
        })
        .collect()
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
        Timestamp::parse("2024-03-01T00:00:00Z").unwrap(),
        Timestamp::parse("2024-03-31T23:59:59.999999Z").unwrap(),
    )
    .unwrap();
    let mut spec = AggregationSpec::new(MetricSpec::new(def).unwrap(), period);
    let filter = |r: &str| {
        ChargeFilterSpec::new(vec![("region".into(), vec![r.into()])])
            .with_group_keys(vec!["agent".into()])
    };
    spec.charge.filters = Filters::Charge(vec![filter("eu"), filter("us"), filter("asia")]);
    spec.charge.group_keys = vec!["agent".into()];
    spec
}

/// The events' texts in one arena, and their properties in one flat slot
/// array aligned with the aggregator's keys (a parsed batch).
struct Parsed {
    arena: String,
    spans: Vec<[(usize, usize); 4]>,
}

fn parsed(events: &[Ev], any_user: bool) -> Parsed {
    let mut arena = String::new();
    let spans = events
        .iter()
        .map(|e| {
            let user = if any_user { &e.any_user } else { &e.user };
            let mut sp = [(0, 0); 4];
            for (j, t) in [e.region, e.agent.as_str(), e.value.as_str(), user.as_str()]
                .iter()
                .enumerate()
            {
                let a = arena.len();
                arena.push_str(t);
                sp[j] = (a, arena.len());
            }
            sp
        })
        .collect();
    Parsed { arena, spans }
}

fn slots<'e>(agg: &Aggregator, p: &'e Parsed, events: &[Ev]) -> Vec<Option<Value<'e>>> {
    let keys: Vec<String> = agg.keys().iter().map(|k| k.to_string()).collect();
    let mut flat = Vec::with_capacity(events.len() * keys.len());
    for (e, sp) in events.iter().zip(&p.spans) {
        let text = |j: usize| &p.arena[sp[j].0..sp[j].1];
        for k in &keys {
            flat.push(match k.as_str() {
                "region" => Some(Value::String(text(0))),
                "agent" => Some(Value::String(text(1))),
                "value" => Some(Value::String(text(2))),
                "user" => Some(Value::String(text(3))),
                "operation_type" if e.remove => Some(Value::String("remove")),
                _ => None,
            });
        }
    }
    flat
}

fn jsonl(events: &[Ev]) -> String {
    let mut out = String::with_capacity(events.len() * 200);
    for e in events {
        out.push_str(&format!(
            r#"{{"transaction_id":"{}","external_subscription_id":"sub_1","code":"api_calls","timestamp":"{}","properties":{{"region":"{}","agent":"{}","value":"{}"}}}}"#,
            e.tx, e.ts_text, e.region, e.agent, e.value
        ));
        out.push('\n');
    }
    out
}

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

/// Reads, checks ids (when `dedup`), aggregates: a billing run's loop.
fn from_lines(text: &str, spec: &AggregationSpec, dedup: bool) -> usize {
    let mut agg = Aggregator::new(spec.clone()).unwrap();
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
    agg.finish().unwrap().buckets.len()
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

fn benches(c: &mut Criterion) {
    let events = events();
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
