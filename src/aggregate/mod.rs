//! Events in: Lago's billable-metric aggregation (`docs/aggregation.md`),
//! from raw events to the buckets that [`crate::Charge::rate`] prices.
//!
//! A [`MetricSpec`] and an [`AggregationSpec`] (period, charge side,
//! options, carried state) make an [`Aggregator`]; events go in one at a
//! time ([`Aggregator::push`]) with their properties looked up by key id,
//! so no map is built per event; [`Aggregator::finish`] gives one
//! [`BucketResult`] per bucket and group. The per-type accumulators
//! ([`CountAcc`], [`SumAcc`], …) and the A13 reader ([`numeric_value`])
//! are public for engines that aggregate in their own way.
//!
//! No JSON here: the `aggregate` contract lives in `src/lago/`.

mod accumulator;
mod advance;
mod aggregator;
mod breakdown;
mod compact;
mod event;
mod expression;
pub(crate) mod fast_lookup;
mod filters;
mod finish;
mod group;
mod metric;
#[cfg(feature = "lago")]
mod plain;
pub(crate) mod prefix_sort;
mod prorate;
mod result;
mod route;
mod spec;
mod time;
mod value;

pub use accumulator::{
    CountAcc, EventOrder, LatestAcc, MaxAcc, SumAcc, UniqueCountAcc, WeightedSum, WeightedSumAcc,
};
pub use advance::{InAdvanceError, InAdvanceEvent};
pub use aggregator::{AggregateError, Aggregator};
pub use event::{
    EventMeta, KeyMap, Mapped, Named, Properties, RejectCode, RejectedEvent, TransactionIds,
    Warning,
};
pub use expression::{Evaluated, EvaluationError, Expression, ExpressionParseError, Rounding};
pub use filters::{
    ALL_FILTER_VALUES, BucketId, ChargeFilterSpec, FilterScope, FilterValues, Filters, event_filter,
};
pub use metric::{MetricDefinition, MetricFilter, MetricRounding, MetricSpec, SetupError};
#[cfg(feature = "lago")]
pub(crate) use plain::PlainGroup;
pub use result::{AggregationResult, BucketResult, InAdvanceStep, PresentationBreakdown};
#[cfg(feature = "lago")]
pub(crate) use route::{decode_bytes, decode_texts, encode_label};
pub use spec::{
    AggregationOptions, AggregationSpec, CachedAggregation, CarriedState, ChargeModelKind,
    ChargeSpec, FreeUnits, GroupLabel, PerEvent, WeightedSumInitial,
};
pub use time::{BillingPeriod, BillingPeriodError, TimeZone, Timestamp, TimestampError};
#[cfg(feature = "lago")]
pub(crate) use value::numeric_text;
pub use value::{OutOfRange, Value, numeric_value};
