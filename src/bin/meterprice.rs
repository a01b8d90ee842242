//! `meterprice`: the command-line face of the engine (docs/rating-json.md).
//! Every command speaks JSON Lines through [`meterprice::serve`]; this file
//! only reads the arguments and turns the outcome into an exit status.

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use meterprice::{
    Outcome, ServeError, ServeOptions, aggregate_json, explore_json, rate_json, serve, usage_json,
};

/// A JSON Lines command: one handler answers one request.
struct Command {
    name: &'static str,
    /// The command's own part of `--help`.
    help: &'static str,
    handler: fn(&str, &mut Vec<u8>, bool) -> Outcome,
}

/// Every command of the binary: a new one is one entry.
const COMMANDS: &[Command] = &[
    Command {
        name: "rate",
        help: RATE_HELP,
        handler: rate_json,
    },
    Command {
        name: "explore",
        help: EXPLORE_HELP,
        handler: explore_json,
    },
    Command {
        name: "usage",
        help: USAGE_HELP,
        handler: usage_json,
    },
    Command {
        name: "aggregate",
        help: AGGREGATE_HELP,
        handler: aggregate_json,
    },
];

const USAGE: &str = "\
Usage: meterprice COMMAND [FILE|-] [--pretty] [--max-line-bytes N]
       meterprice explore [FILE|-] --svg OUT.svg
       meterprice COMMAND --help
       meterprice --help | --version
Commands: rate, explore, usage, aggregate.
";

const RATE_HELP: &str = "\
meterprice rate [FILE|-] [--pretty] [--max-line-bytes N]

Prices rating requests with Lago's charge models, exactly.

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

Example:
  echo '{\"currency\":\"EUR\",\"charge\":{\"charge_model\":\"standard\",\"properties\":{\"amount\":\"0.5\"}},\"usage\":{\"units\":\"3\"}}' | meterprice rate
";

const AGGREGATE_HELP: &str = "\
meterprice aggregate [FILE|-] [--pretty] [--max-line-bytes N]

Lago's billable-metric aggregation: raw events to the usage buckets that
'rate' prices (docs/aggregate-json.md, rules in docs/aggregation.md).

