//! Property tests (proptest): invariants of the seven charge models, of the
//! fee level and of the JSON edge, over generated valid Lago charge
//! definitions (semantics.md §2, §8; decisions.md M1–M14) and over mutated,
//! invalid or arbitrary input.
//!
//! Oracles are written from the spec, in `rust_decimal` arithmetic, never
//! by calling back into the crate's own helpers.

use std::str::FromStr;

use meterprice::{
    AmountDetails, Bucket, Charge, ChargeModel, Currency, DefinitionError, Exact, Outcome, Period,
    Usage, rate_json,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use rust_decimal::Decimal;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Values and how they are written in JSON
// ---------------------------------------------------------------------------

/// A decimal `m × 10^-s` built from an integer mantissa and a scale.
#[derive(Clone, Copy, Debug)]
struct Dec {
    m: i64,
    s: u32,
}

impl Dec {
    fn value(self) -> Decimal {
        Decimal::new(self.m, self.s)
    }
}

/// How a decimal amount is written: every form is one Lago accepts (§8.1),
/// or a JSON number (M14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// `"1.50"`
    Plain,
    /// `1.50` (a JSON number, M14)
    Number,
    /// `"150e-2"`
    Exponent,
    /// `" 1.50 "`
    Padded,
    /// `"+1.50"`
    Plus,
}

const STYLES: [Style; 5] = [
    Style::Plain,
    Style::Number,
    Style::Exponent,
    Style::Padded,
    Style::Plus,
];

/// A decimal amount of a definition, or (for mutations) raw JSON.
#[derive(Clone, Debug)]
enum Amt {
    Dec(Dec, Style),
    Raw(String),
}

impl Amt {
    fn plain(m: i64, s: u32) -> Self {
        Amt::Dec(Dec { m, s }, Style::Plain)
    }

    /// The value (a raw mutation has none and counts as 0).
    fn value(&self) -> Decimal {
        match self {
            Amt::Dec(d, _) => d.value(),
            Amt::Raw(_) => Decimal::ZERO,
        }
    }

    /// The JSON text; `force` overrides the style.
    fn json(&self, force: Option<Style>) -> String {
        let (d, style) = match self {
            Amt::Raw(r) => return r.clone(),
            Amt::Dec(d, st) => (*d, force.unwrap_or(*st)),
        };
        let plain = d.value().to_string();
        match style {
            Style::Plain => format!("\"{plain}\""),
            Style::Number => plain,
            Style::Exponent => format!("\"{}e-{}\"", d.m, d.s),
            Style::Padded => format!("\" {plain} \""),
            Style::Plus if d.m >= 0 => format!("\"+{plain}\""),
            Style::Plus => format!("\"{plain}\""),
        }
    }
}

/// One tier: `price` is `per_unit_amount` (graduated, volume) or `rate`
/// (graduated_percentage); `quoted` writes the bounds as numeric strings.
#[derive(Clone, Debug)]
struct TierDef {
    from: Decimal,
    to: Option<Decimal>,
    price: Amt,
    flat: Amt,
    quoted: bool,
}

/// Percentage properties; counts are raw JSON so mutations can break them.
#[derive(Clone, Debug)]
struct Pct {
    rate: Amt,
    fixed: Option<Amt>,
    free_events: Option<String>,
    free_total: Option<Amt>,
    min: Option<Amt>,
    max: Option<Amt>,
}

/// A charge definition as Lago properties.
#[derive(Clone, Debug)]
enum Def {
    Standard(Amt),
    Graduated(Vec<TierDef>),
    GraduatedPercentage(Vec<TierDef>),
    Package {
        amount: Amt,
        size: String,
        free: String,
    },
    Percentage(Pct),
    Volume(Vec<TierDef>),
    Dynamic,
}

fn field(out: &mut Vec<String>, key: &str, json: String) {
    out.push(format!("\"{key}\":{json}"));
}

fn object(fields: Vec<String>) -> String {
    format!("{{{}}}", fields.join(","))
}

fn bound_json(b: Option<Decimal>, quoted: bool) -> String {
    match b {
        None => "null".to_string(),
        Some(v) if quoted => format!("\"{v}\""),
        Some(v) => v.to_string(),
    }
}

fn tiers_json(tiers: &[TierDef], price_key: &str, force: Option<Style>) -> String {
    let items: Vec<String> = tiers
        .iter()
        .map(|t| {
            let mut f = Vec::new();
            field(&mut f, "from_value", bound_json(Some(t.from), t.quoted));
            field(&mut f, "to_value", bound_json(t.to, t.quoted));
            field(&mut f, price_key, t.price.json(force));
            field(&mut f, "flat_amount", t.flat.json(force));
            object(f)
        })
        .collect();
    format!("[{}]", items.join(","))
}

impl Def {
    fn name(&self) -> &'static str {
        match self {
            Def::Standard(_) => "standard",
            Def::Graduated(_) => "graduated",
            Def::GraduatedPercentage(_) => "graduated_percentage",
            Def::Package { .. } => "package",
            Def::Percentage(_) => "percentage",
            Def::Volume(_) => "volume",
            Def::Dynamic => "dynamic",
        }
    }

    /// The properties JSON object; `force` writes every amount in one style.
    fn props(&self, force: Option<Style>) -> String {
        let mut f = Vec::new();
        match self {
            Def::Standard(a) => field(&mut f, "amount", a.json(force)),
            Def::Graduated(t) => field(
                &mut f,
                "graduated_ranges",
                tiers_json(t, "per_unit_amount", force),
            ),
            Def::GraduatedPercentage(t) => field(
                &mut f,
                "graduated_percentage_ranges",
                tiers_json(t, "rate", force),
            ),
            Def::Volume(t) => field(
                &mut f,
                "volume_ranges",
                tiers_json(t, "per_unit_amount", force),
            ),
            Def::Package { amount, size, free } => {
                field(&mut f, "amount", amount.json(force));
                field(&mut f, "package_size", size.clone());
                field(&mut f, "free_units", free.clone());
            }
            Def::Percentage(p) => {
                field(&mut f, "rate", p.rate.json(force));
                if let Some(x) = &p.fixed {
                    field(&mut f, "fixed_amount", x.json(force));
                }
                if let Some(n) = &p.free_events {
                    field(&mut f, "free_units_per_events", n.clone());
                }
                if let Some(x) = &p.free_total {
                    field(&mut f, "free_units_per_total_aggregation", x.json(force));
                }
                if let Some(x) = &p.min {
                    field(&mut f, "per_transaction_min_amount", x.json(force));
                }
                if let Some(x) = &p.max {
                    field(&mut f, "per_transaction_max_amount", x.json(force));
                }
            }
            Def::Dynamic => {}
        }
        object(f)
    }

    fn charge_json(&self, force: Option<Style>) -> String {
        format!(
            r#"{{"charge_model":"{}","properties":{}}}"#,
            self.name(),
            self.props(force)
        )
    }

    fn tiers(&self) -> &[TierDef] {
        match self {
            Def::Graduated(t) | Def::GraduatedPercentage(t) | Def::Volume(t) => t,
            _ => &[],
        }
    }

    /// The finite `to_value`s, in order.
    fn tos(&self) -> Vec<Decimal> {
        self.tiers().iter().filter_map(|t| t.to).collect()
    }
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/// Non-negative prices: integer mantissa, scale ≤ 6, below 10^9.
fn price_dec() -> impl Strategy<Value = Dec> {
    prop_oneof![
        2 => (0i64..=100, 0u32..=2).prop_map(|(m, s)| Dec { m, s }),
        2 => (0i64..=1_000_000_000, 0u32..=6).prop_map(|(m, s)| Dec { m, s }),
        1 => Just(Dec { m: 0, s: 0 }),
    ]
}

