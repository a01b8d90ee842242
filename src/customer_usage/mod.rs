//! Lago's customer usage object (lago-usage.md): a whole plan priced for one
//! subscription's period, from the aggregated buckets of each charge.
//!
//! The input is a [`PlanUsage`]: per charge, its [`UsageBucket`]s (one per
//! filter and group, as an aggregation gives them). The output is a
//! [`CustomerUsage`] holding every figure of lago-usage.md §2 in Lago's order,
//! with meterprice's choices UD1–UD4 and C1–C13 (`docs/usage.md`).

mod events;
mod label;
mod period;
mod price;
mod summary;
pub(crate) mod totals;

use price::Given;

#[cfg(feature = "lago")]
pub(crate) use label::distinct;

pub use events::{ChargeRejection, ChargeWarning, EventsSetup, PlanAggregator, PlanEvents};
pub use period::{PeriodError, UsagePeriod};

use crate::charge::Tax;
use crate::currency::Currency;
use crate::error::RateError;
use crate::exact::Exact;
use crate::fee::Fee;
use crate::plan::{Plan, PlanCharge};
use crate::rate::FeeDetail;
use crate::usage::Usage;

pub use crate::aggregate::PresentationBreakdown;

/// A group label: each pricing group key with its value (`None`: null).
pub type Label = Vec<(String, Option<String>)>;

/// One aggregated bucket of a charge: the usage of one filter (or the
/// default bucket) and one group, with the figures an aggregation gives
/// beside the priced usage (U4, U10).
///
/// ```
/// use meterprice::{Usage, UsageBucket};
/// let b = UsageBucket::new(Usage::new("4".parse()?).with_events_count(4))
///     .in_filter(0)
///     .with_group(vec![("cloud".into(), Some("aws".into()))]);
/// assert_eq!(b.filter, Some(0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UsageBucket {
    /// The usage priced (`units` is the aggregation).
    pub usage: Usage,
    /// The charge filter's index, `None` for the default bucket.
    pub filter: Option<usize>,
    /// The group label, for a grouped bucket.
    pub grouped_by: Option<Label>,
    /// The units shown for a pay-in-advance or prorated charge in current
    /// usage (U4, A48, A59), when they differ from the priced ones.
    pub current_usage_units: Option<Exact>,
    /// A weighted sum's total units (U4, A38); the fee's units otherwise.
    pub total_aggregated_units: Option<Exact>,
    /// Units per `presentation_by` combination (U10), shown only when the
    /// charge or the filter has `presentation_group_keys` (C8).
    pub presentation_breakdowns: Vec<PresentationBreakdown>,
}

impl UsageBucket {
    /// The default bucket, ungrouped, with this usage.
    pub fn new(usage: Usage) -> Self {
        Self {
            usage,
            ..Self::default()
        }
    }

    /// Puts the bucket in the charge filter of this index.
    #[must_use]
    pub fn in_filter(mut self, index: usize) -> Self {
        self.filter = Some(index);
        self
    }

    /// Labels the bucket's group.
    #[must_use]
    pub fn with_group(mut self, grouped_by: Label) -> Self {
        self.grouped_by = Some(grouped_by);
        self
    }

    /// Sets the current usage units (U4).
    #[must_use]
    pub fn with_current_usage_units(mut self, units: Exact) -> Self {
        self.current_usage_units = Some(units);
        self
    }

    /// Sets a weighted sum's total units (U4).
    #[must_use]
    pub fn with_total_aggregated_units(mut self, units: Exact) -> Self {
        self.total_aggregated_units = Some(units);
        self
    }

    /// Sets the presentation breakdowns (U10).
    #[must_use]
    pub fn with_presentation_breakdowns(mut self, breakdowns: Vec<PresentationBreakdown>) -> Self {
        self.presentation_breakdowns = breakdowns;
        self
    }
}

/// The aggregated buckets of a plan's charges, by charge code. A charge
/// that is not given has no usage: every one of its buckets shows a zero
/// fee (U6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanUsage {
    charges: Vec<(String, Vec<UsageBucket>)>,
}

impl PlanUsage {
    /// No usage for any charge.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the charge with this code its buckets.
    #[must_use]
    pub fn with_buckets(
        mut self,
        charge_code: impl Into<String>,
        buckets: Vec<UsageBucket>,
    ) -> Self {
        self.charges.push((charge_code.into(), buckets));
        self
    }

