//! The views of one charge's fees: its sums (U7), `filters` (U8),
//! `grouped_usage` (U9), presentation breakdowns (U10) and the older
//! `groups` (UD4, C2).

use std::ops::Range;

use hashbrown::hash_map::Entry;

use crate::aggregate::fast_lookup::FastMap;
use crate::aggregate::prefix_sort::stable_order;

use crate::error::RateError;
use crate::exact::Overflow;
use crate::plan::PlanCharge;
use crate::rate::FeeDetail;

use super::label::{in_key_order, sort_by_label, values};
use super::{
    ChargeUsage, FilterUsage, GroupedUsage, Label, LegacyGroup, PresentationBreakdown, UsageFee,
    UsageTotals,
};

/// The charge's usage from its fees, already in UD1 order. Fees priced
/// for the JSON contracts (`detail`) give their labels to the grouped
/// usage rather than a copy: nothing reads a fee's label after.
pub(super) fn charge_usage(
    pc: &PlanCharge,
    mut fees: Vec<UsageFee>,
    legacy_groups: bool,
    detail: FeeDetail,
) -> Result<ChargeUsage<'_>, RateError> {
    let copies = detail == FeeDetail::Full;
    let all: Vec<&UsageFee> = fees.iter().collect();
    let totals = totals(pc, &all)?;
    let filters = if pc.charge.filters.is_empty() {
        Vec::new()
    } else {
        by_filter(pc, &all)?
    };
    let legacy = legacy_groups.then(|| legacy(pc, &all));
    let (mut grouped_usage, firsts) = grouped_usage(pc, &all, copies)?;
    let presentation_breakdowns = breakdowns(&all, |f| !grouped(f) && f.fee.filter.is_none());
    // Each group's first fee is its own: each label moves once.
    for (g, first) in grouped_usage.iter_mut().zip(firsts) {
        if let Some(f) = first.and_then(|i| fees.get_mut(i)) {
            g.grouped_by = f.fee.grouped_by.take().unwrap_or_default();
        }
    }
    Ok(ChargeUsage {
        charge: pc,
        totals,
        filters,
        legacy_groups: legacy,
        grouped_usage,
        presentation_breakdowns,
        true_up_fee: None,
        fees,
    })
}

/// Sums over fees (lago-usage.md §2.2); pricing-unit cents when the charge has
/// a pricing unit.
fn totals(pc: &PlanCharge, fees: &[&UsageFee]) -> Result<UsageTotals, RateError> {
    sums(pc, fees).map_err(|what| RateError::from(Overflow.figure(what)))
}

/// The sums, or the name of the first figure that overflows: a name, not
/// an error, is carried through each addition of every usage.
fn sums(pc: &PlanCharge, fees: &[&UsageFee]) -> Result<UsageTotals, &'static str> {
    let pricing_unit = pc.charge.pricing_unit.is_some();
    // One fee's figures as sums of their own.
    let one = |f: &UsageFee| UsageTotals {
        units: f.fee.units,
        total_aggregated_units: f.total_aggregated_units,
        events_count: f.fee.events_count,
        amount_cents: f.fee.amount_cents,
        pricing_unit_amount_cents: pricing_unit.then(|| {
            let pu = f.fee.pricing_unit_details.as_ref();
            pu.map_or(0, |pu| pu.amount_cents)
        }),
    };
    let Some((first, rest)) = fees.split_first() else {
        return Ok(UsageTotals {
            pricing_unit_amount_cents: pricing_unit.then_some(0),
            ..UsageTotals::default()
        });
    };
    let mut t = one(first);
    for f in rest {
        t.add(&one(f))?;
    }
    Ok(t)
}

impl UsageTotals {
    /// Adds `other`'s figures to these sums; the name of the first figure
    /// that overflows. Sums start from a first fee's figures, rather than
    /// additions to zero (which change neither a mantissa nor a scale):
    /// most groups and many buckets have one fee.
    pub(crate) fn add(&mut self, other: &UsageTotals) -> Result<(), &'static str> {
        self.units = self.units.plus(other.units).map_err(|_| "usage units")?;
        self.total_aggregated_units = self
            .total_aggregated_units
            .plus(other.total_aggregated_units)
            .map_err(|_| "usage total_aggregated_units")?;
        self.events_count = self
            .events_count
            .checked_add(other.events_count)
            .ok_or("usage events_count")?;
        self.amount_cents = self
            .amount_cents
            .checked_add(other.amount_cents)
            .ok_or("usage amount_cents")?;
        if let (Some(sum), Some(more)) = (
            self.pricing_unit_amount_cents,
            other.pricing_unit_amount_cents,
        ) {
            let sum = sum.checked_add(more);
            self.pricing_unit_amount_cents = Some(sum.ok_or("usage pricing unit amount_cents")?);
        }
        Ok(())
    }
}