fn style() -> impl Strategy<Value = Style> {
    prop::sample::select(STYLES.to_vec())
}

fn amt() -> impl Strategy<Value = Amt> {
    (price_dec(), style()).prop_map(|(d, s)| Amt::Dec(d, s))
}

/// Units: at most 4 decimals, below 10^6 (or small integers, often).
fn unit_dec() -> impl Strategy<Value = Dec> {
    prop_oneof![
        2 => (0i64..=10).prop_map(|m| Dec { m, s: 0 }),
        2 => (0i64..=200, 0u32..=1).prop_map(|(m, s)| Dec { m, s }),
        2 => (0i64..=10_000_000_000, 4u32..=4).prop_map(|(m, s)| Dec { m, s }),
        1 => (0i64..=1_000_000, 0u32..=4).prop_map(|(m, s)| Dec { m, s }),
    ]
}

/// Width of a tier (`to − from` > 0): mostly integers, sometimes 2 decimals.
fn width() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        4 => (1i64..=50).prop_map(|m| Decimal::new(m, 0)),
        2 => (1i64..=100_000).prop_map(|m| Decimal::new(m, 0)),
        1 => (1i64..=5000, 1u32..=2).prop_map(|(m, s)| Decimal::new(m, s)),
    ]
}

/// A bound chain valid under §8.2: the first `from` is 0 or 1; graduated
/// next `from` = previous `to` or `to + 1`, volume `to + 1` or `to + 2`;
/// `to > from`; the last `to` is null.
fn chain(volume: bool) -> impl Strategy<Value = Vec<(Decimal, Option<Decimal>)>> {
    (
        0i64..=1,
        prop::collection::vec((width(), any::<bool>()), 0..=4),
    )
        .prop_map(move |(start, spans)| {
            let mut from = Decimal::from(start);
            let mut out = Vec::with_capacity(spans.len() + 1);
            for (w, plus_one) in spans {
                let to = from + w;
                out.push((from, Some(to)));
                from = to + Decimal::from(i64::from(volume) + i64::from(plus_one));
            }
            out.push((from, None));
            out
        })
}

fn tiers(volume: bool) -> impl Strategy<Value = Vec<TierDef>> {
    chain(volume)
        .prop_flat_map(|c| {
            let n = c.len();
            (
                Just(c),
                prop::collection::vec((amt(), amt(), prop::bool::weighted(0.2)), n),
            )
        })
        .prop_map(|(c, prices)| {
            c.into_iter()
                .zip(prices)
                .map(|((from, to), (price, flat, quoted))| TierDef {
                    from,
                    to,
                    price,
                    flat,
                    quoted,
                })
                .collect()
        })
}

fn package_def() -> impl Strategy<Value = Def> {
    (
        amt(),
        prop_oneof![3 => 1u64..=10, 1 => 1u64..=1000],
        prop_oneof![2 => Just(0u64), 2 => 0u64..=20, 1 => 0u64..=1000],
    )
        .prop_map(|(amount, size, free)| Def::Package {
            amount,
            size: size.to_string(),
            free: free.to_string(),
        })
}

fn ordered(min: Option<Amt>, max: Option<Amt>) -> (Option<Amt>, Option<Amt>) {
    match (min, max) {
        (Some(a), Some(b)) if a.value() > b.value() => (Some(b), Some(a)),
        other => other,
    }
}

fn percentage_def() -> impl Strategy<Value = Def> {
    (
        amt(),
        prop::option::of(amt()),
        prop::option::of(1u64..=5),
        prop::option::of((unit_dec(), style()).prop_map(|(d, s)| Amt::Dec(d, s))),
        prop::option::of(amt()),
        prop::option::of(amt()),
    )
        .prop_map(|(rate, fixed, n, t, min, max)| {
            let (min, max) = ordered(min, max);
            Def::Percentage(Pct {
                rate,
                fixed,
                free_events: n.map(|n| n.to_string()),
                free_total: t,
                min,
                max,
            })
        })
}

/// Percentage with free units (small integer allowances, so events often
/// use them up exactly); `bounded`: at least one per-transaction bound,
/// else none (the plain path).
fn percentage_free_def(bounded: bool) -> impl Strategy<Value = Def> {
    (
        amt(),
        prop::option::of(amt()),
        prop::option::of(1u64..=5),
        prop::option::of(prop_oneof![
            3 => (1i64..=15).prop_map(|m| Amt::Dec(Dec { m, s: 0 }, Style::Plain)),
            1 => (unit_dec(), style()).prop_map(|(d, s)| Amt::Dec(d, s)),
        ]),
        prop::option::of(amt()),
        amt(),
    )
        .prop_map(move |(rate, fixed, n, t, min, max)| {
            let (min, max) = if bounded {
                ordered(min, Some(max))
            } else {
                (None, None)
            };
            Def::Percentage(Pct {
                rate,
                fixed,
                free_events: n.map(|n| n.to_string()),
                free_total: t,
                min,
                max,
            })
        })
}

/// Per-event values, often small integers (so free allowances run out
/// exactly), sometimes negative.
fn small_event_values() -> impl Strategy<Value = Vec<Decimal>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0i64..=6).prop_map(Decimal::from),
            2 => unit_dec().prop_map(Dec::value),
            1 => (-1_000i64..=0, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s)),
        ],
        0..=8,
    )
}

/// Any valid definition of the seven models.
fn any_def() -> impl Strategy<Value = Def> {
    prop_oneof![
        amt().prop_map(Def::Standard),
        tiers(false).prop_map(Def::Graduated),
        tiers(false).prop_map(Def::GraduatedPercentage),
        package_def(),
        percentage_def(),
        tiers(true).prop_map(Def::Volume),
        Just(Def::Dynamic),
    ]
}

/// The models whose amount is monotone in units.
fn monotone_def() -> impl Strategy<Value = Def> {
    prop_oneof![
        amt().prop_map(Def::Standard),
        tiers(false).prop_map(Def::Graduated),
        tiers(false).prop_map(Def::GraduatedPercentage),
        package_def(),
    ]
}

/// Units picked at random or next to a tier bound (`to ± 1`, `to ± 0.0001`,
/// `to`), resolved against a definition's bounds.
#[derive(Clone, Debug)]
struct UnitsPick {
    random: Dec,
    at: Index,
    mode: u8,
    negative: bool,
}

