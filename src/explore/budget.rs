//! Budget → units (explore-json.md, `budget`): the largest grid point up to
//! which every cost stays within the budget, and the largest within it
//! whatever lies before.
//!
//! Along one segment the amount grows, so the counted cents `n` grow, and
//! the cost `rate` bills is monotone in `n` above the minimum: the end of
//! the run within the budget is found in closed form and checked with two
//! evaluations of `rate`'s own arithmetic. Below the minimum (the band, see
//! `band.rs`) the cost repeats with a short period, which bounds the search
//! there. A unit amount out of range (a few units against a large flat
//! fee) can only fail a segment's first points, so it is searched apart.
//! The work is per segment, never per grid point: a budget of 10^22 cents
//! costs what a budget of 100 does.

use ethnum::U256;

use super::band::{Band, BandRule, fraction, gcd};
use super::cost::Money;
use super::grid::Grid;
use super::kernel::{CentsCost, Line};
use super::memo::Memo;
use super::search::last_true;
use super::shape::{Form, Segment, Span, Unit};
use super::skip::StepFacts;
use super::{ExploreError, Explorer};
use crate::exact::Figure;
use crate::{ArithmeticError, Exact};
use std::cell::OnceCell;

/// The budget question of explore-json.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetQuery {
    budget_cents: i128,
    step: Exact,
    including_taxes: bool,
}

/// The budget answer of explore-json.md (fields as its table defines them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetAnswer {
    /// The largest grid point up to which every cost is within the budget.
    pub max_units: Option<Exact>,
    /// cost(`max_units`).
    pub cost_cents: Option<i128>,
    /// The first grid point over the budget.
    pub next_units: Option<Exact>,
    /// cost(`next_units`), `None` also where `rate` overflows.
    pub next_cost_cents: Option<i128>,
    /// Every grid point is within the budget.
    pub unbounded: bool,
    /// The largest grid point within the budget, whatever lies before it.
    pub max_units_any: Option<Exact>,
    /// The last grid point is within the budget.
    pub unbounded_any: bool,
}

use super::grid::ceiling;

/// Longest scan of a band pattern (evaluations).
const SCAN_LIMIT: u64 = 1 << 20;

const WHAT: &str = "explore budget";

impl BudgetQuery {
    /// A budget of `budget_cents` minor units (`0 ≤ B < 2^96`) on the grid
    /// of `units_step` (`0 < s ≤ 10^28`, at most 28 fractional digits).
    ///
    /// # Errors
    /// [`ExploreError::InvalidUsage`] naming the field out of range.
    pub fn new(
        budget_cents: i128,
        units_step: Exact,
        including_taxes: bool,
    ) -> Result<Self, ExploreError> {
        if !(0..1i128 << 96).contains(&budget_cents) {
            return Err(ExploreError::InvalidUsage(format!(
                "budget.budget_cents must be >= 0 and < 2^96, got {budget_cents}"
            )));
        }
        check_step("budget.units_step", units_step)?;
        Ok(Self {
            budget_cents,
            step: units_step.normalize(),
            including_taxes,
        })
    }

    /// The budget in minor units.
    pub fn budget_cents(&self) -> i128 {
        self.budget_cents
    }

    /// The grid step.
    pub fn units_step(&self) -> Exact {
        self.step
    }

    /// Whether the budget covers the taxes.
    pub fn including_taxes(&self) -> bool {
        self.including_taxes
    }
}

/// Checks a step or bound: `0 < x ≤ 10^28` with at most 28 places.
pub(crate) fn check_step(field: &str, x: Exact) -> Result<(), ExploreError> {
    let n = x.normalize();
    let (_, _, scale) = n.to_parts();
    if n <= Exact::ZERO || n > ceiling() || scale > 28 {
        return Err(ExploreError::InvalidUsage(format!(
            "{field} must be > 0 and <= 10^28 with at most 28 fractional digits, got {n}"
        )));
    }
    Ok(())
}

/// cost(u) as `rate` bills it; `None` where `rate` overflows.
pub(crate) fn cost_at(ex: &Explorer<'_>, u: Exact, taxes: bool) -> Option<i128> {
    let seg = if u.is_zero() {
        None
    } else {
        Some(ex.shape.segment_of(u)?)
    };
    Eval { ex, taxes }.cost(seg, u)
}

/// Evaluates `rate`'s cost at a point of a known segment.
#[derive(Clone, Copy)]
struct Eval<'a, 'c> {
    ex: &'a Explorer<'c>,
    taxes: bool,
}

impl Eval<'_, '_> {
    fn amount(&self, seg: Option<&Segment>, u: Exact) -> Result<Exact, ArithmeticError> {
        match seg {
            None => Ok(self.ex.shape.zero),
            Some(s) => s.amount(u),
        }
    }

