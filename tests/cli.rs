//! The `meterprice rate` binary: the contract's error codes, exit statuses,
//! ordering, input modes and number exactness; its input and output edges
//! (line limits, invalid UTF-8, a byte-order mark, pretty output, output
//! failures, co-process use).

use serde_json::{Value, json};

use crate::common::{Coprocess, output, output_to, run, run_bytes};

fn standard(id: &str, amount: &str, units: &str) -> String {
    json!({"id": id, "currency": "EUR",
           "charge": {"charge_model": "standard", "properties": {"amount": amount}},
           "usage": {"units": units, "events_count": 1}})
    .to_string()
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn each_error_code_with_its_trigger() {
    let lines = [
        // Not JSON at all.
        r#"{"id": "p1", "currency": "#.to_string(),
        // JSON, but a count given as a string: parse_error with the id echoed.
        r#"{"id": "p2", "currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": "1"}}, "usage": {"units": "1", "events_count": "3"}}"#.to_string(),
        // A rule broken inside properties.
        standard("v1", "-1", "1"),
        // Lago's custom model.
        r#"{"id": "u1", "currency": "EUR", "charge": {"charge_model": "custom", "properties": {}}, "usage": {"units": "1"}}"#.to_string(),
        // 1e27 units × 1e10 = 1e37 ≥ 2^96.
        standard("o1", "10000000000", "1000000000000000000000000000"),
        // Negative events_count.
        r#"{"id": "i1", "currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": "1"}}, "usage": {"units": "1", "events_count": -1}}"#.to_string(),
    ];
    let out = run(&["rate"], &(lines.join("\n") + "\n"));
    assert_eq!(out.status, 1);
    let codes: Vec<&str> = out.lines.iter().map(error_code).collect();
    assert_eq!(
        codes,
        [
            "parse_error",
            "parse_error",
            "validation_error",
            "unsupported",
            "arithmetic_overflow",
            "invalid_usage"
        ]
    );
    // A non-JSON line has no id to echo; every other line echoes it.
    assert!(out.lines[0].get("id").is_none());
    let ids: Vec<&Value> = out.lines[1..].iter().map(|l| &l["id"]).collect();
    assert_eq!(
        ids,
        [
            &json!("p2"),
            &json!("v1"),
            &json!("u1"),
            &json!("o1"),
            &json!("i1")
        ]
    );
    // Messages say where: line and column for a parse error, the field path.
    let m0 = out.lines[0]["error"]["message"].as_str().unwrap_or("");
    assert!(m0.contains("line 1") && m0.contains("column"), "{m0}");
    let m1 = out.lines[1]["error"]["message"].as_str().unwrap_or("");
    assert!(m1.contains("usage.events_count"), "{m1}");
    assert_eq!(
        out.lines[2]["error"]["details"],
        json!([{"field": "amount", "code": "invalid_amount",
        "message": "amount must be a decimal >= 0, got \"-1\""}])
    );
}

#[test]
fn exit_status_is_0_1_or_2() {
    assert_eq!(run(&["rate"], &(standard("a", "1", "2") + "\n")).status, 0);
    assert_eq!(run(&["rate"], "not json\n").status, 1);
    let missing = run(&["rate", "/nonexistent/requests.jsonl"], "");
    assert_eq!(missing.status, 2);
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);
    assert_eq!(run(&["rate", "--no-such-flag"], "").status, 2);
    assert_eq!(run(&[], "").status, 2);
}

