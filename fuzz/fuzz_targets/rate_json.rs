//! `meterprice::rate_json` on arbitrary bytes: it must never panic, hang or
//! abort, and must always write exactly one JSON object carrying either
//! `fees` or `error` (rating-json.md), on one line unless pretty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterprice_fuzz::compact_json;
use meterprice::Outcome;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// A result line. The echoed `id` stays raw: it is the request's own JSON,
/// which may hold numbers no `f64` can (`1e+618`) and still be valid JSON.
/// Unknown keys are ignored; a duplicate known key is an error.
#[derive(Deserialize, Debug)]
struct ResultLine<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    fees: Option<Value>,
    true_up_fee: Option<Value>,
    fees_amount_cents: Option<Value>,
    amount_cents: Option<Value>,
    taxes_amount_cents: Option<Value>,
    total_amount_cents: Option<Value>,
    error: Option<Value>,
}

impl ResultLine<'_> {
    /// Everything but the id, as one comparable value.
    fn body(&self) -> Value {
        serde_json::json!({
            "fees": self.fees, "true_up_fee": self.true_up_fee,
            "fees_amount_cents": self.fees_amount_cents, "amount_cents": self.amount_cents,
            "taxes_amount_cents": self.taxes_amount_cents,
            "total_amount_cents": self.total_amount_cents, "error": self.error,
        })
    }
}

fn parse_result<'a>(written: &'a [u8], what: &str) -> ResultLine<'a> {
    // Valid JSON first (grammar only: IgnoredAny reads no number's value).
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(written) {
        panic!(
            "rate_json wrote invalid {what} JSON ({e}): {:?}",
            String::from_utf8_lossy(written)
        );
    }
    match serde_json::from_slice::<ResultLine<'_>>(written) {
        Ok(r) => r,
        Err(e) => panic!(
            "rate_json {what} output is not a result object ({e}): {:?}",
            String::from_utf8_lossy(written)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Something already in the buffer must be left alone (the CLI appends
    // line after line to one buffer).
    let mut out = b"prefix".to_vec();
    let outcome = meterprice::rate_json(text, &mut out, false);
    assert!(
        out.starts_with(b"prefix"),
        "rate_json clobbered what was already in `out`"
    );
    let written = &out[b"prefix".len()..];
    let result = parse_result(written, "compact");
    // JSON Lines: one result per line (rating-json.md), even when the echoed
    // `id` came in over several lines (a fixed finding).
    if written.contains(&b'\n') {
        panic!(
            "compact output must be one line: {:?}",
            String::from_utf8_lossy(written)
        );
    }
    let has_fees = result.fees.as_ref().is_some_and(Value::is_array);
    // A request is a JSON object; serde would also read a JSON array as the
    // envelope's fields in order (a fixed finding).
    if text.trim_start().starts_with('[') {
        assert!(
            outcome != Outcome::Priced,
            "a JSON array was priced as a positional request: {result:?}"
        );
    }
    match outcome {
        Outcome::Priced => {
            assert!(has_fees, "Priced without a `fees` array: {result:?}");
            assert!(result.error.is_none(), "Priced with an `error`: {result:?}");
        }
        Outcome::Failed => {
            let Some(err) = &result.error else {
                panic!("Failed without an `error` object: {result:?}");
            };
            assert!(!has_fees, "Failed with `fees`: {result:?}");
            let code = err.get("code").and_then(Value::as_str).unwrap_or("");
            assert!(
                matches!(
                    code,
                    "parse_error"
                        | "validation_error"
                        | "unsupported"
                        | "arithmetic_overflow"
                        | "invalid_usage"
                ),
                "unknown error code {code:?}: {result:?}"
            );
            assert!(
                err.get("message").is_some_and(Value::is_string),
                "error without a message: {result:?}"
            );
        }
        _ => {}
    }
    if has_fees {
        check_totals(&result);
    }
    // Pretty output must hold the same result.
    let mut pretty = Vec::new();
    let outcome2 = meterprice::rate_json(text, &mut pretty, true);
    assert_eq!(outcome, outcome2, "pretty and compact outcomes differ");
    let presult = parse_result(&pretty, "pretty");
    assert_eq!(
        presult.body(),
        result.body(),
        "pretty and compact results differ"
    );
    assert_eq!(
        presult.id.map(|i| compact_json(i.get())),
        result.id.map(|i| compact_json(i.get())),
        "pretty and compact ids differ"
    );
});

/// The sums of rating-json.md "Result": totals add up over the fees and the
/// true-up fee, and `total_amount_cents = amount_cents + taxes_amount_cents`.
fn check_totals(r: &ResultLine<'_>) {
    // Cents may exceed 64 bits; serde_json (no arbitrary_precision) then
    // reads them as f64: such values are skipped.
    let int = |f: &Value| -> Option<i128> {
        f.as_i64()
            .map(i128::from)
            .or_else(|| f.as_u64().map(i128::from))
    };
    let field = |x: &Value, k: &str| x.get(k).and_then(int);
    let top = |f: &Option<Value>| f.as_ref().and_then(int);
    let Some(fees) = r.fees.as_ref().and_then(Value::as_array) else {
        return;
    };
    let mut fees_sum: Option<i128> = Some(0);
    for fee in fees {
        fees_sum = match (fees_sum, field(fee, "amount_cents")) {
            (Some(s), Some(c)) => s.checked_add(c),
            _ => None,
        };
        if let Some(c) = field(fee, "amount_cents") {
            assert!(c >= 0, "a fee went negative: {fee}");
        }
        if let (Some(a), Some(t), Some(total)) = (
            field(fee, "amount_cents"),
            field(fee, "taxes_amount_cents"),
            field(fee, "total_amount_cents"),
        ) {
            assert_eq!(
                a + t,
                total,
                "fee total_amount_cents != amount + taxes: {fee}"
            );
        }
    }
    if let (Some(s), Some(f)) = (fees_sum, top(&r.fees_amount_cents)) {
        assert_eq!(s, f, "fees_amount_cents is not the sum of the fees: {r:?}");
        let true_up = r
            .true_up_fee
            .as_ref()
            .filter(|t| !t.is_null())
            .map(|t| field(t, "amount_cents"));
        let expected = match true_up {
            None => Some(f),
            Some(Some(t)) => f.checked_add(t),
            Some(None) => None,
        };
        if let (Some(e), Some(a)) = (expected, top(&r.amount_cents)) {
            assert_eq!(e, a, "amount_cents is not fees + true-up: {r:?}");
        }
    }
    if let (Some(a), Some(t), Some(total)) = (
        top(&r.amount_cents),
        top(&r.taxes_amount_cents),
        top(&r.total_amount_cents),
    ) {
        assert_eq!(a + t, total, "total_amount_cents != amount + taxes: {r:?}");
    }
}

