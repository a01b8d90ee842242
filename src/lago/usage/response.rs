//! Writing a usage result: `{"id", "customer_usage", "invoice",
//! "warnings", "rejected_events"}`, the object with exactly lago-usage.md §2's
//! keys in Lago's serializer order.

use std::ops::Range;

use crate::customer_usage::{
    ChargeUsage, CustomerUsage, FilterUsage, GroupedUsage, LegacyGroup, PlanEvents,
    PresentationBreakdown, UsagePeriod, UsageTotals,
};
use crate::lago::raw::RawJson;
use crate::lago::response::{Json, filter_values, indent, label};
use crate::plan::PlanCharge;

/// What a result line starts with: a request's `id`, or the billing
/// run's `external_subscription_id`.
pub(super) enum Lead<'a> {
    /// `"id"`, echoed (absent when the request has none).
    Id(Option<RawJson<'a>>),
    /// `"external_subscription_id"`.
    Subscription(&'a str),
}

/// Writes a priced result, with what aggregating its events gave.
pub(super) fn write_result(
    out: &mut Vec<u8>,
    lead: Lead<'_>,
    usage: &CustomerUsage<'_>,
    events: Option<&PlanEvents>,
    pretty: bool,
) {
    let start = out.len();
    let mut w = Json::new(out);
    w.open(b'{');
    match lead {
        Lead::Id(Some(id)) => w.raw("id", id),
        Lead::Id(None) => {}
        Lead::Subscription(s) => w.string("external_subscription_id", Some(s)),
    }
    w.key("customer_usage");
    customer_usage(&mut w, usage);
    invoice(&mut w, usage);
    super::events::write_notes(&mut w, events);
    w.close(b'}');
    if pretty {
        indent(out, start);
    }
}

/// lago-usage.md §2.1.
fn customer_usage(w: &mut Json<'_>, u: &CustomerUsage<'_>) {
    let amounts = (u.amount_cents, u.total_amount_cents, u.taxes_amount_cents);
    usage_head(w, &u.period, u.currency.code(), amounts);
    for c in &u.charges_usage {
        w.comma();
        charge_usage(w, c, u.currency.code());
    }
    w.close(b']');
    w.close(b'}');
}

/// lago-usage.md §2.1 up to the opening of `charges_usage`, with the
/// `(amount, total, taxes)` cents.
pub(super) fn usage_head(
    w: &mut Json<'_>,
    period: &UsagePeriod,
    currency: &str,
    (amount, total, taxes): (i128, i128, i128),
) {
    w.open(b'{');
    w.string("from_datetime", Some(&period.from_datetime()));
    w.string("to_datetime", Some(&period.to_datetime()));
    w.string("issuing_date", Some(&period.issuing_date()));
    w.string("currency", Some(currency));
    w.int("amount_cents", amount);
    w.int("total_amount_cents", total);
    w.int("taxes_amount_cents", taxes);
    w.null("lago_invoice_id");
    w.key("charges_usage");
    w.open(b'[');
}

/// lago-usage.md §2.2, with the older `groups` after `filters` (C2).
fn charge_usage(w: &mut Json<'_>, c: &ChargeUsage<'_>, currency: &str) {
    let pc = c.charge;
    w.open(b'{');
    charge_head(w, pc, &c.totals, currency);
    let shown = FilterTexts::of(pc);
    let entries = c.filters.iter().map(FilterEntry::of);
    filters(w, pc, &shown, entries, None);
    if let Some(groups) = &c.legacy_groups {
        legacy_groups(w, groups);
    }
    w.key("grouped_usage");
    w.open(b'[');
    for g in &c.grouped_usage {
        w.comma();
        grouped(w, pc, &shown, g);
    }
    w.close(b']');
    breakdowns(w, &c.presentation_breakdowns);
    w.close(b'}');
}

/// A charge's sums, currency, pricing unit, `charge` and
/// `billable_metric`: what comes before its `filters`.
pub(super) fn charge_head(w: &mut Json<'_>, pc: &PlanCharge, totals: &UsageTotals, currency: &str) {
    sums(w, totals);
    w.string("amount_currency", Some(currency));
    pricing_unit(w, pc, totals);
    w.key("charge");
    w.open(b'{');
    w.string("lago_id", pc.lago_id());
    w.string("code", Some(pc.code()));
    w.string("charge_model", Some(pc.charge().model().name()));
    w.string(
        "invoice_display_name",
        pc.charge().labels().invoice_display_name.as_deref(),
    );
    w.close(b'}');
    w.key("billable_metric");
    w.open(b'{');
    let metric = pc.metric();
    w.string("lago_id", metric.lago_id());
    w.string("name", metric.name());
    w.string("code", Some(metric.code()));
    w.string(
        "aggregation_type",
        Some(metric.aggregation_type().lago_name()),
    );
    w.close(b'}');
}

/// The sums every level starts with.
fn sums(w: &mut Json<'_>, t: &UsageTotals) {
    w.key("units");
    let start = w.out.len();
    t.units.write_quoted(w.out);
    if t.total_aggregated_units.is_identical(&t.units) {
        // Nearly always the units themselves: their text, copied.
        let end = w.out.len();
        w.key("total_aggregated_units");
        w.out.extend_from_within(start..end);
    } else {
        w.dec("total_aggregated_units", t.total_aggregated_units);
    }
    w.int("events_count", i128::from(t.events_count));
    w.int("amount_cents", t.amount_cents);
}

/// Whether two sums write the same text.
fn identical(a: &UsageTotals, b: &UsageTotals) -> bool {
    a.units.is_identical(&b.units)
        && a.total_aggregated_units
            .is_identical(&b.total_aggregated_units)
        && a.events_count == b.events_count
        && a.amount_cents == b.amount_cents
        && a.pricing_unit_amount_cents == b.pricing_unit_amount_cents
}

/// `{amount_cents, short_name, conversion_rate}` or null (C3).
fn pricing_unit(w: &mut Json<'_>, pc: &PlanCharge, t: &UsageTotals) {
    let unit = pc.charge().pricing_unit.as_ref();
    let (Some(unit), Some(cents)) = (unit, t.pricing_unit_amount_cents) else {
        w.null("pricing_unit_details");
        return;
    };
    w.key("pricing_unit_details");
    w.open(b'{');
    w.int("amount_cents", cents);
    w.string("short_name", pc.pricing_unit_short_name());
    w.dec("conversion_rate", unit.conversion_rate);
    w.close(b'}');
}

/// What a `filters[]` entry shows of its filter (`,"invoice_display_name":
/// …,"values":…`), written once per charge: a charge's filters are shown
/// again in every group's entries.
pub(super) struct FilterTexts {
    /// Per filter index, then the default bucket.
    texts: Vec<Vec<u8>>,
}

impl FilterTexts {
    pub(super) fn of(pc: &PlanCharge) -> Self {
        let filters = pc.charge().filters();
        let text = |filter: Option<&crate::charge::ChargeFilter>| {
            let mut out = vec![b','];
            let mut w = Json::new(&mut out);
            w.string(
                "invoice_display_name",
                filter.and_then(|f| f.invoice_display_name.as_deref()),
            );
            filter_values(&mut w, "values", filter.map(|f| f.values.as_slice()));
            out
        };
        let mut texts: Vec<Vec<u8>> = filters.iter().map(|f| text(Some(f))).collect();
        texts.push(text(None));
        Self { texts }
    }

    /// The text of the bucket of `filter` (`None`, or no such filter: the
    /// default bucket's nulls).
    fn get(&self, filter: Option<usize>) -> &[u8] {
        let default = self.texts.len().saturating_sub(1);
        let at = filter.filter(|&i| i < default).unwrap_or(default);
        self.texts.get(at).map_or(&[], Vec::as_slice)
    }
}

/// Sums written already, and where their text is.
pub(super) type Written<'a> = (&'a UsageTotals, Range<usize>);

