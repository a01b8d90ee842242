//! Fee features around the models (semantics.md §3–§7): hand-worked edges
//! and the invariants that tie them together.

use meterprice::{Bucket, Charge, Event, Exact, Period, Usage};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::rate_batch;

fn x(s: &str) -> Exact {
    s.parse().unwrap()
}

fn one(request: Value) -> Value {
    rate_batch(&[request]).remove(0)
}

const G2: &str = r#"{"graduated_ranges": [
    {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "5"},
    {"from_value": 11, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "0"}]}"#;

#[test]
fn an_in_advance_event_that_crosses_a_tier() {
    // Usage 4 → 12 with an event of 8: with = 10 × 1 + 5 + 2 × 0.5 = 16;
    // without (4 units) = 4 + 5 = 9; fee 7 → 700 cents; unit 7 / 8 = 0.875
    // → 87 cents truncated.
    let props: Value = serde_json::from_str(G2).unwrap();
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "graduated", "pay_in_advance": true, "properties": props},
        "usage": {"units": "12", "events_count": 2}, "event": {"value": "8"}}));
    let fee = &r["fees"][0];
    assert_eq!(fee["amount_cents"], json!(700));
    assert_eq!(fee["units"], json!("8"));
    assert_eq!(fee["precise_unit_amount"], json!("0.875"));
    assert_eq!(fee["unit_amount_cents"], json!(87));
    assert_eq!(fee["pay_in_advance"], json!(true));
    assert_eq!(fee["events_count"], json!(1));
}

#[test]
fn the_first_tier_flat_fee_is_billed_once_in_advance() {
    // M11: a zero-valued event after the first one bills nothing.
    let charge = Charge::from_lago_json(
        "EUR",
        &format!(r#"{{"charge_model": "graduated", "pay_in_advance": true, "properties": {G2}}}"#),
    )
    .unwrap();
    let first = charge
        .rate_event(
            &Bucket::new(Usage::new(x("0")).with_events_count(1)),
            &Event::new(x("0")),
        )
        .unwrap();
    assert_eq!(first.fees[0].amount_cents, 500); // the flat 5 EUR
    assert_eq!(first.fees[0].precise_unit_amount, Exact::ZERO); // over 0 units: 0, not infinity
    let second = charge
        .rate_event(
            &Bucket::new(Usage::new(x("0")).with_events_count(2)),
            &Event::new(x("0")),
        )
        .unwrap();
    assert_eq!(second.fees[0].amount_cents, 0);
}

#[test]
fn percentage_events_it_must_read_are_required() {
    // Free units and per-transaction bounds read each event's value: 4
    // events without their values cannot be priced (a silent 0 before).
    let props = json!({"rate": "1", "per_transaction_min_amount": "0.5"});
    let usage = json!({"units": "1050", "events_count": 4});
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": props}, "usage": usage}));
    assert_eq!(r["error"]["code"], json!("invalid_usage"), "{r}");
    let free = json!({"rate": "1", "free_units_per_events": 2});
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": free}, "usage": usage}));
    assert_eq!(r["error"]["code"], json!("invalid_usage"), "{r}");
    // With the values: min 0.5 each; 1 % of 50, 1000, 0, 0 → 0.5, 10, 0.5,
    // 0.5 = 11.5 → 1150 cents.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": props},
        "usage": {"units": "1050", "events_count": 4, "event_values": ["50", "1000", "0", "0"]}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(1150), "{r}");
    // A plain rate reads no event: 1 % of 1050 = 10.5 → 1050 cents.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": {"rate": "1"}}, "usage": usage}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(1050), "{r}");
}

#[test]
fn a_true_up_on_a_zero_usage_period() {
    // No usage, minimum 1000 cents over 15 of 30 days: prorated 500 → true-up
    // 500 cents, units 1, events 0, details {}.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 1000},
        "usage": {"units": "0", "events_count": 0}, "period": {"duration_days": 30, "billed_days": 15}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(0));
    let t = &r["true_up_fee"];
    assert_eq!(t["amount_cents"], json!(500));
    assert_eq!(t["units"], json!("1"));
    assert_eq!(t["events_count"], json!(0));
    assert_eq!(t["amount_details"], json!({}));
    assert_eq!(r["fees_amount_cents"], json!(0));
    assert_eq!(r["amount_cents"], json!(500));
}

