//! `meterprice explore` (docs/explore-json.md): the public cases through
//! the binary, hand-worked answers, error precedence, and properties
//! against brute force (every grid point priced by `Charge::rate`).

use meterprice::{
    Bucket, BudgetQuery, Charge, Cheaper, Exact, ExploreError, Explorer, Period, Usage, break_even,
};
use proptest::prelude::*;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::common::run;

/// A JSON value whose numbers keep their text (cents beyond 64 bits).
#[derive(Debug, Clone, PartialEq)]
enum J {
    Obj(Vec<(String, J)>),
    Arr(Vec<J>),
    Num(String),
    Str(String),
    Bool(bool),
    Null,
}

fn parse(text: &str) -> J {
    let raw: &RawValue = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let t = raw.get();
    match t.as_bytes().first() {
        Some(b'{') => {
            let m: std::collections::BTreeMap<String, &RawValue> =
                serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}: {t}"));
            J::Obj(m.into_iter().map(|(k, v)| (k, parse(v.get()))).collect())
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(t).unwrap();
            J::Arr(items.iter().map(|v| parse(v.get())).collect())
        }
        Some(b'"') => J::Str(serde_json::from_str(t).unwrap()),
        Some(b't') => J::Bool(true),
        Some(b'f') => J::Bool(false),
        Some(b'n') => J::Null,
        _ => J::Num(t.to_string()),
    }
}

fn get<'a>(j: &'a J, key: &str) -> Option<&'a J> {
    match j {
        J::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// check_explore.py's rule: every expected key present, decimals by value,
/// integers, booleans, null and words exactly, lists in order.
fn same(actual: &J, expected: &J, path: &str, errs: &mut Vec<String>) {
    match (expected, actual) {
        (J::Obj(m), J::Obj(_)) => {
            for (k, v) in m {
                match get(actual, k) {
                    None => errs.push(format!("{path}.{k}: missing")),
                    Some(a) => same(a, v, &format!("{path}.{k}"), errs),
                }
            }
        }
        (J::Arr(e), J::Arr(a)) if e.len() == a.len() => {
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                same(y, x, &format!("{path}[{i}]"), errs);
            }
        }
        (J::Str(e), J::Str(a)) if !["a", "b", "equal"].contains(&e.as_str()) => {
            let ok = matches!((e.parse::<Exact>(), a.parse::<Exact>()), (Ok(x), Ok(y)) if x == y);
            if !ok {
                errs.push(format!("{path}: got {a:?}, expected {e:?}"));
            }
        }
        (e, a) if e == a => {}
        (e, a) => errs.push(format!("{path}: got {a:?}, expected {e:?}")),
    }
}

