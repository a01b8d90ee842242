//! The metric `expression` language of A3 (Lago's `lago-expression`),
//! evaluated with exact decimals (AD9): `+ - *` exact, `/` a quotient of
//! 28 significant digits (AD5), a failure an error and never a panic.
//!
//! ```
//! use meterprice::{Expression, Timestamp, Value};
//! let e = Expression::parse("round(event.properties.ms / 1000, 1) + 1")?;
//! assert_eq!(&*e.variables()[0], "ms");
//! let t = Timestamp::parse("2024-03-01T00:00:00Z")?;
//! let out = e.evaluate("api", t, |_| Some(Value::Number("1250")))?;
//! assert_eq!(out.property_text(), "2.3"); // round(1.25, 1) + 1, half up
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod parse;

use crate::aggregate::time::Timestamp;
use crate::aggregate::value::Value;
use crate::exact::{self, Exact, Figure};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    root: Node,
    variables: Vec<Box<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Code,
    Timestamp,
    /// `event.properties.NAME`, by its index in `variables`.
    Property(usize),
    Decimal(Exact),
    Str(Box<str>),
    Neg(Box<Node>),
    Bin(Op, Box<Node>, Box<Node>),
    Round(Rounding, Box<Node>, Option<Box<Node>>),
    Concat(Vec<Node>),
    Least(Vec<Node>),
    Greatest(Vec<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A rounding direction: `round` is half away from zero, `ceil` toward
/// +∞, `floor` toward −∞ (A3.6, A55).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Half away from zero.
    HalfUp,
    /// Toward +∞.
    Ceil,
    /// Toward −∞.
    Floor,
}

/// An expression that does not parse (Lago's `invalid_expression`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: expected {expected}")]
#[non_exhaustive]
pub struct ExpressionParseError {
    /// 1-based column of the problem.
    pub column: usize,
    /// What the grammar expected there.
    pub expected: &'static str,
}

/// Why evaluating an expression for one event failed (AD9): the event is
/// rejected with `expression_evaluation_failed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluationError {
    /// A3.4: the event lacks a property the expression reads.
    #[error("Variable: {0} not found")]
    MissingVariable(String),
    /// A3.5: arithmetic on a string.
    #[error("Expected a decimal")]
    ExpectedDecimal,
    /// QA25: Lago's core panics here; meterprice rejects the event.
    #[error("Division by zero")]
    DivisionByZero,
    /// A3.6: the digits argument of round/ceil/floor is not an integer.
    #[error("Expected an integer number of digits, got {0}")]
    FractionalDigits(String),
    /// A result beyond 2^96 or 56 fractional digits.
    #[error(
        "A value out of the decimal range (magnitude below 2^96, at most 56 fractional digits)"
    )]
    OutOfRange,
}

/// What an expression gives: a decimal or a string (A3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluated {
    /// A decimal.
    Number(Exact),
    /// A string.
    Text(String),
}

impl Evaluated {
    /// The text Lago stores in `properties[field_name]` (A3.8): a decimal
    /// in plain notation with at least one fractional digit (`"3.0"`), a
    /// string as it is.
    pub fn property_text(&self) -> String {
        match self {
            Evaluated::Number(x) => {
                let t = x.to_string();
                if t.contains('.') { t } else { t + ".0" }
            }
            Evaluated::Text(s) => s.clone(),
        }
    }

    fn decimal(self) -> Result<Exact, EvaluationError> {
        match self {
            Evaluated::Number(x) => Ok(x),
            Evaluated::Text(_) => Err(EvaluationError::ExpectedDecimal),
        }
    }
}

impl Expression {
    /// Parses `text` (A3.1).
    ///
    /// # Errors
    /// [`ExpressionParseError`] with the column and what was expected.
    pub fn parse(text: &str) -> Result<Self, ExpressionParseError> {
        parse::parse(text).map_err(|e| ExpressionParseError {
            column: e.column,
            expected: e.expected,
        })
    }