#[test]
fn a_true_up_amount_beyond_28_digits_stays_exact() {
    // Found by the charge_structured fuzzer: the true-up amount was its
    // cents divided as a quotient, so rounded at 28 digits, and no longer
    // precise_amount_cents scaled back. A unit price of 1 + 1e-28:
    // EUR: 3 units = 3.0000000000000000000000000003 EUR = 300.00000000000000000000000003
    //   cents (300 rounded); minimum 1000 → 699.99999999999999999999999997 cents
    //   → 6.9999999999999999999999999997 EUR (29 digits; rounded it was 7).
    // MRO (5 khoums): 3.0000000000000000000000000003 × 5 = 15.0000000000000000000000000015
    //   (15); minimum 100 → 84.9999999999999999999999999985 khoums
    //   → ÷ 5 = 16.9999999999999999999999999997 MRO.
    for (currency, min, cents, amount) in [
        (
            "EUR",
            1000,
            "699.99999999999999999999999997",
            "6.9999999999999999999999999997",
        ),
        (
            "MRO",
            100,
            "84.9999999999999999999999999985",
            "16.9999999999999999999999999997",
        ),
    ] {
        let r = one(json!({"currency": currency,
            "charge": {"charge_model": "standard",
                       "properties": {"amount": "1.0000000000000000000000000001"},
                       "min_amount_cents": min},
            "usage": {"units": "3", "events_count": 1}}));
        let t = &r["true_up_fee"];
        assert_eq!(t["precise_amount_cents"], json!(cents), "{currency}");
        assert_eq!(t["amount"], json!(amount), "{currency}");
    }
}

#[test]
fn a_prorated_projection_in_pricing_units_keeps_the_exact_amount() {
    // A prorated charge projects to its own fee (§2.10); in pricing units
    // that is its precise pricing-unit cents back in units, a shift, not a
    // quotient: 3 × 1.0000000000000000000000000001 = 3.0000000000000000000000000003
    // credits (29 digits; rounded at 28 it was 3).
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard",
                   "properties": {"amount": "1.0000000000000000000000000001"}, "prorated": true,
                   "applied_pricing_unit": {"code": "credits", "conversion_rate": "0.25"}},
        "usage": {"units": "3", "events_count": 1, "full_units_number": "3"},
        "period": {"duration_days": 30, "billed_days": 30, "elapsed_days": 10}}));
    let f = &r["fees"][0];
    assert_eq!(
        f["pricing_unit_details"]["precise_amount_cents"],
        json!("300.00000000000000000000000003")
    );
    assert_eq!(
        f["projected_amount"],
        json!("3.0000000000000000000000000003")
    );
}

#[test]
fn a_minimum_met_exactly_gives_no_true_up() {
    // M9: 10 × 1 EUR = 1000 cents = the minimum over a full 30-day month
    // (Lago's float proration gives 1000.0000000000001 and a 0-cent fee).
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 1000},
        "usage": {"units": "10", "events_count": 1}, "period": {"duration_days": 30, "billed_days": 30}}));
    assert_eq!(r["true_up_fee"], Value::Null);
}

#[test]
fn a_zero_percent_tax() {
    // 10 EUR at 0 %: taxes 0, total = amount.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "10"},
                   "taxes": [{"code": "zero", "name": "Zero", "rate": "0"}]},
        "usage": {"units": "1", "events_count": 1}}));
    let fee = &r["fees"][0];
    assert_eq!(fee["taxes_amount_cents"], json!(0));
    assert_eq!(fee["taxes_rate"], json!("0"));
    assert_eq!(fee["total_amount_cents"], json!(1000));
    assert_eq!(fee["applied_taxes"][0]["amount_cents"], json!(0));
}

#[test]
fn three_taxes_whose_separate_roundings_disagree_with_the_total() {
    // 1010 cents × 5.5 % = 55.55 → 56 each (168 if added); the fee's taxes are
    // round(3 × 55.55 = 166.65) = 167 (Q23, kept); total 1177.
    let tax = |c: &str| json!({"code": c, "name": c, "rate": "5.5"});
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "10.1"},
                   "taxes": [tax("a"), tax("b"), tax("c")]},
        "usage": {"units": "1", "events_count": 1}}));
    let fee = &r["fees"][0];
    let applied: Vec<&Value> = fee["applied_taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["amount_cents"])
        .collect();
    assert_eq!(applied, [&json!(56), &json!(56), &json!(56)]);
    assert_eq!(fee["taxes_amount_cents"], json!(167));
    assert_eq!(fee["taxes_precise_amount_cents"], json!("166.65"));
    assert_eq!(fee["taxes_rate"], json!("16.5"));
    assert_eq!(fee["total_amount_cents"], json!(1177));
    assert_eq!(r["total_amount_cents"], json!(1177));
}

