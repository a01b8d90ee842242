//! Tier chains: the bound-chain rule that builds them (semantics.md §8.2)
//! and the one tier rule that prices them (decisions.md M1).
//!
//! Tier *i* covers the half-open span `(to_{i-1}, to_i]` with `to_0 = 0`;
//! the first tier also covers 0 and anything below it, and a missing `to`
//! is +infinity. `from_value` only has to pass validation: it never changes
//! the arithmetic, which is what fixes Lago's quirks Q1–Q4 and Q9.

use std::fmt::Display;

use crate::error::Violation;
use crate::exact::{Exact, Overflow};
use crate::rules::Violations;

/// One tier of a graduated, graduated-percentage or volume charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier<P> {
    /// The tier's declared start, echoed in amount details.
    pub from_value: Exact,
    /// The tier's end, inclusive; `None` for the open last tier.
    pub to_value: Option<Exact>,
    /// The tier's prices.
    pub price: P,
}

/// A validated, non-empty chain of tiers whose `to_value`s strictly increase
/// and whose last tier alone is open-ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiers<P> {
    tiers: Vec<Tier<P>>,
}

impl<P> Tier<P> {
    /// A tier from `from_value` to `to_value` (inclusive; `None` for the
    /// open last tier) at `price`.
    pub fn new(from_value: Exact, to_value: Option<Exact>, price: P) -> Self {
        Self {
            from_value,
            to_value,
            price,
        }
    }
}

/// The three tier lists, with Lago's field and codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TierKind {
    Graduated,
    GraduatedPercentage,
    Volume,
}

impl TierKind {
    /// Lago's field.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Self::Graduated => "graduated_ranges",
            Self::Volume => "volume_ranges",
            Self::GraduatedPercentage => "graduated_percentage_ranges",
        }
    }

    /// The code of an absent or empty list.
    pub(crate) fn missing(self) -> &'static str {
        match self {
            Self::Graduated => "missing_graduated_ranges",
            Self::Volume => "missing_volume_ranges",
            Self::GraduatedPercentage => "missing_graduated_percentage_ranges",
        }
    }

    /// The code of a broken list.
    pub(crate) fn invalid(self) -> &'static str {
        match self {
            Self::Graduated => "invalid_graduated_ranges",
            Self::Volume => "invalid_volume_ranges",
            Self::GraduatedPercentage => "invalid_graduated_percentage_ranges",
        }
    }

    /// The violation of an empty list; `prefix` places a filter's list.
    pub(crate) fn empty(self, prefix: &str) -> Violation {
        let field = self.field();
        Violation::new(
            field,
            self.missing(),
            format!("{prefix}{field} must be a non-empty list of ranges"),
        )
    }
}

/// Which bound of a range a message shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    From,
    To,
}

/// The bound chain (§8.2), followed one range at a time: range 0 starts at
/// 0 or 1, each later range at the previous `to_value` or one above it
/// (volume: one above it, or two), every `to_value` is above its
/// `from_value`, and only the last range is open.
pub(crate) struct Chain {
    kind: TierKind,
    last: usize,
    /// The `from_value` the next range must start at (or one above).
    next_from: Exact,
}

impl Chain {
    pub(crate) fn new(kind: TierKind, len: usize) -> Self {
        Self {
            kind,
            last: len.saturating_sub(1),
            next_from: Exact::ZERO,
        }
    }

    /// Whether range `i`'s bounds continue the chain; else the one
    /// violation that names the range (`place`), showing its bounds by
    /// `shown`.
    pub(crate) fn next(
        &mut self,
        i: usize,
        (from, to): (Exact, Option<Exact>),
        place: &dyn Display,
        shown: &dyn Fn(Bound) -> String,
    ) -> Result<(), Violation> {
        let next_from = self.next_from;
        let plus_one = next_from.plus(Exact::ONE).ok();
        let step = match self.kind {
            TierKind::Volume => Exact::ONE,
            _ => Exact::ZERO,
        };
        self.next_from = to.unwrap_or(Exact::ZERO).plus(step).unwrap_or(Exact::ZERO);
        let invalid =
            |message: String| Violation::new(self.kind.field(), self.kind.invalid(), message);
        if from != next_from && Some(from) != plus_one {
            let expected = match plus_one {
                Some(p) => format!("{} or {}", next_from.normalize(), p.normalize()),
                None => next_from.normalize().to_string(),
            };
            let got = shown(Bound::From);
            return Err(invalid(format!(
                "{place}: from_value must be {expected}, got {got}"
            )));
        }
        if i == self.last && to.is_some() {
            let got = shown(Bound::To);
            return Err(invalid(format!(
                "{place}: the last range must have a null to_value, got {got}"
            )));
        }
        if i != self.last && to.unwrap_or(Exact::ZERO) <= from {
            let (f, t) = (shown(Bound::From), shown(Bound::To));
            return Err(invalid(format!(
                "{place}: to_value must be a number above from_value {f}, got {t}"
            )));
        }
        Ok(())
    }
}

impl<P> Tiers<P> {
    /// Wraps tiers the JSON edge has checked with the same rules.
    #[cfg(feature = "lago")]
    pub(crate) fn new_unchecked(tiers: Vec<Tier<P>>) -> Self {
        Self { tiers }
    }

