//! Issue 12's aggregation workload, shared by `benches/aggregate.rs` and
//! the `aggregate_throughput` and `aggregate_memory` examples (which
//! include it with `#[path]`), so that the criterion figures and the
//! timed examples measure the same events: one subscription, 3 charge
//! filters on `region` + the default bucket, 1,000 groups (`agent`).

#![allow(dead_code)] // each includer uses a part

use meterprice::{
    AggregationSpec, Aggregator, BillingPeriod, ChargeFilterSpec, EventReader, Filters,
    MetricDefinition, MetricFilter, MetricSpec, Timestamp, TransactionIds, Value,
};

pub const GROUPS: usize = 1_000;
pub const REGIONS: [&str; 4] = ["eu", "us", "asia", "af"];

/// One generated event, as text pieces.
pub struct Ev {
    pub tx: String,
    pub ts: Timestamp,
    pub ts_text: String,
    pub region: &'static str,
    pub agent: String,
    pub value: String,
    /// One of the group's 10 users.
    pub user: String,
    /// Any of 10,000 users.
    pub any_user: String,
    pub remove: bool,
    pub bucket: usize,
    pub group: usize,
}

/// `n` events, deterministic (xorshift).
pub fn events(n: usize) -> Vec<Ev> {
    let start = Timestamp::parse("2024-03-01T00:00:00Z")
        .expect("workload")
        .micros();
    let mut r: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r
    };
    (0..n)
        .map(|i| {
            let region_i = (next() % 4) as usize;
            let group = (next() % GROUPS as u64) as usize;
            let secs = (next() % (31 * 86_400)) as i64;
            let ts = Timestamp::from_micros(start + secs * 1_000_000).expect("workload");
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

/// A metric of `kind` over `field` with the workload's filters and group key.
pub fn spec(kind: &str, field: Option<&str>) -> AggregationSpec {
    let mut def = MetricDefinition::default();
    def.code = "api_calls".into();
    def.aggregation_type = kind.into();
    def.field_name = field.map(Into::into);
    def.filters = vec![MetricFilter {
        key: "region".into(),
        values: REGIONS.iter().map(|r| r.to_string()).collect(),
    }];
    let period = BillingPeriod::new(
        Timestamp::parse("2024-03-01T00:00:00Z").expect("workload"),
        Timestamp::parse("2024-03-31T23:59:59.999999Z").expect("workload"),
    )
    .expect("workload");
    let mut spec = AggregationSpec::new(MetricSpec::new(def).expect("workload"), period);
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
pub struct Parsed {
    pub arena: String,
    pub spans: Vec<[(usize, usize); 4]>,
}

pub fn parsed(events: &[Ev], any_user: bool) -> Parsed {
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

/// The properties of every event in the aggregator's key order.
pub fn slots<'e>(agg: &Aggregator, p: &'e Parsed, events: &[Ev]) -> Vec<Option<Value<'e>>> {
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

/// The events as JSON Lines, the way an event file holds them.
pub fn jsonl(events: &[Ev]) -> String {
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

/// Reads, checks ids (when `dedup`), aggregates: a billing run's loop.
pub fn from_lines(text: &str, spec: &AggregationSpec, dedup: bool) -> usize {
    let mut agg = Aggregator::new(spec.clone()).expect("workload");
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
    agg.finish().expect("workload").buckets.len()
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
/// What the serde_json floor reads of a line: borrowed fields only.
pub struct Borrowed<'a> {
    pub transaction_id: &'a str,
    pub external_subscription_id: &'a str,
    pub code: &'a str,
    pub timestamp: &'a str,
    #[serde(borrow)]
    pub properties: BorrowedProps<'a>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
pub struct BorrowedProps<'a> {
    pub region: &'a str,
    pub agent: &'a str,
    pub value: &'a str,
}
