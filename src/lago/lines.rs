//! The JSON Lines edge every command shares (rating-json.md "Input and
//! output"): requests are read line by line within a size limit, each
//! answered by one result line in input order, and what was computed is
//! flushed before the reader waits for more input, so a caller that writes
//! one request at a time gets each result at once.
//!
//! The reader is generic over the per-request handler ([`crate::rate_json`]
//! for `meterprice rate`): every command gets the same limits, error records
//! and exit statuses.

use std::io::{self, Read, Write};

use super::lexer::Strings;
use super::{Outcome, response};

/// The default longest request, in bytes (64 MiB): a line, or the one
/// object of a single-object input.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// Input read per call: large enough that batch input costs few reads.
const READ_BYTES: usize = 64 << 10;

/// How [`serve`] reads and writes.
///
/// ```
/// let options = meterprice::ServeOptions::new().with_max_line_bytes(1 << 20);
/// assert_eq!(options.max_line_bytes, 1 << 20);
/// assert!(!options.pretty);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    /// The longest request, in bytes: a longer line (or single object) is
    /// skipped without being held in memory and answered with one
    /// `parse_error` record.
    pub max_line_bytes: usize,
    /// Indent the result of a single-request input (`--pretty`).
    pub pretty: bool,
}

impl ServeOptions {
    /// The defaults: 64 MiB requests, compact output.
    pub fn new() -> Self {
        Self {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            pretty: false,
        }
    }

    /// Sets the longest request, in bytes.
    #[must_use]
    pub fn with_max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// Indents the result of a single-request input.
    #[must_use]
    pub fn with_pretty(mut self, pretty: bool) -> Self {
        self.pretty = pretty;
        self
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`serve`] run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Summary {
    /// Result lines written, one per request.
    pub records: u64,
    /// Of those, error records.
    pub failed: u64,
}

impl Summary {
    /// Whether every request was priced (exit status 0 rather than 1).
    pub fn all_priced(&self) -> bool {
        self.failed == 0
    }
}

/// Why a [`serve`] run stopped before the end of its input. Results
/// computed before the failure were written (as far as the output allows).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The input could not be read (exit status 2).
    #[error("cannot read the input: {0}")]
    Read(#[source] io::Error),
    /// The output could not be written (exit status 3).
    #[error("cannot write the output: {0}")]
    Write(#[source] io::Error),
}

impl ServeError {
    /// `"input_unreadable"` (exit status 2) or `"output_unwritable"` (exit
    /// status 3): the CLI's exit statuses, which have no error record.
    ///
    /// ```
    /// use meterprice::{ServeOptions, rate_json, serve};
    /// struct Closed;
    /// impl std::io::Write for Closed {
    ///     fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
    ///         Err(std::io::ErrorKind::BrokenPipe.into())
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let input = r#"{"currency": "EUR", "charge": {"charge_model": "dynamic"}, "usage": {"units": "1"}}"#;
    /// let e = serve(input.as_bytes(), Closed, &ServeOptions::new(), rate_json).unwrap_err();
    /// assert_eq!(e.code(), "output_unwritable");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read(_) => "input_unreadable",
            Self::Write(_) => "output_unwritable",
        }
    }
}

