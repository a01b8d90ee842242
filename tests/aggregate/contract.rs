//! The `aggregate` contract beyond the public cases: bad events (C10),
//! errors, and rules no public case reaches, each with hand-worked values.

use meterprice::{Outcome, aggregate_json};
use serde_json::{Value as Json, json};

use crate::common::run;

/// Aggregates one request through the library entry point.
fn agg(request: &Json) -> (Outcome, Json) {
    let mut out = Vec::new();
    let outcome = aggregate_json(&request.to_string(), &mut out, false);
    (
        outcome,
        serde_json::from_slice(&out).expect("one JSON object"),
    )
}

fn ok(request: &Json) -> Json {
    let (outcome, v) = agg(request);
    assert_eq!(outcome, Outcome::Priced, "{v}");
    v
}

fn metric(kind: &str, field: Option<&str>) -> Json {
    json!({"code": "bm", "aggregation_type": kind, "field_name": field, "recurring": false})
}

fn march() -> Json {
    json!({"from_datetime": "2024-03-01T00:00:00Z", "to_datetime": "2024-03-31T23:59:59.999999Z",
           "charges_duration": 31})
}

fn ev(id: &str, ts: Json, props: Json) -> Json {
    json!({"transaction_id": id, "timestamp": ts, "properties": props})
}

