//! Hand-worked values for the expression language (A3), one rule at a
//! time.

use super::*;

fn x(s: &str) -> Exact {
    s.parse().unwrap()
}

fn ts() -> Timestamp {
    // 2024-03-01T10:00:00.75Z: event.timestamp is 1709287200 (A3.3).
    Timestamp::parse("2024-03-01T10:00:00.75Z").unwrap()
}

/// Evaluates `text` with properties given as (name, value) pairs.
fn eval(text: &str, props: &[(&str, Value<'static>)]) -> Result<Evaluated, EvaluationError> {
    let e = Expression::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
    let names: Vec<String> = e.variables().iter().map(|v| v.to_string()).collect();
    e.evaluate("api_calls", ts(), |i| {
        let name = names.get(i)?;
        props.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    })
}

fn num(text: &str, props: &[(&str, Value<'static>)]) -> Exact {
    match eval(text, props).unwrap() {
        Evaluated::Number(n) => n,
        Evaluated::Text(t) => panic!("{text} gave the string {t:?}"),
    }
}

#[test]
fn precedence_and_associativity() {
    // * and / before + and −, left to right; unary minus tightest.
    assert_eq!(num("1 + 2 * 3", &[]), x("7"));
    assert_eq!(num("(1 + 2) * 3", &[]), x("9"));
    assert_eq!(num("10 - 4 - 3", &[]), x("3")); // (10 − 4) − 3
    assert_eq!(num("8 / 4 / 2", &[]), x("1")); // (8 / 4) / 2
    assert_eq!(num("-2 * 3", &[]), x("-6"));
    assert_eq!(num("1 - -1", &[]), x("2"));
    assert_eq!(num("-(1 + 2)", &[]), x("-3"));
    assert_eq!(num("  2.50 * 2  ", &[]), x("5"));
}

#[test]
fn division_keeps_28_significant_digits_and_never_panics() {
    // 10 / 3 = 3.333… to 28 significant digits (AD5).
    assert_eq!(num("10 / 3", &[]), x("3.333333333333333333333333333"));
    // 2 / 3 = 0.666…67, rounded on its 28th digit.
    assert_eq!(num("2 / 3", &[]), x("0.6666666666666666666666666667"));
    assert_eq!(num("1 / 8", &[]), x("0.125"));
    // QA25: Lago's core panics; AD9 rejects with a message.
    assert_eq!(eval("1 / 0", &[]), Err(EvaluationError::DivisionByZero));
    assert_eq!(
        eval("1 / (2 - 2)", &[]),
        Err(EvaluationError::DivisionByZero)
    );
}

#[test]
fn rounding_functions_take_optional_digits() {
    // round is half away from zero, ceil toward +∞, floor toward −∞.
    assert_eq!(num("round(2.5)", &[]), x("3"));
    assert_eq!(num("round(-2.5)", &[]), x("-3"));
    assert_eq!(num("ceil(-2.5)", &[]), x("-2"));
    assert_eq!(num("floor(-2.5)", &[]), x("-3"));
    assert_eq!(num("ROUND(123.456, 2)", &[]), x("123.46"));
    assert_eq!(num("Floor(123.456, 2)", &[]), x("123.45"));
    assert_eq!(num("ceil(123.451, 2)", &[]), x("123.46"));
    // Negative digits round to tens and hundreds: 123.456 → 100 / 200.
    assert_eq!(num("round(123.456, -2)", &[]), x("100"));
    assert_eq!(num("ceil(123.456, -2)", &[]), x("200"));
    assert_eq!(num("floor(-123.456, -2)", &[]), x("-200"));
    assert_eq!(num("round(150, -2)", &[]), x("200"));
    assert!(matches!(
        eval("round(1.5, 0.5)", &[]),
        Err(EvaluationError::FractionalDigits(_))
    ));
}

#[test]
fn least_greatest_and_concat() {
    assert_eq!(num("least(3, 1.5, 2)", &[]), x("1.5"));
    assert_eq!(num("GREATEST(3, -1, 2)", &[]), x("3"));
    assert_eq!(
        eval("concat('a', 1.50, '-', event.code)", &[]),
        Ok(Evaluated::Text("a1.5-api_calls".into()))
    );
    // least/greatest require decimals.
    assert_eq!(
        eval("least(1, 'x')", &[]),
        Err(EvaluationError::ExpectedDecimal)
    );
}

#[test]
fn variables_read_as_lago_passes_them() {
    let p = [
        ("ms", Value::Number("1250")),
        ("s", Value::String("12.5")),
        ("e", Value::String("1e3")),
        ("word", Value::String("abc")),
        ("flag", Value::Bool(true)),
        ("nothing", Value::Null),
    ];
    assert_eq!(num("event.properties.ms / 1000", &p), x("1.25"));
    // A string that reads as a decimal is a decimal (A3.2), 1e3 included.
    assert_eq!(num("event.properties.s * 2", &p), x("25"));
    assert_eq!(num("event.properties.e + 1", &p), x("1001"));
    assert_eq!(
        eval("event.properties.word * 2", &p),
        Err(EvaluationError::ExpectedDecimal)
    );
    assert_eq!(
        eval(
            "concat(event.properties.flag, event.properties.nothing)",
            &p
        ),
        Ok(Evaluated::Text("true".into()))
    );
    // A3.3: whole seconds, the fraction dropped.
    assert_eq!(num("event.timestamp", &p), x("1709287200"));
    // A3.4: a missing property rejects the event.
    assert_eq!(
        eval("event.properties.absent + 1", &p),
        Err(EvaluationError::MissingVariable("absent".into()))
    );
}

#[test]
fn results_are_stored_as_lago_stores_them() {
    // A3.8: a decimal with at least one fractional digit, a string as is.
    assert_eq!(Evaluated::Number(x("3")).property_text(), "3.0");
    assert_eq!(Evaluated::Number(x("-0.5")).property_text(), "-0.5");
    assert_eq!(Evaluated::Number(x("12.50")).property_text(), "12.5");
    assert_eq!(Evaluated::Text("eu".into()).property_text(), "eu");
}

#[test]
fn bad_expressions_do_not_parse() {
    for bad in [
        "",
        "1 +",
        "1.",
        ".5",
        "1e3",
        "--1",
        "event.properties.",
        "event.properties.1a",
        "event.other",
        "round()",
        "round(1, 2, 3)",
        "concat('a'",
        "'unterminated",
        "1\t+ 2",
        "foo(1)",
        "(1 + 2",
        "1 2",
    ] {
        assert!(Expression::parse(bad).is_err(), "{bad:?} parsed");
    }
    // Nesting is bounded, never a stack overflow.
    let deep = "(".repeat(10_000) + "1" + &")".repeat(10_000);
    assert!(Expression::parse(&deep).is_err());
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    // 10^28 × 10^28 is far beyond 2^96.
    let big = "10000000000000000000000000000";
    assert_eq!(
        eval(&format!("{big} * {big}"), &[]),
        Err(EvaluationError::OutOfRange)
    );
    assert!(eval("ceil(0.5, -40)", &[]).is_err());
    assert_eq!(num("floor(0.5, -40)", &[]), x("0"));
}
