//! Criterion benchmarks of the seven charge models.
//!
//! * `<model>/...`: `ChargeModel::apply` (amount, unit amount and amount
//!   details), with the usage in the LAST tier of tiered models (the worst
//!   case: graduated reaches every tier).
//! * `floor/...`: the bare `rust_decimal::Decimal` operations the model's
//!   figures need, and nothing else: finding the tier (a comparison per
//!   bound looked at), the units of each reached tier (a subtraction), one
//!   multiply-add per reached tier, and the division that gives the unit
//!   amount (where the engine divides). No amount details, no exactness
//!   beyond 28 digits, no validation, so the ratio engine/floor is visible.
//! * `exact/...`: single `Exact` operations, to explain the ratios.
//! * `batch/1m_usage_records`: one `Charge::rate` call over 1,000,000 buckets
//!   of a 5-tier graduated charge.
//!
//! `cargo bench --bench models -- --test` runs each benchmark once.

// Tests and benches may unwrap, index and panic: a failure is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::cell::OnceCell;
use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use meterprice::{Bucket, Charge, ChargeModel, Currency, Exact, Period, Usage};
use rust_decimal::Decimal;

/// Tier counts benchmarked for the tiered models.
const TIER_COUNTS: [usize; 4] = [1, 5, 50, 1000];
/// Units per tier: tier `i` spans `(10·i, 10·(i+1)]`.
const TIER_WIDTH: i64 = 10;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("benchmark decimal")
}

fn exact(s: &str) -> Exact {
    Exact::from_str(s).expect("benchmark decimal")
}

fn eur() -> Currency {
    Currency::from_code("EUR").expect("EUR")
}

/// Units landing in the last of `n` tiers (half a unit fraction included).
fn last_tier_units(n: usize) -> Decimal {
    let n = i64::try_from(n).expect("tier count");
    // 10·(n−1) + 5.5
    Decimal::new((TIER_WIDTH * (n - 1)) * 10 + 55, 1)
}

/// Per-unit price of tier `i`: 2.000, 1.999, 1.998, … (never negative).
fn tier_price(i: usize) -> Decimal {
    Decimal::new(2000 - i64::try_from(i % 2000).expect("tier"), 3)
}

/// Flat amount of tier `i`: 0, 0.5, 1, 0, 0.5, …
fn tier_flat(i: usize) -> Decimal {
    Decimal::new(5 * i64::try_from(i % 3).expect("tier"), 1)
}

/// Rate (percent) of tier `i`: 2.50, 2.49, … 1.51, 2.50, …
fn tier_rate(i: usize) -> Decimal {
    Decimal::new(250 - i64::try_from(i % 100).expect("tier"), 2)
}

/// Lago JSON ranges: `{"from_value": 0, "to_value": 10, …}, {"from_value":
/// 11, "to_value": 20, …}, …, {"from_value": …, "to_value": null, …}`;
/// `price(i)` gives the tier's price fields.
fn ranges_json(n: usize, price: impl Fn(usize) -> String) -> String {
    let width = usize::try_from(TIER_WIDTH).expect("width");
    let ranges: Vec<String> = (0..n)
        .map(|i| {
            let from = if i == 0 { 0 } else { width * i + 1 };
            let to = if i + 1 == n {
                "null".to_owned()
            } else {
                (width * (i + 1)).to_string()
            };
            format!(
                r#"{{"from_value": {from}, "to_value": {to}, {}}}"#,
                price(i)
            )
        })
        .collect();
    format!("[{}]", ranges.join(", "))
}

fn unit_price_fields(i: usize) -> String {
    format!(
        r#""per_unit_amount": "{}", "flat_amount": "{}""#,
        tier_price(i),
        tier_flat(i)
    )
}

fn rate_fields(i: usize) -> String {
    format!(
        r#""rate": "{}", "flat_amount": "{}""#,
        tier_rate(i),
        tier_flat(i)
    )
}

fn graduated_properties(n: usize) -> String {
    format!(
        r#"{{"graduated_ranges": {}}}"#,
        ranges_json(n, unit_price_fields)
    )
}

fn graduated_percentage_properties(n: usize) -> String {
    format!(
        r#"{{"graduated_percentage_ranges": {}}}"#,
        ranges_json(n, rate_fields)
    )
}

