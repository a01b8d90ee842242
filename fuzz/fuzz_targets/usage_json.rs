//! `meterprice::usage_json` on arbitrary bytes: it must never panic, hang
//! or abort, and must always write exactly one JSON object, on one line
//! unless pretty, carrying either the customer usage result
//! (`customer_usage`, `invoice`, `warnings`, `rejected_events`) or an
//! `error` (usage-json.md), whose sums add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterprice::Outcome;
use meterprice_fuzz::compact_json;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// A result line; the echoed `id` stays raw (it may hold numbers no `f64`
/// can). A duplicate known key is an error.
#[derive(Deserialize, Debug)]
struct ResultLine<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    customer_usage: Option<Value>,
    /// `Some(Null)` when present as `null`, `None` when missing.
    #[serde(default, deserialize_with = "present")]
    invoice: Option<Value>,
    warnings: Option<Value>,
    rejected_events: Option<Value>,
    error: Option<Value>,
}

impl ResultLine<'_> {
    fn body(&self) -> Value {
        serde_json::json!({
            "customer_usage": self.customer_usage,
            "invoice": self.invoice,
            "warnings": self.warnings, "rejected_events": self.rejected_events,
            "error": self.error,
        })
    }
}

/// A key that is present, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn parse_result<'a>(written: &'a [u8], what: &str) -> ResultLine<'a> {
    meterprice_fuzz::parse_as("usage_json", written, what)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut out = b"prefix".to_vec();
    let outcome = meterprice::usage_json(text, &mut out, false);
    assert!(
        out.starts_with(b"prefix"),
        "usage_json clobbered what was already in `out`"
    );
    let written = &out[b"prefix".len()..];
    let result = parse_result(written, "compact");
    assert!(
        !written.contains(&b'\n'),
        "compact output must be one line: {:?}",
        String::from_utf8_lossy(written)
    );
    match outcome {
        Outcome::Priced => {
            let usage = result.customer_usage.as_ref();
            assert!(
                usage.is_some_and(Value::is_object),
                "Priced without customer_usage: {result:?}"
            );
            assert!(result.error.is_none(), "Priced with an `error`: {result:?}");
            assert!(
                result.invoice.is_some(),
                "`invoice` must always be present: {result:?}"
            );
            assert!(result.warnings.as_ref().is_some_and(Value::is_array));
            assert!(result.rejected_events.as_ref().is_some_and(Value::is_array));
            if let Some(u) = usage {
                check_usage(u, result.invoice.as_ref());
            }
        }
        Outcome::Failed => {
            let Some(err) = &result.error else {
                panic!("Failed without an `error` object: {result:?}");
            };
            assert!(
                result.customer_usage.is_none(),
                "Failed with a result: {result:?}"
            );
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
            assert!(err.get("message").is_some_and(Value::is_string));
        }
        _ => {}
    }
    let mut pretty = Vec::new();
    let outcome2 = meterprice::usage_json(text, &mut pretty, true);
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

/// Cents may exceed 64 bits; serde_json (no arbitrary_precision) then
/// reads them as f64: such values are skipped.
fn int(v: &Value, key: &str) -> Option<i128> {
    let f = v.get(key)?;
    f.as_i64()
        .map(i128::from)
        .or_else(|| f.as_u64().map(i128::from))
}

/// Σ of `amount_cents` over a list, when every item has one.
fn sum(list: Option<&Value>) -> Option<i128> {
    list?
        .as_array()?
        .iter()
        .try_fold(0i128, |acc, x| acc.checked_add(int(x, "amount_cents")?))
}

/// usage.md §2's sums: the object's amount is Σ charges; a charge's
/// filters and grouped usage each sum to it; no amount is negative;
/// `total = amount + taxes`; the invoice adds the true-ups.
fn check_usage(u: &Value, invoice: Option<&Value>) {
    let charges = u.get("charges_usage");
    if let (Some(s), Some(a)) = (sum(charges), int(u, "amount_cents")) {
        assert_eq!(s, a, "amount_cents is not the sum of the charges: {u}");
    }
    for c in charges.and_then(Value::as_array).into_iter().flatten() {
        let Some(amount) = int(c, "amount_cents") else {
            continue;
        };
        assert!(amount >= 0, "a charge went negative: {c}");
        for key in ["filters", "grouped_usage"] {
            let list = c.get(key);
            let empty = list.and_then(Value::as_array).is_none_or(Vec::is_empty);
            if let (false, Some(s)) = (empty, sum(list)) {
                assert_eq!(s, amount, "{key} do not sum to the charge: {c}");
            }
        }
    }
    if let (Some(a), Some(t), Some(total)) = (
        int(u, "amount_cents"),
        int(u, "taxes_amount_cents"),
        int(u, "total_amount_cents"),
    ) {
        assert_eq!(a + t, total, "total_amount_cents != amount + taxes: {u}");
    }
    let Some(inv) = invoice.filter(|i| !i.is_null()) else {
        return;
    };
    if let (Some(a), Some(t), Some(total)) = (
        int(inv, "amount_cents"),
        int(inv, "taxes_amount_cents"),
        int(inv, "total_amount_cents"),
    ) {
        assert_eq!(a + t, total, "invoice total != amount + taxes: {inv}");
    }
    if let (Some(ups), Some(a), Some(usage)) = (
        sum(inv.get("true_up_fees")),
        int(inv, "amount_cents"),
        int(u, "amount_cents"),
    ) {
        assert_eq!(
            usage + ups,
            a,
            "invoice amount is not usage + true-ups: {inv}"
        );
    }
}
