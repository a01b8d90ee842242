//! The billable metric (§1.2): what is aggregated and how, validated as
//! Lago's `MetricSpec` model validates it.

use crate::aggregate::expression::{Expression, Rounding};
use crate::error::{ArithmeticError, ValidationError, Violation};
use crate::exact::Exact;
use crate::plan::{AggregationType, BillableMetric};

/// Whether a type reads its field as a number (A13): sum, max, latest,
/// weighted sum.
pub(crate) fn is_numeric(kind: AggregationType) -> bool {
    matches!(
        kind,
        AggregationType::Sum
            | AggregationType::Max
            | AggregationType::Latest
            | AggregationType::WeightedSum
    )
}

/// The metric's rounding of aggregated units (A55).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricRounding {
    /// `round` (half away from zero), `ceil` or `floor`.
    pub function: Rounding,
    /// Fractional digits; negative rounds to tens, hundreds… (default 0).
    pub precision: i32,
}

impl MetricRounding {
    /// `units` rounded (A55: `123.456` → round −2 = `100`, ceil −2 =
    /// `200`).
    ///
    /// # Errors
    /// [`ArithmeticError`] when the rounded value leaves the range.
    pub fn apply(&self, units: Exact) -> Result<Exact, ArithmeticError> {
        crate::aggregate::expression::round_at(units, self.precision, self.function)
    }
}

/// One metric filter: a property key and its allowed values (§1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricFilter {
    /// The property key.
    pub key: String,
    /// The values `__ALL_FILTER_VALUES__` stands for (A19).
    pub values: Vec<String>,
}

/// A metric as Lago defines it, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricDefinition {
    /// The metric code events carry.
    pub code: String,
    /// Lago's type name (`"sum_agg"`).
    pub aggregation_type: String,
    /// The property aggregated (not for `count_agg`).
    pub field_name: Option<String>,
    /// Whether units carry over periods.
    pub recurring: bool,
    /// `round`, `ceil` or `floor`.
    pub rounding_function: Option<String>,
    /// Digits of the rounding.
    pub rounding_precision: Option<i64>,
    /// `seconds` (weighted sums).
    pub weighted_interval: Option<String>,
    /// An A3 expression that computes the field.
    pub expression: Option<String>,
    /// The metric filters.
    pub filters: Vec<MetricFilter>,
}

/// A billable metric validated for aggregation (the rules of Lago's
/// `MetricSpec` model).
///
/// ```
/// use meterprice::{AggregationType, MetricDefinition, MetricSpec};
/// let mut def = MetricDefinition::default();
/// def.code = "storage".into();
/// def.aggregation_type = "sum_agg".into();
/// def.field_name = Some("gb".into());
/// let metric = MetricSpec::new(def)?;
/// assert_eq!(metric.aggregation_type(), AggregationType::Sum);
/// # Ok::<(), meterprice::SetupError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSpec {
    code: String,
    aggregation_type: AggregationType,
    field_name: Option<String>,
    recurring: bool,
    rounding: Option<MetricRounding>,
    expression: Option<Expression>,
    filters: Vec<MetricFilter>,
}

/// Why an aggregation cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Definitions break Lago's rules (`validation_error`), all listed.
    #[error("{0}")]
    Invalid(ValidationError),
    /// Something Lago has and meterprice does not (`custom_agg`, AD10).
    #[error("{0}")]
    Unsupported(String),
}

impl SetupError {
    pub(crate) fn invalid(violations: Vec<Violation>) -> Self {
        Self::Invalid(ValidationError { violations })
    }
}

fn blank(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.trim().is_empty())
}