#[test]
fn mixed_lines_keep_order_and_lose_nothing() {
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..200 {
        if i % 7 == 3 {
            input.push_str("{broken\n");
            expected.push(None);
        } else if i % 11 == 5 {
            input.push_str("\n   \n"); // blank lines give no result
            input.push_str(&standard(&format!("r{i}"), "-2", "1"));
            input.push('\n');
            expected.push(Some((format!("r{i}"), None)));
        } else {
            input.push_str(&standard(&format!("r{i}"), "0.5", &i.to_string()));
            input.push('\n');
            // i × 0.5 EUR = 50·i cents.
            expected.push(Some((format!("r{i}"), Some(50 * i))));
        }
    }
    let out = run(&["rate"], &input);
    assert_eq!(out.lines.len(), expected.len());
    assert_eq!(out.status, 1);
    for (line, exp) in out.lines.iter().zip(&expected) {
        match exp {
            None => assert_eq!(error_code(line), "parse_error"),
            Some((id, None)) => {
                assert_eq!(line["id"], json!(id));
                assert_eq!(error_code(line), "validation_error");
            }
            Some((id, Some(cents))) => {
                assert_eq!(line["id"], json!(id));
                assert_eq!(line["amount_cents"], json!(cents));
            }
        }
    }
}

#[test]
fn file_and_stdin_give_the_same_results() {
    let path = std::env::temp_dir().join(format!("meterprice-cli-{}.jsonl", std::process::id()));
    let input = format!(
        "{}\n{}\n",
        standard("a", "1.5", "3"),
        standard("b", "2", "0.25")
    );
    std::fs::write(&path, &input).unwrap();
    let from_file = run(&["rate", path.to_str().unwrap()], "");
    let from_stdin = run(&["rate", "-"], &input);
    let implicit = run(&["rate"], &input);
    std::fs::remove_file(&path).ok();
    assert_eq!(from_file.raw, from_stdin.raw);
    assert_eq!(from_file.raw, implicit.raw);
    // 3 × 1.5 = 4.5 EUR → 450; 0.25 × 2 = 0.5 → 50.
    assert_eq!(from_file.lines[0]["amount_cents"], json!(450));
    assert_eq!(from_file.lines[1]["amount_cents"], json!(50));
}

#[test]
fn pretty_indents_a_single_object_even_over_several_lines() {
    let request: Value = serde_json::from_str(&standard("p", "2", "3")).unwrap();
    let spread = serde_json::to_string_pretty(&request).unwrap();
    assert!(spread.lines().count() > 5);
    let out = output(&["rate", "--pretty", "-"], spread.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 5, "indented: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["amount_cents"], json!(600)); // 3 × 2 EUR
    // Without --pretty the same multi-line object gives one compact line.
    let compact = run(&["rate"], &spread);
    assert_eq!(compact.raw.len(), 1);
    assert_eq!(compact.lines[0]["amount_cents"], json!(600));
}

#[test]
fn json_numbers_are_read_exactly() {
    // 0.1 as a JSON number, 3 units: exactly 0.3 (binary floats give 0.30000000000000004).
    let line = r#"{"currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": 0.1}}, "usage": {"units": 3}}"#;
    let out = run(&["rate"], &format!("{line}\n"));
    assert_eq!(out.lines[0]["fees"][0]["amount"], json!("0.3"));
    // 1e-7 per unit × 1e7 units = 1 exactly, in plain notation.
    let line = r#"{"currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": 1e-7}}, "usage": {"units": 10000000}}"#;
    let out = run(&["rate"], &format!("{line}\n"));
    assert_eq!(out.lines[0]["fees"][0]["amount"], json!("1"));
    assert_eq!(
        out.lines[0]["fees"][0]["precise_unit_amount"],
        json!("0.0000001")
    );
    // Outputs are normalized plain decimals: no exponent notation.
    let exponents: Vec<&str> = out.raw[0]
        .split('"')
        .filter(|s| s.contains('e') && s.chars().all(|c| c.is_ascii_digit() || "e.-+".contains(c)))
        .collect();
    assert!(
        exponents.is_empty(),
        "exponent notation in output: {exponents:?}"
    );
}

#[test]
fn help_summarises_the_contract() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meterprice"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "rate [FILE|-]",
        "--pretty",
        "validation_error",
        "invalid_usage",
        "Exit status",
    ] {
        assert!(text.contains(needle), "help lacks {needle}");
    }
}

