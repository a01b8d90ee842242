//! Reads events from JSON text without building a map per event: one pass
//! over the object picks out `transaction_id`, `timestamp`, `code`,
//! `external_subscription_id`, `precise_total_amount_cents` and, inside
//! `properties`, only the keys the aggregator reads (into slots aligned
//! with [`crate::Aggregator::keys`]); everything else is checked and
//! skipped. Strings are borrowed unless they hold escapes.

use crate::aggregate::{EventMeta, Properties, RejectCode, RejectedEvent, Timestamp, Value};
use crate::exact::Exact;
use crate::lago::decimal::{DecimalTextError, parse_decimal};

use super::scan::{Kind, ScanError, Scanner, Span, jsonb_text};

/// A property slot after reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Absent,
    Null,
    Bool(bool),
    Number(u32, u32),
    Str(Span),
    /// `jsonb` text in the arena.
    Composite(u32, u32),
}

/// A top-level field after reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Absent,
    Null,
    Str(Span),
    Number(u32, u32),
    /// Another JSON type (object, array, boolean).
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PropertiesField {
    Absent,
    Null,
    Object { members: u32 },
    NotObject,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    transaction_id: Field,
    timestamp: Field,
    code: Field,
    external_subscription_id: Field,
    precise: Field,
    properties: PropertiesField,
}

/// The top-level keys read, most frequent first (`read` knows each by its
/// place here).
const TOP_LEVEL: [&str; 6] = [
    "transaction_id",
    "timestamp",
    "properties",
    "code",
    "external_subscription_id",
    "precise_total_amount_cents",
];

const EMPTY: Fields = Fields {
    transaction_id: Field::Absent,
    timestamp: Field::Absent,
    code: Field::Absent,
    external_subscription_id: Field::Absent,
    precise: Field::Absent,
    properties: PropertiesField::Absent,
};

/// Reads event objects, keeping the properties named by `keys`.
///
/// ```
/// use meterprice::{EventReader, Properties, Value};
/// let keys: Vec<Box<str>> = vec!["gb".into()];
/// let mut reader = EventReader::new(&keys);
/// let event = reader.read(r#"{"transaction_id": "t1", "timestamp": 1709251200,
///     "properties": {"region": "eu", "gb": "2.5"}}"#)?;
/// assert_eq!(event.get(0), Some(Value::String("2.5")));
/// let meta = event.meta(0, true).expect("a readable event");
/// assert_eq!(meta.transaction_id, "t1");
/// # Ok::<(), meterprice::EventSyntaxError>(())
/// ```
#[derive(Debug, Clone)]
pub struct EventReader {
    keys: Vec<Box<str>>,
    slots: Vec<Slot>,
    arena: String,
    fields: Fields,
}

/// Text that is not a JSON event object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventSyntaxError(String);

impl From<ScanError> for EventSyntaxError {
    fn from(e: ScanError) -> Self {
        Self(e.to_string())
    }
}

/// One event read by an [`EventReader`]: its properties by slot, and its
/// fields (see [`ReadEvent::meta`]).
#[derive(Debug, Clone, Copy)]
pub struct ReadEvent<'r> {
    text: &'r str,
    arena: &'r str,
    slots: &'r [Slot],
    fields: Fields,
}

impl EventReader {
    /// A reader keeping the properties named `keys`.
    pub fn new(keys: &[Box<str>]) -> Self {
        Self {
            keys: keys.to_vec(),
            slots: vec![Slot::Absent; keys.len()],
            arena: String::new(),
            fields: EMPTY,
        }
    }

