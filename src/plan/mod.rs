//! A plan: a currency, taxes, and charges, each with its billable metric
//! (usage.md, usage-json.md). Construction validates; pricing a period is
//! [`Plan::customer_usage`].

mod metric;

pub use metric::{AggregationType, BillableMetric, MetricAggregation};

use crate::charge::{Charge, ChargeFilter, Tax};
use crate::currency::Currency;
use crate::error::{DefinitionError, ValidationError, Violation};
use crate::models::ChargeModel;

/// One charge of a plan: a [`Charge`] with its billable metric and the
/// identity the customer usage object echoes.
///
/// ```
/// use meterprice::{AggregationType, BillableMetric, Charge, PlanCharge};
/// let charge = Charge::from_lago_json("EUR", r#"{"code": "api", "charge_model": "standard",
///     "properties": {"amount": "0.01"}}"#)?;
/// let metric = BillableMetric::new("requests", AggregationType::Count);
/// let pc = PlanCharge::new(charge, metric)?.with_lago_id("c-1");
/// assert_eq!(pc.code(), "api");
/// assert_eq!(pc.charge().labels().billable_metric_code.as_deref(), Some("requests"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCharge {
    pub(crate) lago_id: Option<String>,
    pub(crate) code: String,
    pub(crate) charge: Charge,
    pub(crate) metric: BillableMetric,
    pub(crate) pricing_unit_short_name: Option<String>,
    pub(crate) filter_lago_ids: Vec<Option<String>>,
    pub(crate) presentation_group_keys: Vec<String>,
    pub(crate) filter_presentation_group_keys: Vec<Vec<String>>,
    /// The charge as each filter's bucket prices it: the filter's model and
    /// group keys, no filters (built once, so a bucket is priced by its
    /// filter's index, never re-matched by values).
    pub(crate) filter_charges: Vec<Charge>,
}

impl PlanCharge {
    /// Joins a charge and its metric, checking the rules that need both
    /// (C13, semantics.md §8.4): a charge code, `pay_in_advance` only on
    /// count, sum and unique-count metrics, `prorated` only on a recurring
    /// sum or unique count, `dynamic` only on a sum.
    ///
    /// # Errors
    /// [`DefinitionError::Invalid`] with every broken rule.
    pub fn new(mut charge: Charge, metric: BillableMetric) -> Result<Self, DefinitionError> {
        let code = charge.labels().code.clone().unwrap_or_default();
        let violations = combination_rules(&code, &charge, &metric);
        if !violations.is_empty() {
            return Err(DefinitionError::Invalid(ValidationError { violations }));
        }
        let mut labels = charge.labels().clone();
        labels.billable_metric_code = Some(metric.code.clone());
        labels.billable_metric_name = metric.name.clone();
        charge = charge.labelled(labels);
        let filter_charges = charge
            .filters
            .iter()
            .map(|f| filter_view(&charge, f))
            .collect();
        Ok(Self {
            lago_id: None,
            code,
            charge,
            metric,
            pricing_unit_short_name: None,
            filter_lago_ids: Vec::new(),
            presentation_group_keys: Vec::new(),
            filter_presentation_group_keys: Vec::new(),
            filter_charges,
        })
    }

    /// Sets Lago's id of the charge (echoed as `charge.lago_id`).
    #[must_use]
    pub fn with_lago_id(mut self, lago_id: impl Into<String>) -> Self {
        self.lago_id = Some(lago_id.into());
        self
    }

    /// Sets the pricing unit's short name (C3; its code otherwise).
    #[must_use]
    pub fn with_pricing_unit_short_name(mut self, short_name: impl Into<String>) -> Self {
        self.pricing_unit_short_name = Some(short_name.into());
        self
    }

    /// Sets Lago's ids of the charge's filters, in filter order (the legacy
    /// `groups` name a filter by it, C2).
    #[must_use]
    pub fn with_filter_lago_ids(mut self, ids: Vec<Option<String>>) -> Self {
        self.filter_lago_ids = ids;
        self
    }

