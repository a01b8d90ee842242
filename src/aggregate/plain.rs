//! A plain aggregation's groups, borrowed: each group's units and events
//! are its accumulator's total and count, nothing else. What the billing
//! run's direct path prices (`lago/usage/direct_write.rs`) without
//! finishing the aggregator into results.

use crate::aggregate::aggregator::Aggregator;
use crate::aggregate::filters::BucketId;
use crate::aggregate::group::Acc;
use crate::exact::Exact;
use crate::plan::AggregationType;

/// One group of a plain aggregation, as [`Aggregator::finish`] would give
/// its usage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainGroup<'a> {
    pub(crate) bucket: BucketId,
    /// The group's values, encoded (`route::encode_label`); `None` for a
    /// bucket without events (A30: one group, every key null).
    pub(crate) key: Option<&'a [u8]>,
    /// The aggregation (the fee's units).
    pub(crate) units: Exact,
    /// The count (the fee's `events_count`).
    pub(crate) events: u64,
}

impl Aggregator {
    /// Whether every group's usage is its accumulator's total and count
    /// alone, and there is nothing to tell beside them: an arrears count,
    /// sum, max, latest or unique count; not prorated, not rounded (A55),
    /// without free units, per-event lists or presentation keys (U10); no
    /// event rejected, no warning, no failed total.
    pub(crate) fn is_plain(&self) -> bool {
        let spec = &self.spec;
        let kind = matches!(
            self.kind,
            AggregationType::Count
                | AggregationType::Sum
                | AggregationType::Max
                | AggregationType::Latest
                | AggregationType::UniqueCount
        );
        kind && self.advance.is_none()
            && !spec.in_advance()
            && !spec.charge.prorated
            && spec.metric.rounding().is_none()
            && spec.options.free_units.is_none()
            && spec.options.per_event.is_none()
            && self.shadows.is_empty()
            && self.failed.is_none()
            && self.rejected.is_empty()
            && self.warnings().is_empty()
    }

    /// Each bucket's group keys (their names), in bucket order.
    pub(crate) fn bucket_keys(&self) -> impl Iterator<Item = (BucketId, &[String])> {
        self.buckets
            .iter()
            .map(|b| (b.id, b.group_names.as_slice()))
    }

    /// A plain aggregation's groups ([`Aggregator::is_plain`]): buckets in
    /// order, each bucket's groups in the order they were made (not C1's:
    /// the caller sorts the charge's groups once, across buckets). `None`
    /// for a group of another type.
    pub(crate) fn plain_groups(&self) -> Option<Vec<PlainGroup<'_>>> {
        // Sized once: grown by doubling, a run's copies were 1 % of it.
        let n = self.buckets.iter().map(|b| b.groups.len().max(1)).sum();
        let mut out = Vec::with_capacity(n);
        for b in &self.buckets {
            if b.groups.len() == 0 {
                out.push(PlainGroup {
                    bucket: b.id,
                    key: None,
                    units: Exact::ZERO,
                    events: 0,
                });
                continue;
            }
            for g in b.groups.iter() {
                let (units, events) = figures(&g.acc)?;
                out.push(PlainGroup {
                    bucket: b.id,
                    key: Some(g.key()),
                    units,
                    events,
                });
            }
        }
        Some(out)
    }
}

/// The aggregation and count of a plain group, as `arrears_core` makes
/// them (a unique count's count is its aggregation: QA9 without A59).
fn figures(acc: &Acc) -> Option<(Exact, u64)> {
    match acc {
        Acc::Count(c) => Some((Exact::from(c.finish()), c.finish())),
        Acc::Sum(s) => Some(s.finish()),
        Acc::Max(m) => Some(m.finish()),
        Acc::Latest(l) => Some(l.finish()),
        Acc::Unique(u) => Some((Exact::from(u.adds()), u.adds())),
        _ => None,
    }
}