#[test]
fn requests_must_be_objects_and_ids_echo_on_one_line() {
    // A top-level array (which a derived reader would take field by field)
    // and a charge given as an array are parse errors.
    let lines = [
        r#"["x", "EUR", {"charge_model": "standard"}, {"units": "1"}]"#,
        r#"{"id": "c", "currency": "EUR", "charge": ["standard", {"amount": "1"}], "usage": {"units": "1"}}"#,
    ];
    let out = run(&["rate"], &(lines.join("\n") + "\n"));
    assert_eq!(out.lines.len(), 2);
    assert!(out.lines.iter().all(|l| error_code(l) == "parse_error"));
    assert_eq!(out.lines[1]["id"], json!("c"));
    // An id spread over several lines of a single-object input is echoed
    // without its line breaks, so the output stays one line per result.
    let input = "{\"id\": [1,\n  2],\n \"currency\": \"EUR\", \"charge\": {\"charge_model\": \"standard\",\n \"properties\": {\"amount\": \"1\"}}, \"usage\": {\"units\": \"2\"}}\n";
    let out = run(&["rate"], input);
    assert_eq!(out.raw.len(), 1);
    assert_eq!(out.lines[0]["id"], json!([1, 2]));
    assert_eq!(out.lines[0]["amount_cents"], json!(200));
}

fn priced_cents(v: &Value) -> Option<i64> {
    v.get("fees").and(v["amount_cents"].as_i64())
}

fn message(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or("")
}

/// A line over `--max-line-bytes` is one parse_error; the lines around it
/// are priced. (Fails before this change: the flag did not exist, and a
/// long line was read whole.)
#[test]
fn an_oversized_line_is_one_error_between_priced_lines() {
    let long = standard(&"x".repeat(5000), "1", "1");
    let input = format!(
        "{}\n{long}\n{}\n",
        standard("a", "0.5", "3"),
        standard("b", "2", "2")
    );
    let out = run(&["rate", "--max-line-bytes", "1024"], &input);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert_eq!(out.lines.len(), 3);
    assert_eq!(priced_cents(&out.lines[0]), Some(150)); // 3 × 0.5 EUR
    assert_eq!(error_code(&out.lines[1]), "parse_error");
    assert_eq!(message(&out.lines[1]), "line 2 exceeds 1 KiB");
    assert!(out.lines[1].get("id").is_none());
    assert_eq!(priced_cents(&out.lines[2]), Some(400)); // 2 × 2 EUR
    // The same long line is priced under the default limit (64 MiB).
    let out = run(&["rate"], &input);
    assert_eq!(out.status, 0);
    assert_eq!(priced_cents(&out.lines[1]), Some(100));
    // `--max-line-bytes=N` is the same flag; a limit must be a number > 0.
    let out = run(&["rate", "--max-line-bytes=1024"], &input);
    assert_eq!(message(&out.lines[1]), "line 2 exceeds 1 KiB");
    for bad in ["0", "-1", "lots"] {
        let out = run(&["rate", "--max-line-bytes", bad], &input);
        assert_eq!(out.status, 2, "--max-line-bytes {bad}");
        assert!(out.stderr.contains("--max-line-bytes"), "{}", out.stderr);
    }
}

/// Peak resident memory of a running process, in KiB (Linux).
fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A 128 MiB line under a 1 MiB limit is skipped as it streams by: the
/// process never holds it (peak memory far below its size), and the request
/// after it is priced. (Fails before this change: the line was read whole,
/// and the flag did not exist.)
#[test]
fn an_oversized_line_is_not_held_in_memory() {
    let mut co = Coprocess::spawn(&["rate", "--max-line-bytes", "1048576"]);
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..128 {
        co.send(&chunk);
    }
    co.send(b"\n");
    co.send(standard("after", "1", "7").as_bytes());
    co.send(b"\n");
    let error: Value = serde_json::from_str(&co.next_line().expect("an error record")).unwrap();
    assert_eq!(message(&error), "line 1 exceeds 1 MiB");
    let after: Value = serde_json::from_str(&co.next_line().expect("a result")).unwrap();
    assert_eq!(priced_cents(&after), Some(700));
    if let Some(peak) = peak_memory_kib(co.id()) {
        assert!(
            peak < 64 * 1024,
            "peak memory {peak} KiB for a 128 MiB line"
        );
    }
    assert_eq!(co.finish(), 1);
}