#[test]
fn a_group_with_zero_units_and_the_totals() {
    // team a: 160 units → 2 packages × 10 = 20 EUR; team b: 0 units → 0.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "package",
                   "properties": {"amount": "10", "package_size": 100, "free_units": 0, "pricing_group_keys": ["team"]}},
        "usage": [{"units": "160", "events_count": 3, "grouped_by": {"team": "a"}},
                  {"units": "0", "events_count": 0, "grouped_by": {"team": "b"}}]}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(2000));
    assert_eq!(r["fees"][1]["amount_cents"], json!(0));
    assert_eq!(r["fees"][1]["item"]["grouped_by"], json!({"team": "b"}));
    assert_eq!(r["fees_amount_cents"], json!(2000));
    // Group keys that differ from pricing_group_keys: invalid_usage.
    let bad = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1", "pricing_group_keys": ["team"]}},
        "usage": {"units": "1", "grouped_by": {"region": "eu"}}}));
    assert_eq!(bad["error"]["code"], json!("invalid_usage"));
}

#[test]
fn jpy_and_kwd_round_at_their_own_exponent() {
    // JPY: 3 × 1.5 = 4.5 yen → 5; minimum 1001 over 15/30 days = 500.5;
    // true-up round(500.5 − 5) = 496 (precise 500.5 − 4.5 = 496).
    let r = one(json!({"currency": "JPY",
        "charge": {"charge_model": "standard", "properties": {"amount": "1.5"}, "min_amount_cents": 1001},
        "usage": {"units": "3", "events_count": 3}, "period": {"duration_days": 30, "billed_days": 15}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(5));
    assert_eq!(r["true_up_fee"]["amount_cents"], json!(496));
    // KWD: 1.2345 KWD → 1.235 → 1235 fils; 10 % tax on 1235 = 123.5 → 124.
    let r = one(json!({"currency": "KWD",
        "charge": {"charge_model": "standard", "properties": {"amount": "1.2345"},
                   "taxes": [{"code": "t", "name": "t", "rate": "10"}]},
        "usage": {"units": "1", "events_count": 1}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(1235));
    assert_eq!(r["fees"][0]["precise_amount_cents"], json!("1234.5"));
    assert_eq!(r["fees"][0]["taxes_amount_cents"], json!(124));
}

#[test]
fn pricing_units_convert_from_rounded_cents() {
    // 2 units of graduated 0.01 + flat 0.01 = 0.03 PU (Q19): PU cents 3, at
    // 2 EUR per PU → 6 cents; PU unit 0.015 → 1 PU cent truncated → 2 cents.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "graduated", "properties": {"graduated_ranges": [
            {"from_value": 0, "to_value": null, "per_unit_amount": "0.01", "flat_amount": "0.01"}]},
            "applied_pricing_unit": {"code": "credits", "conversion_rate": "2"}},
        "usage": {"units": "2", "events_count": 2}}));
    let fee = &r["fees"][0];
    assert_eq!(fee["amount_cents"], json!(6));
    assert_eq!(fee["unit_amount_cents"], json!(2));
    assert_eq!(fee["pricing_unit_details"]["amount_cents"], json!(3));
    assert_eq!(fee["pricing_unit_details"]["unit_amount_cents"], json!(1));
}

#[test]
fn projection_scales_the_usage_to_the_period() {
    // Package 10 per 100 units, 30 units after 10 of 30 days: 90 projected
    // units → 1 package → 10 EUR.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "package", "properties": {"amount": "10", "package_size": 100, "free_units": 0}},
        "usage": {"units": "30", "events_count": 2}, "period": {"duration_days": 30, "billed_days": 30, "elapsed_days": 10}}));
    assert_eq!(r["fees"][0]["projected_units"], json!("90"));
    assert_eq!(r["fees"][0]["projected_amount_cents"], json!(1000));
}

