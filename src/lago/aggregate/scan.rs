//! A strict one-pass JSON scanner over borrowed text, for events: it
//! checks the grammar as it goes, hands out spans instead of values, and
//! unescapes a string only when it holds an escape. Every access is
//! bounds-checked; nesting is capped.

use std::fmt;

/// Nesting deeper than this is refused.
const MAX_DEPTH: usize = 128;

/// A malformed text, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanError {
    pub(crate) at: usize,
    pub(crate) expected: &'static str,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: expected {}", self.at + 1, self.expected)
    }
}

pub(crate) type Scanned<T> = Result<T, ScanError>;

/// Where a string's text is: in the input (no escapes) or in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    Input(u32, u32),
    Arena(u32, u32),
}

impl Span {
    #[inline]
    pub(crate) fn resolve<'t>(self, input: &'t str, arena: &'t str) -> &'t str {
        match self {
            Span::Input(a, b) => input.get(a as usize..b as usize).unwrap_or(""),
            Span::Arena(a, b) => arena.get(a as usize..b as usize).unwrap_or(""),
        }
    }
}

/// The kind of the next value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

pub(crate) struct Scanner<'t> {
    pub(crate) text: &'t str,
    pub(crate) at: usize,
}

impl<'t> Scanner<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Self { text, at: 0 }
    }

    fn bytes(&self) -> &'t [u8] {
        self.text.as_bytes()
    }

    pub(crate) fn fail<T>(&self, expected: &'static str) -> Scanned<T> {
        Err(ScanError {
            at: self.at,
            expected,
        })
    }

    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.at).copied()
    }

    #[inline]
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8, what: &'static str) -> Scanned<()> {
        if self.eat(b) { Ok(()) } else { self.fail(what) }
    }

    pub(crate) fn kind(&mut self) -> Scanned<Kind> {
        Ok(match self.peek() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            Some(b't') => Kind::True,
            Some(b'f') => Kind::False,
            Some(b'n') => Kind::Null,
            _ => return self.fail("a JSON value"),
        })
    }

    /// The end of the text: only whitespace may follow.
    pub(crate) fn end(&mut self) -> Scanned<()> {
        self.ws();
        if self.at == self.text.len() {
            Ok(())
        } else {
            self.fail("the end of the value")
        }
    }

    /// A string; its text in the input, or unescaped into `arena`.
    #[inline]
    pub(crate) fn string(&mut self, arena: &mut String) -> Scanned<Span> {
        self.expect(b'"', "a string")?;
        let start = self.at;
        let rest = self.bytes().get(start..).unwrap_or_default();
        match crate::lago::raw::special_byte(rest) {
            Some(i) if rest.get(i) == Some(&b'"') => {
                self.at = start + i + 1;
                Ok(Span::Input(start as u32, (start + i) as u32))
            }
            Some(i) if rest.get(i) == Some(&b'\\') => self.escaped(start, arena),
            _ => self.fail("a closing quote (control characters must be escaped)"),
        }
    }

    #[cold]
    fn escaped(&mut self, start: usize, arena: &mut String) -> Scanned<Span> {
        let from = arena.len();
        self.at = start;
        loop {
            let rest = self.bytes().get(self.at..).unwrap_or_default();
            let Some(i) = crate::lago::raw::special_byte(rest) else {
                return self.fail("a closing quote");
            };
            arena.push_str(self.text.get(self.at..self.at + i).unwrap_or(""));
            self.at += i;
            match rest.get(i) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Span::Arena(from as u32, arena.len() as u32));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let c = self.escape()?;
                    arena.push(c);
                }
                _ => return self.fail("an escaped control character"),
            }
        }
    }

    fn escape(&mut self) -> Scanned<char> {
        let b = self.bytes().get(self.at).copied();
        self.at += 1;
        Ok(match b {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode(),
            _ => return self.fail("a valid escape"),
        })
    }

    fn hex4(&mut self) -> Scanned<u32> {
        let digits = self.text.get(self.at..self.at + 4);
        let v = digits.and_then(|d| u32::from_str_radix(d, 16).ok());
        match v {
            Some(v) if digits.is_some_and(|d| d.bytes().all(|b| b.is_ascii_hexdigit())) => {
                self.at += 4;
                Ok(v)
            }
            _ => self.fail("four hex digits"),
        }
    }

    fn unicode(&mut self) -> Scanned<char> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.text.get(self.at..self.at + 2) != Some("\\u") {
                return self.fail("a low surrogate");
            }
            self.at += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return self.fail("a low surrogate");
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.fail("a valid code point"),
        }
    }

    /// A key among `names` written plainly (no escape) at the current
    /// position: consumes it with its quotes and gives its index. `None`
    /// leaves the position alone (the caller reads the key in full).
    #[inline]
    pub(crate) fn known_key<N: AsRef<str>>(&mut self, names: &[N]) -> Option<usize> {
        self.ws();
        let rest = self.bytes().get(self.at..)?;
        let (&b'"', body) = rest.split_first()? else {
            return None;
        };
        let first = *body.first()?;
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref().as_bytes();
            if name.first() == Some(&first)
                && body.get(..name.len()) == Some(name)
                && body.get(name.len()) == Some(&b'"')
            {
                self.at += name.len() + 2;
                return Some(i);
            }
        }
        None
    }

    /// A number; its literal's span.
    #[inline]
    pub(crate) fn number(&mut self) -> Scanned<(usize, usize)> {
        self.ws();
        let start = self.at;
        let b = self.bytes();
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while digit(i) {
                    i += 1;
                }
            }
            _ => return self.fail("a digit"),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digit(i) {
                self.at = i;
                return self.fail("a digit after the point");
            }
            while digit(i) {
                i += 1;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digit(i) {
                self.at = i;
                return self.fail("an exponent digit");
            }
            while digit(i) {
                i += 1;
            }
        }
        self.at = i;
        Ok((start, i))
    }

    pub(crate) fn literal(&mut self, word: &'static str) -> Scanned<()> {
        self.ws();
        if self.text.get(self.at..self.at + word.len()) == Some(word) {
            self.at += word.len();
            Ok(())
        } else {
            self.fail(word)
        }
    }

    /// Skips one value, checking it.
    pub(crate) fn skip(&mut self, arena: &mut String, depth: usize) -> Scanned<()> {
        if depth > MAX_DEPTH {
            return self.fail("less nesting");
        }
        match self.kind()? {
            Kind::String => {
                let mark = arena.len();
                self.string(arena)?;
                arena.truncate(mark);
                Ok(())
            }
            Kind::Number => self.number().map(|_| ()),
            Kind::True => self.literal("true"),
            Kind::False => self.literal("false"),
            Kind::Null => self.literal("null"),
            Kind::Array => {
                self.expect(b'[', "[")?;
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.skip(arena, depth + 1)?;
                    if self.eat(b']') {
                        return Ok(());
                    }
                    self.expect(b',', "\",\" or \"]\"")?;
                }
            }
            Kind::Object => self.members(arena, |s, _, arena| s.skip(arena, depth + 1)),
        }
    }

    /// An object: `member(scanner, key span, arena)` reads each value.
    #[inline]
    pub(crate) fn members(
        &mut self,
        arena: &mut String,
        mut member: impl FnMut(&mut Self, Span, &mut String) -> Scanned<()>,
    ) -> Scanned<()> {
        self.expect(b'{', "{")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let key = self.string(arena)?;
            self.expect(b':', "\":\"")?;
            member(self, key, arena)?;
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',', "\",\" or \"}\"")?;
        }
    }
}

