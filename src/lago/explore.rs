//! The JSON contract of `meterprice explore` (docs/explore-json.md): an
//! explore request in, its budget, curve and break-even answers out. The
//! charge, the currency and the bucket template are read by the same code
//! as a rating request's, so they fail with `rate`'s own errors.

use std::borrow::Cow;

use serde::Deserialize;

use super::Outcome;
use super::request::{self, RequestError};
use super::response::{self, Json};
use crate::lago::raw::RawJson;
use crate::{
    BudgetAnswer, BudgetQuery, Curve, Exact, ExploreError, Explorer, Interval, Violation,
    break_even,
};

/// A failure as the contract writes it.
pub(crate) struct Fault {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    details: Option<Vec<Violation>>,
}

impl Fault {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    fn parse(message: impl Into<String>) -> Self {
        Self::new("parse_error", message)
    }
}

impl From<RequestError> for Fault {
    fn from(e: RequestError) -> Self {
        Self {
            code: e.code(),
            message: e.message(),
            details: e.details().map(<[Violation]>::to_vec),
        }
    }
}

impl From<ExploreError> for Fault {
    fn from(e: ExploreError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

/// The top level's keys with their raw values, in order.
struct Top<'a>(
    Vec<(Cow<'a, str>, RawJson<'a>)>,
    /// The first `charge` member, when the scanner read it.
    Option<request::RawCharge<'a>>,
);

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Top<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<Cow<'de, str>, RawJson<'de>>()? {
                    out.push(entry);
                }
                Ok(Top(out, None))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Top<'a> {
    /// An object's members: by the one-pass scanner when the object is
    /// plain, else by serde (which explains a malformed one).
    fn read(text: &'a str) -> Result<Self, serde_json::Error> {
        match super::scan::members(text) {
            Some((members, charge)) => Ok(Top(
                members
                    .into_iter()
                    .map(|(k, v)| (Cow::Borrowed(k), v))
                    .collect(),
                charge,
            )),
            None => serde_json::from_str(text),
        }
    }

    /// The value of `key` (JSON `null` included).
    fn get(&self, key: &str) -> Option<RawJson<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The value of `key`, `null` read as absent.
    fn value(&self, key: &str) -> Option<RawJson<'a>> {
        self.get(key).filter(|v| v.get() != "null")
    }
}

/// An object's fields (an operation's, or the template's).
fn fields<'a>(path: &str, raw: RawJson<'a>) -> Result<Top<'a>, Fault> {
    if !raw.get().starts_with('{') {
        return Err(Fault::parse(format!(
            "{path}: expected an object, got {}",
            raw.get()
        )));
    }
    Top::read(raw.get()).map_err(|e| Fault::parse(format!("{path}: {e}")))
}

/// A decimal field: its value, or its text when the range cannot hold it.
#[derive(Clone, Copy)]
enum Dec<'a> {
    Value(Exact),
    OutOfRange(&'a str),
}

/// An integer field: its value, or its sign when beyond 128 bits.
#[derive(Clone, Copy)]
enum Int {
    Value(i128),
    Huge { negative: bool },
}

/// Whether `t` is a JSON number (RFC 8259).
fn json_number(t: &str) -> bool {
    let b = t.strip_prefix('-').unwrap_or(t).as_bytes();
    let digits = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
    let int = digits(b);
    if int == 0 || (int > 1 && b.first() == Some(&b'0')) {
        return false;
    }
    let mut rest = b.get(int..).unwrap_or(&[]);
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        rest = frac.get(n..).unwrap_or(&[]);
    }
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"+")
            .or_else(|| exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        let n = digits(exp);
        return n > 0 && n == exp.len();
    }
    rest.is_empty()
}

fn decimal<'a>(path: &str, raw: RawJson<'a>) -> Result<Dec<'a>, Fault> {
    let text = raw.get();
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if !json_number(inner) {
        return Err(Fault::parse(format!(
            "{path}: expected a decimal (a JSON number or a string in JSON number syntax), got {text}"
        )));
    }
    Ok(match crate::lago::decimal::parse_decimal(inner) {
        Ok(x) => Dec::Value(x),
        Err(_) => Dec::OutOfRange(inner),
    })
}

