//! Hand-worked examples per model at the edges (arithmetic in comments),
//! through the library API.

use meterprice::{
    AmountDetails, ChargeModel, Currency, DefinitionError, Exact, ModelOutcome, Usage,
};

fn x(s: &str) -> Exact {
    s.parse().unwrap()
}

fn eur() -> Currency {
    Currency::from_code("EUR").unwrap()
}

fn model(name: &str, props: &str) -> ChargeModel {
    ChargeModel::from_lago_json(name, props).unwrap_or_else(|e| panic!("{name} {props}: {e}"))
}

fn apply(m: &ChargeModel, units: &str) -> ModelOutcome {
    m.apply(&Usage::new(x(units)), eur()).unwrap()
}

/// Graduated `[0–10 @1 flat 0], [11–20 @2 flat 3], [21–∞ @0.5 flat 0]`.
fn g3() -> ChargeModel {
    model(
        "graduated",
        r#"{"graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 11, "to_value": 20, "per_unit_amount": "2", "flat_amount": "3"},
        {"from_value": 21, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "0"}]}"#,
    )
}

fn graduated_units(out: &ModelOutcome) -> Vec<String> {
    match &out.details {
        AmountDetails::Graduated(lines) => lines.iter().map(|l| l.units.to_string()).collect(),
        other => panic!("not graduated details: {other:?}"),
    }
}

#[test]
fn graduated_on_a_to_value_stays_in_the_tier() {
    // 10 units: 10 × 1 = 10; the second tier is not reached.
    let out = apply(&g3(), "10");
    assert_eq!(out.amount, x("10"));
    assert_eq!(graduated_units(&out), ["10"]);
}

#[test]
fn graduated_just_above_a_to_value() {
    // 10.0001 units: 10 × 1 + 0.0001 × 2 + flat 3 = 13.0002.
    let out = apply(&g3(), "10.0001");
    assert_eq!(out.amount, x("13.0002"));
    assert_eq!(graduated_units(&out), ["10", "0.0001"]);
}

#[test]
fn graduated_between_a_to_value_and_the_next_from_value() {
    // 10.5 units over [0–10], [11–20]: the span (10, 20] holds 0.5 units
    // (M1): 10 + 0.5 × 2 + 3 = 14.
    let out = apply(&g3(), "10.5");
    assert_eq!(out.amount, x("14"));
    assert_eq!(graduated_units(&out), ["10", "0.5"]);
}

#[test]
fn graduated_zero_and_tiny_units() {
    // 0 units: the first tier's flat fee (0 here) is all: 0.
    let out = apply(&g3(), "0");
    assert_eq!(out.amount, Exact::ZERO);
    assert_eq!(out.unit_amount, Exact::ZERO);
    assert_eq!(graduated_units(&out), ["0"]);
    // 0.0001 units × 1 = 0.0001, unit amount 1.
    let out = apply(&g3(), "0.0001");
    assert_eq!(out.amount, x("0.0001"));
    assert_eq!(out.unit_amount, x("1"));
}

#[test]
fn graduated_huge_usage() {
    // 10^15 units: 10 × 1 + 10 × 2 + 3 + (10^15 − 20) × 0.5 = 500000000000023.
    let out = apply(&g3(), "1000000000000000");
    assert_eq!(out.amount, x("500000000000023"));
}

#[test]
fn graduated_first_tier_flat_fee_is_billed_at_zero_units() {
    // Q5 (kept): [0–10 @2 flat 100], [11–∞ @1 flat 50], no usage → 100.
    let m = model(
        "graduated",
        r#"{"graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "2", "flat_amount": "100"},
        {"from_value": 11, "to_value": null, "per_unit_amount": "1", "flat_amount": "50"}]}"#,
    );
    assert_eq!(apply(&m, "0").amount, x("100"));
}

