//! `meterprice usage` and `Plan::customer_usage`: Lago's customer usage
//! object from aggregated buckets (usage.md §2–§3, decisions.md UD1–UD4,
//! usage-json.md C1–C13). Every expected figure is worked by hand in the
//! comments.

use meterprice::{
    Bucket, Charge, Exact, Outcome, Period, Plan, PlanUsage, Usage, UsageBucket, UsageMode,
    UsageOptions, UsagePeriod, usage_json,
};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::run;

/// March 2024 in UTC.
fn march() -> Value {
    json!({"from_datetime": "2024-03-01T00:00:00Z", "to_datetime": "2024-03-31T23:59:59Z"})
}

fn metric(code: &str, aggregation_type: &str) -> Value {
    json!({"lago_id": format!("bm-{code}"), "code": code, "name": code.to_uppercase(),
           "aggregation_type": aggregation_type})
}

/// A request of one plan, its buckets and options, in EUR over March.
fn request(charges: Value, usage: Value, extra: Value) -> Value {
    let mut r = json!({"id": "r", "currency": "EUR", "period": march(),
                       "plan": {"charges": charges}, "usage": usage});
    if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            r.insert(k.clone(), v.clone());
        }
    }
    r
}

/// Prices one request through the library; the outcome and the result.
fn price(req: &Value) -> (Outcome, Value, String) {
    let mut out = Vec::new();
    let outcome = usage_json(&req.to_string(), &mut out, false);
    let text = String::from_utf8(out).expect("utf-8");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (outcome, value, text)
}

fn priced(req: &Value) -> Value {
    let (outcome, value, text) = price(req);
    assert_eq!(outcome, Outcome::Priced, "{text}");
    value
}

fn error_of(req: &Value) -> Value {
    let (outcome, value, text) = price(req);
    assert_eq!(outcome, Outcome::Failed, "{text}");
    value["error"].clone()
}

fn charge_usage(v: &Value, i: usize) -> &Value {
    &v["customer_usage"]["charges_usage"][i]
}