fn integer(path: &str, raw: RawJson<'_>) -> Result<Int, Fault> {
    let text = raw.get();
    let digits = text.strip_prefix('-').unwrap_or(text);
    let valid = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'));
    if !valid {
        return Err(Fault::parse(format!(
            "{path}: expected a JSON integer, got {text}"
        )));
    }
    Ok(match text.parse::<i128>() {
        Ok(n) => Int::Value(n),
        Err(_) => Int::Huge {
            negative: text.starts_with('-'),
        },
    })
}

fn boolean(path: &str, raw: Option<RawJson<'_>>) -> Result<bool, Fault> {
    match raw.map(RawJson::get) {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(Fault::parse(format!(
            "{path}: expected a boolean, got {other}"
        ))),
    }
}

fn required<'a>(path: &str, raw: Option<RawJson<'a>>) -> Result<RawJson<'a>, Fault> {
    raw.ok_or_else(|| Fault::parse(format!("{path}: required")))
}

/// A decimal field with a default.
fn decimal_or<'a>(path: &str, raw: Option<RawJson<'a>>, default: Exact) -> Result<Dec<'a>, Fault> {
    raw.map_or(Ok(Dec::Value(default)), |r| decimal(path, r))
}

fn max_pieces(path: &str, raw: Option<RawJson<'_>>) -> Result<Int, Fault> {
    raw.map_or(Ok(Int::Value(10_000)), |r| integer(path, r))
}

struct BudgetReq<'a> {
    cents: Int,
    step: Dec<'a>,
    taxes: bool,
}

struct CurveReq<'a> {
    up_to: Dec<'a>,
    max_pieces: Int,
}

struct BreakReq<'a> {
    charge: RawJson<'a>,
    up_to: Dec<'a>,
    step: Dec<'a>,
    max_pieces: Int,
}

/// An explore request, its shape read.
struct Request<'a> {
    currency: Option<RawJson<'a>>,
    charge: Option<RawJson<'a>>,
    usage: Option<RawJson<'a>>,
    budget: Option<BudgetReq<'a>>,
    curve: Option<CurveReq<'a>>,
    break_even: Option<BreakReq<'a>>,
}

fn read_budget(raw: RawJson<'_>) -> Result<BudgetReq<'_>, Fault> {
    let f = fields("budget", raw)?;
    Ok(BudgetReq {
        cents: integer(
            "budget.budget_cents",
            required("budget.budget_cents", f.value("budget_cents"))?,
        )?,
        step: decimal_or("budget.units_step", f.value("units_step"), Exact::ONE)?,
        taxes: boolean("budget.including_taxes", f.value("including_taxes"))?,
    })
}

fn read_curve(raw: RawJson<'_>) -> Result<CurveReq<'_>, Fault> {
    let f = fields("curve", raw)?;
    Ok(CurveReq {
        up_to: decimal("curve.up_to", required("curve.up_to", f.value("up_to"))?)?,
        max_pieces: max_pieces("curve.max_pieces", f.value("max_pieces"))?,
    })
}

fn read_break_even(raw: RawJson<'_>) -> Result<BreakReq<'_>, Fault> {
    let f = fields("break_even", raw)?;
    Ok(BreakReq {
        charge: required("break_even.charge", f.value("charge"))?,
        up_to: decimal(
            "break_even.up_to",
            required("break_even.up_to", f.value("up_to"))?,
        )?,
        step: decimal_or("break_even.units_step", f.value("units_step"), Exact::ONE)?,
        max_pieces: max_pieces("break_even.max_pieces", f.value("max_pieces"))?,
    })
}

/// The request's own shape (explore-json.md: parse errors first).
fn read<'a>(top: &Top<'a>) -> Result<Request<'a>, Fault> {
    for key in ["event", "period"] {
        if top.get(key).is_some() {
            return Err(Fault::parse(format!(
                "{key}: explore prices no event and no period; remove it"
            )));
        }
    }
    let req = Request {
        currency: top.get("currency"),
        charge: top.value("charge"),
        usage: top.value("usage"),
        budget: top.value("budget").map(read_budget).transpose()?,
        curve: top.value("curve").map(read_curve).transpose()?,
        break_even: top.value("break_even").map(read_break_even).transpose()?,
    };
    if req.budget.is_none() && req.curve.is_none() && req.break_even.is_none() {
        return Err(Fault::parse(
            "an explore request asks for at least one of budget, curve, break_even",
        ));
    }
    Ok(req)
}

/// Keys of the template that explore sets itself.
const SET_BY_EXPLORE: [&str; 5] = [
    "units",
    "event_values",
    "full_units_number",
    "prorated_event_values",
    "precise_total_amount_cents",
];

/// Explores one request (docs/explore-json.md) and appends its result
/// object, without a trailing newline, to `out`. Never panics, whatever the
/// input: a request that cannot be answered gives an error object with
/// `rate`'s codes.
///
/// ```
/// let mut out = Vec::new();
/// let line = r#"{"id": 1, "currency": "EUR",
///   "charge": {"charge_model": "standard", "properties": {"amount": "0.0003"}},
///   "budget": {"budget_cents": 1000}}"#;
/// assert_eq!(meterprice::explore_json(line, &mut out, false), meterprice::Outcome::Priced);
/// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(v["budget"]["max_units"], "33349"); // 33,349 × 0.0003 = 10.0047 EUR → 1000 cents
/// assert_eq!(v["budget"]["next_cost_cents"], 1001);
/// ```
pub fn explore_json(text: &str, out: &mut Vec<u8>, pretty: bool) -> Outcome {
    let start = out.len();
    if !text.trim_start().starts_with('{') {
        write_fault(out, None, &Fault::parse("a request must be a JSON object"));
        return finish(out, start, pretty, Outcome::Failed);
    }
    let top: Top<'_> = match Top::read(text) {
        Ok(t) => t,
        Err(e) => {
            write_fault(
                out,
                None,
                &Fault::parse(format!("line {}, column {}: {e}", e.line(), e.column())),
            );
            return finish(out, start, pretty, Outcome::Failed);
        }
    };
    let id = top.get("id");
    let outcome = match answer(text, top) {
        Ok(answers) => {
            write_answers(out, id, &answers);
            Outcome::Priced
        }
        Err(fault) => {
            write_fault(out, id, &fault);
            Outcome::Failed
        }
    };
    finish(out, start, pretty, outcome)
}

