//! `meterprice_sum(value)` (A34), fast on `Decimal128` columns.
//!
//! The performance trick of this file: a `Decimal128` column has one scale,
//! so its values add up as integer mantissas (`i128`, checked) before one
//! conversion into the core's [`SumAcc`]; when a mantissa sum would leave
//! `i128`, what was summed so far goes into the [`SumAcc`] first. The
//! result is the exact sum either way. Other columns (text, integers,
//! `Decimal256`) go through the core's A13 reader row by row. A partial
//! sum whose value leaves the decimal range (magnitude 2^96) is an
//! `arithmetic_overflow` error, as in the core.

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_datafusion_err};
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};
use meterprice::{Exact, SumAcc};
use std::sync::Arc;

use super::accumulators::{arg, arithmetic};
use super::read::Values;
use super::state::{
    ExactColumn, column, count_scalar, counts, exact_scalar, field, result, results,
};
use crate::columns::{Decimals, from_i128};
use datafusion::arrow::datatypes::FieldRef;

/// The state's fields: the sum's text and the events counted.
pub(crate) fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        field(name, "sum", DataType::Utf8, false),
        field(name, "events", DataType::UInt64, false),
    ]
}

/// `n` events whose mantissas at `scale` add up to `mantissa`, into `acc`.
#[inline]
fn flush(acc: &mut SumAcc, mantissa: i128, n: u64, scale: i8) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let x = from_i128(mantissa, scale, "sum").map_err(|e| exec_datafusion_err!("{e}"))?;
    acc.merge(&SumAcc::from_state(x, n)).map_err(arithmetic)
}

/// Adds a `Decimal128` column (its non-NULL rows) to `acc`.
fn add_decimals(acc: &mut SumAcc, a: &Decimal128Array, scale: i8) -> Result<()> {
    let (mut pending, mut n) = (0i128, 0u64);
    let mut add = |m: i128, acc: &mut SumAcc| -> Result<()> {
        match pending.checked_add(m) {
            Some(p) => pending = p,
            None => {
                flush(acc, pending, n, scale)?;
                (pending, n) = (m, 0);
            }
        }
        n += 1;
        Ok(())
    };
    if a.null_count() == 0 {
        for &m in a.values() {
            add(m, acc)?;
        }
    } else {
        for m in a.iter().flatten() {
            add(m, acc)?;
        }
    }
    flush(acc, pending, n, scale)
}

/// The ungrouped sum.
#[derive(Debug, Default)]
pub(crate) struct Sum(SumAcc);