impl MetricSpec {
    /// Validates a definition with the rules of Lago's model: every broken
    /// rule is reported at once, with Lago's field and code.
    ///
    /// # Errors
    /// [`SetupError::Invalid`] (`code`/`field_name` `value_is_mandatory`,
    /// `aggregation_type`/`rounding_function`/`weighted_interval`
    /// `value_is_invalid`, `recurring`
    /// `not_compatible_with_aggregation_type`, `expression`
    /// `invalid_expression`); [`SetupError::Unsupported`] for `custom_agg`.
    pub fn new(def: MetricDefinition) -> Result<Self, SetupError> {
        if def.aggregation_type == "custom_agg" {
            return Err(SetupError::Unsupported(
                "aggregation_type \"custom_agg\" is not supported by meterprice (AD10)".into(),
            ));
        }
        let mut v = Vec::new();
        if blank(Some(&def.code)) {
            v.push(Violation::new(
                "code",
                "value_is_mandatory",
                "code is blank",
            ));
        }
        let kind = AggregationType::from_lago_name(&def.aggregation_type);
        if kind.is_none() {
            v.push(Violation::new(
                "aggregation_type",
                "value_is_invalid",
                format!(
                    "aggregation_type {:?} is not a Lago aggregation type",
                    def.aggregation_type
                ),
            ));
        }
        let field_name = match kind {
            // count_agg reads no field: Lago drops it.
            Some(AggregationType::Count) => None,
            _ => def.field_name.clone().filter(|f| !f.trim().is_empty()),
        };
        if kind.is_some_and(|k| k != AggregationType::Count) && field_name.is_none() {
            v.push(Violation::new(
                "field_name",
                "value_is_mandatory",
                "field_name is blank",
            ));
        }
        if def.recurring
            && matches!(
                kind,
                Some(AggregationType::Count | AggregationType::Max | AggregationType::Latest)
            )
        {
            v.push(Violation::new(
                "recurring",
                "not_compatible_with_aggregation_type",
                format!("{} cannot be recurring", def.aggregation_type),
            ));
        }
        if kind == Some(AggregationType::WeightedSum)
            && def.weighted_interval.as_deref() != Some("seconds")
        {
            v.push(Violation::new(
                "weighted_interval",
                "value_is_invalid",
                format!(
                    "weighted_interval must be \"seconds\" for a weighted sum, got {:?}",
                    def.weighted_interval
                ),
            ));
        }
        let rounding = rounding(&def, &mut v);
        let expression = expression(def.expression.as_deref(), &mut v);
        filters_valid(&def.filters, &mut v);
        match kind {
            Some(aggregation_type) if v.is_empty() => Ok(Self {
                code: def.code,
                aggregation_type,
                field_name,
                recurring: def.recurring,
                rounding,
                expression,
                filters: def.filters,
            }),
            _ => Err(SetupError::invalid(v)),
        }
    }

    /// The metric code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The aggregation type.
    pub fn aggregation_type(&self) -> AggregationType {
        self.aggregation_type
    }

    /// The aggregated property (`None` for `count_agg`).
    pub fn field_name(&self) -> Option<&str> {
        self.field_name.as_deref()
    }

    /// Whether units carry over periods.
    pub fn recurring(&self) -> bool {
        self.recurring
    }

    /// The rounding of aggregated units.
    pub fn rounding(&self) -> Option<MetricRounding> {
        self.rounding
    }

    /// The expression computing the field (A3).
    pub fn expression(&self) -> Option<&Expression> {
        self.expression.as_ref()
    }

    /// The metric filters.
    pub fn filters(&self) -> &[MetricFilter] {
        &self.filters
    }

    /// Validates a plan's [`BillableMetric`] for aggregation.
    ///
    /// # Errors
    /// As [`MetricSpec::new`].
    pub fn from_billable_metric(metric: &BillableMetric) -> Result<Self, SetupError> {
        let a = metric.aggregation();
        let kind = metric.aggregation_type();
        Self::new(MetricDefinition {
            code: metric.code().to_string(),
            aggregation_type: kind.lago_name().to_string(),
            field_name: a.field_name.clone(),
            recurring: metric.recurring(),
            rounding_function: a.rounding_function.clone(),
            rounding_precision: a.rounding_precision,
            // The plan's metric has no interval: seconds is Lago's only one.
            weighted_interval: (kind == AggregationType::WeightedSum).then(|| "seconds".into()),
            expression: a.expression.clone(),
            filters: a
                .filters
                .iter()
                .map(|(key, values)| MetricFilter {
                    key: key.clone(),
                    values: values.clone(),
                })
                .collect(),
        })
    }
}