/// A line that is not UTF-8 is a parse_error of its own: it is not repaired
/// into another value. (Fails before this change: `\xff` and `\xfe` were
/// both repaired to U+FFFD, so the bucket's `\xff` selected the filter for
/// `\xfe` and the line was priced.)
#[test]
fn invalid_utf8_is_a_parse_error_for_its_line() {
    let mut input = Vec::new();
    input.extend_from_slice(
        br#"{"id": "bad", "currency": "EUR", "charge": {"charge_model": "standard", "properties": {"amount": "1"}, "filters": [{"values": {"region": [""#,
    );
    input.push(0xfe);
    input.extend_from_slice(
        br#""]}, "properties": {"amount": "5"}}]}, "usage": {"units": "2", "filter": {"region": [""#,
    );
    input.push(0xff);
    input.extend_from_slice(b"\"]}}}\n");
    let column = input.iter().position(|b| *b == 0xfe).unwrap() + 1;
    input.extend_from_slice(standard("good", "1", "3").as_bytes());
    input.push(b'\n');
    let out = run_bytes(&["rate"], &input);
    assert_eq!(out.status, 1);
    assert_eq!(out.lines.len(), 2);
    assert_eq!(error_code(&out.lines[0]), "parse_error");
    assert_eq!(
        message(&out.lines[0]),
        format!("line 1, column {column}: invalid UTF-8")
    );
    assert_eq!(priced_cents(&out.lines[1]), Some(300));
}

/// A UTF-8 byte-order mark before the first request is skipped, for JSON
/// Lines and for a single pretty-printed object. (Fails before this change:
/// the first request was a parse_error.)
#[test]
fn a_byte_order_mark_before_the_first_request_is_skipped() {
    let input = format!(
        "\u{feff}{}\n{}\n",
        standard("a", "1", "1"),
        standard("b", "1", "2")
    );
    let out = run(&["rate"], &input);
    assert_eq!(out.status, 0, "{:?}", out.raw);
    assert_eq!(out.lines[0]["id"], json!("a"));
    assert_eq!(priced_cents(&out.lines[1]), Some(200));
    let request: Value = serde_json::from_str(&standard("p", "1", "4")).unwrap();
    let spread = format!(
        "\u{feff}{}",
        serde_json::to_string_pretty(&request).unwrap()
    );
    let out = run(&["rate"], &spread);
    assert_eq!(out.status, 0, "{:?}", out.raw);
    assert_eq!(priced_cents(&out.lines[0]), Some(400));
}

/// A pretty-printed request of `n` buckets (about 70 bytes a bucket).
fn spread_request(id: &str, buckets: usize) -> String {
    let usage: Vec<Value> = (0..buckets)
        .map(|_| json!({"units": "1", "events_count": 1}))
        .collect();
    let request = json!({"id": id, "currency": "EUR",
        "charge": {"charge_model": "standard", "properties": {"amount": "1"}},
        "usage": usage});
    serde_json::to_string_pretty(&request).unwrap()
}

