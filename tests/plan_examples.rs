//! The done-when of issue 11: the plan of `examples/plan.jsonl` priced from
//! Rust with builders alone (`examples/builders.rs`) and with serde alone
//! (`examples/serde.rs`) gives what `meterprice rate` gives for the same
//! requests, byte for byte in the contract's JSON.

use meterprice::ChargeFees;

use crate::common::run;

#[allow(dead_code)] // its main is the example's own
#[path = "../examples/builders.rs"]
mod builders;

#[allow(dead_code)]
#[path = "../examples/serde.rs"]
mod serde_example;

fn plan_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// `meterprice rate examples/plan.jsonl`: each result line by its id,
/// without the id.
fn rated() -> Vec<(String, String)> {
    let out = run(&["rate"], &plan_file("plan.jsonl"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    out.raw
        .iter()
        .map(|line| {
            let id = line["{\"id\":\"".len()..]
                .split('"')
                .next()
                .unwrap()
                .to_string();
            let body = format!("{{{}", &line[line.find(",\"fees\":").unwrap() + 1..]);
            (id, body)
        })
        .collect()
}

fn as_json(fees: Vec<(impl ToString, ChargeFees)>) -> Vec<(String, String)> {
    fees.into_iter()
        .map(|(code, f)| (code.to_string(), serde_json::to_string(&f).unwrap()))
        .collect()
}

#[test]
fn the_builders_example_prices_the_plan_as_rate_does() {
    let expected = rated();
    assert_eq!(expected.len(), 5);
    assert_eq!(as_json(builders::plan().unwrap()), expected);
}

#[test]
fn the_serde_example_prices_the_plan_as_rate_does() {
    let fees = serde_example::plan(&plan_file("plan.json")).unwrap();
    assert_eq!(as_json(fees), rated());
}

#[test]
fn the_plan_adds_up_as_worked_by_hand() {
    // api: 1000 × 0.01 + 9000 × 0.008 + 2500 × 0.005 + 5 = 99.5 EUR;
    // storage: 250.5 × 0.15 + 10 = 47.575 → 47.58; payments: clamp(0.28),
    // 1.3, clamp(15.1 → 5) = 6.58; seats: ceil((13 − 2) / 5) = 3 × 20 = 60;
    // traffic: 10 + 5 + 3 + 2 = 20, a 50 EUR minimum adds a 30 EUR true-up;
    // 20 % VAT on each.
    let totals: Vec<(&str, i128, i128)> = builders::plan()
        .unwrap()
        .iter()
        .map(|(code, f)| (*code, f.amount_cents, f.taxes_amount_cents))
        .collect();
    assert_eq!(
        totals,
        [
            ("api", 9950, 1990),
            ("storage", 4758, 952),
            ("payments", 658, 132),
            ("seats", 6000, 1200),
            ("traffic", 5000, 1000)
        ]
    );
}
