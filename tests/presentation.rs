//! U10 from events (usage-json.md C8, docs/usage.md C14): presentation
//! breakdowns are the bucket's aggregation grouped again by the charge's
//! `presentation_group_keys`, shown at the charge level for the fees
//! neither grouped nor filtered, at the filter level for all the bucket's
//! fees, at the group level for the group's unfiltered fees. Every
//! expected figure is worked by hand in the comments.

use meterprice::{BillingRunOptions, Outcome, billing_run, usage_json};
use serde_json::{Value, json};

const FROM: &str = "2024-03-01T00:00:00Z";
const TO: &str = "2024-03-31T23:59:59Z";
/// 2024-03-01T09:00:00Z, inside March.
const T: u64 = 1_709_283_600;

fn metric(code: &str, aggregation_type: &str, field: Option<&str>) -> Value {
    let mut m = json!({"code": code, "name": code, "aggregation_type": aggregation_type});
    if let Some(f) = field {
        m["field_name"] = json!(f);
    }
    m
}

fn keys(names: &[&str]) -> Value {
    names.iter().map(|n| json!({"value": n})).collect()
}

/// One request of `charges` over March with these `(code, properties)`
/// events, one second apart.
fn request(charges: Value, events: &[(&str, Value)]) -> Value {
    let events: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, (code, props))| {
            json!({"transaction_id": format!("t{i}"), "code": code,
                   "timestamp": T + i as u64, "properties": props})
        })
        .collect();
    json!({"id": "r", "currency": "EUR", "period": {"from_datetime": FROM, "to_datetime": TO},
           "plan": {"charges": charges}, "events": events})
}

fn priced(req: &Value) -> Value {
    let mut out = Vec::new();
    let outcome = usage_json(&req.to_string(), &mut out, false);
    let v: Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome, Outcome::Priced, "{v}");
    v
}

fn charge(v: &Value, i: usize) -> &Value {
    &v["customer_usage"]["charges_usage"][i]
}

/// `[{presentation_by, units}]` from `(label, units)` pairs.
fn rows(list: &[(Value, &str)]) -> Value {
    list.iter()
        .map(|(by, units)| json!({"presentation_by": by, "units": units}))
        .collect()
}

#[test]
fn a_sum_by_one_key_with_a_missing_value() {
    let charges = json!([{"code": "storage", "charge_model": "standard",
        "properties": {"amount": "1", "presentation_group_keys": keys(&["region"])},
        "billable_metric": metric("gb", "sum_agg", Some("gb"))}]);
    let v = priced(&request(
        charges,
        &[
            ("gb", json!({"gb": "10", "region": "eu"})),
            ("gb", json!({"gb": 5, "region": "us"})),
            ("gb", json!({"gb": "2.5", "region": "eu"})),
            ("gb", json!({"gb": 1})),
            ("gb", json!({"gb": "0.5", "region": ""})),
            // Not numeric (A13): out of the sum and of its breakdown.
            ("gb", json!({"gb": "lots", "region": "af"})),
        ],
    ));
    let c = charge(&v, 0);
    // 10 + 5 + 2.5 + 1 + 0.5 = 19 GB × 1 EUR = 1900 cents.
    assert_eq!(c["units"], "19");
    assert_eq!(c["amount_cents"], 1900);
    // Missing and "" are both null (Lago's `presence`): 1 + 0.5 = 1.5;
    // eu 10 + 2.5 = 12.5; us 5. Null first, then by bytes (C14).
    assert_eq!(
        c["presentation_breakdowns"],
        rows(&[
            (json!({"region": null}), "1.5"),
            (json!({"region": "eu"}), "12.5"),
            (json!({"region": "us"}), "5"),
        ])
    );
    assert_eq!(c["filters"], json!([]));
    assert_eq!(c["grouped_usage"], json!([]));
}