    /// Reads one JSON object.
    ///
    /// # Errors
    /// [`EventSyntaxError`] for text that is not one well-formed JSON
    /// object.
    pub fn read<'r>(&'r mut self, text: &'r str) -> Result<ReadEvent<'r>, EventSyntaxError> {
        self.arena.clear();
        self.slots.iter_mut().for_each(|s| *s = Slot::Absent);
        self.fields = EMPTY;
        // Spans are 32-bit offsets.
        if u32::try_from(text.len()).is_err() {
            return Err(EventSyntaxError("an event of 4 GiB or more".into()));
        }
        let mut s = Scanner::new(text);
        if s.kind()? != Kind::Object {
            return Err(EventSyntaxError("an event must be a JSON object".into()));
        }
        let fields = &mut self.fields;
        let (keys, slots, arena) = (&self.keys, &mut self.slots, &mut self.arena);
        s.expect(b'{', "{")?;
        if !s.eat(b'}') {
            loop {
                // A key written plainly is known by its place in
                // TOP_LEVEL; an escaped one is read, then looked up.
                let known = match s.known_key(&TOP_LEVEL) {
                    Some(i) => Some(i),
                    None => {
                        let name = s.string(arena)?.resolve(s.text, arena);
                        TOP_LEVEL.iter().position(|n| *n == name)
                    }
                };
                s.expect(b':', "\":\"")?;
                let slot = match known {
                    Some(0) => Some(&mut fields.transaction_id),
                    Some(1) => Some(&mut fields.timestamp),
                    Some(2) => {
                        fields.properties = properties(&mut s, arena, keys, slots)?;
                        None
                    }
                    Some(3) => Some(&mut fields.code),
                    Some(4) => Some(&mut fields.external_subscription_id),
                    Some(5) => Some(&mut fields.precise),
                    _ => {
                        s.skip(arena, 1)?;
                        None
                    }
                };
                if let Some(slot) = slot {
                    *slot = field(&mut s, arena)?;
                }
                if s.eat(b'}') {
                    break;
                }
                s.expect(b',', "\",\" or \"}\"")?;
            }
        }
        s.end()?;
        Ok(ReadEvent {
            text,
            arena: &self.arena,
            slots: &self.slots,
            fields: self.fields,
        })
    }
}

fn field(s: &mut Scanner<'_>, arena: &mut String) -> Result<Field, ScanError> {
    Ok(match s.kind()? {
        Kind::String => Field::Str(s.string(arena)?),
        Kind::Number => {
            let (a, b) = s.number()?;
            Field::Number(a as u32, b as u32)
        }
        Kind::Null => {
            s.literal("null")?;
            Field::Null
        }
        _ => {
            s.skip(arena, 1)?;
            Field::Other
        }
    })
}

fn properties(
    s: &mut Scanner<'_>,
    arena: &mut String,
    keys: &[Box<str>],
    slots: &mut [Slot],
) -> Result<PropertiesField, ScanError> {
    match s.kind()? {
        Kind::Object => {}
        Kind::Null => {
            s.literal("null")?;
            return Ok(PropertiesField::Null);
        }
        _ => {
            s.skip(arena, 1)?;
            return Ok(PropertiesField::NotObject);
        }
    }
    let mut members = 0u32;
    s.expect(b'{', "{")?;
    if s.eat(b'}') {
        return Ok(PropertiesField::Object { members });
    }
    loop {
        members += 1;
        let found = match s.known_key(keys) {
            Some(i) => Some(i),
            None => {
                let name = s.string(arena)?.resolve(s.text, arena).as_bytes();
                keys.iter().position(|k| k.as_bytes() == name)
            }
        };
        s.expect(b':', "\":\"")?;
        match found {
            Some(i) => {
                let slot = property(s, arena)?;
                if let Some(target) = slots.get_mut(i) {
                    *target = slot;
                }
            }
            None => s.skip(arena, 2)?,
        }
        if s.eat(b'}') {
            return Ok(PropertiesField::Object { members });
        }
        s.expect(b',', "\",\" or \"}\"")?;
    }
}

