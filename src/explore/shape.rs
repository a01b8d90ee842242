//! The exact amount of a model as a function of the units, for a fixed
//! template: segments `(lo, hi]` on which the model's own formula is one
//! affine function (or, for packages, a staircase), derived from the
//! model's definition (tier bounds, the one tier rule M1, flat fees billed
//! when a tier is entered, package steps after the free units).

use crate::exact::Figure;
use crate::{ArithmeticError, ChargeModel, Exact};

/// How the model computes the part of the amount that grows with units:
/// `(u − origin) × rate`, or that over 100 for a rate in percent, exactly
/// in the model's order of operations (so it fails where the model fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// A price per unit.
    Mul,
    /// A rate in percent.
    Percent,
}

/// How the model divides its amount into a unit amount (only its range
/// matters to explore: an unrepresentable unit amount fails `rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// `amount / units`.
    Quotient,
    /// The price itself when it has at most 28 digits (standard), else the
    /// quotient.
    Price(Exact),
    /// Volume: the price when the tier has no flat fee, else the quotient.
    Volume { price: Exact, flat: Exact },
    /// Package: `amount / (units − free units)`.
    Paid(Exact),
}

/// `A(u) = base + line(u − origin)` on a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Affine {
    pub origin: Exact,
    pub base: Exact,
    pub rate: Exact,
    pub line: Line,
    pub unit: Unit,
}

/// Package steps from the second on: `A(u) = ⌈(u − free)/size⌉ × amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Steps {
    pub free: Exact,
    pub size: Exact,
    pub amount: Exact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Affine(Affine),
    Steps(Steps),
    /// Units whose amount the model cannot compute (an earlier tier's
    /// figures already leave the decimal range).
    Broken,
}

/// The units `(lo, hi]` (`hi = None`: no end) and the amount on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub lo: Exact,
    pub hi: Option<Exact>,
    pub form: Form,
}

/// An affine segment's figures, worked out once (curves only copy them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The amount's limit from the right at `lo`.
    pub start: Exact,
    /// The amount at `hi` (`None`: no end, or out of range).
    pub end: Option<Exact>,
    pub slope: Exact,
}

/// The amount at 0 units and the segments that cover `(0, ∞)` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    pub zero: Exact,
    pub segments: Vec<Segment>,
    /// Each segment's span, when it is affine and its figures in range.
    pub spans: Vec<Option<Span>>,
    /// Whether the amount never falls as units grow.
    pub monotone: bool,
}

const WHAT: &str = "explore amount";

impl Affine {
    /// The growing part at `u`, as the model computes it.
    fn line_at(&self, u: Exact) -> Result<Exact, ArithmeticError> {
        let n = u.minus(self.origin).figure(WHAT)?;
        let product = n.times(self.rate).figure(WHAT)?;
        match self.line {
            Line::Mul => Ok(product),
            Line::Percent => product.div_pow10(2).figure(WHAT),
        }
    }

    pub(crate) fn amount(&self, u: Exact) -> Result<Exact, ArithmeticError> {
        self.base.plus(self.line_at(u)?).figure(WHAT)
    }

    /// The places of its amount at units of `units_scale` places, as the
    /// model's operations leave them (the same at every grid point).
    pub(crate) fn scale_at(&self, units_scale: u32) -> u32 {
        let pct = match self.line {
            Line::Mul => 0,
            Line::Percent => 2,
        };
        let units = units_scale.max(self.origin.scale());
        self.base.scale().max(units + self.rate.scale() + pct)
    }

    /// The most places a step may have for [`Self::scale_at`] to stay
    /// within `limit` (`None`: not even whole units do).
    pub(crate) fn step_places(&self, limit: u32) -> Option<u32> {
        let pct = match self.line {
            Line::Mul => 0,
            Line::Percent => 2,
        };
        (self.scale_at(0) <= limit).then(|| limit - self.rate.scale() - pct)
    }

    /// The slope: the price, or the rate over 100.
    pub(crate) fn slope(&self) -> Result<Exact, ArithmeticError> {
        match self.line {
            Line::Mul => Ok(self.rate),
            Line::Percent => self.rate.div_pow10(2).figure(WHAT),
        }
    }
}