/// The sums every level of the object starts with.
fn sums(v: &Value) -> (String, String, i64, i64) {
    (
        v["units"].as_str().unwrap_or("?").to_string(),
        v["total_aggregated_units"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        v["events_count"].as_i64().unwrap_or(-1),
        v["amount_cents"].as_i64().unwrap_or(-1),
    )
}

fn s(units: &str, total: &str, events: i64, cents: i64) -> (String, String, i64, i64) {
    (units.to_string(), total.to_string(), events, cents)
}

/// usage.md §2's example (usage_controller_spec.rb): graduated
/// `[0–∞ per 0.01 flat 0.01]`, 4 count events, 20 % tax. The whole line,
/// byte for byte: keys in Lago's serializer order.
#[test]
fn the_usage_md_example_byte_for_byte() {
    let req = json!({"id": "u1", "currency": "EUR", "period": march(),
        "taxes": [{"code": "vat", "name": "VAT", "rate": "20"}],
        "plan": {"charges": [{"lago_id": "uuid-c", "code": "api_requests",
            "charge_model": "graduated",
            "properties": {"graduated_ranges": [{"from_value": 0, "to_value": null,
                "per_unit_amount": "0.01", "flat_amount": "0.01"}]},
            "billable_metric": {"lago_id": "uuid-m", "code": "requests", "name": "Requests",
                                "aggregation_type": "count_agg"}}]},
        "usage": {"api_requests": {"units": "4", "events_count": 4}}});
    // 4 × 0.01 + 0.01 flat = 0.05 EUR = 5 cents; taxes 5 × 20 % = 1; total 6.
    let expected = concat!(
        r#"{"id":"u1","customer_usage":{"from_datetime":"2024-03-01T00:00:00Z","#,
        r#""to_datetime":"2024-03-31T23:59:59Z","issuing_date":"2024-03-31","currency":"EUR","#,
        r#""amount_cents":5,"total_amount_cents":6,"taxes_amount_cents":1,"lago_invoice_id":null,"#,
        r#""charges_usage":[{"units":"4","total_aggregated_units":"4","events_count":4,"#,
        r#""amount_cents":5,"amount_currency":"EUR","pricing_unit_details":null,"#,
        r#""charge":{"lago_id":"uuid-c","code":"api_requests","charge_model":"graduated","#,
        r#""invoice_display_name":null},"billable_metric":{"lago_id":"uuid-m","name":"Requests","#,
        r#""code":"requests","aggregation_type":"count_agg"},"filters":[],"grouped_usage":[],"#,
        r#""presentation_breakdowns":[]}]},"invoice":null,"warnings":[],"rejected_events":[]}"#
    );
    let (outcome, _, text) = price(&req);
    assert_eq!(outcome, Outcome::Priced);
    assert_eq!(text, expected);
    // The binary writes the same line.
    let out = run(&["usage"], &format!("{req}\n"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.raw, [expected]);
}

/// U12, UD2: taxes are summed exactly over the whole object and rounded
/// once.
#[test]
fn taxes_are_rounded_once_over_the_whole_object() {
    // customer_usage_service_spec.rb: standard 12.66 × 2 events at 20 %:
    // 2532 cents, 2532 × 0.2 = 506.4 → 506, total 3038.
    let standard = |code: &str| {
        json!({"code": code, "charge_model": "standard", "properties": {"amount": "12.66"},
               "billable_metric": metric("calls", "count_agg")})
    };
    let vat = json!({"taxes": [{"code": "vat", "rate": "20"}]});
    let v = priced(&request(
        json!([standard("a")]),
        json!({"a": {"units": "2", "events_count": 2}}),
        vat.clone(),
    ));
    let cu = &v["customer_usage"];
    assert_eq!(
        (
            &cu["amount_cents"],
            &cu["taxes_amount_cents"],
            &cu["total_amount_cents"]
        ),
        (&json!(2532), &json!(506), &json!(3038))
    );
    // Three fees of 1266: each fee's own tax would round 253.2 → 253 (3 ×
    // 253 = 759); the object rounds 3 × 253.2 = 759.6 once → 760.
    let v = priced(&request(
        json!([standard("a"), standard("b"), standard("c")]),
        json!({"a": {"units": "1"}, "b": {"units": "1"}, "c": {"units": "1"}}),
        vat,
    ));
    assert_eq!(v["customer_usage"]["amount_cents"], 3798);
    assert_eq!(v["customer_usage"]["taxes_amount_cents"], 760);
    assert_eq!(v["customer_usage"]["total_amount_cents"], 4558);
}

/// C12 and semantics.md §7: a charge's own taxes first, then the plan's,
/// then the request's; `apply_taxes: false` turns them off.
#[test]
fn a_charge_own_taxes_come_first() {
    let charge = |code: &str, taxes: Value| {
        json!({"code": code, "charge_model": "standard", "properties": {"amount": "10.01"},
               "taxes": taxes, "billable_metric": metric("m", "count_agg")})
    };
    let charges = json!([
        charge(
            "own",
            json!([{"code": "a", "rate": "20"}, {"code": "b", "rate": "5.5"}])
        ),
        charge("none", json!([])),
    ]);
    let usage = json!({"own": {"units": "1"}, "none": {"units": "1"}});
    let req = request(
        charges,
        usage,
        json!({"taxes": [{"code": "vat", "rate": "10"}]}),
    );
    // own: 1001 × (20 + 5.5) % = 255.255; none: 1001 × 10 % = 100.1;
    // together 355.355 → 355.
    let v = priced(&req);
    assert_eq!(v["customer_usage"]["amount_cents"], 2002);
    assert_eq!(v["customer_usage"]["taxes_amount_cents"], 355);
    assert_eq!(v["customer_usage"]["total_amount_cents"], 2357);
    // Plan taxes win over the request's for a charge without its own:
    // none: 1001 × 1 % = 10.01; 255.255 + 10.01 = 265.265 → 265.
    let mut with_plan_taxes = req.clone();
    with_plan_taxes["plan"]["taxes"] = json!([{"code": "low", "rate": "1"}]);
    assert_eq!(
        priced(&with_plan_taxes)["customer_usage"]["taxes_amount_cents"],
        265
    );
    let mut untaxed = req;
    untaxed["options"] = json!({"apply_taxes": false});
    let v = priced(&untaxed);
    assert_eq!(v["customer_usage"]["taxes_amount_cents"], 0);
    assert_eq!(v["customer_usage"]["total_amount_cents"], 2002);
}

/// U3, U7, C1: one fee per group, summed per charge; groups sorted by
/// label (null before strings, strings by bytes).
#[test]
fn buckets_and_groups() {
    let charges = json!([{"code": "cpu", "charge_model": "graduated",
        "properties": {"pricing_group_keys": ["cloud"], "graduated_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
            {"from_value": 11, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "2"}]},
        "billable_metric": metric("cpu", "sum_agg")}]);
    let usage = json!({"cpu": [
        {"units": "12", "events_count": 3, "grouped_by": {"cloud": "aws"}},
        {"units": "2.5", "events_count": 1, "grouped_by": {"cloud": null}},
        {"units": "4", "events_count": 2, "grouped_by": {"cloud": "AZ"}}]});
    let v = priced(&request(charges, usage, json!({})));
    let c = charge_usage(&v, 0);
    // Each group priced alone: aws 10 × 1 + 2 × 0.5 + 2 flat = 13 EUR;
    // null 2.5 × 1 = 2.5 EUR; AZ 4 × 1 = 4 EUR. Charge: 18.5 units,
    // 6 events, 1950 cents.
    assert_eq!(sums(c), s("18.5", "18.5", 6, 1950));
    let groups = c["grouped_usage"].as_array().expect("grouped_usage");
    let labels: Vec<&Value> = groups.iter().map(|g| &g["grouped_by"]).collect();
    // null first, then "AZ" < "aws" by bytes (C1).
    assert_eq!(
        labels,
        [
            &json!({"cloud": null}),
            &json!({"cloud": "AZ"}),
            &json!({"cloud": "aws"})
        ]
    );
    let cents: Vec<&Value> = groups.iter().map(|g| &g["amount_cents"]).collect();
    assert_eq!(cents, [&json!(250), &json!(400), &json!(1300)]);
    // A charge without filters: no filters[], groups' filters [] too.
    assert_eq!(c["filters"], json!([]));
    assert!(groups.iter().all(|g| g["filters"] == json!([])));
    assert_eq!(groups[2]["events_count"], 3);
    assert_eq!(groups[2]["pricing_unit_details"], Value::Null);
}

/// U6, C6: zero fees are dropped, a bucket left without a fee shows the
/// zero fee of an empty aggregation, and a charge without usage is still
/// listed.
#[test]
fn every_bucket_is_present() {
    let charges = json!([
        {"code": "storage", "charge_model": "standard",
         "properties": {"amount": "1", "pricing_group_keys": ["cloud"]},
         "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": "2"}},
                     {"values": {"region": ["us"]},
                      "properties": {"amount": "3", "pricing_group_keys": ["tier"]}}],
         "billable_metric": metric("gb", "sum_agg")},
        {"code": "seats", "charge_model": "volume",
         "properties": {"volume_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "5"},
            {"from_value": 11, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "0"}]},
         "billable_metric": metric("seats", "count_agg")}]);
    // Only the default bucket's "aws" group has usage; its "gcp" group is a
    // zero fee (no units, amount or events) and is dropped.
    let usage = json!({"storage": [
        {"units": "0", "events_count": 0, "grouped_by": {"cloud": "gcp"}},
        {"units": "7", "events_count": 2, "grouped_by": {"cloud": "aws"}}]});
    let v = priced(&request(charges, usage, json!({})));
    let storage = charge_usage(&v, 0);
    // 7 × 1 EUR = 700 cents; the filter buckets are zero fees.
    assert_eq!(sums(storage), s("7", "7", 2, 700));
    let filters = storage["filters"].as_array().expect("filters");
    assert_eq!(filters.len(), 3, "eu, us, then the default bucket");
    assert_eq!(filters[0]["values"], json!({"region": ["eu"]}));
    assert_eq!(sums(&filters[0]), s("0", "0", 0, 0));
    assert_eq!(filters[1]["values"], json!({"region": ["us"]}));
    assert_eq!(filters[2]["values"], Value::Null);
    assert_eq!(sums(&filters[2]), s("7", "7", 2, 700));
    // The us filter groups by tier: its rebuilt zero fee has the all-null
    // label of an empty aggregation (A30); the eu filter is ungrouped ({}).
    let labels: Vec<&Value> = storage["grouped_usage"]
        .as_array()
        .expect("grouped_usage")
        .iter()
        .map(|g| &g["grouped_by"])
        .collect();
    assert_eq!(
        labels,
        [&json!({}), &json!({"tier": null}), &json!({"cloud": "aws"})]
    );
    // seats has no usage at all: its one bucket is rebuilt from an empty
    // aggregation, and volume's first tier bills its flat 5 EUR at zero
    // units (Q5), so the fee is kept with 500 cents.
    let seats = charge_usage(&v, 1);
    assert_eq!(seats["charge"]["code"], "seats");
    assert_eq!(sums(seats), s("0", "0", 0, 500));
    assert_eq!(v["customer_usage"]["amount_cents"], 1200);
}