fn finish(out: &mut Vec<u8>, start: usize, pretty: bool, outcome: Outcome) -> Outcome {
    if pretty {
        response::indent(out, start);
    }
    outcome
}

/// The answers of one request.
pub(crate) struct Answers {
    pub(crate) budget: Option<(BudgetQuery, BudgetAnswer)>,
    pub(crate) curve: Option<Curve>,
    pub(crate) break_even: Option<(Exact, Exact, Vec<Interval>)>,
}

/// A request read and checked: the charges, the template, the values.
pub(crate) struct Prepared {
    pub(crate) a: crate::Charge,
    pub(crate) b: Option<crate::Charge>,
    pub(crate) template: crate::Bucket,
    ranges: Ranges,
}

impl Prepared {
    #[cfg_attr(not(feature = "plot"), allow(dead_code))]
    pub(crate) fn ranges(&self) -> &Ranges {
        &self.ranges
    }

    #[cfg_attr(not(feature = "plot"), allow(dead_code))]
    pub(crate) fn curve_end(&self) -> Option<Exact> {
        self.ranges
            .curve
            .map(|(u, _)| u)
            .or(self.ranges.break_even.map(|(u, _, _)| u))
    }
}

/// Reads and checks a request in the contract's order of errors.
#[cfg_attr(not(feature = "plot"), allow(dead_code))]
pub(crate) fn prepare(text: &str) -> Result<Prepared, Fault> {
    let top: Top<'_> = Top::read(text).map_err(|e| Fault::parse(e.to_string()))?;
    prepare_top(text, top)
}

