//! One charge's fees in current usage: each bucket priced by its filter's
//! model (U3), the units usage shows (U4), every bucket present (U6, C6),
//! in the stable order of UD1 and C1.

use crate::error::{RateError, UsageError};
use crate::exact::{Exact, Figure};
use crate::fee::Fee;
use crate::plan::PlanCharge;
use crate::rate::Bucket;
use crate::usage::Usage;

use super::label::{label_key, label_of, sort_by_label};
use super::{ChargeUsage, UsageBucket, UsageFee, summary};

/// The charge's usage from its given buckets.
pub(super) fn charge_usage<'p>(
    pc: &'p PlanCharge,
    given: &[UsageBucket],
    legacy_groups: bool,
) -> Result<ChargeUsage<'p>, RateError> {
    check_buckets(pc, given)?;
    let filters = pc.charge.filters.len();
    let mut fees = Vec::with_capacity(given.len().max(filters + 1));
    // Filter buckets in filter order, then the default bucket (UD1).
    let slots = (0..filters).map(Some).chain(std::iter::once(None));
    for filter in slots {
        let mut kept = Vec::with_capacity(given.iter().filter(|b| b.filter == filter).count());
        for (i, bucket) in given.iter().enumerate() {
            if bucket.filter == filter {
                let fee = price(pc, bucket).map_err(|e| in_bucket(pc, i, e))?;
                // U6: a fee of no units, no amount and no events is dropped…
                if !is_empty(&fee.fee) {
                    kept.push(fee);
                }
            }
        }
        // …and a bucket left without fees shows the zero fee of an empty
        // aggregation: one all-null group when grouped (A30).
        if kept.is_empty() {
            kept.push(price(pc, &empty_bucket(pc, filter))?);
        }
        let kept = sort_by_label(pc, kept, |f| {
            f.fee.grouped_by.as_deref().unwrap_or_default()
        });
        fees.extend(kept);
    }
    summary::charge_usage(pc, fees, legacy_groups)
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
fn price(pc: &PlanCharge, bucket: &UsageBucket) -> Result<UsageFee, RateError> {
    let Some(charge) = pc.bucket_charge(bucket.filter) else {
        return Err(UsageError::new("filter index out of range").into());
    };
    let keys = &charge.group_keys;
    let priced = Bucket {
        usage: bucket.usage.clone(),
        filter: None,
        grouped_by: label_of(bucket, keys),
    };
    // As `rate` over this bucket alone prices it: the period only matters
    // for a true-up, which usage adds itself.
    let mut fee = charge.rate_one(priced)?;
    fee.filter = bucket.filter;
    // U4: a pay-in-advance or prorated charge shows its current usage
    // units, unless the fee was clamped (§4.2).
    let clamped = bucket.usage.units.is_negative() && !bucket.usage.units.is_zero();
    if let Some(units) = bucket.current_usage_units
        && (pc.charge.pay_in_advance || pc.charge.prorated)
        && !clamped
    {
        fee.units = units;
    }
    let total_aggregated_units = bucket.total_aggregated_units.unwrap_or(fee.units);
    let presentation_breakdowns = if pc.shows_breakdowns(bucket.filter) {
        bucket.presentation_breakdowns.clone()
    } else {
        Vec::new()
    };
    Ok(UsageFee {
        fee,
        total_aggregated_units,
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

/// Σ of exact figures, naming what overflowed.
pub(super) fn add(a: Exact, b: Exact, what: &'static str) -> Result<Exact, RateError> {
    Ok(a.plus(b).figure(what)?)
}