/// One `filters[]` entry: a bucket's sums and breakdowns.
pub(super) struct FilterEntry<'a> {
    pub(super) filter: Option<usize>,
    pub(super) totals: UsageTotals,
    pub(super) breakdowns: &'a [PresentationBreakdown],
}

impl<'a> FilterEntry<'a> {
    fn of(f: &'a FilterUsage) -> Self {
        Self {
            filter: f.filter,
            totals: f.totals,
            breakdowns: &f.presentation_breakdowns,
        }
    }
}

/// `filters[]` (lago-usage.md §2.3); an entry with the sums of `group`
/// copies their text.
pub(super) fn filters<'a>(
    w: &mut Json<'_>,
    pc: &PlanCharge,
    shown: &FilterTexts,
    entries: impl IntoIterator<Item = FilterEntry<'a>>,
    group: Option<Written<'_>>,
) {
    w.key("filters");
    w.open(b'[');
    for f in entries {
        w.comma();
        w.open(b'{');
        match &group {
            Some((t, text)) if identical(t, &f.totals) => w.copy_members(text.clone()),
            _ => {
                sums(w, &f.totals);
                pricing_unit(w, pc, &f.totals);
            }
        }
        w.out.extend_from_slice(shown.get(f.filter));
        breakdowns(w, f.breakdowns);
        w.close(b'}');
    }
    w.close(b']');
}