fn prepare_top(text: &str, top: Top<'_>) -> Result<Prepared, Fault> {
    let req = read(&top)?;
    let charge_raw = required("charge", req.charge)?;
    // Every shape before any rule: both charges' and the template's.
    let a = request::read_charge(text, req.currency, charge_raw, top.1);
    let b = req
        .break_even
        .as_ref()
        .map(|be| request::read_charge(text, req.currency, be.charge, None));
    let template = request::read_template(text, req.usage);
    for r in [
        a.as_ref().err(),
        b.as_ref().and_then(|b| b.as_ref().err()),
        template.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        if let RequestError::Parse(m) = r {
            return Err(Fault::parse(m.clone()));
        }
    }
    check_template_keys(req.usage)?;
    let template = template.map_err(Fault::from)?;
    let a = a.map_err(Fault::from)?;
    a.explore_rate_check(&template)?;
    let b = b.transpose().map_err(Fault::from)?;
    if let Some(b) = &b {
        b.explore_rate_check(&template)?;
    }
    a.explore_support(&template)?;
    if let Some(b) = &b {
        b.explore_support(&template)?;
    }
    if req.curve.is_some() || req.break_even.is_some() {
        a.explore_no_pricing_unit()?;
    }
    if let Some(b) = &b {
        b.explore_no_pricing_unit()?;
    }
    let ranges = Ranges::check(&req)?;
    Ok(Prepared {
        a,
        b,
        template,
        ranges,
    })
}

fn answer(text: &str, top: Top<'_>) -> Result<Answers, Fault> {
    let p = prepare_top(text, top)?;
    let ea = p.a.explorer(&p.template)?;
    let eb = p.b.as_ref().map(|b| b.explorer(&p.template)).transpose()?;
    run(&ea, eb.as_ref(), &p.ranges)
}

fn check_template_keys(usage: Option<RawJson<'_>>) -> Result<(), Fault> {
    let Some(raw) = usage else { return Ok(()) };
    let f = fields("usage", raw)?;
    match SET_BY_EXPLORE.iter().find(|k| f.get(k).is_some()) {
        Some(k) => Err(Fault::new(
            "invalid_usage",
            format!(
                "usage.{k}: explore sets it for each number of units; a template leaves it out"
            ),
        )),
        None => Ok(()),
    }
}

/// The operations' values, in range.
pub(crate) struct Ranges {
    budget: Option<BudgetQuery>,
    curve: Option<(Exact, usize)>,
    break_even: Option<(Exact, Exact, usize)>,
}

fn in_range(field: &str, d: Dec<'_>) -> Result<Exact, Fault> {
    let x = match d {
        Dec::Value(x) => x,
        Dec::OutOfRange(t) => {
            return Err(Fault::new(
                "invalid_usage",
                format!(
                    "{field} must be > 0 and <= 10^28 with at most 28 fractional digits, got {t}"
                ),
            ));
        }
    };
    crate::explore::check_range(field, x)?;
    Ok(x.normalize())
}

