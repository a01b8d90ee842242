//! `meterprice::rate_json` on arbitrary bytes: it must never panic, hang or
//! abort, and must always write exactly one JSON object carrying either
//! `fees` or `error` (rating-json.md), on one line unless pretty.
//!
//! The same bytes also go through the CLI's line reader (`meterprice::serve`,
//! as `meterprice rate` runs it) with a small and a large line limit: invalid
//! UTF-8, long lines, a first line that opens brackets, a byte-order mark.
//! Every result line must be a result object, the summary must count them,
//! there are never more results than non-blank lines, and JSON Lines of
//! whole requests are answered exactly as `rate_json` answers each line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterprice::{Outcome, ServeOptions, rate_json, serve};
use meterprice_fuzz::compact_json;
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
    meterprice_fuzz::parse_as("rate_json", written, what)
}

fuzz_target!(|data: &[u8]| {
    for max in [64, 1 << 20] {
        check_reader(data, max, false);
    }
    check_reader(data, 1 << 20, true);
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

/// The input's lines as the reader splits them (on `\n`), each with its
/// length as read (the limit applies to it) and its text without trailing
/// `\r`s, a byte-order mark dropped from the first.
fn input_lines(data: &[u8]) -> Vec<(usize, &[u8])> {
    let mut lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if data.ends_with(b"\n") {
        lines.pop();
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let mut line = raw;
            while let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if i == 0 {
                line = line
                    .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                    .unwrap_or(line);
            }
            (raw.len(), line)
        })
        .collect()
}

/// A line the reader skips: whitespace only, within the limit.
fn is_blank(&(len, line): &(usize, &[u8]), max: usize) -> bool {
    len <= max && std::str::from_utf8(line).is_ok_and(|t| t.trim().is_empty())
}

/// The CLI's reader on `data`: results are result objects, counted
/// truthfully, never more than the non-blank lines; whole-request lines are
/// answered one by one exactly as `rate_json` answers them.
fn check_reader(data: &[u8], max: usize, pretty: bool) {
    let options = ServeOptions::new()
        .with_max_line_bytes(max)
        .with_pretty(pretty);
    let mut out = Vec::new();
    let summary = match serve(data, &mut out, &options, rate_json) {
        Ok(s) => s,
        Err(e) => panic!("serve failed on an in-memory input and output: {e}"),
    };
    let text = match std::str::from_utf8(&out) {
        Ok(t) => t,
        Err(e) => panic!("serve wrote invalid UTF-8 ({e})"),
    };
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the last result line is not ended: {text:?}"
    );
    let results: Vec<&str> = if pretty && summary.records == 1 {
        vec![text.trim_end_matches('\n')]
    } else {
        text.split_terminator('\n').collect()
    };
    assert_eq!(
        results.len() as u64,
        summary.records,
        "summary counts {} results, {} written: {text:?}",
        summary.records,
        results.len()
    );
    let mut failed = 0;
    for r in &results {
        let result = parse_result(r.as_bytes(), "reader");
        if result.error.is_some() {
            failed += 1;
        } else {
            assert!(
                result.fees.as_ref().is_some_and(Value::is_array),
                "a reader result with neither fees nor error: {r}"
            );
        }
    }
    assert_eq!(failed, summary.failed, "summary counts the wrong failures");
    let lines = input_lines(data);
    let non_blank: Vec<(usize, &[u8])> = lines
        .iter()
        .copied()
        .filter(|l| !is_blank(l, max))
        .collect();
    assert!(
        summary.records <= non_blank.len() as u64,
        "{} results for {} non-blank lines",
        summary.records,
        non_blank.len()
    );
    assert_eq!(
        summary.records == 0,
        non_blank.is_empty(),
        "a non-blank input with no result, or the reverse"
    );
    // JSON Lines of whole requests: each line answered on its own, in
    // order, as rate_json answers it.
    let whole = |&(len, line): &(usize, &[u8])| {
        len <= max
            && line.first() == Some(&b'{')
            && std::str::from_utf8(line)
                .is_ok_and(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok())
    };
    if !pretty && !non_blank.is_empty() && non_blank.iter().all(whole) {
        assert_eq!(
            results.len(),
            non_blank.len(),
            "one result per request line"
        );
        for ((_, line), result) in non_blank.iter().zip(&results) {
            let mut alone = Vec::new();
            let request = std::str::from_utf8(line).unwrap_or_default();
            let _ = rate_json(request, &mut alone, false);
            assert_eq!(
                alone.as_slice(),
                result.as_bytes(),
                "the reader answered a request line differently from rate_json"
            );
        }
    }
}

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
