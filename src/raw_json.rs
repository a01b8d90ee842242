//! A JSON value kept as its text, for reading leaves exactly.

use serde::Deserialize;
use serde_json::value::RawValue;

/// The text of one well-formed JSON value, exactly as written in the
/// request (surrounding whitespace excluded), borrowed from it.
///
/// Numbers keep their digits this way (no `f64`), and messages can point at
/// the value's column. Made by serde (through `RawValue`, which checks the
/// text) or by the request scanner, which checks it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawJson<'a>(&'a str);

impl<'a> RawJson<'a> {
    /// Wraps text the caller has checked to be one JSON value.
    pub(crate) fn new_unchecked(text: &'a str) -> Self {
        Self(text)
    }

    /// The value's text.
    pub(crate) fn get(self) -> &'a str {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawJson<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(d).map(|r| Self(r.get()))
    }
}
