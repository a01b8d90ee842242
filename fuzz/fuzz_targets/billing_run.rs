//! `meterprice::billing_run` over arbitrary bytes as the event file, with
//! a fixed plan (a sum with filters and a group key, a count, a unique
//! count): it must never panic, hang or fail, must write one JSON line per
//! subscription, sorted by `external_subscription_id` and without
//! repeats, and must write the same output and name the same bad lines
//! whatever the window it reads at a time (read_windows.rs), and whether
//! or not plain subscriptions take the direct path (direct_write.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterprice::{BillingRunOptions, billing_run};
use serde_json::Value;

const PLAN: &str = r#"{"currency": "EUR", "taxes": [{"code": "vat", "rate": "20"}],
  "plan": {"charges": [
    {"code": "storage", "charge_model": "graduated",
     "properties": {"graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "0.5", "flat_amount": "1"},
        {"from_value": 11, "to_value": null, "per_unit_amount": "0.25", "flat_amount": "0"}],
        "pricing_group_keys": ["agent"]},
     "filters": [{"values": {"region": ["eu"]}, "properties": {"graduated_ranges": [
        {"from_value": 0, "to_value": null, "per_unit_amount": "0.2", "flat_amount": "0"}],
        "pricing_group_keys": ["agent"]}}],
     "billable_metric": {"code": "gb", "name": "Storage", "aggregation_type": "sum_agg",
        "field_name": "gb", "filters": [{"key": "region", "values": ["eu", "us"]}]}},
    {"code": "calls", "charge_model": "standard", "properties": {"amount": "1"},
     "billable_metric": {"code": "calls", "name": "Calls", "aggregation_type": "count_agg"}},
    {"code": "users", "charge_model": "standard", "properties": {"amount": "3"},
     "billable_metric": {"code": "users", "name": "Users", "aggregation_type": "unique_count_agg",
        "field_name": "user"}}]}}"#;

/// The output, and stderr without the elapsed time of its last line.
fn run(
    data: &[u8],
    window: usize,
    general_only: bool,
) -> (meterprice::BillingRunSummary, Vec<u8>, String) {
    let mut opts = BillingRunOptions::new(PLAN, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z");
    opts.window = window;
    opts.general_only = general_only;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary = match billing_run(&opts, data, &mut out, &mut err) {
        Ok(s) => s,
        Err(e) => panic!("a billing run over bytes in memory failed: {e}"),
    };
    let err = String::from_utf8(err).expect("stderr is UTF-8");
    let err = err
        .rsplit_once(" subscriptions, ")
        .map_or("", |(a, _)| a)
        .to_string();
    (summary, out, err)
}

fuzz_target!(|data: &[u8]| {
    // One window for any input the fuzzer makes.
    let (summary, out, err) = run(data, 1 << 20, false);
    let lines: Vec<&[u8]> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines.len() as u64,
        summary.subscriptions,
        "one line per subscription"
    );
    let mut ids = Vec::new();
    for line in &lines {
        let v: Value = serde_json::from_slice(line).expect("each line is JSON");
        let id = v["external_subscription_id"]
            .as_str()
            .expect("an id")
            .to_string();
        assert!(
            v.get("customer_usage").is_some() || v.get("error").is_some(),
            "{v}"
        );
        ids.push(id);
    }
    assert!(
        ids.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()),
        "sorted, no repeats: {ids:?}"
    );
    let events = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count() as u64;
    assert_eq!(
        summary.events, events,
        "every non-blank line is an event read"
    );
    let window = 1 + data.first().map_or(0, |&b| usize::from(b) % 64);
    // Another window; then every subscription by the general path.
    for (window, general_only) in [(window, false), (1 << 20, true)] {
        let what = format!("window {window}, general path only: {general_only}");
        let (s, o, e) = run(data, window, general_only);
        let counts =
            |s: &meterprice::BillingRunSummary| (s.events, s.rejected, s.subscriptions, s.errors);
        assert_eq!(counts(&s), counts(&summary), "{what}");
        assert!(o == out, "{what}: another output");
        assert_eq!(e, err, "{what}");
    }
});