#[test]
fn public_cases_pass_through_the_binary() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/explore-cases.jsonl"
    ))
    .unwrap();
    let cases: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // The request is the case without `expected`, numbers as written.
    let requests: Vec<String> = cases
        .iter()
        .map(|c| {
            let raw: std::collections::BTreeMap<String, Box<RawValue>> =
                serde_json::from_str(c).unwrap();
            let parts: Vec<String> = raw
                .iter()
                .filter(|(k, _)| k.as_str() != "expected")
                .map(|(k, v)| format!("{}:{}", json!(k), v.get()))
                .collect();
            format!("{{{}}}", parts.join(","))
        })
        .collect();
    let out = run(&["explore"], &(requests.join("\n") + "\n"));
    assert_eq!(out.raw.len(), cases.len(), "{}", out.stderr);
    let mut failures = Vec::new();
    for (case, line) in cases.iter().zip(&out.raw) {
        let case = parse(case);
        let got = parse(line);
        let id = get(&case, "id").cloned();
        let expected = get(&case, "expected").cloned().unwrap_or(J::Null);
        let mut errs = Vec::new();
        if get(&got, "id").cloned() != id {
            errs.push("id".to_string());
        }
        match get(&expected, "error") {
            Some(e) => {
                let code = get(&got, "error").and_then(|x| get(x, "code"));
                if code != get(e, "code") {
                    errs.push(format!("expected error {:?}, got {line}", get(e, "code")));
                }
            }
            None => same(&got, &expected, "", &mut errs),
        }
        if !errs.is_empty() {
            failures.push(format!("{id:?}: {}", errs.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn explore(line: &Value) -> Value {
    let mut out = Vec::new();
    meterprice::explore_json(&line.to_string(), &mut out, false);
    serde_json::from_slice(&out).unwrap()
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

fn standard(amount: &str) -> Value {
    json!({"charge_model": "standard", "properties": {"amount": amount}})
}

#[test]
fn errors_follow_the_contract_order() {
    let base = |extra: Value| {
        let mut v = json!({"id": 1, "currency": "EUR", "charge": standard("1")});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    // parse_error beats everything: a string budget with a broken charge.
    let v = base(json!({"charge": standard("-1"), "budget": {"budget_cents": "10"}}));
    assert_eq!(code(&explore(&v)), "parse_error");
    // A template key explore sets (even null) beats the charge's rule.
    let v = base(
        json!({"charge": standard("-1"), "usage": {"units": null}, "budget": {"budget_cents": 1}}),
    );
    assert_eq!(code(&explore(&v)), "invalid_usage");
    // rate's error for a (validation) before unsupported.
    let v = base(
        json!({"charge": {"charge_model": "dynamic", "properties": {}, "min_amount_cents": -1}, "budget": {"budget_cents": 1}}),
    );
    assert_eq!(code(&explore(&v)), "validation_error");
    // rate's error for b (invalid_usage at 0 units: no such filter) before a's unsupported.
    let v = base(json!({
        "charge": {"charge_model": "dynamic", "properties": {},
                   "filters": [{"values": {"region": ["eu"]}, "properties": {}}]},
        "usage": {"filter": {"region": ["eu"]}},
        "break_even": {"charge": standard("1"), "up_to": "10"}}));
    assert_eq!(code(&explore(&v)), "invalid_usage");
    // unsupported before a value out of range.
    let v = base(
        json!({"charge": {"charge_model": "dynamic", "properties": {}}, "budget": {"budget_cents": -5}}),
    );
    assert_eq!(code(&explore(&v)), "unsupported");
    // Out of range: a step of 29 places, an up_to over 10^28, max_pieces 0.
    for op in [
        json!({"budget": {"budget_cents": 1, "units_step": "0.00000000000000000000000000001"}}),
        json!({"curve": {"up_to": "1e29"}}),
        json!({"curve": {"up_to": "5", "max_pieces": 0}}),
    ] {
        assert_eq!(code(&explore(&base(op.clone()))), "invalid_usage", "{op}");
    }
    // 2^96 cents, and a JSON integer beyond 128 bits: out of range, not a parse error.
    for cents in [
        "79228162514264337593543950336",
        "1000000000000000000000000000000000000000000",
    ] {
        let line = format!(
            r#"{{"currency": "EUR", "charge": {{"charge_model": "standard", "properties": {{"amount": "1"}}}}, "budget": {{"budget_cents": {cents}}}}}"#
        );
        let mut out = Vec::new();
        meterprice::explore_json(&line, &mut out, false);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(code(&v), "invalid_usage", "{cents}");
    }
    // An event or a period, even null, is a parse error; so is no operation.
    for extra in [
        json!({"event": null, "budget": {"budget_cents": 1}}),
        json!({"period": {}, "budget": {"budget_cents": 1}}),
        json!({}),
    ] {
        assert_eq!(
            code(&explore(&base(extra.clone()))),
            "parse_error",
            "{extra}"
        );
    }
    // Too many pieces (a package of 1 unit per step, 100 steps, limit 10)
    // before an amount out of range (a curve up to 10^28 at 10^10 a unit).
    let v = json!({"id": 2, "currency": "EUR",
        "charge": {"charge_model": "package", "properties": {"amount": "1", "package_size": 1, "free_units": 0}},
        "curve": {"up_to": "100", "max_pieces": 10},
        "break_even": {"charge": standard("10000000000"), "up_to": "1e28"}});
    let r = explore(&v);
    assert_eq!(code(&r), "invalid_usage", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("100 canonical pieces"),
        "{r}"
    );
    let v = base(json!({"charge": standard("10000000000"), "curve": {"up_to": "1e28"}}));
    assert_eq!(code(&explore(&v)), "arithmetic_overflow");
}

#[test]
fn hand_worked_answers() {
    // Percentage 1 % + 0.25 fixed for 2 events: 0 at 0 units, then
    // 0.5 + u/100; with 1.5 EUR: u/100 ≤ 1 → 100 units (150 cents).
    let v = json!({"id": 3, "currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": {"rate": "1", "fixed_amount": "0.25"}},
        "usage": {"events_count": 2},
        "budget": {"budget_cents": 150}, "curve": {"up_to": "10"}});
    let r = explore(&v);
    assert_eq!(r["budget"]["max_units"], "100");
    assert_eq!(r["budget"]["next_cost_cents"], 151);
    assert_eq!(
        r["curve"]["points"][0],
        json!({"units": "0", "amount": "0"})
    );
    assert_eq!(r["curve"]["pieces"][0]["amount_from"], "0.5");
    assert_eq!(
        r["curve"]["points"][1],
        json!({"units": "10", "amount": "0.6"})
    );

    // A pricing unit (budget only): 1 credit a unit at 0.5 EUR a credit:
    // u units → round(u × 100) credit cents → × 0.5 EUR cents.
    // 1000 cents buy 20 units exactly; 20.01 would cost 1000.5 → 1001.
    let v = json!({"id": 4, "currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1"},
                   "applied_pricing_unit": {"code": "cr", "conversion_rate": "0.5"}},
        "budget": {"budget_cents": 1000, "units_step": "0.01"}});
    let r = explore(&v);
    assert_eq!(r["budget"]["max_units"], "20");
    assert_eq!(r["budget"]["next_cost_cents"], 1001);

    // A step of 10^-28 against a first-tier flat fee of 5 EUR: at 10^-28
    // units the unit amount is 5·10^28 EUR, past the range, so rate
    // overflows there: all usage stays within budget only up to 0.
    let v = json!({"id": 5, "currency": "EUR",
        "charge": {"charge_model": "graduated", "properties": {"graduated_ranges": [
            {"from_value": 0, "to_value": null, "per_unit_amount": "1", "flat_amount": "5"}]}},
        "budget": {"budget_cents": 1000, "units_step": "0.0000000000000000000000000001"}});
    let r = explore(&v);
    assert_eq!(r["budget"]["max_units"], "0", "{r}");
    assert_eq!(r["budget"]["next_cost_cents"], Value::Null);
    // The largest point within budget: round(100 × (5 + u)) ≤ 1000 while
    // 5 + u < 10.005, so the last grid point below 5.005.
    assert_eq!(
        r["budget"]["max_units_any"],
        "5.0049999999999999999999999999"
    );

    // Too many places: at 0.1 units a price of 10^-28 is 10^-29 EUR, whose
    // 10^-27 cents taxed at 10^-28 % have an exact tax of 10^-57 cents,
    // past the 56 places rate holds: rate overflows at every point but 0.
    let charge = json!({"charge_model": "standard",
        "properties": {"amount": "0.0000000000000000000000000001"},
        "taxes": [{"code": "t", "rate": "0.0000000000000000000000000001"}]});
    let line = json!({"currency": "EUR", "charge": charge, "usage": {"units": "0.1"}});
    let mut out = Vec::new();
    meterprice::rate_json(&line.to_string(), &mut out, false);
    let rated: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(rated["error"]["code"], "arithmetic_overflow", "{rated}");
    let v = json!({"id": 6, "currency": "EUR", "charge": charge,
        "budget": {"budget_cents": 1000, "units_step": "0.1"}});
    let r = explore(&v);
    assert_eq!(r["budget"]["unbounded"], false, "{r}");
    assert_eq!(r["budget"]["max_units"], "0");
    assert_eq!(r["budget"]["next_units"], "0.1");
    assert_eq!(r["budget"]["next_cost_cents"], Value::Null);
    assert_eq!(r["budget"]["max_units_any"], "0");
}

#[test]
fn exit_statuses_and_help() {
    let ok = json!({"currency": "EUR", "charge": standard("1"), "budget": {"budget_cents": 1}});
    assert_eq!(run(&["explore"], &format!("{ok}\n")).status, 0);
    assert_eq!(run(&["explore"], &format!("{ok}\nnot json\n")).status, 1);
    assert_eq!(run(&["explore", "/nonexistent/x.jsonl"], "").status, 2);
}

// ---------------------------------------------------------------------
// Properties against brute force.

/// A charge definition, its template, a currency: generated as JSON.
#[derive(Debug, Clone)]
struct Case {
    currency: &'static str,
    charge: Value,
    template: Value,
}

const PRICES: &[&str] = &[
    "0", "0.1", "0.25", "0.333", "0.5", "1", "1.5", "2.5", "0.0125", "3",
];
const FLATS: &[&str] = &["0", "0", "1", "2.5", "0.05", "10"];
const RATES: &[&str] = &["0", "1", "2.5", "10", "33.3"];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(list)
}

/// Tiers with increasing integer bounds below 30, each starting one after
/// the previous end (as every validator accepts).
fn tiers(price_key: &'static str, prices: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::collection::vec((2u32..10, pick(prices), pick(FLATS)), 1..4).prop_map(move |parts| {
        let mut out = Vec::new();
        let mut to = 0u32;
        for (i, (gap, price, flat)) in parts.iter().enumerate() {
            let from = if i == 0 { 0 } else { to + 1 };
            to += gap;
            let last = i + 1 == parts.len();
            out.push(
                json!({"from_value": from, "to_value": if last { Value::Null } else { json!(to) },
                price_key: price, "flat_amount": flat}),
            );
        }
        Value::Array(out)
    })
}