fn units_pick(signed: bool) -> impl Strategy<Value = UnitsPick> {
    (
        unit_dec(),
        any::<Index>(),
        0u8..8,
        prop::bool::weighted(if signed { 0.15 } else { 0.0 }),
    )
        .prop_map(|(random, at, mode, negative)| UnitsPick {
            random,
            at,
            mode,
            negative,
        })
}

impl UnitsPick {
    fn resolve(&self, def: &Def) -> Decimal {
        const OFFSETS: [(i64, u32); 5] = [(-1, 0), (-1, 4), (0, 0), (1, 4), (1, 0)];
        let tos = def.tos();
        let u = if self.mode < 3 || tos.is_empty() {
            self.random.value()
        } else {
            let (m, s) = OFFSETS[usize::from(self.mode - 3)];
            (tos[self.at.index(tos.len())] + Decimal::new(m, s)).max(Decimal::ZERO)
        };
        if self.negative { -u } else { u }
    }
}

/// Per-event values (≤ 4 decimals), sometimes negative.
fn event_values() -> impl Strategy<Value = Vec<Decimal>> {
    prop::collection::vec(
        prop_oneof![
            4 => unit_dec().prop_map(Dec::value),
            1 => (-1_000_000i64..=0, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s)),
        ],
        0..=8,
    )
}

fn currency_code() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["EUR", "JPY", "KWD"])
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn ex(d: Decimal) -> Exact {
    Exact::from(d)
}

fn eur() -> Currency {
    Currency::from_code("EUR").expect("EUR is a currency")
}

fn build(def: &Def) -> Result<ChargeModel, TestCaseError> {
    ChargeModel::from_lago_json(def.name(), &def.props(None)).map_err(|e| {
        TestCaseError::fail(format!(
            "valid definition rejected: {} {} -> {e:?}",
            def.name(),
            def.props(None)
        ))
    })
}

fn apply(model: &ChargeModel, usage: &Usage) -> Result<meterprice::ModelOutcome, TestCaseError> {
    model
        .apply(usage, eur())
        .map_err(|e| TestCaseError::fail(format!("apply failed on {usage:?}: {e}")))
}

fn amount_at(model: &ChargeModel, units: Decimal) -> Result<Exact, TestCaseError> {
    Ok(apply(model, &Usage::new(ex(units)))?.amount)
}

/// Index of the tier whose span `(to_{i-1}, to_i]` holds `u`; the first
/// for `u ≤ 0` (decisions.md M1).
fn matched_tier(tiers: &[TierDef], u: Decimal) -> usize {
    if u <= Decimal::ZERO {
        return 0;
    }
    tiers
        .iter()
        .position(|t| t.to.is_none_or(|to| u <= to))
        .unwrap_or(tiers.len() - 1)
}

/// The one tier rule (M1) for graduated(-percentage): every tier up to the
/// matched one, with `min(U, to_i) − to_{i-1}` units (floored at 0 after
/// the first tier). Returns (units per emitted tier, amount).
fn graduated_oracle(tiers: &[TierDef], u: Decimal, percent: bool) -> (Vec<Decimal>, Decimal) {
    let last = matched_tier(tiers, u);
    let mut lower = Decimal::ZERO;
    let mut units = Vec::new();
    let mut amount = Decimal::ZERO;
    for (i, t) in tiers.iter().take(last + 1).enumerate() {
        let upper = t.to.map_or(u, |to| to.min(u));
        let mut n = upper - lower;
        if i > 0 && n < Decimal::ZERO {
            n = Decimal::ZERO;
        }
        let priced = if percent {
            n * t.price.value() / Decimal::ONE_HUNDRED
        } else {
            n * t.price.value()
        };
        amount += priced + t.flat.value();
        units.push(n);
        if let Some(to) = t.to {
            lower = to;
        }
    }
    (units, amount)
}

/// The M5 per-transaction walk, written from decisions.md: returns the
/// total and the number of paying events.
fn per_transaction_oracle(p: &Pct, values: &[Decimal]) -> (Decimal, u64) {
    let rate = p.rate.value();
    let fixed = p.fixed.as_ref().map_or(Decimal::ZERO, Amt::value);
    let n: Option<u64> = p.free_events.as_ref().and_then(|s| s.parse().ok());
    let t = p
        .free_total
        .as_ref()
        .map(Amt::value)
        .filter(|t| !t.is_zero());
    let min = p.min.as_ref().map(Amt::value);
    let max = p.max.as_ref().map(Amt::value);
    // E free events left (None: unlimited), R free units left (None: unlimited).
    let mut e: Option<u64> = if n.is_none() && t.is_none() {
        Some(0)
    } else {
        n
    };
    let mut r = t;
    let (mut total, mut paying) = (Decimal::ZERO, 0u64);
    for &v in values {
        let mut paid = v;
        if e != Some(0) {
            if r.is_none_or(|r| v < r) {
                e = e.map(|e| e - 1);
                r = r.map(|r| r - v);
                continue;
            }
            paid = v - r.unwrap_or(Decimal::ZERO);
            r = Some(Decimal::ZERO);
            e = Some(0);
        }
        let mut x = paid * rate / Decimal::ONE_HUNDRED + fixed;
        if let Some(lo) = min.filter(|lo| x < *lo) {
            x = lo;
        } else if let Some(hi) = max.filter(|hi| x > *hi) {
            x = hi;
        }
        total += x;
        paying += 1;
    }
    (total, paying)
}

/// Lago's plain percentage path (semantics.md §2.5, running totals of a sum
/// metric per §1.4; M5 keeps it): returns the amount.
fn plain_percentage_oracle(p: &Pct, values: &[Decimal]) -> Decimal {
    let rate = p.rate.value();
    let fixed = p.fixed.as_ref().map_or(Decimal::ZERO, Amt::value);
    let n: u64 = p
        .free_events
        .as_ref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let t = p.free_total.as_ref().map_or(Decimal::ZERO, Amt::value);
    let units: Decimal = values.iter().copied().sum();
    let count = values.len() as u64;
    // running_total: the first N cumulative sums; else, with T, cumulative
    // sums stopping after the first one that exceeds T; else empty.
    let mut rt = Vec::new();
    let mut acc = Decimal::ZERO;
    if n > 0 {
        for v in values.iter().take(n as usize) {
            acc += *v;
            rt.push(acc);
        }
    } else if t > Decimal::ZERO {
        for v in values {
            acc += *v;
            rt.push(acc);
            if acc > t {
                break;
            }
        }
    }
    let last = rt.last().copied().unwrap_or(Decimal::ZERO);
    let free_value = if last.is_zero() {
        Decimal::ZERO
    } else if n > 0 && (n as usize) < rt.len() {
        rt[n as usize - 1]
    } else if t.is_zero() || last <= t {
        last
    } else {
        t
    };
    let under_t = rt.iter().filter(|e| **e < t).count() as u64;
    let free_count = match (n, under_t) {
        (0, c) => c,
        (n, 0) => n,
        (n, c) => n.min(c),
    };
    let percentage_amount = if free_value > units {
        Decimal::ZERO
    } else {
        (units - free_value) * rate / Decimal::ONE_HUNDRED
    };
    let fixed_total = if units.is_zero() || free_count >= count {
        Decimal::ZERO
    } else {
        Decimal::from(count - free_count) * fixed
    };
    percentage_amount + fixed_total
}

