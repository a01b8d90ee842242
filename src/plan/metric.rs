//! A billable metric: what a plan charge echoes of it, and the slot its
//! aggregation definition lives in.

/// How a billable metric aggregates its events (aggregation.md §1.2).
///
/// Lago's `custom_agg` has no variant: meterprice does not run custom
/// aggregators (AD10), and the JSON reader answers `unsupported` for it.
///
/// ```
/// use meterprice::AggregationType;
/// let sum = AggregationType::from_lago_name("sum_agg").unwrap();
/// assert_eq!(sum, AggregationType::Sum);
/// assert_eq!(sum.lago_name(), "sum_agg");
/// assert!(AggregationType::from_lago_name("custom_agg").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggregationType {
    /// `count_agg`: the number of events.
    Count,
    /// `sum_agg`: the sum of a property.
    Sum,
    /// `max_agg`: the largest value of a property.
    Max,
    /// `unique_count_agg`: the number of distinct values of a property.
    UniqueCount,
    /// `weighted_sum_agg`: a sum weighted by the time each value was active.
    WeightedSum,
    /// `latest_agg`: the value of the latest event.
    Latest,
}

impl AggregationType {
    /// The type with Lago's name (`"count_agg"`, …), if meterprice has it.
    pub fn from_lago_name(name: &str) -> Option<Self> {
        Some(match name {
            "count_agg" => Self::Count,
            "sum_agg" => Self::Sum,
            "max_agg" => Self::Max,
            "unique_count_agg" => Self::UniqueCount,
            "weighted_sum_agg" => Self::WeightedSum,
            "latest_agg" => Self::Latest,
            _ => return None,
        })
    }

    /// Lago's name of the type, as `billable_metric.aggregation_type` shows it.
    pub fn lago_name(self) -> &'static str {
        match self {
            Self::Count => "count_agg",
            Self::Sum => "sum_agg",
            Self::Max => "max_agg",
            Self::UniqueCount => "unique_count_agg",
            Self::WeightedSum => "weighted_sum_agg",
            Self::Latest => "latest_agg",
        }
    }

    /// Whether a charge on this metric may be paid in advance (C13,
    /// semantics.md §8.4): count, sum and unique count only.
    pub fn payable_in_advance(self) -> bool {
        matches!(self, Self::Count | Self::Sum | Self::UniqueCount)
    }

    /// Whether a charge on this metric may be prorated, given the metric
    /// is recurring (C13): sum and unique count only.
    pub fn proratable(self) -> bool {
        matches!(self, Self::Sum | Self::UniqueCount)
    }
}

/// The metric's aggregation definition beyond its type, as given.
///
/// This is the slot the aggregation module fills: events are aggregated by
/// what it holds. Until then it keeps the fields unvalidated, so that a
/// plan read from Lago's JSON loses nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MetricAggregation {
    /// The event property aggregated (`null` for `count_agg`).
    pub field_name: Option<String>,
    /// `round`, `ceil` or `floor`, applied to the aggregation.
    pub rounding_function: Option<String>,
    /// Places of that rounding.
    pub rounding_precision: Option<i64>,
    /// An expression computing `field_name` from the event (A3).
    pub expression: Option<String>,
    /// The metric's filters: key → the values it declares, in order.
    pub filters: Vec<(String, Vec<String>)>,
}

/// A billable metric as a plan charge refers to it: its identity (echoed in
/// the customer usage object) and its aggregation.
///
/// ```
/// use meterprice::{AggregationType, BillableMetric};
/// let m = BillableMetric::new("requests", AggregationType::Count).with_name("Requests");
/// assert_eq!(m.code(), "requests");
/// assert_eq!(m.name(), Some("Requests"));
/// assert!(!m.recurring());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillableMetric {
    pub(crate) lago_id: Option<String>,
    pub(crate) code: String,
    pub(crate) name: Option<String>,
    pub(crate) aggregation_type: AggregationType,
    pub(crate) recurring: bool,
    pub(crate) aggregation: MetricAggregation,
}

impl BillableMetric {
    /// A metric with this code and aggregation type, not recurring.
    pub fn new(code: impl Into<String>, aggregation_type: AggregationType) -> Self {
        Self {
            lago_id: None,
            code: code.into(),
            name: None,
            aggregation_type,
            recurring: false,
            aggregation: MetricAggregation::default(),
        }
    }

    /// Sets the metric's display name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets Lago's id of the metric (echoed).
    #[must_use]
    pub fn with_lago_id(mut self, lago_id: impl Into<String>) -> Self {
        self.lago_id = Some(lago_id.into());
        self
    }

    /// Makes the metric recurring (its usage carries over periods).
    #[must_use]
    pub fn with_recurring(mut self, recurring: bool) -> Self {
        self.recurring = recurring;
        self
    }

    /// Sets the aggregation definition.
    #[must_use]
    pub fn with_aggregation(mut self, aggregation: MetricAggregation) -> Self {
        self.aggregation = aggregation;
        self
    }

    /// The metric code (events carry it).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The display name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Lago's id, when given.
    pub fn lago_id(&self) -> Option<&str> {
        self.lago_id.as_deref()
    }

    /// The aggregation type.
    pub fn aggregation_type(&self) -> AggregationType {
        self.aggregation_type
    }

    /// Whether the metric is recurring.
    pub fn recurring(&self) -> bool {
        self.recurring
    }

    /// The aggregation definition.
    pub fn aggregation(&self) -> &MetricAggregation {
        &self.aggregation
    }
}