    /// The property names the expression reads, in order of first use;
    /// `property(i)` of [`Expression::evaluate`] is asked for name `i`.
    pub fn variables(&self) -> &[Box<str>] {
        &self.variables
    }

    /// Evaluates for one event: its `code`, its `timestamp` (whole
    /// seconds, A3.3) and its properties by variable index.
    ///
    /// # Errors
    /// [`EvaluationError`] (A3.4–A3.6, AD9).
    pub fn evaluate<'v>(
        &self,
        code: &str,
        timestamp: Timestamp,
        property: impl Fn(usize) -> Option<Value<'v>>,
    ) -> Result<Evaluated, EvaluationError> {
        let env = Env {
            code,
            timestamp,
            property: &property,
            names: &self.variables,
        };
        env.eval(&self.root)
    }
}

struct Env<'e, 'v> {
    code: &'e str,
    timestamp: Timestamp,
    property: &'e dyn Fn(usize) -> Option<Value<'v>>,
    names: &'e [Box<str>],
}

fn range<T>(r: Result<T, crate::error::ArithmeticError>) -> Result<T, EvaluationError> {
    r.map_err(|_| EvaluationError::OutOfRange)
}

impl Env<'_, '_> {
    fn eval(&self, node: &Node) -> Result<Evaluated, EvaluationError> {
        Ok(match node {
            Node::Code => Evaluated::Text(self.code.to_string()),
            Node::Timestamp => {
                let secs = i128::from(self.timestamp.unix_seconds());
                Evaluated::Number(range(Exact::try_from(secs))?)
            }
            Node::Property(i) => self.property(*i)?,
            Node::Decimal(x) => Evaluated::Number(*x),
            Node::Str(s) => Evaluated::Text(s.to_string()),
            Node::Neg(inner) => Evaluated::Number(-self.eval(inner)?.decimal()?),
            Node::Bin(op, lhs, rhs) => {
                let a = self.eval(lhs)?.decimal()?;
                let b = self.eval(rhs)?.decimal()?;
                Evaluated::Number(binary(*op, a, b)?)
            }
            Node::Round(mode, x, digits) => {
                let x = self.eval(x)?.decimal()?;
                let d = match digits {
                    Some(d) => digits_of(self.eval(d)?.decimal()?)?,
                    None => 0,
                };
                Evaluated::Number(range(round_at(x, d, *mode))?)
            }
            Node::Concat(args) => {
                let mut out = String::new();
                for a in args {
                    match self.eval(a)? {
                        Evaluated::Number(x) => out.push_str(&x.to_string()),
                        Evaluated::Text(s) => out.push_str(&s),
                    }
                }
                Evaluated::Text(out)
            }
            Node::Least(args) => Evaluated::Number(self.extreme(args, Exact::min)?),
            Node::Greatest(args) => Evaluated::Number(self.extreme(args, Exact::max)?),
        })
    }

    /// A property as the expression sees it (A3.2): a string that reads
    /// as a decimal is a decimal, a JSON number is read exactly, `null` is
    /// `""`, `true` is `"true"`.
    fn property(&self, i: usize) -> Result<Evaluated, EvaluationError> {
        let name = || self.names.get(i).map_or("", |n| &**n).to_string();
        let value = (self.property)(i).ok_or_else(|| EvaluationError::MissingVariable(name()))?;
        Ok(match value {
            Value::Number(raw) => match crate::exact::parse_scientific(raw, 56) {
                Ok(x) => Evaluated::Number(x),
                Err(_) => return Err(EvaluationError::OutOfRange),
            },
            Value::String(s) => match decimal_string(s) {
                Some(Ok(x)) => Evaluated::Number(x),
                Some(Err(e)) => return Err(e),
                None => Evaluated::Text(s.to_string()),
            },
            Value::Null => Evaluated::Text(String::new()),
            Value::Bool(b) => Evaluated::Text(b.to_string()),
            Value::Composite(s) => Evaluated::Text(s.to_string()),
        })
    }

