//! Events as the aggregator takes them: a few typed fields and the
//! properties it asks for by key id, so that no map is built per event;
//! and what becomes of events that cannot count (C10).

use crate::aggregate::time::Timestamp;
use crate::aggregate::value::Value;
use crate::exact::Exact;

/// An event's fields besides its properties (§1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMeta<'a> {
    /// The idempotency key (A5).
    pub transaction_id: &'a str,
    /// Input (ingestion) order, unique per aggregation: ties of equal
    /// timestamps are broken by it (AD2) and rejections name it.
    pub seq: u64,
    /// When the event happened (A1).
    pub timestamp: Timestamp,
    /// The metric code, when the event carries one (A4).
    pub code: Option<&'a str>,
    /// The event's price in minor units (dynamic pricing, A54).
    pub precise_total_amount_cents: Option<Exact>,
}

impl<'a> EventMeta<'a> {
    /// Event number `seq` with this id and timestamp.
    pub fn new(transaction_id: &'a str, seq: u64, timestamp: Timestamp) -> Self {
        Self {
            transaction_id,
            seq,
            timestamp,
            code: None,
            precise_total_amount_cents: None,
        }
    }

    /// Sets the event's price in minor units.
    #[must_use]
    pub fn with_precise_total_amount_cents(mut self, cents: Exact) -> Self {
        self.precise_total_amount_cents = Some(cents);
        self
    }
}

/// An event's properties, looked up by the aggregator's key ids
/// ([`crate::Aggregator::keys`]): a slot array filled by a reader that
/// knew the keys, or [`Named`] pairs found by name.
pub trait Properties {
    /// The value of key `key`, `None` when the event lacks it.
    fn get(&self, key: usize) -> Option<Value<'_>>;
}

/// Slots aligned with the aggregator's keys.
impl Properties for [Option<Value<'_>>] {
    #[inline]
    fn get(&self, key: usize) -> Option<Value<'_>> {
        <[Option<Value<'_>>]>::get(self, key).copied().flatten()
    }
}

/// Properties as (name, value) pairs, found by name (a linear scan: an
/// event has a handful of properties).
///
/// ```
/// use meterprice::{Named, Properties, Value};
/// let keys: Vec<Box<str>> = vec!["region".into(), "gb".into()];
/// let pairs = [("gb", Value::Number("12")), ("region", Value::String("eu"))];
/// let props = Named::new(&keys, &pairs);
/// assert_eq!(props.get(0), Some(Value::String("eu")));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Named<'p, 'a> {
    keys: &'p [Box<str>],
    pairs: &'p [(&'a str, Value<'a>)],
}

impl<'p, 'a> Named<'p, 'a> {
    /// Pairs looked up under the names `keys` (the aggregator's keys).
    /// A name given twice keeps its last value, as JSON objects do.
    pub fn new(keys: &'p [Box<str>], pairs: &'p [(&'a str, Value<'a>)]) -> Self {
        Self { keys, pairs }
    }
}

impl Properties for Named<'_, '_> {
    fn get(&self, key: usize) -> Option<Value<'_>> {
        let name = self.keys.get(key)?;
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == &**name)
            .map(|(_, v)| *v)
    }
}

/// One aggregator's key ids onto another key list (a reader's, shared by
/// several aggregators: a billing run reads each line once and feeds every
/// charge of the event's metric).
///
/// ```
/// use meterprice::{KeyMap, Properties, Value};
/// let reader_keys: Vec<Box<str>> = vec!["region".into(), "gb".into(), "user".into()];
/// let agg_keys: Vec<Box<str>> = vec!["gb".into(), "region".into()];
/// let map = KeyMap::new(&agg_keys, &reader_keys);
/// let slots = [Some(Value::String("eu")), Some(Value::String("2")), None];
/// let props = map.view(&slots[..]);
/// assert_eq!(props.get(0), Some(Value::String("2")));
/// assert_eq!(props.get(1), Some(Value::String("eu")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    to: Vec<Option<usize>>,
}

impl KeyMap {
    /// Maps each of `from` (an aggregator's keys) to its position in
    /// `into`, when there.
    pub fn new(from: &[Box<str>], into: &[Box<str>]) -> Self {
        Self {
            to: from
                .iter()
                .map(|k| into.iter().position(|i| i == k))
                .collect(),
        }
    }

    /// `props` (laid out as `into`) seen with the `from` key ids.
    pub fn view<'p, P: Properties + ?Sized>(&'p self, props: &'p P) -> Mapped<'p, P> {
        Mapped { map: self, props }
    }
}

/// Properties seen through a [`KeyMap`].
#[derive(Debug, Clone, Copy)]
pub struct Mapped<'p, P: ?Sized> {
    map: &'p KeyMap,
    props: &'p P,
}

impl<P: Properties + ?Sized> Properties for Mapped<'_, P> {
    #[inline]
    fn get(&self, key: usize) -> Option<Value<'_>> {
        self.props.get(self.map.to.get(key).copied().flatten()?)
    }
}

/// Why an event does not count (C10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectCode {
    /// No `transaction_id`, or `properties` not an object.
    InvalidEvent,
    /// A timestamp that cannot be read (A1).
    InvalidTimestamp,
    /// A later event with an id already used (QA19: the first wins).
    DuplicateTransactionId,
    /// The metric's expression failed on it (AD9).
    ExpressionEvaluationFailed,
    /// A value beyond the decimal range (magnitude 2^96 or more, or more
    /// than 28 fractional digits).
    ArithmeticOverflow,
}

impl RejectCode {
    /// The contract's code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidEvent => "invalid_event",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::DuplicateTransactionId => "duplicate_transaction_id",
            Self::ExpressionEvaluationFailed => "expression_evaluation_failed",
            Self::ArithmeticOverflow => "arithmetic_overflow",
        }
    }
}

/// An event left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RejectedEvent {
    /// Its `transaction_id`, when it has one.
    pub transaction_id: Option<String>,
    /// Its position in the input.
    pub index: u64,
    /// Why.
    pub code: RejectCode,
    /// A sentence naming the field and the value.
    pub message: String,
}

impl RejectedEvent {
    /// Event `index` rejected for `code`.
    pub fn new(
        transaction_id: Option<&str>,
        index: u64,
        code: RejectCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            transaction_id: transaction_id.map(str::to_string),
            index,
            code,
            message: message.into(),
        }
    }
}

/// Something the caller should know about a result (e.g. AD4's
/// `overlapping_filters`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// A stable code.
    pub code: &'static str,
    /// A sentence.
    pub message: String,
    /// The transactions concerned (at most [`Warning::MAX_IDS`]).
    pub transaction_ids: Vec<String>,
}

impl Warning {
    /// Transaction ids a warning lists at most; its message gives the
    /// total.
    pub const MAX_IDS: usize = 100;
}

/// QA19: the first event with a `transaction_id` wins; this remembers
/// the ids seen (memory grows with the ids' total length).
///
/// ```
/// let mut ids = meterprice::TransactionIds::default();
/// assert!(ids.first("tx1"));
/// assert!(!ids.first("tx1"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct TransactionIds {
    seen: crate::aggregate::fast_lookup::IdSet,
}

impl TransactionIds {
    /// Whether `id` is seen for the first time (and remembers it).
    #[inline]
    pub fn first(&mut self, id: &str) -> bool {
        self.seen.insert(id)
    }
}