fn rounding(def: &MetricDefinition, v: &mut Vec<Violation>) -> Option<MetricRounding> {
    let name = def.rounding_function.as_deref()?;
    let function = match name {
        "round" => Rounding::HalfUp,
        "ceil" => Rounding::Ceil,
        "floor" => Rounding::Floor,
        other => {
            v.push(Violation::new(
                "rounding_function",
                "value_is_invalid",
                format!("rounding_function {other:?} is not round, ceil or floor"),
            ));
            return None;
        }
    };
    let precision = match def.rounding_precision.map(i32::try_from) {
        None => 0,
        Some(Ok(p)) => p,
        Some(Err(_)) => {
            v.push(Violation::new(
                "rounding_precision",
                "value_is_invalid",
                "rounding_precision is out of range",
            ));
            0
        }
    };
    Some(MetricRounding {
        function,
        precision,
    })
}

fn expression(text: Option<&str>, v: &mut Vec<Violation>) -> Option<Expression> {
    // A blank expression is no expression (Lago: `expression.blank?`).
    let text = text.filter(|t| !t.trim().is_empty())?;
    match Expression::parse(text) {
        Ok(e) => Some(e),
        Err(e) => {
            v.push(Violation::new(
                "expression",
                "invalid_expression",
                format!("expression {text:?} does not parse: {e}"),
            ));
            None
        }
    }
}

fn filters_valid(filters: &[MetricFilter], v: &mut Vec<Violation>) {
    for (i, f) in filters.iter().enumerate() {
        if f.key.trim().is_empty() {
            v.push(Violation::new(
                "filters",
                "value_is_mandatory",
                format!("filters[{i}].key is blank"),
            ));
        }
        if f.values.is_empty() {
            v.push(Violation::new(
                "filters",
                "value_is_mandatory",
                format!("filters[{i}].values is empty"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: &str, field: Option<&str>) -> MetricDefinition {
        MetricDefinition {
            code: "bm".into(),
            aggregation_type: kind.into(),
            field_name: field.map(Into::into),
            ..MetricDefinition::default()
        }
    }

    fn codes(e: SetupError) -> Vec<(String, &'static str)> {
        match e {
            SetupError::Invalid(v) => v
                .violations
                .into_iter()
                .map(|x| (x.field, x.code))
                .collect(),
            SetupError::Unsupported(m) => panic!("unsupported: {m}"),
        }
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let mut d = def("max_agg", None);
        d.recurring = true;
        d.rounding_function = Some("up".into());
        d.expression = Some("1 +".into());
        d.code = " ".into();
        assert_eq!(
            codes(MetricSpec::new(d).unwrap_err()),
            [
                ("code".to_string(), "value_is_mandatory"),
                ("field_name".to_string(), "value_is_mandatory"),
                (
                    "recurring".to_string(),
                    "not_compatible_with_aggregation_type"
                ),
                ("rounding_function".to_string(), "value_is_invalid"),
                ("expression".to_string(), "invalid_expression"),
            ]
        );
    }

    #[test]
    fn count_drops_its_field_and_custom_is_unsupported() {
        let m = MetricSpec::new(def("count_agg", Some("x"))).unwrap();
        assert_eq!(m.field_name(), None);
        assert!(matches!(
            MetricSpec::new(def("custom_agg", None)),
            Err(SetupError::Unsupported(_))
        ));
        assert_eq!(
            codes(MetricSpec::new(def("avg_agg", Some("x"))).unwrap_err()),
            [("aggregation_type".to_string(), "value_is_invalid")]
        );
        assert_eq!(
            codes(MetricSpec::new(def("weighted_sum_agg", Some("x"))).unwrap_err()),
            [("weighted_interval".to_string(), "value_is_invalid")]
        );
        // A blank expression is no expression.
        let mut d = def("sum_agg", Some("x"));
        d.expression = Some("  ".into());
        assert!(MetricSpec::new(d).unwrap().expression().is_none());
    }
}
