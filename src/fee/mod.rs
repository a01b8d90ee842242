//! Fees: a model outcome made invoice-ready (semantics.md §4, §6, §7).
//! One constructor, [`Fee::new`], builds the fee of a bucket in arrears, of
//! a pay-in-advance step and of a true-up alike.

mod money;

use std::sync::Arc;

pub(crate) use money::{Money, Priced, money, taxes};

use crate::charge::{ChargeFilter, Labels};
use crate::currency::Currency;
use crate::details::AmountDetails;
use crate::exact::Exact;
use crate::models::ChargeModel;

/// One fee: a bucket's (or a pay-in-advance event's, or the true-up's)
/// amount with its cents, unit amounts and taxes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fee {
    /// Units billed (0 when the fee was clamped).
    pub units: Exact,
    /// Events counted.
    pub events_count: u64,
    /// Exact amount in the currency's main unit.
    pub amount: Exact,
    /// `amount` rounded half away from zero to minor units.
    pub amount_cents: i128,
    /// `amount` in minor units, unrounded.
    pub precise_amount_cents: Exact,
    /// The unit amount in minor units, truncated toward zero (Q17).
    pub unit_amount_cents: i128,
    /// The exact unit amount in the main unit.
    pub precise_unit_amount: Exact,
    /// The model's amount details (kept as computed, even when clamped).
    pub amount_details: AmountDetails,
    /// The figures in the pricing unit, when the charge has one.
    pub pricing_unit_details: Option<Box<PricingUnitDetails>>,
    /// Taxes on this fee.
    pub taxes: FeeTaxes,
    /// Whether this fee bills a pay-in-advance event.
    pub pay_in_advance: bool,
    /// The charge filter that priced the bucket (index into the charge's
    /// filters), `None` for the default bucket and the true-up.
    pub filter: Option<usize>,
    /// The group this fee prices (key, value), when the charge is grouped.
    pub grouped_by: Option<Vec<(String, Option<String>)>>,
    /// Projected usage, when asked for.
    pub projection: Option<Box<Projection>>,
    /// What the fee shows of its charge (labels, currency, filters).
    pub(crate) echo: Arc<Echo>,
}

/// What a fee shows of the charge that priced it, shared by all its fees:
/// Lago's fee object names the charge model, the currency, the metric and
/// the filter, so a fee is written (or serialized) on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Echo {
    pub(crate) model: &'static str,
    pub(crate) currency: Currency,
    pub(crate) invoiceable: bool,
    pub(crate) labels: Labels,
    /// Each filter's values and display name, by filter index.
    pub(crate) filters: Vec<FilterEcho>,
}

/// A charge filter as its fees show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterEcho {
    pub(crate) values: Vec<(String, Vec<String>)>,
    pub(crate) display_name: String,
}

impl Echo {
    /// What the fees of a charge of `model` in `currency`, with these
    /// labels and filters, show of it.
    #[inline]
    pub(crate) fn new(
        model: &ChargeModel,
        currency: Currency,
        invoiceable: bool,
        labels: Labels,
        filters: &[ChargeFilter],
    ) -> Self {
        Self {
            model: model.name(),
            currency,
            invoiceable,
            labels,
            filters: filters
                .iter()
                .map(|f| FilterEcho {
                    values: f.values.clone(),
                    display_name: f.display_name(),
                })
                .collect(),
        }
    }

    /// An echo to be replaced by `Charge::labelled`.
    pub(crate) fn unlabelled(currency: Currency) -> Self {
        Self {
            model: "",
            currency,
            invoiceable: true,
            labels: Labels::default(),
            filters: Vec::new(),
        }
    }
}

impl Fee {
    /// A fee of `units` and `events_count` priced at `money`, with its
    /// taxes and amount details, for the charge `echo` shows; no filter, no
    /// group and no projection yet.
    #[inline]
    pub(crate) fn new(
        echo: &Arc<Echo>,
        (units, events_count): (Exact, u64),
        money: Money,
        taxes: FeeTaxes,
        amount_details: AmountDetails,
        pay_in_advance: bool,
    ) -> Self {
        Self {
            units,
            events_count,
            amount: money.amount,
            amount_cents: money.amount_cents,
            precise_amount_cents: money.precise_amount_cents,
            unit_amount_cents: money.unit_amount_cents,
            precise_unit_amount: money.precise_unit_amount,
            amount_details,
            pricing_unit_details: money.pricing_unit_details,
            taxes,
            pay_in_advance,
            filter: None,
            grouped_by: None,
            projection: None,
            echo: Arc::clone(echo),
        }
    }

    /// The currency the fee is in.
    pub fn currency(&self) -> Currency {
        self.echo.currency
    }
}

/// Taxes of one fee (semantics.md §7, exact decimals).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FeeTaxes {
    /// Each tax, rounded on its own.
    pub applied: Vec<AppliedTax>,
    /// The rounded sum of the exact tax amounts (Q23, kept).
    pub taxes_amount_cents: i128,
    /// The sum of the exact taxes on the precise amount.
    pub taxes_precise_amount_cents: Exact,
    /// The sum of the rates.
    pub taxes_rate: Exact,
    /// `amount_cents + taxes_amount_cents`.
    pub total_amount_cents: i128,
}

/// One tax on one fee.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedTax {
    /// Tax code.
    pub code: String,
    /// Tax name.
    pub name: Option<String>,
    /// Rate in percent.
    pub rate: Exact,
    /// `amount_cents × rate / 100`, rounded half away from zero.
    pub amount_cents: i128,
    /// `precise_amount_cents × rate / 100`, exact.
    pub precise_amount_cents: Exact,
}

/// A fee's figures in its pricing unit (semantics.md §4.6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PricingUnitDetails {
    /// The pricing unit's code.
    pub pricing_unit_code: String,
    /// Currency per pricing unit.
    pub conversion_rate: Exact,
    /// The amount rounded to pricing-unit cents (2 decimals).
    pub amount_cents: i128,
    /// The amount in pricing-unit cents, unrounded.
    pub precise_amount_cents: Exact,
    /// The unit amount in pricing-unit cents, truncated.
    pub unit_amount_cents: i128,
    /// The exact unit amount in pricing units.
    pub precise_unit_amount: Exact,
}

/// Projected usage of a fee (semantics.md §2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Projection {
    /// Units projected to the full period, rounded to 2 decimals.
    pub projected_units: Exact,
    /// The amount those units would cost.
    pub projected_amount: Exact,
    /// It in minor units (0 if negative).
    pub projected_amount_cents: i128,
}
