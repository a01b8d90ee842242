//! One DataFusion [`Accumulator`] per billable-metric type, each wrapping
//! the core's accumulator of that type ([`CountAcc`], [`MaxAcc`], …): the
//! rules stay in the core; this file reads columns into it and carries its
//! state between partitions.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, exec_datafusion_err, exec_err};
use datafusion::logical_expr::Accumulator;
use meterprice::{
    BillingPeriod, CountAcc, EventOrder, Exact, LatestAcc, MaxAcc, UniqueCountAcc, WeightedSumAcc,
};

use super::read::{Orders, Values, micros, seq_key, seq_of_key};
use super::state::{ExactColumn, column, count_scalar, counts, exact_scalar, field, result};
use crate::columns::Texts;

/// Argument `i` of a batch.
pub(crate) fn arg(values: &[ArrayRef], i: usize) -> Result<&ArrayRef> {
    values
        .get(i)
        .ok_or_else(|| exec_datafusion_err!("meterprice: argument {i} missing"))
}

/// An exact figure beyond the decimal range, as the query's error.
pub(crate) fn arithmetic(e: meterprice::ArithmeticError) -> datafusion::error::DataFusionError {
    exec_datafusion_err!("arithmetic_overflow: {e}")
}

/// `meterprice_count(x)`: every row, whatever `x` holds (A33).
#[derive(Debug, Default)]
pub(crate) struct Count(CountAcc);

impl Count {
    pub fn state_fields(name: &str) -> Vec<FieldRef> {
        vec![field(name, "events", DataType::UInt64, false)]
    }
}

impl Accumulator for Count {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = arg(values, 0)?.len() as u64;
        self.0.merge(&CountAcc::from_state(rows));
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let n = self.0.finish();
        Ok(result(Exact::from(n), n))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![count_scalar(self.0.finish())])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for n in counts(column(states, 0)?)?.iter().flatten() {
            self.0.merge(&CountAcc::from_state(n));
        }
        Ok(())
    }
}

/// `meterprice_max(value)` (A35).
#[derive(Debug, Default)]
pub(crate) struct Max(MaxAcc);

impl Max {
    pub fn state_fields(name: &str) -> Vec<FieldRef> {
        vec![
            field(name, "max", DataType::Utf8, true),
            field(name, "events", DataType::UInt64, false),
        ]
    }
}

