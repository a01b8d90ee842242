//! The JSON contract of `meterprice aggregate` (usage-json.md,
//! `docs/aggregate-json.md`): one request (aggregation.md §16 without
//! `expected`) in, `{"id", "buckets", "warnings", "rejected_events"}` or an
//! error record out.

mod event_reader;
pub(crate) mod request;
pub(crate) mod scan;
mod write;

pub use event_reader::{EventReader, EventSyntaxError, ReadEvent};

use crate::aggregate::{
    AggregateError, AggregationResult, AggregationSpec, Aggregator, InAdvanceError, InAdvanceEvent,
    RejectCode, RejectedEvent, SetupError, TransactionIds,
};
use crate::lago::raw::RawJson;

use super::Outcome;
use super::response::write_error;
use request::{IdOnly, Persisted, Request};
use scan::Scanner;

/// Aggregates one request (one JSON object) and appends its result object,
/// without a trailing newline, to `out`. Never panics, whatever the input:
/// a request that cannot be aggregated gives an error record
/// (`parse_error`, `validation_error`, `unsupported`,
/// `arithmetic_overflow`), while an event that cannot count is listed in
/// `rejected_events` and every other event still counts.
///
/// ```
/// let mut out = Vec::new();
/// let line = r#"{"id": 1,
///   "billable_metric": {"code": "api", "aggregation_type": "sum_agg", "field_name": "n"},
///   "period": {"from_datetime": "2024-03-01T00:00:00Z", "to_datetime": "2024-03-31T23:59:59Z"},
///   "events": [
///     {"transaction_id": "a", "timestamp": "2024-03-02T00:00:00Z", "properties": {"n": "2.5"}},
///     {"transaction_id": "b", "timestamp": 1709510400, "properties": {"n": 4}},
///     {"transaction_id": "a", "timestamp": 1709510400, "properties": {"n": 1}}]}"#;
/// assert_eq!(meterprice::aggregate_json(line, &mut out, false), meterprice::Outcome::Priced);
/// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(v["buckets"][0]["aggregation"], "6.5");
/// assert_eq!(v["buckets"][0]["count"], 2);
/// assert_eq!(v["rejected_events"][0]["code"], "duplicate_transaction_id");
/// ```
pub fn aggregate_json(text: &str, out: &mut Vec<u8>, pretty: bool) -> Outcome {
    if !text.trim_start().starts_with('{') {
        let message = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(e) => position_message(&e),
            Ok(_) => "line 1, column 1: a request must be a JSON object".to_string(),
        };
        write_error(out, None, "parse_error", &message, None, pretty);
        return Outcome::Failed;
    }
    let req: Request<'_> = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let id = serde_json::from_str::<IdOnly<'_>>(text)
                .ok()
                .and_then(|i| i.id);
            write_error(out, id, "parse_error", &position_message(&e), None, pretty);
            return Outcome::Failed;
        }
    };
    let id = req.id;
    let fail =
        |out: &mut Vec<u8>, code: &str, message: &str, details: Option<&[crate::Violation]>| {
            write_error(out, id, code, message, details, pretty);
            Outcome::Failed
        };
    let spec = match req.spec() {
        Ok(s) => s,
        Err(SetupError::Invalid(v)) => {
            let message = v.to_string();
            return fail(out, "validation_error", &message, Some(&v.violations));
        }
        Err(SetupError::Unsupported(m)) => return fail(out, "unsupported", &m, None),
    };
    match run(spec, req.events, req.pay_in_advance_event) {
        Ok((result, rejected)) => {
            write::write_result(out, id, &result, &rejected, pretty);
            Outcome::Priced
        }
        Err(Failure {
            code,
            message,
            details,
        }) => fail(out, code, &message, details.as_deref()),
    }
}

/// An error record's parts.
struct Failure {
    code: &'static str,
    message: String,
    details: Option<Vec<crate::Violation>>,
}

impl Failure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }
}

impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::Invalid(v) => Self {
                code: "validation_error",
                message: v.to_string(),
                details: Some(v.violations),
            },
            SetupError::Unsupported(m) => Self::new("unsupported", m),
        }
    }
}

impl From<AggregateError> for Failure {
    fn from(e: AggregateError) -> Self {
        match e {
            AggregateError::Arithmetic { .. } => Self::new("arithmetic_overflow", e.to_string()),
            AggregateError::Event(m) => {
                Self::new("validation_error", format!("pay_in_advance_event: {m}"))
            }
        }
    }
}

