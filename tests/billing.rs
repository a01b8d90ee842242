//! Issue 13, phase 2: usage requests with raw events, and the billing run
//! over an event file (usage-json.md, "Billing run").

use meterprice::{BillingRunOptions, Outcome, billing_run, usage_json};
use serde_json::{Value, json};

const FROM: &str = "2024-03-01T00:00:00Z";
const TO: &str = "2024-03-31T23:59:59Z";

/// A two-charge plan: storage (sum of `gb`, a filter on region eu at
/// 0.20, the rest at 0.10) and calls (count at 1 EUR), 20 % VAT.
fn plan() -> Value {
    json!({"currency": "EUR", "taxes": [{"code": "vat", "rate": "20"}],
      "plan": {"charges": [
        {"code": "storage", "charge_model": "standard", "properties": {"amount": "0.10"},
         "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": "0.20"},
                      "invoice_display_name": "EU"}],
         "billable_metric": {"code": "gb", "name": "Storage", "aggregation_type": "sum_agg",
                             "field_name": "gb", "filters": [{"key": "region", "values": ["eu", "us"]}]}},
        {"code": "calls", "charge_model": "standard", "properties": {"amount": "1"},
         "billable_metric": {"code": "calls", "name": "Calls", "aggregation_type": "count_agg"}},
        {"code": "users", "charge_model": "standard", "properties": {"amount": "3"},
         "billable_metric": {"code": "users", "name": "Users", "aggregation_type": "unique_count_agg",
                             "field_name": "user"}}]}})
}

fn usage(req: &Value) -> (Outcome, Value) {
    let mut out = Vec::new();
    let outcome = usage_json(&req.to_string(), &mut out, false);
    let v = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"));
    (outcome, v)
}

#[test]
fn an_events_request_is_aggregated_per_charge_then_priced() {
    let mut req = plan();
    req["id"] = json!("e1");
    req["period"] = json!({"from_datetime": FROM, "to_datetime": TO});
    req["events"] = json!([
        {"transaction_id": "t1", "code": "gb", "timestamp": 1709283600, "properties": {"gb": "10", "region": "eu"}},
        {"transaction_id": "t2", "code": "gb", "timestamp": 1709283600, "properties": {"gb": 5, "region": "us"}},
        {"transaction_id": "t3", "code": "calls", "timestamp": 1709283600},
        {"transaction_id": "t3", "code": "calls", "timestamp": 1709283601},
        {"transaction_id": "t4", "code": "calls", "timestamp": "2024-03-02T00:00:00Z"},
        {"transaction_id": "t5", "code": "nope", "timestamp": 1709283600},
        {"transaction_id": "t6", "code": "gb", "timestamp": 1717200000, "properties": {"gb": 99}},
        5
    ]);
    let (outcome, v) = usage(&req);
    assert_eq!(outcome, Outcome::Priced, "{v}");
    let cu = &v["customer_usage"];
    // storage: EU 10 GB × 0.20 = 2.00 EUR (200), us 5 GB × 0.10 = 0.50 (50);
    // t6 is after the period (June). calls: t3 once = 1 EUR (100); t3's
    // second copy is a duplicate (QA19), t4's ISO timestamp invalid (A1).
    // users: no event, a zero fee (U6). 350 cents, taxes 350 × 20 % = 70.
    assert_eq!(cu["amount_cents"], 350);
    assert_eq!(cu["taxes_amount_cents"], 70);
    assert_eq!(cu["total_amount_cents"], 420);
    let storage = &cu["charges_usage"][0];
    assert_eq!(storage["units"], "15");
    assert_eq!(storage["filters"][0]["amount_cents"], 200);
    assert_eq!(storage["filters"][0]["invoice_display_name"], "EU");
    assert_eq!(storage["filters"][1]["amount_cents"], 50);
    assert_eq!(storage["filters"][1]["values"], Value::Null);
    assert_eq!(cu["charges_usage"][1]["events_count"], 1);
    assert_eq!(cu["charges_usage"][2]["amount_cents"], 0);
    let rejected = v["rejected_events"].as_array().expect("list");
    let codes: Vec<(&str, &Value)> = rejected
        .iter()
        .map(|r| (r["code"].as_str().unwrap_or(""), &r["index"]))
        .collect();
    assert_eq!(
        codes,
        [
            ("duplicate_transaction_id", &json!(3)),
            ("invalid_timestamp", &json!(4)),
            ("invalid_event", &json!(7))
        ]
    );
    assert_eq!(rejected[0]["charge_codes"], json!(["calls"]));
    assert_eq!(rejected[2]["charge_codes"], json!([]));
    assert_eq!(v["warnings"][0]["code"], "unknown_metric_code");
    assert_eq!(v["warnings"][0]["charge_codes"], json!([]));
}