impl Accumulator for Max {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = arg(values, 0)?;
        let v = Values::new(array.as_ref())?;
        for row in 0..array.len() {
            if let Some(x) = v.get(row)? {
                self.0.update(x);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (max, n) = self.0.finish();
        Ok(result(max, n))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (max, n) = self.0.state();
        Ok(vec![exact_scalar(max), count_scalar(n)])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let max = ExactColumn::new(column(states, 0)?)?;
        let n = counts(column(states, 1)?)?;
        for row in 0..n.len() {
            self.0
                .merge(&MaxAcc::from_state(max.get(row)?, n.value(row)));
        }
        Ok(())
    }
}

/// `meterprice_latest(value, timestamp, seq)` (A36): the order is the
/// arguments' (timestamp, then input position, AD2), so rows may arrive
/// in any order and partition.
#[derive(Debug, Default)]
pub(crate) struct Latest(LatestAcc);

impl Latest {
    pub fn state_fields(name: &str) -> Vec<FieldRef> {
        vec![
            field(name, "timestamp_us", DataType::Int64, true),
            field(name, "seq", DataType::Int64, true),
            field(name, "value", DataType::Utf8, true),
            field(name, "events", DataType::UInt64, false),
        ]
    }
}

impl Accumulator for Latest {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = arg(values, 0)?;
        let v = Values::new(array.as_ref())?;
        let orders = Orders::new(arg(values, 1)?.as_ref(), Some(arg(values, 2)?.as_ref()))?;
        for row in 0..array.len() {
            if let Some(x) = v.get(row)? {
                self.0.update(orders.order(row)?, x);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (v, n) = self.0.finish();
        Ok(result(v, n))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (last, n) = self.0.state();
        Ok(vec![
            ScalarValue::Int64(last.map(|(o, _)| o.timestamp.micros())),
            ScalarValue::Int64(last.map(|(o, _)| seq_of_key(o.seq))),
            exact_scalar(last.map(|(_, v)| v)),
            count_scalar(n),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let times = int64s(column(states, 0)?)?;
        let seqs = int64s(column(states, 1)?)?;
        let value = ExactColumn::new(column(states, 2)?)?;
        let n = counts(column(states, 3)?)?;
        for row in 0..n.len() {
            let last = match (times.is_valid(row), seqs.is_valid(row), value.get(row)?) {
                (true, true, Some(v)) => {
                    let order =
                        EventOrder::new(micros(times.value(row))?, seq_key(seqs.value(row)));
                    Some((order, v))
                }
                _ => None,
            };
            self.0.merge(&LatestAcc::from_state(last, n.value(row)));
        }
        Ok(())
    }
}

fn int64s(array: &ArrayRef) -> Result<&Int64Array> {
    match array.data_type() {
        DataType::Int64 => Ok(array.as_primitive::<Int64Type>()),
        t => exec_err!("meterprice state: expected Int64, got {t}"),
    }
}

/// `meterprice_unique_count(property, timestamp, seq [, operation_type])`
/// (A37, QA7): a NULL property is one value of its own; an
/// `operation_type` that is NULL or `'add'` adds, anything else removes.
#[derive(Debug, Default)]
pub(crate) struct UniqueCount(UniqueCountAcc);

impl UniqueCount {
    pub fn state_fields(name: &str) -> Vec<FieldRef> {
        let list = |t| DataType::List(Arc::new(Field::new_list_field(t, true)));
        vec![
            field(name, "values", list(DataType::Utf8), true),
            field(name, "timestamps_us", list(DataType::Int64), true),
            field(name, "seqs", list(DataType::Int64), true),
            field(name, "adds", list(DataType::Boolean), true),
        ]
    }
}

impl Accumulator for UniqueCount {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = arg(values, 0)?;
        let property = Texts::new(array.as_ref())?;
        let orders = Orders::new(arg(values, 1)?.as_ref(), Some(arg(values, 2)?.as_ref()))?;
        let ops = values.get(3).map(|a| Texts::new(a.as_ref())).transpose()?;
        for row in 0..array.len() {
            let add = ops
                .as_ref()
                .and_then(|o| o.get(row))
                .is_none_or(|op| op == "add");
            self.0.update(property.get(row), orders.order(row)?, add);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // QA9: ungrouped, the count is the aggregation.
        let n = self.0.finish();
        Ok(result(Exact::from(n), n))
    }

    fn size(&self) -> usize {
        // An estimate: a value's text, order and hash slot, about 64 bytes
        // each (the texts are not walked).
        size_of_val(self) + self.0.values() * 64
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (mut texts, mut times, mut seqs, mut adds) = (vec![], vec![], vec![], vec![]);
        for (p, o, add) in self.0.state() {
            texts.push(p.map(str::to_string));
            times.push(Some(o.timestamp.micros()));
            seqs.push(Some(seq_of_key(o.seq)));
            adds.push(Some(add));
        }
        let list = |a: ArrayRef| SingleRowListArrayBuilder::new(a).build_list_scalar();
        Ok(vec![
            list(Arc::new(StringArray::from(texts))),
            list(Arc::new(Int64Array::from(times))),
            list(Arc::new(Int64Array::from(seqs))),
            list(Arc::new(BooleanArray::from(adds))),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists: Vec<_> = (0..4)
            .map(|i| column(states, i).map(|c| c.as_list::<i32>()))
            .collect::<Result<_>>()?;
        let [texts, times, seqs, adds] = lists.as_slice() else {
            return exec_err!("meterprice state: unique count needs 4 columns");
        };
        for row in 0..texts.len() {
            if texts.is_null(row) {
                continue;
            }
            let (t, ts, sq, ad) = (
                texts.value(row),
                times.value(row),
                seqs.value(row),
                adds.value(row),
            );
            let t = Texts::new(t.as_ref())?;
            let ts = int64s(&ts)?;
            let sq = int64s(&sq)?;
            let ad = ad.as_boolean();
            for i in 0..ts.len() {
                let order = EventOrder::new(micros(ts.value(i))?, seq_key(sq.value(i)));
                self.0.update(t.get(i), order, ad.value(i));
            }
        }
        Ok(())
    }
}

/// `meterprice_weighted_sum(value, timestamp, from_datetime, to_datetime
/// [, initial])` (A38) over the period the two constants name.
#[derive(Debug)]
pub(crate) struct WeightedSum {
    acc: WeightedSumAcc,
    period: BillingPeriod,
    initial: Exact,
}

impl WeightedSum {
    pub fn new(period: BillingPeriod, initial: Exact) -> Self {
        Self {
            acc: WeightedSumAcc::for_period(&period),
            period,
            initial,
        }
    }

    pub fn state_fields(name: &str) -> Vec<FieldRef> {
        vec![
            field(name, "value_seconds", DataType::Utf8, false),
            field(name, "variation", DataType::Utf8, false),
            field(name, "events", DataType::UInt64, false),
        ]
    }
}

impl Accumulator for WeightedSum {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = arg(values, 0)?;
        let v = Values::new(array.as_ref())?;
        let orders = Orders::new(arg(values, 1)?.as_ref(), None)?;
        for row in 0..array.len() {
            if let Some(x) = v.get(row)? {
                self.acc
                    .update(orders.timestamp(row)?, x)
                    .map_err(arithmetic)?;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let r = self
            .acc
            .finish_for_period(self.initial, &self.period)
            .map_err(arithmetic)?;
        Ok(result(r.aggregation, r.events))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (_, value_seconds, variation, n) = self.acc.state();
        Ok(vec![
            exact_scalar(Some(value_seconds)),
            exact_scalar(Some(variation)),
            count_scalar(n),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let vs = ExactColumn::new(column(states, 0)?)?;
        let var = ExactColumn::new(column(states, 1)?)?;
        let n: &UInt64Array = counts(column(states, 2)?)?;
        let (end, ..) = self.acc.state();
        for row in 0..n.len() {
            let (Some(vs), Some(var)) = (vs.get(row)?, var.get(row)?) else {
                continue;
            };
            let other = WeightedSumAcc::from_state(end, vs, var, n.value(row));
            self.acc.merge(&other).map_err(arithmetic)?;
        }
        Ok(())
    }
}