/// One charge per model where in-advance steps telescope (semantics.md §5):
/// standard, graduated (M11 bills the first flat fee once), graduated
/// percentage, package, and percentage without free units.
fn telescoping_charges() -> Vec<Charge> {
    let defs = [
        r#"{"charge_model": "standard", "pay_in_advance": true, "properties": {"amount": "0.37"}}"#.to_string(),
        format!(r#"{{"charge_model": "graduated", "pay_in_advance": true, "properties": {G2}}}"#),
        r#"{"charge_model": "graduated_percentage", "pay_in_advance": true, "properties": {"graduated_percentage_ranges": [
            {"from_value": 0, "to_value": 10, "rate": "1", "flat_amount": "2"},
            {"from_value": 11, "to_value": null, "rate": "2.5", "flat_amount": "1"}]}}"#
            .to_string(),
        r#"{"charge_model": "package", "pay_in_advance": true, "properties": {"amount": "3", "package_size": 7, "free_units": 4}}"#.to_string(),
        r#"{"charge_model": "percentage", "pay_in_advance": true, "properties": {"rate": "1.5", "fixed_amount": "0.2"}}"#.to_string(),
    ];
    defs.iter()
        .map(|d| Charge::from_lago_json("EUR", d).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The in-advance steps of a sequence of events add up to the in-arrears
    /// amount of their total (exact amounts, before rounding to cents).
    #[test]
    fn in_advance_steps_add_up_to_the_period_amount(values in prop::collection::vec(0u32..5000, 1..12)) {
        for charge in telescoping_charges() {
            let mut total = Exact::ZERO;
            let mut units = Exact::ZERO;
            let mut seen = Vec::new();
            for (i, v) in values.iter().enumerate() {
                // Values in hundredths: 0.00 .. 49.99 units.
                let value: Exact = format!("{}.{:02}", v / 100, v % 100).parse().unwrap();
                units = units.checked_add(value).unwrap();
                seen.push(value);
                let usage = Usage::new(units).with_events_count(i as u64 + 1).with_event_values(seen.clone());
                let fees = charge.rate_event(&Bucket::new(usage), &Event::new(value)).unwrap();
                total = total.checked_add(fees.fees[0].amount).unwrap();
            }
            let usage = Usage::new(units).with_events_count(values.len() as u64).with_event_values(seen);
            let arrears = charge.model().apply(&usage, charge.currency()).unwrap();
            prop_assert_eq!(total, arrears.amount, "{} over {:?}", charge.model().name(), values);
        }
    }

    /// Totals equal the sum of the fees, and fees + true-up cover the prorated
    /// minimum.
    #[test]
    fn totals_add_up_and_the_minimum_is_met(
        units in prop::collection::vec(0u32..100_000, 1..6),
        min in 0u32..1_000_000,
        billed in 0u32..=31,
    ) {
        let charge = Charge::from_lago_json("EUR", &format!(
            r#"{{"charge_model": "standard", "properties": {{"amount": "0.013"}}, "min_amount_cents": {min},
                "taxes": [{{"code": "vat", "rate": "19.6"}}]}}"#)).unwrap();
        let buckets: Vec<Bucket> = units.iter().map(|u| Bucket::new(Usage::new(Exact::from(*u)))).collect();
        let fees = charge.rate(&buckets, &Period::new(31, billed).unwrap()).unwrap();
        let sum: i128 = fees.fees.iter().map(|f| f.amount_cents).sum();
        prop_assert_eq!(fees.fees_amount_cents, sum);
        let true_up = fees.true_up_fee.as_ref().map_or(0, |t| t.amount_cents);
        prop_assert_eq!(fees.amount_cents, sum + true_up);
        let taxes: i128 = fees.fees.iter().chain(fees.true_up_fee.iter()).map(|f| f.taxes.taxes_amount_cents).sum();
        prop_assert_eq!(fees.taxes_amount_cents, taxes);
        prop_assert_eq!(fees.total_amount_cents, fees.amount_cents + taxes);
        // fees + true-up ≥ min × billed / 31, up to the true-up's own rounding
        // (half a cent): 31 × (sum + true_up) + 31/2 ≥ min × billed.
        prop_assert!(62 * (sum + true_up) + 31 >= 2 * i128::from(min) * i128::from(billed));
    }
}