#[test]
fn charges_given_buckets_ignore_their_events_c7() {
    let mut req = plan();
    req["period"] = json!({"from_datetime": FROM, "to_datetime": TO});
    req["usage"] = json!({"calls": {"units": "7", "events_count": 7}});
    req["events"] = json!([
        {"transaction_id": "t1", "code": "calls", "timestamp": 1709283600},
        {"transaction_id": "t2", "code": "users", "timestamp": 1709283600, "properties": {"user": "a"}},
        {"transaction_id": "t3", "code": "users", "timestamp": 1709283600, "properties": {"user": "a"}},
        {"transaction_id": "t4", "code": "users", "timestamp": 1709283600, "properties": {"user": "b"}}]);
    let (outcome, v) = usage(&req);
    assert_eq!(outcome, Outcome::Priced, "{v}");
    let cu = &v["customer_usage"];
    // calls: the given 7 units × 1 EUR; users: 2 distinct × 3 EUR = 6 EUR.
    assert_eq!(cu["charges_usage"][1]["amount_cents"], 700);
    assert_eq!(cu["charges_usage"][2]["units"], "2");
    assert_eq!(cu["charges_usage"][2]["amount_cents"], 600);
    // The calls event belongs to a charge given buckets: not unknown.
    assert_eq!(v["warnings"], json!([]));
}

/// Deterministic pseudo-random events of three subscriptions, with
/// duplicates, out-of-period events and unknown codes.
fn events() -> Vec<Value> {
    let mut r: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: u64| {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        r % n
    };
    (0..300)
        .map(|_| {
            let sub = format!("sub_{}", next(3));
            let tx = format!("tx_{}", next(250));
            let t = 1_709_251_200 - 86_400 + next(33 * 86_400);
            let region = ["eu", "us", "af"][next(3) as usize];
            let (code, props) = match next(4) {
                0 => (
                    "gb",
                    json!({"gb": format!("{}.{}", next(20), next(10)), "region": region}),
                ),
                1 => ("calls", json!({})),
                2 => ("users", json!({"user": format!("u{}", next(5))})),
                _ => ("other", json!({})),
            };
            json!({"transaction_id": tx, "external_subscription_id": sub, "code": code,
                   "timestamp": t, "properties": props})
        })
        .collect()
}

