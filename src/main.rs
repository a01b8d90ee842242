//! `meterprice`: the command-line face of the engine (docs/rating-json.md).
//! Every command speaks JSON Lines through [`meterprice::serve`]; this file
//! only reads the arguments and turns the outcome into an exit status.

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use meterprice::{Outcome, ServeError, ServeOptions, rate_json, serve};

/// A JSON Lines command: one handler answers one request.
struct Command {
    name: &'static str,
    /// The command's own part of `--help`.
    help: &'static str,
    handler: fn(&str, &mut Vec<u8>, bool) -> Outcome,
}

/// Every command of the binary: a new one is one entry.
const COMMANDS: &[Command] = &[Command {
    name: "rate",
    help: RATE_HELP,
    handler: rate_json,
}];

const USAGE: &str = "\
Usage: meterprice COMMAND [FILE|-] [--pretty] [--max-line-bytes N]
       meterprice COMMAND --help
       meterprice --help | --version
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
    let (command, file, options) = match parse(&args) {
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

/// The command, its input and its options, or why the arguments are wrong.
fn parse(args: &[String]) -> Result<(&'static Command, &str, ServeOptions), String> {
    let mut options = ServeOptions::new();
    let mut positional = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a.as_str(), None),
        };
        match flag {
            "--pretty" if inline.is_none() => options = options.with_pretty(true),
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
    Ok((command, file, options))
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
