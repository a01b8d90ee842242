//! `meterprice::explore_json` on arbitrary bytes: it must never panic, hang
//! or abort, and must write exactly one JSON object, on one line unless
//! pretty, holding either an `error` with a contract code or the answers of
//! the operations asked, each consistent with the contract (explore-json.md):
//! curves have one point more than pieces, in increasing order; a budget's
//! `next_units` follows `max_units`; break-even intervals are in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterprice::Outcome;
use serde_json::Value;

fn dec(v: &Value) -> Option<meterprice::Exact> {
    v.as_str()?.parse().ok()
}

fn check_budget(b: &Value) {
    let unbounded = b["unbounded"].as_bool().expect("unbounded");
    let any = b["unbounded_any"].as_bool().expect("unbounded_any");
    assert!(!unbounded || any, "unbounded without unbounded_any: {b}");
    if unbounded {
        assert!(b["max_units"].is_null() && b["next_units"].is_null(), "{b}");
        return;
    }
    let next = dec(&b["next_units"]).expect("next_units");
    if let Some(max) = dec(&b["max_units"]) {
        assert!(max < next, "max_units not before next_units: {b}");
        if let Some(a) = dec(&b["max_units_any"]) {
            assert!(a >= max, "max_units_any below max_units: {b}");
        }
    }
}

fn check_curve(c: &Value) {
    let pieces = c["pieces"].as_array().expect("pieces");
    let points = c["points"].as_array().expect("points");
    assert_eq!(points.len(), pieces.len() + 1, "points and pieces: {c}");
    for (i, p) in pieces.iter().enumerate() {
        let (from, to) = (dec(&p["from"]).expect("from"), dec(&p["to"]).expect("to"));
        assert!(from < to, "empty piece: {c}");
        assert_eq!(Some(from), dec(&points[i]["units"]), "piece start: {c}");
        assert_eq!(Some(to), dec(&points[i + 1]["units"]), "piece end: {c}");
    }
}

fn check_intervals(be: &Value) {
    let intervals = be["intervals"].as_array().expect("intervals");
    let mut last: Option<(meterprice::Exact, &str)> = None;
    for i in intervals {
        let (from, to) = (dec(&i["from"]).expect("from"), dec(&i["to"]).expect("to"));
        let who = i["cheaper"].as_str().expect("cheaper");
        assert!(matches!(who, "a" | "b" | "equal"), "{be}");
        assert!(from <= to, "{be}");
        if let Some((prev, prev_who)) = last {
            assert!(
                prev < from && prev_who != who,
                "intervals not maximal or out of order: {be}"
            );
        }
        last = Some((to, who));
    }
}

/// The output as a value without its `id` (checked as grammar only).
fn parse(written: &[u8]) -> Value {
    meterprice_fuzz::object_without_id("explore_json", written, "compact")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut out = b"prefix".to_vec();
    let outcome = meterprice::explore_json(text, &mut out, false);
    assert!(out.starts_with(b"prefix"), "explore_json clobbered `out`");
    let written = &out[b"prefix".len()..];
    assert!(!written.contains(&b'\n'), "compact output must be one line");
    let v = parse(written);
    match outcome {
        Outcome::Failed => {
            let code = v["error"]["code"].as_str().unwrap_or("");
            assert!(
                matches!(
                    code,
                    "parse_error"
                        | "validation_error"
                        | "unsupported"
                        | "arithmetic_overflow"
                        | "invalid_usage"
                ),
                "unknown error code: {v}"
            );
            assert!(
                v["error"]["message"].is_string(),
                "error without message: {v}"
            );
        }
        _ => {
            assert!(v.get("error").is_none(), "answered with an error: {v}");
            let asked = ["budget", "curve", "break_even"]
                .iter()
                .filter(|k| v.get(**k).is_some())
                .count();
            assert!(asked > 0, "no answer: {v}");
            if let Some(b) = v.get("budget") {
                check_budget(b);
            }
            if let Some(c) = v.get("curve") {
                check_curve(c);
            }
            if let Some(be) = v.get("break_even") {
                check_intervals(be);
            }
        }
    }
    let mut pretty = Vec::new();
    assert_eq!(
        meterprice::explore_json(text, &mut pretty, true),
        outcome,
        "pretty outcome differs"
    );
});