fn run(
    plan: &str,
    lines: &str,
) -> (
    Result<meterprice::BillingRunSummary, meterprice::BillingRunError>,
    String,
    String,
) {
    let opts = BillingRunOptions::new(plan, FROM, TO);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let r = billing_run(&opts, lines.as_bytes(), &mut out, &mut err);
    (
        r,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}

#[test]
fn a_billing_run_equals_the_per_subscription_usage_requests() {
    let evs = events();
    let file: String = evs.iter().map(|e| format!("{e}\n")).collect();
    let (r, out, _) = run(&plan().to_string(), &file);
    let summary = r.expect("a run");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(summary.subscriptions, 3);
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["external_subscription_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["sub_0", "sub_1", "sub_2"], "sorted by id");
    let mut priced_something = false;
    for line in &lines {
        let sub = &line["external_subscription_id"];
        let mut req = plan();
        req["id"] = sub.clone();
        req["period"] = json!({"from_datetime": FROM, "to_datetime": TO});
        req["events"] = Value::Array(
            evs.iter()
                .filter(|e| e["external_subscription_id"] == *sub)
                .cloned()
                .collect(),
        );
        let (outcome, alone) = usage(&req);
        assert_eq!(outcome, Outcome::Priced, "{alone}");
        for key in ["customer_usage", "invoice", "warnings", "rejected_events"] {
            assert_eq!(line[key], alone[key], "{sub}: {key}");
        }
        priced_something |= alone["customer_usage"]["amount_cents"]
            .as_i64()
            .unwrap_or(0)
            > 0;
        assert!(
            !alone["rejected_events"]
                .as_array()
                .expect("list")
                .is_empty(),
            "duplicates exist"
        );
    }
    assert!(priced_something);
}

#[test]
fn bad_event_lines_are_named_and_never_stop_the_run() {
    let good = |tx: &str| {
        format!(
            r#"{{"transaction_id":"{tx}","external_subscription_id":"s1","code":"calls","timestamp":1709283600}}"#
        )
    };
    let file = format!(
        "{}\nnot json\n\n{}\n{{\"transaction_id\":\"x\",\"code\":\"calls\",\"timestamp\":1709283600}}\n{}\n",
        good("a"),
        good("a"),
        good("b")
    );
    let (r, out, err) = run(&plan().to_string(), &file);
    let summary = r.expect("a run");
    // Lines 1, 4 (a duplicate), 6 count or are rejected in s1; line 2 is not
    // JSON, line 3 blank (not an event), line 5 has no subscription.
    assert_eq!(
        (summary.events, summary.rejected, summary.subscriptions),
        (5, 3, 1)
    );
    assert!(err.contains("line 2: "), "{err}");
    assert!(
        err.contains("line 4: event \"a\": duplicate transaction_id"),
        "{err}"
    );
    assert!(
        err.contains("line 5: external_subscription_id is missing"),
        "{err}"
    );
    assert!(
        err.contains("billing run: 5 events read, 3 rejected, 1 subscriptions"),
        "{err}"
    );
    let v: Value = serde_json::from_str(out.trim()).expect("one line");
    // a and b count: 2 calls × 1 EUR.
    assert_eq!(v["customer_usage"]["charges_usage"][1]["amount_cents"], 200);
    assert_eq!(v["rejected_events"][0]["code"], "duplicate_transaction_id");
}

#[test]
fn events_the_aggregators_reject_are_counted_in_the_summary() {
    // 10^30 ≥ 2^96 (≈ 7.9 × 10^28): beyond the decimal range, so the
    // storage aggregator rejects it (arithmetic_overflow) inside `push`,
    // not the reader; "a" counts, "c" is a duplicate rejected on reading.
    let big = format!("1{}", "0".repeat(30));
    let line = |tx: &str, gb: &str| {
        format!(
            r#"{{"transaction_id":"{tx}","external_subscription_id":"s1","code":"gb","timestamp":1709283600,"properties":{{"gb":"{gb}","region":"us"}}}}"#
        )
    };
    let file = format!(
        "{}\n{}\n{}\n",
        line("a", "2"),
        line("b", &big),
        line("a", "3")
    );
    let (r, out, err) = run(&plan().to_string(), &file);
    let summary = r.expect("a run");
    assert_eq!((summary.events, summary.rejected), (3, 2), "{err}");
    assert!(
        err.contains("billing run: 3 events read, 2 rejected, 1 subscriptions"),
        "{err}"
    );
    let v: Value = serde_json::from_str(out.trim()).expect("one line");
    let codes: Vec<&Value> = v["rejected_events"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| &r["code"])
        .collect();
    assert_eq!(
        codes,
        [
            &json!("arithmetic_overflow"),
            &json!("duplicate_transaction_id")
        ]
    );
    // Only "a" counts: 2 GB × 0.10 EUR = 20 cents.
    assert_eq!(v["customer_usage"]["charges_usage"][0]["amount_cents"], 20);
}

#[test]
fn a_broken_plan_stops_the_run_before_any_output() {
    let mut p = plan();
    p["plan"]["charges"][1]["billable_metric"]["aggregation_type"] = json!("avg_agg");
    let line = r#"{"transaction_id":"a","external_subscription_id":"s1","code":"calls","timestamp":1709283600}"#;
    let (r, out, _) = run(&p.to_string(), line);
    let e = r.expect_err("a broken plan");
    assert_eq!(e.exit_status(), 2);
    assert!(e.to_string().contains("validation_error"), "{e}");
    assert!(e.to_string().contains("aggregation_type"), "{e}");
    assert_eq!(out, "");
    let (r, out, _) = run("[1]", line);
    assert_eq!(r.map_err(|e| e.exit_status()).err(), Some(2));
    assert_eq!(out, "");
    let mut with_events = plan();
    with_events["events"] = json!([]);
    let (r, _, _) = run(&with_events.to_string(), line);
    assert!(
        r.expect_err("events belong in the file")
            .to_string()
            .contains("events")
    );
}

#[test]
fn a_subscription_that_cannot_be_priced_gets_its_error_record_in_place() {
    // s1's 7 × 10^28 GB × 0.10 EUR = 7 × 10^27 EUR = 7 × 10^29 cents ≥ 2^96
    // (≈ 7.9 × 10^28): its fee overflows. Its record, between two priced
    // lines of the same output chunk, names it under the run's key.
    let big = format!("7{}", "0".repeat(28));
    let line = |sub: &str, gb: &str| {
        format!(
            r#"{{"transaction_id":"t_{sub}","external_subscription_id":"{sub}","code":"gb","timestamp":1709283600,"properties":{{"gb":"{gb}","region":"us"}}}}"#
        )
    };
    let file = format!(
        "{}\n{}\n{}\n",
        line("s0", "2"),
        line("s1", &big),
        line("s2", "3")
    );
    let (r, out, _) = run(&plan().to_string(), &file);
    let summary = r.expect("a run");
    assert_eq!((summary.subscriptions, summary.errors), (3, 1));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with(r#"{"external_subscription_id":"s1","error":"#)),
        "{out}"
    );
    assert_eq!(lines[1]["error"]["code"], "arithmetic_overflow");
    assert!(lines[1].get("id").is_none());
    // 2 GB and 3 GB × 0.10 EUR: 20 and 30 cents.
    assert_eq!(lines[0]["customer_usage"]["amount_cents"], 20);
    assert_eq!(lines[2]["customer_usage"]["amount_cents"], 30);
}

fn text(out: &[u8]) -> &str {
    std::str::from_utf8(out).expect("utf-8")
}

/// A run over `file` read `window` bytes at a time: the summary, the
/// output, and stderr without its last line's elapsed time.
fn run_windowed(file: &[u8], window: usize) -> (meterprice::BillingRunSummary, Vec<u8>, String) {
    let mut opts = BillingRunOptions::new(plan().to_string(), FROM, TO);
    opts.window = window;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary = billing_run(&opts, file, &mut out, &mut err).expect("a run");
    let err = String::from_utf8(err).expect("utf-8");
    let err = err.rsplit_once(" subscriptions, ").map_or("", |(a, _)| a);
    (summary, out, err.to_string())
}

#[test]
fn the_window_read_at_a_time_changes_nothing_in_the_output() {
    let mut file: Vec<u8> = Vec::new();
    for (i, e) in events().iter().enumerate() {
        file.extend(format!("{e}\n").bytes());
        match i {
            // Line 3: the id written with an escape is sub_1 (parsed,
            // not read off the text).
            1 => file.extend(
                br#"{"transaction_id":"esc","external_subscription_id":"sub\u005f1","code":"calls","timestamp":1709283600}"#,
            ),
            // Line 5: the key only inside properties is no subscription.
            2 => file.extend(
                br#"{"transaction_id":"n","code":"calls","timestamp":1709283600,"properties":{"external_subscription_id":"sub_9"}}"#,
            ),
            // Line 7: not UTF-8, though its id reads off the text.
            3 => file.extend(
                b"{\"transaction_id\":\"\xff\",\"external_subscription_id\":\"sub_8\",\"code\":\"calls\",\"timestamp\":1709283600}",
            ),
            // Line 9: cut short.
            4 => file.extend(br#"{"transaction_id":"cut","external_subscription_id":"sub_0""#),
            _ => continue,
        }
        file.push(b'\n');
    }
    // A CRLF line, a blank line, and a last line with tabs around `:` and
    // no newline: two events of sub_2.
    file.extend(
        b"{\"transaction_id\":\"crlf\",\"external_subscription_id\":\"sub_2\",\"code\":\"calls\",\"timestamp\":1709283600}\r\n \t\n",
    );
    file.extend(
        b"{\"transaction_id\":\"tab\",\"external_subscription_id\"\t:\t\"sub_2\",\"code\":\"calls\",\"timestamp\":1709283600}",
    );
    let (summary, out, err) = run_windowed(&file, 32 << 20);
    // 300 events, 4 more lines and 2 at the end; sub_8 and sub_9 get no
    // line.
    assert_eq!((summary.events, summary.subscriptions), (306, 3));
    assert!(
        err.contains("line 5: external_subscription_id is missing"),
        "{err}"
    );
    assert!(err.contains("line 7: the line is not UTF-8"), "{err}");
    assert!(err.contains("line 9: "), "{err}");
    let escaped = br"sub\u005f1";
    let at = file
        .windows(escaped.len())
        .position(|w| w == escaped)
        .expect("the escaped id");
    let mut plain = file.clone();
    plain.splice(at..at + escaped.len(), *b"sub_1");
    // The escaped id joined sub_1's events.
    assert_eq!(text(&run_windowed(&plain, 32 << 20).1), text(&out));
    for window in [1, 7, 300, 4096, usize::MAX] {
        let (s, o, e) = run_windowed(&file, window);
        assert_eq!(
            (s.events, s.rejected, s.subscriptions, s.errors),
            (
                summary.events,
                summary.rejected,
                summary.subscriptions,
                summary.errors
            ),
            "window {window}"
        );
        assert_eq!(text(&o), text(&out), "window {window}");
        assert_eq!(e, err, "window {window}");
    }
}
