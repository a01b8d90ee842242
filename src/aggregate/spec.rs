//! What one aggregation is asked to do: the metric, the period, the
//! charge side (§1.3), the options and the carried state (§1.5, AD3).

use crate::aggregate::filters::{self, BucketId, Filters};
use crate::aggregate::metric::{MetricSpec, SetupError};
use crate::aggregate::time::{BillingPeriod, Timestamp};
use crate::error::Violation;
use crate::exact::Exact;
use crate::plan::AggregationType;

/// A group label: each pricing group key with its text, `None` for
/// `null`/missing/`""` (A28, AD6).
pub type GroupLabel = Vec<(String, Option<String>)>;

/// The charge models, as far as aggregation cares (percentage reads
/// per-event values and running totals, dynamic the events' prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChargeModelKind {
    /// `standard`.
    #[default]
    Standard,
    /// `graduated`.
    Graduated,
    /// `graduated_percentage`.
    GraduatedPercentage,
    /// `package`.
    Package,
    /// `percentage`.
    Percentage,
    /// `volume`.
    Volume,
    /// `dynamic`.
    Dynamic,
}

impl ChargeModelKind {
    /// The kind of a Lago model name; `None` for any other (`custom`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "standard" => Self::Standard,
            "graduated" => Self::Graduated,
            "graduated_percentage" => Self::GraduatedPercentage,
            "package" => Self::Package,
            "percentage" => Self::Percentage,
            "volume" => Self::Volume,
            "dynamic" => Self::Dynamic,
            _ => return None,
        })
    }
}

/// The charge side of an aggregation (§1.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChargeSpec {
    /// The pricing model.
    pub model: ChargeModelKind,
    /// Prorated (recurring sum and unique count only, §9).
    pub prorated: bool,
    /// Paid in advance, per event (§12).
    pub pay_in_advance: bool,
    /// Appends `target_wallet_code` to every bucket's group keys (A27).
    pub accepts_target_wallet: bool,
    /// Charge filters (§5).
    pub filters: Filters,
    /// The charge's pricing group keys: the default bucket's, and the raw
    /// filter bucket's (A27).
    pub group_keys: Vec<String>,
    /// The charge's `presentation_group_keys` values (U10): every bucket's
    /// groups are also aggregated by them, for display only.
    pub presentation_keys: Vec<String>,
}

/// Free-unit options of the bucket (A50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FreeUnits {
    /// `free_units_per_events` (0: not set).
    pub per_events: u64,
    /// `free_units_per_total_aggregation` (0: not set).
    pub per_total_aggregation: Exact,
}

/// Asks for the per-event list of a bucket (Lago's
/// `per_event_aggregation`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PerEvent {
    /// Only the events of this group (`None` value: the property is
    /// missing or `""`).
    pub grouped_by_values: Option<GroupLabel>,
}

/// Options of one aggregation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AggregationOptions {
    /// Free units (A50); when given, buckets carry a `running_total`.
    pub free_units: Option<FreeUnits>,
    /// Current usage rather than an invoice (A48, A59).
    pub is_current_usage: bool,
    /// In-advance billing; the charge's `pay_in_advance` when not given.
    pub is_pay_in_advance: Option<bool>,
    /// AD4's strict mode: each event goes to one bucket (A26's rule).
    pub strict_filters: bool,
    /// Asks for the per-event list.
    pub per_event: Option<PerEvent>,
}

/// One cached aggregation (§1.5): the state a pay-in-advance event left.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachedAggregation {
    /// The bucket it belongs to (C11: the default bucket when not named).
    pub bucket: Option<BucketId>,
    /// Its group (`[]` when not grouped).
    pub grouped_by: GroupLabel,
    /// When it was written; entries without one count as the latest in
    /// list order.
    pub timestamp: Option<Timestamp>,
    /// Units so far.
    pub current_aggregation: Exact,
    /// The period maximum already billed.
    pub max_aggregation: Exact,
    /// The prorated maximum already billed.
    pub max_aggregation_with_proration: Option<Exact>,
    /// The event that wrote it.
    pub event_transaction_id: Option<String>,
}

impl CachedAggregation {
    /// A state of `current` units with `max` billed.
    pub fn new(current: Exact, max: Exact) -> Self {
        Self {
            bucket: None,
            grouped_by: Vec::new(),
            timestamp: None,
            current_aggregation: current,
            max_aggregation: max,
            max_aggregation_with_proration: None,
            event_transaction_id: None,
        }
    }

    /// Sets the group.
    #[must_use]
    pub fn with_group(mut self, grouped_by: GroupLabel) -> Self {
        self.grouped_by = grouped_by;
        self
    }

