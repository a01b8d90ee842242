//! The grid of a units step: the points `k·s` for integers `k ≥ 0` with
//! `k·s ≤ 10^28` (explore-json.md). Indices reach 10^56 for a step of
//! 10^-28, beyond the decimal range, so they are 256-bit integers; the
//! points themselves (at most 10^28, at most 28 places) are [`Exact`].

use ethnum::U256;

use crate::Exact;
use crate::exact::POW10_U128;

/// The largest grid point allowed: 10^28.
const CEILING_DIGITS: u32 = 28;

/// `10^k` for `k ≤ 77`, from a table built once (indices reach 10^56).
pub(crate) fn pow10(k: u32) -> U256 {
    static TABLE: std::sync::OnceLock<[U256; 78]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [U256::ONE; 78];
        let mut p = U256::ONE;
        for slot in &mut t {
            *slot = p;
            p = p.wrapping_mul(U256::from(10u8));
        }
        t
    });
    table.get(k as usize).copied().unwrap_or(U256::MAX)
}

/// 10^28, the grid's ceiling.
pub(crate) fn ceiling() -> Exact {
    Exact::from_parts(false, U256::from(10u128.pow(CEILING_DIGITS)), 0).unwrap_or(Exact::ZERO)
}

/// A validated step and its last index.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    step: Exact,
    /// The step as an integer at `scale` places.
    mantissa: U256,
    scale: u32,
    last: U256,
    ceiling: Exact,
}

impl Grid {
    /// The grid of `step`, which the caller has checked: `0 < step ≤ 10^28`
    /// with at most 28 fractional digits.
    pub(crate) fn new(step: Exact) -> Option<Self> {
        // A budget query's step is normalized already.
        let step = if step.is_normalized() {
            step
        } else {
            step.normalize()
        };
        let (negative, mantissa, scale) = step.to_parts();
        if negative || mantissa == U256::ZERO || scale > CEILING_DIGITS {
            return None;
        }
        // 10^(28 + scale) fits 128 bits up to 10 places: a 128-bit division.
        let last = match (
            u128::try_from(pow10(CEILING_DIGITS + scale)),
            u128::try_from(mantissa),
        ) {
            (Ok(p), Ok(m)) => U256::from(p / m),
            _ => pow10(CEILING_DIGITS + scale) / mantissa,
        };
        Some(Self {
            step,
            mantissa,
            scale,
            last,
            ceiling: ceiling(),
        })
    }

    /// The step.
    pub(crate) fn step(&self) -> Exact {
        self.step
    }

    /// The step as `mantissa × 10^-scale`, when the mantissa fits 128 bits.
    pub(crate) fn step_parts(&self) -> Option<(u128, u32)> {
        Some((u128::try_from(self.mantissa).ok()?, self.scale))
    }

    /// The index of the last grid point, `⌊10^28 / s⌋`.
    pub(crate) fn last(&self) -> U256 {
        self.last
    }

    /// The point `k·s` (`k ≤ last`).
    pub(crate) fn point(&self, k: U256) -> Exact {
        let k = k.min(self.last);
        // A product of two 64-bit halves needs no overflow check; a step
        // of one digit 1 (1, 0.01, ...) needs no product.
        if let (Ok(k), Ok(m)) = (u128::try_from(k), u128::try_from(self.mantissa)) {
            let p = match (u64::try_from(k), u64::try_from(m)) {
                _ if m == 1 => Some(k),
                (Ok(k), Ok(m)) => Some(u128::from(k) * u128::from(m)),
                _ => k.checked_mul(m),
            };
            if let Some(x) = p.and_then(|p| Exact::from_u128(p, self.scale)) {
                return x;
            }
        }
        // Most points fit 128 bits: skip the 256-bit product.
        Exact::from_parts(false, k * self.mantissa, self.scale).unwrap_or(Exact::ZERO)
    }

    /// `⌊x · 10^scale⌋` for `0 ≤ x ≤ 10^28`, else `None` (negative) or a
    /// value past the last index.
    fn scaled_floor(&self, x: Exact) -> Option<U256> {
        let (negative, m, s) = x.to_parts();
        if negative && m != U256::ZERO {
            return None;
        }
        if x > self.ceiling {
            return Some(U256::MAX);
        }
        // 128-bit arithmetic where it fits: the 256-bit one is a long call.
        if let (Ok(m), Ok(p)) = (
            u128::try_from(m),
            u128::try_from(pow10(s.abs_diff(self.scale))),
        ) {
            let scaled = if s >= self.scale {
                Some(m / p)
            } else {
                m.checked_mul(p)
            };
            if let Some(x) = scaled {
                return Some(U256::from(x));
            }
        }
        Some(if s >= self.scale {
            m / pow10(s - self.scale)
        } else {
            m * pow10(self.scale - s)
        })
    }