#[test]
fn filter_display_names_and_group_key_fallbacks() {
    // §3.3: `__ALL_FILTER_VALUES__` shows as its key; a blank name falls back.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1"},
                   "filters": [{"values": {"cloud": ["__ALL_FILTER_VALUES__"], "region": ["eu", "us"]},
                                "properties": {"amount": "3"}, "invoice_display_name": " "}]},
        "usage": {"units": "1", "events_count": 1, "filter": {"region": ["eu"], "cloud": ["__ALL_FILTER_VALUES__"]}}}));
    // (json! sorts keys, so cloud comes before region.)
    assert_eq!(
        r["fees"][0]["item"]["filter_invoice_display_name"],
        json!("cloud, eu, us")
    );
    assert_eq!(r["fees"][0]["amount_cents"], json!(300));
    // §1.3: a blank pricing_group_keys gives way to the older grouped_by.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "20", "pricing_group_keys": [], "grouped_by": ["cloud"]}},
        "usage": {"units": "1", "events_count": 1, "grouped_by": {"cloud": "aws"}}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(2000));
    assert_eq!(r["fees"][0]["item"]["grouped_by"], json!({"cloud": "aws"}));
}

#[test]
fn presentation_keys_are_checked_element_by_element() {
    // `options: null` is not `{display_in_invoice: bool}`; a duplicate value
    // is reported even when another element is invalid.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1",
            "presentation_group_keys": [{"value": "region", "options": null}, {"value": "region"}]}},
        "usage": {"units": "1", "events_count": 1}}));
    let codes: Vec<&str> = r["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"invalid_type") && codes.contains(&"value_is_duplicated"),
        "{codes:?}"
    );
}

#[test]
fn prorated_graduated_is_exact_so_half_cents_round_up() {
    // semantics §11.7 E67 / Q27: three tiers, six events; the exact state
    // machine gives 38267/200 = 191.335 → 19134 cents (M12), where Lago's
    // float coefficients give 191.33499999… → 19133.
    let line = r#"{"currency":"EUR","charge":{"charge_model":"graduated","prorated":true,"properties":{"graduated_ranges":[
        {"from_value":0,"to_value":5,"per_unit_amount":"10","flat_amount":"100"},
        {"from_value":6,"to_value":15,"per_unit_amount":"5","flat_amount":"50"},
        {"from_value":16,"to_value":null,"per_unit_amount":"2","flat_amount":"0"}]}},
        "usage":{"units":"6.367","events_count":6,"event_values":["2","5","10","-6","4","60"],
        "prorated_event_values":["1.4","2.5","2","-2.2","0.667","2"],"full_units_number":"75"}}"#;
    let r = one(serde_json::from_str(line).unwrap());
    assert_eq!(r["fees"][0]["amount"], json!("191.335"));
    assert_eq!(r["fees"][0]["amount_cents"], json!(19134));
    assert_eq!(r["fees"][0]["units"], json!("75"));
}

fn code(r: &Value) -> &str {
    r["error"]["code"].as_str().unwrap_or("")
}

fn message(r: &Value) -> &str {
    r["error"]["message"].as_str().unwrap_or("")
}

fn standard_with(usage: Value, extra: Value) -> Value {
    let mut request = json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1"},
                   "min_amount_cents": 1000,
                   "filters": [{"values": {"region": ["eu"], "cloud": ["aws"]},
                                "properties": {"amount": "2"}}]},
        "usage": usage});
    if let (Some(r), Some(e)) = (request.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    request
}