    /// Checks a typed tier list: first every tier's prices (`price`, which
    /// names its fields after `place`), then the bound chain, as Lago lists
    /// them.
    pub(crate) fn try_new(
        kind: TierKind,
        tiers: Vec<Tier<P>>,
        price: impl Fn(&P, &str) -> Vec<Violation>,
    ) -> Result<Self, crate::ValidationError> {
        let mut found = Violations::default();
        if tiers.is_empty() {
            found.push(kind.empty(""));
        }
        for (i, t) in tiers.iter().enumerate() {
            let place = format!("{}[{i}]", kind.field());
            price(&t.price, &place)
                .into_iter()
                .for_each(|v| found.push(v));
        }
        let mut chain = Chain::new(kind, tiers.len());
        for (i, t) in tiers.iter().enumerate() {
            let place = format!("{}[{i}]", kind.field());
            let shown = |b: Bound| match (b, t.to_value) {
                (Bound::From, _) => t.from_value.to_string(),
                (Bound::To, Some(to)) => to.to_string(),
                (Bound::To, None) => "null".to_string(),
            };
            let _ = found.check(chain.next(i, (t.from_value, t.to_value), &place, &shown));
        }
        found.finish(Some(Self { tiers }))
    }

    /// The tiers, in order.
    pub fn as_slice(&self) -> &[Tier<P>] {
        &self.tiers
    }

    /// Index of the tier whose span contains `units` (first tier for
    /// `units ≤ 0`), by binary search over the sorted `to_value`s.
    pub fn find(&self, units: Exact) -> usize {
        let idx = self
            .tiers
            .partition_point(|t| matches!(t.to_value, Some(to) if to < units));
        // The last tier is open, so the search never runs past it; the
        // clamp only guards a chain built without validation.
        debug_assert!(idx < self.tiers.len(), "a validated chain ends open");
        idx.min(self.tiers.len().saturating_sub(1))
    }

    /// Room for a line per tier `walk` visits for `units`: short lists
    /// are counted whole, long ones by the binary search (`walk` stops at
    /// the tier `find` gives), so a list sized by it never grows.
    pub(crate) fn reached(&self, units: Exact) -> usize {
        match self.tiers.len() {
            n @ 0..=8 => n,
            _ => self.find(units) + 1,
        }
    }

    /// Visits every tier from the first up to and including the one that
    /// contains `units`, with the units that fall in it:
    /// `min(U, to_i) − to_{i-1}`, floored at 0 after the first tier.
    pub(crate) fn walk(
        &self,
        units: Exact,
        mut visit: impl FnMut(&Tier<P>, Exact) -> Result<(), Overflow>,
    ) -> Result<(), Overflow> {
        // Every tier up to the one containing `units` is visited anyway, so
        // the walk finds that tier itself: the first whose `to` is not below
        // `units` (the same tier as `find`).
        let mut lower = Exact::ZERO;
        for (i, tier) in self.tiers.iter().enumerate() {
            let (upper, last) = match tier.to_value {
                Some(to) if to < units => (to, false),
                _ => (units, true),
            };
            let mut n = upper.minus(lower)?;
            if i > 0 && n.is_negative() {
                n = Exact::ZERO;
            }
            visit(tier, n)?;
            if last {
                break;
            }
            if let Some(to) = tier.to_value {
                lower = to;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    fn d(s: &str) -> Exact {
        Exact::from_str(s).unwrap()
    }

    fn chain(bounds: &[(&str, Option<&str>)]) -> Tiers<()> {
        Tiers::new_unchecked(
            bounds
                .iter()
                .map(|(f, t)| Tier {
                    from_value: d(f),
                    to_value: t.map(d),
                    price: (),
                })
                .collect(),
        )
    }

    fn split(t: &Tiers<()>, u: &str) -> Vec<Exact> {
        let mut out = Vec::new();
        t.walk(d(u), |_, n| {
            out.push(n);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn integer_tiers_split_continuously() {
        // [0–10], [11–20], [21–∞]: 10.5 units → 10 + 0.5 (tier spans (0,10], (10,20]).
        let t = chain(&[("0", Some("10")), ("11", Some("20")), ("21", None)]);
        assert_eq!(split(&t, "10.5"), vec![d("10"), d("0.5")]);
        // Exactly on a to_value stays in that tier.
        assert_eq!(split(&t, "10"), vec![d("10")]);
        assert_eq!(split(&t, "21"), vec![d("10"), d("10"), d("1")]);
        assert_eq!(split(&t, "0"), vec![d("0")]);
        // Negative usage: only the first tier, negative (as Lago).
        assert_eq!(split(&t, "-3"), vec![d("-3")]);
    }

    #[test]
    fn mixed_adjacency_counts_each_unit_once() {
        // Q1: [0–10], [11–20], [20–∞], U = 25 → 10, 10, 5 (Lago: 10, 10, 6).
        let t = chain(&[("0", Some("10")), ("11", Some("20")), ("20", None)]);
        assert_eq!(split(&t, "25"), vec![d("10"), d("10"), d("5")]);
    }

    #[test]
    fn find_is_the_span_containing_units() {
        let t = chain(&[("0", Some("100")), ("101", Some("200")), ("201", None)]);
        assert_eq!(t.find(d("-5")), 0);
        assert_eq!(t.find(d("100")), 0);
        assert_eq!(t.find(d("100.5")), 1);
        assert_eq!(t.find(d("200")), 1);
        assert_eq!(t.find(d("1000000")), 2);
        // Q9: a one-unit gap [0–10], [12–∞] still has a tier for 11.
        let g = chain(&[("0", Some("10")), ("12", None)]);
        assert_eq!(g.find(d("11")), 1);
    }
}