    /// Whether no charge is given buckets.
    #[cfg(feature = "lago")]
    pub(crate) fn is_empty(&self) -> bool {
        self.charges.is_empty()
    }

    /// The buckets given for a charge (empty when none).
    fn of(&self, code: &str) -> &[UsageBucket] {
        self.charges
            .iter()
            .find(|(c, _)| c == code)
            .map_or(&[], |(_, b)| b.as_slice())
    }

    /// [`PlanUsage::of`], taken out.
    fn take(&mut self, code: &str) -> Vec<UsageBucket> {
        self.charges
            .iter_mut()
            .find(|(c, _)| c == code)
            .map(|(_, b)| std::mem::take(b))
            .unwrap_or_default()
    }
}

/// What a customer usage shows: Lago's current usage, or the invoice view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UsageMode {
    /// Exactly Lago's `current_usage` object: no true-up.
    #[default]
    CurrentUsage,
    /// The same, plus each charge's minimum-spend true-up (M9) and the
    /// invoice totals.
    Invoice,
}

/// Options of a customer usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsageOptions {
    /// Current usage or invoice view.
    pub mode: UsageMode,
    /// Whether fees are taxed (U12); without, taxes are 0.
    pub apply_taxes: bool,
    /// Whether each charge also lists the older `groups` (UD4, C2).
    pub legacy_groups: bool,
}

impl Default for UsageOptions {
    fn default() -> Self {
        Self {
            mode: UsageMode::CurrentUsage,
            apply_taxes: true,
            legacy_groups: false,
        }
    }
}

impl UsageOptions {
    /// Sets the mode.
    #[must_use]
    pub fn with_mode(mut self, mode: UsageMode) -> Self {
        self.mode = mode;
        self
    }

    /// Turns taxes on or off.
    #[must_use]
    pub fn with_apply_taxes(mut self, apply: bool) -> Self {
        self.apply_taxes = apply;
        self
    }

    /// Asks for the older `groups` arrays.
    #[must_use]
    pub fn with_legacy_groups(mut self, legacy: bool) -> Self {
        self.legacy_groups = legacy;
        self
    }
}

/// Sums over a set of fees (lago-usage.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UsageTotals {
    /// Σ fee units.
    pub units: Exact,
    /// Σ fee total aggregated units.
    pub total_aggregated_units: Exact,
    /// Σ fee events.
    pub events_count: u64,
    /// Σ fee `amount_cents`.
    pub amount_cents: i128,
    /// Σ pricing-unit `amount_cents`, for a charge with a pricing unit.
    pub pricing_unit_amount_cents: Option<i128>,
}

/// One fee of the usage object: a bucket's (and group's) fee with the
/// figures usage shows beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsageFee {
    /// The fee; `units` are the shown units (U4), `filter` and
    /// `grouped_by` place it.
    pub fee: Fee,
    /// Its total aggregated units (U4).
    pub total_aggregated_units: Exact,
    /// Its presentation breakdowns (empty unless C8 allows them).
    pub presentation_breakdowns: Vec<PresentationBreakdown>,
}

/// The usage of one bucket: a `filters[]` entry (lago-usage.md §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FilterUsage {
    /// The filter's index, `None` for the default bucket.
    pub filter: Option<usize>,
    /// Sums over the bucket's fees.
    pub totals: UsageTotals,
    /// All breakdowns of the bucket's fees.
    pub presentation_breakdowns: Vec<PresentationBreakdown>,
}

/// The usage of one group across buckets: a `grouped_usage[]` entry
/// (lago-usage.md §2.4, U9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupedUsage {
    /// The label (empty for the fees that are not grouped).
    pub grouped_by: Label,
    /// Sums over the group's fees.
    pub totals: UsageTotals,
    /// The group's fees split by bucket (`[]` for a charge without filters).
    pub filters: Vec<FilterUsage>,
    /// Breakdowns of the group's fees that are grouped and not filtered.
    pub presentation_breakdowns: Vec<PresentationBreakdown>,
}

/// One item of the older `groups` array (lago-usage.md §2.5, UD4, C2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyGroup {
    /// `charge-filter-<filter lago_id, else its index>`.
    pub lago_id: String,
    /// The filter's keys, joined with `", "`.
    pub key: String,
    /// The filter's values, key by key, joined with `", "`.
    pub value: String,
    /// The fee's units.
    pub units: Exact,
    /// The fee's `amount_cents`.
    pub amount_cents: i128,
    /// The fee's events.
    pub events_count: u64,
}

