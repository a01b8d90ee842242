//! What a budget search needs of each segment besides the budget and the
//! step, worked out once per explorer (a performance trick, kept here).
//!
//! A segment whose amounts grow to `top` is within every budget whose
//! counted cents reach `top`'s, when its fees are safe (budget.rs,
//! `segment_surely_good`): all of that but the budget and the step's
//! places is known before any question. The running maximum of the tops
//! then finds the first segment a budget must look at by bisection, in
//! O(log pieces) instead of one check a segment. Each affine segment also
//! keeps the kernel's pre-line (kernel.rs).

use super::cost::Money;
use super::kernel::PreLine;
use super::shape::{Form, Segment, Span, Unit};
use crate::Exact;
use std::sync::OnceLock;

/// What a segment's check needs besides the budget and the step.
#[derive(Debug, Clone, Copy)]
struct Fact {
    /// The counted cents of the segment's largest amount.
    top_cents: i128,
    /// The most places a step may have for its amounts to stay safe.
    step_places: u32,
    /// Segment 0 bounds its unit amounts over units of at least 1 only.
    needs_whole_step: bool,
}

/// The running maximum of the facts from segment 1 on (`None` from the
/// first segment without one).
#[derive(Debug, Clone, Copy)]
struct Prefix {
    top_cents: i128,
    step_places: u32,
}

/// The step a budget question is asked on, as the checks need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepFacts {
    pub places: u32,
    pub whole: bool,
}

/// The facts of a shape's segments.
#[derive(Debug, Clone, Default)]
pub(crate) struct Skips {
    facts: Vec<Option<Fact>>,
    /// One per segment from 1 on.
    prefix: Vec<Option<Prefix>>,
    /// The kernel's pre-lines, each worked out when a search first needs
    /// it (most questions look at one or two segments).
    lines: Vec<OnceLock<Option<PreLine>>>,
}

impl Skips {
    pub(crate) fn of(segments: &[Segment], spans: &[Option<Span>], money: &Money<'_>) -> Self {
        let facts: Vec<Option<Fact>> = segments
            .iter()
            .zip(spans)
            .map(|(seg, span)| fact(seg, span.as_ref(), money))
            .collect();
        let mut running: Option<Prefix> = None;
        let mut broken = false;
        let prefix = facts
            .iter()
            .skip(1)
            .map(|f| {
                running = match (f.filter(|f| !f.needs_whole_step), running) {
                    (Some(f), None) if !broken => Some(Prefix {
                        top_cents: f.top_cents,
                        step_places: f.step_places,
                    }),
                    (Some(f), Some(p)) => Some(Prefix {
                        top_cents: p.top_cents.max(f.top_cents),
                        step_places: p.step_places.min(f.step_places),
                    }),
                    _ => {
                        broken = true;
                        None
                    }
                };
                running
            })
            .collect();
        let lines = segments.iter().map(|_| OnceLock::new()).collect();
        Self {
            facts,
            prefix,
            lines,
        }
    }

    /// Whether segment `i` is within a budget of `c_star` counted cents
    /// (above the minimum) on `step`: `None` when its facts cannot tell
    /// (then `segment_surely_good` looks itself), `Some(false)` when its
    /// top is over the budget.
    pub(crate) fn surely_good(&self, i: usize, c_star: i128, step: StepFacts) -> Option<bool> {
        let f = self.facts.get(i).copied().flatten()?;
        let applies = step.places <= f.step_places && (step.whole || !f.needs_whole_step);
        applies.then_some(f.top_cents <= c_star)
    }

    /// The first segment from 1 on that is not surely good (the segments'
    /// count when all are).
    pub(crate) fn first_unsure(&self, c_star: i128, step: StepFacts) -> usize {
        1 + self.prefix.partition_point(|p| {
            p.is_some_and(|p| step.places <= p.step_places && p.top_cents <= c_star)
        })
    }

    /// The kernel's pre-line of segment `i`.
    pub(crate) fn line(
        &self,
        i: usize,
        (seg, span): (&Segment, Option<&Span>),
        money: &Money<'_>,
    ) -> Option<&PreLine> {
        self.lines
            .get(i)?
            .get_or_init(|| match (&seg.form, span) {
                (Form::Affine(a), Some(span)) => PreLine::of(a, (seg.lo, span.start), money),
                _ => None,
            })
            .as_ref()
    }
}

/// The budget- and step-free part of `segment_surely_good`: an affine
/// segment with an end, growing, its fee at the end safe, its unit amounts
/// in range from its start (from one unit, for the segment from 0).
fn fact(seg: &Segment, span: Option<&Span>, money: &Money<'_>) -> Option<Fact> {
    let (Some(span), Form::Affine(a)) = (span, &seg.form) else {
        return None;
    };
    let top = span.end?;
    let from_zero = seg.lo.is_zero();
    let divisor = if from_zero { Exact::ONE } else { seg.lo };
    let safe = !matches!(a.unit, Unit::Paid(_))
        && !span.slope.is_negative()
        && money.amount_is_safe(top)
        && money.unit_is_safe(top, divisor);
    let step_places = a.step_places(money.safe_scale()?)?;
    safe.then_some(())?;
    Some(Fact {
        top_cents: money.counted_cents(top)?,
        step_places,
        needs_whole_step: from_zero,
    })
}