impl Steps {
    /// The package count at `u > free`: `⌈(u − free)/size⌉`, exactly.
    pub(crate) fn count(&self, u: Exact) -> Result<Exact, ArithmeticError> {
        let paid = u.minus(self.free).figure(WHAT)?;
        let mut q = paid.over(self.size).figure(WHAT)?.floor();
        // The quotient may be rounded in its last digit: correct it.
        while q.times(self.size).figure(WHAT)? > paid {
            q = q.minus(Exact::ONE).figure(WHAT)?;
        }
        while q.times(self.size).figure(WHAT)? < paid {
            q = q.plus(Exact::ONE).figure(WHAT)?;
        }
        Ok(q)
    }

    pub(crate) fn amount(&self, u: Exact) -> Result<Exact, ArithmeticError> {
        self.count(u)?.times(self.amount).figure(WHAT)
    }
}

impl Segment {
    /// The amount at `u` in `(lo, hi]`.
    pub(crate) fn amount(&self, u: Exact) -> Result<Exact, ArithmeticError> {
        match &self.form {
            Form::Affine(a) => a.amount(u),
            Form::Steps(s) => s.amount(u),
            Form::Broken => Err(ArithmeticError::new(WHAT)),
        }
    }
}

impl Shape {
    /// The segment holding `u > 0`.
    pub(crate) fn segment_of(&self, u: Exact) -> Option<&Segment> {
        let i = self
            .segments
            .partition_point(|s| s.hi.is_some_and(|hi| hi < u));
        self.segments.get(i)
    }

    /// The amount at `u ≥ 0`.
    pub(crate) fn amount(&self, u: Exact) -> Result<Exact, ArithmeticError> {
        if u.is_zero() {
            return Ok(self.zero);
        }
        match self.segment_of(u) {
            Some(s) => s.amount(u),
            None => Err(ArithmeticError::new(WHAT)),
        }
    }

    /// The shape of a supported model with `events_count` events.
    pub(crate) fn of(model: &ChargeModel, events: u64) -> Result<Self, ArithmeticError> {
        let mut shape = Self::segments_of(model, events)?;
        shape.spans = shape.segments.iter().map(span).collect();
        Ok(shape)
    }

    fn segments_of(model: &ChargeModel, events: u64) -> Result<Self, ArithmeticError> {
        match model {
            ChargeModel::Standard(m) => Ok(Self::single(
                Exact::ZERO,
                m.amount(),
                Unit::Price(m.amount()),
            )),
            ChargeModel::Percentage(p) => {
                let fixed = if events == 0 {
                    Ok(Exact::ZERO)
                } else {
                    Exact::from(events).times(p.fixed_amount()).figure(WHAT)
                };
                let Ok(fixed) = fixed else {
                    return Ok(Self::broken(Exact::ZERO, Exact::ZERO));
                };
                let line = Affine {
                    origin: Exact::ZERO,
                    base: fixed,
                    rate: p.rate(),
                    line: Line::Percent,
                    unit: Unit::Quotient,
                };
                Ok(Self::open(Exact::ZERO, line))
            }
            ChargeModel::Graduated(g) => {
                let tiers = g
                    .ranges()
                    .as_slice()
                    .iter()
                    .map(|t| (t.to_value, t.price.per_unit_amount, t.price.flat_amount));
                graduated(tiers, Line::Mul)
            }
            ChargeModel::GraduatedPercentage(g) => {
                let tiers = g
                    .ranges()
                    .as_slice()
                    .iter()
                    .map(|t| (t.to_value, t.price.rate, t.price.flat_amount));
                graduated(tiers, Line::Percent)
            }
            ChargeModel::Volume(v) => Ok(volume(v)),
            ChargeModel::Package(p) => Ok(package(p)
                .unwrap_or_else(|_| Self::broken(Exact::ZERO, Exact::from(p.free_units())))),
            ChargeModel::Dynamic => Err(ArithmeticError::new("dynamic has no shape")),
        }
    }