    /// Sets the charge's `presentation_group_keys` (U10, C8).
    #[must_use]
    pub fn with_presentation_group_keys(mut self, keys: Vec<String>) -> Self {
        self.presentation_group_keys = keys;
        self
    }

    /// Sets each filter's `presentation_group_keys`, in filter order.
    #[must_use]
    pub fn with_filter_presentation_group_keys(mut self, keys: Vec<Vec<String>>) -> Self {
        self.filter_presentation_group_keys = keys;
        self
    }

    /// The charge code (unique in its plan).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Lago's id of the charge, when given.
    pub fn lago_id(&self) -> Option<&str> {
        self.lago_id.as_deref()
    }

    /// The charge.
    pub fn charge(&self) -> &Charge {
        &self.charge
    }

    /// The billable metric.
    pub fn metric(&self) -> &BillableMetric {
        &self.metric
    }

    /// The pricing unit's name as usage shows it: its short name, else its
    /// code (C3); `None` without a pricing unit.
    pub fn pricing_unit_short_name(&self) -> Option<&str> {
        let unit = self.charge.pricing_unit.as_ref()?;
        Some(
            self.pricing_unit_short_name
                .as_deref()
                .unwrap_or(unit.code.as_str()),
        )
    }

    /// Lago's id of filter `index`, when given.
    pub fn filter_lago_id(&self, index: usize) -> Option<&str> {
        self.filter_lago_ids.get(index).and_then(Option::as_deref)
    }

    /// The charge's `presentation_group_keys`.
    pub fn presentation_group_keys(&self) -> &[String] {
        &self.presentation_group_keys
    }

    /// Whether the fees of a bucket (`None`: the default bucket) show
    /// presentation breakdowns: the charge or that filter has
    /// `presentation_group_keys` (C8).
    pub(crate) fn shows_breakdowns(&self, filter: Option<usize>) -> bool {
        let own = filter
            .and_then(|i| self.filter_presentation_group_keys.get(i))
            .is_some_and(|k| !k.is_empty());
        own || !self.presentation_group_keys.is_empty()
    }

    /// The charge that prices the bucket of `filter` (`None`: the default
    /// bucket, priced by the charge itself).
    pub(crate) fn bucket_charge(&self, filter: Option<usize>) -> Option<&Charge> {
        match filter {
            None => Some(&self.charge),
            Some(i) => self.filter_charges.get(i),
        }
    }

    /// The pricing group keys of a bucket.
    pub(crate) fn group_keys(&self, filter: Option<usize>) -> &[String] {
        self.bucket_charge(filter)
            .map_or(&[], |c| c.group_keys.as_slice())
    }
}

/// The charge a filter's bucket is priced with.
fn filter_view(charge: &Charge, filter: &ChargeFilter) -> Charge {
    Charge {
        model: filter.model.clone(),
        group_keys: filter.group_keys.clone(),
        filters: Vec::new(),
        ..charge.clone()
    }
}

/// The rules between a charge and its metric (C13, semantics.md §8.4).
fn combination_rules(code: &str, charge: &Charge, metric: &BillableMetric) -> Vec<Violation> {
    let mut out = Vec::new();
    let kind = metric.aggregation_type;
    if code.is_empty() {
        out.push(Violation::new(
            "code",
            "value_is_mandatory",
            "charge code is required",
        ));
    }
    if charge.pay_in_advance && !kind.payable_in_advance() {
        out.push(Violation::new(
            "pay_in_advance",
            "invalid_aggregation_type_or_charge_model",
            format!(
                "charge {code:?}: pay_in_advance is not allowed on a {} metric",
                kind.lago_name()
            ),
        ));
    }
    if charge.prorated && !(metric.recurring && kind.proratable()) {
        out.push(Violation::new(
            "prorated",
            "invalid_billable_metric_or_charge_model",
            format!(
                "charge {code:?}: prorated needs a recurring sum_agg or unique_count_agg metric, got {}{}",
                if metric.recurring { "recurring " } else { "" },
                kind.lago_name()
            ),
        ));
    }
    if matches!(charge.model, ChargeModel::Dynamic) && kind != AggregationType::Sum {
        out.push(Violation::new(
            "charge_model",
            "invalid_aggregation_type_or_charge_model",
            format!(
                "charge {code:?}: a dynamic charge needs a sum_agg metric, got {}",
                kind.lago_name()
            ),
        ));
    }
    out
}