/// More days billed than the period has is refused, in the contract and in
/// `Period::new` and `Charge::rate`. (Fails before this change: 62 of 31
/// days doubled the minimum, 1000 → a 2000-cent true-up minus the fee.)
#[test]
fn billed_days_beyond_the_period_are_refused() {
    let usage = json!({"units": "1", "events_count": 1});
    let r = one(standard_with(
        usage.clone(),
        json!({"period": {"duration_days": 31, "billed_days": 62}}),
    ));
    assert_eq!(code(&r), "invalid_usage", "{r}");
    assert_eq!(
        message(&r),
        "period.billed_days must be at most period.duration_days 31, got 62"
    );
    // 31 of 31 days: the full minimum, 1000 − 100 = 900 cents of true-up.
    let r = one(standard_with(
        usage,
        json!({"period": {"duration_days": 31, "billed_days": 31}}),
    ));
    assert_eq!(r["true_up_fee"]["amount_cents"], json!(900), "{r}");
    let e = Period::new(31, 62).unwrap_err();
    assert!(e.message.contains("period.billed_days"), "{e}");
    assert!(Period::new(0, 0).is_err());
    assert_eq!(Period::new(31, 31).unwrap(), Period::full(31));
    // A period changed after construction is checked when rating.
    let mut period = Period::full(31);
    period.billed_days = 62;
    let charge = Charge::from_lago_json(
        "EUR",
        r#"{"charge_model": "standard", "properties": {"amount": "1"}, "min_amount_cents": 1000}"#,
    )
    .unwrap();
    let err = charge
        .rate(&[Bucket::new(Usage::new(x("1")))], &period)
        .unwrap_err();
    assert!(err.to_string().contains("period.billed_days"), "{err}");
}

/// A bucket filter names each key once (a repeated key is a parse_error)
/// with at least one value (an empty list is invalid_usage). (Fails before
/// this change: the repeated key matched the two-key filter, and the empty
/// list fell to "matches no charge filter".)
#[test]
fn a_bucket_filter_repeating_a_key_or_with_no_values_is_refused() {
    let line = r#"{"currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": "1"},
        "filters": [{"values": {"region": ["eu"], "cloud": ["aws"]}, "properties": {"amount": "2"}}]},
        "usage": {"units": "1", "filter": {"region": ["eu"], "region": ["eu"]}}}"#
        .replace('\n', " ");
    let out = crate::common::run(&["rate"], &format!("{line}\n"));
    assert_eq!(out.lines.len(), 1);
    assert_eq!(code(&out.lines[0]), "parse_error", "{:?}", out.raw);
    assert!(
        message(&out.lines[0]).contains(r#"usage.filter: key "region" is given twice"#),
        "{}",
        message(&out.lines[0])
    );
    let r = one(standard_with(
        json!({"units": "1", "filter": {"region": []}}),
        json!({}),
    ));
    assert_eq!(code(&r), "invalid_usage", "{r}");
    assert!(message(&r).contains("usage[0].filter.region"), "{r}");
    // The library refuses both as well.
    let charge = Charge::from_lago_json(
        "EUR",
        r#"{"charge_model": "standard", "properties": {"amount": "1"},
            "filters": [{"values": {"region": ["eu"], "cloud": ["aws"]}, "properties": {"amount": "2"}}]}"#,
    )
    .unwrap();
    let twice = Bucket::new(Usage::new(x("1"))).with_filter(vec![
        ("region".into(), vec!["eu".into()]),
        ("region".into(), vec!["eu".into()]),
    ]);
    let err = charge.rate(&[twice], &Period::full(30)).unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
    // The filter itself, named fully, is priced: 1 × 2 EUR.
    let both = Bucket::new(Usage::new(x("1"))).with_filter(vec![
        ("region".into(), vec!["eu".into()]),
        ("cloud".into(), vec!["aws".into()]),
    ]);
    let fees = charge.rate(&[both], &Period::full(30)).unwrap();
    assert_eq!(fees.fees[0].amount_cents, 200);
}

/// A negative `full_units_number` is invalid_usage. (Fails before this
/// change: a prorated charge priced 3 units for a positive fee with
/// `unit_amount_cents` −100.)
#[test]
fn a_negative_full_units_number_is_refused() {
    let request = json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "prorated": true, "properties": {"amount": "1"}},
        "usage": {"units": "3", "events_count": 1, "full_units_number": "-3"}});
    let r = one(request);
    assert_eq!(code(&r), "invalid_usage", "{r}");
    assert_eq!(
        message(&r),
        "usage[0].full_units_number must be >= 0, got -3"
    );
    // 0 is a number of units like any other: 3 units × 1 EUR, unit amount 0.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "prorated": true, "properties": {"amount": "1"}},
        "usage": {"units": "3", "events_count": 1, "full_units_number": "0"}}));
    assert!(r["fees"].is_array(), "{r}");
}

