//! Presentation breakdowns (U10, C14): Lago's second `grouped_*` query of
//! a bucket, the same events grouped by the pricing group keys and then
//! the charge's presentation keys. Each bucket has a shadow whose group
//! keys are its own followed by the presentation keys it lacks; an event
//! routed to a bucket also goes to its shadow. A charge without
//! presentation keys has no shadow and pays nothing for them.

use crate::aggregate::accumulator::EventOrder;
use crate::aggregate::aggregator::{Aggregator, BucketState, View};
use crate::aggregate::event::Properties;
use crate::aggregate::fast_lookup::{FastMap, Groups};
use crate::aggregate::filters::Keys;
use crate::aggregate::group::{Acc, Group, Observation};
use crate::aggregate::prorate::unique_of;
use crate::aggregate::result::PresentationBreakdown;
use crate::aggregate::route::{encode_group_value, group_slot};
use crate::aggregate::spec::{AggregationSpec, WeightedSumInitial};
use crate::error::ArithmeticError;
use crate::exact::Exact;
use crate::plan::AggregationType;

/// A pricing group's label (its values in key order).
type Values = Vec<Option<String>>;

/// A shadow group: its pricing values, presentation values, units, and a
/// latest's event place.
type Row = (Values, Values, Exact, Option<EventOrder>);

/// The shadows of `buckets` (same order), or none without presentation
/// keys.
pub(crate) fn shadows(
    spec: &AggregationSpec,
    buckets: &[BucketState],
    keys: &mut Keys,
) -> Vec<BucketState> {
    let presentation = &spec.charge.presentation_keys;
    if presentation.is_empty() {
        return Vec::new();
    }
    buckets
        .iter()
        .map(|b| {
            // Lago's `(grouped_by + presentation_by).uniq`.
            let mut names = b.group_names.clone();
            names.extend(
                presentation
                    .iter()
                    .filter(|p| !b.group_names.contains(p))
                    .cloned(),
            );
            BucketState {
                id: b.id,
                rule: None,
                group_keys: names.iter().map(|n| keys.id(n)).collect(),
                group_names: names,
                filter_values: None,
                groups: Groups::default(),
            }
        })
        .collect()
}

/// Adds an event routed to bucket `b` to its shadow's group (nothing when
/// the charge has no presentation keys); `key` is a scratch buffer.
#[inline]
pub(crate) fn present<P: Properties + ?Sized>(
    shadows: &mut [BucketState],
    b: usize,
    obs: &Observation,
    view: &View<'_, P>,
    spec: &AggregationSpec,
    key: &mut Vec<u8>,
) -> Result<(), ArithmeticError> {
    let Some(shadow) = shadows.get_mut(b) else {
        return Ok(());
    };
    key.clear();
    for &k in shadow.group_keys.iter() {
        encode_group_value(view.get(k), key);
    }
    let kind = spec.metric.aggregation_type();
    let (_, g) = group_slot(shadow, key, kind, spec)?;
    g.update(obs, false)
}

impl Aggregator {
    /// The breakdowns of a bucket's shadow, by the pricing group (the
    /// first `priced` values of a shadow label) they belong to; each list
    /// in C1's order of its labels.
    pub(crate) fn breakdowns(
        &self,
        shadow: BucketState,
        priced: usize,
    ) -> Result<FastMap<Values, Vec<PresentationBreakdown>>, ArithmeticError> {
        let names = shadow
            .group_names
            .get(priced..)
            .unwrap_or_default()
            .to_vec();
        let mut rows: Vec<Row> = Vec::with_capacity(shadow.groups.len());
        for g in shadow.groups.into_vec() {
            let Some((units, at)) = self.breakdown_units(&g)? else {
                continue;
            };
            let mut label = g.label();
            let shown = label.split_off(priced.min(label.len()));
            rows.push((label, shown, units, at));
        }
        if self.kind == AggregationType::Latest {
            rows = latest_only(rows);
        }
        rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut out: FastMap<Values, Vec<PresentationBreakdown>> = FastMap::default();
        for (group, shown, units, _) in rows {
            let by = names.iter().cloned().zip(shown).collect();
            out.entry(group)
                .or_default()
                .push(PresentationBreakdown::new(by, units));
        }
        Ok(out)
    }

    /// A shadow group's units as Lago's breakdown query gives them: the
    /// type's raw value, before A55's rounding and A59's cached
    /// adjustment; `None` where meterprice cannot know them (C14). A
    /// latest also gives its event's place.
    fn breakdown_units(
        &self,
        g: &Group,
    ) -> Result<Option<(Exact, Option<EventOrder>)>, ArithmeticError> {
        let units = match &g.acc {
            Acc::Count(c) => Exact::from(c.finish()),
            Acc::Sum(s) => s.finish().0,
            Acc::Max(m) => m.state().0.unwrap_or(Exact::ZERO),
            Acc::Latest(l) => {
                return Ok(l.state().0.map(|(at, v)| (v, Some(at))));
            }
            Acc::Unique(u) => Exact::from(u.adds()),
            // The prorated services query the period's events, unprorated.
            Acc::ProratedSum { current, .. } => current.finish().0,
            Acc::ProratedUnique(seqs) => Exact::from(unique_of(seqs)),
            Acc::Weighted(w) => {
                let state = &self.spec.state;
                let from_events = matches!(
                    state.weighted_sum_initial,
                    Some(WeightedSumInitial::FromEvents)
                ) || (state.weighted_sum_initial.is_none()
                    && state.cached_aggregations.is_empty());
                let initial = if !self.spec.metric.recurring() {
                    Exact::ZERO
                } else if from_events {
                    g.before_sum()
                } else {
                    // A given or cached initial value has no presentation
                    // split to start from (C14).
                    return Ok(None);
                };
                let p = &self.spec.period;
                w.finish(initial, p.from.floor_ms(), p.charges_duration)?
                    .aggregation
            }
        };
        Ok(Some((units, None)))
    }
}

/// A latest's breakdown (Lago's `grouped_last`, `DISTINCT ON` the pricing
/// keys): one row per pricing group, the presentation values and value of
/// its latest event.
fn latest_only(rows: Vec<Row>) -> Vec<Row> {
    let mut latest: FastMap<Values, (Values, Exact, Option<EventOrder>)> = FastMap::default();
    for (group, shown, units, at) in rows {
        match latest.get_mut(&group) {
            Some(slot) if slot.2 >= at => {}
            Some(slot) => *slot = (shown, units, at),
            None => {
                latest.insert(group, (shown, units, at));
            }
        }
    }
    latest
        .into_iter()
        .map(|(group, (shown, units, at))| (group, shown, units, at))
        .collect()
}