#[test]
fn graduated_with_fifty_tiers() {
    // 50 tiers of 10 units, tier i (1-based) at i per unit, flat 0; the last
    // open. 495 units fill tiers 1..=49 (490 units) and put 5 in tier 50:
    // Σ_{i=1}^{49} 10·i + 5 × 50 = 10 × 1225 + 250 = 12500.
    let mut ranges = Vec::new();
    for i in 0..50u32 {
        let from = if i == 0 { 0 } else { i * 10 + 1 };
        let to = if i == 49 {
            "null".to_string()
        } else {
            ((i + 1) * 10).to_string()
        };
        ranges.push(format!(
            r#"{{"from_value": {from}, "to_value": {to}, "per_unit_amount": "{}", "flat_amount": "0"}}"#,
            i + 1
        ));
    }
    let m = model(
        "graduated",
        &format!(r#"{{"graduated_ranges": [{}]}}"#, ranges.join(",")),
    );
    let out = apply(&m, "495");
    assert_eq!(out.amount, x("12500"));
    assert_eq!(graduated_units(&out).len(), 50);
}

#[test]
fn graduated_decimal_bounds_and_zero_prices() {
    // [0–0.1 @10], [0.1–1 @0], [1–∞ @2]: 0.5 units → 0.1 × 10 + 0.4 × 0 = 1.
    let m = model(
        "graduated",
        r#"{"graduated_ranges": [
        {"from_value": 0, "to_value": 0.1, "per_unit_amount": "10", "flat_amount": "0"},
        {"from_value": 0.1, "to_value": 1, "per_unit_amount": "0", "flat_amount": "0"},
        {"from_value": 1, "to_value": null, "per_unit_amount": "2", "flat_amount": "0"}]}"#,
    );
    let out = apply(&m, "0.5");
    assert_eq!(out.amount, x("1"));
    assert_eq!(graduated_units(&out), ["0.1", "0.4"]);
}

#[test]
fn graduated_percentage_per_tier_rates() {
    // [0–10 rate 1 flat 200], [11–20 rate 2 flat 300], [21–∞ rate 3 flat 400]
    // at 21 units: 10 × 1% + 200 + 10 × 2% + 300 + 1 × 3% + 400 = 900.33 (E24).
    let m = model(
        "graduated_percentage",
        r#"{"graduated_percentage_ranges": [
        {"from_value": 0, "to_value": 10, "rate": "1", "flat_amount": "200"},
        {"from_value": 11, "to_value": 20, "rate": "2", "flat_amount": "300"},
        {"from_value": 21, "to_value": null, "rate": "3", "flat_amount": "400"}]}"#,
    );
    assert_eq!(apply(&m, "21").amount, x("900.33"));
    // Adjacent bounds count each unit once (Q3 fixed by M1): [0–10], [10–∞]
    // at rate 1, 15 units → 15 × 1% = 0.15 (Lago: 0.16).
    let m = model(
        "graduated_percentage",
        r#"{"graduated_percentage_ranges": [
        {"from_value": 0, "to_value": 10, "rate": "1", "flat_amount": "0"},
        {"from_value": 10, "to_value": null, "rate": "1", "flat_amount": "0"}]}"#,
    );
    assert_eq!(apply(&m, "15").amount, x("0.15"));
}

#[test]
fn package_counts_started_packages_exactly() {
    let m = model(
        "package",
        r#"{"amount": "100", "package_size": 10, "free_units": 0}"#,
    );
    // 20 units: exactly 2 packages → 200.
    assert_eq!(apply(&m, "20").amount, x("200"));
    // 20.00000000000000000001 units: a third package started (M2; Lago's
    // binary floats see 2) → 300.
    assert_eq!(apply(&m, "20.00000000000000000001").amount, x("300"));
    // 0.0001 units: one package.
    assert_eq!(apply(&m, "0.0001").amount, x("100"));
    // Free units beyond usage: nothing to pay.
    let m = model(
        "package",
        r#"{"amount": "100", "package_size": 10, "free_units": 200}"#,
    );
    assert_eq!(apply(&m, "121").amount, Exact::ZERO);
}

#[test]
fn percentage_free_units_and_fixed_fee() {
    // E33: rate 1.3, fixed 2, N = 3, T = 250, 4 events 50, 100, 250, 400
    // (running totals of the first 3: 50, 150, 400 → free = T = 250, and 2
    // totals below T → 2 free events): (800 − 250) × 1.3% + 2 × 2 = 11.15.
    let m = model(
        "percentage",
        r#"{"rate": "1.3", "fixed_amount": "2.0", "free_units_per_events": 3, "free_units_per_total_aggregation": "250.0"}"#,
    );
    let usage = Usage::new(x("800"))
        .with_events_count(4)
        .with_event_values(vec![x("50"), x("100"), x("250"), x("400")]);
    let out = m.apply(&usage, eur()).unwrap();
    assert_eq!(out.amount, x("11.15"));
}

#[test]
fn percentage_per_transaction_bounds() {
    // E42: events 10, 80, 10000 at 2.99 %, min 1.75, max 12:
    // max(0.299, 1.75) + 2.392 + min(299, 12) = 16.142.
    let m = model(
        "percentage",
        r#"{"rate": "2.99", "fixed_amount": "0", "per_transaction_min_amount": "1.75", "per_transaction_max_amount": "12"}"#,
    );
    let usage = Usage::new(x("10090"))
        .with_events_count(3)
        .with_event_values(vec![x("10"), x("80"), x("10000")]);
    assert_eq!(m.apply(&usage, eur()).unwrap().amount, x("16.142"));
}