fn volume_properties(n: usize) -> String {
    format!(
        r#"{{"volume_ranges": {}}}"#,
        ranges_json(n, unit_price_fields)
    )
}

fn model(name: &str, properties: &str) -> ChargeModel {
    ChargeModel::from_lago_json(name, properties)
        .unwrap_or_else(|e| panic!("benchmark {name} charge: {e}"))
}

/// The upper bound of tier `i` of `n`: `10·(i+1)`, none for the last.
fn tier_to(n: usize, i: usize) -> Option<Decimal> {
    (i + 1 < n).then(|| Decimal::from(TIER_WIDTH) * Decimal::from(i + 1))
}

/// The usage of a tiered benchmark: `units` in the last tier.
fn tiered_usage(n: usize) -> Usage {
    Usage::new(Exact::from(last_tier_units(n))).with_events_count(42)
}

/// Benchmarks `m.apply(usage)`, checking once that it prices to `expected`.
fn bench_apply(
    c: &mut Criterion,
    group: &str,
    id: &str,
    m: &ChargeModel,
    usage: &Usage,
    expected: Decimal,
) {
    let currency = eur();
    let out = m.apply(usage, currency).expect("benchmark usage prices");
    assert_eq!(
        out.amount,
        Exact::from(expected),
        "{group}/{id}: engine and floor disagree"
    );
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function(id, |b| {
        b.iter(|| black_box(m).apply(black_box(usage), currency));
    });
    g.finish();
}

// ---------------------------------------------------------------- floors --

/// A tier of a floor: its upper bound (`None`: open), unit price and flat
/// amount.
type FloorTier = (Option<Decimal>, Decimal, Decimal);

/// Graduated floor: per reached tier a comparison with its bound, the
/// tier's units (`min(units, to) − previous to`), one `checked_mul` and two
/// `checked_add`; then the unit amount, `amount / units`.
fn floor_graduated(tiers: &[FloorTier], units: Decimal) -> Option<(Decimal, Decimal)> {
    let mut amount = Decimal::ZERO;
    let mut lower = Decimal::ZERO;
    for &(to, price, flat) in tiers {
        let (upper, last) = match to {
            Some(to) if to < units => (to, false),
            _ => (units, true),
        };
        let n = upper.checked_sub(lower)?;
        let line = n.checked_mul(price)?.checked_add(flat)?;
        amount = amount.checked_add(line)?;
        if last {
            break;
        }
        lower = upper;
    }
    Some((amount, amount.checked_div(units)?))
}

/// Volume floor: a binary search over the bounds, one multiply-add, and the
/// unit amount (a division only when a flat fee makes it differ from the
/// tier price, as in the engine).
fn floor_volume(tiers: &[FloorTier], units: Decimal) -> Option<(Decimal, Decimal)> {
    let i = tiers.partition_point(|t| matches!(t.0, Some(to) if to < units));
    let &(_, price, flat) = tiers.get(i)?;
    let amount = units.checked_mul(price)?.checked_add(flat)?;
    let unit = if flat.is_zero() {
        price
    } else {
        amount.checked_div(units)?
    };
    Some((amount, unit))
}

/// Percentage inputs for the floor (rate already divided by 100).
struct PercentageFloor {
    rate_fraction: Decimal,
    fixed: Decimal,
    min: Decimal,
    max: Decimal,
    free_events: usize,
    free_units: Decimal,
    values: Vec<Decimal>,
}

/// Percentage floor with per-transaction bounds: free events consume the
/// free units (one `checked_sub` each); every paying event is one
/// `checked_mul`, two `checked_add` and the clamp.
fn floor_percentage(p: &PercentageFloor) -> Option<Decimal> {
    let mut free_units = p.free_units;
    let mut total = Decimal::ZERO;
    for (i, &value) in p.values.iter().enumerate() {
        let mut paid = value;
        if i < p.free_events {
            if value < free_units {
                free_units = free_units.checked_sub(value)?;
                continue;
            }
            paid = value.checked_sub(free_units)?;
            free_units = Decimal::ZERO;
        }
        let x = paid
            .checked_mul(p.rate_fraction)?
            .checked_add(p.fixed)?
            .clamp(p.min, p.max);
        total = total.checked_add(x)?;
    }
    Some(total)
}

