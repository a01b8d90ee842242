//! The JSON contract of `meterprice rate` (rating-json.md): Lago's shapes
//! exist only here, at the edge; everything behind it is typed.

mod aggregate;
mod decimal;
mod explore;
mod fields;
mod lexer;
mod lines;
#[cfg(feature = "plot")]
mod plot;
mod raw;
mod request;
mod response;
mod scan;
#[cfg(feature = "serde")]
mod serde_impls;
mod shapes;
mod usage;
mod validate;
mod write;

pub use lines::{DEFAULT_MAX_LINE_BYTES, ServeError, ServeOptions, Summary, serve};

pub use aggregate::{EventReader, EventSyntaxError, ReadEvent, aggregate_json};

use crate::error::{RateError, UsageError};
use crate::rate::ChargeFees;
pub use explore::explore_json;

/// Reads a decimal the way Lago's JSON contracts read one: Ruby's
/// `BigDecimal` grammar (`"1e2"`, `"-0"`, `"#1_000"`, surrounding
/// whitespace), exactly, never through `f64`; in range when its magnitude is
/// below 2^96 with at most 28 fractional digits. `Exact`'s own `FromStr`
/// takes plain notation only.
///
/// ```
/// use meterprice::{Exact, parse_lago_decimal};
/// assert_eq!(parse_lago_decimal("1.5e2")?, "150".parse::<Exact>()?);
/// assert_eq!(parse_lago_decimal("-0")?, Exact::ZERO);
/// assert_eq!(parse_lago_decimal("1e400").unwrap_err().code(), "arithmetic_overflow");
/// assert_eq!(parse_lago_decimal("12abc").unwrap_err().code(), "parse_error");
/// # Ok::<(), meterprice::ParseExactError>(())
/// ```
///
/// # Errors
/// [`ParseExactError`](crate::ParseExactError): `parse_error` outside the
/// grammar (or not finite), `arithmetic_overflow` outside the range.
pub fn parse_lago_decimal(text: &str) -> Result<crate::Exact, crate::ParseExactError> {
    decimal::parse_decimal(text).map_err(|e| match e {
        decimal::DecimalTextError::OutOfRange => crate::ParseExactError::out_of_range(text),
        decimal::DecimalTextError::Invalid | decimal::DecimalTextError::NonFinite => {
            crate::ParseExactError::invalid(text)
        }
    })
}
#[cfg(feature = "plot")]
pub use plot::explore_svg;
use request::{Envelope, LenientEnvelope, RequestError};
pub use usage::{BillingRunError, BillingRunOptions, BillingRunSummary, billing_run, usage_json};

/// How a request line turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The request was priced.
    Priced,
    /// The request gave an error result.
    Failed,
}

