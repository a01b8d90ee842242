//! Prorated aggregations (§9): day ratios in the customer's time zone
//! (A42–A44), the prorated sum (A45) and unique count (A46), current
//! usage (A48) and the per-event lists (A49). Ratios are exact (AD5): each
//! prorated figure is one quotient of exact day-weighted sums.

use crate::aggregate::aggregator::Aggregator;
use crate::aggregate::expression::{Rounding, round_at};
use crate::aggregate::finish::{Core, Ctx, listed_values};
use crate::aggregate::group::{Operation, Sequences};
use crate::aggregate::time::Timestamp;
use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure};

const WHAT: &str = "proration";

/// `ceil(x, 5)` (A56).
pub(crate) fn ceil5(x: Exact) -> Result<Exact, ArithmeticError> {
    round_at(x, 5, Rounding::Ceil)
}

fn days(n: i64) -> Exact {
    Exact::from_small(n, 0)
}

/// One kept row of A46: an add or a remove of one value, and the days it
/// is billed.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    order: crate::aggregate::accumulator::EventOrder,
    add: bool,
    days: i64,
}

impl Aggregator {
    /// A43: `date_diff_with_timezone(from, to)`, the days persisted values
    /// are billed for (`pr = dd / duration`).
    pub(crate) fn persisted_days(&self) -> i64 {
        let p = &self.spec.period;
        p.timezone.date_diff(p.from, p.to)
    }

    /// A42: the days an in-period event is billed for, its own day and the
    /// last day included.
    fn event_days(&self, t: Timestamp) -> i64 {
        let p = &self.spec.period;
        p.timezone.day(p.to) - p.timezone.day(t) + 1
    }

    fn duration(&self) -> Exact {
        Exact::from(self.spec.period.charges_duration)
    }

    /// A47: pay in advance on the billing date bills the full amount.
    pub(crate) fn bill_full(&self) -> bool {
        self.advance.is_none() && self.spec.in_advance() && !self.spec.options.is_current_usage
    }

    /// A45's prorated value, before `ceil(·, 5)`: `(Σ persisted × dd +
    /// Σ current value × days) / duration`.
    pub(crate) fn prorated_sum_value(
        &self,
        ctx: &Ctx<'_>,
        persisted: Exact,
    ) -> Result<Exact, ArithmeticError> {
        let mut weighted = persisted.times(days(self.persisted_days())).figure(WHAT)?;
        for r in ctx.records.iter().filter(|r| r.in_window) {
            let w = r
                .value
                .times(days(self.event_days(r.order.timestamp)))
                .figure(WHAT)?;
            weighted = weighted.plus(w).figure(WHAT)?;
        }
        weighted.over(self.duration()).figure(WHAT)
    }

    pub(crate) fn prorated_sum_core(
        &self,
        ctx: &Ctx<'_>,
        (persisted, n_persisted): (Exact, u64),
        (current, n_current): (Exact, u64),
    ) -> Result<Core, ArithmeticError> {
        let full = persisted.plus(current).figure(WHAT)?;
        let count = Exact::from(n_persisted + n_current);
        if self.bill_full() {
            return Ok(Core {
                aggregation: full,
                count,
                ..Core::default()
            });
        }
        let prorated = ceil5(self.prorated_sum_value(ctx, persisted)?)?;
        let (aggregation, cuu, full_units) = self.a48(ctx, prorated, full)?;
        let (event_values, prorated_event_values) = self.prorated_sum_lists(ctx)?;
        Ok(Core {
            aggregation,
            count,
            cuu,
            full: Some(full_units),
            event_values,
            prorated_event_values,
            ..Core::default()
        })
    }

