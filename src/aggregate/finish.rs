//! From group states to results: each type's value and count (§7–§8),
//! current usage of in-advance charges (A59), running totals and per-event
//! values (§10), rounding (§11).

use crate::aggregate::aggregator::{AggregateError, Aggregator, BucketState};
use crate::aggregate::event::{RejectedEvent, Warning};
use crate::aggregate::filters::{BucketId, Filters};
use crate::aggregate::group::{Acc, Group, Record};
use crate::aggregate::prefix_sort::stable_order;
use crate::aggregate::result::{
    AggregationResult, BucketResult, InAdvanceStep, PresentationBreakdown,
};
use crate::aggregate::route::encode_label;
use crate::aggregate::spec::{CachedAggregation, ChargeModelKind, GroupLabel, WeightedSumInitial};
use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure};
use crate::plan::AggregationType;

const WHAT: &str = "aggregation";

/// A running total longer than this is refused rather than built (a
/// cached maximum can make a unique count's `[1, 2, …, n]` arbitrary).
const MAX_RUNNING_TOTAL: u64 = 10_000_000;

/// The fields of one group before the options decide which are shown.
#[derive(Debug, Default)]
pub(crate) struct Core {
    pub(crate) aggregation: Exact,
    pub(crate) count: Exact,
    /// Lago's `current_usage_units` where it sets one.
    pub(crate) cuu: Option<Exact>,
    pub(crate) full: Option<Exact>,
    pub(crate) running_total: Vec<Exact>,
    pub(crate) event_values: Vec<Exact>,
    pub(crate) prorated_event_values: Vec<Exact>,
    pub(crate) total_aggregated_units: Option<Exact>,
    pub(crate) variation: Option<Exact>,
    pub(crate) step: Option<InAdvanceStep>,
}

/// What finishing gives: one result per (bucket, group), the warnings
/// and the rejected events.
pub(crate) type Finished<T> = (Vec<T>, Vec<Warning>, Vec<RejectedEvent>);

/// What a group's result shows beside its figures.
struct Shown {
    /// Whether it echoes its filter's values.
    filter_values: bool,
    /// Its presentation breakdowns (U10).
    breakdowns: Vec<PresentationBreakdown>,
}

/// A group's context while finishing.
pub(crate) struct Ctx<'a> {
    pub(crate) bucket: BucketId,
    pub(crate) label: GroupLabel,
    pub(crate) grouped: bool,
    pub(crate) records: Vec<Record>,
    pub(crate) group: &'a Group,
}

impl Aggregator {
    /// Ends the aggregation: one result per (bucket, group), filter buckets
    /// in order then the default bucket, groups by label (C1); a bucket
    /// without events gives one result of zeros (A30, A40).
    ///
    /// # Errors
    /// [`AggregateError::Arithmetic`] for a figure beyond the decimal
    /// range, naming the event that made a total overflow, or the bucket.
    pub fn finish(self) -> Result<AggregationResult, AggregateError> {
        let (buckets, warnings, rejected_events) = self.finish_into(true, |r| r)?;
        Ok(AggregationResult {
            buckets,
            warnings,
            rejected_events,
        })
    }

    /// [`Aggregator::finish`] for customer usage: each result made into
    /// `T` as it is finished (a result is large; a list of them is not
    /// kept), and without the filter's values (usage places a result by
    /// its bucket id).
    pub(crate) fn finish_for_usage<T>(
        self,
        make: impl FnMut(BucketResult) -> T,
    ) -> Result<Finished<T>, AggregateError> {
        self.finish_into(false, make)
    }