    /// One affine segment over `(0, ∞)` whose formula also holds at 0.
    fn single(base: Exact, rate: Exact, unit: Unit) -> Self {
        let line = Affine {
            origin: Exact::ZERO,
            base,
            rate,
            line: Line::Mul,
            unit,
        };
        Self {
            zero: base,
            segments: vec![Segment {
                lo: Exact::ZERO,
                hi: None,
                form: Form::Affine(line),
            }],
            spans: Vec::new(),
            monotone: true,
        }
    }

    /// `zero` at 0, then no computable amount from `lo` on.
    fn broken(zero: Exact, lo: Exact) -> Self {
        Self {
            zero,
            segments: vec![Segment {
                lo,
                hi: None,
                form: Form::Broken,
            }],
            spans: Vec::new(),
            monotone: true,
        }
    }

    /// `zero` at 0, then one affine segment over `(0, ∞)`.
    fn open(zero: Exact, line: Affine) -> Self {
        Self {
            zero,
            segments: vec![Segment {
                lo: Exact::ZERO,
                hi: None,
                form: Form::Affine(line),
            }],
            spans: Vec::new(),
            monotone: true,
        }
    }
}

/// Graduated tiers (M1): tier *i* covers `(to_{i-1}, to_i]`; the amount
/// there is every earlier tier in full (with its flat fee), plus this
/// tier's units at its price and its flat fee.
fn graduated(
    tiers: impl Iterator<Item = (Option<Exact>, Exact, Exact)>,
    line: Line,
) -> Result<Shape, ArithmeticError> {
    let mut segments = Vec::new();
    let (mut lower, mut done) = (Exact::ZERO, Exact::ZERO);
    let mut zero = None;
    for (to, rate, flat) in tiers {
        let Ok(base) = done.plus(flat).figure(WHAT) else {
            segments.push(broken_from(lower));
            break;
        };
        let affine = Affine {
            origin: lower,
            base,
            rate,
            line,
            unit: Unit::Quotient,
        };
        // The first tier also covers 0 itself.
        zero.get_or_insert(base);
        let lo = lower;
        if to.is_none_or(|to| to > lo) {
            segments.push(Segment {
                lo,
                hi: to,
                form: Form::Affine(affine),
            });
        }
        let Some(to) = to else { break };
        lower = to.max(lo);
        match affine.amount(lower) {
            Ok(a) => done = a,
            Err(_) => {
                // Every later tier starts from an amount out of range.
                segments.push(broken_from(lower));
                break;
            }
        }
    }
    Ok(Shape {
        zero: zero.ok_or(ArithmeticError::new(WHAT))?,
        segments,
        spans: Vec::new(),
        monotone: true,
    })
}

/// The span of an affine segment.
fn span(seg: &Segment) -> Option<Span> {
    let Form::Affine(a) = &seg.form else {
        return None;
    };
    // From its origin a price line starts at its base (0 units × the
    // price add nothing): the graduated tiers' case, without the arithmetic.
    let start = if a.line == Line::Mul && a.origin == seg.lo {
        a.base
    } else {
        a.amount(seg.lo).ok()?
    };
    Some(Span {
        start,
        end: seg.hi.and_then(|h| a.amount(h).ok()),
        slope: a.slope().ok()?,
    })
}

fn broken_from(lo: Exact) -> Segment {
    Segment {
        lo,
        hi: None,
        form: Form::Broken,
    }
}

/// Volume tiers (M1): the amount is `u × price + flat` of the tier whose
/// span holds `u`; it can fall when a tier is entered.
fn volume(v: &crate::Volume) -> Shape {
    let mut segments = Vec::new();
    let mut lower = Exact::ZERO;
    let mut zero = Exact::ZERO;
    for (i, t) in v.ranges().as_slice().iter().enumerate() {
        let (price, flat) = (t.price.per_unit_amount, t.price.flat_amount);
        if i == 0 {
            zero = flat;
        }
        let affine = Affine {
            origin: Exact::ZERO,
            base: flat,
            rate: price,
            line: Line::Mul,
            unit: Unit::Volume { price, flat },
        };
        if t.to_value.is_none_or(|to| to > lower) {
            segments.push(Segment {
                lo: lower,
                hi: t.to_value,
                form: Form::Affine(affine),
            });
        }
        match t.to_value {
            Some(to) => lower = to.max(lower),
            None => break,
        }
    }
    Shape {
        zero,
        segments,
        spans: Vec::new(),
        monotone: false,
    }
}