    /// A49 for sums: the listed persisted sum (when not 0) then each
    /// listed event of the period; prorated by `dd` and by each event's
    /// days, exactly.
    pub(crate) fn prorated_sum_lists(
        &self,
        ctx: &Ctx<'_>,
    ) -> Result<(Vec<Exact>, Vec<Exact>), ArithmeticError> {
        let from = self.spec.period.from;
        let d = self.duration();
        let mut before = Exact::ZERO;
        for r in ctx
            .records
            .iter()
            .filter(|r| r.listed && r.order.timestamp < from)
        {
            before = before.plus(r.value).figure(WHAT)?;
        }
        let (mut values, mut prorated) = (Vec::new(), Vec::new());
        if !before.is_zero() {
            values.push(before);
            let w = before.times(days(self.persisted_days())).figure(WHAT)?;
            prorated.push(w.over(d).figure(WHAT)?);
        }
        let in_period = ctx.records.iter().filter(|r| r.in_window && r.listed);
        for (v, r) in listed_values(&ctx.records).into_iter().zip(in_period) {
            values.push(v);
            let w = v
                .times(days(self.event_days(r.order.timestamp)))
                .figure(WHAT)?;
            prorated.push(w.over(d).figure(WHAT)?);
        }
        Ok((values, prorated))
    }

    /// A59 then A48: `(aggregation, current_usage_units, full_units)` of a
    /// prorated group with prorated value `prorated` and full value `full`
    /// (A45/A46: the full units are the unprorated value).
    fn a48(
        &self,
        ctx: &Ctx<'_>,
        prorated: Exact,
        full: Exact,
    ) -> Result<(Exact, Option<Exact>, Exact), ArithmeticError> {
        if !self.spec.options.is_current_usage {
            return Ok((prorated, None, full));
        }
        let (base_agg, base_cuu) = self.in_advance_current_usage(ctx, full)?;
        let zero = Exact::ZERO;
        let short = self.persisted_days() < i64::from(self.spec.period.charges_duration);
        let cached = self.cached(ctx.bucket, &ctx.label);
        let (agg, cuu) = if !self.spec.in_advance() {
            (prorated.max(zero), base_agg.max(zero))
        } else if let Some(c) = cached {
            let since = base_cuu
                .minus(c.current_aggregation.max(zero))
                .figure(WHAT)?;
            let billed = c.max_aggregation_with_proration.unwrap_or(zero);
            let part = if short {
                let w = since.times(days(self.persisted_days())).figure(WHAT)?;
                ceil5(w.over(self.duration()).figure(WHAT)?)?
            } else {
                since
            };
            (part.plus(billed).figure(WHAT)?, base_cuu)
        } else if short {
            (prorated.max(zero), base_cuu)
        } else {
            (base_agg, base_cuu)
        };
        Ok((agg.max(zero), Some(cuu.max(zero)), full))
    }

    pub(crate) fn prorated_unique_core(
        &self,
        ctx: &Ctx<'_>,
        seqs: &Sequences,
    ) -> Result<Core, ArithmeticError> {
        let full = Exact::from(unique_of(seqs));
        if self.bill_full() {
            return Ok(Core {
                aggregation: full,
                count: full,
                ..Core::default()
            });
        }
        let prorated = self.prorated_unique_value(ctx, seqs)?;
        let (aggregation, cuu, full_units) = self.a48(ctx, prorated, full)?;
        let (event_values, prorated_event_values) = self.prorated_unique_lists(ctx, seqs)?;
        Ok(Core {
            aggregation,
            // A41, QA10: the prorated aggregation.
            count: aggregation,
            cuu,
            full: Some(full_units),
            event_values,
            prorated_event_values,
            ..Core::default()
        })
    }

    /// A46's aggregation: `ceil(Σ days / duration, 5)`.
    pub(crate) fn prorated_unique_value(
        &self,
        ctx: &Ctx<'_>,
        seqs: &Sequences,
    ) -> Result<Exact, ArithmeticError> {
        let total: i64 = self.a46_rows(ctx, seqs, false).iter().map(|r| r.days).sum();
        ceil5(days(total).over(self.duration()).figure(WHAT)?)
    }