/// U9: fees of different buckets with the same label are one
/// `grouped_usage` entry, whose `filters` split them again.
#[test]
fn grouped_usage_merges_across_buckets() {
    let charges = json!([{"code": "storage", "charge_model": "standard",
        "properties": {"amount": "1", "pricing_group_keys": ["cloud"]},
        "filters": [{"values": {"region": ["eu"]}, "invoice_display_name": "Europe",
                     "properties": {"amount": "2", "pricing_group_keys": ["cloud"]}}],
        "billable_metric": metric("gb", "sum_agg")}]);
    // (A null filter is the default bucket.)
    let usage = json!({"storage": [
        {"units": "3", "events_count": 2, "filter": {"region": ["eu"]}, "grouped_by": {"cloud": "aws"}},
        {"units": "1", "events_count": 1, "filter": {"region": ["eu"]}, "grouped_by": {"cloud": "gcp"}},
        {"units": "5", "events_count": 1, "filter": null, "grouped_by": {"cloud": "aws"}}]});
    let v = priced(&request(charges, usage, json!({})));
    let c = charge_usage(&v, 0);
    // eu: aws 3 × 2 = 6 EUR, gcp 1 × 2 = 2 EUR; default: aws 5 × 1 = 5 EUR.
    assert_eq!(sums(c), s("9", "9", 4, 1300));
    let groups = c["grouped_usage"].as_array().expect("grouped_usage");
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["grouped_by"], json!({"cloud": "aws"}));
    // aws: 3 + 5 units, 2 + 1 events, 600 + 500 cents.
    assert_eq!(sums(&groups[0]), s("8", "8", 3, 1100));
    let split = groups[0]["filters"].as_array().expect("filters");
    assert_eq!(split.len(), 2);
    assert_eq!(split[0]["invoice_display_name"], "Europe");
    assert_eq!(sums(&split[0]), s("3", "3", 2, 600));
    assert_eq!(split[1]["values"], Value::Null);
    assert_eq!(sums(&split[1]), s("5", "5", 1, 500));
    assert_eq!(groups[1]["grouped_by"], json!({"cloud": "gcp"}));
    assert_eq!(sums(&groups[1]), s("1", "1", 1, 200));
    assert_eq!(groups[1]["filters"].as_array().map(Vec::len), Some(1));
    // The filters[] view: the eu bucket (two groups), then the default one.
    assert_eq!(sums(&c["filters"][0]), s("4", "4", 3, 800));
    assert_eq!(sums(&c["filters"][1]), s("5", "5", 1, 500));
}

/// §4.6, C3: pricing units, with the short name (else the code).
#[test]
fn pricing_units() {
    let charge = |unit: Value| {
        json!([{"code": "tokens", "charge_model": "standard", "properties": {"amount": "0.5"},
                "filters": [{"values": {"model": ["large"]}, "properties": {"amount": "2"}}],
                "applied_pricing_unit": unit,
                "billable_metric": metric("tokens", "sum_agg")}])
    };
    let usage = json!({"tokens": [{"units": "101", "events_count": 3, "grouped_by": null},
                                  {"units": "3", "events_count": 1, "filter": {"model": ["large"]}}]});
    let v = priced(&request(
        charge(json!({"code": "credits", "short_name": "CR", "conversion_rate": "0.25"})),
        usage.clone(),
        json!({"currency": "USD"}),
    ));
    let c = charge_usage(&v, 0);
    // default: 101 × 0.5 = 50.5 CR = 5050 PU cents → 5050 × 0.25 / 100 =
    // 12.625 USD → 1263 cents. large: 3 × 2 = 6 CR = 600 PU cents → 1.5 USD
    // = 150 cents. Charge: 1413 cents, 5650 PU cents.
    assert_eq!(c["amount_cents"], 1413);
    assert_eq!(
        c["pricing_unit_details"],
        json!({"amount_cents": 5650, "short_name": "CR", "conversion_rate": "0.25"})
    );
    assert_eq!(c["filters"][0]["pricing_unit_details"]["amount_cents"], 600);
    assert_eq!(
        c["filters"][1]["pricing_unit_details"]["amount_cents"],
        5050
    );
    assert_eq!(c["filters"][1]["amount_cents"], 1263);
    // Without a short name, the code (C3).
    let v = priced(&request(
        charge(json!({"code": "credits", "conversion_rate": "0.25"})),
        usage,
        json!({"currency": "USD"}),
    ));
    assert_eq!(
        charge_usage(&v, 0)["pricing_unit_details"]["short_name"],
        "credits"
    );
}