fn model() -> impl Strategy<Value = Value> {
    prop_oneof![
        pick(PRICES).prop_map(|p| json!({"charge_model": "standard", "properties": {"amount": p}})),
        tiers("per_unit_amount", PRICES).prop_map(|t| json!({"charge_model": "graduated", "properties": {"graduated_ranges": t}})),
        tiers("rate", RATES).prop_map(|t| json!({"charge_model": "graduated_percentage", "properties": {"graduated_percentage_ranges": t}})),
        tiers("per_unit_amount", PRICES).prop_map(|t| json!({"charge_model": "volume", "properties": {"volume_ranges": t}})),
        (pick(PRICES), 1u32..7, 0u32..10).prop_map(|(a, s, f)| json!({"charge_model": "package", "properties": {"amount": a, "package_size": s, "free_units": f}})),
        (pick(RATES), pick(FLATS)).prop_map(|(r, f)| json!({"charge_model": "percentage", "properties": {"rate": r, "fixed_amount": f}})),
    ]
}

/// A charge with taxes, a minimum, perhaps a filter or groups; its template.
fn case(pricing_unit: bool) -> impl Strategy<Value = Case> {
    (
        model(),
        pick(&["EUR", "JPY", "KWD"]),
        proptest::sample::subsequence(vec!["19.6", "5.5", "10", "20"], 0..3),
        prop_oneof![Just(0i64), Just(250), Just(999), Just(1234)],
        0u8..3,
        0u64..4,
        prop_oneof![Just(None), pick(&["0.5", "0.37", "2"]).prop_map(Some)],
    )
        .prop_map(move |(m, currency, taxes, min, shape, events, conv)| {
            let mut charge = m.clone();
            let taxes: Vec<Value> = taxes.iter().enumerate().map(|(i, r)| json!({"code": format!("t{i}"), "rate": r})).collect();
            charge["taxes"] = json!(taxes);
            charge["min_amount_cents"] = json!(min);
            if let (true, Some(c)) = (pricing_unit, conv) {
                charge["applied_pricing_unit"] = json!({"code": "cr", "conversion_rate": c});
            }
            let mut template = json!({"events_count": events});
            match shape {
                // A filter priced by the model; the charge's own properties differ.
                1 => {
                    charge["filters"] = json!([{"values": {"region": ["eu", "us"]}, "properties": m["properties"]}]);
                    charge["properties"] = other_properties(&m);
                    template["filter"] = json!({"region": ["eu"]});
                }
                2 => {
                    charge["properties"]["pricing_group_keys"] = json!(["cloud"]);
                    template["grouped_by"] = json!({"cloud": "aws"});
                }
                _ => {}
            }
            Case { currency, charge, template }
        })
}

