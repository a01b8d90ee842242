//! The one lexer of JSON text by the byte: whether a byte stands inside a
//! string (an escaped quote included) or outside, where brackets, commas,
//! colons and whitespace mean something. The line reader counts brackets
//! with it, the writer drops an echoed value's whitespace and `--pretty`
//! re-indents a result with it.

/// Where the bytes fed so far leave the text: inside a string or not.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Strings {
    in_string: bool,
    escaped: bool,
}

impl Strings {
    /// Feeds one byte; whether it stands outside every string (the quotes
    /// that open and close a string belong to it).
    #[inline]
    pub(crate) fn outside(&mut self, b: u8) -> bool {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return false;
        }
        if b == b'"' {
            self.in_string = true;
            return false;
        }
        true
    }

    /// Starts outside any string again (a JSON string never spans lines).
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

/// JSON's insignificant whitespace.
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_hold_escaped_quotes_and_brackets() {
        let text = br#"{"a\"[": "]\\", "b": [1]}"#;
        let mut s = Strings::default();
        let outside: String = text
            .iter()
            .filter(|b| s.outside(**b))
            .map(|b| char::from(*b))
            .collect();
        assert_eq!(outside, "{: , : [1]}");
    }
}