impl Accumulator for Sum {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = arg(values, 0)?;
        match Values::new(array.as_ref())? {
            Values::Number(Decimals::D128(a, scale)) => add_decimals(&mut self.0, a, scale),
            v => {
                for row in 0..array.len() {
                    if let Some(x) = v.get(row)? {
                        self.0.update(x).map_err(arithmetic)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (sum, n) = self.0.finish();
        Ok(result(sum, n))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (sum, n) = self.0.finish();
        Ok(vec![exact_scalar(Some(sum)), count_scalar(n)])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let sums = ExactColumn::new(column(states, 0)?)?;
        let n = counts(column(states, 1)?)?;
        for row in 0..n.len() {
            if let Some(s) = sums.get(row)? {
                self.0
                    .merge(&SumAcc::from_state(s, n.value(row)))
                    .map_err(arithmetic)?;
            }
        }
        Ok(())
    }
}

/// The grouped sum: per group, a [`SumAcc`] and the mantissas of the
/// input's scale not yet added to it.
#[derive(Debug, Default)]
pub(crate) struct SumGroups {
    sums: Vec<SumAcc>,
    pending: Vec<(i128, u64)>,
    /// The scale `pending` is at: the input's, when it is `Decimal128`.
    scale: i8,
}

fn group_error(g: usize) -> datafusion::error::DataFusionError {
    exec_datafusion_err!("meterprice_sum: group index {g} out of bounds")
}

impl SumGroups {
    /// A grouped sum over input of type `input`.
    pub fn new(input: &DataType) -> Self {
        let scale = match input {
            DataType::Decimal128(_, s) => *s,
            _ => 0,
        };
        Self {
            scale,
            ..Self::default()
        }
    }

    fn add_mantissa(&mut self, g: usize, m: i128) -> Result<()> {
        let (pending, n) = self.pending.get_mut(g).ok_or_else(|| group_error(g))?;
        match pending.checked_add(m) {
            Some(p) => *pending = p,
            None => {
                let acc = self.sums.get_mut(g).ok_or_else(|| group_error(g))?;
                flush(acc, *pending, *n, self.scale)?;
                (*pending, *n) = (m, 0);
            }
        }
        *n += 1;
        Ok(())
    }

    /// Moves every pending mantissa into its group's sum.
    fn flush_all(&mut self) -> Result<()> {
        for (acc, (m, n)) in self.sums.iter_mut().zip(self.pending.iter_mut()) {
            flush(acc, *m, *n, self.scale)?;
            (*m, *n) = (0, 0);
        }
        Ok(())
    }

    /// The groups `emit_to` names, finished.
    fn take(&mut self, emit_to: EmitTo) -> Result<Vec<(Exact, u64)>> {
        self.flush_all()?;
        let _ = emit_to.take_needed(&mut self.pending);
        Ok(emit_to
            .take_needed(&mut self.sums)
            .iter()
            .map(SumAcc::finish)
            .collect())
    }
}

/// Whether row `row` passes the aggregate's `FILTER (WHERE …)`.
#[inline]
fn passes(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

impl GroupsAccumulator for SumGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.sums.resize(total_num_groups, SumAcc::default());
        self.pending.resize(total_num_groups, (0, 0));
        let array = arg(values, 0)?;
        match Values::new(array.as_ref())? {
            Values::Number(Decimals::D128(a, s))
                if s == self.scale && a.null_count() == 0 && opt_filter.is_none() =>
            {
                for (&g, &m) in group_indices.iter().zip(a.values()) {
                    self.add_mantissa(g, m)?;
                }
            }
            Values::Number(Decimals::D128(a, s)) if s == self.scale => {
                for (row, &g) in group_indices.iter().enumerate() {
                    if a.is_valid(row) && passes(opt_filter, row) {
                        self.add_mantissa(g, a.value(row))?;
                    }
                }
            }
            v => {
                for (row, &g) in group_indices.iter().enumerate() {
                    if !passes(opt_filter, row) {
                        continue;
                    }
                    if let Some(x) = v.get(row)? {
                        let acc = self.sums.get_mut(g).ok_or_else(|| group_error(g))?;
                        acc.update(x).map_err(arithmetic)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(results(&self.take(emit_to)?))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = self.take(emit_to)?;
        let sums: StringArray = groups.iter().map(|(s, _)| Some(s.to_string())).collect();
        let counts: UInt64Array = groups.iter().map(|(_, n)| Some(*n)).collect();
        Ok(vec![Arc::new(sums), Arc::new(counts)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.sums.resize(total_num_groups, SumAcc::default());
        self.pending.resize(total_num_groups, (0, 0));
        let sums = ExactColumn::new(column(values, 0)?)?;
        let n = counts(column(values, 1)?)?;
        for (row, &g) in group_indices.iter().enumerate() {
            if let Some(s) = sums.get(row)? {
                let acc = self.sums.get_mut(g).ok_or_else(|| group_error(g))?;
                acc.merge(&SumAcc::from_state(s, n.value(row)))
                    .map_err(arithmetic)?;
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row as a group of its own: its value (0 when left out) and
        // whether it counts.
        let array = arg(values, 0)?;
        let v = Values::new(array.as_ref())?;
        let mut sums = Vec::with_capacity(array.len());
        let mut n = Vec::with_capacity(array.len());
        for row in 0..array.len() {
            let x = if passes(opt_filter, row) {
                v.get(row)?
            } else {
                None
            };
            sums.push(Some(x.unwrap_or(Exact::ZERO).to_string()));
            n.push(Some(u64::from(x.is_some())));
        }
        Ok(vec![
            Arc::new(StringArray::from(sums)),
            Arc::new(UInt64Array::from(n)),
        ])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * size_of::<SumAcc>()
            + self.pending.capacity() * size_of::<(i128, u64)>()
    }
}