/// One pretty-printed object over the limit is exactly one error record,
/// and what follows it is priced. (Fails before this change: a 16 MiB
/// object was answered line by line, one error per line.)
#[test]
fn a_single_object_over_the_limit_is_one_error_record() {
    let object = spread_request("big", 200);
    assert!(object.len() > 8192 && object.lines().count() > 800);
    let input = format!("{object}\n{}\n", standard("next", "1", "5"));
    let out = run(&["rate", "--max-line-bytes", "8192"], &input);
    assert_eq!(out.status, 1);
    assert_eq!(out.lines.len(), 2, "{:?}", out.raw);
    assert_eq!(
        message(&out.lines[0]),
        "the request starting at line 1 exceeds 8 KiB"
    );
    assert_eq!(priced_cents(&out.lines[1]), Some(500));
    // Within the limit the same object is one request: 200 buckets × 1 EUR.
    let out = run(&["rate"], &input);
    assert_eq!(out.lines.len(), 2);
    assert_eq!(priced_cents(&out.lines[0]), Some(20000));
    // An object over the limit that never closes is one error too.
    let cut = &object[..object.len() / 2];
    let out = run(&["rate", "--max-line-bytes", "4096"], cut);
    assert_eq!(out.lines.len(), 1, "{:?}", out.raw);
    assert_eq!(error_code(&out.lines[0]), "parse_error");
}

/// `--pretty` output grows linearly with a deeply nested `id`. (Fails
/// before this change: each level was indented, 95 levels of 9,000
/// elements gave 97 bytes out per byte in.)
#[test]
fn pretty_output_is_linear_in_a_deep_id() {
    for depth in [10, 50, 95] {
        let id = format!(
            "{}{}{}",
            "[".repeat(depth),
            vec!["0"; 9000].join(","),
            "]".repeat(depth)
        );
        let input = format!(
            r#"{{"id": {id}, "currency": "EUR", "charge": {{"charge_model": "standard", "properties": {{"amount": "1"}}}}, "usage": {{"units": "1"}}}}"#
        );
        let out = output(&["rate", "--pretty", "-"], input.as_bytes());
        // At most 2 + 2 × 8 bytes per byte of the echoed id, plus the result.
        assert!(
            out.stdout.len() < 20 * input.len(),
            "depth {depth}: {} bytes out for {} in",
            out.stdout.len(),
            input.len()
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let echoed: Value = serde_json::from_str(&id).unwrap();
        assert_eq!(v["id"], echoed);
        assert_eq!(priced_cents(&v), Some(100));
    }
}

/// A first line that opens a bracket does not take the request lines after
/// it into one object: each is answered, even past the limit, and as it
/// comes. (Fails before this change: they were held until the input ended,
/// and the limit flag did not exist.)
#[test]
fn a_first_line_that_opens_a_bracket_does_not_swallow_the_lines_after_it() {
    for first in [
        "[",
        "{",
        r#"{"id": "broken", "currency": "EUR","#,
        r#"{"id": "a\"]"#,
    ] {
        let mut input = format!("{first}\n");
        for i in 0..50 {
            input.push_str(&standard(&format!("r{i}"), "1", &i.to_string()));
            input.push('\n');
        }
        assert!(input.len() > 4096);
        let out = run(&["rate", "--max-line-bytes", "4096"], &input);
        assert_eq!(out.lines.len(), 51, "{first}: {:?}", &out.raw[..2]);
        assert_eq!(error_code(&out.lines[0]), "parse_error", "{first}");
        for (i, line) in out.lines[1..].iter().enumerate() {
            assert_eq!(line["id"], json!(format!("r{i}")), "{first}");
            assert_eq!(priced_cents(line), Some(100 * i as i64), "{first}");
        }
    }
    // Kept running, the binary answers the request after a broken first
    // line without waiting for the end of the input.
    let mut co = Coprocess::spawn(&["rate"]);
    co.send(b"{\"id\": \"broken\",\n");
    co.send(format!("{}\n", standard("next", "1", "2")).as_bytes());
    let first: Value = serde_json::from_str(&co.next_line().expect("error record")).unwrap();
    assert_eq!(error_code(&first), "parse_error");
    let next: Value = serde_json::from_str(&co.next_line().expect("result")).unwrap();
    assert_eq!(priced_cents(&next), Some(200));
    assert_eq!(co.finish(), 1);
}

/// A caller that keeps the binary running gets each result before it
/// writes the next request. (Fails before this change: results stayed in
/// the output buffer until the input ended.)
#[test]
fn a_coprocess_gets_each_result_as_soon_as_it_is_computed() {
    let mut co = Coprocess::spawn(&["rate"]);
    for i in 1..=3u32 {
        co.send(format!("{}\n", standard(&format!("q{i}"), "1.5", &i.to_string())).as_bytes());
        let line = co.next_line().expect("a result before the next request");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["id"], json!(format!("q{i}")));
        assert_eq!(priced_cents(&v), Some(150 * i64::from(i))); // i × 1.5 EUR
    }
    assert_eq!(co.finish(), 0);
}