/// The events of the request, then the aggregation. The reader's
/// rejections (unreadable events, duplicates) come back beside the
/// result's own.
fn run(
    spec: AggregationSpec,
    events: Option<RawJson<'_>>,
    pay_in_advance: Option<RawJson<'_>>,
) -> Result<(AggregationResult, Vec<RejectedEvent>), Failure> {
    let elements = match events.filter(|e| e.get() != "null") {
        Some(raw) => {
            elements(raw.get()).map_err(|e| Failure::new("parse_error", format!("events: {e}")))?
        }
        None => Vec::new(),
    };
    let keys = Aggregator::new(spec.clone())?.keys().to_vec();
    let mut reader = EventReader::new(&keys);
    let pay_in_advance = pay_in_advance.filter(|p| p.get() != "null");
    let (mut agg, appended) = match pay_in_advance {
        Some(p) => for_event(spec, p.get(), &elements, &mut reader)?,
        None => (Aggregator::new(spec)?, None),
    };
    let mut rejected = Vec::new();
    let mut ids = TransactionIds::default();
    for (i, text) in elements.iter().enumerate() {
        let seq = i as u64;
        let event = match reader.read(text) {
            Ok(e) => e,
            Err(e) => {
                rejected.push(RejectedEvent::new(
                    None,
                    seq,
                    RejectCode::InvalidEvent,
                    format!("event {i}: {e}"),
                ));
                continue;
            }
        };
        match event.meta(seq, true) {
            Err(r) => rejected.push(r),
            Ok(meta) if !ids.first(meta.transaction_id) => rejected.push(RejectedEvent::new(
                Some(meta.transaction_id),
                seq,
                RejectCode::DuplicateTransactionId,
                format!(
                    "event {:?}: duplicate transaction_id, the first one counts (QA19)",
                    meta.transaction_id
                ),
            )),
            Ok(meta) => agg.push(&meta, &event),
        }
    }
    // A persisted pay-in-advance event not among the events is the last.
    if let Some(text) = appended {
        let event = reader
            .read(text)
            .map_err(|e| Failure::new("parse_error", format!("pay_in_advance_event: {e}")))?;
        if let Ok(meta) = event.meta(elements.len() as u64, true) {
            agg.push(&meta, &event);
        }
    }
    Ok((agg.finish()?, rejected))
}

/// The aggregator for a pay-in-advance event: the event itself when one of
/// the events carries its id (it is that event), else the given one,
/// which is appended when persisted.
fn for_event<'t>(
    spec: AggregationSpec,
    text: &'t str,
    elements: &[&'t str],
    reader: &mut EventReader,
) -> Result<(Aggregator, Option<&'t str>), Failure> {
    let persisted = serde_json::from_str::<Persisted>(text)
        .ok()
        .and_then(|p| p.persisted)
        .unwrap_or(true);
    let tx = reader
        .read(text)
        .map_err(|e| Failure::new("parse_error", format!("pay_in_advance_event: {e}")))?
        .transaction_id()
        .map(str::to_string);
    let listed = if persisted {
        find(elements, tx.as_deref(), reader)
    } else {
        None
    };
    let (source, seq) = match listed {
        Some(i) => (elements.get(i).copied().unwrap_or(text), i),
        None => (text, elements.len()),
    };
    let event = reader
        .read(source)
        .map_err(|e| Failure::new("parse_error", format!("pay_in_advance_event: {e}")))?;
    let meta = event.meta(seq as u64, true).map_err(|r| {
        Failure::new(
            "validation_error",
            format!("pay_in_advance_event: {}", r.message),
        )
    })?;
    let wanted = InAdvanceEvent {
        meta,
        persisted,
        properties_empty: event.properties_empty(),
    };
    let agg = Aggregator::for_event(spec, wanted, &event).map_err(|e| match e {
        InAdvanceError::Setup(s) => Failure::from(s),
        InAdvanceError::Event(a) => Failure::from(a),
    })?;
    let appended = (persisted && listed.is_none()).then_some(text);
    Ok((agg, appended))
}

/// The first readable event with transaction id `tx`.
fn find(elements: &[&str], tx: Option<&str>, reader: &mut EventReader) -> Option<usize> {
    let tx = tx?;
    elements.iter().enumerate().find_map(|(i, text)| {
        let e = reader.read(text).ok()?;
        let readable = e.meta(i as u64, true).is_ok();
        (readable && e.transaction_id() == Some(tx)).then_some(i)
    })
}

/// The texts of the elements of a JSON array.
pub(crate) fn elements(text: &str) -> Result<Vec<&str>, scan::ScanError> {
    let mut s = Scanner::new(text);
    let mut arena = String::new();
    let mut out = Vec::new();
    s.expect(b'[', "an array of events")?;
    if s.eat(b']') {
        return Ok(out);
    }
    loop {
        s.ws();
        let start = s.at;
        s.skip(&mut arena, 1)?;
        out.push(text.get(start..s.at).unwrap_or(""));
        if s.eat(b']') {
            break;
        }
        s.expect(b',', "\",\" or \"]\"")?;
    }
    s.end()?;
    Ok(out)
}

fn position_message(e: &serde_json::Error) -> String {
    let m = e.to_string();
    let m = m
        .rfind(" at line ")
        .map_or(m.as_str(), |i| m.get(..i).unwrap_or(""));
    format!("line {}, column {}: {m}", e.line(), e.column())
}