fn codes(v: &Json) -> Vec<(String, String)> {
    v["rejected_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let who = r
                .get("transaction_id")
                .and_then(Json::as_str)
                .map_or(format!("#{}", r["index"]), str::to_string);
            (who, r["code"].as_str().unwrap().to_string())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn bad_events_are_rejected_by_id_or_index_and_the_rest_still_counts() {
    let t = json!("2024-03-02T00:00:00Z");
    let req = json!({"id": "bad", "billable_metric": metric("sum_agg", Some("v")), "period": march(),
    "events": [
        json!({"timestamp": t, "properties": {"v": 1}}),                 // no id
        ev("a", json!("2024-03-02"), json!({"v": 1})),                   // a date, not an instant
        ev("b", t.clone(), json!([1])),                                  // properties not an object
        ev("c", t.clone(), json!({"v": 1e40})),                          // beyond 2^96
        ev("d", t.clone(), json!({"v": "7"})),
        ev("d", t.clone(), json!({"v": "8"})),                           // duplicate: the first wins
        ev("e", json!(1709337600), json!({"v": {"x": 1}})),              // not numeric: left out (A13)
        json!({"transaction_id": "f", "properties": {"v": 1}}),          // no timestamp
    ]});
    let v = ok(&req);
    // Only d's 7 counts.
    assert_eq!(v["buckets"][0]["aggregation"], "7");
    assert_eq!(v["buckets"][0]["count"], 1);
    assert_eq!(
        codes(&v),
        pairs(&[
            ("#0", "invalid_event"),
            ("a", "invalid_timestamp"),
            ("b", "invalid_event"),
            ("c", "arithmetic_overflow"),
            ("d", "duplicate_transaction_id"),
            ("f", "invalid_timestamp"),
        ])
    );
    assert_eq!(
        v["rejected_events"][4]["index"], 5,
        "the later d is the duplicate"
    );
    assert!(
        v["rejected_events"][3]["message"]
            .as_str()
            .unwrap()
            .contains("\"c\"")
    );
    // The non-numeric value is not an error, but it is not silent either.
    assert_eq!(v["warnings"][0]["code"], "non_numeric_values");
    assert_eq!(v["warnings"][0]["transaction_ids"], json!(["e"]));
}

#[test]
fn c10_order_unreadable_events_do_not_take_their_id_failed_expressions_do() {
    let t = json!("2024-03-02T00:00:00Z");
    let mut m = metric("sum_agg", Some("v"));
    m["expression"] = json!("event.properties.n * 2");
    let req = json!({"billable_metric": m, "period": march(), "events": [
        ev("x", json!("not a time"), json!({"n": 1})), // unreadable: x stays free
        ev("x", t.clone(), json!({"n": 1.5})),          // counts: 3
        ev("y", t.clone(), json!({"n": "abc"})),        // first y: the expression fails
        ev("y", t.clone(), json!({"n": 10})),           // a duplicate of the failed y
        ev("z", t.clone(), json!({"m": 1})),            // A3.4: n is missing
    ]});
    let v = ok(&req);
    assert_eq!(v["buckets"][0]["aggregation"], "3");
    assert_eq!(
        codes(&v),
        pairs(&[
            ("x", "invalid_timestamp"),
            ("y", "expression_evaluation_failed"),
            ("y", "duplicate_transaction_id"),
            ("z", "expression_evaluation_failed"),
        ])
    );
    assert_eq!(
        v["rejected_events"][3]["message"],
        "event \"z\": expression failed: Variable: n not found"
    );
}

#[test]
fn the_expression_replaces_the_client_value_and_division_by_zero_rejects() {
    // A3: properties[field] is replaced; 1500 × 2 / 1000 = 3, then
    // 1 × 1 / 1000 = 0.001 instead of the client's 999.
    let mut m = metric("sum_agg", Some("total"));
    m["expression"] = json!("event.properties.a * event.properties.b / 1000");
    let t = json!("2024-03-02T00:00:00Z");
    let req = json!({"billable_metric": m, "period": march(), "events": [
        ev("t1", t.clone(), json!({"a": 1500, "b": "2"})),
        ev("t4", t.clone(), json!({"a": 1, "b": 1, "total": 999})),
        ev("t5", t.clone(), json!({"a": 1, "b": 0})),
    ]});
    let mut v = ok(&req);
    assert_eq!(v["buckets"][0]["aggregation"], "3.001");
    // QA25 / AD9: 1 / 0 rejects the event, it does not crash.
    let mut m0 = m.clone();
    m0["expression"] = json!("event.properties.a / event.properties.b");
    v = ok(
        &json!({"billable_metric": m0, "period": march(), "events": [ev("t5", t, json!({"a": 1, "b": 0}))]}),
    );
    assert_eq!(codes(&v), pairs(&[("t5", "expression_evaluation_failed")]));
    assert_eq!(v["buckets"][0]["aggregation"], "0");
}

#[test]
fn timestamps_in_every_accepted_form_and_the_window_bounds() {
    // A7: [floor_ms(from), to], both inclusive. QA20: from is floored to
    // the millisecond, so an event at .000 before from = .000285 counts.
    let period = json!({"from_datetime": "2024-03-01T00:00:00.000285Z",
                        "to_datetime": "2024-03-31T23:59:59.999999Z"});
    let req = json!({"billable_metric": metric("count_agg", None), "period": period, "events": [
        ev("ms-floor", json!("2024-03-01T00:00:00.000Z"), json!({})),
        ev("unix", json!(1709337600), json!({})),
        ev("unix-frac", json!("1709337600.25"), json!({})),
        ev("offset", json!("2024-03-02T01:00:00+01:00"), json!({})),
        ev("last-us", json!("2024-03-31T23:59:59.999999Z"), json!({})),
        ev("before", json!("2024-02-29T23:59:59.999Z"), json!({})),
        ev("after", json!("2024-04-01T00:00:00Z"), json!({})),
    ]});
    let v = ok(&req);
    assert_eq!(v["buckets"][0]["aggregation"], "5");
    assert_eq!(v["rejected_events"], json!([]));
}

#[test]
fn non_string_values_match_filters_and_groups_on_their_text() {
    // A12/A20: JSON 2 matches "2", 2.0 does not, true matches "true";
    // numbers in charge filter values are taken as their text too; a
    // composite group value is its jsonb text.
    let m = json!({"code": "bm", "aggregation_type": "count_agg",
        "filters": [{"key": "tier", "values": ["2", "true"]}]});
    let t = json!("2024-03-02T00:00:00Z");
    let req = json!({"billable_metric": m, "period": march(),
    "charge_filters": [{"values": {"tier": [2]}}, {"values": {"tier": ["true"]}}],
    "pricing_group_keys": ["meta"],
    "events": [
        ev("a", t.clone(), json!({"tier": 2, "meta": {"b": 1, "a": [1, 2.50]}})),
        ev("b", t.clone(), json!({"tier": "2"})),
        ev("c", t.clone(), json!({"tier": 2.0})),
        ev("d", t, json!({"tier": true})),
    ]});
    let v = ok(&req);
    let b = v["buckets"].as_array().unwrap();
    let find = |bucket: &str, meta: Json| {
        b.iter()
            .find(|x| x["bucket"] == bucket && x["grouped_by"]["meta"] == meta)
            .map(|x| x["count"].clone())
    };
    // Filter buckets group by their own keys (none here): one each.
    assert_eq!(b[0]["bucket"], "filter:0");
    assert_eq!(b[0]["count"], 2, "2 and \"2\"");
    assert_eq!(b[1]["count"], 1, "true");
    assert_eq!(
        find("default", Json::Null),
        Some(json!(1)),
        "2.0 is text \"2.0\""
    );
    assert_eq!(b.len(), 3);
    // The group label of an object is its jsonb text (keys by length,
    // then bytes; numbers as written: 2.50 keeps its zero). The request
    // is written by hand: serde_json's Value would turn 2.50 into 2.5.
    let req2 = format!(
        r#"{{"billable_metric": {}, "period": {}, "pricing_group_keys": ["meta"],
            "events": [{{"transaction_id": "a", "timestamp": 1709337600,
                         "properties": {{"meta": {{"bb": 1, "a": [1, 2.50]}}}}}}]}}"#,
        metric("count_agg", None),
        march()
    );
    let mut out = Vec::new();
    assert_eq!(aggregate_json(&req2, &mut out, false), Outcome::Priced);
    let v2: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v2["buckets"][0]["grouped_by"]["meta"],
        r#"{"a": [1, 2.50], "bb": 1}"#
    );
}