#[inline]
fn property(s: &mut Scanner<'_>, arena: &mut String) -> Result<Slot, ScanError> {
    Ok(match s.kind()? {
        Kind::String => Slot::Str(s.string(arena)?),
        Kind::Number => {
            let (a, b) = s.number()?;
            Slot::Number(a as u32, b as u32)
        }
        Kind::True => s.literal("true").map(|_| Slot::Bool(true))?,
        Kind::False => s.literal("false").map(|_| Slot::Bool(false))?,
        Kind::Null => s.literal("null").map(|_| Slot::Null)?,
        Kind::Object | Kind::Array => {
            let from = arena.len();
            jsonb_text(s, arena, 2)?;
            Slot::Composite(from as u32, arena.len() as u32)
        }
    })
}

impl Properties for ReadEvent<'_> {
    #[inline]
    fn get(&self, key: usize) -> Option<Value<'_>> {
        match *self.slots.get(key)? {
            Slot::Absent => None,
            Slot::Null => Some(Value::Null),
            Slot::Bool(b) => Some(Value::Bool(b)),
            Slot::Number(a, b) => Some(Value::Number(self.text.get(a as usize..b as usize)?)),
            Slot::Str(span) => Some(Value::String(span.resolve(self.text, self.arena))),
            Slot::Composite(a, b) => {
                Some(Value::Composite(self.arena.get(a as usize..b as usize)?))
            }
        }
    }
}

impl<'r> ReadEvent<'r> {
    fn text_of(&self, f: Field) -> Option<&'r str> {
        match f {
            Field::Str(span) => Some(span.resolve(self.text, self.arena)),
            Field::Number(a, b) => self.text.get(a as usize..b as usize),
            _ => None,
        }
    }

    /// The `transaction_id` (a string, or a number's text), when present
    /// and not empty.
    pub fn transaction_id(&self) -> Option<&'r str> {
        self.text_of(self.fields.transaction_id)
            .filter(|t| !t.is_empty())
    }

    /// The metric `code`, when a string.
    pub fn code(&self) -> Option<&'r str> {
        match self.fields.code {
            Field::Str(span) => Some(span.resolve(self.text, self.arena)),
            _ => None,
        }
    }

    /// The `external_subscription_id`, when a string.
    pub fn external_subscription_id(&self) -> Option<&'r str> {
        match self.fields.external_subscription_id {
            Field::Str(span) => Some(span.resolve(self.text, self.arena)),
            _ => None,
        }
    }

    /// Whether `properties` is an object with no member (Lago's
    /// `properties.blank?`); a missing or `null` one counts as `{}`.
    pub fn properties_empty(&self) -> bool {
        matches!(
            self.fields.properties,
            PropertiesField::Object { members: 0 }
                | PropertiesField::Absent
                | PropertiesField::Null
        )
    }

    /// The event's fields, or why it cannot count (C10, in that order:
    /// `invalid_event` for a missing `transaction_id` or non-object
    /// `properties`, `invalid_timestamp`, then the price). `rfc3339`
    /// accepts RFC 3339 timestamps besides Unix seconds (the `aggregate`
    /// contract); without it an ISO-8601 string is rejected (A1).
    ///
    /// # Errors
    /// The [`RejectedEvent`], naming the event by id or `seq`.
    pub fn meta(&self, seq: u64, rfc3339: bool) -> Result<EventMeta<'r>, RejectedEvent> {
        let id = self.transaction_id();
        let reject = |code, message: String| RejectedEvent::new(id, seq, code, message);
        let name = || id.map_or(format!("event {seq}"), |t| format!("event {t:?}"));
        let Some(tx) = id else {
            return Err(reject(
                RejectCode::InvalidEvent,
                format!("event {seq}: transaction_id is missing, empty or not a string"),
            ));
        };
        if self.fields.properties == PropertiesField::NotObject {
            return Err(reject(
                RejectCode::InvalidEvent,
                format!("{}: properties is not an object", name()),
            ));
        }
        let timestamp = self.timestamp(rfc3339).map_err(|why| {
            reject(
                RejectCode::InvalidTimestamp,
                format!("{}: timestamp {why}", name()),
            )
        })?;
        let precise = match self.text_of(self.fields.precise) {
            None if matches!(self.fields.precise, Field::Other) => {
                return Err(reject(
                    RejectCode::InvalidEvent,
                    format!("{}: precise_total_amount_cents is not a decimal", name()),
                ));
            }
            None => None,
            Some(t) => Some(price(t).map_err(|(code, why)| {
                reject(
                    code,
                    format!("{}: precise_total_amount_cents {t:?} {why}", name()),
                )
            })?),
        };
        let code = match self.fields.code {
            Field::Str(span) => Some(span.resolve(self.text, self.arena)),
            _ => None,
        };
        Ok(EventMeta {
            transaction_id: tx,
            seq,
            timestamp,
            code,
            precise_total_amount_cents: precise,
        })
    }

    fn timestamp(&self, rfc3339: bool) -> Result<Timestamp, String> {
        match self.fields.timestamp {
            Field::Absent | Field::Null => Err("is missing".into()),
            Field::Other => Err("is not a number or a string".into()),
            Field::Number(..) => {
                let t = self.text_of(self.fields.timestamp).unwrap_or("");
                if let Some(at) = whole_seconds(t) {
                    return Ok(at);
                }
                Timestamp::from_unix_read_by(t, ruby_seconds).map_err(|e| e.to_string())
            }
            Field::Str(span) => {
                let t = span.resolve(self.text, self.arena);
                let read = if rfc3339 {
                    Timestamp::parse_read_by(t, ruby_seconds)
                } else {
                    Timestamp::from_unix_read_by(t, ruby_seconds)
                };
                read.map_err(|e| e.to_string())
            }
        }
    }
}

