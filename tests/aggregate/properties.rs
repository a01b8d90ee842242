//! Invariants of the aggregator (proptest): the order events arrive in
//! does not matter (AD2 orders by timestamp, then input position);
//! aggregating a stream in parts and merging is aggregating it whole; and
//! pay-in-advance steps add up to what aggregation.md says they add up to
//! (A57, A59).

use meterprice::{
    AggregationResult, AggregationSpec, AggregationType, Aggregator, BillingPeriod,
    CachedAggregation, ChargeFilterSpec, ChargeModelKind, EventMeta, Exact, Filters, FreeUnits,
    InAdvanceEvent, MetricDefinition, MetricFilter, MetricSpec, PerEvent, Timestamp, Value,
};
use proptest::prelude::*;

/// One generated event.
#[derive(Debug, Clone)]
struct Ev {
    /// Seconds into March 2024; negative: before the period.
    secs: i64,
    /// Tenths; `None`: the field is missing.
    value: Option<i32>,
    group: Option<&'static str>,
    region: Option<&'static str>,
    id: u8,
    remove: bool,
    price: Option<u32>,
}

fn event() -> impl Strategy<Value = Ev> {
    (
        -40i64 * 86_400..31 * 86_400,
        prop::option::weighted(0.9, -50i32..200),
        prop::sample::select(vec![None, Some("a"), Some("b"), Some("")]),
        prop::sample::select(vec![None, Some("eu"), Some("us"), Some("asia")]),
        0u8..6,
        prop::bool::weighted(0.25),
        prop::option::of(0u32..1000),
    )
        .prop_map(|(secs, value, group, region, id, remove, price)| Ev {
            // Coarse timestamps make ties (broken by input position).
            secs: secs / 3600 * 3600,
            value,
            group,
            region,
            id,
            remove,
            price,
        })
}

