//! A charge: its model, filters, groups, taxes, minimum, pricing unit, and
//! the builder that checks them together (semantics.md §8.4).

use std::sync::Arc;

use crate::currency::Currency;
use crate::error::{ValidationError, Violation};
use crate::exact::Exact;
use crate::fee::Echo;
use crate::models::{ChargeModel, ModelKind};
use crate::rules::{self, Violations};

/// A validated charge definition, priced in one currency.
///
/// Build it in code with [`Charge::builder`], or from Lago's JSON with
/// `Charge::from_lago_json` (the `lago` feature), then price buckets with
/// [`Charge::rate`] (in arrears) or [`Charge::rate_event`] (pay in
/// advance). Pricing takes `&self` and never mutates.
///
/// ```
/// use meterprice::{Bucket, Charge, ChargeModel, Currency, Exact, Period, Standard, Tax, Usage};
/// let d = |t: &str| t.parse::<Exact>().unwrap();
/// let eur = Currency::from_code("EUR").unwrap();
/// let charge = Charge::builder(eur, ChargeModel::Standard(Standard::try_new(d("0.5"))?))
///     .tax(Tax::try_new("vat", d("20"))?)
///     .min_amount_cents(1000)
///     .build()?;
/// let fees = charge.rate(&[Bucket::new(Usage::new(d("12")))], &Period::full(30))?;
/// // 12 × 0.5 = 6 EUR, taxed 1.20; the 10 EUR minimum adds a 4 EUR true-up.
/// assert_eq!(fees.fees[0].amount_cents, 600);
/// assert_eq!(fees.true_up_fee.as_ref().map(|f| f.amount_cents), Some(400));
/// assert_eq!(fees.taxes_amount_cents, 200); // (600 + 400) × 20 %
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// The labels, and what the fees show of the charge (shared by them).
    pub(crate) echo: Arc<Echo>,
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
    /// A filter selecting the buckets whose event properties match
    /// `values` (key → allowed values), priced with `model` (of the
    /// charge's own model kind).
    pub fn new(values: Vec<(String, Vec<String>)>, model: ChargeModel) -> Self {
        Self {
            values,
            model,
            group_keys: Vec::new(),
            invoice_display_name: None,
        }
    }

    /// Groups the filter's buckets by these keys.
    #[must_use]
    pub fn with_group_keys<K: Into<String>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.group_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Names the filter on invoices.
    #[must_use]
    pub fn with_invoice_display_name(mut self, name: impl Into<String>) -> Self {
        self.invoice_display_name = Some(name.into());
        self
    }

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

impl Tax {
    /// A tax of `rate` percent (`20` = 20 %), checked as Lago checks it
    /// (at least 0).
    ///
    /// ```
    /// use meterprice::Tax;
    /// let vat = Tax::try_new("vat_fr", "20".parse()?)?.with_name("TVA");
    /// assert_eq!(vat.name.as_deref(), Some("TVA"));
    /// let e = Tax::try_new("bad", "-1".parse()?).unwrap_err();
    /// assert_eq!((e.violations[0].field.as_str(), e.violations[0].code), ("rate", "value_is_invalid"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ValidationError`] when the rate is negative.
    pub fn try_new(code: impl Into<String>, rate: Exact) -> Result<Self, ValidationError> {
        let mut found = Violations::default();
        let rate = found.check(rules::typed_amount(rate, "rate", "value_is_invalid"));
        found.finish(rate.map(|rate| Self {
            code: code.into(),
            name: None,
            rate,
        }))
    }

