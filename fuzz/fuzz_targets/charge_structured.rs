//! Structured fuzzing of the charge models.
//!
//! An `arbitrary` input describes a *valid* charge (semantics.md §1.2, §8)
//! and one usage bucket. The target renders it to Lago JSON, builds it with
//! `ChargeModel::from_lago_json` / `Charge::from_lago_json` (both must
//! accept it), applies it, and checks the result against:
//!
//! * independent oracles in plain `i128` fixed point (standard, graduated,
//!   graduated_percentage, package, percentage, volume and dynamic amounts,
//!   following semantics.md §2 and decisions.md M1, M2, M5), each skipped
//!   when the oracle itself would overflow `i128`;
//! * structural invariants: graduated amount = Σ `total_with_flat_amount`,
//!   tier units sum to the usage units, amount ≥ 0 for non-negative units
//!   (except the percentage per-transaction path with negative event values,
//!   §2.5), monotonicity in the units for the monotone models;
//! * fee invariants (§4, §7, M7): never negative, `amount_cents` is the
//!   amount rounded half away from zero at the currency exponent, unit cents
//!   truncated, taxes and totals add up, true-up is the missing difference;
//! * the JSON edge (`rate_json`) prices the same request to the same cents;
//! * a pay-in-advance step (`Charge::price_step`) is never negative;
//! * `Exact` itself: Display/FromStr, ordering, checked add/sub/mul and
//!   round_half_away against the same `i128` oracle.
//!
//! Exemptions, each from the spec: dynamic amounts follow the sign of the
//! events' cents; a true-up fee's cents are `round(min − used cents)` with
//! `unit_amount_cents = amount_cents` (§6), not a rounding of its precise
//! amount. A negative `full_units_number`, and `event_values` whose number
//! differs from `events_count` where the model reads both, are refused with
//! `invalid_usage` (typed and JSON alike); the input keeps the count and the
//! values aligned where they are read, so that such charges are priced.
//!
//! Seeds in fuzz/seeds/charge_structured are raw `arbitrary` bytes: changing
//! the `Input` layout changes what they decode to (they stay valid inputs).
//!
//! Any violation panics with a message naming the invariant.
#![no_main]

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::str::FromStr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meterprice::{
    AmountDetails, Bucket, Charge, ChargeModel, Currency, Exact, Fee, Period, RateError, Usage,
};

// ---------------------------------------------------------------------------
// Input

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Standard,
    Graduated,
    GraduatedPercentage,
    Package,
    Percentage,
    Volume,
    Dynamic,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Standard => "standard",
            Kind::Graduated => "graduated",
            Kind::GraduatedPercentage => "graduated_percentage",
            Kind::Package => "package",
            Kind::Percentage => "percentage",
            Kind::Volume => "volume",
            Kind::Dynamic => "dynamic",
        }
    }
}

/// A non-negative decimal `m / 10^(scale % 7)`.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Price {
    m: u32,
    scale: u8,
}

impl Price {
    fn fx(self) -> Fx {
        Fx::new(i128::from(self.m), u32::from(self.scale % 7))
    }
}

/// A signed decimal `m / 10^(scale % 7)`; `small` keeps it below 10^5 in
/// magnitude so that most inputs stay far from the decimal range's edge.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Signed {
    m: i64,
    scale: u8,
    small: bool,
}

impl Signed {
    fn fx(self) -> Fx {
        let s = u32::from(self.scale % 7);
        let m = if self.small {
            i128::from(self.m) % (100_000 * 10i128.pow(s))
        } else {
            i128::from(self.m)
        };
        Fx::new(m, s)
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct TierIn {
    /// Tier width `max(width, 1) / 10^(width_scale % 3)`.
    width: u16,
    width_scale: u8,
    /// Graduated: `from = prev.to + 1` instead of `prev.to`; volume:
    /// `from = prev.to + 2` instead of `prev.to + 1` (both valid, §8.2).
    gap: bool,
    per_unit: Price,
    flat: Price,
}

#[derive(Arbitrary, Debug)]
struct Input {
    kind: Kind,
    currency: u8,
    tiers: Vec<TierIn>,
    first_from_one: bool,
    /// Render amounts as JSON numbers (M14) instead of strings.
    numbers: bool,
    amount: Price,
    package_size: u16,
    free_units: u16,
    rate: Price,
    fixed: Option<Price>,
    free_events: Option<u8>,
    free_total: Option<Price>,
    min: Option<Price>,
    max: Option<Price>,
    units: Signed,
    events_count: u16,
    event_values: Vec<Signed>,
    prorated_values: Vec<Signed>,
    full_units: Option<Signed>,
    cents: Option<Signed>,
    taxes: Vec<Price>,
    pricing_unit: Option<Price>,
    min_amount_cents: Option<u16>,
    prorated: bool,
    elapsed_days: Option<u8>,
    delta: Price,
}

const CURRENCIES: &[&str] = &["EUR", "USD", "JPY", "KWD", "CLF", "MRO", "BHD", "HUF"];

// ---------------------------------------------------------------------------
// Fixed-point oracle arithmetic: value = m / 10^s, plain checked i128.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fx {
    m: i128,
    s: u32,
}

fn pow10(k: u32) -> Option<i128> {
    10i128.checked_pow(k)
}

impl Fx {
    const ZERO: Fx = Fx { m: 0, s: 0 };

    fn new(m: i128, s: u32) -> Fx {
        Fx { m, s }.norm()
    }

    fn int(n: i128) -> Fx {
        Fx { m: n, s: 0 }
    }

    /// Trailing zeros removed.
    fn norm(self) -> Fx {
        let (mut m, mut s) = (self.m, self.s);
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        if m == 0 {
            s = 0;
        }
        Fx { m, s }
    }

    fn at(self, s: u32) -> Option<i128> {
        self.m.checked_mul(pow10(s.checked_sub(self.s)?)?)
    }

    fn add(self, o: Fx) -> Option<Fx> {
        let s = self.s.max(o.s);
        Some(Fx::new(self.at(s)?.checked_add(o.at(s)?)?, s))
    }

    fn sub(self, o: Fx) -> Option<Fx> {
        self.add(Fx {
            m: o.m.checked_neg()?,
            s: o.s,
        })
    }

    fn mul(self, o: Fx) -> Option<Fx> {
        Some(Fx::new(self.m.checked_mul(o.m)?, self.s + o.s))
    }

    fn div_pow10(self, k: u32) -> Fx {
        Fx::new(self.m, self.s + k)
    }

    fn cmp(self, o: Fx) -> Option<Ordering> {
        let s = self.s.max(o.s);
        Some(self.at(s)?.cmp(&o.at(s)?))
    }

