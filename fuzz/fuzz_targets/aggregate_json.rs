//! `meterprice::aggregate_json` on arbitrary bytes: it must never panic,
//! hang or abort, and must always write exactly one JSON object on one
//! line (unless pretty) carrying either `buckets`, `warnings` and
//! `rejected_events`, or an `error` with a contract code
//! (docs/aggregate-json.md); the same input gives the same output, and
//! pretty output holds the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterprice::Outcome;
use serde_json::Value;

fn parse(written: &[u8], what: &str) -> Value {
    meterprice_fuzz::object_without_id("aggregate_json", written, what)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut out = b"prefix".to_vec();
    let outcome = meterprice::aggregate_json(text, &mut out, false);
    assert!(out.starts_with(b"prefix"), "aggregate_json clobbered `out`");
    let written = out[b"prefix".len()..].to_vec();
    assert!(!written.contains(&b'\n'), "compact output must be one line");
    let result = parse(&written, "compact");
    match outcome {
        Outcome::Priced => {
            assert!(
                result.get("error").is_none(),
                "Priced with an error: {result}"
            );
            for key in ["buckets", "warnings", "rejected_events"] {
                assert!(result[key].is_array(), "Priced without `{key}`: {result}");
            }
            for b in result["buckets"].as_array().into_iter().flatten() {
                assert!(
                    b["aggregation"].is_string(),
                    "a bucket without its aggregation: {b}"
                );
                assert!(b.get("count").is_some(), "a bucket without its count: {b}");
                let label = b["bucket"].as_str().unwrap_or("");
                assert!(
                    label == "default" || label == "filter" || label.starts_with("filter:"),
                    "unknown bucket label {label:?}"
                );
            }
            for r in result["rejected_events"].as_array().into_iter().flatten() {
                let code = r["code"].as_str().unwrap_or("");
                assert!(
                    matches!(
                        code,
                        "invalid_event"
                            | "invalid_timestamp"
                            | "duplicate_transaction_id"
                            | "expression_evaluation_failed"
                            | "arithmetic_overflow"
                    ),
                    "unknown rejection code {code:?}"
                );
            }
        }
        Outcome::Failed => {
            let err = &result["error"];
            let code = err["code"].as_str().unwrap_or("");
            assert!(
                matches!(
                    code,
                    "parse_error" | "validation_error" | "unsupported" | "arithmetic_overflow"
                ),
                "unknown error code {code:?}: {result}"
            );
            assert!(
                err["message"].is_string(),
                "error without a message: {result}"
            );
        }
        _ => {}
    }
    // Deterministic.
    let mut again = Vec::new();
    meterprice::aggregate_json(text, &mut again, false);
    assert_eq!(again, written, "two runs differ");
    // Pretty holds the same result.
    let mut pretty = Vec::new();
    assert_eq!(meterprice::aggregate_json(text, &mut pretty, true), outcome);
    assert_eq!(
        parse(&pretty, "pretty"),
        result,
        "pretty and compact differ"
    );
});