/// Answers every request of `input` on `out`, one result line per request,
/// in input order: `handler` writes the result of one request (without a
/// newline) and says how it turned out, as [`crate::rate_json`] does.
///
/// Input is JSON Lines, or one JSON object spread over several lines (a
/// first line that leaves brackets open). Blank lines are skipped, and so is
/// a UTF-8 byte-order mark before the first request. A line that is not
/// UTF-8, or longer than [`ServeOptions::max_line_bytes`], gets a
/// `parse_error` record of its own, and the lines around it are answered as
/// usual; memory stays within the limit whatever the input. `out` is
/// flushed whenever the input has no bytes ready, before waiting for more.
///
/// ```
/// use meterprice::{ServeOptions, rate_json, serve};
/// let input = concat!(
///     r#"{"id": 1, "currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": "0.5"}}, "usage": {"units": "3"}}"#,
///     "\n\n",
///     r#"{"id": 2, "currency": "#, "\n");
/// let mut out = Vec::new();
/// let summary = serve(input.as_bytes(), &mut out, &ServeOptions::new(), rate_json)?;
/// assert_eq!((summary.records, summary.failed), (2, 1));
/// let text = String::from_utf8(out)?;
/// let lines: Vec<&str> = text.lines().collect();
/// assert!(lines[0].contains(r#""amount_cents":150"#)); // 3 × 0.5 EUR
/// assert!(lines[1].contains(r#""code":"parse_error""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`ServeError::Read`] when the input fails (results so far are written
/// first), [`ServeError::Write`] when the output does.
pub fn serve<R: Read, W: Write>(
    input: R,
    out: W,
    options: &ServeOptions,
    handler: impl FnMut(&str, &mut Vec<u8>, bool) -> Outcome,
) -> Result<Summary, ServeError> {
    let mut server = Server {
        out,
        handler,
        options: *options,
        buf: Vec::with_capacity(1024),
        held: None,
        seen: 0,
        summary: Summary::default(),
    };
    let mut lines = Lines::new(input, options.max_line_bytes);
    let read = server.run(&mut lines);
    // A failed read still writes what was read before it; a failed write
    // ends the run as it is.
    if let Err(ServeError::Write(e)) = read {
        return Err(ServeError::Write(e));
    }
    server.finish()?;
    server.out.flush().map_err(ServeError::Write)?;
    read.map(|()| server.summary)
}