/// UD1, C1: a bucket's fees are ordered by the charge's group keys, even
/// when its filter groups by the same keys in another order (the buckets
/// below come in the filter's order). The older `groups` list a filter's
/// fees in that order.
#[test]
fn fees_follow_the_charges_keys_when_a_filter_orders_them_otherwise() {
    let charges = json!([
        {"code": "storage", "charge_model": "standard",
         "properties": {"amount": "1", "pricing_group_keys": ["b", "a"]},
         "filters": [{"values": {"region": ["eu"]},
                      "properties": {"amount": "1", "pricing_group_keys": ["a", "b"]}}],
         "billable_metric": metric("gb", "sum_agg")}]);
    // By the filter's keys (a, b): (1, 2) before (2, 1). By the charge's
    // (b, a): b = 1 before b = 2, so the 2-unit fee comes first.
    let usage = json!({"storage": [
        {"units": "1", "events_count": 1, "filter": {"region": ["eu"]},
         "grouped_by": {"a": "1", "b": "2"}},
        {"units": "2", "events_count": 1, "filter": {"region": ["eu"]},
         "grouped_by": {"a": "2", "b": "1"}}]});
    let v = priced(&request(
        charges,
        usage,
        json!({"options": {"legacy_groups": true}}),
    ));
    let units: Vec<&Value> = charge_usage(&v, 0)["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| &g["units"])
        .collect();
    assert_eq!(units, [&json!("2"), &json!("1")]);
}

/// UD4, C2: the v1.2 `groups` mapping, right after `filters`.
#[test]
fn the_legacy_groups_shape() {
    // Filter values are written key "zone" before "region": C2 keeps the
    // request's order. The second filter has no lago_id (its index is
    // used) and an ALL list (its literal is kept in `value`, its key in the
    // display name).
    let text = r#"{"id": "g", "currency": "EUR",
      "period": {"from_datetime": "2024-03-01T00:00:00Z", "to_datetime": "2024-03-31T23:59:59Z"},
      "plan": {"charges": [
        {"code": "ungrouped", "charge_model": "standard", "properties": {"amount": "1"},
         "billable_metric": {"code": "m1", "name": "M1", "aggregation_type": "count_agg"}},
        {"code": "storage", "charge_model": "standard", "properties": {"amount": "1"},
         "filters": [
           {"lago_id": "f-z", "values": {"zone": ["b", "a"], "region": ["eu"]},
            "properties": {"amount": "2", "pricing_group_keys": ["cloud"]}},
           {"values": {"region": ["__ALL_FILTER_VALUES__"]}, "properties": {"amount": "3"}}],
         "billable_metric": {"code": "gb", "name": "GB", "aggregation_type": "sum_agg"}}]},
      "usage": {"storage": [
        {"units": "1", "events_count": 1, "filter": {"zone": ["a"], "region": ["eu"]}, "grouped_by": {"cloud": "x"}},
        {"units": "2", "events_count": 1, "filter": {"zone": ["b"], "region": ["eu"]}, "grouped_by": {"cloud": "y"}},
        {"units": "4", "events_count": 4, "filter": {"region": ["__ALL_FILTER_VALUES__"]}}]},
      "options": {"legacy_groups": true}}"#;
    let mut out = Vec::new();
    assert_eq!(usage_json(text, &mut out, false), Outcome::Priced);
    let v: Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(charge_usage(&v, 0)["groups"], json!([]));
    let groups = &charge_usage(&v, 1)["groups"];
    // Display names: "b, a, eu" and "region" (the ALL list's key):
    // "b, a, eu" < "region" by bytes, so the first filter's two fees (one
    // per group) come first. Filter 0: 1 × 2 and 2 × 2 EUR; filter 1:
    // 4 × 3 EUR.
    assert_eq!(
        *groups,
        json!([
            {"lago_id": "charge-filter-f-z", "key": "zone, region", "value": "b, a, eu",
             "units": "1", "amount_cents": 200, "events_count": 1},
            {"lago_id": "charge-filter-f-z", "key": "zone, region", "value": "b, a, eu",
             "units": "2", "amount_cents": 400, "events_count": 1},
            {"lago_id": "charge-filter-1", "key": "region", "value": "__ALL_FILTER_VALUES__",
             "units": "4", "amount_cents": 1200, "events_count": 4}])
    );
    // The filters' values as stored, in the request's key order.
    let text_out = String::from_utf8(out).expect("utf-8");
    assert!(text_out.contains(r#""values":{"zone":["b","a"],"region":["eu"]}"#));
    // groups sits right after filters.
    let storage = text_out
        .get(text_out.find(r#""code":"storage""#).expect("storage")..)
        .expect("rest");
    let filters_at = storage.find(r#""filters":[{"units""#).expect("filters");
    let groups_at = storage.find(r#""groups":[{"#).expect("groups");
    let grouped_at = storage.find(r#""grouped_usage":"#).expect("grouped_usage");
    assert!(filters_at < groups_at && groups_at < grouped_at);
    assert!(
        storage.contains(r#""values":null,"presentation_breakdowns":[]}],"groups":[{"#),
        "groups right after the last filters[] entry: {storage}"
    );
    // Without the option there is no `groups` key at all.
    let plain = text.replace(r#""legacy_groups": true"#, r#""legacy_groups": false"#);
    let mut out = Vec::new();
    usage_json(&plain, &mut out, false);
    assert!(
        !String::from_utf8(out)
            .expect("utf-8")
            .contains(r#""groups""#)
    );
}

/// M9, usage-json.md: the invoice view adds each charge's true-up and the
/// invoice totals, taxed with UD2's single rounding.
#[test]
fn the_invoice_view_with_a_true_up() {
    let charges = json!([
        {"code": "seats", "charge_model": "standard", "properties": {"amount": "1"},
         "min_amount_cents": 1000, "billable_metric": metric("seats", "count_agg")},
        {"code": "met", "charge_model": "standard", "properties": {"amount": "1"},
         "min_amount_cents": 100, "billable_metric": metric("met", "count_agg")}]);
    let usage = json!({"seats": {"units": "3", "events_count": 3},
                       "met": {"units": "5", "events_count": 5}});
    let extra = json!({"period": {"from_datetime": "2024-03-15T00:00:00Z",
                                  "to_datetime": "2024-03-31T23:59:59Z", "charges_duration": 31},
                       "taxes": [{"code": "vat", "rate": "20"}], "options": {"mode": "invoice"}});
    let v = priced(&request(charges.clone(), usage.clone(), extra.clone()));
    // The period covers 17 of 31 days (A44: 16 days 23:59:59, ceiled).
    // seats: minimum 1000 × 17 / 31 = 548.387… cents, used 300 → true-up
    // 248.387… → 248 cents, taxed 248 × 20 % = 49.6 → 50 (per fee, Q23).
    // met: minimum 100 × 17 / 31 = 54.8… < 500 used: no true-up.
    // Invoice: 800 + 248 = 1048 cents; taxes (800 + 248) × 20 % = 209.6 →
    // 210 once; total 1258. The usage object itself has no true-up:
    // 800 cents, taxes 160.
    assert_eq!(
        v["invoice"],
        json!({"true_up_fees": [{"charge_code": "seats", "amount_cents": 248,
                                 "precise_amount_cents": "248.3870967741935483870967742",
                                 "taxes_amount_cents": 50}],
               "amount_cents": 1048, "taxes_amount_cents": 210, "total_amount_cents": 1258})
    );
    assert_eq!(v["customer_usage"]["amount_cents"], 800);
    assert_eq!(v["customer_usage"]["taxes_amount_cents"], 160);
    // A full period: 31 of 31 days, minimum 1000 − 300 = 700 cents.
    let mut full = extra;
    full["period"]["from_datetime"] = json!("2024-03-01T00:00:00Z");
    let v = priced(&request(charges, usage, full));
    assert_eq!(v["invoice"]["true_up_fees"][0]["amount_cents"], 700);
    assert_eq!(
        v["invoice"]["true_up_fees"][0]["precise_amount_cents"],
        "700"
    );
    // Outside the invoice mode, `invoice` is null.
    let plain = priced(&request(json!([]), json!({}), json!({})));
    assert_eq!(plain["invoice"], Value::Null);
    assert_eq!(plain["customer_usage"]["charges_usage"], json!([]));
}

/// U1, C4, C5, QU6, QU7: period strings, issuing date, charges_duration.
#[test]
fn period_strings_issuing_date_and_duration() {
    // Fractions are dropped, offsets converted to UTC.
    let p = UsagePeriod::parse(
        "2024-02-29T23:00:00+00:00",
        "2024-03-31T23:59:59.999999+02:00",
    )
    .expect("period");
    assert_eq!(p.from_datetime(), "2024-02-29T23:00:00Z");
    assert_eq!(p.to_datetime(), "2024-03-31T21:59:59Z");
    // Paris (UTC+1 in February, +2 from 31 March): the local end of
    // 31 March is 21:59:59.999999Z, still 31 March in UTC.
    let paris = p.clone().in_timezone("Europe/Paris").expect("tz");
    assert_eq!(paris.issuing_date(), "2024-03-31");
    // A44: to − from = 30 d 22:59:59.999999, offsets +1 h − +2 h = −1 h →
    // 30 d 23:59:59.999999 → ceil 31 days.
    assert_eq!(paris.charges_duration(), 31);
    // In UTC the same instants span 30 d 22:59:59.999999 → 31 too.
    assert_eq!(p.charges_duration(), 31);
    // Tokyo (UTC+9): 21:59:59Z is already 1 April 06:59:59 local; that
    // day ends at 14:59:59Z on 1 April.
    assert_eq!(
        p.clone()
            .in_timezone("Asia/Tokyo")
            .expect("tz")
            .issuing_date(),
        "2024-04-01"
    );
    // February 2024 has 29 days; a `to` at midnight gets one second more
    // (A44): 29 days + 1 s → 30.
    let feb = UsagePeriod::parse("2024-02-01T00:00:00Z", "2024-02-29T23:59:59Z").expect("feb");
    assert_eq!(feb.charges_duration(), 29);
    let midnight = UsagePeriod::parse("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z").expect("m");
    assert_eq!(midnight.charges_duration(), 30);
    // Given, it wins (a subscription that started mid-period).
    assert_eq!(
        feb.with_charges_duration(31)
            .expect("31")
            .charges_duration(),
        31
    );
    // Through the contract: New York is west of UTC (QU6).
    let req = request(
        json!([]),
        json!({}),
        json!({"timezone": "America/New_York",
               "period": {"from_datetime": "2024-03-01T05:00:00Z",
                          "to_datetime": "2024-04-01T03:59:59.999999Z"}}),
    );
    let v = priced(&req);
    assert_eq!(v["customer_usage"]["issuing_date"], "2024-04-01");
    assert_eq!(v["customer_usage"]["to_datetime"], "2024-04-01T03:59:59Z");
}

/// U4: in-advance and prorated charges show their current usage units;
/// a weighted sum shows its total aggregated units.
#[test]
fn current_usage_units_and_total_aggregated_units() {
    let charges = json!([
        {"code": "advance", "charge_model": "standard", "properties": {"amount": "1"},
         "pay_in_advance": true, "billable_metric": metric("s", "sum_agg")},
        {"code": "arrears", "charge_model": "standard", "properties": {"amount": "1"},
         "billable_metric": metric("s", "sum_agg")},
        {"code": "weighted", "charge_model": "standard", "properties": {"amount": "1"},
         "billable_metric": metric("w", "weighted_sum_agg")}]);
    // A59: priced on 9 − 4 + 6 = 11 (billed maximum plus changes), shown
    // as the 9 units used so far.
    let usage = json!({
        "advance": {"units": "11", "events_count": 3, "current_usage_units": "9"},
        "arrears": {"units": "11", "events_count": 3, "current_usage_units": "9"},
        "weighted": {"units": "2.5", "events_count": 2, "total_aggregated_units": "40"}});
    let v = priced(&request(charges, usage, json!({})));
    // advance: 11 × 1 EUR = 1100 cents, units 9 (U4).
    assert_eq!(sums(charge_usage(&v, 0)), s("9", "9", 3, 1100));
    // arrears: neither in advance nor prorated, so the priced units.
    assert_eq!(sums(charge_usage(&v, 1)), s("11", "11", 3, 1100));
    // weighted: 2.5 × 1 = 250 cents, total aggregated 40.
    assert_eq!(sums(charge_usage(&v, 2)), s("2.5", "40", 2, 250));
}

/// U10, C8: breakdowns only with `presentation_group_keys`, at the levels
/// Lago's builder selects.
#[test]
fn presentation_breakdowns() {
    let charge = |keys: Value| {
        json!([{"code": "api", "charge_model": "standard",
                "properties": {"amount": "1", "presentation_group_keys": keys},
                "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": "1"}}],
                "billable_metric": metric("api", "count_agg")}])
    };
    let breakdown =
        |units: &str, team: &str| json!([{"presentation_by": {"team": team}, "units": units}]);
    let usage = json!({"api": [
        {"units": "8", "events_count": 8, "presentation_breakdowns": breakdown("8", "core")},
        {"units": "2", "events_count": 2, "filter": {"region": ["eu"]},
         "presentation_breakdowns": breakdown("2", "edge")}]});
    let v = priced(&request(
        charge(json!([{"value": "team"}])),
        usage.clone(),
        json!({}),
    ));
    let c = charge_usage(&v, 0);
    // Charge level: only the fee neither grouped nor filtered.
    assert_eq!(
        c["presentation_breakdowns"],
        json!([{"presentation_by": {"team": "core"}, "units": "8"}])
    );
    // Filter level: all of the bucket's fees.
    assert_eq!(
        c["filters"][0]["presentation_breakdowns"],
        json!([{"presentation_by": {"team": "edge"}, "units": "2"}])
    );
    // Without presentation_group_keys, none (C8).
    let v = priced(&request(charge(Value::Null), usage, json!({})));
    assert_eq!(charge_usage(&v, 0)["presentation_breakdowns"], json!([]));
    assert_eq!(
        charge_usage(&v, 0)["filters"][0]["presentation_breakdowns"],
        json!([])
    );
}

/// The contract's error codes, each with its trigger, every other line
/// still priced, through the binary (exit status 1).
#[test]
fn errors_name_the_charge_and_the_rule() {
    let ok = request(
        json!([{"code": "a", "charge_model": "standard", "properties": {"amount": "1"},
                "billable_metric": metric("m", "count_agg")}]),
        json!({"a": {"units": "1"}}),
        json!({}),
    );
    let with = |f: &dyn Fn(&mut Value)| {
        let mut r = ok.clone();
        f(&mut r);
        r
    };
    // (request, error code, a (field, rule) its details must hold)
    type Case<'a> = (Value, &'a str, Option<(&'a str, &'a str)>);
    let cases: Vec<Case<'_>> = vec![
        (
            with(&|r| {
                let first = r["plan"]["charges"][0].clone();
                if let Some(list) = r["plan"]["charges"].as_array_mut() {
                    list.push(first);
                }
            }),
            "validation_error",
            Some(("code", "value_already_exist")),
        ),
        (
            with(&|r| {
                r["plan"]["charges"][0]["pay_in_advance"] = json!(true);
                r["plan"]["charges"][0]["billable_metric"]["aggregation_type"] = json!("max_agg");
            }),
            "validation_error",
            Some(("pay_in_advance", "invalid_aggregation_type_or_charge_model")),
        ),
        (
            with(&|r| {
                r["plan"]["charges"][0]["prorated"] = json!(true);
                r["plan"]["charges"][0]["billable_metric"]["aggregation_type"] = json!("sum_agg");
            }),
            "validation_error",
            Some(("prorated", "invalid_billable_metric_or_charge_model")),
        ),
        (
            with(&|r| r["currency"] = json!("XYZ")),
            "validation_error",
            Some(("currency", "value_is_invalid")),
        ),
        (
            with(&|r| {
                r["plan"]["charges"][0]["billable_metric"]["aggregation_type"] = json!("avg_agg")
            }),
            "validation_error",
            Some(("aggregation_type", "value_is_invalid")),
        ),
        (
            with(&|r| r["timezone"] = json!("Mars/Olympus")),
            "validation_error",
            Some(("timezone", "value_is_invalid")),
        ),
        (
            with(&|r| r["plan"]["charges"][0]["properties"]["amount"] = json!("-1")),
            "validation_error",
            Some(("amount", "invalid_amount")),
        ),
        (
            with(&|r| {
                r["plan"]["charges"][0]["billable_metric"]["aggregation_type"] = json!("custom_agg")
            }),
            "unsupported",
            None,
        ),
        (
            with(&|r| r["events"] = json!({"transaction_id": "t"})),
            "parse_error",
            None,
        ),
        (
            with(&|r| r["usage"] = json!({"nope": {"units": "1"}})),
            "invalid_usage",
            None,
        ),
        (
            with(&|r| r["usage"] = json!({"a": {"units": "1", "filter": {"k": ["v"]}}})),
            "invalid_usage",
            None,
        ),
        (
            with(&|r| r["period"]["to_datetime"] = json!("2024-02-01T00:00:00Z")),
            "invalid_usage",
            None,
        ),
        (
            with(&|r| r["period"]["from_datetime"] = json!("1 March 2024")),
            "parse_error",
            None,
        ),
        (
            with(&|r| r["usage"]["a"]["units"] = json!(true)),
            "parse_error",
            None,
        ),
    ];
    let mut input = String::new();
    for (req, code, detail) in &cases {
        let err = error_of(req);
        assert_eq!(err["code"], *code, "{req}: {err}");
        if let Some((field, rule)) = detail {
            let found = err["details"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["field"] == *field && d["code"] == *rule);
            assert!(found, "{field}/{rule} not in {err}");
        }
        input.push_str(&format!("{req}\n"));
    }
    // The duplicate names both places.
    let dup = error_of(&cases[0].0);
    assert!(
        dup["message"]
            .as_str()
            .unwrap_or("")
            .contains("plan.charges[1]"),
        "{dup}"
    );
    // The binary: one line per request, in order, the good one priced.
    input.push_str(&format!("{ok}\nnot json\n"));
    let out = run(&["usage"], &input);
    assert_eq!(out.status, 1);
    assert_eq!(out.lines.len(), cases.len() + 2);
    assert_eq!(
        out.lines[cases.len()]["customer_usage"]["amount_cents"],
        100
    );
    assert_eq!(out.lines[cases.len() + 1]["error"]["code"], "parse_error");
}

/// The bundled example file prices every request (exit status 0), and
/// `meterprice usage --help` documents the command.
#[test]
fn the_bundled_examples_and_the_help() {
    let path = format!("{}/examples/usage.jsonl", env!("CARGO_MANIFEST_DIR"));
    let out = run(&["usage", &path], "");
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.lines.len() >= 6);
    assert!(out.lines.iter().all(|l| l.get("customer_usage").is_some()));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_meterprice"))
        .args(["usage", "--help"])
        .output()
        .expect("help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("meterprice usage [FILE|-]"), "{text}");
    assert!(text.contains("customer_usage"));
}

// ---------------------------------------------------------------------------
// The library face, and the property: a plan's usage is its charges rated
// one by one.
// ---------------------------------------------------------------------------

#[test]
fn the_library_builds_the_same_object() {
    let plan = Plan::from_lago_json(
        "EUR",
        r#"{"charges": [{"code": "api", "charge_model": "standard",
            "properties": {"amount": "12.66"},
            "billable_metric": {"code": "calls", "name": "Calls", "aggregation_type": "count_agg"}}],
            "taxes": [{"code": "vat", "rate": "20"}]}"#,
    )
    .expect("plan");
    let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z").expect("p");
    let usage = PlanUsage::new().with_buckets(
        "api",
        vec![UsageBucket::new(
            Usage::new(Exact::from(2u32)).with_events_count(2),
        )],
    );
    let options = UsageOptions::default().with_mode(UsageMode::Invoice);
    let cu = plan
        .customer_usage(&period, &usage, &options)
        .expect("usage");
    // 2 × 12.66 = 2532; 506.4 → 506 (UD2); no minimum, so the invoice is
    // the usage.
    assert_eq!(
        (
            cu.amount_cents,
            cu.taxes_amount_cents,
            cu.total_amount_cents
        ),
        (2532, 506, 3038)
    );
    let invoice = cu.invoice.expect("invoice view");
    assert_eq!(invoice.total_amount_cents, 3038);
    assert_eq!(cu.charges_usage[0].totals.units, Exact::from(2u32));
    assert!(cu.charges_usage[0].true_up_fee.is_none());
    // An unknown charge code is a usage error.
    let bad = PlanUsage::new().with_buckets("nope", vec![]);
    assert!(plan.customer_usage(&period, &bad, &options).is_err());
}

/// A generated plan charge: a model, filters and group keys.
#[derive(Debug, Clone)]
struct GenCharge {
    json: Value,
    filters: usize,
    grouped: bool,
}

fn gen_charge(i: usize) -> impl Strategy<Value = GenCharge> {
    let model = prop_oneof![
        (1u32..500).prop_map(|a| json!({"charge_model": "standard",
            "properties": {"amount": format!("{}.{:02}", a / 100, a % 100)}})),
        (1u32..50, 0u32..300).prop_map(|(to, flat)| json!({"charge_model": "graduated",
            "properties": {"graduated_ranges": [
                {"from_value": 0, "to_value": to, "per_unit_amount": "0.7", "flat_amount": format!("{flat}")},
                {"from_value": to + 1, "to_value": null, "per_unit_amount": "0.13", "flat_amount": "1"}]}})),
        (1u32..20).prop_map(|size| json!({"charge_model": "package",
            "properties": {"amount": "3.33", "package_size": size, "free_units": 2}})),
        (0u32..4).prop_map(|flat| json!({"charge_model": "volume",
            "properties": {"volume_ranges": [
                {"from_value": 0, "to_value": 10, "per_unit_amount": "1.05", "flat_amount": format!("{flat}")},
                {"from_value": 11, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "0"}]}})),
    ];
    (model, 0usize..3, any::<bool>()).prop_map(move |(mut m, filters, grouped)| {
        let props = m["properties"].clone();
        if grouped {
            m["properties"]["pricing_group_keys"] = json!(["g"]);
        }
        let mut fp = props;
        if grouped {
            fp["pricing_group_keys"] = json!(["g"]);
        }
        m["filters"] = (0..filters)
            .map(|f| json!({"values": {"k": [format!("v{f}")]}, "properties": fp}))
            .collect();
        m["code"] = json!(format!("c{i}"));
        m["billable_metric"] = metric(&format!("m{i}"), "sum_agg");
        m["taxes"] = json!([{"code": "t", "rate": "7.7"}]);
        GenCharge {
            json: m,
            filters,
            grouped,
        }
    })
}

/// Buckets of a generated charge: for each slot (filter or default) and
/// group value, maybe a bucket, with non-negative units.
fn gen_buckets(c: &GenCharge) -> impl Strategy<Value = Vec<Value>> + use<> {
    let slots: Vec<Option<usize>> = (0..c.filters).map(Some).chain([None]).collect();
    let groups: Vec<Option<&'static str>> = if c.grouped {
        vec![Some("a"), Some("b"), None]
    } else {
        vec![None]
    };
    let grouped = c.grouped;
    let cells: Vec<(Option<usize>, Option<&'static str>)> = slots
        .iter()
        .flat_map(|s| groups.iter().map(move |g| (*s, *g)))
        .collect();
    let n = cells.len();
    proptest::collection::vec(proptest::option::of((0u32..4000, 0u64..9)), n).prop_map(
        move |picked| {
            cells
                .iter()
                .zip(picked)
                .filter_map(|((slot, group), p)| {
                    let (units, events) = p?;
                    let mut b = json!({"units": format!("{}.{}", units / 10, units % 10),
                                       "events_count": events});
                    if let Some(f) = slot {
                        b["filter"] = json!({"k": [format!("v{f}")]});
                    }
                    if grouped {
                        b["grouped_by"] = json!({"g": group});
                    }
                    Some(b)
                })
                .collect()
        },
    )
}

/// The rate contract's bucket, for `Charge::rate`.
fn rate_bucket(b: &Value) -> Bucket {
    let units: Exact = b["units"].as_str().unwrap_or("0").parse().expect("units");
    let mut bucket =
        Bucket::new(Usage::new(units).with_events_count(b["events_count"].as_u64().unwrap_or(0)));
    if let Some(f) = b["filter"]["k"][0].as_str() {
        bucket = bucket.with_filter(vec![("k".into(), vec![f.to_string()])]);
    }
    if let Some(g) = b.get("grouped_by") {
        bucket = bucket.with_group(vec![("g".into(), g["g"].as_str().map(str::to_string))]);
    }
    bucket
}

fn plan_case() -> impl Strategy<Value = (Vec<GenCharge>, Vec<Vec<Value>>)> {
    (1usize..4)
        .prop_flat_map(|n| (0..n).map(gen_charge).collect::<Vec<_>>())
        .prop_flat_map(|charges| {
            let buckets: Vec<_> = charges.iter().map(gen_buckets).collect();
            (Just(charges.clone()), buckets)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The customer usage of a plan is its charges priced one by one with
    /// `Charge::rate`: per charge, Σ amount_cents, units and events_count
    /// over its buckets, each slot without a bucket priced on an empty one
    /// (U6); the object's amount is their sum and its taxes the exact sum
    /// rounded once (UD2).
    #[test]
    fn usage_is_the_sum_of_charges_rated_one_by_one((charges, buckets) in plan_case()) {
        let plan_charges: Vec<Value> = charges.iter().map(|c| c.json.clone()).collect();
        let mut usage = serde_json::Map::new();
        for (c, b) in charges.iter().zip(&buckets) {
            usage.insert(c.json["code"].as_str().unwrap_or("?").to_string(), json!(b));
        }
        let v = priced(&request(json!(plan_charges), Value::Object(usage), json!({})));
        let mut total = 0i64;
        for (i, (c, given)) in charges.iter().zip(&buckets).enumerate() {
            let charge = Charge::from_lago_json("EUR", &c.json.to_string()).expect("charge");
            let mut all: Vec<Bucket> = given.iter().map(rate_bucket).collect();
            for slot in (0..c.filters).map(Some).chain([None]) {
                let key = slot.map(|f| format!("v{f}"));
                let has = given.iter().any(|b| b["filter"]["k"][0].as_str() == key.as_deref());
                if !has {
                    let mut empty = json!({"units": "0"});
                    if let Some(k) = &key {
                        empty["filter"] = json!({"k": [k]});
                    }
                    if c.grouped {
                        empty["grouped_by"] = json!({"g": null});
                    }
                    all.push(rate_bucket(&empty));
                }
            }
            let fees = charge.rate(&all, &Period::full(31)).expect("rate");
            let units = fees.fees.iter().try_fold(Exact::ZERO, |a, f| a.checked_add(f.units)).expect("units");
            let events: u64 = fees.fees.iter().map(|f| f.events_count).sum();
            let cu = charge_usage(&v, i);
            prop_assert_eq!(cu["amount_cents"].as_i64(), Some(fees.fees_amount_cents as i64));
            prop_assert_eq!(cu["units"].as_str().map(|u| u.parse::<Exact>().expect("u")), Some(units));
            prop_assert_eq!(cu["events_count"].as_u64(), Some(events));
            total += fees.fees_amount_cents as i64;
        }
        let cu = &v["customer_usage"];
        prop_assert_eq!(cu["amount_cents"].as_i64(), Some(total));
        // Every charge carries 7.7 %: taxes = round(total × 7.7 / 100), the
        // half away from zero of an exact tenth-of-a-cent product.
        let tenths = total * 77; // total × 7.7 % in thousandths of a cent
        let taxes = (tenths + 500) / 1000;
        prop_assert_eq!(cu["taxes_amount_cents"].as_i64(), Some(taxes));
        prop_assert_eq!(cu["total_amount_cents"].as_i64(), Some(total + taxes));
    }
}

/// A generated bucket as the library takes it.
fn usage_bucket(b: &Value) -> UsageBucket {
    let units: Exact = b["units"].as_str().unwrap_or("0").parse().expect("units");
    let usage = Usage::new(units).with_events_count(b["events_count"].as_u64().unwrap_or(0));
    let mut bucket = UsageBucket::new(usage);
    if let Some(f) = b["filter"]["k"][0].as_str() {
        bucket = bucket.in_filter(f.trim_start_matches('v').parse().expect("filter index"));
    }
    if let Some(g) = b.get("grouped_by") {
        bucket = bucket.with_group(vec![("g".into(), g["g"].as_str().map(str::to_string))]);
    }
    bucket
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The buckets in the order an aggregation gives them (filters in
    /// order, the default last; labels null first, then by text: UD1, C1)
    /// or reversed, lent or given: the same customer usage, field by field.
    #[test]
    fn bucket_order_and_ownership_leave_the_usage_unchanged((charges, buckets) in plan_case()) {
        let plan_charges: Vec<Value> = charges.iter().map(|c| c.json.clone()).collect();
        let plan = Plan::from_lago_json("EUR", &json!({"charges": plan_charges}).to_string())
            .expect("plan");
        let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")
            .expect("period");
        let (mut in_order, mut reversed) = (PlanUsage::new(), PlanUsage::new());
        for (c, given) in charges.iter().zip(&buckets) {
            let code = c.json["code"].as_str().expect("code");
            let mut list: Vec<UsageBucket> = given.iter().map(usage_bucket).collect();
            list.sort_by_key(|b| (b.filter.is_none(), b.filter, b.grouped_by.clone()));
            in_order = in_order.with_buckets(code, list.clone());
            list.reverse();
            reversed = reversed.with_buckets(code, list);
        }
        let options = UsageOptions::default()
            .with_mode(UsageMode::Invoice)
            .with_legacy_groups(true);
        let lent = plan.customer_usage(&period, &in_order, &options).expect("usage");
        let lent_reversed = plan.customer_usage(&period, &reversed, &options).expect("usage");
        let given = plan.customer_usage_from(&period, in_order, &options).expect("usage");
        let given_reversed = plan.customer_usage_from(&period, reversed, &options).expect("usage");
        prop_assert_eq!(&lent, &lent_reversed);
        prop_assert_eq!(&lent, &given);
        prop_assert_eq!(&lent, &given_reversed);
    }
}
