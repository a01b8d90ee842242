//! The band of the minimum: below `min_amount_cents` (counted cents `n <
//! M`) `rate` adds a true-up of `M − n`, so the cost is `G(n) + G(M − n)`
//! with `G` the cost of a fee of counted cents `n`. Without taxes or a
//! pricing unit that is `M` exactly; otherwise each side is rounded on its
//! own (taxes per fee, fiat cents per fee), and the cost takes one of a few
//! values around `G(M)` in a pattern that repeats with the denominators of
//! the tax rate and of the conversion.
//!
//! With `x ≥ 0` rounded half away as `⌊x + ½⌋`, two such roundings of
//! parts that add up to `S` add up to `⌊S⌋` or `⌊S⌋ + 1` (the sum of two
//! floors of `a + b = S + 1`): that bounds the band's values below.

use ethnum::U256;

use crate::Exact;
use crate::exact::Figure;

/// Where a budget lies against the band's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Band {
    /// No minimum: no band.
    Absent,
    /// Every cost in the band is within the budget.
    AllGood,
    /// No cost in the band is.
    AllBad,
    /// Some are: the cost depends on `n` modulo this period (`None`: too
    /// long to be worked out).
    Pattern(Option<U256>),
}

const WHAT: &str = "explore band";

/// A non-negative decimal as a reduced fraction `(numerator, denominator)`.
pub(crate) fn fraction(x: Exact) -> Option<(U256, U256)> {
    let (negative, m, s) = x.normalize().to_parts();
    if negative && m != U256::ZERO {
        return None;
    }
    let den = super::grid::pow10(s);
    let g = gcd(m, den);
    Some((m / g, den / g))
}

pub(crate) fn gcd(mut a: U256, mut b: U256) -> U256 {
    while b != U256::ZERO {
        (a, b) = (b, a % b);
    }
    if a == U256::ZERO { U256::ONE } else { a }
}

/// The band's parameters for one charge.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BandRule {
    /// The minimum, in counted cents.
    pub min: i128,
    /// Fiat minor units per counted cent (1 without a pricing unit).
    pub w: Exact,
    /// The tax rates' sum over 100.
    pub q: Exact,
    pub pricing_unit: bool,
}

impl BandRule {
    /// Where `budget` lies against the band's values.
    pub(crate) fn classify(&self, budget: i128, including_taxes: bool) -> Band {
        if self.min <= 0 {
            return Band::Absent;
        }
        match self.bounds(including_taxes) {
            Some((_, hi)) if budget >= hi => Band::AllGood,
            Some((lo, _)) if budget < lo => Band::AllBad,
            _ => Band::Pattern(self.period(including_taxes)),
        }
    }

    /// The least and greatest cost the band can take.
    fn bounds(&self, taxes: bool) -> Option<(i128, i128)> {
        let m = Exact::try_from(self.min).ok()?;
        let floor_of = |x: Exact, f: Exact| -> Option<i128> {
            x.times(f).figure(WHAT).ok()?.floor().to_i128()
        };
        if !self.pricing_unit {
            if !taxes {
                return Some((self.min, self.min));
            }
            let lo = self.min.checked_add(floor_of(m, self.q)?)?;
            return Some((lo, lo.checked_add(1)?));
        }
        let phi = floor_of(m, self.w)?;
        if !taxes {
            return Some((phi, phi.checked_add(1)?));
        }
        let phi1 = phi.checked_add(1)?;
        let lo = phi.checked_add(floor_of(Exact::try_from(phi).ok()?, self.q)?)?;
        let hi = phi1
            .checked_add(floor_of(Exact::try_from(phi1).ok()?, self.q)?)?
            .checked_add(1)?;
        Some((lo, hi))
    }

    /// The period of the band's cost in `n`: the denominators of `q` and of
    /// `w` (a shift of `n` by it shifts each rounded part by an integer).
    fn period(&self, taxes: bool) -> Option<U256> {
        let (q_num, q_den) = fraction(self.q)?;
        let _ = q_num;
        let (w_num, w_den) = fraction(self.w)?;
        match (self.pricing_unit, taxes) {
            (false, false) => Some(U256::ONE),
            (false, true) => Some(q_den),
            (true, false) => Some(w_den),
            (true, true) => w_den.checked_mul(q_den / gcd(w_num, q_den)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(s: &str) -> Exact {
        s.parse().unwrap()
    }

    #[test]
    fn fractions_are_reduced() {
        assert_eq!(
            fraction(x("0.196")),
            Some((U256::from(49u8), U256::from(250u8)))
        );
        assert_eq!(fraction(x("3")), Some((U256::from(3u8), U256::ONE)));
    }

    #[test]
    fn a_budget_in_the_taxed_band_is_a_pattern() {
        // pub-021: minimum 9999, tax 19.6 %: the band costs 9999 + 1959 or
        // 9999 + 1960 (0.196 × 9999 = 1959.804).
        let rule = BandRule {
            min: 9999,
            w: Exact::ONE,
            q: x("0.196"),
            pricing_unit: false,
        };
        assert_eq!(
            rule.classify(11958, true),
            Band::Pattern(Some(U256::from(250u8)))
        );
        assert_eq!(rule.classify(11959, true), Band::AllGood);
        assert_eq!(rule.classify(11957, true), Band::AllBad);
        assert_eq!(rule.classify(9999, false), Band::AllGood);
        assert_eq!(rule.classify(9998, false), Band::AllBad);
    }
}