/// One request to answer: its text, or the reader's own error message.
enum Record<'a> {
    Text(&'a str),
    Error(&'a str),
}

/// The first record, held back under `--pretty` until it is known to be
/// the only one.
enum Held {
    Text(String),
    Error(String),
}

struct Server<W, H> {
    out: W,
    handler: H,
    options: ServeOptions,
    /// One result, reused.
    buf: Vec<u8>,
    held: Option<Held>,
    /// Records met so far, the held one included.
    seen: u64,
    summary: Summary,
}

impl<W: Write, H: FnMut(&str, &mut Vec<u8>, bool) -> Outcome> Server<W, H> {
    fn run<R: Read>(&mut self, lines: &mut Lines<R>) -> Result<(), ServeError> {
        loop {
            // Only the first record may be an object over several lines.
            let first = self.seen == 0;
            let mut depth = Depth::default();
            match lines.next(&mut self.out, first.then_some(&mut depth))? {
                Next::End => return Ok(()),
                Next::TooLong(no) if first && depth.open() => {
                    self.too_large(lines, no, depth)?;
                }
                Next::TooLong(no) => {
                    let message = format!("line {no} exceeds {}", limit(self.options));
                    self.record(Record::Error(&message))?;
                }
                Next::Line(no) => {
                    let text = match lines.text() {
                        Ok(text) => text,
                        Err(column) => {
                            let message = format!("line {no}, column {column}: invalid UTF-8");
                            self.record(Record::Error(&message))?;
                            continue;
                        }
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    if first {
                        depth.feed_line(text.as_bytes());
                        if depth.open() {
                            let text = text.to_owned();
                            self.gather(lines, no, text, depth)?;
                            continue;
                        }
                    }
                    self.record(Record::Text(text))?;
                }
            }
        }
    }

    /// The first record leaves brackets open: it is one object over several
    /// lines if the lines that follow close it into one JSON value. A line
    /// that is a whole request on its own (JSON Lines after a broken first
    /// line) is never taken into it; if the lines gathered are not one
    /// value after all, each is answered on its own.
    fn gather<R: Read>(
        &mut self,
        lines: &mut Lines<R>,
        first_no: u64,
        mut object: String,
        mut depth: Depth,
    ) -> Result<(), ServeError> {
        let mut pieces = vec![Piece::Text(0..object.len())];
        while depth.open() {
            let no = match lines.next(&mut self.out, Some(&mut depth))? {
                Next::End => break,
                Next::TooLong(_) => return self.too_large(lines, first_no, depth),
                Next::Line(no) => no,
            };
            let text = match lines.text() {
                Ok(text) => text,
                Err(column) => {
                    depth.feed_line(lines.bytes());
                    pieces.push(Piece::BadUtf8 { no, column });
                    continue;
                }
            };
            if is_request(text) {
                let request = text.to_owned();
                self.answer_each(&object, pieces)?;
                return self.record(Record::Text(&request));
            }
            depth.feed_line(text.as_bytes());
            if object.len() + 1 + text.len() > self.options.max_line_bytes {
                return self.too_large(lines, first_no, depth);
            }
            object.push('\n');
            let start = object.len();
            object.push_str(text);
            pieces.push(Piece::Text(start..object.len()));
        }
        let one_value = !depth.open()
            && pieces.iter().all(|p| matches!(p, Piece::Text(_)))
            && serde_json::from_str::<serde::de::IgnoredAny>(&object).is_ok();
        if one_value {
            self.record(Record::Text(&object))
        } else {
            self.answer_each(&object, pieces)
        }
    }

    /// Gathered lines that are not one object, answered one by one.
    fn answer_each(&mut self, object: &str, pieces: Vec<Piece>) -> Result<(), ServeError> {
        for piece in pieces {
            match piece {
                Piece::Text(range) => {
                    let text = object.get(range).unwrap_or("");
                    if !text.trim().is_empty() {
                        self.record(Record::Text(text))?;
                    }
                }
                Piece::BadUtf8 { no, column } => {
                    let message = format!("line {no}, column {column}: invalid UTF-8");
                    self.record(Record::Error(&message))?;
                }
            }
        }
        Ok(())
    }

    /// A single object beyond the limit: one error record, then its lines
    /// are skipped (tracking its brackets, holding nothing) until it closes.
    fn too_large<R: Read>(
        &mut self,
        lines: &mut Lines<R>,
        first_no: u64,
        mut depth: Depth,
    ) -> Result<(), ServeError> {
        let message = format!(
            "the request starting at line {first_no} exceeds {}",
            limit(self.options)
        );
        self.record(Record::Error(&message))?;
        while depth.open() {
            match lines.next(&mut self.out, Some(&mut depth))? {
                Next::End => break,
                Next::TooLong(_) => {}
                Next::Line(_) => {
                    if let Ok(text) = lines.text()
                        && is_request(text)
                    {
                        let request = text.to_owned();
                        return self.record(Record::Text(&request));
                    }
                    depth.feed_line(lines.bytes());
                }
            }
        }
        Ok(())
    }

    /// Answers one record in order; under `--pretty` the first waits until
    /// a second shows up (then both are compact) or the input ends.
    fn record(&mut self, record: Record<'_>) -> Result<(), ServeError> {
        self.seen += 1;
        if self.seen == 1 && self.options.pretty {
            self.held = Some(match record {
                Record::Text(t) => Held::Text(t.to_owned()),
                Record::Error(m) => Held::Error(m.to_owned()),
            });
            return Ok(());
        }
        if let Some(first) = self.held.take() {
            self.emit(held_record(&first), false)?;
        }
        self.emit(record, false)
    }

    /// Answers the held first record, the input's only one: indented.
    fn finish(&mut self) -> Result<(), ServeError> {
        match self.held.take() {
            Some(first) => self.emit(held_record(&first), true),
            None => Ok(()),
        }
    }

    fn emit(&mut self, record: Record<'_>, pretty: bool) -> Result<(), ServeError> {
        self.buf.clear();
        let outcome = match record {
            Record::Text(text) => (self.handler)(text, &mut self.buf, pretty),
            Record::Error(message) => {
                response::write_error(&mut self.buf, None, "parse_error", message, None, pretty);
                Outcome::Failed
            }
        };
        self.buf.push(b'\n');
        self.out.write_all(&self.buf).map_err(ServeError::Write)?;
        self.summary.records += 1;
        if outcome == Outcome::Failed {
            self.summary.failed += 1;
        }
        Ok(())
    }
}

fn held_record(held: &Held) -> Record<'_> {
    match held {
        Held::Text(t) => Record::Text(t),
        Held::Error(m) => Record::Error(m),
    }
}

/// A line gathered into a multi-line object, to answer on its own if the
/// object does not come together.
enum Piece {
    Text(std::ops::Range<usize>),
    BadUtf8 { no: u64, column: usize },
}

/// A whole request on one line, starting at its first column: what JSON
/// Lines are made of, and what a pretty-printed object's inner lines are
/// not (they are indented, or incomplete).
fn is_request(text: &str) -> bool {
    text.starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// The limit as messages give it: "64 MiB", "512 KiB", "1000 bytes".
fn limit(options: ServeOptions) -> String {
    let n = options.max_line_bytes;
    match n {
        0 => "0 bytes".to_string(),
        n if n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// Bracket depth of JSON text outside strings. A JSON string never spans
/// lines, so each line starts outside one: a broken line cannot put the
/// lines after it out of step.
#[derive(Debug, Default)]
struct Depth {
    depth: i64,
    strings: Strings,
}

impl Depth {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.strings.outside(b) {
                match b {
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => self.depth -= 1,
                    _ => {}
                }
            }
        }
    }

    fn end_line(&mut self) {
        self.strings.reset();
    }

    fn feed_line(&mut self, bytes: &[u8]) {
        self.feed(bytes);
        self.end_line();
    }

    fn open(&self) -> bool {
        self.depth > 0
    }
}

/// What [`Lines::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Line `no` (1-based), in [`Lines::bytes`].
    Line(u64),
    /// Line `no` was longer than the limit and has been skipped.
    TooLong(u64),
    /// The input is over.
    End,
}

/// Lines of the input, each at most `max` bytes (without its `\n` or
/// `\r\n`); a longer one is skipped as it streams by.
struct Lines<R> {
    input: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    line: Vec<u8>,
    /// Bytes of `line` before its text (a byte-order mark on line 1).
    front: usize,
    max: usize,
    no: u64,
}

/// The UTF-8 byte-order mark some editors put before the first line.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl<R: Read> Lines<R> {
    fn new(input: R, max: usize) -> Self {
        Self {
            input,
            buf: vec![0; READ_BYTES].into_boxed_slice(),
            start: 0,
            end: 0,
            line: Vec::new(),
            front: 0,
            max,
            no: 0,
        }
    }

    /// The next line. A line over the limit is fed to `depth`, when given,
    /// as it is skipped (a single object's brackets are followed through
    /// it); `out` is flushed before every read from the input.
    fn next(
        &mut self,
        out: &mut impl Write,
        mut depth: Option<&mut Depth>,
    ) -> Result<Next, ServeError> {
        self.line.clear();
        self.front = 0;
        let mut too_long = false;
        loop {
            if self.start >= self.end && !self.fill(out)? {
                if self.line.is_empty() && !too_long {
                    return Ok(Next::End);
                }
                // The last line, without a newline.
                return Ok(self.close(too_long, depth));
            }
            let chunk = self.buf.get(self.start..self.end).unwrap_or(&[]);
            let (part, used) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (chunk.get(..i).unwrap_or(&[]), i + 1),
                None => (chunk, chunk.len()),
            };
            let ends = used > part.len();
            if !too_long && self.line.len() + part.len() > self.max {
                too_long = true;
                if let Some(d) = depth.as_deref_mut() {
                    d.feed(&self.line);
                }
                // Let go of what was held: the limit's worth at most.
                self.line = Vec::new();
            }
            if too_long {
                if let Some(d) = depth.as_deref_mut() {
                    d.feed(part);
                }
            } else {
                push_within(&mut self.line, part, self.max);
            }
            self.start += used;
            if ends {
                return Ok(self.close(too_long, depth));
            }
        }
    }

    /// Ends the current line: its number, and its text without `\r`s at
    /// the end (or a byte-order mark at the start of the input).
    fn close(&mut self, too_long: bool, depth: Option<&mut Depth>) -> Next {
        self.no += 1;
        if too_long {
            if let Some(d) = depth {
                d.end_line();
            }
            return Next::TooLong(self.no);
        }
        while self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if self.no == 1 && self.line.starts_with(BOM) {
            self.front = BOM.len();
        }
        Next::Line(self.no)
    }

    /// The current line's bytes.
    fn bytes(&self) -> &[u8] {
        self.line.get(self.front..).unwrap_or(&[])
    }

    /// The current line as text, or the 1-based column of its first byte
    /// that is not UTF-8.
    fn text(&self) -> Result<&str, usize> {
        std::str::from_utf8(self.bytes()).map_err(|e| e.valid_up_to() + 1)
    }

    /// Reads more input, flushing `out` first: the read may wait, and a
    /// caller feeding one request at a time must see its result before.
    /// `false` at the end of the input.
    fn fill(&mut self, out: &mut impl Write) -> Result<bool, ServeError> {
        out.flush().map_err(ServeError::Write)?;
        loop {
            match self.input.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ServeError::Read(e)),
            }
        }
    }
}

