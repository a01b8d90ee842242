//! The JSON contract of `meterprice usage` (usage-json.md): a plan, a
//! period and each charge's buckets in; Lago's customer usage object out.

mod billing_run;
mod direct_write;
mod events;
mod plan;
mod read_windows;
mod request;
mod response;
mod two_cores;

use crate::customer_usage::{PlanAggregator, PlanEvents, PlanUsage};
use crate::error::RateError;
use crate::lago::raw::RawJson;
use response::Lead;

pub use billing_run::{BillingRunError, BillingRunOptions, BillingRunSummary, billing_run};

use super::{Outcome, RequestError, write_request_error};

/// Prices one usage request (one JSON object) into Lago's customer usage
/// object and appends its result, without a trailing newline, to `out`:
/// `{"id", "customer_usage", "invoice", "warnings", "rejected_events"}`, or
/// an error record (`parse_error`, `validation_error`, `unsupported`,
/// `arithmetic_overflow`, `invalid_usage`). Never panics, whatever the
/// input.
///
/// Charges are given raw `events` (aggregated per charge, aggregation.md)
/// or their aggregated buckets in `usage` (charge code → buckets in the
/// `rate` contract's form); a charge given buckets ignores the events
/// (C7).
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
    let (usage, events) = match aggregate(&req, raw.events) {
        Ok(x) => x,
        Err(e) => return write_request_error(out, id, &e, pretty),
    };
    match req
        .plan
        .customer_usage_written(&req.period, usage, &req.options)
    {
        Ok(cu) => {
            response::write_result(out, Lead::Id(id), &cu, events.as_ref(), pretty);
            Outcome::Priced
        }
        Err(e) => write_request_error(out, id, &rate_error(e), pretty),
    }
}

fn rate_error(e: RateError) -> RequestError {
    match e {
        RateError::Usage(u) => RequestError::Usage(u.message),
        RateError::Arithmetic(a) => RequestError::Overflow(a.to_string()),
    }
}

/// The request's events (when it has some, or carried state) aggregated
/// for every charge not given buckets, beside the given buckets.
fn aggregate(
    req: &request::UsageRequest,
    events: Option<RawJson<'_>>,
) -> Result<(PlanUsage, Option<PlanEvents>), RequestError> {
    let events = events.filter(|e| e.get() != "null");
    if events.is_none() && req.setup.states.is_empty() {
        return Ok((req.usage.clone(), None));
    }
    let elements = match events {
        Some(raw) => crate::lago::aggregate::elements(raw.get())
            .map_err(|e| RequestError::Parse(format!("events: {e}")))?,
        None => Vec::new(),
    };
    let agg = PlanAggregator::new(&req.plan, &req.period, &req.setup).map_err(setup_error)?;
    let mut done = events::feed_request(agg, &elements)
        .finish()
        .map_err(|e| RequestError::Overflow(e.to_string()))?;
    let usage = done.add_buckets_to(req.usage.clone());
    Ok((usage, Some(done)))
}

fn setup_error(e: crate::aggregate::SetupError) -> RequestError {
    match e {
        crate::aggregate::SetupError::Invalid(v) => {
            RequestError::Definition(crate::error::DefinitionError::Invalid(v))
        }
        crate::aggregate::SetupError::Unsupported(m) => RequestError::Unsupported(m),
    }
}
