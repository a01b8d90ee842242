//! A group's sum or maximum in 24 bytes (a performance trick, quarantined
//! here).
//!
//! A billing run keeps one group per subscription, bucket and label:
//! millions of them. An exact figure is 40 bytes (a 256-bit mantissa and a
//! scale), so a group's sum with its count took 48 bytes and its maximum
//! 56, and a group 104: two cache lines and more, for every group to make,
//! update and price. Nearly every sum or maximum of event values has a
//! mantissa that fits 64 bits: it is kept inline, as mantissa and scale,
//! any other figure boxed. A figure comes back as it went in, mantissa and
//! scale, and [`SumAcc`] and [`MaxAcc`] do the arithmetic, so the results
//! are theirs.

use crate::aggregate::accumulator::{MaxAcc, SumAcc};
use crate::error::ArithmeticError;
use crate::exact::Exact;

/// An exact figure in 16 bytes when its mantissa fits 64 bits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Small {
    Inline { m: i64, s: u32 },
    Boxed(Box<Exact>),
}

impl Small {
    fn of(x: Exact) -> Self {
        match x.small_parts() {
            Some((m, s)) => Self::Inline { m, s },
            None => Self::Boxed(Box::new(x)),
        }
    }

    fn get(&self) -> Exact {
        match self {
            Self::Inline { m, s } => Exact::from_small(*m, *s),
            Self::Boxed(x) => **x,
        }
    }
}

/// A [`SumAcc`] in 24 bytes.
#[derive(Debug, Clone)]
pub(crate) struct CompactSum {
    sum: Small,
    events: u64,
}

impl Default for CompactSum {
    fn default() -> Self {
        Self::of(SumAcc::default())
    }
}

impl CompactSum {
    fn of(acc: SumAcc) -> Self {
        let (sum, events) = acc.finish();
        Self {
            sum: Small::of(sum),
            events,
        }
    }

    fn acc(&self) -> SumAcc {
        SumAcc::from_state(self.sum.get(), self.events)
    }

    /// [`SumAcc::update`].
    #[inline]
    pub(crate) fn update(&mut self, value: Exact) -> Result<(), ArithmeticError> {
        let mut acc = self.acc();
        acc.update(value)?;
        *self = Self::of(acc);
        Ok(())
    }

    /// [`SumAcc::merge`].
    pub(crate) fn merge(&mut self, other: &Self) -> Result<(), ArithmeticError> {
        let mut acc = self.acc();
        acc.merge(&other.acc())?;
        *self = Self::of(acc);
        Ok(())
    }

    /// [`SumAcc::finish`].
    #[inline]
    pub(crate) fn finish(&self) -> (Exact, u64) {
        (self.sum.get(), self.events)
    }
}

/// A [`MaxAcc`] in 24 bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompactMax {
    max: Option<Small>,
    events: u64,
}

impl CompactMax {
    fn of(acc: MaxAcc) -> Self {
        let (max, events) = acc.state();
        Self {
            max: max.map(Small::of),
            events,
        }
    }

    fn acc(&self) -> MaxAcc {
        MaxAcc::from_state(self.max.as_ref().map(Small::get), self.events)
    }

    /// [`MaxAcc::update`].
    pub(crate) fn update(&mut self, value: Exact) {
        let mut acc = self.acc();
        acc.update(value);
        *self = Self::of(acc);
    }

    /// [`MaxAcc::merge`].
    pub(crate) fn merge(&mut self, other: &Self) {
        let mut acc = self.acc();
        acc.merge(&other.acc());
        *self = Self::of(acc);
    }

    /// [`MaxAcc::finish`].
    pub(crate) fn finish(&self) -> (Exact, u64) {
        self.acc().finish()
    }

    /// [`MaxAcc::state`].
    pub(crate) fn state(&self) -> (Option<Exact>, u64) {
        self.acc().state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures of every kind: 64-bit mantissas at several scales (1.50
    /// and 1.5 apart), the largest and smallest, a scale past 28, and
    /// mantissas past 64 bits.
    fn figures() -> Vec<Exact> {
        let d = Exact::from_small;
        let big: Exact = "79228162514264337593543950335".parse().unwrap();
        let fine: Exact = "0.1234567890123456789012345678".parse().unwrap();
        let wide = fine.times(fine).unwrap(); // 56 places
        vec![
            Exact::ZERO,
            d(150, 2),
            d(15, 1),
            d(-7, 0),
            d(i64::MAX, 0),
            d(i64::MIN, 3),
            d(1, 28),
            big,
            -big,
            fine,
            wide,
        ]
    }

    #[test]
    fn a_figure_comes_back_as_it_went_in() {
        for x in figures() {
            let small = Small::of(x);
            assert!(small.get().is_identical(&x), "{x:?}");
            let inline = x.small_parts().is_some();
            assert_eq!(matches!(small, Small::Inline { .. }), inline, "{x:?}");
        }
        assert!(matches!(
            Small::of(Exact::from_small(150, 2)),
            Small::Inline { .. }
        ));
        assert!(std::mem::size_of::<CompactSum>() <= 24);
        assert!(std::mem::size_of::<CompactMax>() <= 24);
    }

    #[test]
    fn compact_sums_and_maxima_are_the_accumulators_own() {
        // Every ordered pair of figures, added and compared, by the
        // compact accumulators and by SumAcc and MaxAcc: the same figures
        // (mantissa and scale), counts and overflows.
        let all = figures();
        for a in &all {
            for b in &all {
                let (mut sum, mut acc) = (CompactSum::default(), SumAcc::default());
                let (mut max, mut macc) = (CompactMax::default(), MaxAcc::default());
                for v in [*a, *b] {
                    assert_eq!(sum.update(v).is_ok(), acc.update(v).is_ok(), "{a:?} {b:?}");
                    max.update(v);
                    macc.update(v);
                }
                let ((s, n), (t, m)) = (sum.finish(), acc.finish());
                assert!(s.is_identical(&t) && n == m, "{a:?} + {b:?}");
                let ((x, n), (y, m)) = (max.finish(), macc.finish());
                assert!(x.is_identical(&y) && n == m, "max {a:?} {b:?}");
                // Merged into a partial of their own.
                let mut halves = CompactSum::default();
                let _ = halves.update(*a);
                let mut other = CompactSum::default();
                let _ = other.update(*b);
                let mut whole = SumAcc::from_state(*a, 1);
                let merged = (
                    halves.merge(&other).is_ok(),
                    whole.merge(&SumAcc::from_state(*b, 1)).is_ok(),
                );
                assert_eq!(merged.0, merged.1, "{a:?} {b:?}");
                if merged.0 {
                    assert!(halves.finish().0.is_identical(&whole.finish().0));
                }
            }
        }
    }
}