/// The usage a definition is priced with in the fee-level properties.
fn usage_for(def: &Def, units: Decimal, values: &[Decimal], cents: Dec) -> Usage {
    match def {
        Def::Percentage(_) => Usage::new(ex(values.iter().copied().sum()))
            .with_events_count(values.len() as u64)
            .with_event_values(values.iter().copied().map(ex).collect()),
        Def::Dynamic => Usage::new(ex(units))
            .with_events_count(1)
            .with_precise_total_amount_cents(ex(cents.value())),
        _ => Usage::new(ex(units)).with_events_count(1),
    }
}

/// The `usage` object of a rating request; decimals as numbers or strings.
fn usage_json(def: &Def, units: Decimal, values: &[Decimal], cents: Dec, numbers: bool) -> String {
    let d = |x: Decimal| {
        if numbers {
            x.to_string()
        } else {
            format!("\"{x}\"")
        }
    };
    let mut f = Vec::new();
    match def {
        Def::Percentage(_) => {
            field(&mut f, "units", d(values.iter().copied().sum()));
            field(&mut f, "events_count", values.len().to_string());
            let vs: Vec<String> = values.iter().map(|v| d(*v)).collect();
            field(&mut f, "event_values", format!("[{}]", vs.join(",")));
        }
        Def::Dynamic => {
            field(&mut f, "units", d(units));
            field(&mut f, "events_count", "1".into());
            field(&mut f, "precise_total_amount_cents", d(cents.value()));
        }
        _ => {
            field(&mut f, "units", d(units));
            field(&mut f, "events_count", "1".into());
        }
    }
    object(f)
}

fn rate_line(line: &str) -> (Outcome, String) {
    let mut out = Vec::new();
    let outcome = rate_json(line, &mut out, false);
    let text = String::from_utf8(out).expect("rate_json writes UTF-8");
    (outcome, text)
}

/// A result as a `Value` (for results whose echoed `id` is a plain number).
fn value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("result is not JSON {text:?}: {e}"))
}

/// The top level of a result, read without converting numbers (an echoed
/// `id` may be any JSON number, e.g. `1e400`).
#[derive(serde::Deserialize)]
struct Shape<'a> {
    #[serde(borrow, default)]
    fees: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a serde_json::value::RawValue>,
}

