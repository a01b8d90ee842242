//! Break-even (explore-json.md, `break_even`): on a grid up to `up_to`,
//! the maximal runs of points where charge `a`, charge `b` or neither is
//! cheaper. Between two breakpoints of either curve both amounts are
//! affine, so their difference changes sign at most once there; the grid
//! point where it does is found exactly.

use ethnum::U256;

use super::curve::{Curve, CurvePiece};
use super::grid::Grid;
use super::search::last_true;
use super::{ExploreError, Explorer};
use crate::exact::Figure;
use crate::{ArithmeticError, Exact};

/// Which charge is cheaper on an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cheaper {
    /// The first charge has the lower amount.
    A,
    /// The second charge has the lower amount.
    B,
    /// Both amounts are equal.
    Equal,
}

impl Cheaper {
    /// The contract's word: `"a"`, `"b"` or `"equal"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
            Self::Equal => "equal",
        }
    }

    fn of(a: Exact, b: Exact) -> Self {
        match a.cmp(&b) {
            std::cmp::Ordering::Less => Self::A,
            std::cmp::Ordering::Greater => Self::B,
            std::cmp::Ordering::Equal => Self::Equal,
        }
    }
}

/// A maximal run of grid points with one winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interval {
    /// Its first grid point.
    pub from: Exact,
    /// Its last grid point.
    pub to: Exact,
    /// The winner.
    pub cheaper: Cheaper,
}

const WHAT: &str = "explore break_even";

/// One curve walked left to right: its value at a breakpoint of either
/// curve, and its piece just after it.
struct Cursor<'a> {
    curve: &'a Curve,
    piece: usize,
}

impl Cursor<'_> {
    /// Moves to the piece that holds `(x, next)`.
    fn seek(&mut self, x: Exact) {
        while self.curve.pieces.get(self.piece).is_some_and(|p| p.to <= x) {
            self.piece += 1;
        }
    }

    fn piece(&self) -> Option<&CurvePiece> {
        self.curve
            .pieces
            .get(self.piece)
            .or_else(|| self.curve.pieces.last())
    }

    /// amount(x): the point when `x` is a breakpoint, else the piece's value.
    fn value(&self, x: Exact) -> Result<Exact, ArithmeticError> {
        if let Some(p) = self
            .curve
            .points
            .iter()
            .skip(self.piece)
            .take(2)
            .find(|p| p.units == x)
        {
            return Ok(p.amount);
        }
        match self.piece() {
            Some(p) => Curve::piece_value(p, x),
            None => Err(ArithmeticError::new(WHAT)),
        }
    }
}

/// Runs of grid indices, merged as they come.
#[derive(Default)]
struct Runs(Vec<(U256, U256, Cheaper)>);

impl Runs {
    fn push(&mut self, from: U256, to: U256, cheaper: Cheaper) {
        if let Some(last) = self.0.last_mut()
            && last.2 == cheaper
            && last.1 + 1 == from
        {
            last.1 = to;
            return;
        }
        self.0.push((from, to, cheaper));
    }
}

/// The break-even intervals of `a` against `b` on the grid of `units_step`
/// up to `up_to`, each curve limited to `max_pieces` canonical pieces.
///
/// ```
/// use meterprice::{Bucket, Charge, Cheaper, Usage, break_even};
/// let a = Charge::from_lago_json("EUR", r#"{"charge_model": "standard", "properties": {"amount": "0.5"}}"#)?;
/// let b = Charge::from_lago_json("EUR", r#"{"charge_model": "package",
///     "properties": {"amount": "4", "package_size": 10, "free_units": 0}}"#)?;
/// let t = Bucket::new(Usage::default());
/// let runs = break_even(&a.explore(&t)?, &b.explore(&t)?, "12".parse()?, "1".parse()?, 10_000)?;
/// let winners: Vec<Cheaper> = runs.iter().map(|r| r.cheaper).collect();
/// // 0: both 0; 1–7: a; 8: both 4; 9–10: b (4 against 4.5, 5); 11–12: a (5.5, 6 against 8).
/// assert_eq!(winners, [Cheaper::Equal, Cheaper::A, Cheaper::Equal, Cheaper::B, Cheaper::A]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`Explorer::curve`], and [`ExploreError::InvalidUsage`] for a step
/// out of range.
pub fn break_even(
    a: &Explorer<'_>,
    b: &Explorer<'_>,
    up_to: Exact,
    units_step: Exact,
    max_pieces: usize,
) -> Result<Vec<Interval>, ExploreError> {
    super::budget::check_step("break_even.up_to", up_to)?;
    super::budget::check_step("break_even.units_step", units_step)?;
    let ca = a.curve(up_to, max_pieces)?;
    let cb = b.curve(up_to, max_pieces)?;
    let grid = Grid::new(units_step).ok_or_else(|| {
        ExploreError::InvalidUsage(format!(
            "break_even.units_step {units_step} is out of range"
        ))
    })?;
    let runs = compare(&ca, &cb, &grid)?;
    Ok(runs
        .0
        .into_iter()
        .map(|(f, t, cheaper)| Interval {
            from: grid.point(f),
            to: grid.point(t),
            cheaper,
        })
        .collect())
}