/// What is varied on the spec side.
#[derive(Debug, Clone, Copy)]
struct Shape {
    kind: AggregationType,
    recurring: bool,
    prorated: bool,
    grouped: bool,
    filtered: bool,
    strict: bool,
    percentage: bool,
    /// Presentation keys `region` and `g` (U10, C14).
    presented: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    let kinds = prop::sample::select(vec![
        AggregationType::Count,
        AggregationType::Sum,
        AggregationType::Max,
        AggregationType::Latest,
        AggregationType::UniqueCount,
        AggregationType::WeightedSum,
    ]);
    (
        kinds,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(kind, recurring, prorated, grouped, filtered, strict, percentage, presented)| {
                let can_recur = matches!(
                    kind,
                    AggregationType::Sum
                        | AggregationType::UniqueCount
                        | AggregationType::WeightedSum
                );
                let recurring = recurring && can_recur;
                Shape {
                    kind,
                    recurring,
                    prorated: prorated && recurring && kind != AggregationType::WeightedSum,
                    grouped,
                    filtered,
                    strict,
                    percentage: percentage && !prorated,
                    presented,
                }
            },
        )
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn spec(s: Shape) -> AggregationSpec {
    let mut def = MetricDefinition::default();
    def.code = "bm".into();
    def.aggregation_type = s.kind.lago_name().into();
    def.field_name = Some(
        if s.kind == AggregationType::UniqueCount {
            "id"
        } else {
            "v"
        }
        .into(),
    );
    def.recurring = s.recurring;
    def.weighted_interval = Some("seconds".into());
    def.filters = vec![MetricFilter {
        key: "region".into(),
        values: vec!["eu".into(), "us".into(), "asia".into()],
    }];
    let period = BillingPeriod::new(t("2024-03-01T00:00:00Z"), t("2024-03-31T23:59:59.999999Z"))
        .unwrap()
        .with_charges_duration(31)
        .unwrap();
    let mut spec = AggregationSpec::new(MetricSpec::new(def).unwrap(), period);
    spec.charge.prorated = s.prorated;
    if s.percentage {
        spec.charge.model = ChargeModelKind::Percentage;
        spec.options.free_units = Some(FreeUnits {
            per_events: 0,
            per_total_aggregation: Exact::from(3u32),
        });
    }
    spec.options.per_event = Some(PerEvent::default());
    if s.presented {
        // `g` is also the pricing key of grouped shapes (C14 drops it).
        spec.charge.presentation_keys = vec!["region".into(), "g".into()];
    }
    spec.options.strict_filters = s.strict;
    if s.grouped {
        spec.charge.group_keys = vec!["g".into()];
    }
    if s.filtered {
        let f = |v: &[&str]| {
            vec![(
                "region".to_string(),
                v.iter().map(|x| x.to_string()).collect(),
            )]
        };
        spec.charge.filters = Filters::Charge(vec![
            ChargeFilterSpec::new(f(&["eu", "us"])).with_group_keys(vec!["g".into()]),
            ChargeFilterSpec::new(f(&["us", "asia"])),
        ]);
    }
    spec
}

struct Texts {
    ts: Timestamp,
    id: String,
    v: String,
    uid: String,
}

fn texts(i: usize, e: &Ev) -> Texts {
    let base = t("2024-03-01T00:00:00Z").micros();
    Texts {
        ts: Timestamp::from_micros(base + e.secs * 1_000_000).unwrap(),
        id: format!("tx{i}"),
        v: e.value.map_or(String::new(), |v| {
            let sign = if v < 0 { "-" } else { "" };
            format!("{sign}{}.{}", (v / 10).abs(), (v % 10).abs())
        }),
        uid: format!("u{}", e.id),
    }
}

/// Pushes `events[i]` for every `i` of `order`, each with `seq = i`.
fn push(agg: &mut Aggregator, events: &[Ev], order: impl IntoIterator<Item = usize>) {
    for i in order {
        let e = &events[i];
        let x = texts(i, e);
        let mut pairs: Vec<(&str, Value<'_>)> = vec![("id", Value::String(&x.uid))];
        if e.value.is_some() {
            pairs.push(("v", Value::Number(&x.v)));
        }
        if let Some(g) = e.group {
            pairs.push(("g", Value::String(g)));
        }
        if let Some(r) = e.region {
            pairs.push(("region", Value::String(r)));
        }
        if e.remove {
            pairs.push(("operation_type", Value::String("remove")));
        }
        let mut meta = EventMeta::new(&x.id, i as u64, x.ts);
        if let Some(p) = e.price {
            meta = meta.with_precise_total_amount_cents(Exact::from(p));
        }
        agg.push_named(&meta, &pairs);
    }
}

fn whole(s: Shape, events: &[Ev], order: &[usize]) -> AggregationResult {
    let mut agg = Aggregator::new(spec(s)).unwrap();
    push(&mut agg, events, order.iter().copied());
    agg.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// AD2: events in any order, each keeping its input position, give
    /// the same buckets.
    #[test]
    fn any_arrival_order_gives_the_same_buckets(
        s in shape(),
        events in prop::collection::vec(event(), 0..40),
        seed in any::<u64>(),
    ) {
        let n = events.len();
        let forward: Vec<usize> = (0..n).collect();
        let mut shuffled = forward.clone();
        let mut r = seed | 1;
        for i in (1..n).rev() {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            shuffled.swap(i, (r % (i as u64 + 1)) as usize);
        }
        let a = whole(s, &events, &forward);
        let b = whole(s, &events, &shuffled);
        prop_assert_eq!(a.buckets, b.buckets);
        prop_assert_eq!(a.rejected_events, b.rejected_events);
    }

    /// Splitting the stream into parts aggregated apart and merged is
    /// aggregating it whole.
    #[test]
    fn parts_merged_equal_the_whole(
        s in shape(),
        events in prop::collection::vec(event(), 0..40),
        cuts in prop::collection::vec(0usize..40, 0..4),
    ) {
        let n = events.len();
        let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(n)).collect();
        bounds.push(0);
        bounds.push(n);
        bounds.sort_unstable();
        let mut merged: Option<Aggregator> = None;
        for w in bounds.windows(2) {
            let mut part = Aggregator::new(spec(s)).unwrap();
            push(&mut part, &events, w[0]..w[1]);
            match &mut merged {
                None => merged = Some(part),
                Some(m) => m.merge(part).unwrap(),
            }
        }
        let merged = merged.unwrap().finish().unwrap();
        let all: Vec<usize> = (0..n).collect();
        prop_assert_eq!(merged.buckets, whole(s, &events, &all).buckets);
    }

    /// Presentation keys only add breakdowns (U10): every bucket's other
    /// figures are those of the charge without keys; and a count's or a
    /// plain sum's breakdowns add up to the bucket's aggregation (the same
    /// events, split by the presentation values).
    #[test]
    fn presentation_keys_only_add_breakdowns(
        s in shape(),
        events in prop::collection::vec(event(), 0..40),
    ) {
        let all: Vec<usize> = (0..events.len()).collect();
        let plain = whole(Shape { presented: false, ..s }, &events, &all);
        let shown = whole(Shape { presented: true, ..s }, &events, &all);
        prop_assert_eq!(plain.buckets.len(), shown.buckets.len());
        for (p, b) in plain.buckets.iter().zip(&shown.buckets) {
            prop_assert!(p.presentation_breakdowns.is_empty());
            let mut stripped = b.clone();
            stripped.presentation_breakdowns.clear();
            prop_assert_eq!(p, &stripped);
            let adds_up = s.kind == AggregationType::Count
                || (s.kind == AggregationType::Sum && !s.prorated);
            if adds_up && b.count > Exact::ZERO {
                let total = b
                    .presentation_breakdowns
                    .iter()
                    .fold(Exact::ZERO, |t, x| t.checked_add(x.units).unwrap());
                prop_assert_eq!(total, b.aggregation);
            }
        }
    }

    /// A57/A59: a sum's in-advance steps, each reading the state the one
    /// before left, bill the period's running maximum: with values ≥ 0
    /// that is the arrears sum; the last state's maximum is what current
    /// usage reports (total − current + max, with current = total).
    #[test]
    fn in_advance_sum_steps_add_up_to_the_period_maximum(
        values in prop::collection::vec(0i32..100, 1..12),
        negatives in prop::collection::vec(prop::bool::weighted(0.3), 12),
    ) {
        let events: Vec<Ev> = values
            .iter()
            .zip(&negatives)
            .enumerate()
            .map(|(i, (v, neg))| Ev {
                secs: i as i64 * 3600,
                // The first stays ≥ 0 (Lago stores a negative first value
                // as the maximum, QA16's neighbour).
                value: Some(if *neg && i > 0 { -v } else { *v } * 10),
                group: None,
                region: None,
                id: 0,
                remove: false,
                price: None,
            })
            .collect();
        let s = Shape {
            kind: AggregationType::Sum,
            recurring: false,
            prorated: false,
            grouped: false,
            filtered: false,
            strict: false,
            percentage: false,
            presented: false,
        };
        let (billed, state) = steps(s, &events);
        // The running maximum of prefix sums, by hand.
        let mut max = Exact::ZERO;
        let mut prefix = 0i64;
        for e in &events {
            prefix += i64::from(e.value.unwrap() / 10);
            max = max.max(Exact::try_from(i128::from(prefix)).unwrap());
        }
        prop_assert_eq!(billed, max);
        prop_assert_eq!(state.max_aggregation, max);
        // Current usage in advance with that state bills the maximum.
        let mut cu = spec(s);
        cu.options.is_current_usage = true;
        cu.options.is_pay_in_advance = Some(true);
        cu.state.cached_aggregations = vec![state];
        let mut agg = Aggregator::new(cu).unwrap();
        let all: Vec<usize> = (0..events.len()).collect();
        push(&mut agg, &events, all.iter().copied());
        let r = agg.finish().unwrap();
        prop_assert_eq!(r.buckets[0].aggregation, max);
        if negatives.iter().take(events.len()).skip(1).all(|n| !n) {
            let arrears = whole(s, &events, &all);
            prop_assert_eq!(billed, arrears.buckets[0].aggregation);
        }
    }

    /// A57: counting and adds-only unique counting in advance bill one
    /// unit per event, resp. per new value: the arrears count and unique
    /// count.
    #[test]
    fn in_advance_count_and_unique_steps_add_up_to_arrears(
        ids in prop::collection::vec(0u8..5, 1..12),
        unique in any::<bool>(),
    ) {
        let events: Vec<Ev> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Ev {
                secs: i as i64 * 3600,
                value: None,
                group: None,
                region: None,
                id: *id,
                remove: false,
                price: None,
            })
            .collect();
        let kind = if unique { AggregationType::UniqueCount } else { AggregationType::Count };
        let s = Shape {
            kind,
            recurring: false,
            prorated: false,
            grouped: false,
            filtered: false,
            strict: false,
            percentage: false,
            presented: false,
        };
        let (billed, _) = steps(s, &events);
        let all: Vec<usize> = (0..events.len()).collect();
        prop_assert_eq!(billed, whole(s, &events, &all).buckets[0].aggregation);
    }
}

