//! Plan comparison: a month of events replayed against three plans, each
//! plan's total, and where each pair of differing charges breaks even.
//!
//! ```sh
//! python3 examples/gen_events.py --events 100000 --subscriptions 100 --out target/bill
//! cargo run --release --example compare_plans -- target/bill
//! ```
//!
//! The plans: `scale` (the generator's plan.json), `volume` (storage priced
//! by volume instead of graduated tiers) and `flat` (API calls and seats at
//! flat unit prices). Totals come from the billing run (the same code as
//! `meterprice usage --plan`); break-even intervals from the charges' exact
//! price curves (`meterprice explore`'s `break_even`), for one bucket with no
//! filter and no group.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::{fs, io::BufReader};

use meterprice::{BillingRunOptions, Bucket, Charge, Usage, billing_run, break_even};
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/bill".into());
    let scale: Value = serde_json::from_str(&fs::read_to_string(format!("{dir}/plan.json"))?)?;
    let volume = with_charge(
        &scale,
        "storage",
        json!({"charge_model": "volume",
        "properties": {"volume_ranges": [
            {"from_value": 0, "to_value": 100, "per_unit_amount": "0.05", "flat_amount": "0"},
            {"from_value": 101, "to_value": null, "per_unit_amount": "0.03", "flat_amount": "2"}],
        "pricing_group_keys": ["agent"]}}),
    );
    let flat = with_charge(
        &scale,
        "api_calls",
        json!({"charge_model": "standard",
        "properties": {"amount": "0.0011"}}),
    );
    let flat = with_charge(
        &flat,
        "seats",
        json!({"charge_model": "standard",
        "properties": {"amount": "3.5"}}),
    );
    let plans = [("scale", scale), ("volume", volume), ("flat", flat)];

    println!("plan     subscriptions  total (EUR, taxes included)");
    for (name, plan) in &plans {
        let (subscriptions, cents) = bill(&dir, plan)?;
        println!("{name:<8} {subscriptions:>13}  {}", Exact2(cents));
    }
    for (i, (a, pa)) in plans.iter().enumerate() {
        for (b, pb) in plans.iter().skip(i + 1) {
            for (code, ca, cb, keys) in differing_charges(pa, pb) {
                println!("\n{code}: {a} against {b}, one bucket, 0 to 100,000 units");
                let group = keys
                    .into_iter()
                    .map(|k| (k, Some("any".to_owned())))
                    .collect();
                let template = Bucket::new(Usage::default()).with_group(group);
                compare(&template, &ca, &cb, a, b)?;
            }
        }
    }
    Ok(())
}

/// The plan with charge `code`'s model and properties replaced (its
/// filters' single graduated ranges become volume ranges).
fn with_charge(plan: &Value, code: &str, model: Value) -> Value {
    let mut plan = plan.clone();
    for charge in plan["plan"]["charges"].as_array_mut().unwrap() {
        if charge["code"] == code {
            charge["charge_model"] = model["charge_model"].clone();
            charge["properties"] = model["properties"].clone();
            // A filter's properties follow the charge's model: its one
            // range prices the same under either tier model.
            for filter in charge["filters"].as_array_mut().into_iter().flatten() {
                let p = filter["properties"].as_object_mut().unwrap();
                if let Some(ranges) = p.remove("graduated_ranges") {
                    p.insert("volume_ranges".into(), ranges);
                }
            }
        }
    }
    plan
}

/// The billing run of `plan` over the month: subscriptions and the sum of
/// their `total_amount_cents`.
fn bill(dir: &str, plan: &Value) -> Result<(usize, i128), Error> {
    let opts = BillingRunOptions::new(
        plan.to_string(),
        "2024-03-01T00:00:00Z",
        "2024-03-31T23:59:59Z",
    );
    let events = BufReader::new(fs::File::open(format!("{dir}/events.jsonl"))?);
    let mut out = Vec::new();
    billing_run(&opts, events, &mut out, std::io::sink())?;
    let mut total = 0i128;
    let lines: Vec<&[u8]> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    for line in &lines {
        let v: Value = serde_json::from_slice(line)?;
        total += i128::from(
            v["customer_usage"]["total_amount_cents"]
                .as_i64()
                .ok_or("no total")?,
        );
    }
    Ok((lines.len(), total))
}

/// The charges (model and properties) that differ between two plans, with
/// their pricing group keys.
fn differing_charges(a: &Value, b: &Value) -> Vec<(String, Charge, Charge, Vec<String>)> {
    let charge = |plan: &Value, c: &Value| {
        let text = json!({"charge_model": c["charge_model"], "properties": c["properties"]});
        Charge::from_lago_json(plan["currency"].as_str().unwrap(), &text.to_string()).unwrap()
    };
    let (ca, cb) = (
        a["plan"]["charges"].as_array().unwrap(),
        b["plan"]["charges"].as_array().unwrap(),
    );
    ca.iter()
        .zip(cb)
        .filter(|(x, y)| {
            x["charge_model"] != y["charge_model"] || x["properties"] != y["properties"]
        })
        .map(|(x, y)| {
            let keys = x["properties"]["pricing_group_keys"]
                .as_array()
                .into_iter()
                .flatten();
            let keys = keys.map(|k| k.as_str().unwrap().to_owned()).collect();
            (
                x["code"].as_str().unwrap().to_owned(),
                charge(a, x),
                charge(b, y),
                keys,
            )
        })
        .collect()
}

/// Prints the maximal runs of units where `a`, `b` or neither is cheaper.
fn compare(t: &Bucket, a: &Charge, b: &Charge, name_a: &str, name_b: &str) -> Result<(), Error> {
    let (ea, eb) = (a.explore(t)?, b.explore(t)?);
    for run in break_even(&ea, &eb, "100000".parse()?, "1".parse()?, 10_000)? {
        let who = match run.cheaper.as_str() {
            "a" => name_a,
            "b" => name_b,
            _ => "neither",
        };
        println!(
            "  {:>7} – {:<7} {who} cheaper",
            run.from.to_string(),
            run.to.to_string()
        );
    }
    Ok(())
}

/// Cents shown as units of a two-decimal currency.
struct Exact2(i128);

impl std::fmt::Display for Exact2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, (self.0 % 100).abs())
    }
}