/// Package: nothing up to the free units, then one package per started
/// `package_size` units. The first paying step is a segment of its own (its
/// unit amount, over few paid units, is the largest).
fn package(p: &crate::Package) -> Result<Shape, ArithmeticError> {
    let free = Exact::from(p.free_units());
    let size = Exact::from(p.package_size());
    let a = p.amount();
    let flat = |base: Exact| Affine {
        origin: Exact::ZERO,
        base,
        rate: Exact::ZERO,
        line: Line::Mul,
        unit: Unit::Paid(free),
    };
    if a.is_zero() {
        return Ok(Shape::open(Exact::ZERO, flat(Exact::ZERO)));
    }
    let first_end = free.plus(size).figure(WHAT)?;
    let mut segments = Vec::with_capacity(3);
    if free > Exact::ZERO {
        segments.push(Segment {
            lo: Exact::ZERO,
            hi: Some(free),
            form: Form::Affine(flat(Exact::ZERO)),
        });
    }
    segments.push(Segment {
        lo: free,
        hi: Some(first_end),
        form: Form::Affine(flat(a)),
    });
    segments.push(Segment {
        lo: first_end,
        hi: None,
        form: Form::Steps(Steps {
            free,
            size,
            amount: a,
        }),
    });
    Ok(Shape {
        zero: Exact::ZERO,
        segments,
        spans: Vec::new(),
        monotone: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, Usage};

    fn check_against_model(model: &ChargeModel, events: u64, units: &[&str]) {
        let shape = Shape::of(model, events).unwrap();
        let eur = Currency::from_code("EUR").unwrap();
        for u in units {
            let u: Exact = u.parse().unwrap();
            let usage = Usage::new(u).with_events_count(events);
            let want = model.apply(&usage, eur).unwrap().amount;
            assert_eq!(shape.amount(u).unwrap(), want, "at {u}");
        }
    }

    const UNITS: &[&str] = &[
        "0", "0.5", "1", "9.999", "10", "10.5", "11", "15", "20", "20.0001", "99", "100", "100.5",
        "250", "1000",
    ];

    #[test]
    fn every_model_agrees_with_its_own_formula() {
        let models = [
            ("standard", r#"{"amount": "0.125"}"#),
            (
                "graduated",
                r#"{"graduated_ranges": [{"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "3"},
                {"from_value": 11, "to_value": 20, "per_unit_amount": "0.5", "flat_amount": "2"},
                {"from_value": 21, "to_value": null, "per_unit_amount": "0.1", "flat_amount": "0"}]}"#,
            ),
            (
                "graduated_percentage",
                r#"{"graduated_percentage_ranges": [{"from_value": 0, "to_value": 10, "rate": "1", "flat_amount": "3"},
                {"from_value": 10, "to_value": null, "rate": "2.5", "flat_amount": "1"}]}"#,
            ),
            (
                "volume",
                r#"{"volume_ranges": [{"from_value": 0, "to_value": 100, "per_unit_amount": "2", "flat_amount": "10"},
                {"from_value": 101, "to_value": null, "per_unit_amount": "1", "flat_amount": "0"}]}"#,
            ),
            (
                "package",
                r#"{"amount": "4", "package_size": 10, "free_units": 15}"#,
            ),
            (
                "package",
                r#"{"amount": "4", "package_size": 3, "free_units": 0}"#,
            ),
            ("percentage", r#"{"rate": "1.5", "fixed_amount": "0.25"}"#),
        ];
        for (name, props) in models {
            let model = ChargeModel::from_lago_json(name, props).unwrap();
            for events in [0, 3] {
                check_against_model(&model, events, UNITS);
            }
        }
    }
}