    fn min(self, o: Fx) -> Option<Fx> {
        Some(if self.cmp(o)? == Ordering::Greater {
            o
        } else {
            self
        })
    }

    fn max(self, o: Fx) -> Option<Fx> {
        Some(if self.cmp(o)? == Ordering::Less {
            o
        } else {
            self
        })
    }

    fn is_neg(self) -> bool {
        self.m < 0
    }

    fn is_zero(self) -> bool {
        self.m == 0
    }

    /// Rounded half away from zero to an integer.
    fn round_int(self) -> Option<i128> {
        if self.s == 0 {
            return Some(self.m);
        }
        let p = pow10(self.s)?;
        let (q, r) = (self.m / p, (self.m % p).abs());
        let up = r.checked_mul(2)? >= p;
        Some(if up { q + self.m.signum() } else { q })
    }

    /// Truncated toward zero to an integer.
    fn trunc_int(self) -> Option<i128> {
        Some(self.m / pow10(self.s)?)
    }

    /// `ceil(self / d)` for `self ≥ 0`, `d > 0` an integer.
    fn ceil_div(self, d: i128) -> Option<i128> {
        let den = d.checked_mul(pow10(self.s)?)?;
        let q = self.m / den;
        Some(if self.m % den != 0 { q + 1 } else { q })
    }

    /// Plain decimal text (`-12.5`), the form both the JSON edge and
    /// `Exact::from_str` read.
    fn text(self) -> String {
        let neg = self.m < 0;
        let digits = self.m.unsigned_abs().to_string();
        let s = self.s as usize;
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        if s == 0 {
            out.push_str(&digits);
        } else if digits.len() > s {
            let (i, f) = digits.split_at(digits.len() - s);
            let _ = write!(out, "{i}.{f}");
        } else {
            let _ = write!(out, "0.{}{digits}", "0".repeat(s - digits.len()));
        }
        out
    }

    fn exact(self) -> Exact {
        match Exact::from_str(&self.text()) {
            Ok(e) => e,
            Err(e) => panic!("test harness: {} does not parse as Exact: {e}", self.text()),
        }
    }

    /// Reads an `Exact` back through its `Display` (None: beyond i128).
    fn of(e: Exact) -> Option<Fx> {
        let text = e.to_string();
        let (neg, body) = match text.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, text.as_str()),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        assert!(
            !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()),
            "Exact Display is not plain notation: {text:?}"
        );
        assert!(
            frac.bytes().all(|b| b.is_ascii_digit()),
            "Exact Display is not plain notation: {text:?}"
        );
        let m: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Fx::new(if neg { -m } else { m }, frac.len() as u32))
    }
}

/// Asserts `got == want` when the oracle value exists and `got` fits i128.
fn check(what: &str, want: Option<Fx>, got: Exact, ctx: &dyn std::fmt::Debug) {
    let (Some(w), Some(g)) = (want, Fx::of(got)) else {
        return;
    };
    if w.cmp(g) != Some(Ordering::Equal) && w.cmp(g).is_some() {
        panic!(
            "{what}: expected {}, got {got}\ncontext: {ctx:#?}",
            w.text()
        );
    }
}

fn check_int(what: &str, want: Option<i128>, got: i128, ctx: &dyn std::fmt::Debug) {
    if let Some(w) = want {
        assert_eq!(w, got, "{what}: expected {w}, got {got}\ncontext: {ctx:#?}");
    }
}

// ---------------------------------------------------------------------------
// The definition, as data and as Lago JSON.

struct TierDef {
    from: Fx,
    to: Option<Fx>,
    per_unit: Fx,
    flat: Fx,
}

struct Def {
    kind: Kind,
    tiers: Vec<TierDef>,
    amount: Fx,
    package_size: u64,
    free_units: u64,
    rate: Fx,
    fixed: Option<Fx>,
    free_events: Option<u64>,
    free_total: Option<Fx>,
    min: Option<Fx>,
    max: Option<Fx>,
}

fn tiers_of(input: &Input) -> Vec<TierDef> {
    let raw: Vec<TierIn> = if input.tiers.is_empty() {
        vec![TierIn {
            width: 1,
            width_scale: 0,
            gap: false,
            per_unit: input.amount,
            flat: Price { m: 0, scale: 0 },
        }]
    } else {
        input.tiers.iter().take(6).copied().collect()
    };
    let volume = input.kind == Kind::Volume;
    let n = raw.len();
    let mut out = Vec::with_capacity(n);
    let mut prev_to = Fx::ZERO;
    for (i, t) in raw.iter().enumerate() {
        let from = if i == 0 {
            Fx::int(i128::from(input.first_from_one))
        } else {
            let step = match (volume, t.gap) {
                (false, false) => 0,
                (false, true) | (true, false) => 1,
                (true, true) => 2,
            };
            prev_to.add(Fx::int(step)).expect("small bounds")
        };
        let width = Fx::new(i128::from(t.width.max(1)), u32::from(t.width_scale % 3));
        let to = if i + 1 == n {
            None
        } else {
            Some(from.add(width).expect("small bounds"))
        };
        if let Some(to) = to {
            prev_to = to;
        }
        out.push(TierDef {
            from,
            to,
            per_unit: t.per_unit.fx(),
            flat: t.flat.fx(),
        });
    }
    out
}

fn def_of(input: &Input) -> Def {
    let (min, max) = match (input.min, input.max) {
        (Some(a), Some(b)) => {
            let (a, b) = (a.fx(), b.fx());
            if a.cmp(b) == Some(Ordering::Greater) {
                (Some(b), Some(a))
            } else {
                (Some(a), Some(b))
            }
        }
        (a, b) => (a.map(Price::fx), b.map(Price::fx)),
    };
    Def {
        kind: input.kind,
        tiers: match input.kind {
            Kind::Graduated | Kind::GraduatedPercentage | Kind::Volume => tiers_of(input),
            _ => Vec::new(),
        },
        amount: input.amount.fx(),
        package_size: u64::from(input.package_size.max(1)),
        free_units: u64::from(input.free_units),
        rate: input.rate.fx(),
        fixed: input.fixed.map(Price::fx),
        free_events: input.free_events.filter(|n| *n > 0).map(u64::from),
        free_total: input.free_total.map(Price::fx),
        min,
        max,
    }
}

fn json_amount(x: Fx, numbers: bool) -> String {
    if numbers {
        x.text()
    } else {
        format!("\"{}\"", x.text())
    }
}

