//! Events into a plan's aggregators, as Lago's API receives them (A1:
//! Unix seconds; C10's order of checks): shared by a usage request's
//! `events` and the billing run's event file.

use crate::aggregate::{AggregateError, RejectCode, RejectedEvent, TransactionIds};
use crate::customer_usage::{ChargeRejection, PlanAggregator, PlanEvents};
use crate::lago::aggregate::{EventReader, ReadEvent};
use crate::lago::response::Json;

/// One subscription's events so far: its aggregators, the transaction ids
/// seen (QA19) and the events rejected before aggregation.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    agg: PlanAggregator,
    ids: TransactionIds,
    rejected: Vec<ChargeRejection>,
    next: u64,
}

impl Feed {
    pub(crate) fn new(agg: PlanAggregator) -> Self {
        Self {
            agg,
            ids: TransactionIds::default(),
            rejected: Vec::new(),
            next: 0,
        }
    }

    /// The number the next event gets: its index among this feed's events.
    fn seq(&mut self) -> u64 {
        let seq = self.next;
        self.next += 1;
        seq
    }

    /// Takes one read event, or rejects it (C10): unreadable first, then
    /// a duplicate id, then what the aggregators reject.
    /// Takes the event; when it cannot count, why.
    pub(crate) fn take(&mut self, event: &ReadEvent<'_>) -> Option<String> {
        let seq = self.seq();
        let meta = match event.meta(seq, false) {
            Ok(m) => m,
            Err(r) => {
                let why = r.message.clone();
                self.reject(r, event.code());
                return Some(why);
            }
        };
        if !self.ids.first(meta.transaction_id) {
            let r = RejectedEvent::new(
                Some(meta.transaction_id),
                seq,
                RejectCode::DuplicateTransactionId,
                format!(
                    "event {:?}: duplicate transaction_id, the first one counts (QA19)",
                    meta.transaction_id
                ),
            );
            let why = r.message.clone();
            self.reject(r, meta.code);
            return Some(why);
        }
        self.agg.push(&meta, event);
        None
    }

    /// An event that is not a JSON object.
    pub(crate) fn take_unreadable(&mut self, why: &str) {
        let seq = self.seq();
        let r = RejectedEvent::new(
            None,
            seq,
            RejectCode::InvalidEvent,
            format!("event {seq}: {why}"),
        );
        self.reject(r, None);
    }

    fn reject(&mut self, event: RejectedEvent, code: Option<&str>) {
        self.rejected.push(ChargeRejection {
            charge_codes: self.agg.charge_codes(code),
            event,
        });
    }

    /// The plan's aggregators, when no event was rejected on reading.
    pub(crate) fn unrejected(&self) -> Option<&PlanAggregator> {
        self.rejected.is_empty().then_some(&self.agg)
    }

    /// Events rejected before aggregation (unreadable, duplicate ids).
    pub(crate) fn rejected_on_reading(&self) -> usize {
        self.rejected.len()
    }

    /// The aggregation, with the feed's rejections merged in input order.
    pub(crate) fn finish(self) -> Result<PlanEvents, AggregateError> {
        let mut events = self.agg.finish()?;
        events.rejected.extend(self.rejected);
        events.rejected.sort_by_key(|r| r.event.index);
        Ok(events)
    }
}

/// A usage request's `events` (the texts of the array's elements) into a
/// feed.
pub(super) fn feed_request(agg: PlanAggregator, elements: &[&str]) -> Feed {
    let mut reader = EventReader::new(agg.keys());
    let mut feed = Feed::new(agg);
    for text in elements {
        match reader.read(text) {
            Ok(event) => {
                feed.take(&event);
            }
            Err(e) => feed.take_unreadable(&e.to_string()),
        }
    }
    feed
}

/// `warnings` and `rejected_events` (usage-json.md, C9).
pub(super) fn write_notes(w: &mut Json<'_>, events: Option<&PlanEvents>) {
    w.key("warnings");
    w.open(b'[');
    for x in events.map_or(&[][..], |e| e.warnings.as_slice()) {
        w.comma();
        w.open(b'{');
        w.string("code", Some(x.warning.code));
        w.string("message", Some(&x.warning.message));
        if !x.warning.transaction_ids.is_empty() {
            codes(w, "transaction_ids", &x.warning.transaction_ids);
        }
        codes(w, "charge_codes", &x.charge_codes);
        w.close(b'}');
    }
    w.close(b']');
    w.key("rejected_events");
    w.open(b'[');
    for r in events.map_or(&[][..], |e| e.rejected.as_slice()) {
        w.comma();
        w.open(b'{');
        if let Some(id) = &r.event.transaction_id {
            w.string("transaction_id", Some(id));
        }
        w.int("index", i128::from(r.event.index));
        w.string("code", Some(r.event.code.as_str()));
        w.string("message", Some(&r.event.message));
        codes(w, "charge_codes", &r.charge_codes);
        w.close(b'}');
    }
    w.close(b']');
}

fn codes(w: &mut Json<'_>, key: &str, list: &[String]) {
    w.key(key);
    w.open(b'[');
    for c in list {
        w.comma();
        w.string_value(c);
    }
    w.close(b']');
}