/// Rates one request (one JSON object) and appends its result object,
/// without a trailing newline, to `out`. Never panics, whatever the input:
/// a request that cannot be priced gives an error object
/// (`parse_error`, `validation_error`, `unsupported`, `arithmetic_overflow`
/// or `invalid_usage`).
///
/// ```
/// let mut out = Vec::new();
/// let line = r#"{"id": 7, "currency": "EUR",
///   "charge": {"charge_model": "standard", "properties": {"amount": "0.125"}},
///   "usage": {"units": "1", "events_count": 1}}"#;
/// let outcome = meterprice::rate_json(line, &mut out, false);
/// assert_eq!(outcome, meterprice::Outcome::Priced);
/// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(v["fees"][0]["amount_cents"], 13); // 0.125 EUR rounds half away from zero
/// assert_eq!(v["fees"][0]["precise_amount_cents"], "12.5");
/// ```
pub fn rate_json(text: &str, out: &mut Vec<u8>, pretty: bool) -> Outcome {
    // A request is a JSON object; derived readers would also take an array.
    if !text.trim_start().starts_with('{') {
        let message = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(e) => position(&e),
            Ok(_) => "line 1, column 1: a request must be a JSON object".to_string(),
        };
        response::write_error(out, None, "parse_error", &message, None, pretty);
        return Outcome::Failed;
    }
    // One pass for well-formed requests (the scanner for the plain ones,
    // serde for the rest); a second, lenient read only to explain a
    // malformed one (and still echo its id).
    let read = scan::envelope(text).map_or_else(|| serde_json::from_str(text), Ok);
    let envelope: Envelope<'_> = match read {
        Ok(e) => e,
        Err(typed) => {
            let (id, message) = match serde_json::from_str::<LenientEnvelope<'_>>(text) {
                Ok(lenient) => match request::explain(text, &lenient, &typed) {
                    RequestError::Parse(m) => (lenient.id, m),
                    other => (lenient.id, format!("{other:?}")),
                },
                Err(e) => (None, position(&e)),
            };
            response::write_error(out, id, "parse_error", &message, None, pretty);
            return Outcome::Failed;
        }
    };
    let id = envelope.id;
    let req = match request::parse(text, &envelope) {
        Ok(req) => req,
        Err(e) => return write_request_error(out, id, &e, pretty),
    };
    match price(&req) {
        Ok(fees) => {
            response::write_result(out, id, &fees, pretty);
            Outcome::Priced
        }
        Err(e) => {
            let message = e.to_string();
            response::write_error(out, id, e.code(), &message, None, pretty);
            Outcome::Failed
        }
    }
}

/// The fees of a request: its event's step, or its buckets in arrears.
fn price(req: &request::Request) -> Result<ChargeFees, RateError> {
    match (req.event, req.buckets.as_slice()) {
        (Some(event), [bucket]) => req.charge.rate_event(bucket, &event),
        (Some(_), _) => Err(RateError::Usage(UsageError::new(
            "usage must be exactly one bucket with an event",
        ))),
        (None, buckets) => req.charge.rate(buckets, &req.period),
    }
}

/// The fees `rate_json` writes for a request it prices.
#[cfg(test)]
pub(crate) fn fees_of(text: &str) -> Option<ChargeFees> {
    let envelope = serde_json::from_str(text).ok()?;
    price(&request::parse(text, &envelope).ok()?).ok()
}

/// Appends a fee's `amount_details` object to `out`, exactly as `rate`
/// writes it in a result (Lago's keys for the model, decimals as strings,
/// integral tier bounds as integers): for engines that carry the details
/// as JSON text next to the fee's other figures.
///
/// ```
/// use meterprice::{Bucket, Charge, Period, Usage};
/// let charge = Charge::from_lago_json("EUR", r#"{"charge_model": "package",
///   "properties": {"amount": "5", "package_size": 10, "free_units": 0}}"#)?;
/// let fees = charge.rate(&[Bucket::new(Usage::new("25".parse()?))], &Period::full(30))?;
/// let mut out = Vec::new();
/// meterprice::write_amount_details_json(&fees.fees[0].amount_details, &mut out);
/// // 25 units: 3 started packages of 10 at 5 EUR each
/// assert_eq!(String::from_utf8(out)?, r#"{"free_units":"0","paid_units":"25","per_package_size":10,"per_package_unit_amount":"5"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_amount_details_json(details: &crate::AmountDetails, out: &mut Vec<u8>) {
    let mut w = write::Json::new(out);
    w.members(details);
}

/// Writes the error record of a request that could not be read, with its
/// contract code.
fn write_request_error(
    out: &mut Vec<u8>,
    id: Option<crate::lago::raw::RawJson<'_>>,
    error: &RequestError,
    pretty: bool,
) -> Outcome {
    let message = error.message();
    let (code, details) = (error.code(), error.details());
    response::write_error(out, id, code, &message, details, pretty);
    Outcome::Failed
}

/// A serde_json error as "line L, column C: what".
fn position(e: &serde_json::Error) -> String {
    format!(
        "line {}, column {}: {}",
        e.line(),
        e.column(),
        strip_position(&e.to_string())
    )
}

/// serde_json appends " at line L column C"; the message already leads with it.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| message.get(..i).unwrap_or(message))
}
