//! A one-pass reader for the common, well-formed request.
//!
//! serde reads the request's typed envelope with a `RawValue` per leaf,
//! which costs more than pricing the request. This scanner reads the same
//! envelope in one pass over the bytes, for requests that keep to the plain
//! subset of JSON: strings without escapes, depth below 100, no duplicate
//! keys, and the shapes the envelope expects (objects where it wants
//! objects, arrays of range and bucket objects). Anything else makes it give
//! up (`None`), and serde reads the request instead; so every error, and
//! every unusual request, is still explained by serde alone.
//!
//! On what it accepts, the scanner gives exactly serde's envelope: keys it
//! does not know are skipped after being checked, `null` is an absent field,
//! and each leaf is the value's text without surrounding whitespace. A test
//! compares both readers on every conformance request.

use crate::lago::fields::{RangeItem, RangeList, RawProperties, RawRange};
use crate::lago::raw::{RawJson, special_byte};

use super::request::{Envelope, Obj, RawBucket, RawCharge, UsageField};

/// Nesting the scanner follows before leaving the request to serde (whose
/// own limit is 128).
const MAX_DEPTH: u32 = 100;

/// Reads a request's envelope, or `None` when serde must read it.
pub(crate) fn envelope(text: &str) -> Option<Envelope<'_>> {
    whole(text, |s| {
        let mut e = Envelope::default();
        let mut seen = Seen::default();
        s.object(|s, key| e.scan_member(s, &mut seen, key))?;
        Some(e)
    })
}

/// A charge object alone (explore's charges), read as [`envelope`] reads
/// a request's `charge`; `None` when serde must read it.
pub(crate) fn charge(text: &str) -> Option<RawCharge<'_>> {
    whole(text, |s| {
        let mut c = RawCharge::default();
        s.charge(&mut c)?;
        Some(c)
    })
}

/// A bucket object alone (explore's template), read as [`envelope`]
/// reads one of `usage`; `None` when serde must read it.
pub(crate) fn bucket(text: &str) -> Option<RawBucket<'_>> {
    whole(text, Scanner::bucket)
}

/// An object's members in order, each key with its value's text (explore's
/// request and its operations), and the first `charge` member read in the
/// same pass when it is an object; `None` when serde must read it.
pub(crate) fn members(text: &str) -> Option<Members<'_>> {
    whole(text, |s| {
        let mut out = Vec::with_capacity(8);
        let (mut charge, mut first) = (None, true);
        s.object(|s, key| {
            let start = s.at;
            if key == "charge" && std::mem::take(&mut first) && s.peek() == Some(b'{') {
                let mut c = RawCharge::default();
                s.charge(&mut c)?;
                charge = Some(c);
            } else {
                s.skip()?;
            }
            let raw = s.text.get(start..s.at).map(RawJson::new_unchecked)?;
            out.push((key, raw));
            Some(())
        })?;
        Some((out, charge))
    })
}

/// An object's members, and its `charge` when read (see [`members`]).
pub(crate) type Members<'a> = (Vec<(&'a str, RawJson<'a>)>, Option<RawCharge<'a>>);

/// One value that is the whole text: only whitespace may surround it.
fn whole<'a, T>(text: &'a str, read: impl FnOnce(&mut Scanner<'a>) -> Option<T>) -> Option<T> {
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    s.ws();
    let value = read(&mut s)?;
    s.ws();
    (s.at == s.bytes.len()).then_some(value)
}

/// A field the scanner reads: a raw leaf, a nested raw shape, a tier list
/// or the usage (serde's `Option`: `null` is `None`).
pub(crate) trait ScanField<'a> {
    fn scan(&mut self, s: &mut Scanner<'a>) -> Option<()>;
}

impl<'a> ScanField<'a> for Option<RawJson<'a>> {
    #[inline]
    fn scan(&mut self, s: &mut Scanner<'a>) -> Option<()> {
        *self = s.nullable(Scanner::raw)?;
        Some(())
    }
}

impl<'a> ScanField<'a> for Option<RangeList<'a>> {
    fn scan(&mut self, s: &mut Scanner<'a>) -> Option<()> {
        *self = s.nullable(Scanner::ranges)?;
        Some(())
    }
}

impl<'a> ScanField<'a> for Option<UsageField<'a>> {
    fn scan(&mut self, s: &mut Scanner<'a>) -> Option<()> {
        *self = s.nullable(Scanner::usage)?;
        Some(())
    }
}

impl<'a> ScanField<'a> for Option<Obj<RawCharge<'a>>> {
    fn scan(&mut self, s: &mut Scanner<'a>) -> Option<()> {
        s.fill(self, |s, c: &mut RawCharge<'a>| {
            let mut seen = Seen::default();
            s.object(|s, key| c.scan_member(s, &mut seen, key))
        })
    }
}

impl<'a> ScanField<'a> for Option<Obj<RawProperties<'a>>> {
    fn scan(&mut self, s: &mut Scanner<'a>) -> Option<()> {
        s.fill(self, |s, p: &mut RawProperties<'a>| {
            let mut seen = Seen::default();
            s.object(|s, key| p.scan_member(s, &mut seen, key))
        })
    }
}