/// Runs the binary through `sh`, for redirections Rust cannot ask for
/// (closing a standard stream).
fn shell(script: &str, stdin: &str) -> (i32, String, String) {
    let mut child = std::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_meterprice")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Output that cannot be written ends with a message and exit status 3,
/// for results, `--help` and `--version` alike, never a panic; a closed
/// standard input is exit status 2. (Fails before this change: /dev/full
/// gave exit 2 without a message, a closed stdout exit 0 with everything
/// lost, `--help` on /dev/full panicked with 101, closed stdin exit 0.)
#[test]
fn output_that_cannot_be_written_is_exit_status_3_with_a_message() {
    let input = format!("{}\n", standard("a", "1", "1"));
    for args in [
        vec!["rate"],
        vec!["--help"],
        vec!["rate", "--help"],
        vec!["--version"],
    ] {
        let full = std::fs::File::create("/dev/full").unwrap();
        let out = output_to(&args, input.as_bytes(), full.into());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write the output"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // A closed standard output (Rust would quietly reopen it on /dev/null).
    for script in [r#"exec "$0" rate >&-"#, r#"exec "$0" --help >&-"#] {
        let (status, _, stderr) = shell(script, &input);
        assert_eq!(status, 3, "{script}: {stderr}");
        assert!(stderr.contains("standard output is closed"), "{stderr}");
    }
    // A reader that goes away: the pipe is closed before anything is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meterprice"))
        .arg("rate")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    {
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(input.repeat(100).as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the output"));
    // A closed standard input is unreadable input, not an empty one.
    let (status, stdout, stderr) = shell(r#"exec "$0" rate <&-"#, "");
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.contains("standard input"), "{stderr}");
    // While </dev/null is an empty input: nothing to answer, exit 0.
    let (status, stdout, _) = shell(r#"exec "$0" rate </dev/null"#, "");
    assert_eq!((status, stdout.as_str()), (0, ""));
}

/// `--help` per command, `--version`, and the contract's limits and exit
/// statuses in the help. (Fails before this change: no `--version`, no
/// exit status 3 or limit in the help.)
#[test]
fn help_per_command_version_and_documented_limits() {
    let version = output(&["--version"], b"");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("meterprice {}\n", env!("CARGO_PKG_VERSION"))
    );
    let rate_help = output(&["rate", "--help"], b"");
    assert!(rate_help.status.success());
    let text = String::from_utf8_lossy(&rate_help.stdout);
    for needle in [
        "meterprice rate [FILE|-]",
        "--max-line-bytes N",
        "64 MiB",
        "3 output unwritable",
        "2 input unreadable",
        "byte-order mark",
    ] {
        assert!(text.contains(needle), "rate --help lacks {needle}");
    }
}

/// A directory given as FILE names itself in the message, exit status 2.
/// (Fails before this change: "meterprice: Is a directory (os error 21)".)
#[test]
fn an_unreadable_file_is_named_in_the_message() {
    let dir = std::env::temp_dir();
    let path = dir.to_str().unwrap();
    let out = run(&["rate", path], "");
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains(&format!("cannot read {path}")),
        "{}",
        out.stderr
    );
}