    fn cost(&self, seg: Option<&Segment>, u: Exact) -> Option<i128> {
        let amount = self.amount(seg, u).ok()?;
        let unit = match seg {
            None => Exact::ZERO,
            Some(s) => unit_amount(&self.ex.money, s, u, amount).ok()?,
        };
        let t = self.ex.money.totals(amount, unit)?;
        Some(if self.taxes {
            t.total_amount_cents
        } else {
            t.amount_cents
        })
    }

    /// Whether the cost fails only through the unit amount.
    fn unit_fails(&self, seg: Option<&Segment>, u: Exact) -> bool {
        let (Some(s), Ok(amount)) = (seg, self.amount(seg, u)) else {
            return false;
        };
        match unit_amount(&self.ex.money, s, u, amount) {
            Err(_) => true,
            Ok(unit) if unit.is_zero() => false,
            Ok(unit) => {
                self.ex.money.totals(amount, unit).is_none()
                    && self.ex.money.totals(amount, Exact::ZERO).is_some()
            }
        }
    }
}

/// The unit amount the model reports (0 where it certainly fits: only its
/// range matters here).
fn unit_amount(
    money: &Money<'_>,
    seg: &Segment,
    u: Exact,
    amount: Exact,
) -> Result<Exact, ArithmeticError> {
    let divisor = match &seg.form {
        Form::Affine(a) => match a.unit {
            Unit::Quotient => u,
            Unit::Price(p) => return p.as_quotient().map_or_else(|| quotient(amount, u), Ok),
            Unit::Volume { price, flat } => match price.as_quotient() {
                Some(p) if flat.is_zero() => return Ok(p),
                _ => u,
            },
            Unit::Paid(free) => u.minus(free).figure(WHAT)?.max(Exact::ZERO),
        },
        Form::Steps(s) => u.minus(s.free).figure(WHAT)?,
        Form::Broken => return Err(ArithmeticError::new(WHAT)),
    };
    if money.unit_is_safe(amount, divisor) {
        return Ok(Exact::ZERO);
    }
    quotient(amount, divisor)
}

fn quotient(a: Exact, b: Exact) -> Result<Exact, ArithmeticError> {
    a.over(b).figure("explore unit_amount")
}

/// The grid points of one segment (or of the point 0).
#[derive(Clone, Copy)]
struct Run<'s> {
    seg: Option<&'s Segment>,
    lo: U256,
    hi: U256,
    /// The run's amounts as integers, where the kernel can price them.
    line: Option<Line>,
}

/// One budget question against one explorer.
struct Search<'a, 'c> {
    eval: Eval<'a, 'c>,
    grid: Grid,
    budget: i128,
    band: Band,
    /// Amounts below this cost at most `c*` counted cents (the monotone
    /// region's end); `None`: nothing above the minimum is within budget.
    /// Worked out when first needed (the kernel needs only `c*`).
    a_max: OnceCell<Option<Exact>>,
    /// Amounts below this are in the band (counted cents below the minimum).
    a_band: Option<Exact>,
    memo: Memo,
    /// What `rate` bills for counted cents, where the kernel applies.
    cents_cost: Option<CentsCost>,
    /// `c*`, as [`Self::a_max`] in counted cents.
    c_star: Option<i128>,
    /// The step, as the precomputed segment checks need it.
    step: StepFacts,
}

impl Explorer<'_> {
    /// Answers a budget question (explore-json.md): every figure is what
    /// `rate` bills at that point.
    ///
    /// # Errors
    /// [`ExploreError::Unsupported`] for a band pattern too long to search
    /// (a minimum's true-up taxed apart, at rates of many digits).
    pub fn units_for_budget(&self, query: &BudgetQuery) -> Result<BudgetAnswer, ExploreError> {
        let grid = Grid::new(query.step).ok_or_else(|| {
            ExploreError::InvalidUsage(format!("budget.units_step {} is out of range", query.step))
        })?;
        let search = Search::new(self, grid, query);
        search.answer()
    }

    /// The band of the minimum (worked out once per explorer).
    pub(crate) fn band_rule(money: &Money<'_>) -> BandRule {
        let rate_sum = Exact::try_sum(money.taxes().iter().map(|t| t.rate))
            .figure(WHAT)
            .unwrap_or(Exact::ZERO);
        let q = rate_sum.div_pow10(2).figure(WHAT).unwrap_or(Exact::ZERO);
        let w = match money.pricing_unit() {
            None => Exact::ONE,
            Some(pu) => {
                let sub = Exact::from(money.currency().subunit_to_unit());
                pu.conversion_rate
                    .times(sub)
                    .figure(WHAT)
                    .and_then(|x| x.div_pow10(2).figure(WHAT))
                    .unwrap_or(Exact::ONE)
            }
        };
        BandRule {
            min: money.min(),
            w,
            q,
            pricing_unit: money.has_pricing_unit(),
        }
    }
}

