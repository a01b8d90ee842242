//! One charge's fees in current usage: each bucket priced by its filter's
//! model (U3), the units usage shows (U4), every bucket present (U6, C6),
//! in the stable order of UD1 and C1.

use crate::error::{RateError, UsageError};
use crate::fee::Fee;
use crate::plan::PlanCharge;
use crate::rate::{Bucket, FeeDetail};
use crate::usage::Usage;

use super::label::{in_key_order, label_key, sort_by_label, take_label, values};
use super::{ChargeUsage, UsageBucket, UsageFee, summary};

/// A charge's buckets: lent (each bucket is copied to be priced) or given
/// (each is moved out to be priced).
pub(super) enum Given<'a> {
    /// Lent by the caller.
    Lent(&'a [UsageBucket]),
    /// Given: taken apart as they are priced.
    Owned(Vec<UsageBucket>),
}

impl Given<'_> {
    fn list(&self) -> &[UsageBucket] {
        match self {
            Given::Lent(list) => list,
            Given::Owned(list) => list,
        }
    }

    /// Bucket `i`, to price once.
    fn bucket(&mut self, i: usize) -> Option<UsageBucket> {
        match self {
            Given::Lent(list) => list.get(i).cloned(),
            Given::Owned(list) => list.get_mut(i).map(std::mem::take),
        }
    }
}

/// The charge's usage from its given buckets.
pub(super) fn charge_usage<'p>(
    pc: &'p PlanCharge,
    mut given: Given<'_>,
    legacy_groups: bool,
    detail: FeeDetail,
) -> Result<ChargeUsage<'p>, RateError> {
    let ordered = in_slot_order(pc, given.list());
    if !ordered {
        check_buckets(pc, given.list())?;
    }
    let filters = pc.charge.filters.len();
    // Each bucket's filter, read before any bucket is taken apart.
    let placed: Vec<Option<usize>> = given.list().iter().map(|b| b.filter).collect();
    let mut fees = Vec::with_capacity(placed.len().max(filters + 1));
    // Filter buckets in filter order, then the default bucket (UD1).
    let slots = (0..filters).map(Some).chain(std::iter::once(None));
    for filter in slots {
        let start = fees.len();
        for (i, _) in placed.iter().enumerate().filter(|(_, f)| **f == filter) {
            let Some(bucket) = given.bucket(i) else {
                continue;
            };
            // U6: a fee of no units, no amount and no events is dropped…
            match price(pc, bucket, detail) {
                Ok(fee) if is_empty(&fee.fee) => {}
                Ok(fee) => fees.push(fee),
                Err(e) => return Err(in_bucket(pc, i, e)),
            }
        }
        // …and a bucket left without fees shows the zero fee of an empty
        // aggregation: one all-null group when grouped (A30).
        if fees.len() == start {
            fees.push(price(pc, empty_bucket(pc, filter), detail)?);
        }
        // Buckets in slot order whose keys are the charge's are in C1
        // order already: so are their fees.
        if !(ordered && pc.group_keys(filter) == pc.charge.group_keys.as_slice()) {
            let kept = fees.get_mut(start..).unwrap_or_default();
            sort_by_label(pc, kept, |f| {
                f.fee.grouped_by.as_deref().unwrap_or_default()
            });
        }
    }
    summary::charge_usage(pc, fees, legacy_groups, detail)
}

/// Whether the buckets come as an aggregation gives them: by filter in
/// range (UD1's slots), and within a filter by strictly increasing values
/// of labels in key order (C1). Then no bucket is given twice, and
/// [`check_buckets`]' table is not needed.
fn in_slot_order(pc: &PlanCharge, given: &[UsageBucket]) -> bool {
    let filters = pc.charge.filters.len();
    let slot = |b: &UsageBucket| match b.filter {
        Some(f) if f < filters => Some(f),
        Some(_) => None,
        None => Some(filters),
    };
    let plain = |b: &UsageBucket| {
        let label = b.grouped_by.as_deref().unwrap_or_default();
        slot(b).is_some() && (label.is_empty() || in_key_order(pc.group_keys(b.filter), label))
    };
    given.first().is_none_or(plain)
        && given.windows(2).all(|w| match w {
            [a, b] => {
                plain(b)
                    && match slot(a).cmp(&slot(b)) {
                        std::cmp::Ordering::Less => true,
                        std::cmp::Ordering::Greater => false,
                        std::cmp::Ordering::Equal => {
                            values(a.grouped_by.as_ref()).lt(values(b.grouped_by.as_ref()))
                        }
                    }
            }
            _ => false,
        })
}