/// Valid properties of the same model, other prices.
fn other_properties(m: &Value) -> Value {
    match m["charge_model"].as_str() {
        Some("standard") => json!({"amount": "7"}),
        Some("package") => json!({"amount": "7", "package_size": 1, "free_units": 0}),
        Some("percentage") => json!({"rate": "7"}),
        Some("graduated") => {
            json!({"graduated_ranges": [{"from_value": 0, "to_value": null, "per_unit_amount": "7", "flat_amount": "0"}]})
        }
        Some("volume") => {
            json!({"volume_ranges": [{"from_value": 0, "to_value": null, "per_unit_amount": "7", "flat_amount": "0"}]})
        }
        _ => {
            json!({"graduated_percentage_ranges": [{"from_value": 0, "to_value": null, "rate": "7", "flat_amount": "0"}]})
        }
    }
}

struct Built {
    charge: Charge,
    template: Bucket,
}

fn build(c: &Case) -> Built {
    let charge = Charge::from_lago_json(c.currency, &c.charge.to_string()).unwrap();
    let mut b = Bucket::new(
        Usage::default().with_events_count(c.template["events_count"].as_u64().unwrap_or(0)),
    );
    if let Some(f) = c.template.get("filter") {
        b = b.with_filter(vec![(
            "region".into(),
            vec![f["region"][0].as_str().unwrap().into()],
        )]);
    }
    if c.template.get("grouped_by").is_some() {
        b = b.with_group(vec![("cloud".into(), Some("aws".into()))]);
    }
    Built {
        charge,
        template: b,
    }
}