    /// Sets the tax's name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
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

impl PricingUnit {
    /// A pricing unit worth `conversion_rate` currency units (above 0).
    ///
    /// ```
    /// use meterprice::PricingUnit;
    /// let credits = PricingUnit::try_new("credits", "0.5".parse()?)?;
    /// assert_eq!(credits.code, "credits");
    /// let e = PricingUnit::try_new("free", "0".parse()?).unwrap_err();
    /// assert_eq!(e.violations[0].code, "value_is_out_of_range");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ValidationError`] when the rate is not above 0.
    pub fn try_new(
        code: impl Into<String>,
        conversion_rate: Exact,
    ) -> Result<Self, ValidationError> {
        let mut found = Violations::default();
        let field = "applied_pricing_unit.conversion_rate";
        let place = "applied_pricing_unit.conversion_rate";
        let rate = found
            .check(rules::amount(
                conversion_rate,
                field,
                "value_is_out_of_range",
                &place,
                &conversion_rate,
            ))
            .and_then(|r| found.check(rules::conversion_rate(r, "applied_pricing_unit")));
        found.finish(rate.map(|conversion_rate| Self {
            code: code.into(),
            conversion_rate,
        }))
    }
}

/// The charge-level rules (semantics.md §8.4), on what a charge says of
/// itself; `kind` is the model's, when known.
#[inline]
pub(crate) fn flag_rules(
    kind: Option<ModelKind>,
    (pay_in_advance, invoiceable, prorated): (bool, bool, bool),
    min_amount_cents: i128,
    out: &mut Vec<Violation>,
) {
    if min_amount_cents < 0 {
        out.push(Violation::new(
            "min_amount_cents",
            "value_is_out_of_range",
            format!("charge.min_amount_cents must be >= 0, got {min_amount_cents}"),
        ));
    }
    if !invoiceable && !pay_in_advance {
        out.push(Violation::new(
            "invoiceable",
            "must_be_true_unless_pay_in_advance",
            "charge.invoiceable may be false only for a pay_in_advance charge",
        ));
    }
    if pay_in_advance && min_amount_cents > 0 {
        out.push(Violation::new(
            "min_amount_cents",
            "not_compatible_with_pay_in_advance",
            format!("charge.min_amount_cents {min_amount_cents} is not allowed on a pay_in_advance charge"),
        ));
    }
    if let Some(k) = kind {
        model_flag_rules(k, pay_in_advance, prorated, out);
    }
}

/// The rules between the model and how it is billed (§8.4).
fn model_flag_rules(
    kind: ModelKind,
    pay_in_advance: bool,
    prorated: bool,
    out: &mut Vec<Violation>,
) {
    if pay_in_advance && kind == ModelKind::Volume {
        out.push(Violation::new(
            "pay_in_advance",
            "invalid_aggregation_type_or_charge_model",
            "a volume charge cannot be pay_in_advance",
        ));
    }
    let prorated_ok = if pay_in_advance {
        kind == ModelKind::Standard
    } else {
        matches!(
            kind,
            ModelKind::Standard | ModelKind::Volume | ModelKind::Graduated
        )
    };
    if prorated && !prorated_ok {
        out.push(Violation::new(
            "prorated",
            "invalid_billable_metric_or_charge_model",
            format!(
                "charge.prorated is not allowed for {} charges{}",
                kind.name(),
                if pay_in_advance {
                    " paid in advance"
                } else {
                    ""
                }
            ),
        ));
    }
}

/// Builds a [`Charge`] in code: the model first, then what the charge adds
/// to it; [`ChargeBuilder::build`] checks the whole as Lago's validators
/// check a charge and lists every violation.
///
/// ```
/// use meterprice::{Charge, ChargeFilter, ChargeModel, Currency, Exact, Standard};
/// let d = |t: &str| t.parse::<Exact>().unwrap();
/// let eur = Currency::from_code("EUR").unwrap();
/// let standard = |price: &str| ChargeModel::Standard(Standard::try_new(d(price)).unwrap());
/// let charge = Charge::builder(eur, standard("1"))
///     .filter(ChargeFilter::new(vec![("region".into(), vec!["eu".into()])], standard("2"))
///         .with_group_keys(["cloud"]))
///     .code("storage")
///     .build()?;
/// assert_eq!(charge.filters().len(), 1);
///
/// // A volume charge cannot be paid in advance, nor a minimum go with it.
/// let volume = meterprice::Volume::try_new(vec![meterprice::Tier::new(
///     d("0"), None, meterprice::TierPrice::new(d("1"), d("0")))])?;
/// let e = Charge::builder(eur, ChargeModel::Volume(volume))
///     .pay_in_advance(true)
///     .min_amount_cents(100)
///     .build()
///     .unwrap_err();
/// let codes: Vec<&str> = e.violations.iter().map(|v| v.code).collect();
/// assert_eq!(codes, ["not_compatible_with_pay_in_advance", "invalid_aggregation_type_or_charge_model"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ChargeBuilder {
    charge: Charge,
    labels: Labels,
}

impl ChargeBuilder {
    /// Groups the charge's buckets by these keys (`pricing_group_keys`).
    pub fn group_keys<K: Into<String>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.charge.group_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a filter.
    pub fn filter(mut self, filter: ChargeFilter) -> Self {
        self.charge.filters.push(filter);
        self
    }

    /// Adds a tax applied to every fee.
    pub fn tax(mut self, tax: Tax) -> Self {
        self.charge.taxes.push(tax);
        self
    }

