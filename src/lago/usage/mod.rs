//! The JSON contract of `meterprice usage` (usage-json.md): a plan, a
//! period and each charge's buckets in; Lago's customer usage object out.

mod plan;
mod request;
mod response;

use crate::error::RateError;

use super::{Outcome, RequestError, write_request_error};

/// Prices one usage request (one JSON object) into Lago's customer usage
/// object and appends its result, without a trailing newline, to `out`:
/// `{"id", "customer_usage", "invoice", "warnings", "rejected_events"}`, or
/// an error record (`parse_error`, `validation_error`, `unsupported`,
/// `arithmetic_overflow`, `invalid_usage`). Never panics, whatever the
/// input.
///
/// Charges are given their aggregated buckets in `usage` (charge code →
/// buckets in the `rate` contract's form); a request with raw `events`
/// answers `unsupported` until the aggregation module lands.
///
/// ```
/// let mut out = Vec::new();
/// let line = r#"{"id": 1, "currency": "EUR",
///   "period": {"from_datetime": "2024-03-01T00:00:00Z", "to_datetime": "2024-03-31T23:59:59Z"},
///   "taxes": [{"code": "vat", "rate": "20"}],
///   "plan": {"charges": [{"code": "api", "charge_model": "standard",
///     "properties": {"amount": "12.66"},
///     "billable_metric": {"code": "requests", "name": "Requests", "aggregation_type": "count_agg"}}]},
///   "usage": {"api": {"units": "2", "events_count": 2}}}"#;
/// assert_eq!(meterprice::usage_json(line, &mut out, false), meterprice::Outcome::Priced);
/// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// let cu = &v["customer_usage"];
/// // 2 × 12.66 = 25.32 EUR; taxes 2532 × 20 % = 506.4, rounded once (UD2).
/// assert_eq!(cu["amount_cents"], 2532);
/// assert_eq!(cu["taxes_amount_cents"], 506);
/// assert_eq!(cu["charges_usage"][0]["units"], "2");
/// assert_eq!(cu["issuing_date"], "2024-03-31");
/// ```
pub fn usage_json(text: &str, out: &mut Vec<u8>, pretty: bool) -> Outcome {
    let raw = match request::envelope(text) {
        Ok(raw) => raw,
        Err(message) => {
            super::response::write_error(out, None, "parse_error", &message, None, pretty);
            return Outcome::Failed;
        }
    };
    let id = raw.id;
    let req = match request::parse(text, &raw) {
        Ok(req) => req,
        Err(e) => return write_request_error(out, id, &e, pretty),
    };
    match req
        .plan
        .customer_usage(&req.period, &req.usage, &req.options)
    {
        Ok(usage) => {
            response::write_result(out, id, &usage, pretty);
            Outcome::Priced
        }
        Err(RateError::Usage(u)) => {
            write_request_error(out, id, &RequestError::Usage(u.message), pretty)
        }
        Err(RateError::Arithmetic(a)) => {
            write_request_error(out, id, &RequestError::Overflow(a.to_string()), pretty)
        }
    }
}