impl<'a, 'c> Search<'a, 'c> {
    fn new(ex: &'a Explorer<'c>, grid: Grid, query: &BudgetQuery) -> Self {
        let eval = Eval {
            ex,
            taxes: query.including_taxes,
        };
        let rule = &ex.band;
        let band = rule.classify(query.budget_cents, query.including_taxes);
        let sub = ex.money.counted_subunit();
        let min = ex.money.min().max(0);
        // The amount where the counted cents round up to `n`: n − ½ cents.
        let threshold = |n: i128| -> Option<Exact> {
            let half = Exact::try_from(n)
                .ok()?
                .minus(Exact::from_small(5, 1))
                .figure(WHAT)
                .ok()?;
            amount_of_cents(half, sub)
        };
        let a_band = if min > 0 { threshold(min) } else { None };
        let c_star = counted_limit(&ex.money, query, min, rule);
        let step = StepFacts {
            places: grid.step().scale(),
            whole: grid.step() >= Exact::ONE,
        };
        Self {
            eval,
            grid,
            budget: query.budget_cents,
            band,
            a_max: OnceCell::new(),
            a_band,
            memo: Memo::default(),
            cents_cost: ex.cents_cost,
            c_star,
            step,
        }
    }

    /// The amount below which a fee costs at most `c*` counted cents: `c*
    /// + ½` cents.
    fn a_max(&self) -> Option<Exact> {
        *self.a_max.get_or_init(|| {
            let c = self.c_star?.checked_add(1)?;
            let half = Exact::try_from(c)
                .ok()?
                .minus(Exact::from_small(5, 1))
                .figure(WHAT)
                .ok()?;
            amount_of_cents(half, self.eval.ex.money.counted_subunit())
        })
    }

    fn point(&self, k: U256) -> Exact {
        self.grid.point(k)
    }

    /// cost(k·s), where `k` lies in the run: by the kernel where it can
    /// vouch for it, else by `rate`'s own functions.
    fn cost(&self, run: Run<'_>, k: U256) -> Option<i128> {
        self.memo.cost(k, || {
            let fast = match (run.line, self.cents_cost) {
                (Some(line), Some(cc)) => line.cents(k).and_then(|n| cc.cost(n, self.eval.taxes)),
                (_, Some(cc)) if run.seg.is_none() => {
                    self.zero_cents().and_then(|n| cc.cost(n, self.eval.taxes))
                }
                _ => None,
            };
            // The kernel never answers an overflow: `None` is `rate`'s to say.
            fast.or_else(|| self.eval.cost(run.seg, self.point(k)))
        })
    }

    /// The counted cents at 0 units, where the kernel can price them.
    fn zero_cents(&self) -> Option<i128> {
        self.eval.ex.zero_cents
    }

    fn good(&self, run: Run<'_>, k: U256) -> bool {
        self.cost(run, k).is_some_and(|c| c <= self.budget)
    }

    fn in_band(&self, run: Run<'_>, k: U256) -> bool {
        match (self.a_band, self.eval.amount(run.seg, self.point(k))) {
            (Some(limit), Ok(a)) => a < limit,
            _ => false,
        }
    }