#[test]
fn overlapping_filters_count_twice_with_a_warning_or_once_in_strict_mode() {
    // AD4 / A25: {eu, us} and {us, asia} overlap partially on "us".
    let m = json!({"code": "bm", "aggregation_type": "count_agg",
        "filters": [{"key": "region", "values": ["eu", "us", "asia"]}]});
    let t = json!("2024-03-02T00:00:00Z");
    let base = json!({"billable_metric": m, "period": march(),
        "charge_filters": [{"values": {"region": ["eu", "us"]}}, {"values": {"region": ["us", "asia"]}}],
        "events": [ev("a", t.clone(), json!({"region": "us"})), ev("b", t.clone(), json!({"region": "eu"})),
                   ev("c", t, json!({"region": "mars"}))]});
    let counts = |v: &Json| -> Vec<Json> {
        v["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].clone())
            .collect()
    };
    let lago = ok(&base);
    assert_eq!(
        counts(&lago),
        [json!(2), json!(1), json!(1)],
        "us in both filters"
    );
    assert_eq!(lago["warnings"][0]["code"], "overlapping_filters");
    assert_eq!(lago["warnings"][0]["transaction_ids"], json!(["a"]));
    let mut strict = base.clone();
    strict["options"] = json!({"strict_filters": true});
    let s = ok(&strict);
    // A26: equal key counts, the first filter takes it.
    assert_eq!(counts(&s), [json!(2), json!(0), json!(1)]);
    assert_eq!(
        s["warnings"][0]["code"], "overlapping_filters",
        "C9: both modes"
    );
}

#[test]
fn percentage_running_totals_and_per_event_values_are_per_group_in_time_order() {
    // Group x: 4 (Mar 2), 3 (Mar 5), 1 (Mar 9). A51 with T = 5: totals 4
    // (0 ≤ 5), 7 (4 ≤ 5), then 7 > 5 stops.
    let ts = |d: u32| json!(format!("2024-03-{d:02}T00:00:00Z"));
    let req = json!({"billable_metric": metric("sum_agg", Some("v")), "period": march(),
        "charge": {"charge_model": "percentage"}, "options": {"free_units_per_total_aggregation": "5"},
        "pricing_group_keys": ["g"],
        "events": [ev("a", ts(5), json!({"v": 3, "g": "x"})), ev("b", ts(2), json!({"v": 4, "g": "x"})),
                   ev("c", ts(9), json!({"v": 1, "g": "x"})), ev("d", ts(9), json!({"v": 10, "g": ""}))]});
    let v = ok(&req);
    // Groups by label: null first (C1); "" is the null group (AD6).
    assert_eq!(v["buckets"][0]["grouped_by"], json!({"g": null}));
    assert_eq!(v["buckets"][0]["running_total"], json!(["10"]));
    assert_eq!(v["buckets"][1]["event_values"], json!(["4", "3", "1"]));
    assert_eq!(v["buckets"][1]["running_total"], json!(["4", "7"]));
}

#[test]
fn per_event_lists_one_group_and_dynamic_totals_stay_in_the_period() {
    let ts = |d: u32| json!(format!("2024-03-{d:02}T00:00:00Z"));
    // per_event.grouped_by_values {g: null}: events without g or with "".
    let req = json!({"billable_metric": metric("sum_agg", Some("v")), "period": march(),
        "per_event": {"grouped_by_values": {"g": null}},
        "events": [ev("a", ts(5), json!({"v": 3, "g": "x"})), ev("b", ts(2), json!({"v": 4})),
                   ev("c", ts(1), json!({"v": 5, "g": ""}))]});
    let v = ok(&req);
    assert_eq!(v["buckets"][0]["event_values"], json!(["5", "4"]));
    assert_eq!(v["buckets"][0]["aggregation"], "12");
    // AD8 (QA18): a recurring dynamic sum bills only the period's prices,
    // while its units carry all history: 2 + 3 units, 1.5 cents.
    let mut m = metric("sum_agg", Some("v"));
    m["recurring"] = json!(true);
    let mut old = ev("old", json!("2024-01-10T00:00:00Z"), json!({"v": 2}));
    old["precise_total_amount_cents"] = json!("100");
    let mut new = ev("new", ts(3), json!({"v": 3}));
    new["precise_total_amount_cents"] = json!(1.5);
    let d = ok(
        &json!({"billable_metric": m, "period": march(), "charge": {"charge_model": "dynamic"},
        "events": [old, new]}),
    );
    assert_eq!(d["buckets"][0]["aggregation"], "5");
    assert_eq!(d["buckets"][0]["precise_total_amount_cents"], "1.5");
}

#[test]
fn weighted_sum_starts_from_the_events_before_the_period_by_default() {
    // AD3: no initial given → Σ values before from = 10, active all March;
    // −10 at Mar 16 12:00 leaves 0. 10 × 15.5 days / 31 days = 5.
    let mut m = metric("weighted_sum_agg", Some("v"));
    m["recurring"] = json!(true);
    m["weighted_interval"] = json!("seconds");
    let req = json!({"billable_metric": m, "period": march(), "events": [
        ev("a", json!("2024-02-05T00:00:00Z"), json!({"v": 10})),
        ev("b", json!("2024-03-16T12:00:00Z"), json!({"v": -10}))]});
    let v = ok(&req);
    assert_eq!(v["buckets"][0]["aggregation"], "5");
    assert_eq!(v["buckets"][0]["count"], 1);
    assert_eq!(v["buckets"][0]["variation"], "-10");
    assert_eq!(v["buckets"][0]["total_aggregated_units"], "0");
}

#[test]
fn proration_counts_days_in_the_customer_time_zone() {
    // Paris, March 2024: 23:30Z on the 30th is 00:30 on the 31st locally,
    // so the event is billed 1 day of 31 (A42), not 2 as in UTC.
    let mut m = metric("sum_agg", Some("v"));
    m["recurring"] = json!(true);
    let period = json!({"from_datetime": "2024-02-29T23:00:00Z", "to_datetime": "2024-03-31T21:59:59Z",
                        "timezone": "Europe/Paris"});
    let req = json!({"billable_metric": m, "period": period, "charge": {"prorated": true},
        "events": [ev("a", json!("2024-03-30T23:30:00Z"), json!({"v": 31}))]});
    let v = ok(&req);
    assert_eq!(v["buckets"][0]["aggregation"], "1");
    assert_eq!(v["buckets"][0]["full_units_number"], "31");
    assert_eq!(v["buckets"][0]["prorated_event_values"], json!(["1"]));
    let mut utc = req.clone();
    utc["period"]["timezone"] = json!("UTC");
    utc["period"]["charges_duration"] = json!(31);
    assert_eq!(
        ok(&utc)["buckets"][0]["aggregation"],
        "2",
        "31 × 2 / 31 in UTC"
    );
}

#[test]
fn pay_in_advance_goes_to_its_filter_and_group_and_reads_the_cache() {
    // A26: region eu → filter 0, grouped by cloud; AD7: cloud 1 and "1"
    // are one group, and the cached {cloud: 1} is that group's. Window up
    // to the event: a 3 + c 5 + the event 2 = 10 (b is group "2").
    // A57: cached current 8 + 2 = 10 > max 8 → bill 2, new max 10.
    let m = json!({"code": "bm", "aggregation_type": "sum_agg", "field_name": "v",
        "filters": [{"key": "region", "values": ["eu", "us"]}]});
    let req = json!({"billable_metric": m, "period": march(), "charge": {"pay_in_advance": true},
        "charge_filters": [{"values": {"region": ["eu"]}, "pricing_group_keys": ["cloud"]},
                           {"values": {"region": ["us"]}}],
        "events": [ev("a", json!("2024-03-05T00:00:00Z"), json!({"v": 3, "region": "eu", "cloud": 1})),
                   ev("b", json!("2024-03-06T00:00:00Z"), json!({"v": 4, "region": "eu", "cloud": "2"})),
                   ev("c", json!("2024-03-07T00:00:00Z"), json!({"v": 5, "region": "eu", "cloud": "1"}))],
        "pay_in_advance_event": ev("e", json!("2024-03-07T00:00:00Z"), json!({"v": 2, "region": "eu", "cloud": "1"})),
        "cached_aggregations": [{"bucket": "filter:0", "grouped_by": {"cloud": 1},
                                 "current_aggregation": "8", "max_aggregation": "8"}]});
    let v = ok(&req);
    let b = &v["buckets"][0];
    assert_eq!(v["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(
        (b["bucket"].clone(), b["grouped_by"].clone()),
        (json!("filter:0"), json!({"cloud": "1"}))
    );
    assert_eq!(
        (b["aggregation"].clone(), b["count"].clone()),
        (json!("10"), json!(3))
    );
    assert_eq!(b["pay_in_advance_aggregation"], "2");
    assert_eq!(
        b["units_applied"],
        Json::Null,
        "Lago leaves it unset above the maximum"
    );
    assert_eq!(b["cached_aggregation"]["current_aggregation"], "10");
    assert_eq!(b["cached_aggregation"]["max_aggregation"], "10");
}

#[test]
fn pay_in_advance_ties_and_estimates() {
    let t = json!("2024-03-07T00:00:00Z");
    // A9: the listed event counts the events of its timestamp up to itself.
    let listed = json!({"billable_metric": metric("count_agg", None), "period": march(),
        "events": [ev("a", t.clone(), json!({})), ev("e", t.clone(), json!({})), ev("b", t.clone(), json!({}))],
        "pay_in_advance_event": ev("e", t.clone(), json!({}))});
    let v = ok(&listed);
    assert_eq!(v["buckets"][0]["aggregation"], "2");
    assert_eq!(v["buckets"][0]["pay_in_advance_aggregation"], "1");
    // An estimate (persisted false) is not one of the events.
    let mut estimate_event = ev("e", t.clone(), json!({}));
    estimate_event["persisted"] = json!(false);
    let estimate = json!({"billable_metric": metric("count_agg", None), "period": march(),
        "events": [ev("a", t.clone(), json!({})), ev("b", t, json!({}))],
        "pay_in_advance_event": estimate_event});
    let v = ok(&estimate);
    assert_eq!(v["buckets"][0]["aggregation"], "2");
}

#[test]
fn bad_requests_get_error_records_with_every_violation() {
    let (o, v) = agg(
        &json!({"id": 3, "billable_metric": {"code": "", "aggregation_type": "max_agg",
        "recurring": true, "rounding_function": "up", "expression": "1 +"}, "period": march()}),
    );
    assert_eq!(o, Outcome::Failed);
    assert_eq!(v["id"], 3);
    assert_eq!(v["error"]["code"], "validation_error");
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "code",
            "field_name",
            "recurring",
            "rounding_function",
            "expression"
        ]
    );
    let (_, v) = agg(&json!({"billable_metric": metric("custom_agg", None), "period": march()}));
    assert_eq!(v["error"]["code"], "unsupported");
    // C13: prorated needs a recurring sum or unique count.
    let (_, v) = agg(
        &json!({"billable_metric": metric("sum_agg", Some("v")), "period": march(),
        "charge": {"prorated": true}}),
    );
    assert_eq!(v["error"]["details"][0]["field"], "prorated");
    // Max cannot be paid in advance.
    let (_, v) = agg(
        &json!({"billable_metric": metric("max_agg", Some("v")), "period": march(),
        "pay_in_advance_event": ev("e", json!(1709337600), json!({"v": 1}))}),
    );
    assert_eq!(v["error"]["details"][0]["field"], "pay_in_advance");
    let (_, v) = agg(&json!({"billable_metric": metric("sum_agg", Some("v")),
        "period": {"from_datetime": "2024-03-31T00:00:00Z", "to_datetime": "2024-03-01T00:00:00Z"}}));
    assert_eq!(v["error"]["details"][0]["code"], "invalid_date_range");
    let (_, v) = agg(
        &json!({"billable_metric": metric("sum_agg", Some("v")), "period": march(),
        "events": [ev("a", json!(1709337600), json!({"v": "50000000000000000000000000000"})),
                   ev("b", json!(1709337600), json!({"v": "50000000000000000000000000000"}))]}),
    );
    assert_eq!(v["error"]["code"], "arithmetic_overflow");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("\"b\""),
        "names the event"
    );
}

