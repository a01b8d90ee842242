//! Tier chains and the one tier rule (decisions.md M1).
//!
//! Tier *i* covers the half-open span `(to_{i-1}, to_i]` with `to_0 = 0`;
//! the first tier also covers 0 and anything below it, and a missing `to`
//! is +infinity. `from_value` only has to pass validation: it never changes
//! the arithmetic, which is what fixes Lago's quirks Q1–Q4 and Q9.

use crate::exact::Exact;

use crate::error::ArithmeticError;
use crate::exact;

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

impl<P> Tiers<P> {
    /// Wraps tiers that validation has already checked.
    pub(crate) fn new_unchecked(tiers: Vec<Tier<P>>) -> Self {
        Self { tiers }
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
        mut visit: impl FnMut(&Tier<P>, Exact) -> Result<(), ArithmeticError>,
    ) -> Result<(), ArithmeticError> {
        // Every tier up to the one containing `units` is visited anyway, so
        // the walk finds that tier itself: the first whose `to` is not below
        // `units` (the same tier as `find`).
        let mut lower = Exact::ZERO;
        for (i, tier) in self.tiers.iter().enumerate() {
            let (upper, last) = match tier.to_value {
                Some(to) if to < units => (to, false),
                _ => (units, true),
            };
            let mut n = exact::sub(upper, lower, "tier units")?;
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