    /// Prices the model in a pricing unit.
    pub fn pricing_unit(mut self, unit: PricingUnit) -> Self {
        self.charge.pricing_unit = Some(unit);
        self
    }

    /// The minimum spend per full period, in minor units.
    pub fn min_amount_cents(mut self, cents: i128) -> Self {
        self.charge.min_amount_cents = cents;
        self
    }

    /// Bills each event in advance.
    pub fn pay_in_advance(mut self, yes: bool) -> Self {
        self.charge.pay_in_advance = yes;
        self
    }

    /// Whether in-advance fees go on the invoice (default true).
    pub fn invoiceable(mut self, yes: bool) -> Self {
        self.charge.invoiceable = yes;
        self
    }

    /// Prorates the charge.
    pub fn prorated(mut self, yes: bool) -> Self {
        self.charge.prorated = yes;
        self
    }

    /// The charge code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.labels.code = Some(code.into());
        self
    }

    /// The billable metric's code and name, echoed on the fees.
    pub fn billable_metric(mut self, code: impl Into<String>, name: impl Into<String>) -> Self {
        self.labels.billable_metric_code = Some(code.into());
        self.labels.billable_metric_name = Some(name.into());
        self
    }

    /// The charge's name on invoices.
    pub fn invoice_display_name(mut self, name: impl Into<String>) -> Self {
        self.labels.invoice_display_name = Some(name.into());
        self
    }

    /// The charge, checked (§8.4): the billing flags against each other and
    /// the model, the grouping keys, and every filter's model of the
    /// charge's kind.
    ///
    /// # Errors
    /// [`ValidationError`] with every violation.
    pub fn build(self) -> Result<Charge, ValidationError> {
        let c = &self.charge;
        let kind = c.model.kind();
        let mut found = Violations::default();
        let flags = (c.pay_in_advance, c.invoiceable, c.prorated);
        flag_rules(Some(kind), flags, c.min_amount_cents, &mut found.0);
        let keys = |keys: &[String], prefix: &str| {
            let place = format!("{prefix}pricing_group_keys");
            let shown = rules::shown_list(keys);
            rules::group_keys(Some(keys.to_vec()), "pricing_group_keys", &place, &shown).map(drop)
        };
        found.check(keys(&c.group_keys, ""));
        for (i, f) in c.filters.iter().enumerate() {
            found.check(keys(&f.group_keys, &format!("filters[{i}].properties.")));
            if f.model.kind() != kind {
                found.push(Violation::new(
                    "filters",
                    "value_is_invalid",
                    format!(
                        "filters[{i}] is a {} model on a {} charge",
                        f.model.name(),
                        kind.name()
                    ),
                ));
            }
        }
        found.finish(Some(self.charge.labelled(self.labels)))
    }
}

impl Charge {
    /// Starts a charge of `model` priced in `currency`: in arrears,
    /// invoiceable, not prorated, no minimum, no taxes, no filters; see
    /// [`ChargeBuilder`].
    pub fn builder(currency: Currency, model: ChargeModel) -> ChargeBuilder {
        ChargeBuilder {
            charge: Charge {
                currency,
                model,
                group_keys: Vec::new(),
                filters: Vec::new(),
                pay_in_advance: false,
                invoiceable: true,
                prorated: false,
                min_amount_cents: 0,
                taxes: Vec::new(),
                pricing_unit: None,
                echo: Arc::new(Echo::unlabelled(currency)),
            },
            labels: Labels::default(),
        }
    }

    /// The charge with these labels, and its fees' echo made from its
    /// current model, currency and filters.
    pub(crate) fn labelled(mut self, labels: Labels) -> Self {
        let echo = Echo::new(
            &self.model,
            self.currency,
            self.invoiceable,
            labels,
            &self.filters,
        );
        self.echo = Arc::new(echo);
        self
    }

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
        &self.echo.labels
    }

    /// The pricing group keys of the charge's own buckets (filters carry
    /// theirs).
    pub fn group_keys(&self) -> &[String] {
        &self.group_keys
    }

    /// Whether the charge's fees are invoiced.
    pub fn invoiceable(&self) -> bool {
        self.invoiceable
    }

    /// The charge's taxes.
    pub fn taxes(&self) -> &[Tax] {
        &self.taxes
    }

    /// The pricing unit the model's amounts are in, if any.
    pub fn pricing_unit(&self) -> Option<&PricingUnit> {
        self.pricing_unit.as_ref()
    }
}