/// Bills each event in advance in time order, feeding each step the state
/// the previous one left; `(Σ billed, last state)`.
fn steps(s: Shape, events: &[Ev]) -> (Exact, CachedAggregation) {
    let mut cached: Vec<CachedAggregation> = Vec::new();
    let mut billed = Exact::ZERO;
    let mut last = CachedAggregation::new(Exact::ZERO, Exact::ZERO);
    for (i, e) in events.iter().enumerate() {
        let mut sp = spec(s);
        sp.options.per_event = None;
        sp.state.cached_aggregations = cached.clone();
        let x = texts(i, e);
        let mut pairs: Vec<(&str, Value<'_>)> = vec![("id", Value::String(&x.uid))];
        if e.value.is_some() {
            pairs.push(("v", Value::Number(&x.v)));
        }
        let keys = Aggregator::new(sp.clone()).unwrap().keys().to_vec();
        let named = meterprice::Named::new(&keys, &pairs);
        let event = InAdvanceEvent {
            meta: EventMeta::new(&x.id, i as u64, x.ts),
            persisted: true,
            properties_empty: false,
        };
        let mut agg = Aggregator::for_event(sp, event, &named).unwrap();
        push(&mut agg, events, 0..events.len());
        let r = agg.finish().unwrap();
        let step = r.buckets[0].in_advance.clone().unwrap();
        billed = billed.checked_add(step.pay_in_advance_aggregation).unwrap();
        if let Some(c) = step.cached_aggregation {
            last = c.clone();
            cached.push(c);
        }
    }
    (billed, last)
}