/// Where a model reads both `events_count` and `event_values`, they must
/// agree. (Fails before this change: 3 events with 2 values were priced.)
#[test]
fn events_count_must_match_the_event_values_a_model_reads() {
    let cases = [
        // Per-transaction bounds and free units read each event's value.
        json!({"charge_model": "percentage", "properties": {"rate": "1", "per_transaction_min_amount": "0.5"}}),
        json!({"charge_model": "percentage", "properties": {"rate": "1", "free_units_per_events": 1}}),
        json!({"charge_model": "percentage", "properties": {"rate": "1", "free_units_per_total_aggregation": "5"}}),
        // Prorated graduated reads each event's full and prorated value.
        json!({"charge_model": "graduated", "prorated": true, "properties": serde_json::from_str::<Value>(G2).unwrap()}),
    ];
    for charge in cases {
        for (count, values) in [
            (3, vec!["10", "20"]),
            (1, vec!["10", "20"]),
            (0, vec!["10"]),
        ] {
            let mut usage = json!({"units": "30", "events_count": count, "event_values": values});
            if charge["prorated"] == json!(true) {
                usage["prorated_event_values"] = usage["event_values"].clone();
                usage["full_units_number"] = json!("30");
            }
            let r = one(json!({"currency": "EUR", "charge": charge, "usage": usage}));
            assert_eq!(code(&r), "invalid_usage", "{charge} {usage}: {r}");
            assert!(
                message(&r).contains(&format!("for events_count {count}")),
                "{r}"
            );
        }
    }
    // Agreeing counts are priced: 1 % of 10 and of 20, each at least 0.5 →
    // 0.5 + 0.5 = 1 EUR.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": {"rate": "1", "per_transaction_min_amount": "0.5"}},
        "usage": {"units": "30", "events_count": 2, "event_values": ["10", "20"]}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(100), "{r}");
    // A plain percentage reads only the units: 1 % of 30 = 0.3 EUR.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": {"rate": "1"}},
        "usage": {"units": "30", "events_count": 3, "event_values": ["10", "20"]}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(30), "{r}");
}

/// A quotient that terminates is exact up to the range of a computed
/// figure (decisions.md M3). (Fails before this change: rounded at 28
/// digits, 19807040628566084398385987580, `unit_amount_cents` off by 3.)
#[test]
fn a_terminating_unit_amount_is_exact_beyond_28_digits() {
    // dynamic, JPY (exponent 0): the amount is the events' price,
    // 39614081257132168796771975167.745 yen, over 2 units:
    // 19807040628566084398385987583.8725 exactly, truncated to
    // 19807040628566084398385987583 yen.
    let line = r#"{"currency": "JPY", "charge": {"charge_model": "dynamic", "properties": {}}, "usage": {"units": "2", "events_count": 1, "precise_total_amount_cents": "39614081257132168796771975167.745"}}"#;
    let out = crate::common::run(&["rate"], &format!("{line}\n"));
    let raw = &out.raw[0];
    assert!(
        raw.contains(r#""precise_unit_amount":"19807040628566084398385987583.8725""#),
        "{raw}"
    );
    assert!(
        raw.contains(r#""unit_amount_cents":19807040628566084398385987583,"#),
        "{raw}"
    );
    // A repeating quotient still carries 28 significant digits: 10 / 3.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "10"}},
        "usage": {"units": "3", "full_units_number": "9", "events_count": 1}}));
    // 3 × 10 / 9 = 3.333…: 28 significant digits.
    assert_eq!(
        r["fees"][0]["precise_unit_amount"],
        json!("3.333333333333333333333333333"),
        "{r}"
    );
    // The library's own division follows the same rule.
    let q = x("39614081257132168796771975167.745")
        .checked_div(x("2"))
        .unwrap();
    assert_eq!(q, x("19807040628566084398385987583.8725"));
}

