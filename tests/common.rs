//! Shared helpers: running the binary, reading golden data, comparing
//! decimals the way `tests/data/README`-style conformance files ask.

use std::io::Write;
use std::process::{Command, Stdio};

use meterprice::Exact;
use serde_json::Value;

/// Golden data bundled with the tests (copied from `shared/conformance`).
pub fn data(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Output of one run of the real binary.
pub struct Run {
    pub lines: Vec<Value>,
    /// The output lines as text (cents beyond 64 bits do not survive `Value`).
    pub raw: Vec<String>,
    pub status: i32,
    pub stderr: String,
}

/// Runs `meterprice ARGS` with `stdin` and parses every output line.
pub fn run(args: &[&str], stdin: &str) -> Run {
    run_bytes(args, stdin.as_bytes())
}

/// `meterprice ARGS` started with its input and output piped.
fn spawn(args: &[&str], stdout: Stdio, stderr: Stdio) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_meterprice"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("spawn meterprice")
}

/// Runs `meterprice ARGS` with `stdin` (bytes, which need not be UTF-8)
/// and standard output `stdout`; its output as it came.
pub fn output_to(args: &[&str], stdin: &[u8], stdout: Stdio) -> std::process::Output {
    let mut child = spawn(args, stdout, Stdio::piped());
    let mut input = child.stdin.take().expect("stdin");
    let bytes = stdin.to_vec();
    // Write from another thread so a large input cannot deadlock on a full pipe.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    out
}

/// Runs `meterprice ARGS` with `stdin`; its output as it came.
pub fn output(args: &[&str], stdin: &[u8]) -> std::process::Output {
    output_to(args, stdin, Stdio::piped())
}

/// Runs `meterprice ARGS` with `stdin` given as bytes (which need not be
/// UTF-8) and parses every output line.
pub fn run_bytes(args: &[&str], stdin: &[u8]) -> Run {
    let out = output(args, stdin);
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    Run {
        raw: stdout.lines().map(str::to_string).collect(),
        lines: stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect(),
        status: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `meterprice ARGS` kept running, its input open: requests go in one at a
/// time and result lines come out as the binary writes them.
pub struct Coprocess {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Coprocess {
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = spawn(args, Stdio::piped(), Stdio::null());
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    /// The process id (to look at its memory while it runs).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Writes bytes to the binary's input, which stays open.
    pub fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("input still open");
        stdin.write_all(bytes).expect("write to meterprice");
        stdin.flush().expect("flush to meterprice");
    }

    /// The next result line, or `None` if none came within a minute (a
    /// generous bound: only a binary that waits for more input misses it).
    pub fn next_line(&self) -> Option<String> {
        self.lines
            .recv_timeout(std::time::Duration::from_secs(60))
            .ok()
    }

    /// Closes the input and waits for the exit status.
    pub fn finish(mut self) -> i32 {
        drop(self.stdin.take());
        self.child
            .wait()
            .expect("wait for meterprice")
            .code()
            .unwrap_or(-1)
    }
}

impl Drop for Coprocess {
    fn drop(&mut self) {
        // A failed test must not leave the binary waiting for input.
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Rates request objects in one batch through the binary.
pub fn rate_batch(requests: &[Value]) -> Vec<Value> {
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let run = run(&["rate"], &input);
    assert_eq!(
        run.lines.len(),
        requests.len(),
        "one result per request; stderr: {}",
        run.stderr
    );
    run.lines
}

/// A decimal string as an `Exact`, cut to 28 fractional digits (only the
/// long quotients of the golden files have more; the cut moves them by
/// less than 1e-28, far inside their 1e-20 tolerance).
pub fn exact(text: &str) -> Exact {
    let t = text.trim();
    let cut = match t.find('.') {
        Some(dot) if t.len() - dot - 1 > 28 => &t[..dot + 29],
        _ => t,
    };
    cut.parse()
        .unwrap_or_else(|_| panic!("not a decimal: {text}"))
}

/// Exact equality of two decimal strings.
pub fn same(expected: &str, actual: &str) -> bool {
    exact(expected) == exact(actual)
}

/// Quotient tolerance of the conformance files: relative difference at
/// most 1e-20, or absolute at most 1e-20 below 1.
pub fn close(expected: &str, actual: &str) -> bool {
    let (e, a) = (exact(expected), exact(actual));
    let Some(diff) = e.checked_sub(a) else {
        return false;
    };
    let diff = if diff.is_negative() { -diff } else { diff };
    let e_abs = if e.is_negative() { -e } else { e };
    let tolerance: Exact = "0.00000000000000000001".parse().unwrap();
    if e_abs < Exact::ONE {
        return diff <= tolerance;
    }
    let scale: Exact = "100000000000000000000".parse().unwrap();
    diff.checked_mul(scale).is_some_and(|d| d <= e_abs)
}

/// Checks `expected` is a subset of `actual` as the fee-cases README says:
/// listed keys must match, decimals compare as numbers (25+ significant
/// digits: within 1e-20 relative), `{}`/`[]` mean empty, and `error.details`
/// entries must each match some actual entry.
pub fn subset(expected: &Value, actual: &Value, path: &str, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            if e.is_empty() && !a.is_empty() {
                errors.push(format!("{path}: expected {{}}, got {actual}"));
            }
            for (k, ev) in e {
                let Some(av) = a.get(k) else {
                    errors.push(format!("{path}.{k}: missing"));
                    continue;
                };
                if k == "details" && path.ends_with("error") {
                    for item in ev.as_array().into_iter().flatten() {
                        let found = av.as_array().into_iter().flatten().any(|x| {
                            let mut errs = Vec::new();
                            subset(item, x, "", &mut errs);
                            errs.is_empty()
                        });
                        if !found {
                            errors.push(format!("{path}.details: no entry matches {item}"));
                        }
                    }
                    continue;
                }
                subset(ev, av, &format!("{path}.{k}"), errors);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!(
                    "{path}: {} elements expected, got {}",
                    e.len(),
                    a.len()
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{path}[{i}]"), errors);
            }
        }
        (Value::String(e), Value::String(a)) if looks_decimal(e) => {
            let significant = e
                .trim_start_matches(['-', '0', '.'])
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            let ok = if significant >= 25 {
                close(e, a)
            } else {
                same(e, a)
            };
            if !ok {
                errors.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        (e, a) => {
            if e != a {
                errors.push(format!("{path}: expected {e}, got {a}"));
            }
        }
    }
}

/// Whether a golden string is a decimal (digits, one point, a sign).
fn looks_decimal(s: &str) -> bool {
    let t = s.trim().trim_start_matches('-');
    !t.is_empty()
        && t.bytes().any(|b| b.is_ascii_digit())
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}
