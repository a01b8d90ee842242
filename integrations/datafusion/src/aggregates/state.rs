//! The aggregates' result struct and the columns of their partial states.
//!
//! Exact figures travel between partitions as their plain decimal text:
//! an `Exact` may have more digits than any Arrow decimal column holds at
//! a fixed scale, and its text reads back to the same value.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StructArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, UInt64Type};
use datafusion::common::{Result, ScalarValue, exec_datafusion_err, exec_err};
use meterprice::Exact;

/// The result's fields: `aggregation` (exact decimal text) and
/// `events_count` (the events counted, A13 for numeric types).
pub fn aggregate_fields() -> Fields {
    Fields::from(vec![
        Field::new("aggregation", DataType::Utf8, false),
        Field::new("events_count", DataType::UInt64, false),
    ])
}

/// The results of `rows` aggregations as a struct column.
pub(crate) fn results(rows: &[(Exact, u64)]) -> ArrayRef {
    let aggregation: StringArray = rows.iter().map(|(a, _)| Some(a.to_string())).collect();
    let counts: UInt64Array = rows.iter().map(|(_, n)| Some(*n)).collect();
    Arc::new(StructArray::new(
        aggregate_fields(),
        vec![Arc::new(aggregation), Arc::new(counts)],
        None,
    ))
}

/// One result as a scalar.
pub(crate) fn result(aggregation: Exact, events: u64) -> ScalarValue {
    let array = results(&[(aggregation, events)]);
    ScalarValue::Struct(Arc::new(array.as_struct().clone()))
}

/// A state field named for the aggregate expression.
pub(crate) fn field(name: &str, part: &str, t: DataType, nullable: bool) -> FieldRef {
    Arc::new(Field::new(
        datafusion::logical_expr::utils::format_state_name(name, part),
        t,
        nullable,
    ))
}

/// An exact figure as state.
pub(crate) fn exact_scalar(x: Option<Exact>) -> ScalarValue {
    ScalarValue::Utf8(x.map(|x| x.to_string()))
}

/// A count as state.
pub(crate) fn count_scalar(n: u64) -> ScalarValue {
    ScalarValue::UInt64(Some(n))
}

/// A state column of exact figures.
pub(crate) struct ExactColumn<'a>(&'a StringArray);

impl<'a> ExactColumn<'a> {
    pub fn new(array: &'a ArrayRef) -> Result<Self> {
        match array.data_type() {
            DataType::Utf8 => Ok(Self(array.as_string::<i32>())),
            t => exec_err!("meterprice state: expected text, got {t}"),
        }
    }

    /// Row `row`'s figure, `None` for NULL.
    pub fn get(&self, row: usize) -> Result<Option<Exact>> {
        if self.0.is_null(row) {
            return Ok(None);
        }
        let text = self.0.value(row);
        text.parse()
            .map(Some)
            .map_err(|_| exec_datafusion_err!("meterprice state: {text:?} is not a decimal"))
    }
}

/// A state column of counts.
pub(crate) fn counts(array: &ArrayRef) -> Result<&UInt64Array> {
    match array.data_type() {
        DataType::UInt64 => Ok(array.as_primitive::<UInt64Type>()),
        t => exec_err!("meterprice state: expected UInt64, got {t}"),
    }
}

/// Column `i` of a state batch.
pub(crate) fn column(states: &[ArrayRef], i: usize) -> Result<&ArrayRef> {
    states
        .get(i)
        .ok_or_else(|| exec_datafusion_err!("meterprice state: column {i} missing"))
}
