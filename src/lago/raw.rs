//! JSON values kept as their text, for reading leaves exactly, and seen
//! only as far as validation needs.

use std::borrow::Cow;

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

/// A JSON value seen only as far as validation needs.
#[derive(Debug)]
pub(crate) enum Raw<'a> {
    /// Absent or `null`.
    Null,
    /// `true` / `false`.
    Bool,
    /// A JSON number, as its exact text.
    Number(&'a str),
    /// A JSON string, unescaped.
    String(Cow<'a, str>),
    /// A JSON array.
    Array(RawJson<'a>),
    /// A JSON object.
    Object(RawJson<'a>),
}

impl<'a> Raw<'a> {
    pub(crate) fn of(value: Option<RawJson<'a>>) -> Self {
        let Some(v) = value else { return Self::Null };
        let text = v.get();
        match text.as_bytes().first() {
            // A string without escapes is its text between the quotes (the
            // outer parse already checked it); only escapes need decoding.
            Some(b'"') => match text.get(1..text.len().saturating_sub(1)) {
                Some(inner) if text.len() >= 2 && !inner.contains('\\') && text.ends_with('"') => {
                    Self::String(Cow::Borrowed(inner))
                }
                _ => match serde_json::from_str::<Cow<'a, str>>(text) {
                    Ok(s) => Self::String(s),
                    Err(_) => Self::Null,
                },
            },
            Some(b'[') => Self::Array(v),
            Some(b'{') => Self::Object(v),
            Some(b't' | b'f') => Self::Bool,
            Some(b'n') | None => Self::Null,
            Some(_) => Self::Number(text),
        }
    }

    /// How the value reads in a message.
    pub(crate) fn show(&self) -> String {
        self.shown().to_string()
    }

    /// The value as a message shows it, formatted only when one is written.
    pub(crate) fn shown(&self) -> Shown<'_, 'a> {
        Shown(self)
    }

    /// Lago's `blank?`: null, an empty or whitespace string, `[]`, `{}`.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Self::Null => true,
            Self::String(s) => s.trim().is_empty(),
            Self::Array(v) | Self::Object(v) => {
                let inner = v
                    .get()
                    .get(1..v.get().len().saturating_sub(1))
                    .unwrap_or("");
                inner.trim().is_empty()
            }
            Self::Bool | Self::Number(_) => false,
        }
    }
}

/// The text of a JSON number as an integer, when it has no fraction and no
/// exponent (`10`, `-3`; not `10.0` or `1e1`).
pub(crate) fn json_integer(text: &str) -> Option<i128> {
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        text.parse().ok()
    } else {
        None
    }
}

/// A raw value as a message shows it (`"1.5"` quoted, `12`, `an array`).
pub(crate) struct Shown<'r, 'a>(&'r Raw<'a>);

impl std::fmt::Display for Shown<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Raw::Null => f.write_str("null"),
            Raw::Bool => f.write_str("a boolean"),
            Raw::Number(t) => f.write_str(t),
            Raw::String(s) => write!(f, "{s:?}"),
            Raw::Array(_) => f.write_str("an array"),
            Raw::Object(_) => f.write_str("an object"),
        }
    }
}

/// The index of the first byte a JSON string cannot hold as it is (`"`,
/// `\\` or a control character), or `None`. Scans eight bytes at a time: a
/// word holds such a byte when one of its bytes is below 0x20 or equals
/// either character (the classic zero-byte tests), and the lowest such
/// byte is the answer.
#[inline]
pub(crate) fn special_byte(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let special = |b: &u8| *b == b'"' || *b == b'\\' || *b < 0x20;
    // Flags the bytes of `v` that are zero.
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    let mut words = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        let below = x.wrapping_sub(ONES * 0x20) & !x;
        let quote = zero_byte(x ^ (ONES * u64::from(b'"')));
        let slash = zero_byte(x ^ (ONES * u64::from(b'\\')));
        let found = (below | quote | slash) & HIGHS;
        if found != 0 {
            // A test can misfire only on a byte after a real match (its
            // borrow runs upwards), so the lowest flag is the first match.
            return Some(done + found.trailing_zeros() as usize / 8);
        }
        done += 8;
    }
    words.remainder().iter().position(special).map(|i| done + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_byte_is_the_first_byte_to_escape() {
        let plain = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let fillers = [b'a', 0x7f, 0x80, 0xc3, 0xff, b' ', 0x21, 0x5b, 0x5d];
        for len in 0..40 {
            for &fill in &fillers {
                let mut bytes = vec![fill; len];
                assert_eq!(special_byte(&bytes), plain(&bytes), "{len} {fill:#x}");
                for at in 0..len {
                    for special in [b'"', b'\\', 0x00, 0x1f, 0x0a] {
                        bytes[at] = special;
                        assert_eq!(
                            special_byte(&bytes),
                            plain(&bytes),
                            "{len} {at} {special:#x}"
                        );
                        bytes[at] = fill;
                    }
                }
            }
        }
        // Random words, where flags of neighbouring bytes interact.
        let mut r: u64 = 7;
        for _ in 0..20_000 {
            r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let bytes: Vec<u8> = r.to_le_bytes().iter().map(|b| b.rotate_left(3)).collect();
            assert_eq!(special_byte(&bytes), plain(&bytes), "{bytes:x?}");
        }
    }
}