// ----------------------------------------------------------- benchmarks --

fn standard(c: &mut Criterion) {
    let m = model("standard", r#"{"amount": "0.0125"}"#);
    let units = dec("1234.5");
    let price = dec("0.0125");
    let usage = Usage::new(Exact::from(units)).with_events_count(1234);
    bench_apply(c, "standard", "apply", &m, &usage, units * price);
    c.bench_function("floor/standard", |b| {
        b.iter(|| black_box(units).checked_mul(black_box(price)));
    });
}

fn tiered(c: &mut Criterion) {
    for n in TIER_COUNTS {
        let id = format!("{n}_tiers");
        let units = last_tier_units(n);
        let usage = tiered_usage(n);

        // graduated: every tier reached.
        let tiers: Vec<FloorTier> = (0..n)
            .map(|i| (tier_to(n, i), tier_price(i), tier_flat(i)))
            .collect();
        let (expected, _) = floor_graduated(&tiers, units).expect("graduated floor");
        let m = model("graduated", &graduated_properties(n));
        bench_apply(c, "graduated", &id, &m, &usage, expected);
        c.bench_function(&format!("floor/graduated_{id}"), |b| {
            b.iter(|| floor_graduated(black_box(&tiers), black_box(units)));
        });

        // graduated_percentage: the same walk, rate / 100 per tier (the
        // division by 100 is a scale shift, folded into the floor's rate).
        let tiers: Vec<FloorTier> = (0..n)
            .map(|i| {
                let rate = tier_rate(i) / Decimal::ONE_HUNDRED;
                (tier_to(n, i), rate, tier_flat(i))
            })
            .collect();
        let (expected, _) = floor_graduated(&tiers, units).expect("graduated_percentage floor");
        let m = model("graduated_percentage", &graduated_percentage_properties(n));
        bench_apply(c, "graduated_percentage", &id, &m, &usage, expected);
        c.bench_function(&format!("floor/graduated_percentage_{id}"), |b| {
            b.iter(|| floor_graduated(black_box(&tiers), black_box(units)));
        });

        // volume: the last tier's price for every unit.
        let tiers: Vec<FloorTier> = (0..n)
            .map(|i| (tier_to(n, i), tier_price(i), tier_flat(i)))
            .collect();
        let (expected, _) = floor_volume(&tiers, units).expect("volume floor");
        let m = model("volume", &volume_properties(n));
        bench_apply(c, "volume", &id, &m, &usage, expected);
        c.bench_function(&format!("floor/volume_{id}"), |b| {
            b.iter(|| floor_volume(black_box(&tiers), black_box(units)));
        });
    }
}

fn package(c: &mut Criterion) {
    let m = model(
        "package",
        r#"{"amount": "5", "package_size": 100, "free_units": 50}"#,
    );
    let units = dec("1234.5");
    let (free, size, amount) = (Decimal::from(50), Decimal::from(100), dec("5"));
    let usage = Usage::new(Exact::from(units)).with_events_count(9);
    // ceil(1184.5 / 100) = 12 packages × 5
    bench_apply(c, "package", "apply", &m, &usage, dec("60"));
    c.bench_function("floor/package", |b| {
        b.iter(|| {
            let paid = black_box(units).checked_sub(black_box(free))?;
            let total = paid
                .checked_div(black_box(size))?
                .ceil()
                .checked_mul(black_box(amount))?;
            // The unit amount, over the paid units as in Lago (Q7).
            Some((total, total.checked_div(paid)?))
        });
    });
}

fn percentage(c: &mut Criterion) {
    let m = model(
        "percentage",
        r#"{"rate": "1.3", "fixed_amount": "0.1", "free_units_per_events": 2,
            "free_units_per_total_aggregation": "250",
            "per_transaction_min_amount": "0.2", "per_transaction_max_amount": "5"}"#,
    );
    let texts = [
        "50", "100", "400", "500", "12.5", "7", "300", "1000", "0.5", "80",
    ];
    let values: Vec<Decimal> = texts.iter().map(|t| dec(t)).collect();
    let units: Decimal = values.iter().sum();
    let usage = Usage::new(Exact::from(units))
        .with_events_count(values.len() as u64)
        .with_event_values(texts.iter().map(|t| exact(t)).collect());
    let p = PercentageFloor {
        rate_fraction: dec("0.013"),
        fixed: dec("0.1"),
        min: dec("0.2"),
        max: dec("5"),
        free_events: 2,
        free_units: dec("250"),
        values,
    };
    let expected = floor_percentage(&p).expect("percentage floor");
    bench_apply(c, "percentage", "apply", &m, &usage, expected);
    c.bench_function("floor/percentage", |b| {
        b.iter(|| {
            let amount = floor_percentage(black_box(&p))?;
            Some((amount, amount.checked_div(black_box(units))?))
        });
    });
}

