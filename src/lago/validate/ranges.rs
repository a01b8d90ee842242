//! Tier lists (`graduated_ranges`, `volume_ranges`,
//! `graduated_percentage_ranges`) read from raw JSON: the list's shape and
//! each bound's type here; the prices' rules and the bound chain are the
//! core's.

use super::{Place, Report, decimal_of, leaf_amount, plain_leaf};
use crate::exact::Exact;
use crate::lago::decimal::DecimalTextError;
use crate::lago::fields::{RangeItem, RangeList, RawRange};
use crate::lago::raw::{Raw, RawJson};
use crate::models::{RateTierPrice, TierPrice};
use crate::tiers::{Bound, Chain, Tier, TierKind, Tiers};

/// Reads the raw tier list; `None` after reporting when it is missing or
/// not a list of objects.
fn raw_ranges<'l, 'a>(
    report: &mut Report,
    value: Option<&'l RangeList<'a>>,
    kind: TierKind,
    prefix: &str,
) -> Option<&'l [RangeItem<'a>]> {
    let field = kind.field();
    let items = match value {
        None | Some(RangeList::Other { blank: true, .. }) => {
            report.violations.push(kind.empty(prefix));
            return None;
        }
        Some(RangeList::Items(items)) if items.is_empty() => {
            report.violations.push(kind.empty(prefix));
            return None;
        }
        Some(RangeList::Other { shown, .. }) => {
            report.violation(
                field,
                kind.invalid(),
                format!("{prefix}{field} must be a list of ranges, got {shown}"),
            );
            return None;
        }
        Some(RangeList::Items(items)) => items,
    };
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        if let RangeItem::NotObject = item {
            ok = false;
            report.violation(
                field,
                kind.invalid(),
                format!("{prefix}{field}[{i}] must be an object"),
            );
        }
    }
    ok.then_some(items.as_slice())
}

/// A range bound: a JSON number or (M13) a numeric string; `None` is null.
fn bound(report: &mut Report, raw: &Raw<'_>, place: Place<'_>) -> Result<Option<Exact>, ()> {
    match raw {
        Raw::Null => Ok(None),
        Raw::Number(_) | Raw::String(_) => match decimal_of(raw) {
            Ok(d) => Ok(Some(d)),
            Err(DecimalTextError::OutOfRange) => {
                report.out_of_range(place, raw);
                Err(())
            }
            Err(_) => Err(()),
        },
        _ => Err(()),
    }
}

/// [`bound`] of a leaf, by the plain fast path when it applies. Inlined:
/// two per range, and returned through memory its result costs more than
/// the fast path itself.
#[inline(always)]
fn leaf_bound(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    place: Place<'_>,
) -> Result<Option<Exact>, ()> {
    match plain_leaf(value) {
        Some(d) => Ok(Some(d)),
        None => bound(report, &Raw::of(value), place),
    }
}

/// The bound chain (§8.2) over raw ranges: bounds that are not numbers are
/// the edge's violation, and the chain is not followed past them; the rule
/// itself is the core's ([`Chain`]).
struct RawChain<'p> {
    kind: TierKind,
    prefix: &'p str,
    chain: Chain,
    /// False once a bound could not be read.
    readable: bool,
}

impl<'p> RawChain<'p> {
    fn new(kind: TierKind, prefix: &'p str, len: usize) -> Self {
        Self {
            kind,
            prefix,
            chain: Chain::new(kind, len),
            readable: true,
        }
    }

    /// The bounds of range `i` when they continue the chain; else `None`,
    /// after reporting one violation that names the range.
    fn next(
        &mut self,
        report: &mut Report,
        r: &RawRange<'_>,
        i: usize,
    ) -> Option<(Exact, Option<Exact>)> {
        if !self.readable {
            return None;
        }
        let (kind, prefix) = (self.kind, self.prefix);
        let field = kind.field();
        let place = Place::item(prefix, field, i, "");
        // Texts for messages, only read when one is written.
        let shown = |b: Bound| match b {
            Bound::From => Raw::of(r.from_value).show(),
            Bound::To => Raw::of(r.to_value).show(),
        };
        let from = leaf_bound(
            report,
            r.from_value,
            Place::item(prefix, field, i, "from_value"),
        );
        let to = leaf_bound(
            report,
            r.to_value,
            Place::item(prefix, field, i, "to_value"),
        );
        let (Ok(Some(from)), Ok(to)) = (from, to) else {
            self.readable = false;
            report.violation(
                field,
                kind.invalid(),
                format!(
                    "{place}: from_value and to_value must be numbers, got {} and {}",
                    shown(Bound::From),
                    shown(Bound::To)
                ),
            );
            return None;
        };
        report.check(self.chain.next(i, (from, to), &place, &shown))?;
        Some((from, to))
    }
}

/// A tier list in one pass: each range's prices by `price`, its bounds by
/// the chain. Lago lists the chain's violations after every price's, so
/// they wait in a report of their own.
fn tier_list<P>(
    report: &mut Report,
    value: Option<&RangeList<'_>>,
    kind: TierKind,
    prefix: &str,
    price: impl Fn(&mut Report, &RawRange<'_>, Place<'_>) -> Option<P>,
) -> Option<Tiers<P>> {
    let items = raw_ranges(report, value, kind, prefix)?;
    let mut chain_report = Report::default();
    let mut chain = RawChain::new(kind, prefix, items.len());
    let mut tiers = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        // raw_ranges let only objects through.
        let RangeItem::Range(r) = item else { continue };
        let price = price(report, r, Place::item(prefix, kind.field(), i, ""));
        let bounds = chain.next(&mut chain_report, r, i);
        match (price, bounds) {
            (Some(price), Some((from_value, to_value))) => tiers.push(Tier {
                from_value,
                to_value,
                price,
            }),
            _ => ok = false,
        }
    }
    report.append(chain_report);
    ok.then(|| Tiers::new_unchecked(tiers))
}

/// An amount of range `at` (`at` names the range; `key` the field).
fn range_amount(
    report: &mut Report,
    value: Option<RawJson<'_>>,
    at: Place<'_>,
    key: &'static str,
    code: &'static str,
) -> Option<Exact> {
    leaf_amount(report, value, key, at.with_key(key), code)
}

pub(super) fn priced(
    report: &mut Report,
    value: Option<&RangeList<'_>>,
    kind: TierKind,
    prefix: &str,
) -> Option<Tiers<TierPrice>> {
    tier_list(report, value, kind, prefix, |report, r, at| {
        let per = range_amount(
            report,
            r.per_unit_amount,
            at,
            "per_unit_amount",
            "invalid_amount",
        );
        let flat = range_amount(report, r.flat_amount, at, "flat_amount", "invalid_amount");
        Some(TierPrice {
            per_unit_amount: per?,
            flat_amount: flat?,
        })
    })
}

pub(super) fn rated(
    report: &mut Report,
    value: Option<&RangeList<'_>>,
    prefix: &str,
) -> Option<Tiers<RateTierPrice>> {
    let kind = TierKind::GraduatedPercentage;
    tier_list(report, value, kind, prefix, |report, r, at| {
        let flat = range_amount(report, r.flat_amount, at, "flat_amount", "invalid_amount");
        let rate = range_amount(report, r.rate, at, "rate", "invalid_rate");
        Some(RateTierPrice {
            rate: rate?,
            flat_amount: flat?,
        })
    })
}
