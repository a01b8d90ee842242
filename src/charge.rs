//! A charge: its model, filters, groups, taxes, minimum, pricing unit.

use crate::exact::Exact;

use crate::models::ChargeModel;
use crate::money::Currency;

/// A validated charge definition, priced in one currency.
///
/// Build it from Lago's JSON with [`Charge::from_lago_json`], then price
/// buckets with [`Charge::rate`] (in arrears) or [`Charge::rate_event`]
/// (pay in advance). Pricing takes `&self` and never mutates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub(crate) currency: Currency,
    pub(crate) model: ChargeModel,
    pub(crate) group_keys: Vec<String>,
    pub(crate) filters: Vec<ChargeFilter>,
    pub(crate) pay_in_advance: bool,
    pub(crate) invoiceable: bool,
    pub(crate) prorated: bool,
    pub(crate) min_amount_cents: i128,
    pub(crate) taxes: Vec<Tax>,
    pub(crate) pricing_unit: Option<PricingUnit>,
    pub(crate) labels: Labels,
}

/// Display names of a charge, echoed on its fees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Labels {
    /// The charge code.
    pub code: Option<String>,
    /// The billable metric's code.
    pub billable_metric_code: Option<String>,
    /// The billable metric's name.
    pub billable_metric_name: Option<String>,
    /// The charge's invoice display name.
    pub invoice_display_name: Option<String>,
}

/// The filter value that stands for every value of its key.
const ALL_FILTER_VALUES: &str = "__ALL_FILTER_VALUES__";

/// A charge filter: the buckets whose event properties match `values` are
/// priced with the filter's own model properties (semantics.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChargeFilter {
    /// Property key → allowed values, in the order given.
    pub values: Vec<(String, Vec<String>)>,
    /// The filter's own model (same model kind as the charge).
    pub model: ChargeModel,
    /// The filter's own grouping keys.
    pub group_keys: Vec<String>,
    /// Name shown on invoices.
    pub invoice_display_name: Option<String>,
}

impl ChargeFilter {
    /// The filter's display name: its `invoice_display_name` when not
    /// blank, else its values joined with `", "` in key order, a key
    /// standing for `__ALL_FILTER_VALUES__` (semantics.md §3.3).
    pub fn display_name(&self) -> String {
        match self
            .invoice_display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            Some(name) => name.to_string(),
            None => self
                .values
                .iter()
                .flat_map(|(key, values)| {
                    values.iter().map(move |v| {
                        if v == ALL_FILTER_VALUES {
                            key.as_str()
                        } else {
                            v.as_str()
                        }
                    })
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// Whether a bucket labelled `selector` belongs to this filter: the same
    /// keys, and every selected value among the filter's values.
    pub(crate) fn selects(&self, selector: &[(String, Vec<String>)]) -> bool {
        selector.len() == self.values.len()
            && selector.iter().all(|(key, wanted)| {
                self.values
                    .iter()
                    .find(|(k, _)| k == key)
                    .is_some_and(|(_, allowed)| wanted.iter().all(|w| allowed.contains(w)))
            })
    }
}

/// A tax applied to every fee of the charge.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tax {
    /// Tax code.
    pub code: String,
    /// Tax name.
    pub name: Option<String>,
    /// Rate in percent (`20` = 20 %).
    pub rate: Exact,
}

/// A pricing unit: the model's amounts are in this unit, converted to the
/// currency at `conversion_rate` (currency per pricing unit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PricingUnit {
    /// The pricing unit's code.
    pub code: String,
    /// Currency units per pricing unit (> 0).
    pub conversion_rate: Exact,
}

impl Charge {
    /// The plan currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The charge's own model (filters carry theirs).
    pub fn model(&self) -> &ChargeModel {
        &self.model
    }

    /// The charge's filters.
    pub fn filters(&self) -> &[ChargeFilter] {
        &self.filters
    }

    /// Whether the charge is billed per event, in advance.
    pub fn pay_in_advance(&self) -> bool {
        self.pay_in_advance
    }

    /// Whether the charge is prorated.
    pub fn prorated(&self) -> bool {
        self.prorated
    }

    /// The minimum spend per full period, in minor units.
    pub fn min_amount_cents(&self) -> i128 {
        self.min_amount_cents
    }

    /// Display labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }
}
