//! Writes an `aggregate` result (usage-json.md): `{"id", "buckets",
//! "warnings", "rejected_events"}`, decimals as plain strings, counts as
//! integers.

use crate::aggregate::{
    AggregationResult, BucketResult, CachedAggregation, GroupLabel, RejectedEvent, Warning,
};
use crate::exact::{Exact, write_integer};
use crate::lago::raw::RawJson;
use crate::plan::AggregationType;

/// A compact JSON writer: `first` tracks whether a comma is due.
struct W<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl W<'_> {
    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    fn open(&mut self, b: u8) {
        self.out.push(b);
        self.first = true;
    }

    fn close(&mut self, b: u8) {
        self.out.push(b);
        self.first = false;
    }

    /// `"key":`; keys are fixed ASCII.
    fn key(&mut self, key: &str) {
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn string(&mut self, s: &str) {
        if crate::lago::raw::special_byte(s.as_bytes()).is_none() {
            self.out.push(b'"');
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(b'"');
        } else {
            let _ = serde_json::to_writer(&mut *self.out, s);
        }
    }

    fn opt_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn dec(&mut self, key: &str, x: Exact) {
        self.key(key);
        x.write_quoted(self.out);
    }

    /// An integer when integral, else a decimal string.
    fn number(&mut self, x: Exact, integer: bool) {
        match x.to_i128() {
            Some(i) if integer => write_integer(i, self.out),
            _ => x.write_quoted(self.out),
        }
    }

    fn list(&mut self, key: &str, values: &[Exact], integers: bool) {
        self.key(key);
        self.open(b'[');
        for v in values {
            self.comma();
            self.number(*v, integers);
        }
        self.close(b']');
    }

    fn label(&mut self, key: &str, label: Option<&GroupLabel>) {
        self.key(key);
        let Some(label) = label else {
            self.out.extend_from_slice(b"null");
            return;
        };
        self.open(b'{');
        for (k, v) in label {
            self.comma();
            self.string(k);
            self.out.push(b':');
            self.opt_string(v.as_deref());
        }
        self.close(b'}');
    }
}

/// Writes a result line (no newline).
pub(crate) fn write_result(
    out: &mut Vec<u8>,
    id: Option<RawJson<'_>>,
    result: &AggregationResult,
    extra_rejected: &[RejectedEvent],
    pretty: bool,
) {
    let start = out.len();
    let mut w = W { out, first: true };
    w.open(b'{');
    if let Some(id) = id {
        // Echoed as written, minus whitespace, as `rate` does.
        w.key("id");
        w.out.extend_from_slice(compact(id.get()).as_bytes());
    }
    w.key("buckets");
    w.open(b'[');
    for b in &result.buckets {
        w.comma();
        bucket(&mut w, b);
    }
    w.close(b']');
    w.key("warnings");
    w.open(b'[');
    for x in &result.warnings {
        w.comma();
        warning(&mut w, x);
    }
    w.close(b']');
    w.key("rejected_events");
    w.open(b'[');
    let mut rejected: Vec<&RejectedEvent> = result
        .rejected_events
        .iter()
        .chain(extra_rejected)
        .collect();
    rejected.sort_by_key(|r| r.index);
    for r in rejected {
        w.comma();
        rejection(&mut w, r);
    }
    w.close(b']');
    w.close(b'}');
    if pretty {
        crate::lago::response::indent(out, start);
    }
}

/// JSON text without insignificant whitespace.
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

fn bucket(w: &mut W<'_>, b: &BucketResult) {
    let counts = matches!(
        b.aggregation_type(),
        AggregationType::Count | AggregationType::UniqueCount
    );
    w.open(b'{');
    w.key("bucket");
    w.string(&b.bucket.label());
    w.label("grouped_by", b.grouped_by.as_ref());
    w.dec("aggregation", b.aggregation);
    w.key("count");
    // A unique count's `count` is its aggregation (QA9, QA10): a decimal.
    w.number(
        b.count,
        b.aggregation_type() != AggregationType::UniqueCount,
    );
    let decimals = [
        ("current_usage_units", b.current_usage_units),
        ("full_units_number", b.full_units_number),
    ];
    for (k, v) in decimals {
        if let Some(v) = v {
            w.dec(k, v);
        }
    }
    if let Some(v) = &b.event_values {
        w.list("event_values", v, counts);
    }
    if let Some(v) = &b.prorated_event_values {
        w.list("prorated_event_values", v, false);
    }
    if let Some(v) = &b.running_total {
        w.list("running_total", v, counts);
    }
    let decimals = [
        ("precise_total_amount_cents", b.precise_total_amount_cents),
        ("total_aggregated_units", b.total_aggregated_units),
        ("variation", b.variation),
    ];
    for (k, v) in decimals {
        if let Some(v) = v {
            w.dec(k, v);
        }
    }
    if let Some(s) = &b.in_advance {
        w.dec("pay_in_advance_aggregation", s.pay_in_advance_aggregation);
        w.key("units_applied");
        match s.units_applied {
            Some(u) => u.write_quoted(w.out),
            None => w.out.extend_from_slice(b"null"),
        }
        if let Some(p) = s.pay_in_advance_precise_total_amount_cents {
            w.dec("pay_in_advance_precise_total_amount_cents", p);
        }
        w.key("cached_aggregation");
        match &s.cached_aggregation {
            Some(c) => cached(w, c),
            None => w.out.extend_from_slice(b"null"),
        }
    }
    w.close(b'}');
}

/// The state a pay-in-advance event leaves, in the shape a next request's
/// `cached_aggregations` takes (AD3).
fn cached(w: &mut W<'_>, c: &CachedAggregation) {
    w.open(b'{');
    w.key("bucket");
    w.string(&c.bucket.map_or("default".into(), |b| b.label()));
    w.label("grouped_by", Some(&c.grouped_by));
    if let Some(t) = c.timestamp {
        w.key("timestamp");
        w.string(&t.to_string());
    }
    w.dec("current_aggregation", c.current_aggregation);
    w.dec("max_aggregation", c.max_aggregation);
    if let Some(m) = c.max_aggregation_with_proration {
        w.dec("max_aggregation_with_proration", m);
    }
    w.key("event_transaction_id");
    w.opt_string(c.event_transaction_id.as_deref());
    w.close(b'}');
}

fn warning(w: &mut W<'_>, x: &Warning) {
    w.open(b'{');
    w.key("code");
    w.string(x.code);
    w.key("message");
    w.string(&x.message);
    w.key("transaction_ids");
    w.open(b'[');
    for id in &x.transaction_ids {
        w.comma();
        w.string(id);
    }
    w.close(b']');
    w.close(b'}');
}

fn rejection(w: &mut W<'_>, r: &RejectedEvent) {
    w.open(b'{');
    if let Some(id) = &r.transaction_id {
        w.key("transaction_id");
        w.string(id);
    }
    w.key("index");
    write_integer(i128::from(r.index), w.out);
    w.key("code");
    w.string(r.code.as_str());
    w.key("message");
    w.string(&r.message);
    w.close(b'}');
}