Request: {\"id\": any,
          \"billable_metric\": {\"code\", \"aggregation_type\": \"count_agg|sum_agg|max_agg|
              unique_count_agg|latest_agg|weighted_sum_agg\", \"field_name\", \"recurring\",
              \"rounding_function\", \"rounding_precision\", \"expression\", \"filters\": [...]},
          \"period\": {\"from_datetime\", \"to_datetime\", \"charges_duration\", \"timezone\"},
          \"events\": [{\"transaction_id\", \"timestamp\": 1709251200 or \"2024-03-01T00:00:00Z\",
                      \"properties\": {...}, \"precise_total_amount_cents\"}],
          \"charge\": {\"charge_model\", \"prorated\", \"pay_in_advance\"},
          \"charge_filters\": [{\"values\": {...}, \"pricing_group_keys\": [...]}],
          \"pricing_group_keys\": [...], \"options\": {\"free_units_per_events\",
          \"free_units_per_total_aggregation\", \"is_current_usage\", \"is_pay_in_advance\",
          \"strict_filters\"}, \"pay_in_advance_event\": {...}, \"cached_aggregations\": [...],
          \"weighted_sum_initial\", \"per_event\": {}}
Result:  {\"id\", \"buckets\": [{\"bucket\": \"default|filter:<i>|filter\", \"grouped_by\": {..}|null,
          \"aggregation\": \"4\", \"count\": 4, ...the fields pricing reads}],
          \"warnings\": [...], \"rejected_events\": [{\"transaction_id\", \"index\", \"code\", \"message\"}]}
A bad event is listed in rejected_events (invalid_event, invalid_timestamp,
duplicate_transaction_id, expression_evaluation_failed, arithmetic_overflow)
and every other event still counts; a bad request gets an error record.
";

const EXPLORE_HELP: &str = "\
meterprice explore [FILE|-] [--pretty] [--svg OUT.svg]

Answers price questions about one charge (docs/explore-json.md):
  {\"currency\", \"charge\", \"usage\": template without units,
   \"budget\": {\"budget_cents\": 1000, \"units_step\": \"1\", \"including_taxes\": false},
   \"curve\": {\"up_to\": \"20\", \"max_pieces\": 10000},
   \"break_even\": {\"charge\": {...}, \"up_to\": \"20\", \"units_step\": \"1\"}}
  -> {\"budget\": {\"max_units\", \"cost_cents\", \"next_units\", \"next_cost_cents\",
      \"unbounded\", \"max_units_any\", \"unbounded_any\", ...},
      \"curve\": {\"pieces\": [...], \"points\": [...]}, \"break_even\": {\"intervals\": [...]}}
  --svg OUT.svg  draws the one request of the input (curve, break-even, budget)
";

const USAGE_HELP: &str = "\
meterprice usage [FILE|-] [--pretty]

Prices a whole plan for one subscription's period into Lago's customer usage
object (the current_usage endpoint), exactly.

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
  events are aggregated per charge (aggregation.md); a charge given buckets
  ignores them. Billing run: meterprice usage --plan PLAN.json --from T --to T
  [--charges-duration N] [--quiet] EVENTS.jsonl (usage-json.md).
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

Example:
  meterprice usage examples/usage.jsonl
";

const COMMON_HELP: &str = "\
Input: one JSON object, or JSON Lines (one request per line; blank lines are
ignored; a UTF-8 byte-order mark before the first request is skipped).
FILE '-' or no FILE reads standard input.
Output: one JSON result per request, in input order, one per line, written
as soon as the input has no more bytes ready (a caller may keep the command
running and write one request at a time).
  --pretty             indent the result of a single-object input
  --max-line-bytes N   the longest request in bytes: a line, or the one object
                       of a single-object input (default 67108864, 64 MiB). A
                       longer one is skipped without being held in memory and
                       answered with one parse_error (\"line N exceeds 64 MiB\");
                       the requests around it are answered as usual. A line
                       that is not UTF-8 is a parse_error too.

Exit status: 0 every request answered without error, 1 at least one error
result, 2 input unreadable (missing file, bad arguments, a failed read, closed
standard input), 3 output unwritable (closed standard output, full disk, a
closed pipe); 2 and 3 come with a message on standard error, after every
result computed so far was written.
";

fn main() -> ExitCode {
    if closed_at_start(1) {
        eprintln!("meterprice: cannot write the output: standard output is closed");
        return ExitCode::from(3);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args
        .iter()
        .find_map(|a| COMMANDS.iter().find(|c| c.name == a.as_str()));
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return write_stdout(&help(command));
    }
    if args.iter().any(|a| a == "--version" || a == "-V") {
        return write_stdout(&format!("meterprice {}\n", env!("CARGO_PKG_VERSION")));
    }
    if args.first().is_some_and(|a| a == "usage")
        && args
            .iter()
            .any(|a| a == "--plan" || a.starts_with("--plan="))
    {
        return billing(&args);
    }
    let Args {
        command,
        file,
        options,
        svg,
    } = match parse(&args) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("meterprice: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (input, name): (Box<dyn Read>, &str) = if file == "-" {
        if closed_at_start(0) {
            eprintln!("meterprice: cannot read standard input: it is closed");
            return ExitCode::from(2);
        }
        (Box::new(io::stdin().lock()), "standard input")
    } else {
        match std::fs::File::open(file) {
            Ok(f) => (Box::new(f), file),
            Err(e) => {
                eprintln!("meterprice: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    if let Some(path) = svg {
        return draw_svg(input, path, &options);
    }
    let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match serve(input, out, &options, command.handler) {
        Ok(summary) if summary.all_priced() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(ServeError::Read(e)) => {
            eprintln!("meterprice: cannot read {name}: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("meterprice: {e}");
            ExitCode::from(3)
        }
    }
}

/// What the arguments ask for.
struct Args<'a> {
    command: &'static Command,
    /// `-` for standard input.
    file: &'a str,
    options: ServeOptions,
    /// `explore --svg OUT.svg`: a picture instead of JSON Lines.
    svg: Option<&'a str>,
}

/// The command, its input and its options, or why the arguments are wrong.
fn parse(args: &[String]) -> Result<Args<'_>, String> {
    let mut options = ServeOptions::new();
    let mut positional = Vec::new();
    let mut svg = None;
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a.as_str(), None),
        };
        match flag {
            "--pretty" if inline.is_none() => options = options.with_pretty(true),
            "--svg" => {
                let path = inline.or_else(|| rest.next().map(String::as_str));
                svg = Some(path.ok_or("--svg needs a FILE")?);
            }
            "--max-line-bytes" => {
                let value = inline.or_else(|| rest.next().map(String::as_str));
                let bytes = value
                    .and_then(|v| v.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        format!("--max-line-bytes takes a number of bytes > 0, got {value:?}")
                    })?;
                options = options.with_max_line_bytes(bytes);
            }
            s if s.starts_with("--") => return Err(format!("unknown flag {a}")),
            _ => positional.push(a.as_str()),
        }
    }
    let (name, file) = match positional.as_slice() {
        [] => return Err("missing command".into()),
        [name] => (*name, "-"),
        [name, file] => (*name, *file),
        _ => return Err("expected one command and at most one FILE".into()),
    };
    let command = COMMANDS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("unknown command {name:?}"))?;
    if svg.is_some() && command.name != "explore" {
        return Err("--svg is an option of explore".into());
    }
    Ok(Args {
        command,
        file,
        options,
        svg,
    })
}

/// `explore --svg FILE`: draws the one request of the input.
#[cfg(feature = "plot")]
fn draw_svg(input: Box<dyn Read>, path: &str, options: &ServeOptions) -> ExitCode {
    let mut text = String::new();
    // The request limit holds here too: a byte beyond it is not read.
    let limit = u64::try_from(options.max_line_bytes).unwrap_or(u64::MAX);
    if let Err(e) = input
        .take(limit.saturating_add(1))
        .read_to_string(&mut text)
    {
        eprintln!("meterprice: cannot read the request: {e}");
        return ExitCode::from(2);
    }
    if text.len() > options.max_line_bytes {
        eprintln!(
            "meterprice: the request exceeds --max-line-bytes {}",
            options.max_line_bytes
        );
        return ExitCode::from(1);
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
fn draw_svg(_: Box<dyn Read>, _: &str, _: &ServeOptions) -> ExitCode {
    eprintln!("meterprice: --svg needs the `plot` feature");
    ExitCode::from(2)
}

/// `--help`: one command's, or every command's.
fn help(command: Option<&Command>) -> String {
    let commands: Vec<&Command> = match command {
        Some(c) => vec![c],
        None => COMMANDS.iter().collect(),
    };
    let mut text = String::from(USAGE);
    for c in commands {
        text.push('\n');
        text.push_str(c.help);
    }
    text.push('\n');
    text.push_str(COMMON_HELP);
    text
}

/// Writes `text` to standard output; a failure (a full disk, a closed pipe)
/// is reported, never a panic.
fn write_stdout(text: &str) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meterprice: cannot write the output: {e}");
            ExitCode::from(3)
        }
    }
}

