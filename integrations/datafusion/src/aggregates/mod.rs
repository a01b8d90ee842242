//! The billable-metric aggregations as SQL aggregate functions: one per
//! type of Lago's `aggregation.md` (§7), each accumulating with the core's
//! accumulator of that type, so the rules (A13's value reading with AD1,
//! A33–A38) are the core's own.
//!
//! | function | arguments | Lago type |
//! |---|---|---|
//! | `meterprice_count` | `(x)`: every row counts, whatever `x` | `count_agg` (A33) |
//! | `meterprice_sum` | `(value)` | `sum_agg` (A34) |
//! | `meterprice_max` | `(value)` | `max_agg` (A35) |
//! | `meterprice_latest` | `(value, timestamp, seq)` | `latest_agg` (A36) |
//! | `meterprice_unique_count` | `(property, timestamp, seq [, operation_type])` | `unique_count_agg` (A37) |
//! | `meterprice_weighted_sum` | `(value, timestamp, from_datetime, to_datetime [, initial [, charges_duration]])` | `weighted_sum_agg` (A38) |
//!
//! Each returns a struct of `aggregation` (the exact decimal as text) and
//! `events_count` (the events counted: for numeric types only those whose
//! value A13 reads; for a unique count, the count itself, as ungrouped
//! Lago reports it, QA9).
//!
//! **Values.** A text column holds the property as Postgres'
//! `properties->>'key'` gives it (A12): an event whose text does not match
//! `^-?\d+(\.\d+)?$` (`"1e3"`, `"+5"`, `"5."`, `"true"`) or is NULL is left
//! out of the value and the count, as Lago leaves it out. Decimal and
//! integer columns are numbers, read exactly; binary floats are refused at
//! planning. A value beyond the decimal range (magnitude 2^96 or more,
//! more than 28 fractional digits), which the core rejects, fails the
//! query with `arithmetic_overflow`, as does a total beyond that range.
//!
//! **Order.** Latest and unique count depend on the events' order: the
//! order they need is part of their arguments, the event's `timestamp`
//! then `seq`, its position in the input (ingestion order, AD2). So each
//! partial state keeps the order of what it holds, partial states merge in
//! any order, and DataFusion sees the functions as order-insensitive (no
//! sort is planned). `seq` must be unique per event for ties to be
//! Lago's.
//!
//! **Scope.** The functions aggregate the rows they are given: the billing
//! period's window (A7), the metric code (A4), charge filters and groups
//! are the query's `WHERE`, `FILTER` and `GROUP BY`. Weighted sums take
//! the period's bounds as constants (`from_datetime`, `to_datetime`,
//! inclusive) for A38's time weights, an optional constant `initial` (the
//! recurring value carried in, A38; NULL is 0) and an optional constant
//! `charges_duration` in days (by default the days from `from_datetime` to
//! `to_datetime` in UTC, C5).

mod accumulators;
mod fast_sum;
mod read;
mod state;

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_datafusion_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use meterprice::{BillingPeriod, Exact, Timestamp};

pub use state::aggregate_fields;

/// A billable-metric aggregation type, as an SQL aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Metric {
    /// `count_agg`.
    Count,
    /// `sum_agg`.
    Sum,
    /// `max_agg`.
    Max,
    /// `unique_count_agg`.
    UniqueCount,
    /// `latest_agg`.
    Latest,
    /// `weighted_sum_agg`.
    WeightedSum,
}

impl Metric {
    /// Every type.
    pub const ALL: [Metric; 6] = [
        Metric::Count,
        Metric::Sum,
        Metric::Max,
        Metric::UniqueCount,
        Metric::Latest,
        Metric::WeightedSum,
    ];

    /// The SQL function's name.
    pub fn function_name(self) -> &'static str {
        match self {
            Metric::Count => "meterprice_count",
            Metric::Sum => "meterprice_sum",
            Metric::Max => "meterprice_max",
            Metric::UniqueCount => "meterprice_unique_count",
            Metric::Latest => "meterprice_latest",
            Metric::WeightedSum => "meterprice_weighted_sum",
        }
    }

    /// The type whose SQL function is `name`.
    pub fn from_function_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.function_name() == name)
    }

    /// (required, at most) arguments.
    fn arity(self) -> (usize, usize) {
        match self {
            Metric::Count | Metric::Sum | Metric::Max => (1, 1),
            Metric::Latest => (3, 3),
            Metric::UniqueCount => (3, 4),
            Metric::WeightedSum => (4, 6),
        }
    }
}

/// One billable-metric aggregation as a DataFusion aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AggregateUdf {
    metric: Metric,
    signature: Signature,
}