    /// Sets the bucket.
    #[must_use]
    pub fn with_bucket(mut self, bucket: BucketId) -> Self {
        self.bucket = Some(bucket);
        self
    }

    /// Sets the prorated maximum.
    #[must_use]
    pub fn with_max_with_proration(mut self, max: Exact) -> Self {
        self.max_aggregation_with_proration = Some(max);
        self
    }

    /// Names the event that wrote it.
    #[must_use]
    pub fn with_event(mut self, transaction_id: &str) -> Self {
        self.event_transaction_id = Some(transaction_id.to_string());
        self
    }
}

/// A weighted sum's value at the start of the period (A38, AD3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightedSumInitial {
    /// One value (ungrouped).
    Value(Exact),
    /// The sum of the given events before the period (AD3's default).
    FromEvents,
    /// A value per group; groups only here still get a result (QA30).
    Groups(Vec<(GroupLabel, Exact)>),
}

/// Carried state (§1.5, AD3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CarriedState {
    /// Cached aggregations of pay-in-advance events.
    pub cached_aggregations: Vec<CachedAggregation>,
    /// The weighted-sum initial value (recurring weighted sums).
    pub weighted_sum_initial: Option<WeightedSumInitial>,
}

/// Everything one aggregation needs but its events.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregationSpec {
    /// The billable metric.
    pub metric: MetricSpec,
    /// The billing period.
    pub period: BillingPeriod,
    /// The charge side.
    pub charge: ChargeSpec,
    /// Options.
    pub options: AggregationOptions,
    /// Carried state.
    pub state: CarriedState,
}

impl AggregationSpec {
    /// A spec with default charge, options and state.
    pub fn new(metric: MetricSpec, period: BillingPeriod) -> Self {
        Self {
            metric,
            period,
            charge: ChargeSpec::default(),
            options: AggregationOptions::default(),
            state: CarriedState::default(),
        }
    }

    /// In-advance billing: the option, else the charge's flag.
    pub(crate) fn in_advance(&self) -> bool {
        self.options
            .is_pay_in_advance
            .unwrap_or(self.charge.pay_in_advance)
    }

    /// The charge's rules that involve the metric (C13, Lago's
    /// `Charge` validations), and the filters against the metric.
    pub(crate) fn check(&self) -> Result<(), SetupError> {
        let kind = self.metric.aggregation_type();
        let model = self.charge.model;
        let mut v = Vec::new();
        if self.charge.pay_in_advance
            && (!kind.payable_in_advance() || model == ChargeModelKind::Volume)
        {
            v.push(Violation::new(
                "pay_in_advance",
                "invalid_aggregation_type_or_charge_model",
                format!(
                    "a {} charge on {} cannot be paid in advance",
                    model_name(model),
                    kind.lago_name()
                ),
            ));
        }
        if self.charge.prorated && !prorate_allowed(kind, model, self) {
            v.push(Violation::new(
                "prorated",
                "invalid_billable_metric_or_charge_model",
                format!(
                    "a {} charge on a{} {} cannot be prorated",
                    model_name(model),
                    if self.metric.recurring() {
                        " recurring"
                    } else {
                        " non-recurring"
                    },
                    kind.lago_name()
                ),
            ));
        }
        if model == ChargeModelKind::Dynamic && kind != AggregationType::Sum {
            v.push(Violation::new(
                "charge_model",
                "invalid_aggregation_type_or_charge_model",
                format!("dynamic pricing needs sum_agg, not {}", kind.lago_name()),
            ));
        }
        if let Filters::Charge(list) = &self.charge.filters {
            v.extend(filters::check(list, self.metric.filters()));
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(SetupError::invalid(v))
        }
    }
}

fn prorate_allowed(kind: AggregationType, model: ChargeModelKind, spec: &AggregationSpec) -> bool {
    use ChargeModelKind::{Graduated, Standard, Volume};
    let metric_ok = spec.metric.recurring()
        && matches!(kind, AggregationType::Sum | AggregationType::UniqueCount);
    let model_ok = if spec.charge.pay_in_advance {
        model == Standard
    } else {
        matches!(model, Standard | Volume | Graduated)
    };
    metric_ok && model_ok
}

fn model_name(m: ChargeModelKind) -> &'static str {
    match m {
        ChargeModelKind::Standard => "standard",
        ChargeModelKind::Graduated => "graduated",
        ChargeModelKind::GraduatedPercentage => "graduated_percentage",
        ChargeModelKind::Package => "package",
        ChargeModelKind::Percentage => "percentage",
        ChargeModelKind::Volume => "volume",
        ChargeModelKind::Dynamic => "dynamic",
    }
}