fn violations(r: &Value) -> Vec<(String, String)> {
    r["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["field"].as_str().unwrap_or("").to_string(),
                d["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// semantics.md §8.3: `pricing_group_keys` is a list of non-blank strings,
/// and max < min is reported whenever both bounds are decimals, even when
/// each is invalid on its own. (Fails before this change: the blank key was
/// dropped and the charge priced ungrouped; max < min was not reported
/// next to the negative bounds.)
#[test]
fn semantics_8_group_keys_and_per_transaction_bounds() {
    for keys in [json!(["cloud", ""]), json!([" "]), json!(["cloud", 1])] {
        let r = one(json!({"currency": "EUR",
            "charge": {"charge_model": "standard", "properties": {"amount": "1", "pricing_group_keys": keys}},
            "usage": {"units": "1", "events_count": 1}}));
        assert_eq!(
            violations(&r),
            [("pricing_group_keys".to_string(), "invalid_type".to_string())],
            "{keys}: {r}"
        );
    }
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": {"rate": "1",
            "per_transaction_min_amount": "-1", "per_transaction_max_amount": "-5"}},
        "usage": {"units": "1", "events_count": 1, "event_values": ["1"]}}));
    let got = violations(&r);
    for want in [
        ("per_transaction_min_amount", "invalid_amount"),
        ("per_transaction_max_amount", "invalid_amount"),
        (
            "per_transaction_max_amount",
            "per_transaction_max_lower_than_per_transaction_min",
        ),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {got:?}"
        );
    }
    // Valid bounds in order are priced: max(1 % of 100, 2) = 2 EUR.
    let r = one(json!({"currency": "EUR",
        "charge": {"charge_model": "percentage", "properties": {"rate": "1",
            "per_transaction_min_amount": "2", "per_transaction_max_amount": "5"}},
        "usage": {"units": "100", "events_count": 1, "event_values": ["100"]}}));
    assert_eq!(r["fees"][0]["amount_cents"], json!(200), "{r}");
}

/// Messages name the field and the value truthfully, and each failure has
/// its own kind. (Fails before this change: "1e400" was `Malformed`, the
/// custom model's message nested itself, `group_properties` was ignored,
/// and 2^64 events "must be >= 0".)
#[test]
fn definition_errors_name_the_field_truthfully() {
    use meterprice::DefinitionError;
    let e = Charge::from_lago_json(
        "EUR",
        r#"{"charge_model": "standard", "properties": {"amount": "1e400"}}"#,
    )
    .unwrap_err();
    assert_eq!(
        e,
        DefinitionError::OutOfRange {
            field: "amount".into(),
            value: "1e400".into()
        }
    );
    let e = Charge::from_lago_json("EUR", r#"{"charge_model": "custom", "properties": {}}"#)
        .unwrap_err();
    assert_eq!(e, DefinitionError::Unsupported("custom".into()));
    assert_eq!(
        e.to_string(),
        r#"charge_model "custom" is not supported by meterprice (Lago's custom model runs user scripts)"#
    );
    let legacy = r#"{"charge_model": "standard", "properties": {"amount": "1"},
        "group_properties": [{"group_id": "g1", "values": {"amount": "2"}}]}"#;
    let e = Charge::from_lago_json("EUR", legacy).unwrap_err();
    assert!(
        matches!(&e, DefinitionError::UnsupportedField { field, .. } if field == "charge.group_properties"),
        "{e:?}"
    );
    let r = one(
        json!({"currency": "EUR", "charge": serde_json::from_str::<Value>(legacy).unwrap(),
        "usage": {"units": "1", "events_count": 1}}),
    );
    assert_eq!(code(&r), "unsupported", "{r}");
    assert!(
        message(&r).starts_with("charge.group_properties is not supported"),
        "{r}"
    );
    // An empty legacy list says nothing and is no reason to refuse.
    let r = one(
        json!({"currency": "EUR", "charge": {"charge_model": "standard",
        "properties": {"amount": "1"}, "group_properties": []}, "usage": {"units": "1"}}),
    );
    assert_eq!(r["amount_cents"], json!(100), "{r}");
    // 2^64 events is above the largest count, not below 0.
    let line = r#"{"currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": "1"}}, "usage": {"units": "1", "events_count": 18446744073709551616}}"#;
    let r = crate::common::run(&["rate"], &format!("{line}\n"))
        .lines
        .remove(0);
    assert_eq!(code(&r), "invalid_usage", "{r}");
    assert_eq!(
        message(&r),
        "usage.events_count must be at most 18446744073709551615, got 18446744073709551616"
    );
    let r = one(
        json!({"currency": "EUR", "charge": {"charge_model": "standard",
        "properties": {"amount": "1"}}, "usage": {"units": "1", "events_count": -1}}),
    );
    assert_eq!(message(&r), "usage.events_count must be >= 0, got -1");
}