fn pieces(field: &str, n: Int) -> Result<usize, Fault> {
    match n {
        Int::Value(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Int::Huge { negative: false } => Ok(usize::MAX),
        Int::Value(n) => Err(Fault::new(
            "invalid_usage",
            format!("{field} must be >= 1, got {n}"),
        )),
        Int::Huge { negative: true } => {
            Err(Fault::new("invalid_usage", format!("{field} must be >= 1")))
        }
    }
}

impl Ranges {
    fn check(req: &Request<'_>) -> Result<Self, Fault> {
        let budget = match &req.budget {
            None => None,
            Some(b) => {
                let cents = match b.cents {
                    Int::Value(n) => n,
                    Int::Huge { negative } => {
                        if negative {
                            -1
                        } else {
                            i128::MAX
                        }
                    }
                };
                let step = in_range("budget.units_step", b.step);
                if !(0..1i128 << 96).contains(&cents) {
                    return Err(Fault::new(
                        "invalid_usage",
                        "budget.budget_cents must be a whole number of minor units >= 0 and < 2^96",
                    ));
                }
                Some(BudgetQuery::new(cents, step?, b.taxes)?)
            }
        };
        let curve = match &req.curve {
            None => None,
            Some(c) => Some((
                in_range("curve.up_to", c.up_to)?,
                pieces("curve.max_pieces", c.max_pieces)?,
            )),
        };
        let break_even = match &req.break_even {
            None => None,
            Some(be) => Some((
                in_range("break_even.up_to", be.up_to)?,
                in_range("break_even.units_step", be.step)?,
                pieces("break_even.max_pieces", be.max_pieces)?,
            )),
        };
        Ok(Self {
            budget,
            curve,
            break_even,
        })
    }
}

/// Runs the operations; of several failures the contract's order picks
/// one: too many pieces before an amount out of range.
pub(crate) fn run(
    a: &Explorer<'_>,
    b: Option<&Explorer<'_>>,
    r: &Ranges,
) -> Result<Answers, Fault> {
    let budget = r
        .budget
        .clone()
        .map(|q| a.units_for_budget(&q).map(|ans| (q, ans)))
        .transpose();
    let curve = r.curve.map(|(up_to, max)| a.curve(up_to, max)).transpose();
    let be = match (r.break_even, b) {
        (Some((up_to, step, max)), Some(b)) => {
            break_even(a, b, up_to, step, max).map(|i| Some((up_to, step, i)))
        }
        _ => Ok(None),
    };
    let rank = |e: &ExploreError| match e {
        ExploreError::TooManyPieces { .. } => 0,
        ExploreError::Arithmetic(_) => 2,
        _ => 1,
    };
    let errors = [
        budget.as_ref().err(),
        curve.as_ref().err(),
        be.as_ref().err(),
    ];
    if let Some(e) = errors.into_iter().flatten().min_by_key(|e| rank(e)) {
        return Err(e.clone().into());
    }
    Ok(Answers {
        budget: budget.ok().flatten(),
        curve: curve.ok().flatten(),
        break_even: be.ok().flatten(),
    })
}

fn write_fault(out: &mut Vec<u8>, id: Option<RawJson<'_>>, f: &Fault) {
    response::write_error(out, id, f.code, &f.message, f.details.as_deref(), false);
}

fn opt_dec(w: &mut Json<'_>, key: &str, x: Option<Exact>) {
    match x {
        Some(x) => w.dec(key, x.normalize()),
        None => w.null(key),
    }
}

fn opt_int(w: &mut Json<'_>, key: &str, x: Option<i128>) {
    match x {
        Some(x) => w.int(key, x),
        None => w.null(key),
    }
}

fn write_answers(out: &mut Vec<u8>, id: Option<RawJson<'_>>, a: &Answers) {
    let mut w = Json::new(out);
    w.open(b'{');
    if let Some(id) = id {
        w.raw("id", id);
    }
    if let Some((q, ans)) = &a.budget {
        w.key("budget");
        write_budget(&mut w, q, ans);
    }
    if let Some(c) = &a.curve {
        w.key("curve");
        write_curve(&mut w, c);
    }
    if let Some((up_to, step, intervals)) = &a.break_even {
        w.key("break_even");
        w.open(b'{');
        w.dec("up_to", *up_to);
        w.dec("units_step", *step);
        w.key("intervals");
        w.open(b'[');
        for i in intervals {
            w.comma();
            w.open(b'{');
            w.dec("from", i.from.normalize());
            w.dec("to", i.to.normalize());
            w.string("cheaper", Some(i.cheaper.as_str()));
            w.close(b'}');
        }
        w.close(b']');
        w.close(b'}');
    }
    w.close(b'}');
}

fn write_budget(w: &mut Json<'_>, q: &BudgetQuery, a: &BudgetAnswer) {
    w.open(b'{');
    w.int("budget_cents", q.budget_cents());
    w.dec("units_step", q.units_step().normalize());
    w.boolean("including_taxes", q.including_taxes());
    opt_dec(w, "max_units", a.max_units);
    opt_int(w, "cost_cents", a.cost_cents);
    opt_dec(w, "next_units", a.next_units);
    opt_int(w, "next_cost_cents", a.next_cost_cents);
    w.boolean("unbounded", a.unbounded);
    opt_dec(w, "max_units_any", a.max_units_any);
    w.boolean("unbounded_any", a.unbounded_any);
    w.close(b'}');
}

fn write_curve(w: &mut Json<'_>, c: &Curve) {
    w.open(b'{');
    w.dec("up_to", c.up_to.normalize());
    w.key("pieces");
    w.open(b'[');
    for p in &c.pieces {
        w.comma();
        w.open(b'{');
        w.dec("from", p.from.normalize());
        w.dec("to", p.to.normalize());
        w.dec("amount_from", p.amount_from.normalize());
        w.dec("slope", p.slope.normalize());
        w.close(b'}');
    }
    w.close(b']');
    w.key("points");
    w.open(b'[');
    for p in &c.points {
        w.comma();
        w.open(b'{');
        w.dec("units", p.units.normalize());
        w.dec("amount", p.amount.normalize());
        w.close(b'}');
    }
    w.close(b']');
    w.close(b'}');
}