/// U8: the fees split by bucket, in the order they come (they are sorted
/// by bucket already, so each bucket is one run).
fn by_filter(pc: &PlanCharge, fees: &[&UsageFee]) -> Result<Vec<FilterUsage>, RateError> {
    fees.chunk_by(|a, b| a.fee.filter == b.fee.filter)
        .filter_map(|run| run.first().map(|f| (f.fee.filter, run)))
        .map(|(filter, run)| {
            Ok(FilterUsage {
                filter,
                totals: totals(pc, run)?,
                presentation_breakdowns: breakdowns(run, |_| true),
            })
        })
        .collect()
}

fn grouped(f: &UsageFee) -> bool {
    f.fee.grouped_by.as_ref().is_some_and(|l| !l.is_empty())
}

/// A label as a set, for U9's merge of equal labels across buckets
/// (borrowed: one small vector per fee, no string copied).
fn canonical(f: &UsageFee) -> Vec<(&str, Option<&str>)> {
    let mut label: Vec<(&str, Option<&str>)> = f
        .fee
        .grouped_by
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    label.sort_unstable();
    label
}

/// U9: one entry per distinct label across buckets (the ungrouped fees
/// form their own), sorted as C1 says; `[]` when no fee is grouped. With
/// `copies` off, an entry's label is left empty for the caller to move in,
/// and the index in `fees` of its first fee (whose label it is) is listed
/// (`None`: it was copied).
fn grouped_usage(
    pc: &PlanCharge,
    fees: &[&UsageFee],
    copies: bool,
) -> Result<(Vec<GroupedUsage>, Vec<Option<usize>>), RateError> {
    if !fees.iter().any(|f| grouped(f)) {
        return Ok((Vec::new(), Vec::new()));
    }
    let keys = &pc.charge.group_keys;
    let (members, groups) = if fees.iter().all(|f| {
        let label = f.fee.grouped_by.as_deref().unwrap_or_default();
        label.is_empty() || in_key_order(keys, label)
    }) {
        by_values(fees)
    } else {
        by_sets(pc, fees)
    };
    let mut out = Vec::with_capacity(groups.len());
    let mut firsts = Vec::with_capacity(if copies { 0 } else { groups.len() });
    for range in groups {
        let members = members.get(range).unwrap_or_default();
        let totals = totals(pc, members)?;
        let filters = match members {
            _ if pc.charge.filters.is_empty() => Vec::new(),
            // A group of one fee is one bucket's, with the group's sums.
            [one] => vec![FilterUsage {
                filter: one.fee.filter,
                totals,
                presentation_breakdowns: one.presentation_breakdowns.clone(),
            }],
            _ => by_filter(pc, members)?,
        };
        // A group is labelled by its first fee, as Lago's `group_by` keeps
        // it.
        let first = members.first();
        let moved = first.filter(|_| !copies).and_then(|f| position(fees, f));
        if !copies {
            firsts.push(moved);
        }
        out.push(GroupedUsage {
            grouped_by: match (first, moved) {
                (Some(f), None) => f.fee.grouped_by.clone().unwrap_or_default(),
                _ => Label::new(),
            },
            totals,
            filters,
            presentation_breakdowns: breakdowns(members, |f| grouped(f) && f.fee.filter.is_none()),
        });
    }
    Ok((out, firsts))
}

/// The index of `fee` in `all`, which lists one vector's fees in order:
/// its distance from the first, in fees (checked).
fn position(all: &[&UsageFee], fee: &UsageFee) -> Option<usize> {
    let base = std::ptr::from_ref(*all.first()?) as usize;
    let at = std::ptr::from_ref(fee) as usize;
    let i = at.checked_sub(base)? / size_of::<UsageFee>();
    all.get(i)
        .is_some_and(|f| std::ptr::eq(*f, fee))
        .then_some(i)
}