/// The re-rendered properties of a model, from its public accessors. The
/// percentage free units and per-transaction bounds have no public
/// accessor, so they are carried over from the original definition.
fn render_model(model: &ChargeModel, original: &Def) -> Result<String, TestCaseError> {
    fn ranges<P>(
        key: &str,
        tiers: &[meterprice::Tier<P>],
        prices: impl Fn(&P) -> [(&'static str, Exact); 2],
    ) -> String {
        let items: Vec<String> = tiers
            .iter()
            .map(|t| {
                let mut f = Vec::new();
                field(&mut f, "from_value", t.from_value.to_string());
                field(
                    &mut f,
                    "to_value",
                    t.to_value.map_or("null".into(), |v| v.to_string()),
                );
                for (k, v) in prices(&t.price) {
                    field(&mut f, k, format!("\"{v}\""));
                }
                object(f)
            })
            .collect();
        format!("{{\"{key}\":[{}]}}", items.join(","))
    }
    Ok(match model {
        ChargeModel::Standard(s) => format!("{{\"amount\":\"{}\"}}", s.amount()),
        ChargeModel::Graduated(g) => ranges("graduated_ranges", g.ranges().as_slice(), |p| {
            [
                ("per_unit_amount", p.per_unit_amount),
                ("flat_amount", p.flat_amount),
            ]
        }),
        ChargeModel::GraduatedPercentage(g) => {
            ranges("graduated_percentage_ranges", g.ranges().as_slice(), |p| {
                [("rate", p.rate), ("flat_amount", p.flat_amount)]
            })
        }
        ChargeModel::Volume(v) => ranges("volume_ranges", v.ranges().as_slice(), |p| {
            [
                ("per_unit_amount", p.per_unit_amount),
                ("flat_amount", p.flat_amount),
            ]
        }),
        ChargeModel::Package(p) => format!(
            "{{\"amount\":\"{}\",\"package_size\":{},\"free_units\":{}}}",
            p.amount(),
            p.package_size(),
            p.free_units()
        ),
        ChargeModel::Percentage(p) => {
            let Def::Percentage(orig) = original else {
                return Err(TestCaseError::fail(
                    "percentage model from a non-percentage",
                ));
            };
            let rest = Pct {
                rate: Amt::Raw(format!("\"{}\"", p.rate())),
                fixed: Some(Amt::Raw(format!("\"{}\"", p.fixed_amount()))),
                ..orig.clone()
            };
            Def::Percentage(rest).props(None)
        }
        ChargeModel::Dynamic => "{}".into(),
        other => return Err(TestCaseError::fail(format!("unknown model {other:?}"))),
    })
}

/// A deliberately broken copy of a valid definition, with the Lago field
/// and code its single violation must carry.
fn mutate(def: &Def, at: Index, kind: u8) -> (Def, &'static str, &'static str) {
    let neg = Amt::plain(-(i64::from(kind) + 1), u32::from(kind % 3));
    let mut d = def.clone();
    let tier_field = |d: &Def| match d {
        Def::Graduated(_) => ("graduated_ranges", "invalid_graduated_ranges"),
        Def::GraduatedPercentage(_) => (
            "graduated_percentage_ranges",
            "invalid_graduated_percentage_ranges",
        ),
        _ => ("volume_ranges", "invalid_volume_ranges"),
    };
    match &mut d {
        Def::Standard(a) => {
            *a = if kind.is_multiple_of(2) {
                neg
            } else {
                Amt::Raw("\"12abc\"".into())
            };
            (d, "amount", "invalid_amount")
        }
        Def::Graduated(t) | Def::GraduatedPercentage(t) | Def::Volume(t) => {
            let n = t.len();
            let i = at.index(n);
            let pct = matches!(def, Def::GraduatedPercentage(_));
            let volume = matches!(def, Def::Volume(_));
            match kind % 6 {
                0 => {
                    t[i].price = neg;
                    if pct {
                        (d, "rate", "invalid_rate")
                    } else {
                        (d, "per_unit_amount", "invalid_amount")
                    }
                }
                1 => {
                    t[i].flat = Amt::Raw("\"-0.5\"".into());
                    (d, "flat_amount", "invalid_amount")
                }
                2 if n >= 2 => {
                    // A gap one unit too wide (graduated: to + 2; volume: to + 3).
                    let j = 1 + at.index(n - 1);
                    let prev = t[j - 1].to.expect("not last");
                    t[j].from = prev + Decimal::from(2 + i64::from(volume));
                    let f = tier_field(&d);
                    (d, f.0, f.1)
                }
                3 if n >= 2 && volume => {
                    // Adjacent volume tiers (from = previous to) are invalid.
                    let j = 1 + at.index(n - 1);
                    t[j].from = t[j - 1].to.expect("not last");
                    let f = tier_field(&d);
                    (d, f.0, f.1)
                }
                4 => {
                    // The first tier starts at 2.
                    t[0].from = Decimal::from(2);
                    let f = tier_field(&d);
                    (d, f.0, f.1)
                }
                _ => {
                    // The last tier is not open-ended.
                    let last = &mut t[n - 1];
                    last.to = Some(last.from + Decimal::from(5));
                    let f = tier_field(&d);
                    (d, f.0, f.1)
                }
            }
        }
        Def::Package { amount, size, free } => match kind % 5 {
            0 => {
                *size = "0".into();
                (d, "package_size", "invalid_package_size")
            }
            1 => {
                *size = "\"10\"".into();
                (d, "package_size", "invalid_package_size")
            }
            2 => {
                *free = "-1".into();
                (d, "free_units", "invalid_free_units")
            }
            3 => {
                *free = "1.5".into();
                (d, "free_units", "invalid_free_units")
            }
            _ => {
                *amount = neg;
                (d, "amount", "invalid_amount")
            }
        },
        Def::Percentage(p) => match kind % 6 {
            0 => {
                p.rate = neg;
                (d, "rate", "invalid_rate")
            }
            1 => {
                p.fixed = Some(neg);
                (d, "fixed_amount", "invalid_fixed_amount")
            }
            2 => {
                p.free_events = Some("0".into());
                (d, "free_units_per_events", "invalid_free_units_per_events")
            }
            3 => {
                p.free_total = Some(neg);
                (
                    d,
                    "free_units_per_total_aggregation",
                    "invalid_free_units_per_total_aggregation",
                )
            }
            4 => {
                p.min = Some(neg);
                p.max = None;
                (d, "per_transaction_min_amount", "invalid_amount")
            }
            _ => {
                p.min = Some(Amt::plain(5, 0));
                p.max = Some(Amt::plain(49999, 4));
                (
                    d,
                    "per_transaction_max_amount",
                    "per_transaction_max_lower_than_per_transaction_min",
                )
            }
        },
        Def::Dynamic => unreachable!("dynamic has no property to break"),
    }
}

/// A full rating request (charge, usage, sometimes taxes, minimum, pricing
/// unit, projection or a pay-in-advance event), for the no-panic property.
fn request_json(
    def: &Def,
    currency: &str,
    units: Decimal,
    values: &[Decimal],
    cents: Dec,
    extras: u8,
) -> String {
    let mut charge = Vec::new();
    field(&mut charge, "charge_model", format!("\"{}\"", def.name()));
    field(&mut charge, "properties", def.props(None));
    if extras & 1 != 0 {
        field(
            &mut charge,
            "taxes",
            r#"[{"code":"vat","rate":"20"},{"code":"x","rate":"5.5"}]"#.into(),
        );
    }
    if extras & 2 != 0 && extras & 8 == 0 {
        field(&mut charge, "min_amount_cents", "100000".into());
    }
    if extras & 4 != 0 {
        field(
            &mut charge,
            "applied_pricing_unit",
            r#"{"code":"credits","conversion_rate":"0.37"}"#.into(),
        );
    }
    let in_advance = extras & 8 != 0;
    if in_advance {
        field(&mut charge, "pay_in_advance", "true".into());
    }
    let mut f = Vec::new();
    field(&mut f, "id", "1".into());
    field(&mut f, "currency", format!("\"{currency}\""));
    field(&mut f, "charge", object(charge));
    field(
        &mut f,
        "usage",
        usage_json(def, units, values, cents, false),
    );
    if in_advance {
        field(
            &mut f,
            "event",
            format!("{{\"value\":\"{}\"}}", units.abs()),
        );
    }
    if extras & 16 != 0 {
        field(
            &mut f,
            "period",
            r#"{"duration_days":31,"billed_days":17,"elapsed_days":12}"#.into(),
        );
    }
    object(f)
}

/// JSON text that breaks types, ranges and grammar.
const NASTY: &[&str] = &[
    "null",
    "true",
    "-1",
    "0",
    "-0",
    "1e400",
    "-1e400",
    "1e-400",
    "79228162514264337593543950336",
    "-79228162514264337593543950336",
    "0.00000000000000000000000000001",
    "18446744073709551616",
    "-9223372036854775809",
    "99999999999999999999999999.9999",
    "1.5",
    "\"\"",
    "\" \"",
    "\"-1\"",
    "\"abc\"",
    "\"1e400\"",
    "\"NaN\"",
    "\"Infinity\"",
    "\"1__0\"",
    "\"\\u0000\"",
    "\"custom\"",
    "\"volume\"",
    "\"XXX\"",
    "[]",
    "{}",
    "[null]",
    "{\"a\":1}",
    "[\"1\",\"-1\"]",
];

/// Replaces one node (chosen by `at`) of a JSON document with `nasty`, or
/// removes it from its object.
fn mutate_value(text: &str, at: Index, nasty: &str, remove: bool) -> String {
    const MARK: &str = "__meterprice_mutation__";
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    // Visit nodes in pre-order; act on the `k`-th.
    fn act(v: &mut Value, k: &mut usize, remove: bool) -> bool {
        match v {
            Value::Array(a) => {
                for x in a.iter_mut() {
                    if *k == 0 {
                        *x = Value::String(MARK.into());
                        return true;
                    }
                    *k -= 1;
                    if act(x, k, remove) {
                        return true;
                    }
                }
            }
            Value::Object(o) => {
                let keys: Vec<String> = o.keys().cloned().collect();
                for key in keys {
                    if *k == 0 {
                        if remove {
                            o.remove(&key);
                        } else {
                            o.insert(key, Value::String(MARK.into()));
                        }
                        return true;
                    }
                    *k -= 1;
                    if act(o.get_mut(&key).expect("key exists"), k, remove) {
                        return true;
                    }
                }
            }
            _ => {}
        }
        false
    }
    let n = count(&v) - 1;
    if n == 0 {
        return text.to_string();
    }
    let mut k = at.index(n);
    act(&mut v, &mut k, remove);
    v.to_string().replace(&format!("\"{MARK}\""), nasty)
}

/// Character-level edits: delete, insert or replace at chosen places.
fn mutate_text(text: &str, edits: &[(Index, u8, Index)]) -> String {
    const TOKENS: &[&str] = &[
        "", "{", "}", "[", "]", "\"", ",", ":", "-", "0", "e", ".", "null", "1e999", "\\", "\u{0}",
        "é",
    ];
    let mut chars: Vec<char> = text.chars().collect();
    for (at, op, tok) in edits {
        let pos = at.index(chars.len() + 1);
        let token: Vec<char> = TOKENS[tok.index(TOKENS.len())].chars().collect();
        match op % 3 {
            0 if pos < chars.len() => {
                chars.remove(pos);
            }
            1 => {
                chars.splice(pos..pos, token);
            }
            _ if pos < chars.len() => {
                chars.splice(pos..=pos, token);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn check_result(outcome: Outcome, text: &str) -> Result<(), TestCaseError> {
    let shape: Shape<'_> = serde_json::from_str(text)
        .map_err(|e| TestCaseError::fail(format!("result is not one JSON object {text:?}: {e}")))?;
    let (has_fees, has_error) = (shape.fees.is_some(), shape.error.is_some());
    prop_assert!(
        has_fees != has_error,
        "result must have exactly one of fees/error: {}",
        text
    );
    prop_assert_eq!(
        outcome == Outcome::Priced,
        has_fees,
        "Outcome {:?} disagrees with result {}",
        outcome,
        text
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Never write regression files next to the test sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every generated valid definition (§8.2 bound chains, non-negative
    /// decimal amounts in any accepted form, JSON numbers per M14) validates,
    /// as a model and as a charge in EUR, JPY and KWD.
    #[test]
    fn valid_definitions_validate(def in any_def(), cur in currency_code()) {
        let model = ChargeModel::from_lago_json(def.name(), &def.props(None));
        prop_assert!(model.is_ok(), "{} {} -> {:?}", def.name(), def.props(None), model);
        let charge = Charge::from_lago_json(cur, &def.charge_json(None));
        prop_assert!(charge.is_ok(), "{} -> {:?}", def.charge_json(None), charge);
        let (charge, model) = (charge.unwrap(), model.unwrap());
        prop_assert_eq!(charge.model(), &model);
    }

    /// A valid definition broken in one place (a negative or non-numeric
    /// price, a gap or adjacency in the bounds, a first tier from 2, a
    /// closed last tier, package_size 0 or a string, a fractional or negative
    /// free_units, free_units_per_events 0, min > max) fails with exactly
    /// one violation carrying Lago's field and code.
    #[test]
    fn mutated_definitions_fail_with_lago_field_and_code(
        def in any_def().prop_filter("dynamic has nothing to break", |d| !matches!(d, Def::Dynamic)),
        at in any::<Index>(),
        kind in 0u8..30,
    ) {
        let (bad, want_field, want_code) = mutate(&def, at, kind);
        let props = bad.props(None);
        match ChargeModel::from_lago_json(bad.name(), &props) {
            Err(DefinitionError::Invalid(v)) => {
                let got: Vec<(&str, &str)> =
                    v.violations.iter().map(|x| (x.field.as_str(), x.code)).collect();
                prop_assert_eq!(
                    got,
                    vec![(want_field, want_code)],
                    "{} {} -> {:?}",
                    bad.name(),
                    props,
                    v.violations
                );
            }
            other => prop_assert!(
                false,
                "expected a validation error ({}, {}) for {} {}, got {:?}",
                want_field,
                want_code,
                bad.name(),
                props,
                other
            ),
        }
    }

    /// A definition survives a JSON round trip: properties →
    /// `ChargeModel::from_lago_json` → properties re-rendered from the
    /// model's public accessors → `from_lago_json` gives an equal model.
    #[test]
    fn definition_round_trips_through_json(def in any_def()) {
        let model = build(&def)?;
        let again = render_model(&model, &def)?;
        let back = ChargeModel::from_lago_json(def.name(), &again);
        prop_assert!(back.is_ok(), "re-rendered {} rejected: {:?}", again, back);
        prop_assert_eq!(&back.unwrap(), &model, "original {}, re-rendered {}", def.props(None), again);
    }

    /// standard, graduated, graduated_percentage and package: with
    /// non-negative prices and `0 ≤ u1 ≤ u2`, `0 ≤ amount(u1) ≤ amount(u2)`.
    #[test]
    fn amount_is_non_negative_and_non_decreasing_in_units(
        def in monotone_def(),
        a in units_pick(false),
        b in units_pick(false),
    ) {
        let model = build(&def)?;
        let (ua, ub) = (a.resolve(&def), b.resolve(&def));
        let (u1, u2) = (ua.min(ub), ua.max(ub));
        let (x1, x2) = (amount_at(&model, u1)?, amount_at(&model, u2)?);
        prop_assert!(x1 >= Exact::ZERO, "{} {}: amount({}) = {} < 0", def.name(), def.props(None), u1, x1);
        prop_assert!(
            x1 <= x2,
            "{} {}: amount({}) = {} > amount({}) = {}",
            def.name(), def.props(None), u1, x1, u2, x2
        );
    }

    /// standard: amount = units × amount, exactly (any sign of units).
    #[test]
    fn standard_amount_is_units_times_price(p in amt(), u in units_pick(true)) {
        let def = Def::Standard(p.clone());
        let units = u.resolve(&def);
        let got = amount_at(&build(&def)?, units)?;
        prop_assert_eq!(got, ex(units * p.value()), "{} × {}", units, p.value());
    }

    /// graduated and graduated_percentage (units ≥ 0): the amount is the sum
    /// of the detail lines' `total_with_flat_amount`, each line is
    /// `units × price (÷ 100) + flat`, and the lines' units add up to the
    /// usage units.
    #[test]
    fn graduated_amount_is_the_sum_of_its_detail_lines(
        pct in any::<bool>(),
        t in tiers(false),
        u in units_pick(false),
    ) {
        let def = if pct { Def::GraduatedPercentage(t) } else { Def::Graduated(t) };
        let units = u.resolve(&def);
        let out = apply(&build(&def)?, &Usage::new(ex(units)))?;
        let (totals, line_units, products): (Vec<Exact>, Vec<Exact>, Vec<(Exact, Exact)>) =
            match &out.details {
                AmountDetails::Graduated(lines) => (
                    lines.iter().map(|l| l.total_with_flat_amount).collect(),
                    lines.iter().map(|l| l.units).collect(),
                    lines
                        .iter()
                        .map(|l| {
                            let p = l.units.checked_mul(l.per_unit_amount).unwrap();
                            (l.total_with_flat_amount, p.checked_add(l.flat_unit_amount).unwrap())
                        })
                        .collect(),
                ),
                AmountDetails::GraduatedPercentage(lines) => (
                    lines.iter().map(|l| l.total_with_flat_amount).collect(),
                    lines.iter().map(|l| l.units).collect(),
                    lines
                        .iter()
                        .map(|l| {
                            let p = l.units.checked_mul(l.rate).unwrap()
                                .checked_div(Exact::from(100u32)).unwrap();
                            (l.total_with_flat_amount, p.checked_add(l.flat_unit_amount).unwrap())
                        })
                        .collect(),
                ),
                other => return Err(TestCaseError::fail(format!("wrong details {other:?}"))),
            };
        let sum = totals.iter().try_fold(Exact::ZERO, |a, x| a.checked_add(*x)).unwrap();
        prop_assert_eq!(out.amount, sum, "{} U={}: amount vs Σ total_with_flat_amount", def.props(None), units);
        let usum = line_units.iter().try_fold(Exact::ZERO, |a, x| a.checked_add(*x)).unwrap();
        prop_assert_eq!(usum, ex(units), "{} U={}: Σ line units {:?}", def.props(None), units, line_units);
        for (i, (total, expect)) in products.iter().enumerate() {
            prop_assert_eq!(total, expect, "{} U={}: line {}", def.props(None), units, i);
        }
    }

    /// graduated and graduated_percentage follow the one tier rule (M1),
    /// for any sign of units: lines for every tier up to the one whose span
    /// `(to_{i-1}, to_i]` holds U, with `min(U, to_i) − to_{i-1}` units.
    #[test]
    fn graduated_follows_the_one_tier_rule(
        pct in any::<bool>(),
        t in tiers(false),
        u in units_pick(true),
    ) {
        let def = if pct { Def::GraduatedPercentage(t.clone()) } else { Def::Graduated(t.clone()) };
        let units = u.resolve(&def);
        let out = apply(&build(&def)?, &Usage::new(ex(units)))?;
        let (want_units, want_amount) = graduated_oracle(&t, units, pct);
        let got_units: Vec<Exact> = match &out.details {
            AmountDetails::Graduated(lines) => lines.iter().map(|l| l.units).collect(),
            AmountDetails::GraduatedPercentage(lines) => lines.iter().map(|l| l.units).collect(),
            other => return Err(TestCaseError::fail(format!("wrong details {other:?}"))),
        };
        let want: Vec<Exact> = want_units.iter().copied().map(ex).collect();
        prop_assert_eq!(&got_units, &want, "{} U={}: units per tier", def.props(None), units);
        prop_assert_eq!(out.amount, ex(want_amount), "{} U={}: amount", def.props(None), units);
    }

    /// volume: amount = U × price + flat of the single tier whose span
    /// `(to_{i-1}, to_i]` holds U (U ≤ 0: the first tier), per M1; the
    /// details carry that tier's flat amount and `U × price`.
    #[test]
    fn volume_amount_is_units_times_the_matched_tier(t in tiers(true), u in units_pick(true)) {
        let def = Def::Volume(t.clone());
        let units = u.resolve(&def);
        let out = apply(&build(&def)?, &Usage::new(ex(units)))?;
        let tier = &t[matched_tier(&t, units)];
        let per_unit_total = units * tier.price.value();
        prop_assert_eq!(
            out.amount,
            ex(per_unit_total + tier.flat.value()),
            "{} U={}: expected tier from {} to {:?}",
            def.props(None), units, tier.from, tier.to
        );
        match &out.details {
            AmountDetails::Volume(d) => {
                prop_assert_eq!(d.flat_unit_amount, ex(tier.flat.value()), "flat_unit_amount");
                prop_assert_eq!(d.per_unit_total_amount, ex(per_unit_total), "per_unit_total_amount");
            }
            other => return Err(TestCaseError::fail(format!("wrong details {other:?}"))),
        }
    }

    /// package: amount = ceil(paid / package_size) × amount with
    /// paid = units − free_units, and 0 when paid ≤ 0 (any sign of units).
    #[test]
    fn package_amount_is_started_packages_times_price(def in package_def(), u in units_pick(true)) {
        let Def::Package { amount, size, free } = &def else { unreachable!() };
        let (size, free): (i128, i128) = (size.parse().unwrap(), free.parse().unwrap());
        let units = u.resolve(&def);
        let got = amount_at(&build(&def)?, units)?;
        let paid = units - Decimal::from_i128_with_scale(free, 0);
        let want = if paid <= Decimal::ZERO {
            Decimal::ZERO
        } else {
            // Exact integer ceiling on paid × 10^4 (units carry ≤ 4 decimals).
            let scaled = (paid * Decimal::from(10_000)).normalize();
            prop_assert!(scaled.fract().is_zero(), "units with more than 4 decimals: {}", units);
            let p = scaled.trunc().mantissa() / 10i128.pow(scaled.scale());
            let d = size * 10_000;
            Decimal::from_i128_with_scale((p + d - 1) / d, 0) * amount.value()
        };
        prop_assert_eq!(got, ex(want), "{} U={}", def.props(None), units);
    }

    /// percentage with per-transaction min and max both set and no free
    /// units: every event pays, so events × min ≤ amount ≤ events × max.
    #[test]
    fn percentage_min_max_bound_the_total(
        rate in amt(),
        fixed in prop::option::of(amt()),
        lo in amt(),
        hi in amt(),
        values in event_values(),
    ) {
        let (min, max) = ordered(Some(lo), Some(hi));
        let p = Pct { rate, fixed, free_events: None, free_total: None, min, max };
        let (min, max) = (p.min.as_ref().unwrap().value(), p.max.as_ref().unwrap().value());
        let def = Def::Percentage(p);
        let usage = usage_for(&def, Decimal::ZERO, &values, Dec { m: 0, s: 0 });
        let got = apply(&build(&def)?, &usage)?.amount;
        let n = Decimal::from(values.len() as u64);
        prop_assert!(ex(n * min) <= got, "{} values {:?}: {} < {} × {}", def.props(None), values, got, n, min);
        prop_assert!(got <= ex(n * max), "{} values {:?}: {} > {} × {}", def.props(None), values, got, n, max);
    }

    /// percentage per-transaction path with free units (M5): the total is
    /// the M5 walk's (first N events / first T units free, the first event
    /// that does not fit pays for what exceeds T, each paying event clamped
    /// to [min, max]), so paid events × min ≤ amount ≤ paid events × max.
    #[test]
    fn percentage_per_transaction_follows_m5(
        def in percentage_free_def(true),
        values in small_event_values(),
    ) {
        let Def::Percentage(p) = &def else { unreachable!() };
        let usage = usage_for(&def, Decimal::ZERO, &values, Dec { m: 0, s: 0 });
        let got = apply(&build(&def)?, &usage)?.amount;
        let (want, paying) = per_transaction_oracle(p, &values);
        let k = Decimal::from(paying);
        if let (Some(lo), Some(hi)) = (&p.min, &p.max) {
            prop_assert!(ex(k * lo.value()) <= got && got <= ex(k * hi.value()),
                "{} values {:?}: {} outside {} paid events × [{}, {}]",
                def.props(None), values, got, paying, lo.value(), hi.value());
        }
        prop_assert_eq!(got, ex(want), "{} values {:?}", def.props(None), values);
    }

    /// percentage without per-transaction bounds is Lago's plain path
    /// (§2.5): `(U − free units) × rate / 100` plus the fixed fee of every
    /// paid event, the free units and free events read from the running
    /// totals (§1.4) with the strict `<` of Q12.
    #[test]
    fn percentage_plain_path_follows_lago(
        def in percentage_free_def(false),
        values in small_event_values(),
    ) {
        let Def::Percentage(p) = &def else { unreachable!() };
        let usage = usage_for(&def, Decimal::ZERO, &values, Dec { m: 0, s: 0 });
        let got = apply(&build(&def)?, &usage)?.amount;
        prop_assert_eq!(got, ex(plain_percentage_oracle(p, &values)), "{} values {:?}", def.props(None), values);
    }

    /// Fee level (`Charge::rate`, EUR/JPY/KWD, every model): the fee's
    /// `amount_cents` is within half a minor unit of `amount × 10^exponent`,
    /// `precise_amount_cents` is that product exactly, and the fee is the
    /// model amount clamped at 0 (§4.2).
    #[test]
    fn fee_cents_are_the_amount_rounded_at_the_exponent(
        def in any_def(),
        cur in currency_code(),
        u in units_pick(true),
        values in event_values(),
        cents in (-1_000_000_000i64..=1_000_000_000, 0u32..=6).prop_map(|(m, s)| Dec { m, s }),
    ) {
        let currency = Currency::from_code(cur).unwrap();
        let charge = Charge::from_lago_json(cur, &def.charge_json(None))
            .map_err(|e| TestCaseError::fail(format!("{} -> {e:?}", def.charge_json(None))))?;
        let usage = usage_for(&def, u.resolve(&def), &values, cents);
        let fees = charge
            .rate(&[Bucket::new(usage.clone())], &Period::full(30))
            .map_err(|e| TestCaseError::fail(format!("rate failed: {e}")))?;
        let fee = &fees.fees[0];
        let model = charge.model().apply(&usage, currency).unwrap().amount;
        let expect = if model < Exact::ZERO || usage.units < Exact::ZERO { Exact::ZERO } else { model };
        prop_assert_eq!(fee.amount, expect, "{} {:?}: fee amount", def.charge_json(None), usage);
        let scale = Exact::from(10u64.pow(currency.exponent()));
        let scaled = fee.amount.checked_mul(scale).unwrap();
        prop_assert_eq!(fee.precise_amount_cents, scaled, "precise_amount_cents");
        let diff = scaled.checked_sub(Exact::try_from(fee.amount_cents).unwrap()).unwrap();
        let half = Exact::from_str("0.5").unwrap();
        prop_assert!(
            diff <= half && -diff <= half,
            "{} {}: amount {} → amount_cents {} (off by {})",
            cur, def.charge_json(None), fee.amount, fee.amount_cents, diff
        );
        prop_assert!(fee.amount_cents >= 0, "negative fee {}", fee.amount_cents);
        prop_assert_eq!(fees.amount_cents, fee.amount_cents, "totals");
    }

    /// JSON decimals are exact: a request with every amount and usage figure
    /// written as JSON numbers gives byte-for-byte the result of the same
    /// request written with decimal strings.
    #[test]
    fn json_numbers_and_strings_rate_identically(
        def in any_def(),
        cur in currency_code(),
        u in units_pick(true),
        values in event_values(),
        cents in (-1_000_000_000i64..=1_000_000_000, 0u32..=6).prop_map(|(m, s)| Dec { m, s }),
    ) {
        let units = u.resolve(&def);
        let line = |numbers: bool| {
            let style = if numbers { Style::Number } else { Style::Plain };
            format!(
                r#"{{"id":1,"currency":"{cur}","charge":{},"usage":{}}}"#,
                def.charge_json(Some(style)),
                usage_json(&def, units, &values, cents, numbers)
            )
        };
        let (num_line, str_line) = (line(true), line(false));
        let (o1, t1) = rate_line(&num_line);
        let (o2, t2) = rate_line(&str_line);
        prop_assert_eq!(o1, Outcome::Priced, "{} -> {}", num_line, t1);
        prop_assert_eq!(o2, Outcome::Priced, "{} -> {}", str_line, t2);
        prop_assert_eq!(t1, t2, "numbers {} vs strings {}", num_line, str_line);
    }

    /// JSON decimals are exact: a price `m × 10^-s` given as a JSON number
    /// times `k` units gives exactly `k × m × 10^-s` (so `3 × 0.1` is `0.3`),
    /// in plain notation, and cents rounded half away from zero.
    #[test]
    fn json_number_prices_multiply_exactly(
        price in prop_oneof![Just(Dec { m: 1, s: 1 }), price_dec()],
        k in 0u32..=1000,
    ) {
        let line = format!(
            r#"{{"currency":"EUR","charge":{{"charge_model":"standard","properties":{{"amount":{}}}}},"usage":{{"units":{k}}}}}"#,
            price.value()
        );
        let (outcome, text) = rate_line(&line);
        prop_assert_eq!(outcome, Outcome::Priced, "{}", text);
        let v = value(&text);
        let want = price.value() * Decimal::from(k);
        let amount = v["fees"][0]["amount"].as_str().unwrap_or_default().to_string();
        prop_assert!(!amount.contains(['e', 'E']), "not plain notation: {}", amount);
        prop_assert_eq!(Decimal::from_str_exact(&amount).ok(), Some(want), "{} -> {}", line, text);
        let cents = want.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            * Decimal::ONE_HUNDRED;
        prop_assert_eq!(
            v["fees"][0]["amount_cents"].as_i64().map(Decimal::from),
            Some(cents.normalize()),
            "{} -> {}", line, text
        );
    }

    /// `rate_json` never panics on arbitrary text, and always writes one
    /// well-formed result (fees or error) agreeing with its `Outcome`.
    #[test]
    fn rate_json_never_panics_on_arbitrary_text(
        text in prop_oneof![
            "\\PC{0,200}",
            prop::collection::vec(prop::sample::select(NASTY.to_vec()), 0..12)
                .prop_map(|parts| format!("{{\"currency\":{}}}", parts.join(","))),
        ],
    ) {
        let (outcome, out) = rate_line(&text);
        check_result(outcome, &out)?;
    }

    /// `rate_json` never panics on mutated valid requests (a node replaced
    /// by hostile JSON or removed, or characters deleted, inserted or
    /// replaced), and always writes one well-formed result.
    #[test]
    fn rate_json_never_panics_on_mutated_requests(
        def in any_def(),
        cur in currency_code(),
        u in units_pick(true),
        values in event_values(),
        cents in (-1_000_000i64..=1_000_000, 0u32..=6).prop_map(|(m, s)| Dec { m, s }),
        extras in 0u8..32,
        nodes in prop::collection::vec(
            (any::<Index>(), prop::sample::select(NASTY.to_vec()), prop::bool::weighted(0.2)),
            0..=2,
        ),
        edits in prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec((any::<Index>(), any::<u8>(), any::<Index>()), 1..=3),
        ],
    ) {
        let mut line = request_json(&def, cur, u.resolve(&def), &values, cents, extras);
        for (at, nasty, remove) in &nodes {
            line = mutate_value(&line, *at, nasty, *remove);
        }
        let line = mutate_text(&line, &edits);
        let (outcome, out) = rate_line(&line);
        check_result(outcome, &out)?;
    }
}

/// `3 × 0.1` is exactly `0.3` when 0.1 comes as a JSON number (never
/// through binary floats), and the same as with the string `"0.1"`.
#[test]
fn three_times_point_one_is_point_three() {
    let line = |amount: &str| {
        format!(
            r#"{{"currency":"EUR","charge":{{"charge_model":"standard","properties":{{"amount":{amount}}}}},"usage":{{"units":3}}}}"#
        )
    };
    let (o1, t1) = rate_line(&line("0.1"));
    let (o2, t2) = rate_line(&line("\"0.1\""));
    let v = value(&t1);
    assert_eq!((o1, o2), (Outcome::Priced, Outcome::Priced), "{t1} / {t2}");
    assert_eq!(v["fees"][0]["amount"], "0.3", "{t1}");
    assert_eq!(v["fees"][0]["amount_cents"], 30, "{t1}");
    assert_eq!(t1, t2);
}
