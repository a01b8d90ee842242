//! `meterprice`: the command-line face of the engine (rating-json.md).

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

use meterprice::{Outcome, explore_json, rate_json, usage_json};

/// A command's request handler: one request in, its result line out.
type Handler = fn(&str, &mut Vec<u8>, bool) -> Outcome;

const HELP: &str = "\
meterprice rate [FILE|-] [--pretty]
meterprice explore [FILE|-] [--pretty] [--svg OUT.svg]
meterprice usage [FILE|-] [--pretty]   (meterprice usage --help)

rate: prices rating requests with Lago's charge models, exactly.
explore: answers price questions about one charge (docs/explore-json.md):
  {\"currency\", \"charge\", \"usage\": template without units,
   \"budget\": {\"budget_cents\": 1000, \"units_step\": \"1\", \"including_taxes\": false},
   \"curve\": {\"up_to\": \"20\", \"max_pieces\": 10000},
   \"break_even\": {\"charge\": {...}, \"up_to\": \"20\", \"units_step\": \"1\"}}
  -> {\"budget\": {\"max_units\", \"cost_cents\", \"next_units\", \"next_cost_cents\",
      \"unbounded\", \"max_units_any\", \"unbounded_any\", ...},
      \"curve\": {\"pieces\": [...], \"points\": [...]}, \"break_even\": {\"intervals\": [...]}}
  --svg OUT.svg  draws the one request of the input (curve, break-even, budget)

Input: one JSON object, or JSON Lines (one request per line; blank lines are
ignored). FILE '-' or no FILE reads standard input.
Output: one JSON result per request, in input order, one per line.
  --pretty   indent the result of a single-object input

Request: {\"id\": any, \"currency\": \"EUR\",
          \"charge\": {\"charge_model\": \"standard|graduated|graduated_percentage|
                                       package|percentage|volume|dynamic\",
                     \"properties\": {...}, \"filters\": [...], \"pay_in_advance\": false,
                     \"min_amount_cents\": 0, \"taxes\": [...], \"applied_pricing_unit\": {...}},
          \"usage\": {\"units\": \"12.5\", \"events_count\": 3, ...} or [buckets],
          \"event\": {\"value\": \"10\"}, \"period\": {\"duration_days\": 31, \"billed_days\": 31}}
Result:  {\"id\": ..., \"fees\": [...], \"true_up_fee\": null, \"fees_amount_cents\": ..,
          \"amount_cents\": .., \"taxes_amount_cents\": .., \"total_amount_cents\": ..}
Errors:  {\"id\": ..., \"error\": {\"code\": \"parse_error|validation_error|unsupported|
          arithmetic_overflow|invalid_usage\", \"message\": \"...\", \"details\": [...]}}
Decimals are JSON strings (numbers are read exactly); cents are JSON integers.

Exit status: 0 every request answered, 1 at least one error result, 2 input unreadable,\n3 output unwritable.

Example:
  echo '{\"currency\":\"EUR\",\"charge\":{\"charge_model\":\"standard\",\"properties\":{\"amount\":\"0.5\"}},\"usage\":{\"units\":\"3\"}}' | meterprice rate
";

const USAGE_HELP: &str = "\
meterprice usage [FILE|-] [--pretty]

Prices a whole plan for one subscription's period into Lago's customer usage
object (the current_usage endpoint), exactly.

Input: one JSON object, or JSON Lines (one request per line; blank lines are
ignored). FILE '-' or no FILE reads standard input.
Output: one JSON result per request, in input order, one per line.
  --pretty   indent the result of a single-object input

Request: {\"id\": any, \"currency\": \"EUR\", \"timezone\": \"Europe/Paris\",
          \"period\": {\"from_datetime\": \"2024-03-01T00:00:00Z\",
                     \"to_datetime\": \"2024-03-31T23:59:59Z\", \"charges_duration\": 31},
          \"taxes\": [{\"code\": \"vat\", \"rate\": \"20\"}],
          \"plan\": {\"charges\": [{\"code\": \"api\", \"charge_model\": \"graduated\",
                     \"properties\": {...}, \"filters\": [...], \"taxes\": [...],
                     \"billable_metric\": {\"code\": \"requests\", \"name\": \"Requests\",
                                         \"aggregation_type\": \"count_agg\"}}]},
          \"usage\": {\"api\": [{\"units\": \"4\", \"events_count\": 4,
                               \"filter\": {...}, \"grouped_by\": {...}}]},
          \"options\": {\"mode\": \"current_usage|invoice\", \"apply_taxes\": true,
                      \"legacy_groups\": false}}
  usage maps a charge code to its aggregated buckets (the rate contract's
  bucket form, plus current_usage_units, total_aggregated_units and
  presentation_breakdowns). A charge without buckets shows zero fees.
  Raw events are not aggregated yet: a request with events is 'unsupported'.
Result:  {\"id\": ..., \"customer_usage\": {\"from_datetime\", \"to_datetime\",
          \"issuing_date\", \"currency\", \"amount_cents\", \"total_amount_cents\",
          \"taxes_amount_cents\", \"lago_invoice_id\": null, \"charges_usage\": [...]},
          \"invoice\": null or {\"true_up_fees\": [...], \"amount_cents\", ...},
          \"warnings\": [], \"rejected_events\": []}
  Every bucket of every charge appears; taxes are rounded once over the whole
  object; options.legacy_groups adds each charge's older groups array.
Errors:  {\"id\": ..., \"error\": {\"code\": \"parse_error|validation_error|unsupported|
          arithmetic_overflow|invalid_usage\", \"message\": \"...\", \"details\": [...]}}
Decimals are JSON strings (numbers are read exactly); cents are JSON integers.

Exit status: 0 every request priced, 1 at least one error result, 2 input unreadable.

Example:
  meterprice usage examples/usage.jsonl
";

/// A multi-line object larger than this is not waited for: its lines are
/// rated one by one instead, so memory stays flat on any input.
const MAX_OBJECT_BYTES: usize = 16 << 20;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        let usage = args.first().is_some_and(|a| a == "usage");
        print!("{}", if usage { USAGE_HELP } else { HELP });
        return ExitCode::SUCCESS;
    }
    let mut pretty = false;
    let mut svg = None;
    let mut positional = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--pretty" => pretty = true,
            "--svg" => match rest.next() {
                Some(f) => svg = Some(f.clone()),
                None => return usage_error("--svg needs a FILE"),
            },
            s if s.starts_with("--") => return usage_error(&format!("unknown flag {s}")),
            s => positional.push(s),
        }
    }
    let (handler, file): (Handler, &str) = match positional.as_slice() {
        ["rate"] => (rate_json, "-"),
        ["rate", f] => (rate_json, *f),
        ["explore"] => (explore_json, "-"),
        ["explore", f] => (explore_json, *f),
        ["usage"] => (usage_json, "-"),
        ["usage", f] => (usage_json, *f),
        [] => return usage_error("missing command"),
        _ => return usage_error("expected: meterprice rate|explore|usage [FILE|-] [--pretty]"),
    };
    let input: Box<dyn Read> = if file == "-" {
        Box::new(io::stdin())
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("meterprice: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    if let Some(path) = svg {
        if positional.first() != Some(&"explore") {
            return usage_error("--svg is an option of explore");
        }
        return draw_svg(input, &path);
    }
    let stdout = io::stdout();
    let mut out = Tracked {
        inner: BufWriter::with_capacity(1 << 16, stdout.lock()),
        failed: false,
    };
    match run(
        BufReader::with_capacity(1 << 16, input),
        &mut out,
        pretty,
        handler,
    ) {
        Ok(all_priced) => {
            if out.flush().is_err() {
                return ExitCode::from(3);
            }
            if all_priced {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("meterprice: {e}");
            // 3: the output could not be written; 2: the input not read.
            ExitCode::from(if out.failed { 3 } else { 2 })
        }
    }
}

/// `explore --svg FILE`: draws the one request of the input.
#[cfg(feature = "plot")]
fn draw_svg(mut input: Box<dyn Read>, path: &str) -> ExitCode {
    let mut text = String::new();
    if let Err(e) = input.read_to_string(&mut text) {
        eprintln!("meterprice: cannot read the request: {e}");
        return ExitCode::from(2);
    }
    // One request: one object, on one line or over several.
    let request = text.trim();
    if request.is_empty() || serde_json::from_str::<serde::de::IgnoredAny>(request).is_err() {
        eprintln!("meterprice: --svg draws exactly one request (one JSON object)");
        return ExitCode::from(2);
    }
    let svg = match meterprice::explore_svg(request) {
        Ok(svg) => svg,
        Err(e) => {
            eprintln!("meterprice: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = std::fs::write(path, svg) {
        eprintln!("meterprice: cannot write {path}: {e}");
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

#[cfg(not(feature = "plot"))]
fn draw_svg(_: Box<dyn Read>, _: &str) -> ExitCode {
    eprintln!("meterprice: --svg needs the `plot` feature");
    ExitCode::from(2)
}

/// A writer that remembers whether a write failed (exit status 3).
struct Tracked<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.failed |= r.is_err();
        r
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.failed |= r.is_err();
        r
    }
}

fn usage_error(why: &str) -> ExitCode {
    eprintln!("meterprice: {why}\n\n{HELP}");
    ExitCode::from(2)
}

/// Bracket depth of JSON text outside strings, carried across lines.
#[derive(Default)]
struct Depth {
    depth: i64,
    in_string: bool,
    escaped: bool,
}

impl Depth {
    fn feed(&mut self, text: &str) {
        for b in text.bytes() {
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth -= 1,
                _ => {}
            }
        }
    }
}

/// Handles every request of `input` into `out`; `Ok(true)` when all priced.
/// `pretty` indents the result only when the input holds a single request,
/// so the first record is held back until the next one shows up.
fn run(
    mut input: impl BufRead,
    out: &mut impl Write,
    pretty: bool,
    handler: Handler,
) -> io::Result<bool> {
    let mut rater = Rater {
        handler,
        all_priced: true,
        buf: Vec::with_capacity(1024),
        held: None,
        records: 0,
    };
    let mut raw = Vec::with_capacity(1024);
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        // Valid UTF-8 (the norm) is borrowed as is; anything else is
        // repaired lossily and then fails to parse as JSON on its own line.
        let line = match std::str::from_utf8(&raw) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&raw),
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        // The first record may be one object spread over several lines: if
        // its brackets stay open, gather lines until they close.
        if rater.records == 0 {
            let mut depth = Depth::default();
            depth.feed(line);
            if depth.depth > 0 {
                let mut object = line.to_string();
                let mut pending = vec![line.to_string()];
                while depth.depth > 0 && object.len() < MAX_OBJECT_BYTES {
                    raw.clear();
                    if input.read_until(b'\n', &mut raw)? == 0 {
                        break;
                    }
                    let next = String::from_utf8_lossy(&raw)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    depth.feed(&next);
                    object.push('\n');
                    object.push_str(&next);
                    pending.push(next);
                }
                if depth.depth == 0
                    && serde_json::from_str::<serde::de::IgnoredAny>(&object).is_ok()
                {
                    rater.record(object, out)?;
                } else {
                    // Not one object after all: rate the lines one by one.
                    for l in pending.into_iter().filter(|l| !l.trim().is_empty()) {
                        rater.record(l, out)?;
                    }
                }
                continue;
            }
        }
        rater.record(line.to_string(), out)?;
    }
    rater.finish(out, pretty)?;
    Ok(rater.all_priced)
}

/// Rates records in order, holding the first back for `--pretty`.
struct Rater {
    handler: Handler,
    all_priced: bool,
    buf: Vec<u8>,
    held: Option<String>,
    records: u64,
}

impl Rater {
    fn record(&mut self, text: String, out: &mut impl Write) -> io::Result<()> {
        self.records += 1;
        if self.records == 1 {
            self.held = Some(text);
            return Ok(());
        }
        if let Some(first) = self.held.take() {
            self.emit(&first, false, out)?;
        }
        self.emit(&text, false, out)
    }

    fn finish(&mut self, out: &mut impl Write, pretty: bool) -> io::Result<()> {
        match self.held.take() {
            Some(first) => self.emit(&first, pretty, out),
            None => Ok(()),
        }
    }

    fn emit(&mut self, text: &str, pretty: bool, out: &mut impl Write) -> io::Result<()> {
        self.buf.clear();
        if (self.handler)(text, &mut self.buf, pretty) == Outcome::Failed {
            self.all_priced = false;
        }
        self.buf.push(b'\n');
        out.write_all(&self.buf)
    }
}