#[test]
fn volume_picks_one_tier_for_all_units() {
    // E47–E53: [0–100 @2 flat 10], [101–200 @1], [201–∞ @0.5 flat 50].
    let m = model(
        "volume",
        r#"{"volume_ranges": [
        {"from_value": 0, "to_value": 100, "per_unit_amount": "2", "flat_amount": "10"},
        {"from_value": 101, "to_value": 200, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 201, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "50"}]}"#,
    );
    assert_eq!(apply(&m, "0").amount, x("10")); // flat of the first tier
    assert_eq!(apply(&m, "100").amount, x("210")); // on the to_value: 100 × 2 + 10
    assert_eq!(apply(&m, "100.5").amount, x("100.5")); // between 100 and 101: tier 2
    assert_eq!(apply(&m, "300").amount, x("200")); // 300 × 0.5 + 50
}

#[test]
fn volume_with_a_one_unit_gap_has_a_tier_for_every_usage() {
    // Q9 (M1): [0–10 @1], [12–∞ @2], 11 units → tier 2: 22 (Lago crashes).
    let m = model(
        "volume",
        r#"{"volume_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 12, "to_value": null, "per_unit_amount": "2", "flat_amount": "0"}]}"#,
    );
    assert_eq!(apply(&m, "11").amount, x("22"));
}

#[test]
fn standard_zero_price_and_exact_products() {
    let m = model("standard", r#"{"amount": "0"}"#);
    assert_eq!(apply(&m, "1000000000000000").amount, Exact::ZERO);
    // 30 significant digits, exact: 999999999999997 × 486.374144085519.
    let m = model("standard", r#"{"amount": "486.374144085519"}"#);
    assert_eq!(
        apply(&m, "999999999999997").amount,
        x("486374144085517540.877567743443")
    );
}

#[test]
fn dynamic_reads_minor_units_of_the_currency() {
    // E68: 40.2 cents over 20 units → 0.402 EUR, unit 0.0201.
    let usage = Usage::new(x("20")).with_precise_total_amount_cents(x("40.2"));
    let out = ChargeModel::from_lago_json("dynamic", "{}")
        .unwrap()
        .apply(&usage, eur())
        .unwrap();
    assert_eq!((out.amount, out.unit_amount), (x("0.402"), x("0.0201")));
    // In JPY the minor unit is the yen: 1234.5 → 1234.5 JPY.
    let usage = Usage::new(x("3")).with_precise_total_amount_cents(x("1234.5"));
    let jpy = Currency::from_code("JPY").unwrap();
    let out = ChargeModel::from_lago_json("dynamic", "{}")
        .unwrap()
        .apply(&usage, jpy)
        .unwrap();
    assert_eq!(out.amount, x("1234.5"));
}

#[test]
fn validation_reports_every_violation_at_once() {
    let err = ChargeModel::from_lago_json(
        "graduated",
        r#"{"graduated_ranges": [{"from_value": 0, "to_value": 100}, {"from_value": 120, "to_value": 100}]}"#,
    )
    .unwrap_err();
    let DefinitionError::Invalid(v) = err else {
        panic!("not a validation error")
    };
    let pairs: Vec<(String, &str)> = v
        .violations
        .iter()
        .map(|v| (v.field.clone(), v.code))
        .collect();
    // Two tiers × (per_unit_amount, flat_amount) + the broken chain.
    assert_eq!(
        pairs.iter().filter(|(_, c)| *c == "invalid_amount").count(),
        4
    );
    assert!(pairs.contains(&("graduated_ranges".to_string(), "invalid_graduated_ranges")));
    // Messages name the index and the value.
    assert!(
        v.violations
            .iter()
            .any(|v| v.message.contains("graduated_ranges[1]") && v.message.contains("120"))
    );
}

#[test]
fn out_of_range_results_are_errors_not_rounded_numbers() {
    // 1e27 × 1e10 = 1e37 ≥ 2^96.
    let m = model("standard", r#"{"amount": "10000000000"}"#);
    assert!(
        m.apply(&Usage::new(x("1000000000000000000000000000")), eur())
            .is_err()
    );
    // 1e-13 × 1e-16 = 1e-29: 29 places, still exact (M3).
    let m = model("standard", r#"{"amount": "0.0000000000000001"}"#);
    let out = m.apply(&Usage::new(x("0.0000000000001")), eur()).unwrap();
    assert_eq!(out.amount.to_string(), "0.00000000000000000000000000001");
    // 1e-28 units × 1e-28 % = 1e-58: past 56 places, an error.
    let m = model(
        "percentage",
        r#"{"rate": "0.0000000000000000000000000001"}"#,
    );
    assert!(
        m.apply(&Usage::new(x("0.0000000000000000000000000001")), eur())
            .is_err()
    );
}