/// The fees of each group, one after the other, and where each group's
/// run is; groups in C1 order, a group's fees in fee order.
type Merged<'f> = (Vec<&'f UsageFee>, Vec<Range<usize>>);

/// U9 for labels that all name the charge's keys in key order (or none):
/// two labels are the same set exactly when their values are equal, and
/// C1 orders them by their values, so a stable sort by values brings each
/// group's fees together in fee order (each bucket's fees are sorted
/// already: the sort merges a few runs).
fn by_values<'f>(fees: &[&'f UsageFee]) -> Merged<'f> {
    fn first<'a>(f: &'a &UsageFee) -> Option<&'a [u8]> {
        values(f.fee.grouped_by.as_ref())
            .next()
            .flatten()
            .map(str::as_bytes)
    }
    fn in_order(a: &&UsageFee, b: &&UsageFee) -> std::cmp::Ordering {
        values(a.fee.grouped_by.as_ref()).cmp(values(b.fee.grouped_by.as_ref()))
    }
    let values = |f: &'f UsageFee| values(f.fee.grouped_by.as_ref());
    let order = stable_order(fees, first, in_order);
    let members: Vec<&UsageFee> = order
        .into_iter()
        .filter_map(|i| fees.get(i).copied())
        .collect();
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=members.len() {
        let same = match (members.get(start), members.get(i)) {
            (Some(a), Some(b)) => values(a).eq(values(b)),
            _ => false,
        };
        if !same {
            groups.push(start..i);
            start = i;
        }
    }
    (members, groups)
}

/// U9 for any labels: merged as sets, in a table.
fn by_sets<'f>(pc: &PlanCharge, fees: &[&'f UsageFee]) -> Merged<'f> {
    let mut index: FastMap<Vec<(&str, Option<&str>)>, usize> = FastMap::default();
    let mut groups: Vec<Vec<&'f UsageFee>> = Vec::new();
    for f in fees {
        match index.entry(canonical(f)) {
            Entry::Occupied(e) => {
                if let Some(members) = groups.get_mut(*e.get()) {
                    members.push(f);
                }
            }
            Entry::Vacant(e) => {
                e.insert(groups.len());
                groups.push(vec![f]);
            }
        }
    }
    sort_by_label(pc, &mut groups, |members| {
        members
            .first()
            .and_then(|f| f.fee.grouped_by.as_deref())
            .unwrap_or_default()
    });
    let mut members = Vec::with_capacity(fees.len());
    let mut runs = Vec::with_capacity(groups.len());
    for group in groups {
        let start = members.len();
        members.extend(group);
        runs.push(start..members.len());
    }
    (members, runs)
}

/// The breakdowns of the fees `keep` selects, fee by fee (U10).
fn breakdowns(fees: &[&UsageFee], keep: impl Fn(&UsageFee) -> bool) -> Vec<PresentationBreakdown> {
    fees.iter()
        .filter(|f| keep(f))
        .flat_map(|f| f.presentation_breakdowns.iter().cloned())
        .collect()
}

/// UD4, C2: one item per fee of a filter (the default bucket left out),
/// sorted by the filter's display name, the items of a filter together.
fn legacy(pc: &PlanCharge, fees: &[&UsageFee]) -> Vec<LegacyGroup> {
    let mut items: Vec<(String, usize, LegacyGroup)> = fees
        .iter()
        .filter_map(|f| {
            let index = f.fee.filter?;
            let filter = pc.charge.filters.get(index)?;
            let lago_id = match pc.filter_lago_id(index) {
                Some(id) => format!("charge-filter-{id}"),
                None => format!("charge-filter-{index}"),
            };
            let keys: Vec<&str> = filter.values.iter().map(|(k, _)| k.as_str()).collect();
            let values: Vec<&str> = filter
                .values
                .iter()
                .flat_map(|(_, vs)| vs.iter().map(String::as_str))
                .collect();
            let item = LegacyGroup {
                lago_id,
                key: keys.join(", "),
                value: values.join(", "),
                units: f.fee.units,
                amount_cents: f.fee.amount_cents,
                events_count: f.fee.events_count,
            };
            Some((filter.display_name(), index, item))
        })
        .collect();
    // Stable: a filter's items keep their order, and ties of names keep
    // filter order.
    items.sort_by(|(a, i, _), (b, j, _)| a.as_bytes().cmp(b.as_bytes()).then(i.cmp(j)));
    items.into_iter().map(|(_, _, item)| item).collect()
}