/// Both curves' breakpoints, merged, in order.
fn breakpoints(a: &Curve, b: &Curve) -> Vec<Exact> {
    let mut xs: Vec<Exact> = a.points.iter().chain(&b.points).map(|p| p.units).collect();
    xs.sort();
    xs.dedup();
    xs
}

fn compare(a: &Curve, b: &Curve, grid: &Grid) -> Result<Runs, ArithmeticError> {
    let xs = breakpoints(a, b);
    let (mut ca, mut cb) = (Cursor { curve: a, piece: 0 }, Cursor { curve: b, piece: 0 });
    let mut runs = Runs::default();
    for (i, &x) in xs.iter().enumerate() {
        ca.seek(x);
        cb.seek(x);
        if let Some(k) = grid.contains(x) {
            runs.push(k, k, Cheaper::of(ca.value(x)?, cb.value(x)?));
        }
        let Some(&next) = xs.get(i + 1) else { break };
        let (Some(lo), Some(hi)) = (grid.above_index(x), grid.below_index(next)) else {
            continue;
        };
        if lo > hi {
            continue;
        }
        let (Some(pa), Some(pb)) = (ca.piece(), cb.piece()) else {
            continue;
        };
        inside(pa, pb, grid, (lo, hi), &mut runs)?;
    }
    Ok(runs)
}

/// The grid points `lo..=hi` strictly between two breakpoints, where both
/// amounts follow their pieces.
fn inside(
    pa: &CurvePiece,
    pb: &CurvePiece,
    grid: &Grid,
    (lo, hi): (U256, U256),
    runs: &mut Runs,
) -> Result<(), ArithmeticError> {
    let winner = |k: U256| -> Result<Cheaper, ArithmeticError> {
        let u = grid.point(k);
        Ok(Cheaper::of(
            Curve::piece_value(pa, u)?,
            Curve::piece_value(pb, u)?,
        ))
    };
    let (first, last) = (winner(lo)?, winner(hi)?);
    if first == last {
        runs.push(lo, hi, first);
        return Ok(());
    }
    // The difference is affine: one sign, perhaps one zero, the other sign.
    let guess = crossing(pa, pb)
        .and_then(|r| grid.below_index(r))
        .unwrap_or(lo);
    let end = last_true(lo, hi, guess, |k| winner(k).map(|w| w == first))?.unwrap_or(lo);
    runs.push(lo, end, first);
    let mut next = end + 1;
    if next <= hi && winner(next)? == Cheaper::Equal {
        runs.push(next, next, Cheaper::Equal);
        next += 1;
    }
    if next <= hi {
        runs.push(next, hi, last);
    }
    Ok(())
}

/// Where the two pieces' lines meet (rounded: a guess for the search).
fn crossing(pa: &CurvePiece, pb: &CurvePiece) -> Option<Exact> {
    // a(u) − b(u) = (a0 − b0) + (ma − mb)(u − x), both taken at x = pa.from.
    let x = pa.from.max(pb.from);
    let da = Curve::piece_value(pa, x).ok()?;
    let db = Curve::piece_value(pb, x).ok()?;
    let dm = pa.slope.minus(pb.slope).figure(WHAT).ok()?;
    if dm.is_zero() {
        return None;
    }
    let d0 = da.minus(db).figure(WHAT).ok()?;
    x.plus((-d0).over(dm).figure(WHAT).ok()?).figure(WHAT).ok()
}