/// A plan: its currency, its taxes (for charges without their own) and its
/// charges, in plan order.
///
/// ```
/// use meterprice::{AggregationType, BillableMetric, Charge, Currency, Plan, PlanCharge};
/// let eur = Currency::from_code("EUR").unwrap();
/// let charge = |code: &str| -> Result<PlanCharge, Box<dyn std::error::Error>> {
///     let c = Charge::from_lago_json("EUR", &format!(
///         r#"{{"code": "{code}", "charge_model": "standard", "properties": {{"amount": "1"}}}}"#))?;
///     Ok(PlanCharge::new(c, BillableMetric::new("requests", AggregationType::Count))?)
/// };
/// let plan = Plan::new(eur, vec![charge("a")?, charge("b")?])?;
/// assert_eq!(plan.charges().len(), 2);
/// // Charge codes are unique in a plan.
/// assert!(Plan::new(eur, vec![charge("a")?, charge("a")?]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub(crate) currency: Currency,
    pub(crate) taxes: Vec<Tax>,
    pub(crate) charges: Vec<PlanCharge>,
}

impl Plan {
    /// A plan of these charges, priced in `currency`.
    ///
    /// # Errors
    /// [`DefinitionError::Invalid`] when two charges share a code
    /// (`value_already_exist`) or a charge is priced in another currency.
    pub fn new(currency: Currency, charges: Vec<PlanCharge>) -> Result<Self, DefinitionError> {
        let mut violations = Vec::new();
        for (i, pc) in charges.iter().enumerate() {
            let first = charges.iter().position(|other| other.code == pc.code);
            if let Some(j) = first.filter(|&j| j < i) {
                violations.push(Violation::new(
                    "code",
                    "value_already_exist",
                    format!(
                        "plan.charges[{i}].code {:?} is already the code of plan.charges[{j}]",
                        pc.code
                    ),
                ));
            }
            if pc.charge.currency != currency {
                violations.push(Violation::new(
                    "currency",
                    "value_is_invalid",
                    format!(
                        "plan.charges[{i}] is priced in {}, the plan in {}",
                        pc.charge.currency.code(),
                        currency.code()
                    ),
                ));
            }
        }
        if !violations.is_empty() {
            return Err(DefinitionError::Invalid(ValidationError { violations }));
        }
        Ok(Self {
            currency,
            taxes: Vec::new(),
            charges,
        })
    }

    /// Sets the plan's taxes: they apply to every charge without taxes of
    /// its own (C12, semantics.md §7).
    #[must_use]
    pub fn with_taxes(mut self, taxes: Vec<Tax>) -> Self {
        self.taxes = taxes;
        self
    }

    /// The plan currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The plan's taxes.
    pub fn taxes(&self) -> &[Tax] {
        &self.taxes
    }

    /// The charges, in plan order.
    pub fn charges(&self) -> &[PlanCharge] {
        &self.charges
    }

    /// The charge with this code.
    pub fn charge(&self, code: &str) -> Option<&PlanCharge> {
        self.charges.iter().find(|c| c.code == code)
    }

    /// The taxes a charge's fees carry: its own, else the plan's (C12).
    pub(crate) fn taxes_of<'a>(&'a self, charge: &'a PlanCharge) -> &'a [Tax] {
        if charge.charge.taxes.is_empty() {
            &self.taxes
        } else {
            &charge.charge.taxes
        }
    }
}