#[test]
fn a_count_by_two_keys() {
    let charges = json!([{"code": "calls", "charge_model": "standard",
        "properties": {"amount": "0.5", "presentation_group_keys": keys(&["region", "team"])},
        "billable_metric": metric("calls", "count_agg", None)}]);
    let v = priced(&request(
        charges,
        &[
            ("calls", json!({"region": "eu", "team": "core"})),
            ("calls", json!({"region": "eu", "team": "edge"})),
            ("calls", json!({"region": "eu", "team": "core"})),
            ("calls", json!({"region": "us", "team": ""})),
            ("calls", json!({})),
        ],
    ));
    let c = charge(&v, 0);
    // 5 calls × 0.50 = 250 cents.
    assert_eq!(c["units"], "5");
    assert_eq!(c["amount_cents"], 250);
    // Both keys, in the charge's order; the event without properties is
    // null/null and comes first; eu/core 2, eu/edge 1, us/null 1.
    assert_eq!(
        c["presentation_breakdowns"],
        rows(&[
            (json!({"region": null, "team": null}), "1"),
            (json!({"region": "eu", "team": "core"}), "2"),
            (json!({"region": "eu", "team": "edge"}), "1"),
            (json!({"region": "us", "team": null}), "1"),
        ])
    );
}

#[test]
fn a_filtered_charge_breaks_down_every_bucket_by_the_charge_keys() {
    // The filter's own properties have no presentation keys: Lago reads
    // the charge's for every bucket (fees/charge_service.rb#aggregation_filters).
    let charges = json!([{"code": "storage", "charge_model": "standard",
        "properties": {"amount": "0.10", "presentation_group_keys": keys(&["team"])},
        "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": "0.20"}}],
        "billable_metric": {"code": "gb", "name": "gb", "aggregation_type": "sum_agg",
            "field_name": "gb", "filters": [{"key": "region", "values": ["eu", "us"]}]}}]);
    let v = priced(&request(
        charges,
        &[
            ("gb", json!({"gb": 10, "region": "eu", "team": "core"})),
            ("gb", json!({"gb": 5, "region": "eu", "team": "edge"})),
            ("gb", json!({"gb": 3, "region": "us", "team": "core"})),
            ("gb", json!({"gb": 2, "region": "eu", "team": "core"})),
        ],
    ));
    let c = charge(&v, 0);
    // eu: 10 + 5 + 2 = 17 × 0.20 = 340; default: 3 × 0.10 = 30.
    assert_eq!(c["filters"][0]["amount_cents"], 340);
    assert_eq!(c["filters"][1]["amount_cents"], 30);
    // Filter level: all of the bucket's fees. eu: core 10 + 2, edge 5.
    assert_eq!(
        c["filters"][0]["presentation_breakdowns"],
        rows(&[
            (json!({"team": "core"}), "12"),
            (json!({"team": "edge"}), "5")
        ])
    );
    assert_eq!(
        c["filters"][1]["presentation_breakdowns"],
        rows(&[(json!({"team": "core"}), "3")])
    );
    // Charge level: the fees neither grouped nor filtered, here the
    // default bucket's (Lago's default-bucket fee has no charge_filter_id).
    assert_eq!(
        c["presentation_breakdowns"],
        rows(&[(json!({"team": "core"}), "3")])
    );
}

#[test]
fn a_grouped_charge_breaks_down_each_group() {
    let charge_with = |presentation: &[&str]| {
        json!([{"code": "vm", "charge_model": "standard",
            "properties": {"amount": "1", "pricing_group_keys": ["cloud"],
                           "presentation_group_keys": keys(presentation)},
            "billable_metric": metric("vm", "sum_agg", Some("hours"))}])
    };
    let events = [
        ("vm", json!({"hours": 4, "cloud": "aws", "region": "eu"})),
        ("vm", json!({"hours": 1, "cloud": "aws", "region": "us"})),
        ("vm", json!({"hours": 2, "cloud": "gcp", "region": "eu"})),
        ("vm", json!({"hours": 3, "cloud": "aws", "region": "eu"})),
    ];
    let v = priced(&request(charge_with(&["region"]), &events));
    let c = charge(&v, 0);
    // Every fee is grouped: nothing at the charge level.
    assert_eq!(c["presentation_breakdowns"], json!([]));
    // aws: eu 4 + 3 = 7, us 1 (8 hours, 800 cents); gcp: eu 2.
    let aws = &c["grouped_usage"][0];
    assert_eq!(aws["grouped_by"], json!({"cloud": "aws"}));
    assert_eq!(aws["amount_cents"], 800);
    assert_eq!(
        aws["presentation_breakdowns"],
        rows(&[
            (json!({"region": "eu"}), "7"),
            (json!({"region": "us"}), "1")
        ])
    );
    let gcp = &c["grouped_usage"][1];
    assert_eq!(gcp["grouped_by"], json!({"cloud": "gcp"}));
    assert_eq!(
        gcp["presentation_breakdowns"],
        rows(&[(json!({"region": "eu"}), "2")])
    );
    // A presentation key that is a pricing key is dropped from
    // `presentation_by` (Lago's `b[:groups].except(*grouped_by_keys)`).
    let v = priced(&request(charge_with(&["cloud", "region"]), &events));
    assert_eq!(
        charge(&v, 0)["grouped_usage"][1]["presentation_breakdowns"],
        rows(&[(json!({"region": "eu"}), "2")])
    );
}