    /// The largest index whose point is `≤ x`, capped at the last; `None`
    /// when `x < 0`.
    pub(crate) fn floor_index(&self, x: Exact) -> Option<U256> {
        // ⌊⌊x·10^scale⌋ / m⌋ in 128 bits where it fits (an `x` past the
        // ceiling lands past the last index, where the cap takes it).
        if let (Some((m, s)), Ok(step)) = (x.to_i128_parts(), u128::try_from(self.mantissa))
            && let Ok(m) = u128::try_from(m)
        {
            let p = POW10_U128.get(s.abs_diff(self.scale) as usize).copied();
            let scaled = match p {
                Some(p) if s >= self.scale => Some(m / p),
                Some(p) => m.checked_mul(p),
                None => None,
            };
            if let Some(scaled) = scaled {
                let k = if step == 1 { scaled } else { scaled / step };
                return Some(U256::from(k).min(self.last));
            }
        }
        let scaled = self.scaled_floor(x)?;
        if scaled == U256::MAX {
            return Some(self.last);
        }
        // A 128-bit division when both fit: the 256-bit one is a long call.
        let k = match (u128::try_from(scaled), u128::try_from(self.mantissa)) {
            (Ok(x), Ok(m)) => U256::from(x / m),
            _ => scaled / self.mantissa,
        };
        Some(k.min(self.last))
    }

    /// The largest index whose point is `< x`; `None` when `x ≤ 0`.
    pub(crate) fn below_index(&self, x: Exact) -> Option<U256> {
        let k = self.floor_index(x)?;
        if self.point(k) < x {
            Some(k)
        } else {
            k.checked_sub(U256::ONE)
        }
    }

    /// The smallest index whose point is `> x`; `None` past the last.
    pub(crate) fn above_index(&self, x: Exact) -> Option<U256> {
        // The floor index's point is at most `x` (or the last point, below
        // an `x` past the ceiling): the next index is the first above it.
        let next = match self.floor_index(x) {
            None => return Some(U256::ZERO),
            Some(k) => k + 1,
        };
        (next <= self.last).then_some(next)
    }

    /// Whether `x` is a grid point.
    pub(crate) fn contains(&self, x: Exact) -> Option<U256> {
        let k = self.floor_index(x)?;
        (self.point(k) == x).then_some(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(s: &str) -> Exact {
        s.parse().unwrap()
    }

    #[test]
    fn indices_of_a_decimal_step() {
        let g = Grid::new(x("0.25")).unwrap();
        // 10^28 / 0.25 = 4·10^28 points after 0.
        assert_eq!(g.last(), U256::from(4u8) * pow10(28));
        assert_eq!(g.floor_index(x("1")), Some(U256::from(4u8)));
        assert_eq!(g.floor_index(x("1.1")), Some(U256::from(4u8)));
        assert_eq!(g.below_index(x("1")), Some(U256::from(3u8)));
        assert_eq!(g.above_index(x("1")), Some(U256::from(5u8)));
        assert_eq!(g.above_index(x("0.9")), Some(U256::from(4u8)));
        assert_eq!(g.above_index(x("-1")), Some(U256::ZERO));
        assert_eq!(g.below_index(x("0")), None);
        assert_eq!(g.point(U256::from(7u8)), x("1.75"));
        assert_eq!(g.contains(x("1.75")), Some(U256::from(7u8)));
        assert_eq!(g.contains(x("1.7")), None);
    }

    #[test]
    fn the_finest_step_reaches_ten_to_the_56() {
        let g = Grid::new(x("0.0000000000000000000000000001")).unwrap();
        assert_eq!(g.last(), pow10(56));
        assert_eq!(g.point(g.last()), x("10000000000000000000000000000"));
        assert_eq!(g.above_index(g.point(g.last())), None);
        // A step that does not divide 10^28: the last point is below it.
        let g = Grid::new(x("3")).unwrap();
        assert_eq!(g.point(g.last()), x("9999999999999999999999999999"));
    }
}