/// rate at `u`: (amount, amount_cents, total_amount_cents), `None` on error.
fn rate_at(b: &Built, u: Exact) -> Option<(Exact, i128, i128)> {
    let fees = rate_fees(b, u)?;
    Some((
        fees.fees[0].amount,
        fees.amount_cents,
        fees.total_amount_cents,
    ))
}

fn rate_fees(b: &Built, u: Exact) -> Option<meterprice::ChargeFees> {
    let mut bucket = b.template.clone();
    bucket.usage.units = u;
    b.charge.rate(&[bucket], &Period::full(1)).ok()
}

fn x(s: &str) -> Exact {
    s.parse().unwrap()
}

fn times(k: u32, step: Exact) -> Exact {
    step.checked_mul(Exact::from(k)).unwrap()
}

/// `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const STEPS: &[&str] = &["1", "0.5", "0.25", "2", "0.1", "3"];
const POINTS: u32 = 90;

proptest! {
    // 160 cases unless PROPTEST_CASES asks for more (a longer run by hand).
    #![proptest_config(ProptestConfig { cases: cases(160), max_global_rejects: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Budgets near the cost of a grid point: both answers equal the brute
    /// force over the grid, where the costs past it only grow.
    #[test]
    fn budget_answers_match_brute_force(c in case(true), step in pick(STEPS), at in 0u32..POINTS, delta in -1i128..2, taxes in any::<bool>()) {
        let b = build(&c);
        let step = x(step);
        // Enough points to pass every tier bound (below 30).
        let points = POINTS.max(x("40").checked_div(step).unwrap().trunc().to_string().parse().unwrap());
        let costs: Vec<Option<i128>> = (0..=points).map(|k| rate_at(&b, times(k, step)).map(|r| if taxes { r.2 } else { r.1 })).collect();
        let budget = costs[at as usize].unwrap_or(0) + delta;
        prop_assume!(budget >= 0);
        // Past the grid the amount only grows: beyond every tier bound (30)
        // and the band (no true-up), in the last tier, over budget.
        let last = costs[points as usize];
        prop_assume!(last.is_some_and(|l| l > budget));
        prop_assume!(rate_fees(&b, times(points, step)).is_some_and(|f| f.true_up_fee.is_none()));
        let growing = rate_at(&b, times(points + 1, step)).map(|r| if taxes { r.2 } else { r.1 });
        prop_assume!(growing.is_some_and(|g| g > budget));
        let explorer = match b.charge.explore(&b.template) {
            Ok(e) => e,
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let ans = explorer.units_for_budget(&BudgetQuery::new(budget, step, taxes).unwrap()).unwrap();
        let first_bad = costs.iter().position(|c| !c.is_some_and(|c| c <= budget)).unwrap();
        let last_good = costs.iter().rposition(|c| c.is_some_and(|c| c <= budget));
        let want_max = (first_bad > 0).then(|| times(first_bad as u32 - 1, step));
        prop_assert_eq!(ans.max_units, want_max, "max_units");
        prop_assert_eq!(ans.next_units, Some(times(first_bad as u32, step)));
        prop_assert_eq!(ans.next_cost_cents, costs[first_bad]);
        prop_assert_eq!(ans.cost_cents, first_bad.checked_sub(1).and_then(|i| costs[i]));
        prop_assert_eq!(ans.max_units_any, last_good.map(|k| times(k as u32, step)), "max_units_any");
        prop_assert!(!ans.unbounded && !ans.unbounded_any);
    }

    /// Every curve value: points, inside pieces, and 10^-6 around each
    /// breakpoint, against rate's amount.
    #[test]
    fn curve_values_match_rate(c in case(false), up_to in 1u32..40) {
        let b = build(&c);
        let explorer = b.charge.explore(&b.template).unwrap();
        let up_to = Exact::from(up_to);
        let curve = explorer.curve(up_to, 10_000).unwrap();
        prop_assert_eq!(curve.points.len(), curve.pieces.len() + 1);
        let tiny = x("0.000001");
        for (i, p) in curve.points.iter().enumerate() {
            prop_assert_eq!(Some(p.amount), rate_at(&b, p.units).map(|r| r.0), "point {}", i);
        }
        for (i, piece) in curve.pieces.iter().enumerate() {
            let value = |u: Exact| piece.amount_from.checked_add(piece.slope.checked_mul(u.checked_sub(piece.from).unwrap()).unwrap()).unwrap();
            let mid = piece.from.checked_add(piece.to).unwrap().checked_mul(x("0.5")).unwrap();
            for u in [mid, piece.from.checked_add(tiny).unwrap(), piece.to.checked_sub(tiny).unwrap()] {
                prop_assert_eq!(Some(value(u)), rate_at(&b, u).map(|r| r.0), "piece {} at {}", i, u);
            }
            // Canonical: a breakpoint is where amount is not one affine function.
            if let Some(next) = curve.pieces.get(i + 1) {
                let left = value(piece.to);
                let point = curve.points[i + 1].amount;
                prop_assert!(next.slope != piece.slope || next.amount_from != left || point != left,
                    "breakpoint {} is not needed", piece.to);
            }
        }
    }

    /// Every break-even interval against the grid's own winners.
    #[test]
    fn break_even_matches_brute_force(ca in case(false), cb in model(), step in pick(STEPS), up_to in 1u32..30) {
        let a = build(&ca);
        let mut b_charge = cb.clone();
        if ca.template.get("grouped_by").is_some() {
            b_charge["properties"]["pricing_group_keys"] = json!(["cloud"]);
        }
        if ca.template.get("filter").is_some() {
            b_charge["filters"] = json!([{"values": {"region": ["eu"]}, "properties": b_charge["properties"]}]);
        }
        let b = Built { charge: Charge::from_lago_json(ca.currency, &b_charge.to_string()).unwrap(), template: a.template.clone() };
        let (ea, eb): (Explorer<'_>, Explorer<'_>) = (a.charge.explore(&a.template).unwrap(), b.charge.explore(&b.template).unwrap());
        let step = x(step);
        let up_to = Exact::from(up_to);
        let runs = break_even(&ea, &eb, up_to, step, 10_000).unwrap();
        let mut want: Vec<(Exact, Exact, Cheaper)> = Vec::new();
        let mut k = 0;
        while times(k, step) <= up_to {
            let u = times(k, step);
            let (va, vb) = (rate_at(&a, u).unwrap().0, rate_at(&b, u).unwrap().0);
            let w = if va < vb { Cheaper::A } else if va > vb { Cheaper::B } else { Cheaper::Equal };
            match want.last_mut() {
                Some(last) if last.2 == w => last.1 = u,
                _ => want.push((u, u, w)),
            }
            k += 1;
        }
        let got: Vec<(Exact, Exact, Cheaper)> = runs.iter().map(|r| (r.from, r.to, r.cheaper)).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn large_budgets_take_no_longer_and_stay_exact() {
    // 5-tier graduated: with 10^22 cents the answer is far in the last tier.
    let charge = Charge::from_lago_json(
        "EUR",
        r#"{"charge_model": "graduated", "properties": {"graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 10, "to_value": 100, "per_unit_amount": "0.5", "flat_amount": "2"},
        {"from_value": 100, "to_value": 1000, "per_unit_amount": "0.25", "flat_amount": "0"},
        {"from_value": 1000, "to_value": 10000, "per_unit_amount": "0.1", "flat_amount": "0"},
        {"from_value": 10000, "to_value": null, "per_unit_amount": "0.03", "flat_amount": "0"}]}}"#,
    )
    .unwrap();
    let e = charge.explore(&Bucket::new(Usage::default())).unwrap();
    let a = e
        .units_for_budget(&BudgetQuery::new(10i128.pow(22), Exact::ONE, false).unwrap())
        .unwrap();
    let max = a.max_units.unwrap();
    // Its cost is within the budget, the next unit's is not: rate's own.
    assert!(e.cost_at(max, false).unwrap() <= 10i128.pow(22));
    assert!(
        e.cost_at(max.checked_add(Exact::ONE).unwrap(), false)
            .unwrap()
            > 10i128.pow(22)
    );
    // Up to 10,000 units: 10 + (45 + 2) + 225 + 900 = 1,182 EUR; then 0.03
    // a unit. The cents stay ≤ 10^22 while the amount is below
    // 10^20 + 0.005: (10^20 − 1,181.995) / 0.03 = 3,333,333,333,333,333,293,933.5
    // units past 10,000, so 3,333,333,333,333,333,293,933 of them.
    assert_eq!(max, x("3333333333333333303933"));
    assert!(e.curve(x("10"), 1).is_ok());
    assert!(matches!(
        e.curve(x("20"), 1),
        Err(ExploreError::TooManyPieces {
            pieces: 2,
            limit: 1
        })
    ));
}
