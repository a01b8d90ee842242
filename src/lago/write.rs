//! The fast JSON writer (quarantined performance code).
//!
//! A result line is written by hand into the output buffer: the keys are
//! fixed ASCII, decimals are digits, so only caller-given strings need JSON
//! escaping. This is several times faster than a derived serializer, and
//! keeps cents beyond 64 bits exact. What a fee's JSON holds, and in which
//! order, is not written here but in `shapes.rs`, once for this writer and
//! for serde.

use std::convert::Infallible;

use super::lexer::{Strings, is_space};
use super::raw::{RawJson, special_byte};
use super::shapes::{Shape, Sink};
use crate::exact::{Exact, write_integer};

/// A compact JSON writer with comma bookkeeping.
pub(crate) struct Json<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    /// Whether the innermost open object or array has no member yet.
    first: bool,
}

impl<'a> Json<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, first: true }
    }

    #[inline(always)]
    pub(crate) fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// Opens an object as a value (after a key, or as an array element).
    pub(crate) fn open(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.first = true;
    }

    pub(crate) fn close(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.first = false;
    }

    /// `"key":` — keys are fixed ASCII identifiers, never escaped. Inlined,
    /// so each constant key becomes a few stores instead of a copy call.
    #[inline(always)]
    pub(crate) fn key(&mut self, key: &str) {
        self.comma();
        self.out.reserve(key.len() + 3);
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A decimal as a plain-notation JSON string.
    #[inline(always)]
    pub(crate) fn dec(&mut self, key: &str, value: Exact) {
        self.key(key);
        value.write_quoted(self.out);
    }

    #[inline(always)]
    pub(crate) fn int(&mut self, key: &str, value: i128) {
        self.key(key);
        write_integer(value, self.out);
    }

    #[inline(always)]
    pub(crate) fn boolean(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    #[inline(always)]
    pub(crate) fn null(&mut self, key: &str) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    /// A caller-given string, escaped.
    pub(crate) fn string_value(&mut self, value: &str) {
        // serde_json escapes only '"', '\\' and control characters: a string
        // without them is written as it is.
        if special_byte(value.as_bytes()).is_none() {
            self.out.push(b'"');
            self.out.extend_from_slice(value.as_bytes());
            self.out.push(b'"');
        } else {
            let _ = serde_json::to_writer(&mut *self.out, value);
        }
    }

    #[inline(always)]
    pub(crate) fn string(&mut self, key: &str, value: Option<&str>) {
        self.key(key);
        self.string_or_null(value);
    }

    /// A caller-given string, escaped, or `null`.
    #[inline(always)]
    fn string_or_null(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.string_value(v),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    /// A tier bound: a JSON integer when integral, else a decimal string (M4).
    #[inline(always)]
    pub(crate) fn bound(&mut self, key: &str, value: Option<Exact>) {
        match value {
            None => self.null(key),
            Some(v) => match v.to_i128() {
                Some(i) => self.int(key, i),
                None => self.dec(key, v),
            },
        }
    }

    /// Copies members written earlier (`range` of the output) as the
    /// first members of the object just opened.
    pub(crate) fn copy_members(&mut self, range: std::ops::Range<usize>) {
        debug_assert!(self.first, "copied members open an object");
        self.out.extend_from_within(range);
        self.first = false;
    }

    /// Echoes a raw JSON value verbatim, minus insignificant whitespace: a
    /// value spread over several input lines must not break the one-line
    /// output.
    pub(crate) fn raw(&mut self, key: &str, value: RawJson<'_>) {
        self.key(key);
        let mut strings = Strings::default();
        for &b in value.get().as_bytes() {
            if strings.outside(b) && is_space(b) {
                continue;
            }
            self.out.push(b);
        }
    }

    /// `{key: value}` in the order given, or `null`.
    pub(crate) fn ordered_map<'k, V>(
        &mut self,
        key: &str,
        pairs: Option<impl IntoIterator<Item = (&'k str, V)>>,
        value: impl Fn(&mut Self, V),
    ) {
        self.key(key);
        let Some(pairs) = pairs else {
            self.out.extend_from_slice(b"null");
            return;
        };
        self.open(b'{');
        for (k, v) in pairs {
            self.comma();
            self.string_value(k);
            self.out.push(b':');
            value(self, v);
        }
        self.close(b'}');
    }

    /// A filter's `{key: [values]}` in the order given, or null.
    pub(crate) fn filter_values(&mut self, key: &str, values: Option<&[(String, Vec<String>)]>) {
        let pairs = values.map(|v| v.iter().map(|(k, vs)| (k.as_str(), vs)));
        self.ordered_map(key, pairs, |w, values: &Vec<String>| {
            w.open(b'[');
            for v in values {
                w.comma();
                w.string_value(v);
            }
            w.close(b']');
        });
    }

    /// A group label `{key: value or null}` in the order given, or null.
    pub(crate) fn label(&mut self, key: &str, label: Option<&[(String, Option<String>)]>) {
        let pairs = label.map(|l| l.iter().map(|(k, v)| (k.as_str(), v.as_deref())));
        self.ordered_map(key, pairs, Self::string_or_null);
    }

    /// [`Json::label`] of these key names and their values (`None`:
    /// null), without the label's strings.
    pub(crate) fn label_values<'v>(
        &mut self,
        key: &str,
        names: &'v [String],
        values: impl Iterator<Item = Option<&'v str>>,
    ) {
        let pairs = names.iter().map(String::as_str).zip(values);
        self.ordered_map(key, Some(pairs), Self::string_or_null);
    }

    /// An object's members, written by `shape`.
    #[inline(always)]
    pub(crate) fn members<S: Shape + ?Sized>(&mut self, shape: &S) {
        self.open(b'{');
        let Ok(()) = shape.write(self);
        self.close(b'}');
    }
}

/// The fast writer as a [`Sink`]: it cannot fail.
impl Sink for Json<'_> {
    type Error = Infallible;

    #[inline(always)]
    fn dec(&mut self, key: &'static str, value: Exact) -> Result<(), Infallible> {
        Json::dec(self, key, value);
        Ok(())
    }

    #[inline(always)]
    fn int(&mut self, key: &'static str, value: i128) -> Result<(), Infallible> {
        Json::int(self, key, value);
        Ok(())
    }

    #[inline(always)]
    fn boolean(&mut self, key: &'static str, value: bool) -> Result<(), Infallible> {
        Json::boolean(self, key, value);
        Ok(())
    }

    #[inline(always)]
    fn string(&mut self, key: &'static str, value: Option<&str>) -> Result<(), Infallible> {
        Json::string(self, key, value);
        Ok(())
    }

    #[inline(always)]
    fn bound(&mut self, key: &'static str, value: Option<Exact>) -> Result<(), Infallible> {
        Json::bound(self, key, value);
        Ok(())
    }

    #[inline(always)]
    fn object<S: Shape + ?Sized>(
        &mut self,
        key: &'static str,
        value: Option<&S>,
    ) -> Result<(), Infallible> {
        match value {
            None => self.null(key),
            Some(v) => {
                self.key(key);
                self.members(v);
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn list<S: Shape, I: Iterator<Item = S> + Clone>(
        &mut self,
        key: &'static str,
        items: I,
    ) -> Result<(), Infallible> {
        self.key(key);
        self.open(b'[');
        for item in items {
            self.comma();
            self.members(&item);
        }
        self.close(b']');
        Ok(())
    }

    fn filter_values(
        &mut self,
        key: &'static str,
        values: Option<&[(String, Vec<String>)]>,
    ) -> Result<(), Infallible> {
        Json::filter_values(self, key, values);
        Ok(())
    }

    fn label(
        &mut self,
        key: &'static str,
        label: Option<&[(String, Option<String>)]>,
    ) -> Result<(), Infallible> {
        Json::label(self, key, label);
        Ok(())
    }
}

/// Levels `--pretty` indents: a result nests 6 deep (fees, a fee, its
/// details, a range list, a range), and a deeper echoed `id` stays at this
/// indentation, so the output grows linearly with the input however deep
/// the id (indenting every level would grow with the square of its depth).
const MAX_INDENT_LEVELS: usize = 8;

/// Re-indents the compact JSON written from `start` on, two spaces a level
/// (`--pretty`). Works on the text, so every number stays exactly as written.
pub(crate) fn indent(out: &mut Vec<u8>, start: usize) {
    let compact = out.split_off(start);
    let mut depth = 0usize;
    let mut strings = Strings::default();
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth.min(MAX_INDENT_LEVELS) * 2));
    };
    let mut bytes = compact.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if !strings.outside(b) {
            out.push(b);
            continue;
        }
        match b {
            b'{' | b'[' => {
                out.push(b);
                // An empty object or array stays on one line.
                if matches!(bytes.peek(), Some(b'}' | b']')) {
                    if let Some(close) = bytes.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
}
