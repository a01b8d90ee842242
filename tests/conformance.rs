//! The public conformance sets (`tests/data`, from `shared/conformance`),
//! each run through the real `meterprice rate` binary, as the held-out sets
//! are.

use serde_json::{Value, json};

use crate::common::{close, data, rate_batch, run, same, subset};

/// The request the conformance README builds from a vector.
fn vector_request(v: &Value) -> Value {
    let agg = &v["aggregation"];
    let mut usage = json!({"units": agg["units"], "events_count": agg["events_count"]});
    for k in [
        "event_values",
        "full_units_number",
        "precise_total_amount_cents",
    ] {
        if !agg[k].is_null() {
            usage[k] = agg[k].clone();
        }
    }
    let mut charge = json!({"charge_model": v["charge_model"], "properties": v["properties"]});
    if v["prorated"] == json!(true) {
        charge["prorated"] = json!(true);
    }
    json!({"id": v["id"], "currency": v["currency"], "charge": charge, "usage": usage})
}

/// Compares amount details value by value: decimals exactly, except the
/// quotient key (volume `per_unit_amount`); integers and nulls exactly; the
/// same keys.
fn details(
    expected: &Value,
    actual: &Value,
    path: &str,
    quotient_key: Option<&str>,
    errors: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let (mut ek, mut ak): (Vec<_>, Vec<_>) = (e.keys().collect(), a.keys().collect());
            ek.sort();
            ak.sort();
            if ek != ak {
                errors.push(format!("{path}: keys {ek:?} vs {ak:?}"));
            }
            for (k, ev) in e {
                if let Some(av) = a.get(k) {
                    details(ev, av, &format!("{path}.{k}"), quotient_key, errors);
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                details(ev, av, &format!("{path}[{i}]"), quotient_key, errors);
            }
        }
        (Value::String(e), Value::String(a)) => {
            let is_quotient = quotient_key.is_some_and(|q| path.ends_with(&format!(".{q}")));
            let ok = if is_quotient { close(e, a) } else { same(e, a) };
            if !ok {
                errors.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        (e, a) if e != a => errors.push(format!("{path}: expected {e}, got {a}")),
        _ => {}
    }
}

#[test]
fn every_charge_model_vector_matches() {
    let vectors = data("vectors.jsonl");
    assert_eq!(vectors.len(), 495);
    let requests: Vec<Value> = vectors.iter().map(vector_request).collect();
    let results = rate_batch(&requests);
    let mut failures = Vec::new();
    for (v, r) in vectors.iter().zip(&results) {
        let exp = &v["expected"];
        let mut errors = Vec::new();
        assert_eq!(r["id"], v["id"], "results come back in input order");
        if let Some(err) = exp.get("error") {
            subset(&json!({"error": err}), r, "", &mut errors);
        } else if let Some(fee) = r["fees"].get(0) {
            let amount = exp["amount"].as_str().unwrap_or("0");
            let negative = crate::common::exact(v["aggregation"]["units"].as_str().unwrap_or("0"))
                .is_negative()
                || crate::common::exact(amount).is_negative();
            let got_amount = fee["amount"].as_str().unwrap_or("");
            if negative {
                // The fee never goes negative (semantics.md §4.2): 0, units 0.
                if !same("0", got_amount)
                    || fee["units"] != json!("0")
                    || fee["amount_cents"] != json!(0)
                {
                    errors.push(format!("clamped fee expected, got {fee}"));
                }
            } else {
                if !same(amount, got_amount) {
                    errors.push(format!("amount: expected {amount}, got {got_amount}"));
                }
                let unit = exp["unit_amount"].as_str().unwrap_or("0");
                let got_unit = fee["precise_unit_amount"].as_str().unwrap_or("");
                if !close(unit, got_unit) {
                    errors.push(format!("unit_amount: expected {unit}, got {got_unit}"));
                }
            }
            let quotient = (v["charge_model"] == json!("volume")).then_some("per_unit_amount");
            details(
                &exp["amount_details"],
                &fee["amount_details"],
                "amount_details",
                quotient,
                &mut errors,
            );
        } else {
            errors.push(format!("no fee: {r}"));
        }
        if !errors.is_empty() {
            failures.push(format!("{}: {}", v["id"], errors.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 495 vectors fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn amount_cents_round_half_away_at_the_currency_exponent() {
    // For every vector: amount_cents = round_half_away(amount, e) × 10^e,
    // read from the raw output line, since cents may exceed 64 bits.
    let vectors = data("vectors.jsonl");
    let requests: Vec<Value> = vectors.iter().map(vector_request).collect();
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let out = run(&["rate"], &input);
    for ((v, r), raw) in vectors.iter().zip(&out.lines).zip(&out.raw) {
        let Some(fee) = r["fees"].get(0) else {
            continue;
        };
        let amount = crate::common::exact(fee["amount"].as_str().unwrap_or("0"));
        let exponent = match v["currency"].as_str() {
            Some("JPY") => 0,
            Some("KWD") => 3,
            _ => 2,
        };
        let ten: meterprice::Exact = "10".parse().unwrap();
        let cents = (0..exponent).fold(amount.round_half_away(exponent), |acc, _| {
            acc.checked_mul(ten).unwrap()
        });
        let key = "\"amount_cents\":";
        let at = raw.find(key).map(|i| i + key.len()).unwrap_or(0);
        let digits: String = raw[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        assert_eq!(digits, cents.to_string(), "{}: amount {amount}", v["id"]);
    }
}

#[test]
fn every_invalid_definition_is_refused_with_lagos_fields_and_codes() {
    let invalid = data("invalid.jsonl");
    assert_eq!(invalid.len(), 82);
    let requests: Vec<Value> = invalid
        .iter()
        .map(|v| {
            json!({"id": v["id"], "currency": "EUR",
                   "charge": {"charge_model": v["charge_model"], "properties": v["properties"]},
                   "usage": {"units": "1", "events_count": 1}})
        })
        .collect();
    let mut failures = Vec::new();
    for (v, r) in invalid.iter().zip(rate_batch(&requests)) {
        let expected = json!({"id": v["id"], "error": {"code": "validation_error", "details": v["expected_errors"]}});
        let mut errors = Vec::new();
        subset(&expected, &r, "", &mut errors);
        if !errors.is_empty() {
            failures.push(format!("{}: {}", v["id"], errors.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 82 invalid definitions:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fee_case_matches() {
    let cases = data("fee-cases.jsonl");
    assert_eq!(cases.len(), 52);
    let mut failures = Vec::new();
    // Plain requests go through in one batch; raw lines and batches alone.
    let plain: Vec<&Value> = cases
        .iter()
        .filter(|c| c.get("request").is_some())
        .collect();
    let requests: Vec<Value> = plain.iter().map(|c| c["request"].clone()).collect();
    for (c, r) in plain.iter().zip(rate_batch(&requests)) {
        let mut errors = Vec::new();
        subset(&c["expected"], &r, "", &mut errors);
        if !errors.is_empty() {
            failures.push(format!("{}: {}", c["id"], errors.join("; ")));
        }
    }
    for c in cases.iter().filter(|c| c.get("request").is_none()) {
        let mut errors = Vec::new();
        if let Some(raw) = c["request_raw"].as_str() {
            let out = run(&["rate"], &format!("{raw}\n"));
            assert_eq!(out.status, 1, "{}: an error result exits 1", c["id"]);
            subset(&c["expected"], &out.lines[0], "", &mut errors);
        } else if let Some(lines) = c["request_lines"].as_array() {
            let input: String = lines
                .iter()
                .map(|l| format!("{}\n", l.as_str().unwrap_or("")))
                .collect();
            let out = run(&["rate"], &input);
            subset(
                &c["expected_lines"],
                &Value::Array(out.lines),
                "lines",
                &mut errors,
            );
            if json!(out.status) != c["expected_exit_status"] {
                errors.push(format!("exit status {}", out.status));
            }
        }
        if !errors.is_empty() {
            failures.push(format!("{}: {}", c["id"], errors.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 52 fee cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