impl AggregateUdf {
    /// The function of `metric`.
    pub fn new(metric: Metric) -> Self {
        Self {
            metric,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    /// Its type.
    pub fn metric(&self) -> Metric {
        self.metric
    }
}

/// Every billable-metric aggregate function, ready to register.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    Metric::ALL
        .into_iter()
        .map(|m| AggregateUDF::from(AggregateUdf::new(m)))
        .collect()
}

impl AggregateUDFImpl for AggregateUdf {
    fn name(&self) -> &str {
        self.metric.function_name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let (min, max) = self.metric.arity();
        if arg_types.len() < min || arg_types.len() > max {
            return plan_err!(
                "{name} takes {min} to {max} arguments, got {}",
                arg_types.len()
            );
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| match (self.metric, i) {
                (Metric::Count, _) => Ok(t.clone()),
                (Metric::UniqueCount, 0 | 3) => read::text_type(name, t),
                (_, 0) | (Metric::WeightedSum, 4) => read::value_type(name, t),
                (Metric::WeightedSum, 5) => read::seq_type(name, t),
                (_, 1) | (Metric::WeightedSum, 2 | 3) => read::timestamp_type(name, t),
                _ => read::seq_type(name, t),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(aggregate_fields()))
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(state::result(Exact::ZERO, 0))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        // The order is in the arguments (timestamp, seq): see the module docs.
        AggregateOrderSensitivity::Insensitive
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let name = args.name;
        Ok(match self.metric {
            Metric::Count => accumulators::Count::state_fields(name),
            Metric::Sum => fast_sum::state_fields(name),
            Metric::Max => accumulators::Max::state_fields(name),
            Metric::UniqueCount => accumulators::UniqueCount::state_fields(name),
            Metric::Latest => accumulators::Latest::state_fields(name),
            Metric::WeightedSum => accumulators::WeightedSum::state_fields(name),
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(match self.metric {
            Metric::Count => Box::new(accumulators::Count::default()),
            Metric::Sum => Box::new(fast_sum::Sum::default()),
            Metric::Max => Box::new(accumulators::Max::default()),
            Metric::UniqueCount => Box::new(accumulators::UniqueCount::default()),
            Metric::Latest => Box::new(accumulators::Latest::default()),
            Metric::WeightedSum => {
                let (period, initial) = weighted_sum_constants(&args)?;
                Box::new(accumulators::WeightedSum::new(period, initial))
            }
        })
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        self.metric == Metric::Sum
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let input = args
            .expr_fields
            .first()
            .map_or(&DataType::Null, |f| f.data_type());
        Ok(Box::new(fast_sum::SumGroups::new(input)))
    }
}

/// The constant argument `i` of a call, `None` when absent.
fn constant<'a>(
    args: &'a AccumulatorArgs,
    i: usize,
    what: &str,
) -> Result<Option<&'a ScalarValue>> {
    let Some(expr) = args.exprs.get(i) else {
        return Ok(None);
    };
    match expr.downcast_ref::<Literal>() {
        Some(lit) => Ok(Some(lit.value())),
        None => plan_err!("meterprice_weighted_sum: {what} must be a constant, got {expr}"),
    }
}

/// A38's period and initial value from the call's constants.
fn weighted_sum_constants(args: &AccumulatorArgs) -> Result<(BillingPeriod, Exact)> {
    let instant = |i: usize, what: &str| -> Result<Timestamp> {
        match constant(args, i, what)? {
            Some(ScalarValue::TimestampMicrosecond(Some(us), _)) => read::micros(*us),
            other => {
                plan_err!("meterprice_weighted_sum: {what} must be a timestamp, got {other:?}")
            }
        }
    };
    let period = BillingPeriod::new(instant(2, "from_datetime")?, instant(3, "to_datetime")?)
        .map_err(|e| plan_datafusion_err!("meterprice_weighted_sum: {e}"))?;
    let period = match constant(args, 5, "charges_duration")? {
        None | Some(ScalarValue::Int64(None)) => period,
        Some(ScalarValue::Int64(Some(days))) => u32::try_from(*days)
            .ok()
            .and_then(|d| period.clone().with_charges_duration(d).ok())
            .ok_or_else(|| {
                plan_datafusion_err!(
                    "meterprice_weighted_sum: charges_duration {days} must be 1 day or more"
                )
            })?,
        Some(other) => {
            return plan_err!(
                "meterprice_weighted_sum: charges_duration must be an integer, got {other}"
            );
        }
    };
    let initial = match constant(args, 4, "initial")? {
        None => Exact::ZERO,
        Some(v) if v.is_null() => Exact::ZERO,
        Some(v) => {
            let array = v.to_array()?;
            read::Values::new(array.as_ref())?.get(0)?.ok_or_else(|| {
                plan_datafusion_err!("meterprice_weighted_sum: initial {v} is not a number")
            })?
        }
    };
    Ok((period, initial))
}

/// The aggregate function of `name`, if it is one of ours.
pub(crate) fn by_name(name: &str) -> Option<Arc<AggregateUDF>> {
    Metric::from_function_name(name).map(|m| Arc::new(AggregateUDF::from(AggregateUdf::new(m))))
}
