//! The `meterprice rate` binary: the contract's error codes, exit statuses,
//! ordering, input modes and number exactness.

use serde_json::{Value, json};

use crate::common::run;

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
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meterprice"))
        .args(["rate", "--pretty", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(spread.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
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
