//! A3.1's grammar, by recursive descent: `expr = atom (op atom)*`,
//! `atom = "-"? primary`, with `* /` binding tighter than `+ -` (both
//! left-associative) and unary minus tightest. Only spaces are
//! whitespace.

use super::{Expression, Node, Op, Rounding};

/// Nesting deeper than this is refused (no recursion limit is reachable
/// by input then).
const MAX_DEPTH: usize = 64;

/// Why an expression does not parse (Lago: `invalid_expression`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) column: usize,
    pub(crate) expected: &'static str,
}

pub(super) struct Parser<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
    pub(super) variables: Vec<Box<str>>,
}

type Parsed<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self {
            text,
            at: 0,
            depth: 0,
            variables: Vec::new(),
        }
    }

    fn fail<T>(&self, expected: &'static str) -> Parsed<T> {
        Err(ParseError {
            column: self.at + 1,
            expected,
        })
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }

    fn spaces(&mut self) {
        while self.rest().starts_with(' ') {
            self.at += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.spaces();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    /// The whole text as one expression.
    pub(super) fn root(mut self) -> Parsed<Expression> {
        let root = self.expr()?;
        self.spaces();
        if !self.rest().is_empty() {
            return self.fail("an operator or the end");
        }
        Ok(Expression {
            root,
            variables: self.variables,
        })
    }

    /// `term (("+" | "-") term)*`.
    fn expr(&mut self) -> Parsed<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("less nesting");
        }
        let mut lhs = self.term()?;
        loop {
            let op = if self.eat("+") {
                Op::Add
            } else if self.eat("-") {
                Op::Sub
            } else {
                break;
            };
            let rhs = self.term()?;
            lhs = Node::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        self.depth -= 1;
        Ok(lhs)
    }

    /// `atom (("*" | "/") atom)*`.
    fn term(&mut self) -> Parsed<Node> {
        let mut lhs = self.atom()?;
        loop {
            let op = if self.eat("*") {
                Op::Mul
            } else if self.eat("/") {
                Op::Div
            } else {
                break;
            };
            let rhs = self.atom()?;
            lhs = Node::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn atom(&mut self) -> Parsed<Node> {
        if self.eat("-") {
            Ok(Node::Neg(Box::new(self.primary()?)))
        } else {
            self.primary()
        }
    }

    fn primary(&mut self) -> Parsed<Node> {
        self.spaces();
        let rest = self.rest();
        if let Some(f) = function_name(rest) {
            return self.function(f);
        }
        if rest.starts_with("event.") {
            return self.variable();
        }
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            return self.decimal();
        }
        if rest.starts_with('\'') {
            return self.string();
        }
        if self.eat("(") {
            let inner = self.expr()?;
            if !self.eat(")") {
                return self.fail("\")\"");
            }
            return Ok(inner);
        }
        self.fail("a number, a string, a variable, a function or \"(\"")
    }

    /// `[0-9]+ ("." [0-9]+)?`, no exponent.
    fn decimal(&mut self) -> Parsed<Node> {
        let rest = self.rest();
        let int = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut len = int;
        if rest.as_bytes().get(int) == Some(&b'.') {
            let frac = rest
                .get(int + 1..)
                .unwrap_or("")
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if frac > 0 {
                len = int + 1 + frac;
            }
        }
        let literal = rest.get(..len).unwrap_or("");
        match crate::exact::parse_scientific(literal, 56) {
            Ok(x) => {
                self.at += len;
                Ok(Node::Decimal(x))
            }
            Err(_) => self.fail("a decimal within 2^96 and 56 places"),
        }
    }

    /// `'...'`, no escapes.
    fn string(&mut self) -> Parsed<Node> {
        let rest = self.rest();
        let body = rest.get(1..).unwrap_or("");
        match body.find('\'') {
            Some(end) => {
                self.at += end + 2;
                Ok(Node::Str(body.get(..end).unwrap_or("").into()))
            }
            None => self.fail("a closing quote"),
        }
    }

    /// `event.code | event.timestamp | event.properties.NAME`.
    fn variable(&mut self) -> Parsed<Node> {
        self.at += "event.".len();
        let rest = self.rest();
        if let Some(after) = rest.strip_prefix("properties.") {
            let name_len = after
                .char_indices()
                .take_while(|&(i, c)| {
                    c.is_ascii_alphabetic() || (i > 0 && (c.is_ascii_alphanumeric() || c == '_'))
                })
                .count();
            if name_len == 0 {
                self.at += "properties.".len();
                return self.fail("a property name ([A-Za-z][A-Za-z0-9_]*)");
            }
            let name = after.get(..name_len).unwrap_or("");
            self.at += "properties.".len() + name_len;
            let index = match self.variables.iter().position(|v| &**v == name) {
                Some(i) => i,
                None => {
                    self.variables.push(name.into());
                    self.variables.len() - 1
                }
            };
            return Ok(Node::Property(index));
        }
        if rest.starts_with("timestamp") {
            self.at += "timestamp".len();
            return Ok(Node::Timestamp);
        }
        if rest.starts_with("code") {
            self.at += "code".len();
            return Ok(Node::Code);
        }
        self.fail("code, timestamp or properties.NAME")
    }

    fn function(&mut self, f: Function) -> Parsed<Node> {
        self.at += f.name_len;
        if !self.eat("(") {
            return self.fail("\"(\"");
        }
        let mut args = vec![self.expr()?];
        while self.eat(",") {
            args.push(self.expr()?);
        }
        if !self.eat(")") {
            return self.fail("\",\" or \")\"");
        }
        match f.kind {
            FunctionKind::Round(mode) => {
                let mut it = args.into_iter();
                match (it.next(), it.next(), it.next()) {
                    (Some(x), digits, None) => {
                        Ok(Node::Round(mode, Box::new(x), digits.map(Box::new)))
                    }
                    _ => self.fail("1 or 2 arguments"),
                }
            }
            FunctionKind::Concat => Ok(Node::Concat(args)),
            FunctionKind::Least => Ok(Node::Least(args)),
            FunctionKind::Greatest => Ok(Node::Greatest(args)),
        }
    }
}

#[derive(Clone, Copy)]
enum FunctionKind {
    Round(Rounding),
    Concat,
    Least,
    Greatest,
}

#[derive(Clone, Copy)]
struct Function {
    kind: FunctionKind,
    name_len: usize,
}

/// A function name in one of its three spellings (lower, UPPER,
/// Capitalised) at the start of `rest`.
fn function_name(rest: &str) -> Option<Function> {
    const NAMES: [(&str, FunctionKind); 6] = [
        ("ceil", FunctionKind::Round(Rounding::Ceil)),
        ("concat", FunctionKind::Concat),
        ("round", FunctionKind::Round(Rounding::HalfUp)),
        ("floor", FunctionKind::Round(Rounding::Floor)),
        ("least", FunctionKind::Least),
        ("greatest", FunctionKind::Greatest),
    ];
    NAMES.iter().find_map(|&(name, kind)| {
        let head = rest.get(..name.len())?;
        let capitalised = name
            .get(..1)
            .map(|c| c.to_ascii_uppercase() + name.get(1..).unwrap_or(""));
        let spelled = head == name
            || head == name.to_ascii_uppercase()
            || capitalised.is_some_and(|c| head == c);
        // A name must be followed by "(" (after spaces) to be a call.
        let next = rest.get(name.len()..)?.trim_start_matches(' ');
        (spelled && next.starts_with('(')).then_some(Function {
            kind,
            name_len: name.len(),
        })
    })
}

/// Parses an expression (A3.1).
pub(super) fn parse(text: &str) -> Result<Expression, ParseError> {
    Parser::new(text).root()
}