/// A composite value in Postgres' `jsonb` text form (A12): objects with
/// `", "` and `": "` separators, keys ordered by length then bytes, the
/// last of duplicate keys kept, numbers in `numeric` form.
pub(crate) fn jsonb_text(s: &mut Scanner<'_>, out: &mut String, depth: usize) -> Scanned<()> {
    let mut scratch = String::new();
    let tree = tree(s, &mut scratch, depth)?;
    write_tree(&tree, out);
    Ok(())
}

enum Tree {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

fn tree(s: &mut Scanner<'_>, arena: &mut String, depth: usize) -> Scanned<Tree> {
    if depth > MAX_DEPTH {
        return s.fail("less nesting");
    }
    Ok(match s.kind()? {
        Kind::Null => s.literal("null").map(|_| Tree::Null)?,
        Kind::True => s.literal("true").map(|_| Tree::Bool(true))?,
        Kind::False => s.literal("false").map(|_| Tree::Bool(false))?,
        Kind::Number => {
            let (a, b) = s.number()?;
            let raw = s.text.get(a..b).unwrap_or("0");
            let text =
                crate::aggregate::numeric_text(raw).map_or(raw.to_string(), |t| t.into_owned());
            Tree::Number(text)
        }
        Kind::String => {
            let span = s.string(arena)?;
            Tree::Str(span.resolve(s.text, arena).to_string())
        }
        Kind::Array => {
            s.expect(b'[', "[")?;
            let mut items = Vec::new();
            if !s.eat(b']') {
                loop {
                    items.push(tree(s, arena, depth + 1)?);
                    if s.eat(b']') {
                        break;
                    }
                    s.expect(b',', "\",\" or \"]\"")?;
                }
            }
            Tree::Array(items)
        }
        Kind::Object => {
            let mut members: Vec<(String, Tree)> = Vec::new();
            s.members(arena, |s, key, arena| {
                let k = key.resolve(s.text, arena).to_string();
                let v = tree(s, arena, depth + 1)?;
                members.retain(|(old, _)| *old != k);
                members.push((k, v));
                Ok(())
            })?;
            members.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then(a.cmp(b)));
            Tree::Object(members)
        }
    })
}

fn write_tree(t: &Tree, out: &mut String) {
    match t {
        Tree::Null => out.push_str("null"),
        Tree::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Tree::Number(n) => out.push_str(n),
        Tree::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Tree::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_tree(item, out);
            }
            out.push(']');
        }
        Tree::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push_str(": ");
                write_tree(v, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_ok(text: &str) -> bool {
        let mut s = Scanner::new(text);
        let mut arena = String::new();
        s.skip(&mut arena, 0).is_ok() && s.end().is_ok()
    }

    #[test]
    fn the_scanner_accepts_what_json_accepts() {
        for ok in [
            r#"{"a": [1, -2.5e+3, "x\u00e9\ud83d\ude00", true, false, null, {}]}"#,
            "0",
            "-0.0",
            r#""\"\\\/\b\f\n\r\t""#,
            " [ ] ",
        ] {
            assert!(skip_ok(ok), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok).is_ok());
        }
        for bad in [
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "\"\\x\"",
            "\"\u{1}\"",
            "\"\\ud800\"",
            "tru",
            "[",
            "{\"a\":1} x",
            "",
        ] {
            assert!(!skip_ok(bad), "{bad:?} was accepted");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(!skip_ok(&deep));
    }

    #[test]
    fn composites_are_written_as_jsonb_writes_them() {
        let mut s = Scanner::new(r#"{"bb": 1e3, "a": [true, "x"], "bb": 2.50, "c": {}}"#);
        let mut out = String::new();
        jsonb_text(&mut s, &mut out, 0).unwrap();
        assert_eq!(out, r#"{"a": [true, "x"], "c": {}, "bb": 2.50}"#);
    }
}