    /// Ends the aggregation; `filter_values`: whether each result echoes
    /// its filter's values.
    fn finish_into<T>(
        mut self,
        filter_values: bool,
        mut make: impl FnMut(BucketResult) -> T,
    ) -> Result<Finished<T>, AggregateError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let warnings = self.warnings();
        let buckets = std::mem::take(&mut self.buckets);
        let mut shadows = std::mem::take(&mut self.shadows).into_iter();
        // One result per group (one for an empty bucket): no regrowth.
        let mut out = Vec::with_capacity(buckets.iter().map(|b| b.groups.len().max(1)).sum());
        for mut b in buckets {
            let id = b.id;
            let in_bucket = |source| AggregateError::Arithmetic {
                context: format!("bucket {}", id.label()),
                source,
            };
            // U10: only a charge with presentation keys has shadows.
            let mut shown = match shadows.next() {
                Some(shadow) => Some(
                    self.breakdowns(shadow, b.group_keys.len())
                        .map_err(in_bucket)?,
                ),
                None => None,
            };
            self.add_initial_groups(&mut b);
            let mut groups = std::mem::take(&mut b.groups).into_vec();
            if groups.is_empty() {
                groups.push(self.empty_group(&b));
            }
            // C1: by label, read off the groups' keys. Indices are sorted,
            // so no group moves twice.
            let order = stable_order(
                &groups,
                |g| g.value_bytes().next().flatten(),
                |a, b| a.value_bytes().cmp(b.value_bytes()),
            );
            let mut slots: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
            for i in order {
                let Some(g) = slots.get_mut(i).and_then(Option::take) else {
                    continue;
                };
                let breakdowns = shown
                    .as_mut()
                    .and_then(|s| s.remove(&g.label()))
                    .unwrap_or_default();
                let shown = Shown {
                    filter_values,
                    breakdowns,
                };
                let r = self
                    .finish_group(&b, g, shown, &mut make)
                    .map_err(in_bucket)?;
                out.push(r);
            }
        }
        let mut rejected = std::mem::take(&mut self.rejected);
        rejected.sort_by_key(|r| r.index);
        Ok((out, warnings, rejected))
    }

    fn empty_group(&self, b: &BucketState) -> Group {
        let acc = Acc::new(
            self.kind,
            self.spec.charge.prorated,
            self.spec.period.to.ceil_s(),
        );
        match &self.advance {
            Some(a) => Group::new(&a.group_key, acc),
            None => Group::from_label(&vec![None; b.group_keys.len()], acc),
        }
    }

    /// QA30: a recurring weighted-sum group that only has an initial value
    /// still gets a result.
    fn add_initial_groups(&self, b: &mut BucketState) {
        let Some(WeightedSumInitial::Groups(list)) = &self.spec.state.weighted_sum_initial else {
            return;
        };
        if self.kind != AggregationType::WeightedSum || !self.spec.metric.recurring() {
            return;
        }
        for (groups, _) in list {
            let label: Vec<Option<String>> = b
                .group_names
                .iter()
                .map(|n| {
                    groups
                        .iter()
                        .find(|(k, _)| k == n)
                        .and_then(|(_, v)| v.clone())
                })
                .collect();
            let known = groups.len() == b.group_names.len();
            if known && b.groups.position(&encode_label(&label)).is_none() {
                let acc = Acc::new(self.kind, false, self.spec.period.to.ceil_s());
                b.groups.push(Group::from_label(&label, acc));
            }
        }
    }

    /// One group's result, made into `T` where it is built (a result is
    /// large: it is not passed back first).
    fn finish_group<T>(
        &self,
        b: &BucketState,
        g: Group,
        shown: Shown,
        make: &mut impl FnMut(BucketResult) -> T,
    ) -> Result<T, ArithmeticError> {
        let grouped = !b.group_keys.is_empty();
        // The label's texts are made here, once, from the group's key.
        let values = g.values().map(|v| v.map(str::to_string));
        let label: GroupLabel = b.group_names.iter().cloned().zip(values).collect();
        let mut records = g.records().to_vec();
        records.sort_by_key(|r| r.order);
        let ctx = Ctx {
            bucket: b.id,
            label,
            grouped,
            records,
            group: &g,
        };
        let mut core = match &self.advance {
            Some(_) => self.advance_core(&ctx)?,
            None => self.arrears_core(&ctx)?,
        };
        if self.advance.is_none()
            && let Some(r) = self.spec.metric.rounding()
        {
            // A55: after aggregation, per group; not for in-advance events.
            core.aggregation = r.apply(core.aggregation)?;
            core.full = core.full.map(|f| r.apply(f)).transpose()?;
            core.cuu = core.cuu.map(|c| r.apply(c)).transpose()?;
        }
        let mut r = self.compose(b, ctx, core);
        if shown.filter_values {
            r.filter.clone_from(&b.filter_values);
        }
        r.presentation_breakdowns = shown.breakdowns;
        Ok(make(r))
    }

    fn arrears_core(&self, ctx: &Ctx<'_>) -> Result<Core, ArithmeticError> {
        let g = ctx.group;
        match &g.acc {
            Acc::Count(c) => self.count_core(c.finish(), g.window_events()),
            Acc::Sum(s) => self.sum_core(ctx, s.finish()),
            Acc::Max(m) => {
                let (max, n) = m.finish();
                Ok(Core {
                    aggregation: max,
                    count: Exact::from(n),
                    event_values: max_event_values(&ctx.records),
                    ..Core::default()
                })
            }
            Acc::Latest(l) => {
                let (v, n) = l.finish();
                Ok(Core {
                    aggregation: v,
                    count: Exact::from(n),
                    ..Core::default()
                })
            }
            Acc::Unique(u) => self.unique_core(ctx, u.adds()),
            Acc::Weighted(w) => self.weighted_core(ctx, w),
            Acc::ProratedSum { persisted, current } => {
                self.prorated_sum_core(ctx, persisted.finish(), current.finish())
            }
            Acc::ProratedUnique(seqs) => self.prorated_unique_core(ctx, seqs),
        }
    }

    pub(crate) fn count_core(&self, n: u64, listed: u64) -> Result<Core, ArithmeticError> {
        let n_x = Exact::from(n);
        Ok(Core {
            aggregation: n_x,
            count: n_x,
            cuu: Some(n_x),
            running_total: self.counting_total(n_x)?,
            event_values: vec![Exact::ONE; usize::try_from(listed).unwrap_or(0)],
            ..Core::default()
        })
    }

    fn sum_core(&self, ctx: &Ctx<'_>, (total, n): (Exact, u64)) -> Result<Core, ArithmeticError> {
        let (aggregation, cuu) = self.in_advance_current_usage(ctx, total)?;
        let scope = ctx.records.iter().map(|r| r.value);
        Ok(Core {
            aggregation,
            count: Exact::from(n),
            cuu: Some(cuu),
            running_total: self.summing_total(scope, None)?,
            event_values: listed_values(&ctx.records),
            ..Core::default()
        })
    }

    fn unique_core(&self, ctx: &Ctx<'_>, u: u64) -> Result<Core, ArithmeticError> {
        let u = Exact::from(u);
        let (aggregation, cuu) = self.in_advance_current_usage(ctx, u)?;
        // QA9: the count is the aggregation after A59 when not grouped,
        // the raw unique count when grouped; so is the running total's end.
        let (count, total_end) = if ctx.grouped {
            (u, aggregation)
        } else {
            (aggregation, u)
        };
        Ok(Core {
            aggregation,
            count,
            cuu: Some(cuu),
            running_total: self.counting_total(total_end)?,
            event_values: vec![Exact::ONE; usize::try_from(ctx.group.window_events()).unwrap_or(0)],
            ..Core::default()
        })
    }

    fn weighted_core(
        &self,
        ctx: &Ctx<'_>,
        w: &crate::aggregate::accumulator::WeightedSumAcc,
    ) -> Result<Core, ArithmeticError> {
        let recurring = self.spec.metric.recurring();
        let initial = if recurring {
            self.weighted_initial(ctx)
        } else {
            Exact::ZERO
        };
        let period = &self.spec.period;
        let r = w.finish(initial, period.from.floor_ms(), period.charges_duration)?;
        let total = if recurring {
            initial.plus(r.variation).figure(WHAT)?
        } else {
            r.variation
        };
        Ok(Core {
            aggregation: r.aggregation,
            count: Exact::from(r.events),
            cuu: Some(r.aggregation),
            total_aggregated_units: Some(total),
            variation: Some(r.variation),
            ..Core::default()
        })
    }

    /// A38 with AD3: the given initial value, else the latest cached
    /// aggregation's current value, else the sum of the events before the
    /// period.
    fn weighted_initial(&self, ctx: &Ctx<'_>) -> Exact {
        match &self.spec.state.weighted_sum_initial {
            Some(WeightedSumInitial::Value(v)) if !ctx.grouped => *v,
            Some(WeightedSumInitial::Value(_)) => Exact::ZERO,
            Some(WeightedSumInitial::Groups(list)) => list
                .iter()
                .find(|(g, _)| same_label(g, &ctx.label))
                .map_or(Exact::ZERO, |(_, v)| *v),
            Some(WeightedSumInitial::FromEvents) => ctx.group.before_sum(),
            None => self
                .cached(ctx.bucket, &ctx.label)
                .map_or(ctx.group.before_sum(), |c| c.current_aggregation),
        }
    }

    /// A59: `(aggregation, current_usage_units)` of an in-advance sum or
    /// unique count in current usage; `(total, total)` otherwise.
    pub(crate) fn in_advance_current_usage(
        &self,
        ctx: &Ctx<'_>,
        total: Exact,
    ) -> Result<(Exact, Exact), ArithmeticError> {
        if !(self.spec.in_advance() && self.spec.options.is_current_usage) {
            return Ok((total, total));
        }
        let aggregation = match self.cached(ctx.bucket, &ctx.label) {
            Some(c) => total
                .minus(c.current_aggregation)
                .figure(WHAT)?
                .plus(c.max_aggregation)
                .figure(WHAT)?,
            None => total,
        };
        Ok((aggregation.max(Exact::ZERO), total.max(Exact::ZERO)))
    }

    /// A52: `[1, 2, …, n]` when free units are set.
    pub(crate) fn counting_total(&self, n: Exact) -> Result<Vec<Exact>, ArithmeticError> {
        if !self.free_units_set() {
            return Ok(Vec::new());
        }
        let end = n.floor().to_i128().unwrap_or(0).max(0);
        let end = u64::try_from(end).unwrap_or(u64::MAX);
        if end > MAX_RUNNING_TOTAL {
            return Err(ArithmeticError::new(
                "running_total of more than 10,000,000 entries",
            ));
        }
        Ok((1..=end).map(Exact::from).collect())
    }

    fn free_units_set(&self) -> bool {
        self.spec
            .options
            .free_units
            .is_some_and(|f| f.per_events > 0 || !f.per_total_aggregation.is_zero())
    }

    /// A51: cumulative sums of the first N values, or up to and including
    /// the first that exceeds T; `extra` is an estimate event's value.
    pub(crate) fn summing_total(
        &self,
        values: impl Iterator<Item = Exact>,
        extra: Option<Exact>,
    ) -> Result<Vec<Exact>, ArithmeticError> {
        let Some(fu) = self
            .spec
            .options
            .free_units
            .filter(|_| self.free_units_set())
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut total = Exact::ZERO;
        if fu.per_events > 0 {
            let n = usize::try_from(fu.per_events).unwrap_or(usize::MAX);
            let mut taken: Vec<Exact> = values.take(n).collect();
            if let Some(e) = extra.filter(|_| taken.len() < n) {
                taken.push(e);
            }
            for v in taken {
                total = total.plus(v).figure(WHAT)?;
                out.push(total);
            }
            return Ok(out);
        }
        for v in values.chain(extra) {
            if fu.per_total_aggregation < total {
                break;
            }
            total = total.plus(v).figure(WHAT)?;
            out.push(total);
        }
        Ok(out)
    }

    /// The latest cached aggregation of a bucket and group (A58, C11),
    /// skipping one written by the pay-in-advance event itself.
    pub(crate) fn cached(
        &self,
        bucket: BucketId,
        label: &GroupLabel,
    ) -> Option<&CachedAggregation> {
        let exclude = self.advance.as_ref().map(|a| a.transaction_id.as_str());
        let raw = matches!(self.spec.charge.filters, Filters::Raw { .. });
        let p = &self.spec.period;
        self.spec
            .state
            .cached_aggregations
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let cb = c.bucket.unwrap_or(BucketId::Default);
                let same_bucket =
                    cb == bucket || (raw && matches!(cb, BucketId::Default | BucketId::Matching));
                same_bucket
                    && same_label(&c.grouped_by, label)
                    && (exclude.is_none() || c.event_transaction_id.as_deref() != exclude)
                    && c.timestamp.is_none_or(|t| t >= p.from && t <= p.to)
            })
            .max_by_key(|(i, c)| (c.timestamp.is_none(), c.timestamp, *i))
            .map(|(_, c)| c)
    }

    fn compose(&self, b: &BucketState, ctx: Ctx<'_>, core: Core) -> BucketResult {
        let o = &self.spec.options;
        let model = self.spec.charge.model;
        let prorated = self.spec.charge.prorated;
        let percentage = model == ChargeModelKind::Percentage;
        let show = |cond: bool, v: Vec<Exact>| cond.then_some(v);
        BucketResult {
            bucket: b.id,
            filter: None,
            grouped_by: ctx.grouped.then_some(ctx.label),
            current_usage_units: o
                .is_current_usage
                .then(|| core.cuu.unwrap_or(core.aggregation)),
            full_units_number: prorated.then(|| core.full.unwrap_or(core.aggregation)),
            event_values: show(
                prorated || percentage || o.per_event.is_some(),
                core.event_values,
            ),
            prorated_event_values: show(prorated, core.prorated_event_values),
            running_total: show(percentage || o.free_units.is_some(), core.running_total),
            precise_total_amount_cents: (model == ChargeModelKind::Dynamic)
                .then_some(ctx.group.precise()),
            total_aggregated_units: core.total_aggregated_units,
            variation: core.variation,
            in_advance: core.step,
            presentation_breakdowns: Vec::new(),
            aggregation: core.aggregation,
            count: core.count,
            kind: self.kind,
            prorated,
            pay_in_advance: self.spec.in_advance(),
        }
    }
}

/// Two group labels are the same group: the same keys with the same
/// values, in any order.
pub(crate) fn same_label(a: &GroupLabel, b: &GroupLabel) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2))
}

/// A53: the values of the period's listed events, in time order.
pub(crate) fn listed_values(records: &[Record]) -> Vec<Exact> {
    records
        .iter()
        .filter(|r| r.in_window && r.listed)
        .map(|r| r.value)
        .collect()
}

/// A53 for max (QA22): the first occurrence of the maximum keeps its
/// value, every other event is 0.
fn max_event_values(records: &[Record]) -> Vec<Exact> {
    let listed: Vec<Exact> = listed_values(records);
    let max = listed.iter().copied().max();
    let mut seen = false;
    listed
        .into_iter()
        .map(|v| {
            if !seen && Some(v) == max {
                seen = true;
                v
            } else {
                Exact::ZERO
            }
        })
        .collect()
}