#[test]
fn the_binary_answers_every_line_and_sets_the_exit_status() {
    let good = json!({"id": "g", "billable_metric": metric("count_agg", None), "period": march(), "events": []});
    let input = format!("{good}\n{{\"id\": \"broken\"\n[1]\n{good}\n");
    let out = run(&["aggregate"], &input);
    assert_eq!(out.status, 1);
    let codes: Vec<Json> = out
        .lines
        .iter()
        .map(|l| l["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            Json::Null,
            json!("parse_error"),
            json!("parse_error"),
            Json::Null
        ]
    );
    assert_eq!(out.lines[3]["buckets"][0]["aggregation"], "0");
    // --pretty indents the same result.
    let mut pretty = Vec::new();
    aggregate_json(&good.to_string(), &mut pretty, true);
    let text = String::from_utf8(pretty).unwrap();
    assert!(text.lines().count() > 5, "indented over several lines");
    assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), ok(&good));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_meterprice"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("meterprice aggregate"));
}

#[test]
fn a_number_too_long_to_write_out_keeps_its_literal_as_a_group_value() {
    // A12 would write 1e5000 out in 5,001 characters; meterprice labels it
    // by its literal: never the null group, never dropped.
    let req = format!(
        r#"{{"billable_metric": {}, "period": {}, "pricing_group_keys": ["k"],
            "events": [{{"transaction_id": "big", "timestamp": 1709337600, "properties": {{"k": 1e5000}}}},
                       {{"transaction_id": "ok", "timestamp": 1709337600, "properties": {{"k": 1e3}}}}]}}"#,
        metric("count_agg", None),
        march()
    );
    let mut out = Vec::new();
    assert_eq!(aggregate_json(&req, &mut out, false), Outcome::Priced);
    let v: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["rejected_events"], json!([]));
    let labels: Vec<Json> = v["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["grouped_by"]["k"].clone())
        .collect();
    assert_eq!(labels, [json!("1000"), json!("1e5000")]);
}