    /// The runs: the point 0, then each segment's grid points.
    fn runs(&self) -> Vec<Run<'a>> {
        let mut runs = vec![self.zero_run()];
        runs.extend(
            self.eval
                .ex
                .shape
                .segments
                .iter()
                .enumerate()
                .map_while(|(i, seg)| self.run_of(i, seg))
                .flatten(),
        );
        runs
    }

    fn zero_run(&self) -> Run<'a> {
        Run {
            seg: None,
            lo: U256::ZERO,
            hi: U256::ZERO,
            line: None,
        }
    }

    /// A segment's grid points: `None` past the grid's end, `Some(None)`
    /// when the segment holds none.
    fn run_of(&self, i: usize, seg: &'a Segment) -> Option<Option<Run<'a>>> {
        let lo = self
            .grid
            .above_index(seg.lo.max(Exact::ZERO))?
            .max(U256::ONE);
        let hi = match seg.hi {
            Some(h) => self.grid.floor_index(h),
            None => Some(self.grid.last()),
        };
        Some(hi.filter(|hi| lo <= *hi).map(|hi| Run {
            seg: Some(seg),
            lo,
            hi,
            line: self.line_of(i, lo),
        }))
    }

    /// The kernel's line of segment `i`'s run from `lo`, when it has one.
    fn line_of(&self, i: usize, lo: U256) -> Option<Line> {
        self.cents_cost?;
        let ex = self.eval.ex;
        let seg = (ex.shape.segments.get(i)?, ex.shape.spans.get(i)?.as_ref());
        ex.skips()
            .line(i, seg, &ex.money)?
            .line(self.grid.step_parts()?, self.step.whole, lo)
    }

    /// The last index of the run whose cost stays within `c*` counted
    /// cents (a guess; exact from the kernel).
    fn guess_max(&self, run: Run<'_>, start: U256) -> U256 {
        if let (Some(line), Some(c)) = (run.line, self.c_star)
            && let Some(k) = line.last_within(c)
        {
            return k.map_or(run.lo, |k| k.clamp(run.lo, run.hi));
        }
        self.a_max().map_or(start, |l| self.guess_below(run, l))
    }

    /// The last index of the run whose amount is below `limit` (a guess).
    fn guess_below(&self, run: Run<'_>, limit: Exact) -> U256 {
        let Some(seg) = run.seg else { return run.lo };
        let at = match &seg.form {
            Form::Affine(a) => match a.slope() {
                Ok(m) if !m.is_zero() => limit
                    .minus(a.base)
                    .figure(WHAT)
                    .unwrap_or(limit)
                    .over(m)
                    .figure(WHAT)
                    .and_then(|d| a.origin.plus(d).figure(WHAT)),
                _ => return if a.base < limit { run.hi } else { run.lo },
            },
            Form::Steps(s) => limit.over(s.amount).figure(WHAT).and_then(|p| {
                let full = p
                    .trunc()
                    .minus(if p.is_integer() {
                        Exact::ONE
                    } else {
                        Exact::ZERO
                    })
                    .figure(WHAT)?;
                s.free.plus(full.times(s.size).figure(WHAT)?).figure(WHAT)
            }),
            Form::Broken => return run.lo,
        };
        match at {
            Ok(u) if u <= Exact::ZERO => run.lo,
            Ok(u) => self
                .grid
                .below_index(u)
                .unwrap_or(run.lo)
                .clamp(run.lo, run.hi),
            Err(_) => run.hi,
        }
    }

    /// The first grid point over the budget, and its run.
    fn first_bad_point(&self) -> Result<Option<(U256, Run<'a>)>, ExploreError> {
        let zero = self.zero_run();
        if !self.good(zero, U256::ZERO) {
            return Ok(Some((U256::ZERO, zero)));
        }
        // Runs are made as the search reaches them: most answers lie in
        // the first segments.
        let shape = &self.eval.ex.shape;
        let mut i = 0;
        while let (Some(seg), Some(span)) = (shape.segments.get(i), shape.spans.get(i)) {
            // A segment whose every amount is within the budget needs not
            // even its grid points; past the first, such segments are
            // passed over together.
            if self.segment_surely_good(i, seg, span.as_ref()) {
                i = if i == 0 { self.first_unsure() } else { i + 1 };
                continue;
            }
            let Some(run) = self.run_of(i, seg) else {
                break;
            };
            if let Some(run) = run
                && let Some(k) = self.first_bad(run)?
            {
                return Ok(Some((k, run)));
            }
            i += 1;
        }
        Ok(None)
    }

    fn answer(&self) -> Result<BudgetAnswer, ExploreError> {
        let Some((bad, run)) = self.first_bad_point()? else {
            return Ok(BudgetAnswer {
                max_units: None,
                cost_cents: None,
                next_units: None,
                next_cost_cents: None,
                unbounded: true,
                max_units_any: None,
                unbounded_any: true,
            });
        };
        // The search's last evaluations are these two points: found in
        // the memo (or priced again).
        let cost = |k: U256| {
            if k >= run.lo {
                self.cost(run, k)
            } else if k == U256::ZERO {
                self.cost(self.zero_run(), k)
            } else {
                self.memo
                    .cost(k, || cost_at(self.eval.ex, self.point(k), self.eval.taxes))
            }
        };
        let before = bad.checked_sub(U256::ONE);
        let next_cost = cost(bad);
        let monotone = self.eval.ex.shape.monotone
            && !matches!(self.band, Band::Pattern(_))
            && next_cost.is_some();
        let any = if monotone {
            before
        } else {
            self.last_good_any(&self.runs())?
        };
        let unbounded_any = any == Some(self.grid.last());
        Ok(BudgetAnswer {
            max_units: before.map(|k| self.point(k)),
            cost_cents: before.and_then(cost),
            next_units: Some(self.point(bad)),
            next_cost_cents: next_cost,
            unbounded: false,
            max_units_any: any.filter(|_| !unbounded_any).map(|k| self.point(k)),
            unbounded_any,
        })
    }

    fn last_good_any(&self, runs: &[Run<'_>]) -> Result<Option<U256>, ExploreError> {
        for run in runs.iter().rev() {
            if let Some(k) = self.last_good(*run)? {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// Whether every amount of a segment is within the budget, judged
    /// from its span alone (no grid point, no evaluation of `rate`): its
    /// amount grows to its end, below the amounts whose cost can reach the
    /// budget, and its unit amount stays in range over any units above
    /// the segment's start (or above one step, for a segment from 0).
    fn segment_surely_good(&self, i: usize, seg: &Segment, span: Option<&Span>) -> bool {
        let in_band_possible = !matches!(self.band, Band::Absent | Band::AllGood);
        let Some(c_star) = self.c_star.filter(|_| !in_band_possible) else {
            return false;
        };
        // All but the budget and the step was worked out once (skip.rs);
        // only the segment from 0 on a step below 1 is looked at here.
        match self.eval.ex.skips().surely_good(i, c_star, self.step) {
            Some(known) => return known,
            None if i > 0 => return false,
            None => {}
        }
        let (Some(span), Some(a_max), Form::Affine(a)) = (span, self.a_max(), &seg.form) else {
            return false;
        };
        let Some(top) = span.end else { return false };
        let divisor = match a.unit {
            Unit::Paid(_) => return false,
            _ if seg.lo.is_zero() => self.grid.step(),
            _ => seg.lo,
        };
        let money = &self.eval.ex.money;
        // The amounts at grid points have more places than the span's.
        let places = a.scale_at(self.grid.step().scale());
        !in_band_possible
            && money.safe_scale().is_some_and(|s| places <= s)
            && !span.slope.is_negative()
            && top < a_max
            && money.amount_is_safe(top)
            && money.unit_is_safe(top, divisor)
    }

    /// The first segment from 1 on that is not [`Self::segment_surely_good`].
    fn first_unsure(&self) -> usize {
        match (self.c_star, self.band) {
            (Some(c_star), Band::Absent | Band::AllGood) => {
                self.eval.ex.skips().first_unsure(c_star, self.step)
            }
            _ => 1,
        }
    }

    /// Whether every point of the run is within the budget, judged from
    /// its largest amount alone (no evaluation of `rate`).
    fn surely_good(&self, run: Run<'_>) -> bool {
        self.surely_good_between(run, run.hi)
    }

    /// Whether the run's first point is within the budget, judged as
    /// [`Self::surely_good`] judges a run.
    fn point_surely_good(&self, run: Run<'_>, k: U256) -> bool {
        self.surely_good_between(Run { hi: k, ..run }, k)
    }

    /// Whether the run's points up to `hi` are surely within the budget.
    fn surely_good_between(&self, run: Run<'_>, hi: U256) -> bool {
        let (Some(seg), Some(a_max)) = (run.seg, self.a_max()) else {
            return false;
        };
        let in_band_possible = !matches!(self.band, Band::Absent | Band::AllGood);
        let Ok(top) = seg.amount(self.point(hi)) else {
            return false;
        };
        let first = self.point(run.lo);
        let divisor = match &seg.form {
            Form::Affine(a) => match a.unit {
                Unit::Paid(free) => first.minus(free).figure(WHAT).unwrap_or(Exact::ZERO),
                _ => first,
            },
            Form::Steps(s) => first.minus(s.free).figure(WHAT).unwrap_or(Exact::ZERO),
            Form::Broken => return false,
        };
        !in_band_possible
            && top < a_max
            && self.eval.ex.money.amount_is_safe(top)
            && self.eval.ex.money.unit_is_safe(top, divisor)
    }

    /// The run's first point over the budget.
    fn first_bad(&self, run: Run<'_>) -> Result<Option<U256>, ExploreError> {
        // A kernel run prices its points for little: no need to bound them.
        let kernel = run.line.is_some();
        if !kernel && self.surely_good(run) {
            return Ok(None);
        }
        let banded = self.a_band.is_some() && self.in_band(run, run.lo);
        // The first point is looked at apart: a unit amount out of range
        // fails only a segment's first points, where the search's
        // predicate is not monotone. (A kernel run has none: the search
        // looks at its first point only if it must.)
        let first_apart = banded || !(kernel || self.point_surely_good(run, run.lo));
        if first_apart && !self.good(run, run.lo) {
            return Ok(Some(run.lo));
        }
        let mut start = run.lo;
        if banded {
            let guess = self.a_band.map_or(run.lo, |l| self.guess_below(run, l));
            let end = self.band_end(run, guess);
            if matches!(self.band, Band::Pattern(_))
                && let Some(k) = self.scan(run, start, end, true)?
            {
                return Ok(Some(k));
            }
            if end == run.hi {
                return Ok(None);
            }
            start = end + 1;
            if !self.good(run, start) {
                return Ok(Some(start));
            }
        }
        let guess = self.guess_max(run, start);
        // The kernel's guess is exact: the run's predicate (monotone from
        // `start`) changes right after it, which its first two looks show.
        if kernel && guess >= start {
            let good = self.good(run, guess);
            if !good && guess == start {
                return Ok(Some(start));
            }
            if good && guess == run.hi {
                return Ok(None);
            }
            if good && !self.good(run, guess + 1) {
                return Ok(Some(guess + 1));
            }
        }
        let last = last_true(start, run.hi, guess, |k| {
            Ok::<_, ExploreError>(self.good(run, k))
        })?;
        Ok(match last {
            Some(k) if k < run.hi => Some(k + 1),
            Some(_) => None,
            None => Some(start),
        })
    }

    fn band_end(&self, run: Run<'_>, guess: U256) -> U256 {
        last_true(run.lo, run.hi, guess, |k| Ok::<_, ()>(self.in_band(run, k)))
            .ok()
            .flatten()
            .unwrap_or(run.lo)
    }

    /// The run's last point within the budget.
    fn last_good(&self, run: Run<'_>) -> Result<Option<U256>, ExploreError> {
        let band_end = if self.a_band.is_some() && self.in_band(run, run.lo) {
            let guess = self.a_band.map_or(run.lo, |l| self.guess_below(run, l));
            Some(self.band_end(run, guess))
        } else {
            None
        };
        let from = band_end.map_or(run.lo, |e| e + 1);
        if from <= run.hi {
            let unit_fails = |k: U256| Ok::<_, ()>(self.eval.unit_fails(run.seg, self.point(k)));
            let start = if unit_fails(from).unwrap_or(false) {
                last_true(from, run.hi, from, unit_fails)
                    .ok()
                    .flatten()
                    .map_or(from, |k| k + 1)
            } else {
                from
            };
            if start <= run.hi && self.good(run, start) {
                let guess = self.guess_max(run, start);
                let last = last_true(start, run.hi, guess, |k| Ok::<_, ()>(self.good(run, k)));
                if let Ok(Some(k)) = last {
                    return Ok(Some(k));
                }
            }
        }
        let Some(end) = band_end else {
            return Ok(None);
        };
        match self.band {
            Band::Absent | Band::AllBad => Ok(None),
            Band::AllGood => Ok(self.good(run, end).then_some(end)),
            Band::Pattern(_) => self.scan(run, run.lo, end, false),
        }
    }

    /// Scans the band part `[from, to]` of a run for its first point over
    /// the budget (`forward`) or its last point within it, over one period
    /// of the pattern: a period without one proves there is none.
    fn scan(
        &self,
        run: Run<'_>,
        from: U256,
        to: U256,
        forward: bool,
    ) -> Result<Option<U256>, ExploreError> {
        let len = to - from + 1;
        let count = match self.run_period(run) {
            Some(p) if p.min(len) <= U256::from(SCAN_LIMIT) => p.min(len),
            _ if len <= U256::from(SCAN_LIMIT) => len,
            _ => return self.scan_cents(run, from, to, forward),
        };
        let mut i = U256::ZERO;
        while i < count {
            let k = if forward { from + i } else { to - i };
            if self.good(run, k) != forward {
                return Ok(Some(k));
            }
            i += 1;
        }
        Ok(None)
    }

    /// The period of the cost along the run's indices inside the band: a
    /// shift that moves the counted cents by a multiple of the band's
    /// period.
    fn run_period(&self, run: Run<'_>) -> Option<U256> {
        let Band::Pattern(Some(period)) = self.band else {
            return None;
        };
        let sub = Exact::from(self.eval.ex.money.counted_subunit());
        let step = self.grid.step();
        let shift = |per_index: Exact| -> Option<U256> {
            let (g1, g2) = fraction(per_index)?;
            if g1 == U256::ZERO {
                return Some(U256::ONE);
            }
            g2.checked_mul(period / gcd(g1, period))
        };
        match &run.seg?.form {
            Form::Affine(a) => {
                let m = a.slope().ok()?;
                shift(
                    m.times(step)
                        .figure(WHAT)
                        .ok()?
                        .times(sub)
                        .figure(WHAT)
                        .ok()?,
                )
            }
            Form::Steps(s) => {
                let (h1, h2) = fraction(step.over(s.size).figure(WHAT).ok()?)?;
                let (t1, t2) = fraction(s.amount.times(sub).figure(WHAT).ok()?)?;
                let (r1, r2) = reduce(h1.checked_mul(t1)?, t2);
                if r1 == U256::ZERO {
                    return Some(U256::ONE);
                }
                h2.checked_mul(r2.checked_mul(period / gcd(r1, period))?)
            }
            Form::Broken => Some(U256::ONE),
        }
    }

    /// The band scan over counted cents rather than indices, for a segment
    /// that moves by at most one counted cent per index (so every cent in
    /// its range is reached): one period of cents, then the index.
    fn scan_cents(
        &self,
        run: Run<'_>,
        from: U256,
        to: U256,
        forward: bool,
    ) -> Result<Option<U256>, ExploreError> {
        let irregular = || {
            ExploreError::Unsupported(
                "the budget lies in the band of the minimum's true-up, whose rounding repeats with a period too long to search; choose another budget or step".into(),
            )
        };
        let Band::Pattern(Some(period)) = self.band else {
            return Err(irregular());
        };
        let money = &self.eval.ex.money;
        let counted = |k: U256| -> Option<i128> {
            money.counted_cents(self.eval.amount(run.seg, self.point(k)).ok()?)
        };
        let dense = match &run.seg.map(|s| s.form) {
            Some(Form::Affine(a)) => a.slope().ok().and_then(|m| {
                let per = m
                    .times(self.grid.step())
                    .figure(WHAT)
                    .ok()?
                    .times(Exact::from(money.counted_subunit()))
                    .figure(WHAT)
                    .ok()?;
                Some(per <= Exact::ONE)
            }),
            _ => None,
        };
        if dense != Some(true) || period > U256::from(SCAN_LIMIT) {
            return Err(irregular());
        }
        let (Some(n_from), Some(n_to)) = (counted(from), counted(to)) else {
            return Err(irregular());
        };
        let sub = money.counted_subunit();
        let band_cost = |n: i128| -> Option<i128> {
            let amount = amount_of_cents(Exact::try_from(n).ok()?, sub)?;
            let t = money.totals(amount, Exact::ZERO)?;
            Some(if self.eval.taxes {
                t.total_amount_cents
            } else {
                t.amount_cents
            })
        };
        let ok = |n: i128| band_cost(n).is_some_and(|c| c <= self.budget);
        let span = i128::try_from(period.as_u128()).unwrap_or(i128::MAX);
        let steps = (n_to - n_from + 1).min(span);
        for i in 0..steps {
            let n = if forward { n_from + i } else { n_to - i };
            if ok(n) != forward {
                // The index where the counted cents reach n.
                let below = |k: U256| {
                    Ok::<_, ()>(counted(k).is_some_and(|c| if forward { c < n } else { c <= n }))
                };
                let last = last_true(from, to, from, below).ok().flatten();
                return Ok(match (forward, last) {
                    (true, Some(k)) if k < to => Some(k + 1),
                    (true, None) => Some(from),
                    (true, Some(_)) => None,
                    (false, k) => k.filter(|k| self.good(run, *k)),
                });
            }
        }
        Ok(None)
    }
}

fn reduce(a: U256, b: U256) -> (U256, U256) {
    let g = gcd(a, b);
    (a / g, b / g)
}

/// The amount whose counted cents are exactly `n`.
fn amount_of_cents(n: Exact, sub: u32) -> Option<Exact> {
    let places = match sub {
        1 => 0,
        100 => 2,
        1000 => 3,
        10_000 => 4,
        _ => return n.over(Exact::from(sub)).figure(WHAT).ok(),
    };
    n.div_pow10(places).figure(WHAT).ok()
}

/// `c*`: the most counted cents a fee can have above the minimum and stay
/// within the budget (its cost grows with them there); `None` when even the
/// minimum's own cents do not.
fn counted_limit(
    money: &Money<'_>,
    query: &BudgetQuery,
    min: i128,
    rule: &BandRule,
) -> Option<i128> {
    let sub = money.counted_subunit();
    // Without a pricing unit or taxes the cost is the cents themselves.
    if !rule.pricing_unit && (rule.q.is_zero() || !query.including_taxes) {
        return (query.budget_cents >= min).then_some(query.budget_cents);
    }
    let cost = |n: U256| -> Option<i128> {
        let n = Exact::from_parts(false, n, 0)?;
        let amount = amount_of_cents(n, sub)?;
        let t = money.totals(amount, Exact::ZERO)?;
        Some(if query.including_taxes {
            t.total_amount_cents
        } else {
            t.amount_cents
        })
    };
    let ok = |n: U256| Ok::<_, ()>(cost(n).is_some_and(|c| c <= query.budget_cents));
    // Fiat cents per counted cent, with the taxes: the guess divides by it.
    let per = if query.including_taxes {
        rule.w
            .times(Exact::ONE.plus(rule.q).figure(WHAT).ok()?)
            .figure(WHAT)
            .ok()?
    } else {
        rule.w
    };
    let budget = Exact::try_from(query.budget_cents).ok()?;
    let guess = budget.over(per).figure(WHAT).ok()?.floor();
    let guess = U256::try_from(guess.to_i128().unwrap_or(0).max(0)).unwrap_or(U256::ZERO);
    let lo = U256::try_from(min).ok()?;
    let hi = U256::ONE << 96;
    let found = last_true(lo, hi, guess, ok).ok()??;
    i128::try_from(found).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bucket, Charge, Usage};

    /// A random small charge of model `case % 5`, with taxes and perhaps a
    /// minimum (`next(n)` draws below `n`).
    fn random_charge(case: u32, next: &mut impl FnMut(u64) -> u64) -> String {
        let prices = ["0", "1", "0.5", "1.996", "0.0003", "12.25", "7", "0.000001"];
        let rates = ["1", "2.5", "33.3", "0.125"];
        let pick = |list: &[&'static str], i: u64| list[i as usize % list.len()];
        let tiers: Vec<String> = (0..3)
            .map(|i| {
                let from = if i == 0 { 0 } else { 10 * i + 1 };
                let to = if i == 2 { "null".into() } else { (10 * (i + 1)).to_string() };
                format!(
                    r#"{{"from_value": {from}, "to_value": {to}, "per_unit_amount": "{}", "rate": "{}", "flat_amount": "{}"}}"#,
                    pick(&prices, next(8)),
                    pick(&rates, next(4)),
                    pick(&["0", "2.5", "0.05"], next(3))
                )
            })
            .collect();
        let tiers = tiers.join(", ");
        let model = match case % 5 {
            0 => format!(r#""graduated", "properties": {{"graduated_ranges": [{tiers}]}}"#),
            1 => format!(r#""volume", "properties": {{"volume_ranges": [{tiers}]}}"#),
            2 => format!(
                r#""graduated_percentage", "properties": {{"graduated_percentage_ranges": [{tiers}]}}"#
            ),
            3 => format!(
                r#""percentage", "properties": {{"rate": "{}", "fixed_amount": "0.25"}}"#,
                pick(&rates, next(4))
            ),
            _ => format!(
                r#""standard", "properties": {{"amount": "{}"}}"#,
                pick(&prices, next(8))
            ),
        };
        let taxes = [
            "[]",
            r#"[{"code": "a", "rate": "19.6"}]"#,
            r#"[{"code": "a", "rate": "5.5"}, {"code": "b", "rate": "10"}]"#,
        ];
        format!(
            r#"{{"charge_model": {model}, "taxes": {}, "min_amount_cents": {}}}"#,
            pick(&taxes, next(3)),
            [0, 0, 999, 123456][next(4) as usize]
        )
    }

    /// The kernel prices every point it answers for exactly as `rate`'s own
    /// functions do: random graduated, volume, percentage and standard
    /// charges with taxes and minimums, in EUR, JPY, KWD and MRO, on steps
    /// of several sizes, at indices across each run.
    #[test]
    fn the_kernel_prices_as_rate_does() {
        let mut seed: u64 = 11;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let (mut answered, mut checked) = (0, 0);
        for case in 0..300 {
            let text = random_charge(case, &mut next);
            let currency = ["EUR", "JPY", "KWD", "MRO"][next(4) as usize];
            let charge = Charge::from_lago_json(currency, &text).unwrap();
            let template = Bucket::new(Usage::default().with_events_count(next(4)));
            let ex = charge.explore(&template).unwrap();
            let step: Exact = ["1", "0.5", "0.001", "3", "1000000000000"][next(5) as usize]
                .parse()
                .unwrap();
            for taxes in [false, true] {
                let query = BudgetQuery::new(1 << 40, step, taxes).unwrap();
                let search = Search::new(&ex, Grid::new(step).unwrap(), &query);
                let cc = search.cents_cost;
                for (i, seg) in ex.shape.segments.iter().enumerate() {
                    let Some(Some(run)) = search.run_of(i, seg) else {
                        continue;
                    };
                    let Some(line) = run.line else { continue };
                    let span = run.hi - run.lo;
                    let picks = [
                        U256::ZERO,
                        U256::ONE,
                        span / 2,
                        span,
                        U256::from(next(1000)),
                    ];
                    for d in picks {
                        let k = (run.lo + d.min(span)).min(run.hi);
                        checked += 1;
                        let Some(fast) = line.cents(k).and_then(|n| cc?.cost(n, taxes)) else {
                            continue;
                        };
                        answered += 1;
                        let slow = search.eval.cost(run.seg, search.point(k));
                        assert_eq!(Some(fast), slow, "{currency} {text} step {step} at {k}");
                    }
                }
            }
        }
        // The kernel answers for most points it is asked about.
        assert!(answered * 2 > checked, "{answered} of {checked}");
    }
}