#[test]
fn max_latest_and_unique_count_break_down_their_own_way() {
    let priced_by = |code: &str, agg: &str, field: &str| {
        json!({"code": code, "charge_model": "standard",
            "properties": {"amount": "1", "presentation_group_keys": keys(&["team"])},
            "billable_metric": metric(code, agg, Some(field))})
    };
    let charges = json!([
        priced_by("peak", "max_agg", "n"),
        priced_by("last", "latest_agg", "n"),
        priced_by("users", "unique_count_agg", "user")
    ]);
    let v = priced(&request(
        charges,
        &[
            ("peak", json!({"n": 7, "team": "core"})),
            ("peak", json!({"n": 9, "team": "edge"})),
            ("peak", json!({"n": 8, "team": "core"})),
            ("last", json!({"n": 4, "team": "core"})),
            ("last", json!({"n": 6, "team": "edge"})),
            ("users", json!({"user": "a", "team": "core"})),
            ("users", json!({"user": "b", "team": "core"})),
            ("users", json!({"user": "a", "team": "edge"})),
            ("users", json!({"user": "a", "team": "core"})),
        ],
    ));
    // Charges come in plan order (UD1): peak, last, users.
    // max per team: core max(7, 8) = 8, edge 9.
    assert_eq!(
        charge(&v, 0)["presentation_breakdowns"],
        rows(&[
            (json!({"team": "core"}), "8"),
            (json!({"team": "edge"}), "9")
        ])
    );
    // latest: Lago's grouped_last keeps the single latest event (edge, 6),
    // not one row per team.
    assert_eq!(
        charge(&v, 1)["presentation_breakdowns"],
        rows(&[(json!({"team": "edge"}), "6")])
    );
    // unique users per team: core {a, b} = 2, edge {a} = 1 (the fee: 2).
    assert_eq!(charge(&v, 2)["units"], "2");
    assert_eq!(
        charge(&v, 2)["presentation_breakdowns"],
        rows(&[
            (json!({"team": "core"}), "2"),
            (json!({"team": "edge"}), "1")
        ])
    );
}

#[test]
fn a_charge_without_keys_still_has_none() {
    let charges = json!([{"code": "calls", "charge_model": "standard",
        "properties": {"amount": "1"},
        "billable_metric": metric("calls", "count_agg", None)}]);
    let v = priced(&request(charges, &[("calls", json!({"team": "core"}))]));
    assert_eq!(charge(&v, 0)["units"], "1");
    assert_eq!(charge(&v, 0)["presentation_breakdowns"], json!([]));
}

#[test]
fn the_billing_run_fills_them_as_the_request_does() {
    let plan = json!({"currency": "EUR", "plan": {"charges": [{"code": "calls",
        "charge_model": "standard",
        "properties": {"amount": "1", "presentation_group_keys": keys(&["team"])},
        "billable_metric": metric("calls", "count_agg", None)}]}});
    let lines: String = [
        ("s1", "core"),
        ("s2", "edge"),
        ("s1", "core"),
        ("s1", "edge"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (sub, team))| {
        format!(
            "{}\n",
            json!({"transaction_id": format!("t{i}"), "external_subscription_id": sub,
                       "code": "calls", "timestamp": T, "properties": {"team": team}})
        )
    })
    .collect();
    let opts = BillingRunOptions::new(plan.to_string(), FROM, TO);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    billing_run(&opts, lines.as_bytes(), &mut out, &mut err).expect("run");
    let subs: Vec<Value> = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    // s1: core 2, edge 1; s2: edge 1.
    assert_eq!(subs[0]["external_subscription_id"], "s1");
    assert_eq!(
        charge(&subs[0], 0)["presentation_breakdowns"],
        rows(&[
            (json!({"team": "core"}), "2"),
            (json!({"team": "edge"}), "1")
        ])
    );
    assert_eq!(
        charge(&subs[1], 0)["presentation_breakdowns"],
        rows(&[(json!({"team": "edge"}), "1")])
    );
}
