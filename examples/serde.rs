//! The plan of examples/plan.jsonl with serde alone: the charges and their
//! buckets read from examples/plan.json (Lago's charge objects with a
//! `currency`), each rated and written as the `rate` contract's JSON,
//! byte for byte the result lines of `meterprice rate examples/plan.jsonl`
//! (without their `id`).
use meterprice::{Bucket, Charge, ChargeFees, Period};
use serde::Deserialize;

type Error = Box<dyn std::error::Error>;

/// One charge of the plan and its aggregated buckets.
#[derive(Deserialize)]
struct PlanCharge {
    code: String,
    charge: Charge,
    usage: Vec<Bucket>,
}

/// Each charge of the plan with its fees, rated over a 30-day period.
pub fn plan(json: &str) -> Result<Vec<(String, ChargeFees)>, Error> {
    let charges: Vec<PlanCharge> = serde_json::from_str(json)?;
    let rate = |c: PlanCharge| -> Result<_, Error> {
        Ok((c.code, c.charge.rate(&c.usage, &Period::full(30))?))
    };
    charges.into_iter().map(rate).collect()
}

fn main() -> Result<(), Error> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/plan.json");
    for (code, fees) in plan(&std::fs::read_to_string(path)?)? {
        println!("{code} {}", serde_json::to_string(&fees)?);
    }
    Ok(())
}