/// One charge's usage: a `charges_usage[]` entry (lago-usage.md §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChargeUsage<'p> {
    /// The plan charge (its ids, codes and names are echoed).
    pub charge: &'p PlanCharge,
    /// Sums over every fee of the charge.
    pub totals: UsageTotals,
    /// The fees, in the stable order of UD1.
    pub fees: Vec<UsageFee>,
    /// One entry per bucket (`[]` for a charge without filters, U8).
    pub filters: Vec<FilterUsage>,
    /// The older `groups`, when asked for.
    pub legacy_groups: Option<Vec<LegacyGroup>>,
    /// One entry per group label (`[]` when no fee is grouped, U9).
    pub grouped_usage: Vec<GroupedUsage>,
    /// Breakdowns of the fees that are neither grouped nor filtered (U10).
    pub presentation_breakdowns: Vec<PresentationBreakdown>,
    /// The minimum-spend true-up (invoice view only), taxed with the
    /// charge's taxes.
    pub true_up_fee: Option<Fee>,
}

/// The invoice totals of the invoice view (usage-json.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvoiceTotals {
    /// The usage's `amount_cents` plus every true-up.
    pub amount_cents: i128,
    /// UD2's single rounding over every fee and true-up.
    pub taxes_amount_cents: i128,
    /// `amount_cents + taxes_amount_cents`.
    pub total_amount_cents: i128,
}

/// Lago's `customer_usage` object for one period (lago-usage.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomerUsage<'p> {
    /// The period (its printed datetimes and `issuing_date`).
    pub period: UsagePeriod,
    /// The plan currency.
    pub currency: Currency,
    /// Σ fee `amount_cents` (U11).
    pub amount_cents: i128,
    /// UD2: every fee's taxes summed exactly, rounded once.
    pub taxes_amount_cents: i128,
    /// `amount_cents + taxes_amount_cents`.
    pub total_amount_cents: i128,
    /// One entry per charge, in plan order (UD1).
    pub charges_usage: Vec<ChargeUsage<'p>>,
    /// The invoice totals, in the invoice view.
    pub invoice: Option<InvoiceTotals>,
}