/// Whole Unix seconds written as digits alone, as events mostly carry
/// them, read without a decimal: the instant [`ruby_seconds`] gives. `None`
/// for any other text, or out of range (the general path then says why).
fn whole_seconds(text: &str) -> Option<Timestamp> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = text.parse().ok()?;
    Timestamp::from_micros(seconds.checked_mul(1_000_000)?)
}

/// Unix seconds in Lago's grammar (A1: `BigDecimal(ts.to_s)`).
fn ruby_seconds(text: &str) -> Option<Exact> {
    parse_decimal(text).ok()
}

fn price(text: &str) -> Result<Exact, (RejectCode, &'static str)> {
    match parse_decimal(text) {
        Ok(x) => Ok(x),
        Err(DecimalTextError::OutOfRange) => Err((
            RejectCode::ArithmeticOverflow,
            "is beyond the decimal range (|x| < 2^96, at most 28 fractional digits)",
        )),
        Err(_) => Err((RejectCode::InvalidEvent, "is not a decimal")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<Box<str>> {
        names.iter().map(|n| (*n).into()).collect()
    }

    #[test]
    fn reads_only_the_keys_asked_for() {
        let k = keys(&["v", "region", "blob"]);
        let mut r = EventReader::new(&k);
        let e = r
            .read(r#"{"code":"bm","transaction_id":"t\u0031","timestamp":"2024-03-01T00:00:00Z",
                "properties":{"other":{"deep":[1,2]},"v":1e3,"region":"e\u00fa","blob":{"b":1,"a":2},"v":"2"},
                "precise_total_amount_cents":"12.5"}"#)
            .unwrap();
        // The last duplicate key wins; escapes are unescaped.
        assert_eq!(e.get(0), Some(Value::String("2")));
        assert_eq!(e.get(1), Some(Value::String("eú")));
        assert_eq!(e.get(2), Some(Value::Composite(r#"{"a": 2, "b": 1}"#)));
        let m = e.meta(7, true).unwrap();
        assert_eq!((m.transaction_id, m.seq, m.code), ("t1", 7, Some("bm")));
        assert_eq!(m.precise_total_amount_cents, Some("12.5".parse().unwrap()));
        assert!(!e.properties_empty());
    }

    #[test]
    fn whole_seconds_are_the_instants_the_decimal_path_reads() {
        let decimal = |t: &str| Timestamp::from_unix_read_by(t, ruby_seconds).ok();
        for t in ["0", "1", "1709251200", "253402300799", "999999999999"] {
            assert_eq!(whole_seconds(t), decimal(t), "{t}");
        }
        // 999999999999 s is past the year 9999: neither reads it.
        assert_eq!(whole_seconds("999999999999"), None);
        // Anything but plain digits is left to the decimal path.
        for t in ["", "-1", "1.5", "1e3", "1709251200.0", "1234567890123"] {
            assert_eq!(whole_seconds(t), None, "{t}");
        }
    }

    #[test]
    fn escaped_top_level_keys_are_the_keys_they_spell() {
        let k = keys(&["v"]);
        let mut r = EventReader::new(&k);
        let e = r
            .read(
                r#"{"transaction\u005fid":"t","\u0063ode":"bm","timestamp":1709251200,
                "extra":{"a":[1]},"propertie\u0073":{"v":"3"},"external_subscription_id":"s",
                "precise_total_amount_cent\u0073":"1.5"}"#,
            )
            .unwrap();
        let m = e.meta(0, false).unwrap();
        assert_eq!((m.transaction_id, m.code), ("t", Some("bm")));
        assert_eq!(
            m.timestamp,
            Timestamp::from_micros(1_709_251_200_000_000).unwrap()
        );
        assert_eq!(m.precise_total_amount_cents, Some("1.5".parse().unwrap()));
        assert_eq!(e.get(0), Some(Value::String("3")));
        assert_eq!(e.external_subscription_id(), Some("s"));
    }

    #[test]
    fn unreadable_events_are_rejected_with_c10_codes() {
        let k = keys(&["v"]);
        let mut r = EventReader::new(&k);
        let code = |r: &mut EventReader, text: &str, rfc: bool| {
            r.read(text).unwrap().meta(0, rfc).err().map(|e| e.code)
        };
        let ts = r#""timestamp":1709251200"#;
        assert_eq!(
            code(&mut r, &format!("{{{ts}}}"), true),
            Some(RejectCode::InvalidEvent)
        );
        assert_eq!(
            code(
                &mut r,
                &format!(r#"{{"transaction_id":"","properties":{{}},{ts}}}"#),
                true
            ),
            Some(RejectCode::InvalidEvent)
        );
        assert_eq!(
            code(
                &mut r,
                &format!(r#"{{"transaction_id":"a","properties":[1],{ts}}}"#),
                true
            ),
            Some(RejectCode::InvalidEvent)
        );
        assert_eq!(
            code(
                &mut r,
                r#"{"transaction_id":"a","timestamp":"2024-03-01T00:00:00Z"}"#,
                false
            ),
            Some(RejectCode::InvalidTimestamp),
            "A1: ISO strings are for `aggregate` only"
        );
        assert_eq!(
            code(
                &mut r,
                r#"{"transaction_id":"a","timestamp":"tomorrow"}"#,
                true
            ),
            Some(RejectCode::InvalidTimestamp)
        );
        assert_eq!(
            code(&mut r, r#"{"transaction_id":"a"}"#, true),
            Some(RejectCode::InvalidTimestamp)
        );
        assert_eq!(
            code(
                &mut r,
                &format!(r#"{{"transaction_id":"a",{ts},"precise_total_amount_cents":1e40}}"#),
                true
            ),
            Some(RejectCode::ArithmeticOverflow)
        );
        // A numeric id and a numeric-string timestamp are fine.
        let e = r
            .read(r#"{"transaction_id":42,"timestamp":"1709251200.5"}"#)
            .unwrap();
        assert_eq!(e.meta(0, false).map(|m| m.transaction_id), Ok("42"));
        assert!(r.read("[1]").is_err());
        assert!(r.read(r#"{"transaction_id":"a""#).is_err());
    }
}
