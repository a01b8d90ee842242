//! The properties of `package` and `percentage` read from raw JSON: types
//! here, value rules the core's (`src/rules.rs`).

use super::{Place, Report, amount, decimal_of, integer_of, leaf_amount};
use crate::exact::Exact;
use crate::lago::fields::RawProperties;
use crate::lago::raw::{Raw, RawJson};
use crate::models::{Package, Percentage};
use crate::rules;

pub(super) fn package(
    report: &mut Report,
    props: &RawProperties<'_>,
    prefix: &str,
) -> Option<Package> {
    let amount = leaf_amount(
        report,
        props.amount,
        "amount",
        Place::key(prefix, "amount"),
        "invalid_amount",
    );
    let size_raw = Raw::of(props.package_size);
    let size = report.check(rules::positive_count(
        integer_of(&size_raw),
        "package_size",
        "invalid_package_size",
        &Place::key(prefix, "package_size"),
        &size_raw.shown(),
    ));
    let free_raw = Raw::of(props.free_units);
    let free = report.check(rules::count(
        integer_of(&free_raw),
        "free_units",
        "invalid_free_units",
        &Place::key(prefix, "free_units"),
        &free_raw.shown(),
    ));
    Some(Package {
        amount: amount?,
        package_size: size?,
        free_units: free?,
    })
}

/// A per-transaction bound: blank means not set (M13), else a valid amount.
fn per_transaction(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    field: &str,
    prefix: &str,
) -> Result<Option<Exact>, ()> {
    let raw = Raw::of(value);
    if matches!(&raw, Raw::Null) || matches!(&raw, Raw::String(s) if s.trim().is_empty()) {
        return Ok(None);
    }
    amount(
        report,
        &raw,
        field,
        Place::key(prefix, field),
        "invalid_amount",
    )
    .map(Some)
    .ok_or(())
}

/// The value of a per-transaction bound that failed validation, when it is
/// a decimal all the same (a negative one).
fn bound_value(value: Option<RawJson<'_>>) -> Option<Exact> {
    match Raw::of(value) {
        Raw::String(s) if s.trim().is_empty() => None,
        raw => decimal_of(&raw).ok(),
    }
}

/// A decimal that may be absent or null (`None` then), else an amount.
fn optional_amount(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    field: &str,
    code: &'static str,
    prefix: &str,
) -> Option<Option<Exact>> {
    let raw = Raw::of(value);
    match raw {
        Raw::Null => Some(None),
        _ => amount(report, &raw, field, Place::key(prefix, field), code).map(Some),
    }
}

/// `free_units_per_events`: absent or null, else an integer above 0.
fn free_events(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    prefix: &str,
) -> Option<Option<u64>> {
    const FIELD: &str = "free_units_per_events";
    let raw = Raw::of(value);
    if let Raw::Null = raw {
        return Some(None);
    }
    let n = rules::positive_count(
        integer_of(&raw),
        FIELD,
        "invalid_free_units_per_events",
        &Place::key(prefix, FIELD),
        &raw.shown(),
    );
    report.check(n).map(Some)
}

pub(super) fn percentage(
    report: &mut Report,
    props: &RawProperties<'_>,
    prefix: &str,
) -> Option<Percentage> {
    let rate = leaf_amount(
        report,
        props.rate,
        "rate",
        Place::key(prefix, "rate"),
        "invalid_rate",
    );
    let fixed = optional_amount(
        report,
        props.fixed_amount,
        "fixed_amount",
        "invalid_fixed_amount",
        prefix,
    );
    let n = free_events(report, props.free_units_per_events, prefix);
    let t = optional_amount(
        report,
        props.free_units_per_total_aggregation,
        "free_units_per_total_aggregation",
        "invalid_free_units_per_total_aggregation",
        prefix,
    );
    let (min_raw, max_raw) = (
        props.per_transaction_min_amount,
        props.per_transaction_max_amount,
    );
    let min = per_transaction(report, min_raw, "per_transaction_min_amount", prefix);
    let max = per_transaction(report, max_raw, "per_transaction_max_amount", prefix);
    // Compared whenever both bounds are decimals, even ones invalid on
    // their own (a negative bound).
    let value = |read: Result<Option<Exact>, ()>, raw| read.unwrap_or_else(|()| bound_value(raw));
    let bounds = rules::per_transaction_bounds(value(min, min_raw), value(max, max_raw), prefix);
    report.check(bounds)?;
    Some(Percentage {
        rate: rate?,
        fixed_amount: fixed?.unwrap_or(Exact::ZERO),
        free_units_per_events: n?,
        // "0" counts as not set.
        free_units_per_total_aggregation: t?.filter(|t| !t.is_zero()),
        per_transaction_min_amount: min.ok()?,
        per_transaction_max_amount: max.ok()?,
    })
}