/// Whether standard stream `fd` was closed when the process started. Rust's
/// runtime then opens `/dev/null` read-write in its place, so reads would
/// see an empty input and writes would vanish with exit status 0; a shell's
/// `</dev/null` or `>/dev/null` opens it one way only. Linux (through
/// `/proc`); elsewhere `false`.
fn closed_at_start(fd: u8) -> bool {
    let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
        return false;
    };
    if target != std::path::Path::new("/dev/null") {
        return false;
    }
    let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
        return false;
    };
    // O_ACCMODE is 0o3, O_RDWR 0o2.
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 == 0o2)
}

/// `meterprice usage --plan PLAN.json --from T --to T [--charges-duration N]
/// [--quiet] [EVENTS.jsonl|-]`: the billing run (usage-json.md).
fn billing(args: &[String]) -> ExitCode {
    let fail = |why: String| {
        eprintln!("meterprice: {why}\n\n{USAGE}");
        ExitCode::from(2)
    };
    let mut flags: Vec<(&str, &str)> = Vec::new();
    let (mut quiet, mut file) = (false, "-");
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--quiet" => quiet = true,
            f @ ("--plan" | "--from" | "--to" | "--charges-duration") => match rest.next() {
                Some(v) => flags.push((f, v)),
                None => return fail(format!("{f} needs a value")),
            },
            f if f.starts_with("--") => match f.split_once('=') {
                Some((k, v)) => flags.push((k, v)),
                None => return fail(format!("unknown option {f}")),
            },
            path => file = path,
        }
    }
    let get = |k: &str| flags.iter().rev().find(|(f, _)| *f == k).map(|(_, v)| *v);
    let (Some(plan_path), Some(from), Some(to)) = (get("--plan"), get("--from"), get("--to"))
    else {
        return fail("a billing run needs --plan, --from and --to".into());
    };
    let plan = match std::fs::read_to_string(plan_path) {
        Ok(p) => p,
        Err(e) => return fail(format!("cannot read {plan_path}: {e}")),
    };
    let mut opts = meterprice::BillingRunOptions::new(plan, from, to);
    if let Some(d) = get("--charges-duration") {
        match d.parse::<u32>() {
            Ok(n) if n > 0 => opts.charges_duration = Some(n),
            _ => {
                return fail(format!(
                    "--charges-duration {d:?} is not a whole number of days ≥ 1"
                ));
            }
        }
    }
    opts.progress = !quiet && std::io::IsTerminal::is_terminal(&io::stderr());
    let input: Box<dyn io::BufRead> = if file == "-" {
        Box::new(io::stdin().lock())
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(io::BufReader::with_capacity(1 << 20, f)),
            Err(e) => {
                eprintln!("meterprice: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match meterprice::billing_run(&opts, input, out, io::stderr().lock()) {
        Ok(s) if s.errors == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("meterprice: {e}");
            ExitCode::from(e.exit_status())
        }
    }
}