fn properties_json(d: &Def, numbers: bool) -> String {
    let a = |x: Fx| json_amount(x, numbers);
    let ranges = |price_key: &str| {
        let items: Vec<String> = d
            .tiers
            .iter()
            .map(|t| {
                let to = t.to.map_or("null".to_string(), Fx::text);
                format!(
                    r#"{{"from_value":{},"to_value":{to},"{price_key}":{},"flat_amount":{}}}"#,
                    t.from.text(),
                    a(t.per_unit),
                    a(t.flat)
                )
            })
            .collect();
        items.join(",")
    };
    match d.kind {
        Kind::Standard => format!(r#"{{"amount":{}}}"#, a(d.amount)),
        Kind::Graduated => format!(r#"{{"graduated_ranges":[{}]}}"#, ranges("per_unit_amount")),
        Kind::Volume => format!(r#"{{"volume_ranges":[{}]}}"#, ranges("per_unit_amount")),
        Kind::GraduatedPercentage => {
            format!(r#"{{"graduated_percentage_ranges":[{}]}}"#, ranges("rate"))
        }
        Kind::Package => format!(
            r#"{{"amount":{},"package_size":{},"free_units":{}}}"#,
            a(d.amount),
            d.package_size,
            d.free_units
        ),
        Kind::Percentage => {
            let mut s = format!(r#"{{"rate":{}"#, a(d.rate));
            if let Some(f) = d.fixed {
                let _ = write!(s, r#","fixed_amount":{}"#, a(f));
            }
            if let Some(n) = d.free_events {
                let _ = write!(s, r#","free_units_per_events":{n}"#);
            }
            if let Some(t) = d.free_total {
                let _ = write!(s, r#","free_units_per_total_aggregation":{}"#, a(t));
            }
            if let Some(m) = d.min {
                let _ = write!(s, r#","per_transaction_min_amount":{}"#, a(m));
            }
            if let Some(m) = d.max {
                let _ = write!(s, r#","per_transaction_max_amount":{}"#, a(m));
            }
            s.push('}');
            s
        }
        Kind::Dynamic => "{}".to_string(),
    }
}

// ---------------------------------------------------------------------------
// Usage

struct UsageDef {
    units: Fx,
    events_count: u64,
    event_values: Vec<Fx>,
    prorated_values: Vec<Fx>,
    full_units: Option<Fx>,
    cents: Option<Fx>,
}

impl UsageDef {
    fn usage(&self) -> Usage {
        let mut u = Usage::new(self.units.exact())
            .with_events_count(self.events_count)
            .with_event_values(self.event_values.iter().map(|v| v.exact()).collect())
            .with_prorated_event_values(self.prorated_values.iter().map(|v| v.exact()).collect());
        if let Some(f) = self.full_units {
            u = u.with_full_units_number(f.exact());
        }
        if let Some(c) = self.cents {
            u = u.with_precise_total_amount_cents(c.exact());
        }
        u
    }

    fn json(&self) -> String {
        let list = |v: &[Fx]| {
            v.iter()
                .map(|x| format!("\"{}\"", x.text()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut s = format!(
            r#"{{"units":"{}","events_count":{},"event_values":[{}]"#,
            self.units.text(),
            self.events_count,
            list(&self.event_values)
        );
        if !self.prorated_values.is_empty() {
            let _ = write!(
                s,
                r#","prorated_event_values":[{}]"#,
                list(&self.prorated_values)
            );
        }
        if let Some(f) = self.full_units {
            let _ = write!(s, r#","full_units_number":"{}""#, f.text());
        }
        if let Some(c) = self.cents {
            let _ = write!(s, r#","precise_total_amount_cents":"{}""#, c.text());
        }
        s.push('}');
        s
    }

    fn full_or_units(&self) -> Fx {
        self.full_units.unwrap_or(self.units)
    }
}

// ---------------------------------------------------------------------------
// Model oracles (None: the oracle overflows i128; the check is skipped).

/// Units in each emitted tier under the one tier rule (decisions.md M1):
/// `min(U, to_i) − to_{i−1}` for every tier up to the one containing U.
fn tier_units(tiers: &[TierDef], u: Fx) -> Option<Vec<Fx>> {
    let mut out = Vec::new();
    let mut lower = Fx::ZERO;
    for t in tiers {
        let upper = match t.to {
            Some(to) => to.min(u)?,
            None => u,
        };
        out.push(upper.sub(lower)?);
        match t.to {
            Some(to) if to.cmp(u)? == Ordering::Less => lower = to,
            _ => break,
        }
    }
    Some(out)
}

/// Volume: the tier whose span `(to_{i−1}, to_i]` contains U (U ≤ 0: first).
fn volume_tier(tiers: &[TierDef], u: Fx) -> Option<&TierDef> {
    for t in tiers {
        match t.to {
            Some(to) if to.cmp(u)? == Ordering::Less => continue,
            _ => return Some(t),
        }
    }
    tiers.last()
}

fn standard_amount(d: &Def, u: Fx) -> Option<Fx> {
    u.mul(d.amount)
}

fn graduated_amount(d: &Def, u: Fx, percent: bool) -> Option<Fx> {
    let units = tier_units(&d.tiers, u)?;
    let mut sum = Fx::ZERO;
    for (t, n) in d.tiers.iter().zip(units) {
        let mut line = n.mul(t.per_unit)?;
        if percent {
            line = line.div_pow10(2);
        }
        sum = sum.add(line)?.add(t.flat)?;
    }
    Some(sum)
}

fn package_amount(d: &Def, u: Fx) -> Option<Fx> {
    if u.is_zero() {
        return Some(Fx::ZERO);
    }
    let paid = u.sub(Fx::int(i128::from(d.free_units)))?;
    if paid.is_neg() {
        return Some(Fx::ZERO);
    }
    let packages = paid.ceil_div(i128::from(d.package_size))?;
    Fx::int(packages).mul(d.amount)
}

fn volume_amount(d: &Def, u: Fx) -> Option<Fx> {
    let t = volume_tier(&d.tiers, u)?;
    u.mul(t.per_unit)?.add(t.flat)
}

/// Percentage (semantics.md §2.5 with M5, M6): (amount, percentage part,
/// fixed total, free units, free event count).
struct PercentageOracle {
    amount: Fx,
    percentage_amount: Fx,
    fixed_total: Fx,
    free_value: Fx,
    free_count: u64,
}

fn percentage_oracle(d: &Def, usage: &UsageDef) -> Option<PercentageOracle> {
    let u = usage.units;
    let values = &usage.event_values;
    // running_total (§1.4): the first N cumulative sums, or with T set the
    // cumulative sums stopping after the first one above T.
    let mut rt = Vec::new();
    let mut acc = Fx::ZERO;
    let t_set = d.free_total.filter(|t| !t.is_zero());
    if let Some(n) = d.free_events {
        for v in values.iter().take(n as usize) {
            acc = acc.add(*v)?;
            rt.push(acc);
        }
    } else if let Some(t) = t_set {
        for v in values {
            if acc.cmp(t)? == Ordering::Greater {
                break;
            }
            acc = acc.add(*v)?;
            rt.push(acc);
        }
    }
    let n = d.free_events.unwrap_or(0);
    let t = t_set.unwrap_or(Fx::ZERO);
    let last = rt.last().copied().unwrap_or(Fx::ZERO);
    let free_value = if last.is_zero() {
        Fx::ZERO
    } else if t.is_zero() || last.cmp(t)? != Ordering::Greater {
        last
    } else {
        t
    };
    let mut under_t = 0u64;
    for e in &rt {
        if e.cmp(t)? == Ordering::Less {
            under_t += 1;
        }
    }
    let free_count = match (n, under_t) {
        (0, c) => c,
        (n, 0) => n,
        (n, c) => n.min(c),
    };
    let percentage_amount = if free_value.cmp(u)? == Ordering::Greater {
        Fx::ZERO
    } else {
        u.sub(free_value)?.mul(d.rate)?.div_pow10(2)
    };
    let fixed = d.fixed.unwrap_or(Fx::ZERO);
    let count = usage.events_count;
    let fixed_total = if u.is_zero() || free_count >= count {
        Fx::ZERO
    } else {
        Fx::int(i128::from(count - free_count)).mul(fixed)?
    };
    let amount = if d.min.is_some() || d.max.is_some() {
        // M5 per-transaction walk: E free events, R free units.
        let mut e = d.free_events;
        let mut r = t_set;
        let mut free_phase = e.is_some() || r.is_some();
        let mut total = Fx::ZERO;
        for v in values {
            let mut paid = *v;
            if free_phase {
                let fits = match r {
                    None => true,
                    Some(r) => v.cmp(r)? == Ordering::Less,
                };
                if fits {
                    if let Some(e) = e.as_mut() {
                        *e -= 1;
                        free_phase = *e > 0;
                    }
                    if let Some(r) = r.as_mut() {
                        *r = r.sub(*v)?;
                    }
                    continue;
                }
                paid = v.sub(r.unwrap_or(Fx::ZERO))?;
                free_phase = false;
            }
            let mut x = paid.mul(d.rate)?.div_pow10(2).add(fixed)?;
            match (d.min, d.max) {
                (Some(min), _) if x.cmp(min)? == Ordering::Less => x = min,
                (_, Some(max)) if x.cmp(max)? == Ordering::Greater => x = max,
                _ => {}
            }
            total = total.add(x)?;
        }
        total
    } else {
        percentage_amount.add(fixed_total)?
    };
    Some(PercentageOracle {
        amount,
        percentage_amount,
        fixed_total,
        free_value,
        free_count,
    })
}

fn dynamic_amount(usage: &UsageDef, currency: Currency) -> Option<Fx> {
    if usage.full_or_units().is_zero() {
        return Some(Fx::ZERO);
    }
    if currency.subunit_to_unit() == 5 {
        return None; // a rounded quotient (MRO), not checked exactly
    }
    Some(
        usage
            .cents
            .unwrap_or(Fx::ZERO)
            .div_pow10(currency.exponent()),
    )
}

/// The model amount for units `u` (the other usage fields as in `usage`).
fn model_amount(d: &Def, usage: &UsageDef, u: Fx, currency: Currency) -> Option<Fx> {
    match d.kind {
        Kind::Standard => standard_amount(d, u),
        Kind::Graduated => graduated_amount(d, u, false),
        Kind::GraduatedPercentage => graduated_amount(d, u, true),
        Kind::Package => package_amount(d, u),
        Kind::Volume => volume_amount(d, u),
        Kind::Percentage => {
            let changed = UsageDef {
                units: u,
                events_count: usage.events_count,
                event_values: usage.event_values.clone(),
                prorated_values: Vec::new(),
                full_units: usage.full_units,
                cents: usage.cents,
            };
            percentage_oracle(d, &changed).map(|p| p.amount)
        }
        Kind::Dynamic => dynamic_amount(usage, currency),
    }
}

// ---------------------------------------------------------------------------
// Checks

#[derive(Debug)]
#[allow(dead_code)] // read through Debug in panic messages
struct Ctx<'a> {
    model: &'a str,
    properties: &'a str,
    currency: &'a str,
    usage: &'a str,
}

fn check_model(
    d: &Def,
    model: &ChargeModel,
    usage_def: &UsageDef,
    currency: Currency,
    delta: Fx,
    ctx: &Ctx<'_>,
) {
    let usage = usage_def.usage();
    let out = match model.apply(&usage, currency) {
        Ok(o) => o,
        Err(_) => return, // arithmetic_overflow is a valid answer
    };
    let u = usage_def.units;
    let amount = out.amount;

    // The oracle amount.
    check(
        "model amount (oracle)",
        model_amount(d, usage_def, u, currency),
        amount,
        ctx,
    );

    // Non-negative prices and units give a non-negative amount. The
    // percentage per-transaction path walks the event values, which may be
    // negative on their own (§2.5); dynamic takes the sign of its cents.
    let negative_events = usage_def.event_values.iter().any(|v| v.is_neg());
    let per_transaction = d.min.is_some() || d.max.is_some();
    let sign_exempt = match d.kind {
        Kind::Percentage => per_transaction && negative_events,
        Kind::Dynamic => usage_def.cents.is_some_and(Fx::is_neg),
        _ => false,
    };
    if !u.is_neg() && !sign_exempt {
        assert!(
            !amount.is_negative() || amount.is_zero(),
            "negative amount {amount} for units {} >= 0 and non-negative prices\ncontext: {ctx:#?}",
            u.text()
        );
    }

    // unit_amount: 0 over 0 units; otherwise the sign of amount / divisor.
    let divisor = match d.kind {
        Kind::Volume => Some(u),
        Kind::Package => None,
        _ => Some(usage_def.full_or_units()),
    };
    if let Some(div) = divisor {
        if div.is_zero() {
            assert!(
                out.unit_amount.is_zero(),
                "unit_amount {} over zero units\ncontext: {ctx:#?}",
                out.unit_amount
            );
        } else if !out.unit_amount.is_zero() {
            let expect_neg = amount.is_negative() != div.is_neg();
            assert!(
                out.unit_amount.is_negative() == expect_neg && !amount.is_zero(),
                "unit_amount {} has the wrong sign for {amount} / {}\ncontext: {ctx:#?}",
                out.unit_amount,
                div.text()
            );
        }
    }

    match (&out.details, d.kind) {
        (AmountDetails::Graduated(lines), Kind::Graduated) => {
            let want_units = tier_units(&d.tiers, u);
            if let Some(w) = &want_units {
                assert_eq!(
                    w.len(),
                    lines.len(),
                    "graduated: {} detail lines, expected {}\ncontext: {ctx:#?}",
                    lines.len(),
                    w.len()
                );
            }
            let mut sum = Exact::ZERO;
            let mut units_sum = Exact::ZERO;
            for (i, line) in lines.iter().enumerate() {
                let tier = &d.tiers[i];
                check(
                    "graduated line units",
                    want_units.as_ref().map(|w| w[i]),
                    line.units,
                    ctx,
                );
                if i > 0 {
                    assert!(
                        !line.units.is_negative() || line.units.is_zero(),
                        "graduated line {i} has negative units {}\ncontext: {ctx:#?}",
                        line.units
                    );
                }
                let want_price = if line.units.is_zero() {
                    Fx::ZERO
                } else {
                    tier.per_unit
                };
                check(
                    "graduated line per_unit_amount",
                    Some(want_price),
                    line.per_unit_amount,
                    ctx,
                );
                check(
                    "graduated line flat_unit_amount",
                    Some(tier.flat),
                    line.flat_unit_amount,
                    ctx,
                );
                check(
                    "graduated line from_value",
                    Some(tier.from),
                    line.from_value,
                    ctx,
                );
                assert_eq!(
                    line.to_value.map(|t| Fx::of(t).map(Fx::norm)),
                    tier.to.map(|t| Some(t.norm())),
                    "graduated line {i} to_value\ncontext: {ctx:#?}"
                );
                let put = line.units.checked_mul(line.per_unit_amount);
                if let Some(put) = put {
                    assert_eq!(
                        put, line.per_unit_total_amount,
                        "graduated line {i}: per_unit_total_amount != units × per_unit_amount\ncontext: {ctx:#?}"
                    );
                }
                assert_eq!(
                    line.per_unit_total_amount
                        .checked_add(line.flat_unit_amount),
                    Some(line.total_with_flat_amount),
                    "graduated line {i}: total_with_flat_amount != per_unit_total + flat\ncontext: {ctx:#?}"
                );
                sum = sum
                    .checked_add(line.total_with_flat_amount)
                    .expect("sum of in-range lines overflowed while the amount did not");
                units_sum = units_sum.checked_add(line.units).expect("units sum");
            }
            assert_eq!(
                sum, amount,
                "graduated amount {amount} != Σ total_with_flat_amount {sum}\ncontext: {ctx:#?}"
            );
            assert_eq!(
                units_sum, usage.units,
                "graduated tier units sum {units_sum} != usage units {}\ncontext: {ctx:#?}",
                usage.units
            );
        }
        (AmountDetails::GraduatedPercentage(lines), Kind::GraduatedPercentage) => {
            let mut sum = Exact::ZERO;
            let mut units_sum = Exact::ZERO;
            for (i, line) in lines.iter().enumerate() {
                let tier = &d.tiers[i];
                check(
                    "graduated_percentage line rate",
                    Some(tier.per_unit),
                    line.rate,
                    ctx,
                );
                check(
                    "graduated_percentage line flat",
                    Some(tier.flat),
                    line.flat_unit_amount,
                    ctx,
                );
                let want = Fx::of(line.units)
                    .and_then(|n| n.mul(tier.per_unit))
                    .map(|x| x.div_pow10(2));
                check(
                    "graduated_percentage line per_unit_total_amount = units × rate / 100",
                    want,
                    line.per_unit_total_amount,
                    ctx,
                );
                assert_eq!(
                    line.per_unit_total_amount
                        .checked_add(line.flat_unit_amount),
                    Some(line.total_with_flat_amount),
                    "graduated_percentage line {i}: total_with_flat_amount\ncontext: {ctx:#?}"
                );
                sum = sum.checked_add(line.total_with_flat_amount).expect("sum");
                units_sum = units_sum.checked_add(line.units).expect("units sum");
            }
            assert_eq!(
                sum, amount,
                "graduated_percentage amount {amount} != Σ total_with_flat_amount {sum}\ncontext: {ctx:#?}"
            );
            assert_eq!(
                units_sum, usage.units,
                "graduated_percentage tier units sum {units_sum} != usage units\ncontext: {ctx:#?}"
            );
        }
        (AmountDetails::Volume(v), Kind::Volume) => {
            let tier = volume_tier(&d.tiers, u);
            if let Some(t) = tier {
                check(
                    "volume flat_unit_amount",
                    Some(t.flat),
                    v.flat_unit_amount,
                    ctx,
                );
                check(
                    "volume per_unit_total_amount",
                    u.mul(t.per_unit),
                    v.per_unit_total_amount,
                    ctx,
                );
            }
            assert_eq!(
                v.per_unit_total_amount.checked_add(v.flat_unit_amount),
                Some(amount),
                "volume amount != per_unit_total_amount + flat\ncontext: {ctx:#?}"
            );
        }
        (AmountDetails::Package(p), Kind::Package) => {
            if u.is_zero() {
                assert!(
                    p.per_package_size == 0 && p.paid_units.is_zero() && p.free_units.is_zero(),
                    "package zero-usage details (Q8): {p:?}\ncontext: {ctx:#?}"
                );
            } else {
                assert_eq!(
                    p.per_package_size, d.package_size,
                    "package size\ncontext: {ctx:#?}"
                );
                let paid = u
                    .sub(Fx::int(i128::from(d.free_units)))
                    .and_then(|x| x.max(Fx::ZERO));
                check("package paid_units", paid, p.paid_units, ctx);
                check(
                    "package per_package_unit_amount",
                    Some(d.amount),
                    p.per_package_unit_amount,
                    ctx,
                );
            }
            if !amount.is_zero() {
                // k packages: k × size ≥ paid > (k − 1) × size (M2).
                if let Some(paid) = Fx::of(p.paid_units) {
                    if !d.amount.is_zero() {
                        let size = Fx::int(i128::from(d.package_size));
                        let k = paid.ceil_div(i128::from(d.package_size));
                        if let Some(k) = k {
                            let covers = Fx::int(k).mul(size).and_then(|c| c.cmp(paid));
                            assert!(
                                covers != Some(Ordering::Less),
                                "package: {k} packages do not cover {}\ncontext: {ctx:#?}",
                                paid.text()
                            );
                            check(
                                "package amount = k × price",
                                Fx::int(k).mul(d.amount),
                                amount,
                                ctx,
                            );
                        }
                    }
                }
            }
        }
        (AmountDetails::Percentage(p), Kind::Percentage) => {
            let oracle = percentage_oracle(d, usage_def);
            if let Some(o) = &oracle {
                check(
                    "percentage free_units",
                    Some(o.free_value),
                    p.free_units,
                    ctx,
                );
                check(
                    "percentage per_unit_total_amount",
                    Some(o.percentage_amount),
                    p.per_unit_total_amount,
                    ctx,
                );
                check(
                    "percentage fixed_fee_total_amount",
                    Some(o.fixed_total),
                    p.fixed_fee_total_amount,
                    ctx,
                );
                let count = usage_def.events_count;
                let free_events = count.min(o.free_count);
                assert_eq!(
                    p.free_events, free_events as i64,
                    "percentage free_events\ncontext: {ctx:#?}"
                );
            }
            assert_eq!(
                p.free_events + p.paid_events,
                usage_def.events_count as i64,
                "percentage free_events + paid_events != events_count\ncontext: {ctx:#?}"
            );
            check("percentage units", Some(u), p.units, ctx);
            let paid = Fx::of(p.free_units)
                .and_then(|f| u.sub(f))
                .and_then(|x| x.max(Fx::ZERO));
            check(
                "percentage paid_units = max(0, U − free)",
                paid,
                p.paid_units,
                ctx,
            );
            let parts = p
                .per_unit_total_amount
                .checked_add(p.fixed_fee_total_amount)
                .and_then(|x| x.checked_add(p.min_max_adjustment_total_amount));
            assert_eq!(
                parts,
                Some(amount),
                "percentage amount != percentage part + fixed fees + min/max adjustment\ncontext: {ctx:#?}"
            );
            if !per_transaction {
                assert!(
                    p.min_max_adjustment_total_amount.is_zero(),
                    "min/max adjustment without min/max\ncontext: {ctx:#?}"
                );
            }
        }
        (AmountDetails::Empty, Kind::Standard | Kind::Dynamic) => {}
        (details, kind) => panic!("{kind:?} gave details {details:?}\ncontext: {ctx:#?}"),
    }

    // Monotone in the units for non-negative units and prices (standard,
    // graduated, graduated_percentage, package).
    if matches!(
        d.kind,
        Kind::Standard | Kind::Graduated | Kind::GraduatedPercentage | Kind::Package
    ) && !u.is_neg()
    {
        if let Some(u2) = u.add(delta) {
            let mut more = usage.clone();
            more.units = u2.exact();
            if let Ok(o2) = model.apply(&more, currency) {
                assert!(
                    o2.amount >= amount,
                    "{}: amount decreased from {amount} to {} when units grew from {} to {}\ncontext: {ctx:#?}",
                    d.kind.name(),
                    o2.amount,
                    u.text(),
                    u2.text()
                );
            }
        }
    }
}

/// Fee invariants (§4.1, §4.2, §7, M7, M9) for a fee priced in arrears.
/// `true_up`: the minimum-spend fee, whose cents are the rounded difference of
/// cents (§6: `amount_cents = round(min − used_cents)`, `unit_amount_cents =
/// amount_cents`), not a rounding of its own precise amount.
fn check_fee(
    fee: &Fee,
    currency: Currency,
    has_pu: bool,
    true_up: bool,
    ctx: &dyn std::fmt::Debug,
) {
    let sub = Fx::int(i128::from(currency.subunit_to_unit()));
    assert!(
        !fee.amount.is_negative() || fee.amount.is_zero(),
        "fee amount {} is negative\ncontext: {ctx:#?}",
        fee.amount
    );
    assert!(
        fee.amount_cents >= 0,
        "fee amount_cents {} < 0\ncontext: {ctx:#?}",
        fee.amount_cents
    );
    let amount = Fx::of(fee.amount);
    let precise = amount.and_then(|a| a.mul(sub));
    check(
        "fee precise_amount_cents = amount × subunit",
        precise,
        fee.precise_amount_cents,
        ctx,
    );
    if true_up && !has_pu {
        assert_eq!(
            fee.unit_amount_cents, fee.amount_cents,
            "true-up unit_amount_cents != amount_cents (§6)\ncontext: {ctx:#?}"
        );
    } else {
        check_int(
            "fee amount_cents = round_half_away(amount × subunit)",
            precise.and_then(Fx::round_int),
            fee.amount_cents,
            ctx,
        );
        let unit_cents = Fx::of(fee.precise_unit_amount)
            .and_then(|u| u.mul(sub))
            .and_then(Fx::trunc_int);
        check_int(
            "fee unit_amount_cents = trunc(precise_unit_amount × subunit)",
            unit_cents,
            fee.unit_amount_cents,
            ctx,
        );
    }
    if let Some(pu) = &fee.pricing_unit_details {
        assert!(has_pu, "pricing_unit_details without a pricing unit");
        let pu_cents = Fx::of(pu.precise_amount_cents).and_then(Fx::round_int);
        check_int("pricing unit amount_cents", pu_cents, pu.amount_cents, ctx);
        let fiat = Fx::of(pu.conversion_rate)
            .and_then(|r| Fx::int(pu.amount_cents).mul(r))
            .map(|x| x.div_pow10(2));
        check("fiat amount = PU cents × rate / 100", fiat, fee.amount, ctx);
    } else {
        assert!(
            !has_pu,
            "no pricing_unit_details with a pricing unit\ncontext: {ctx:#?}"
        );
    }
    // Taxes: each rounded on its own, the fee's the rounded exact sum.
    let mut exact_sum = Some(Fx::ZERO);
    for t in &fee.taxes.applied {
        let x = Fx::of(t.rate)
            .and_then(|r| Fx::int(fee.amount_cents).mul(r))
            .map(|x| x.div_pow10(2));
        check_int(
            "applied tax amount_cents",
            x.and_then(Fx::round_int),
            t.amount_cents,
            ctx,
        );
        exact_sum = match (exact_sum, x) {
            (Some(s), Some(x)) => s.add(x),
            _ => None,
        };
    }
    check_int(
        "taxes_amount_cents = round(Σ exact taxes)",
        exact_sum.and_then(Fx::round_int),
        fee.taxes.taxes_amount_cents,
        ctx,
    );
    assert_eq!(
        fee.amount_cents.checked_add(fee.taxes.taxes_amount_cents),
        Some(fee.taxes.total_amount_cents),
        "fee total_amount_cents != amount_cents + taxes_amount_cents\ncontext: {ctx:#?}"
    );
    if let Some(p) = &fee.projection {
        assert!(
            p.projected_amount_cents >= 0,
            "negative projected_amount_cents\ncontext: {ctx:#?}"
        );
    }
}

fn charge_json(
    d: &Def,
    input: &Input,
    props: &str,
    prorated: bool,
    pay_in_advance: bool,
) -> String {
    let mut s = format!(
        r#"{{"charge_model":"{}","properties":{props},"billable_metric_code":"m""#,
        d.kind.name()
    );
    if prorated {
        s.push_str(r#","prorated":true"#);
    }
    if pay_in_advance {
        s.push_str(r#","pay_in_advance":true"#);
    } else if let Some(m) = input.min_amount_cents {
        let _ = write!(s, r#","min_amount_cents":{m}"#);
    }
    if !input.taxes.is_empty() {
        let taxes: Vec<String> = input
            .taxes
            .iter()
            .take(3)
            .enumerate()
            .map(|(i, t)| format!(r#"{{"code":"t{i}","rate":"{}"}}"#, t.fx().text()))
            .collect();
        let _ = write!(s, r#","taxes":[{}]"#, taxes.join(","));
    }
    if let Some(pu) = input.pricing_unit.filter(|p| p.m > 0) {
        let _ = write!(
            s,
            r#","applied_pricing_unit":{{"code":"credits","conversion_rate":"{}"}}"#,
            pu.fx().text()
        );
    }
    s.push('}');
    s
}

/// `Exact` against the i128 oracle: Display/FromStr round trip, ordering,
/// checked add/sub/mul and round_half_away on two input values.
fn check_exact(a: Fx, b: Fx, dp: u32) {
    let (ea, eb) = (a.exact(), b.exact());
    let ctx = (a.text(), b.text(), dp);
    for (x, e) in [(a, ea), (b, eb)] {
        assert_eq!(
            Fx::of(e).map(Fx::norm),
            Some(x.norm()),
            "Exact Display of {} reads back differently: {e}",
            x.text()
        );
        assert_eq!(
            Exact::from_str(&e.to_string()).ok(),
            Some(e),
            "Exact Display/FromStr round trip of {e}"
        );
    }
    assert_eq!(
        a.cmp(b),
        Some(ea.cmp(&eb)),
        "Exact ordering of {} and {}",
        a.text(),
        b.text()
    );
    assert_eq!(
        ea == eb,
        a.cmp(b) == Some(Ordering::Equal),
        "Exact equality"
    );
    check(
        "Exact checked_add",
        a.add(b),
        ea.checked_add(eb).unwrap_or(Exact::ZERO),
        &ctx,
    );
    check(
        "Exact checked_sub",
        a.sub(b),
        ea.checked_sub(eb).unwrap_or(Exact::ZERO),
        &ctx,
    );
    // A product within the range (|x| < 2^96, ≤ 28 fractional digits) must
    // be exact; beyond it, None.
    let p = a.mul(b).map(Fx::norm);
    let in_range = p.is_some_and(|p| p.s <= 28 && fits_2_96(p));
    match ea.checked_mul(eb) {
        Some(x) => check("Exact checked_mul", p, x, &ctx),
        None => assert!(
            !in_range,
            "Exact checked_mul of {} × {} refused an in-range product {}",
            a.text(),
            b.text(),
            p.map(Fx::text).unwrap_or_default()
        ),
    }
    // round_half_away at dp places.
    let r = ea.round_half_away(dp);
    let want = if a.s <= dp {
        Some(a)
    } else {
        pow10(a.s - dp).map(|k| {
            let (q, rem) = (a.m / k, (a.m % k).abs());
            let q = if rem * 2 >= k { q + a.m.signum() } else { q };
            Fx::new(q, dp)
        })
    };
    check("Exact round_half_away", want, r, &ctx);
}

/// |x| < 2^96 (the Exact range), for x = m / 10^s: as 2^96 is an integer,
/// this is floor(|m| / 10^s) < 2^96.
fn fits_2_96(x: Fx) -> bool {
    pow10(x.s).is_some_and(|p| x.m.unsigned_abs() / p.unsigned_abs() < (1u128 << 96))
}

fn run(input: &Input) {
    check_exact(
        input.units.fx(),
        input.amount.fx(),
        u32::from(input.delta.scale % 8),
    );
    if let (Some(a), Some(b)) = (input.event_values.first(), input.event_values.get(1)) {
        check_exact(a.fx(), b.fx(), u32::from(input.currency % 8));
    }

    let code = CURRENCIES[usize::from(input.currency) % CURRENCIES.len()];
    let currency = Currency::from_code(code).expect("listed currency");
    let d = def_of(input);
    let props = properties_json(&d, input.numbers);

    let events: Vec<Fx> = input.event_values.iter().take(8).map(|v| v.fx()).collect();
    // One value per event where the model reads them (a count that
    // disagrees is invalid_usage).
    let reads_values = d.kind == Kind::Percentage
        && (d.min.is_some()
            || d.max.is_some()
            || d.free_events.is_some()
            || d.free_total.is_some_and(|t| !t.is_zero()));
    let usage_def = UsageDef {
        units: input.units.fx(),
        events_count: if reads_values {
            events.len() as u64
        } else {
            u64::from(input.events_count)
        },
        prorated_values: Vec::new(),
        full_units: input.full_units.map(Signed::fx),
        cents: input.cents.map(Signed::fx),
        event_values: events,
    };
    let usage_json = usage_def.json();
    let ctx = Ctx {
        model: d.kind.name(),
        properties: &props,
        currency: code,
        usage: &usage_json,
    };

    // 1. The model alone: a valid definition must be accepted.
    let model = match ChargeModel::from_lago_json(d.kind.name(), &props) {
        Ok(m) => m,
        Err(e) => panic!("valid definition rejected: {e:?}\ncontext: {ctx:#?}"),
    };
    assert_eq!(model.name(), d.kind.name(), "model kind");
    check_model(&d, &model, &usage_def, currency, input.delta.fx(), &ctx);

    // 2. The fee in arrears, typed and through the JSON edge.
    let prorated =
        input.prorated && matches!(d.kind, Kind::Standard | Kind::Volume | Kind::Graduated);
    let mut usage_def = usage_def;
    if prorated && d.kind == Kind::Graduated {
        // Prorated graduated needs aligned prorated values.
        usage_def.prorated_values = usage_def
            .event_values
            .iter()
            .enumerate()
            .map(|(i, v)| input.prorated_values.get(i).map_or(*v, |p| p.fx()))
            .collect();
        usage_def.events_count = usage_def.event_values.len() as u64;
    }
    let usage_json = usage_def.json();
    let cjson = charge_json(&d, input, &props, prorated, false);
    let fctx = Ctx {
        model: &cjson,
        properties: &props,
        currency: code,
        usage: &usage_json,
    };
    let charge = match Charge::from_lago_json(code, &cjson) {
        Ok(c) => c,
        Err(e) => panic!("valid charge rejected: {e:?}\ncontext: {fctx:#?}"),
    };
    let has_pu = input.pricing_unit.is_some_and(|p| p.m > 0);
    let period = match input.elapsed_days {
        Some(e) => Period::full(30).with_elapsed_days(u32::from(e % 31)),
        None => Period::full(30),
    };
    let usage = usage_def.usage();
    let typed = charge.rate(&[Bucket::new(usage.clone())], &period);
    if let Ok(fees) = &typed {
        assert_eq!(fees.fees.len(), 1, "one bucket, one fee");
        let fee = &fees.fees[0];
        check_fee(fee, currency, has_pu, false, &fctx);
        // Fee units are never negative (§4.2; a negative full_units_number,
        // which a prorated fee would report, is refused).
        assert!(
            !fee.units.is_negative() || fee.units.is_zero(),
            "fee units {} < 0\ncontext: {fctx:#?}",
            fee.units
        );
        // Not prorated and no pricing unit: the fee is the model amount,
        // clamped at 0 (§4.2).
        if !prorated && !has_pu {
            if let Ok(out) = model.apply(&usage, currency) {
                let clamp = usage.units.is_negative() && !usage.units.is_zero()
                    || out.amount.is_negative() && !out.amount.is_zero();
                let want = if clamp { Exact::ZERO } else { out.amount };
                assert_eq!(
                    fee.amount, want,
                    "fee amount != clamped model amount\ncontext: {fctx:#?}"
                );
                if clamp {
                    assert!(
                        fee.units.is_zero(),
                        "clamped fee keeps units\ncontext: {fctx:#?}"
                    );
                }
            }
        }
        if let Some(t) = &fees.true_up_fee {
            check_fee(t, currency, has_pu, true, &fctx);
            assert!(
                t.amount_cents > 0,
                "zero true-up fee (M9)\ncontext: {fctx:#?}"
            );
            if !has_pu {
                let min = i128::from(input.min_amount_cents.unwrap_or(0));
                assert_eq!(
                    t.amount_cents,
                    min - fee.amount_cents,
                    "true-up != min_amount_cents − fees\ncontext: {fctx:#?}"
                );
                check(
                    "true-up precise_amount_cents = min − used precise cents",
                    Fx::of(fee.precise_amount_cents).and_then(|p| Fx::int(min).sub(p)),
                    t.precise_amount_cents,
                    &fctx,
                );
            }
        } else if !has_pu {
            let min = i128::from(input.min_amount_cents.unwrap_or(0));
            assert!(
                fee.amount_cents >= min,
                "no true-up fee though {} < min {min}\ncontext: {fctx:#?}",
                fee.amount_cents
            );
        }
        let tu = fees.true_up_fee.as_ref();
        assert_eq!(
            fees.fees_amount_cents, fee.amount_cents,
            "fees_amount_cents"
        );
        assert_eq!(
            fees.amount_cents,
            fee.amount_cents + tu.map_or(0, |t| t.amount_cents),
            "amount_cents total\ncontext: {fctx:#?}"
        );
        assert_eq!(
            fees.total_amount_cents,
            fee.taxes.total_amount_cents + tu.map_or(0, |t| t.taxes.total_amount_cents),
            "total_amount_cents\ncontext: {fctx:#?}"
        );
    }

    // The JSON edge prices the same request the same way.
    let mut request =
        format!(r#"{{"id":1,"currency":"{code}","charge":{cjson},"usage":{usage_json}"#);
    if let Some(e) = period.elapsed_days {
        let _ = write!(
            request,
            r#","period":{{"duration_days":30,"elapsed_days":{e}}}"#
        );
    }
    request.push('}');
    let mut out = Vec::new();
    let _ = meterprice::rate_json(&request, &mut out, false);
    let v: serde_json::Value = match serde_json::from_slice(&out) {
        Ok(v) => v,
        Err(e) => panic!("rate_json wrote invalid JSON: {e}\nrequest: {request}"),
    };
    match &typed {
        Ok(fees) => {
            let fee = &fees.fees[0];
            let jfee = &v["fees"][0];
            assert!(
                jfee.is_object(),
                "typed API priced, rate_json did not: {v}\nrequest: {request}"
            );
            assert_eq!(
                jfee["amount"].as_str(),
                Some(fee.amount.to_string().as_str()),
                "rate_json amount differs from Charge::rate\nrequest: {request}"
            );
            if let Some(c) = jfee["amount_cents"].as_i64() {
                assert_eq!(
                    i128::from(c),
                    fee.amount_cents,
                    "rate_json amount_cents differs from Charge::rate\nrequest: {request}"
                );
            }
            if let Some(c) = v["total_amount_cents"].as_i64() {
                assert_eq!(
                    i128::from(c),
                    fees.total_amount_cents,
                    "rate_json total_amount_cents differs\nrequest: {request}"
                );
            }
        }
        Err(e) => {
            let want = match e {
                RateError::Usage(_) => "invalid_usage",
                RateError::Arithmetic(_) => "arithmetic_overflow",
                _ => "",
            };
            assert_eq!(
                v["error"]["code"].as_str(),
                Some(want),
                "typed API failed with {e:?}, rate_json said {v}\nrequest: {request}"
            );
        }
    }

    // 3. Pay in advance: one step of `delta` units is never negative.
    if d.kind != Kind::Volume {
        let advance = charge_json(&d, input, &props, false, true);
        let charge = match Charge::from_lago_json(code, &advance) {
            Ok(c) => c,
            Err(e) => panic!("valid pay-in-advance charge rejected: {e:?}\ncharge: {advance}"),
        };
        let before = usage_def.usage().with_prorated_event_values(Vec::new());
        let mut after = before.clone();
        let Some(u2) = usage_def.units.add(input.delta.fx()) else {
            return;
        };
        after.units = u2.exact();
        if let Ok(fee) = charge.price_step(&before, &after) {
            let pctx = (&advance, &usage_json, input.delta.fx().text());
            check_fee(&fee, currency, has_pu, false, &pctx);
            assert!(
                fee.pay_in_advance,
                "in-advance fee not marked pay_in_advance"
            );
            if d.kind == Kind::Standard && !has_pu && !usage_def.units.is_neg() {
                check(
                    "standard in-advance step = delta × price",
                    input.delta.fx().mul(d.amount),
                    fee.amount,
                    &pctx,
                );
            }
        }
    }
}

fuzz_target!(|input: Input| {
    run(&input);
});