impl Plan {
    /// Prices every charge of the plan for `period` from its buckets:
    /// Lago's customer usage object, with every bucket present (U6), a
    /// stable order (UD1), taxes rounded once (UD2) and, on request, the
    /// older `groups` (UD4) and the invoice view (M9).
    ///
    /// ```
    /// use meterprice::{Plan, PlanUsage, Usage, UsageBucket, UsageOptions, UsagePeriod};
    /// let plan = Plan::from_lago_json("EUR", r#"{"taxes": [{"code": "vat", "rate": "20"}],
    ///   "charges": [{"code": "api", "charge_model": "standard", "properties": {"amount": "12.66"},
    ///     "billable_metric": {"code": "req", "name": "Requests", "aggregation_type": "count_agg"}}]}"#)?;
    /// let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")?;
    /// let usage = PlanUsage::new().with_buckets("api",
    ///     vec![UsageBucket::new(Usage::new("2".parse()?).with_events_count(2))]);
    /// let cu = plan.customer_usage(&period, &usage, &UsageOptions::default())?;
    /// // 2 × 12.66 = 25.32 EUR; 2532 × 20 % = 506.4 → 506, rounded once (UD2).
    /// assert_eq!((cu.amount_cents, cu.taxes_amount_cents, cu.total_amount_cents), (2532, 506, 3038));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`RateError::Usage`] for buckets that cannot be priced (a charge
    /// code the plan does not have, a filter index out of range, group
    /// keys that differ from the bucket's pricing group keys, a bucket
    /// given twice, an empty period); [`RateError::Arithmetic`] for a
    /// figure outside the decimal range.
    pub fn customer_usage(
        &self,
        period: &UsagePeriod,
        usage: &PlanUsage,
        options: &UsageOptions,
    ) -> Result<CustomerUsage<'_>, RateError> {
        self.check_usage(period, usage)?;
        let detail = FeeDetail::Full;
        self.price_charges(period, options, detail, |code| Given::Lent(usage.of(code)))
    }

    /// [`Plan::customer_usage`], taking the usage: each bucket's usage and
    /// label move into its fee instead of being copied (a billing run
    /// prices hundreds of thousands of buckets it no longer needs).
    ///
    /// ```
    /// use meterprice::{Plan, PlanUsage, Usage, UsageBucket, UsageOptions, UsagePeriod};
    /// let plan = Plan::from_lago_json("EUR", r#"{"charges": [{"code": "api",
    ///   "charge_model": "standard", "properties": {"amount": "0.5"},
    ///   "billable_metric": {"code": "req", "name": "Requests", "aggregation_type": "count_agg"}}]}"#)?;
    /// let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")?;
    /// let usage = PlanUsage::new().with_buckets("api",
    ///     vec![UsageBucket::new(Usage::new("3".parse()?).with_events_count(3))]);
    /// let lent = plan.customer_usage(&period, &usage, &UsageOptions::default())?;
    /// let given = plan.customer_usage_from(&period, usage, &UsageOptions::default())?;
    /// // 3 × 0.50 EUR = 150 cents, either way.
    /// assert_eq!((given.amount_cents, given), (150, lent));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Plan::customer_usage`].
    pub fn customer_usage_from(
        &self,
        period: &UsagePeriod,
        usage: PlanUsage,
        options: &UsageOptions,
    ) -> Result<CustomerUsage<'_>, RateError> {
        self.price_given(period, usage, options, FeeDetail::Full)
    }

    /// [`Plan::customer_usage_from`] for the JSON contracts (`meterprice
    /// usage`, the billing run): each fee holds only what they write of it
    /// (its amounts, units and events; no taxes per fee and no amount
    /// details), and each group's label moves to the grouped usage. The
    /// object is written, never handed out.
    #[cfg(feature = "lago")]
    pub(crate) fn customer_usage_written(
        &self,
        period: &UsagePeriod,
        usage: PlanUsage,
        options: &UsageOptions,
    ) -> Result<CustomerUsage<'_>, RateError> {
        self.price_given(period, usage, options, FeeDetail::AmountsOnly)
    }

    /// The usage given, checked, then priced with fees of `detail`.
    fn price_given(
        &self,
        period: &UsagePeriod,
        mut usage: PlanUsage,
        options: &UsageOptions,
        detail: FeeDetail,
    ) -> Result<CustomerUsage<'_>, RateError> {
        self.check_usage(period, &usage)?;
        self.price_charges(period, options, detail, |code| {
            Given::Owned(usage.take(code))
        })
    }

    /// A period that can be priced, and usage only for the plan's charges.
    fn check_usage(&self, period: &UsagePeriod, usage: &PlanUsage) -> Result<(), RateError> {
        period
            .check()
            .map_err(|e| crate::error::UsageError::new(e.to_string()))?;
        for (code, _) in &usage.charges {
            if self.charge(code).is_none() {
                return Err(crate::error::UsageError::new(format!(
                    "usage.{code}: the plan has no charge with code {code:?}"
                ))
                .into());
            }
        }
        Ok(())
    }

    /// Every charge priced from the buckets `given(code)` gives, then the
    /// totals.
    fn price_charges<'a>(
        &self,
        period: &UsagePeriod,
        options: &UsageOptions,
        detail: FeeDetail,
        mut given: impl FnMut(&str) -> Given<'a>,
    ) -> Result<CustomerUsage<'_>, RateError> {
        let mut charges_usage = Vec::with_capacity(self.charges.len());
        for pc in &self.charges {
            let buckets = given(&pc.code);
            let mut cu = price::charge_usage(pc, buckets, options.legacy_groups, detail)?;
            if options.mode == UsageMode::Invoice {
                cu.true_up_fee = totals::true_up(pc, self.taxes_for(pc, options), &cu, period)?;
            }
            charges_usage.push(cu);
        }
        totals::customer_usage(self, period, charges_usage, options)
    }

    /// The taxes a charge's fees carry under these options.
    pub(crate) fn taxes_for<'a>(&'a self, pc: &'a PlanCharge, options: &UsageOptions) -> &'a [Tax] {
        if options.apply_taxes {
            self.taxes_of(pc)
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::details::AmountDetails;

    /// A graduated charge with a filter, groups, its own tax and a
    /// minimum; two buckets of two groups each.
    fn priced(detail: FeeDetail) -> (i128, Vec<(String, Vec<Fee>)>, String) {
        let plan = Plan::from_lago_json(
            "EUR",
            r#"{"taxes": [{"code": "vat", "name": "VAT", "rate": "20"}],
            "charges": [{"code": "gb", "charge_model": "graduated", "min_amount_cents": 100000,
              "taxes": [{"code": "reduced", "name": "Reduced", "rate": "5.5"}],
              "properties": {"pricing_group_keys": ["agent"], "graduated_ranges": [
                {"from_value": 0, "to_value": 10, "per_unit_amount": "0.5", "flat_amount": "1"},
                {"from_value": 11, "to_value": null, "per_unit_amount": "0.25", "flat_amount": "0"}]},
              "filters": [{"values": {"region": ["eu"]}, "properties": {"pricing_group_keys": ["agent"],
                "graduated_ranges": [{"from_value": 0, "to_value": null, "per_unit_amount": "2", "flat_amount": "0"}]}}],
              "billable_metric": {"code": "storage", "name": "Storage", "aggregation_type": "sum_agg",
                "field_name": "gb"}}]}"#,
        )
        .unwrap();
        let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z").unwrap();
        let bucket = |units: &str, filter: Option<usize>, agent: &str| {
            let usage = Usage::new(units.parse().unwrap()).with_events_count(3);
            let b = UsageBucket::new(usage).with_group(vec![("agent".into(), Some(agent.into()))]);
            match filter {
                Some(f) => b.in_filter(f),
                None => b,
            }
        };
        let buckets = vec![
            bucket("4", Some(0), "a1"),
            bucket("7.5", Some(0), "a2"),
            bucket("12", None, "a1"),
            bucket("30", None, "a3"),
        ];
        let options = UsageOptions::default()
            .with_mode(UsageMode::Invoice)
            .with_legacy_groups(true);
        let usage = PlanUsage::new().with_buckets("gb", buckets);
        let cu = plan.price_given(&period, usage, &options, detail).unwrap();
        let fees = cu
            .charges_usage
            .iter()
            .map(|c| {
                (
                    c.charge.code.clone(),
                    c.fees.iter().map(|f| f.fee.clone()).collect(),
                )
            })
            .collect();
        let mut text = format!(
            "{} {} {}",
            cu.amount_cents, cu.taxes_amount_cents, cu.total_amount_cents
        );
        for c in &cu.charges_usage {
            let views = (&c.totals, &c.filters, &c.grouped_usage, &c.legacy_groups);
            text += &format!(
                " {views:?} {:?}",
                c.true_up_fee.as_ref().map(|f| f.amount_cents)
            );
        }
        (cu.amount_cents, fees, text)
    }

    #[test]
    fn fees_priced_for_json_keep_every_figure_the_json_shows() {
        let (full_cents, full, full_text) = priced(FeeDetail::Full);
        let (cents, shown, text) = priced(FeeDetail::AmountsOnly);
        // Filter eu at 2 EUR: 4 → 800, 7.5 → 1500; default: 12 → 10 × 0.5
        // + 1 + 2 × 0.25 = 6.50 EUR, 30 → 10 × 0.5 + 1 + 20 × 0.25 = 11 EUR.
        assert_eq!((full_cents, cents), (800 + 1500 + 650 + 1100, 4050));
        // The totals, filters, grouped usage, legacy groups and true-up.
        assert_eq!(text, full_text);
        // Agents a1 (in both buckets), a2 and a3: three groups, three
        // labels moved.
        let moved = shown
            .iter()
            .flat_map(|(_, f)| f)
            .filter(|f| f.grouped_by.is_none());
        assert_eq!(moved.count(), 3);
        for ((_, a), (_, b)) in full.iter().zip(&shown) {
            assert_eq!(a.len(), 4);
            for (a, b) in a.iter().zip(b) {
                let figures = |f: &Fee| {
                    (
                        f.units,
                        f.events_count,
                        f.amount_cents,
                        f.precise_amount_cents,
                    )
                };
                assert_eq!(figures(a), figures(b));
                // A group's label moved from its first fee to the grouped
                // usage (compared above); the others keep theirs.
                assert!(b.grouped_by.is_none() || b.grouped_by == a.grouped_by);
                assert_eq!(a.filter, b.filter);
                // What the JSON does not show is left out.
                assert_eq!(a.taxes.applied.len(), 1);
                assert!(b.taxes.applied.is_empty());
                assert!(
                    matches!(a.amount_details, AmountDetails::Graduated(ref l) if !l.is_empty())
                );
                assert_eq!(b.amount_details, AmountDetails::Graduated(Vec::new()));
                // 4 units for 800 cents: 200 cents a unit; 30 for 1100:
                // 36.66…, truncated to 36 (Q17).
                assert!(a.unit_amount_cents > 0 && !a.precise_unit_amount.is_zero());
                assert_eq!(
                    (b.unit_amount_cents, b.precise_unit_amount),
                    (0, Exact::ZERO)
                );
            }
        }
    }
}