/// Appends `part`, growing `line` no further than `max` bytes (a plain
/// push could double the allocation past the limit).
fn push_within(line: &mut Vec<u8>, part: &[u8], max: usize) {
    let need = line.len() + part.len();
    if need > line.capacity() {
        let grown = need
            .max(line.capacity().saturating_mul(2))
            .min(max.max(need));
        line.reserve_exact(grown - line.len());
    }
    line.extend_from_slice(part);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of one huge line (`len` bytes of `x`), then `tail`, in
    /// small chunks, that never exists in memory as a whole.
    struct Huge {
        len: usize,
        sent: usize,
        tail: &'static [u8],
    }

    impl Read for Huge {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(4096);
            if self.sent < self.len {
                let n = n.min(self.len - self.sent);
                buf[..n].fill(b'x');
                self.sent += n;
                return Ok(n);
            }
            let at = self.sent - self.len;
            let n = n.min(self.tail.len() - at);
            buf[..n].copy_from_slice(&self.tail[at..at + n]);
            self.sent += n;
            Ok(n)
        }
    }

    #[test]
    fn a_huge_line_is_skipped_holding_no_more_than_the_limit() {
        let max = 1 << 20;
        let mut lines = Lines::new(
            Huge {
                len: 64 << 20,
                sent: 0,
                tail: b"\nnext\n",
            },
            max,
        );
        let mut sink = Vec::new();
        let mut peak = 0;
        let mut seen = Vec::new();
        loop {
            let next = lines.next(&mut sink, None).unwrap();
            peak = peak.max(lines.line.capacity());
            if next == Next::End {
                break;
            }
            seen.push((next, lines.bytes().to_vec()));
        }
        assert_eq!(
            seen,
            [
                (Next::TooLong(1), vec![]),
                (Next::Line(2), b"next".to_vec())
            ]
        );
        assert!(peak <= max, "held {peak} bytes for a limit of {max}");
    }

    #[test]
    fn lines_end_at_newlines_with_or_without_cr_and_the_bom_goes() {
        let input: &[u8] = b"\xEF\xBB\xBFa\r\n\nbc\r\r\nlast";
        let mut lines = Lines::new(input, 10);
        let mut sink = Vec::new();
        let mut got = Vec::new();
        while let Next::Line(no) = lines.next(&mut sink, None).unwrap() {
            got.push((no, lines.text().unwrap().to_string()));
        }
        assert_eq!(
            got,
            [
                (1, "a".to_string()),
                (2, String::new()),
                (3, "bc".to_string()),
                (4, "last".to_string())
            ]
        );
        // A byte-order mark after the first line is text (and not JSON).
        let mut lines = Lines::new(&b"a\n\xEF\xBB\xBFb"[..], 10);
        lines.next(&mut sink, None).unwrap();
        lines.next(&mut sink, None).unwrap();
        assert_eq!(lines.text(), Ok("\u{feff}b"));
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read_and_one_byte_more_is_not() {
        let mut lines = Lines::new(&b"12345\n123456\n1\n"[..], 5);
        let mut sink = Vec::new();
        assert_eq!(lines.next(&mut sink, None).unwrap(), Next::Line(1));
        assert_eq!(lines.text(), Ok("12345"));
        assert_eq!(lines.next(&mut sink, None).unwrap(), Next::TooLong(2));
        assert_eq!(lines.next(&mut sink, None).unwrap(), Next::Line(3));
        assert_eq!(lines.next(&mut sink, None).unwrap(), Next::End);
    }

    #[test]
    fn depth_follows_brackets_outside_strings_and_restarts_each_line() {
        let mut d = Depth::default();
        d.feed_line(br#"{"a": "[{\"", "b": ["#);
        assert_eq!(d.depth, 2);
        // An unterminated string does not carry over to the next line.
        d.feed_line(br#""open"#);
        d.feed_line(b"]}");
        assert_eq!(d.depth, 0);
    }

    #[test]
    fn limits_read_in_the_largest_whole_unit() {
        let at = |n| limit(ServeOptions::new().with_max_line_bytes(n));
        assert_eq!(at(64 << 20), "64 MiB");
        assert_eq!(at(1536), "1536 bytes");
        assert_eq!(at(2048), "2 KiB");
        assert_eq!(at(1000), "1000 bytes");
    }
}