fn dynamic(c: &mut Criterion) {
    let m = model("dynamic", "{}");
    let cents = dec("4025.5");
    let usage = Usage::new(exact("20"))
        .with_events_count(2)
        .with_precise_total_amount_cents(Exact::from(cents));
    let minor = Decimal::new(1, 2);
    bench_apply(c, "dynamic", "apply", &m, &usage, cents * minor);
    let units = dec("20");
    c.bench_function("floor/dynamic", |b| {
        b.iter(|| {
            let amount = black_box(cents).checked_mul(black_box(minor))?;
            Some((amount, amount.checked_div(black_box(units))?))
        });
    });
}

/// Single `Exact` operations next to their `Decimal` counterparts.
fn exact_ops(c: &mut Criterion) {
    let (a, b2) = (exact("1234.5"), exact("0.0125"));
    let (da, db) = (dec("1234.5"), dec("0.0125"));
    let q = exact("15.43125");
    let dq = dec("15.43125");
    let mut g = c.benchmark_group("exact");
    g.bench_function("checked_mul", |b| {
        b.iter(|| black_box(a).checked_mul(black_box(b2)));
    });
    g.bench_function("checked_add", |b| {
        b.iter(|| black_box(a).checked_add(black_box(b2)));
    });
    g.bench_function("checked_div", |b| {
        b.iter(|| black_box(q).checked_div(black_box(a)));
    });
    g.bench_function("cmp", |b| {
        b.iter(|| black_box(a) < black_box(b2));
    });
    g.finish();
    let mut g = c.benchmark_group("decimal");
    g.bench_function("checked_mul", |b| {
        b.iter(|| black_box(da).checked_mul(black_box(db)));
    });
    g.bench_function("checked_add", |b| {
        b.iter(|| black_box(da).checked_add(black_box(db)));
    });
    g.bench_function("checked_div", |b| {
        b.iter(|| black_box(dq).checked_div(black_box(da)));
    });
    g.finish();
}

const BATCH: usize = 1_000_000;

fn batch(c: &mut Criterion) {
    let charge = Charge::from_lago_json(
        "EUR",
        &format!(
            r#"{{"charge_model": "graduated", "properties": {}}}"#,
            graduated_properties(5)
        ),
    )
    .expect("batch charge");
    let period = Period::full(31);
    // Built lazily (once, outside the timed loop) so a filtered-out run
    // does not pay for it.
    let buckets: OnceCell<Vec<Bucket>> = OnceCell::new();
    let build = || {
        (0..BATCH)
            .map(|i| {
                // 40.01 … 50.00: always in the fifth (open) tier.
                let hundredths = 4001 + i64::try_from(i % 1000).expect("index");
                let usage = Usage::new(Exact::from(Decimal::new(hundredths, 2)))
                    .with_events_count(u64::try_from(i % 97).expect("count"));
                Bucket::new(usage)
            })
            .collect::<Vec<_>>()
    };
    let mut g = c.benchmark_group("batch");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("1m_usage_records", |b| {
        let buckets = buckets.get_or_init(build);
        // The fees (about 2 GB with their amount details) are dropped
        // outside the timed section.
        b.iter_with_large_drop(|| {
            let fees = charge
                .rate(black_box(buckets), black_box(&period))
                .expect("batch prices");
            assert_eq!(fees.fees.len(), BATCH);
            fees
        });
    });
    g.finish();
}

criterion_group!(
    benches, standard, tiered, package, percentage, dynamic, exact_ops, batch
);
criterion_main!(benches);