/// Names the bucket in a pricing error.
fn in_bucket(pc: &PlanCharge, index: usize, e: RateError) -> RateError {
    match e {
        RateError::Usage(u) => {
            UsageError::new(format!("usage.{}[{index}]: {}", pc.code, u.message)).into()
        }
        other => other,
    }
}

/// Filter indexes in range, and no bucket given twice.
fn check_buckets(pc: &PlanCharge, given: &[UsageBucket]) -> Result<(), UsageError> {
    let filters = pc.charge.filters.len();
    let mut seen = hashbrown::HashSet::with_capacity(given.len());
    for (i, b) in given.iter().enumerate() {
        if let Some(f) = b.filter.filter(|&f| f >= filters) {
            return Err(UsageError::new(format!(
                "usage.{}[{i}]: filter {f} is out of range: the charge has {filters} filters",
                pc.code
            )));
        }
        if !seen.insert((b.filter, label_key(b, pc.group_keys(b.filter)))) {
            return Err(UsageError::new(format!(
                "usage.{}[{i}]: a bucket and group given twice",
                pc.code
            )));
        }
    }
    Ok(())
}

/// Prices one bucket with its filter's model, and sets the figures usage
/// shows (U4, C8).
fn price(
    pc: &PlanCharge,
    mut bucket: UsageBucket,
    detail: FeeDetail,
) -> Result<UsageFee, RateError> {
    let Some(charge) = pc.bucket_charge(bucket.filter) else {
        return Err(UsageError::new("filter index out of range").into());
    };
    let keys = &charge.group_keys;
    let (filter, current_usage_units) = (bucket.filter, bucket.current_usage_units);
    let total_aggregated_units = bucket.total_aggregated_units;
    // U4: a pay-in-advance or prorated charge shows its current usage
    // units, unless the fee was clamped (§4.2).
    let clamped = bucket.usage.units.is_negative() && !bucket.usage.units.is_zero();
    // C8: breakdowns only where the charge or the filter has keys.
    let shows = pc.shows_breakdowns(filter);
    let presentation_breakdowns = if shows {
        std::mem::take(&mut bucket.presentation_breakdowns)
    } else {
        Vec::new()
    };
    let priced = Bucket {
        grouped_by: take_label(&mut bucket, keys),
        usage: bucket.usage,
        filter: None,
    };
    // As `rate` over this bucket alone prices it: the period only matters
    // for a true-up, which usage adds itself.
    let mut fee = charge.rate_one(priced, detail)?;
    fee.filter = filter;
    if let Some(units) = current_usage_units
        && (pc.charge.pay_in_advance || pc.charge.prorated)
        && !clamped
    {
        fee.units = units;
    }
    Ok(UsageFee {
        total_aggregated_units: total_aggregated_units.unwrap_or(fee.units),
        fee,
        presentation_breakdowns,
    })
}

/// U6: no units, no amount and no events.
fn is_empty(fee: &Fee) -> bool {
    fee.units.is_zero() && fee.amount_cents == 0 && fee.events_count == 0
}

/// The bucket of an empty aggregation (A30): every group key null.
fn empty_bucket(pc: &PlanCharge, filter: Option<usize>) -> UsageBucket {
    let keys = pc.group_keys(filter);
    UsageBucket {
        usage: Usage::default(),
        filter,
        grouped_by: (!keys.is_empty()).then(|| keys.iter().map(|k| (k.clone(), None)).collect()),
        ..UsageBucket::default()
    }
}