    /// A49 for unique counts: ±1 per kept operation, and its ratio.
    pub(crate) fn prorated_unique_lists(
        &self,
        ctx: &Ctx<'_>,
        seqs: &Sequences,
    ) -> Result<(Vec<Exact>, Vec<Exact>), ArithmeticError> {
        let (mut values, mut prorated) = (Vec::new(), Vec::new());
        for r in self.a46_rows(ctx, seqs, true) {
            values.push(if r.add { Exact::ONE } else { -Exact::ONE });
            prorated.push(ceil5(days(r.days).over(self.duration()).figure(WHAT)?)?);
        }
        Ok((values, prorated))
    }

    /// A46 steps 1–3 for every value: the kept operations and their days,
    /// ordered by time, then input order (AD2).
    fn a46_rows(&self, ctx: &Ctx<'_>, seqs: &Sequences, listed_only: bool) -> Vec<Row> {
        let mut rows = Vec::new();
        for (property, ops) in seqs {
            let mut ops: Vec<Operation> = ops
                .iter()
                .filter(|o| o.listed || !listed_only)
                .copied()
                .collect();
            ops.sort_by_key(|o| o.order);
            let kept = self.kept_operations(&ops, property.is_none());
            rows.extend(self.billed_days(&kept, ctx.grouped));
        }
        // Ties of time by input order (AD2), whatever order the events
        // arrived in (a value's interned number follows arrival).
        rows.sort_by_key(|r| r.order);
        rows
    }

    /// Steps 1 and 2: a non-add followed later the same local day by the
    /// opposite operation is ignored (never for a missing value, whose
    /// SQL comparison is NULL); then only changes of state are kept, and
    /// one row per (operation, timestamp).
    fn kept_operations(&self, ops: &[Operation], null_value: bool) -> Vec<Operation> {
        let tz = &self.spec.period.timezone;
        let ignored = |i: usize, o: &Operation| {
            !o.add
                && !null_value
                && ops.iter().skip(i + 1).any(|n| {
                    n.order.timestamp > o.order.timestamp
                        && tz.day(n.order.timestamp) == tz.day(o.order.timestamp)
                        && n.add != o.add
                })
        };
        let mut prev_add = false;
        let mut kept: Vec<Operation> = Vec::new();
        for (i, o) in ops.iter().enumerate() {
            if ignored(i, o) {
                continue;
            }
            let changes = o.add != prev_add;
            prev_add = o.add;
            let duplicate = kept
                .iter()
                .any(|k| k.add == o.add && k.order.timestamp == o.order.timestamp);
            if changes && !duplicate {
                kept.push(*o);
            }
        }
        kept
    }

    /// Step 3: an add is billed from `max(t, from)` to the next kept row
    /// (or `to`) inclusive; nothing when that row is before the period
    /// (AD8 for grouped counts: QA11's extra day is not billed).
    fn billed_days(&self, kept: &[Operation], grouped: bool) -> Vec<Row> {
        let p = &self.spec.period;
        let tz = &p.timezone;
        let lower = p.from.floor_ms();
        let mut rows = Vec::with_capacity(kept.len());
        for (i, o) in kept.iter().enumerate() {
            let next = kept.get(i + 1).map_or(p.to, |n| n.order.timestamp);
            let start = tz.day(o.order.timestamp.max(lower));
            let days = if !o.add || next < lower {
                0
            } else if grouped {
                tz.day(next) - start + 1
            } else {
                tz.day(next.plus_micros(86_400_000_000)) - start
            };
            rows.push(Row {
                order: o.order,
                add: o.add,
                days,
            });
        }
        rows
    }
}

/// A37 on the operations of a prorated unique count: the values whose
/// last operation is an add.
pub(crate) fn unique_of(seqs: &Sequences) -> u64 {
    seqs.values()
        .filter(|ops| ops.iter().max_by_key(|o| o.order).is_some_and(|o| o.add))
        .count() as u64
}