    fn extreme(
        &self,
        args: &[Node],
        pick: fn(Exact, Exact) -> Exact,
    ) -> Result<Exact, EvaluationError> {
        let mut best: Option<Exact> = None;
        for a in args {
            let x = self.eval(a)?.decimal()?;
            best = Some(best.map_or(x, |b| pick(b, x)));
        }
        // The grammar requires one argument; an empty list cannot occur.
        best.ok_or(EvaluationError::ExpectedDecimal)
    }
}

/// A string Rust's `BigDecimal` parser accepts (`12.5`, `-3`, `+5`,
/// `1e3`, `.5`, `5.`), as a decimal; `None` for any other string.
fn decimal_string(s: &str) -> Option<Result<Exact, EvaluationError>> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (body.get(..i)?, Some(body.get(i + 1..)?)),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()) && exp_ok) {
        return None;
    }
    Some(
        crate::exact::parse_scientific(s.trim_start_matches('+'), 56)
            .map_err(|_| EvaluationError::OutOfRange),
    )
}

fn binary(op: Op, a: Exact, b: Exact) -> Result<Exact, EvaluationError> {
    const WHAT: &str = "expression";
    match op {
        Op::Add => range(a.plus(b).figure(WHAT)),
        Op::Sub => range(a.minus(b).figure(WHAT)),
        Op::Mul => range(a.times(b).figure(WHAT)),
        Op::Div if b.is_zero() => Err(EvaluationError::DivisionByZero),
        Op::Div => range(a.over(b).figure(WHAT)),
    }
}

/// The digits argument of round/ceil/floor: an integer (A3.6).
fn digits_of(d: Exact) -> Result<i32, EvaluationError> {
    d.is_integer()
        .then(|| d.to_i128().and_then(|i| i32::try_from(i).ok()))
        .flatten()
        .ok_or_else(|| EvaluationError::FractionalDigits(d.to_string()))
}

/// `x` rounded at `places` fractional digits (negative: tens,
/// hundreds…) in the direction of `mode`.
///
/// # Errors
/// [`crate::ArithmeticError`] when the rounded value leaves the range
/// (`ceil(7e28, -29)`).
pub(crate) fn round_at(
    x: Exact,
    places: i32,
    mode: Rounding,
) -> Result<Exact, crate::error::ArithmeticError> {
    const WHAT: &str = "rounding";
    if places >= 0 {
        let dp = u32::try_from(places).unwrap_or(0).min(56);
        let nearest = exact::round_half_away(x, dp);
        let step = Exact::ONE.div_pow10(dp).figure(WHAT)?;
        return match mode {
            Rounding::HalfUp => Ok(nearest),
            Rounding::Floor if nearest > x => nearest.minus(step).figure(WHAT),
            Rounding::Ceil if nearest < x => nearest.plus(step).figure(WHAT),
            _ => Ok(nearest),
        };
    }
    // Rounding at tens or above only depends on the integer part taken in
    // the same direction (a tie point is an integer).
    let k = places.unsigned_abs();
    let int = match mode {
        Rounding::HalfUp => x.trunc(),
        Rounding::Floor => x.floor(),
        Rounding::Ceil => -((-x).floor()),
    };
    // |x| < 2^96 < 10^29: beyond 30 places every shift gives the same
    // rounding (0 or ±1), and a non-zero one overflows below.
    let shifted = int.div_pow10(k.min(30)).figure(WHAT)?;
    let rounded = round_at(shifted, 0, mode)?;
    if rounded.is_zero() {
        return Ok(Exact::ZERO);
    }
    rounded.times(pow10(k)?).figure(WHAT)
}

fn pow10(k: u32) -> Result<Exact, crate::error::ArithmeticError> {
    let mut p = Exact::ONE;
    // 10^29 already overflows: the loop ends by then.
    for _ in 0..k.min(30) {
        p = p.times(Exact::from(10u32)).figure("rounding")?;
    }
    Ok(p)
}

#[cfg(test)]
mod tests;