/// `grouped_usage[]` (lago-usage.md §2.4).
fn grouped(w: &mut Json<'_>, pc: &PlanCharge, shown: &FilterTexts, g: &GroupedUsage) {
    grouped_entry(
        w,
        pc,
        &g.totals,
        |w| label(w, "grouped_by", Some(&g.grouped_by)),
        |w, written| {
            let entries = g.filters.iter().map(FilterEntry::of);
            filters(w, pc, shown, entries, Some(written));
        },
        &g.presentation_breakdowns,
    );
}

/// A `grouped_usage[]` entry of these sums: `label` writes its
/// `grouped_by`, and `filters` its `filters` (given where the sums'
/// text is: a group of one bucket repeats them in its one entry).
pub(super) fn grouped_entry<'t>(
    w: &mut Json<'_>,
    pc: &PlanCharge,
    totals: &'t UsageTotals,
    label: impl FnOnce(&mut Json<'_>),
    filters: impl FnOnce(&mut Json<'_>, Written<'t>),
    presentation: &[PresentationBreakdown],
) {
    w.open(b'{');
    let start = w.out.len();
    sums(w, totals);
    pricing_unit(w, pc, totals);
    let written = (totals, start..w.out.len());
    label(w);
    filters(w, written);
    breakdowns(w, presentation);
    w.close(b'}');
}

/// `presentation_breakdowns[]` (U10).
pub(super) fn breakdowns(w: &mut Json<'_>, list: &[PresentationBreakdown]) {
    w.key("presentation_breakdowns");
    w.open(b'[');
    for b in list {
        w.comma();
        w.open(b'{');
        label(w, "presentation_by", Some(&b.presentation_by));
        w.dec("units", b.units);
        w.close(b'}');
    }
    w.close(b']');
}

/// The older `groups` (C2): `{lago_id, key, value, units, amount_cents,
/// events_count}`.
fn legacy_groups(w: &mut Json<'_>, groups: &[LegacyGroup]) {
    w.key("groups");
    w.open(b'[');
    for g in groups {
        w.comma();
        w.open(b'{');
        w.string("lago_id", Some(&g.lago_id));
        w.string("key", Some(&g.key));
        w.string("value", Some(&g.value));
        w.dec("units", g.units);
        w.int("amount_cents", g.amount_cents);
        w.int("events_count", i128::from(g.events_count));
        w.close(b'}');
    }
    w.close(b']');
}

/// `invoice`: null outside the invoice view, else the true-ups and the
/// invoice totals (usage-json.md).
fn invoice(w: &mut Json<'_>, u: &CustomerUsage<'_>) {
    let Some(totals) = &u.invoice else {
        w.null("invoice");
        return;
    };
    w.key("invoice");
    w.open(b'{');
    w.key("true_up_fees");
    w.open(b'[');
    for c in &u.charges_usage {
        let Some(fee) = &c.true_up_fee else { continue };
        w.comma();
        w.open(b'{');
        w.string("charge_code", Some(c.charge.code()));
        w.int("amount_cents", fee.amount_cents);
        w.dec("precise_amount_cents", fee.precise_amount_cents);
        w.int("taxes_amount_cents", fee.taxes.taxes_amount_cents);
        w.close(b'}');
    }
    w.close(b']');
    w.int("amount_cents", totals.amount_cents);
    w.int("taxes_amount_cents", totals.taxes_amount_cents);
    w.int("total_amount_cents", totals.total_amount_cents);
    w.close(b'}');
}