/// Which fields of a struct were given: a second one is serde's "duplicate
/// field" error, so the scanner leaves such a request to serde.
#[derive(Default)]
pub(crate) struct Seen(u32);

impl Seen {
    pub(crate) fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1 << field;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }
}

pub(crate) struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: u32,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// JSON's insignificant whitespace.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    #[inline]
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    /// A string without escapes or control characters: its content.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = special_byte(self.bytes.get(start..)?)?;
        self.at = start + len;
        self.eat(b'"')?;
        self.text.get(start..start + len)
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`, as serde checks it.
    #[inline]
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    #[inline]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    #[inline]
    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// Checks one value of any kind and moves past it.
    pub(crate) fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.object(|s, _| s.skip()),
            b'[' => self.array(Scanner::skip),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// The text of the next value, checked.
    #[inline]
    fn raw(&mut self) -> Option<RawJson<'a>> {
        let start = self.at;
        self.skip()?;
        self.text.get(start..self.at).map(RawJson::new_unchecked)
    }

    /// Whether the next value is `null` (then consumed).
    #[inline]
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    /// An `Option` field: `null` is `None` (serde's `Option`), else `read`.
    #[inline]
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null()? {
            return Some(None);
        }
        read(self).map(Some)
    }

    /// An object field, after its duplicate check: `null` is `None`, an
    /// object is read by `read` in place (the envelope's parts are large to
    /// move).
    fn fill<T: Default>(
        &mut self,
        slot: &mut Option<Obj<T>>,
        read: impl FnOnce(&mut Self, &mut T) -> Option<()>,
    ) -> Option<()> {
        if self.null()? {
            *slot = None;
            return Some(());
        }
        read(self, &mut slot.insert(Obj(T::default())).0)
    }

    fn deeper(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth < MAX_DEPTH).then_some(())
    }

    /// `{ "key": value, ... }`: `member` reads each value given its key.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |s| {
            let key = s.string()?;
            s.ws();
            s.eat(b':')?;
            s.ws();
            member(s, key)
        })
    }

    /// `[ value, ... ]`: `element` reads each element.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', element)
    }

    /// `open item, item, ... close`, one level deeper.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.deeper()?;
        self.ws();
        if self.eat(close).is_none() {
            loop {
                item(self)?;
                self.ws();
                if self.eat(b',').is_some() {
                    self.ws();
                    continue;
                }
                self.eat(close)?;
                break;
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// A tier list given as an array of range objects (any other shape is
    /// left to serde, which records what it was).
    fn ranges(&mut self) -> Option<RangeList<'a>> {
        let mut items = Vec::with_capacity(8);
        self.array(|s| {
            let mut r = RawRange::default();
            let mut seen = Seen::default();
            s.object(|s, key| r.scan_member(s, &mut seen, key))?;
            items.push(RangeItem::Range(r));
            Some(())
        })?;
        Some(RangeList::Items(items))
    }

    /// `usage`: one bucket object or an array of them.
    fn usage(&mut self) -> Option<UsageField<'a>> {
        if self.peek()? == b'{' {
            return self.bucket().map(UsageField::One);
        }
        let mut list = Vec::new();
        self.array(|s| {
            list.push(s.bucket()?);
            Some(())
        })?;
        Some(UsageField::Many(list))
    }

    /// A charge object, its fields as the field list declares them.
    fn charge(&mut self, c: &mut RawCharge<'a>) -> Option<()> {
        let mut seen = Seen::default();
        self.object(|s, key| c.scan_member(s, &mut seen, key))
    }

    fn bucket(&mut self) -> Option<RawBucket<'a>> {
        let mut b = RawBucket::default();
        let mut seen = Seen::default();
        self.object(|s, key| b.scan_member(s, &mut seen, key))?;
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Both readers on one request: when the scanner reads it, serde must
    /// read the very same envelope. Returns whether the scanner read it.
    fn agree(text: &str) -> bool {
        let scanned = envelope(text);
        let serde = serde_json::from_str::<Envelope<'_>>(text).ok();
        if let Some(s) = &scanned {
            assert_eq!(Some(s), serde.as_ref(), "{text}");
        }
        scanned.is_some()
    }

    fn data(name: &str) -> String {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every public request, compact and pretty-printed.
    fn requests() -> Vec<String> {
        let mut out = Vec::new();
        for line in data("vectors.jsonl").lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let req = json!({"id": v["id"], "currency": v["currency"],
                "charge": {"charge_model": v["charge_model"], "properties": v["properties"],
                           "prorated": v["prorated"]},
                "usage": v["aggregation"]});
            out.push(req.to_string());
            out.push(serde_json::to_string_pretty(&req).unwrap());
        }
        for line in data("fee-cases.jsonl").lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            match (&v["request"], &v["request_raw"]) {
                (Value::Object(_), _) => {
                    out.push(v["request"].to_string());
                    out.push(serde_json::to_string_pretty(&v["request"]).unwrap());
                }
                (_, Value::String(raw)) => out.push(raw.clone()),
                _ => {}
            }
        }
        let examples = format!("{}/examples/requests.jsonl", env!("CARGO_MANIFEST_DIR"));
        out.extend(
            std::fs::read_to_string(examples)
                .unwrap()
                .lines()
                .map(String::from),
        );
        out
    }

    #[test]
    fn the_scanner_reads_what_serde_reads() {
        let all = requests();
        let scanned = all.iter().filter(|r| agree(r)).count();
        // The fast path must be the common one, not a rarely taken branch.
        assert!(
            scanned * 10 >= all.len() * 9,
            "scanned {scanned} of {}",
            all.len()
        );
    }

    /// Explore's pieces (its request's members with the charge read in the
    /// same pass, a lone charge, a template) read as serde reads them.
    #[test]
    fn explore_pieces_read_as_serde_reads_them() {
        use std::collections::HashMap;
        let examples = format!("{}/examples/explore.jsonl", env!("CARGO_MANIFEST_DIR"));
        let examples = std::fs::read_to_string(examples).unwrap();
        let cases = data("explore-cases.jsonl");
        let mut read = 0;
        for line in examples.lines().chain(cases.lines()) {
            let v: Value = serde_json::from_str(line).unwrap();
            for text in [v.to_string(), serde_json::to_string_pretty(&v).unwrap()] {
                let Some((members, charge)) = members(&text) else {
                    continue;
                };
                read += 1;
                let serde: HashMap<&str, &serde_json::value::RawValue> =
                    serde_json::from_str(&text).unwrap();
                assert_eq!(members.len(), serde.len(), "{text}");
                for (key, raw) in &members {
                    assert_eq!(Some(raw.get()), serde.get(key).map(|r| r.get()), "{key}");
                }
                let raw = |key: &str| serde.get(key).map(|r| r.get());
                let charge_text = raw("charge").unwrap();
                let by_serde: RawCharge<'_> = serde_json::from_str(charge_text).unwrap();
                assert_eq!(charge.as_ref(), Some(&by_serde), "{text}");
                assert_eq!(self::charge(charge_text).as_ref(), Some(&by_serde));
                if let Some(usage) = raw("usage") {
                    let by_serde: RawBucket<'_> = serde_json::from_str(usage).unwrap();
                    assert_eq!(bucket(usage), Some(by_serde), "{text}");
                }
            }
        }
        assert!(read >= 150, "scanned {read}");
    }

    #[test]
    fn unusual_requests_are_left_to_serde() {
        let base = r#""currency": "EUR", "usage": {"units": "1", "events_count": 1}"#;
        for text in [
            // duplicate keys (serde: "duplicate field")
            r#"{"id": 1, "id": 2}"#,
            r#"{"charge": {"charge_model": "standard", "charge_model": "standard"}}"#,
            // escapes and control characters in strings
            r#"{"id": "a\"b"}"#,
            "{\"id\": \"a\u{1}b\"}",
            r#"{"currency": "EU\u0052"}"#,
            // shapes serde reads its own way (or refuses)
            r#"{"charge": "standard"}"#,
            r#"{"charge": {"properties": []}}"#,
            r#"{"usage": 3}"#,
            r#"{"usage": [null]}"#,
            r#"{"charge": {"properties": {"graduated_ranges": {}}}}"#,
            r#"{"charge": {"properties": {"graduated_ranges": [1]}}}"#,
            // not JSON
            r#"{"id": 01}"#,
            r#"{"id": 1.}"#,
            r#"{"id": -}"#,
            r#"{"id": 1e}"#,
            r#"{"id": .5}"#,
            r#"{"id": tru}"#,
            r#"{"id": 1,}"#,
            r#"{"id": 1} x"#,
            r#"[{"id": 1}]"#,
            r#"{"id" 1}"#,
        ] {
            assert!(!agree(text), "{text}");
        }
        let deep = format!("{{\"x\": {}{}, {base}}}", "[".repeat(150), "]".repeat(150));
        assert!(!agree(&deep));
        // ...while these stay on the fast path, with serde's reading.
        for text in [
            format!(r#"{{"id": null, "charge": null, {base}}}"#),
            format!(r#"{{"extra": {{"a": [1, -2.5e+3, true, false, null, "s"]}}, {base}}}"#),
            format!("\t{{ \"id\" :\r\n 7 , {base} }} \n"),
            format!(r#"{{"id": "é", "period": {{"duration_days": 30}}, {base}}}"#),
            format!(
                r#"{{"charge": {{"charge_model": "graduated", "properties": {{"graduated_ranges": [{{"from_value": 0, "to_value": null, "per_unit_amount": "1", "flat_amount": "0", "other": [[]]}}]}}}}, {base}}}"#
            ),
            r#"{"usage": [], "currency": "EUR"}"#.to_string(),
        ] {
            assert!(agree(&text), "{text}");
        }
    }
}
