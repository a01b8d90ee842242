//! The struct column `meterprice_rate` returns: a fee's figures per row, or
//! NULL figures and the row's error.

use std::fmt::Write;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Decimal128Builder, StringBuilder, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use meterprice::{ChargeFees, Exact, Fee};

/// Cents columns: `Decimal128(38, 0)`, exact minor units.
const CENTS: DataType = DataType::Decimal128(38, 0);

/// The largest magnitude `Decimal128(38, 0)` holds: 10^38 − 1.
const MAX_CENTS: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;

/// The fields of the struct `meterprice_rate` returns, all nullable:
///
/// | field | type | value |
/// | --- | --- | --- |
/// | `amount` | `Utf8` | exact amount in the currency's main unit |
/// | `amount_cents` | `Decimal128(38, 0)` | it rounded half away from zero, in minor units |
/// | `precise_unit_amount` | `Utf8` | exact unit amount |
/// | `taxes_amount_cents` | `Decimal128(38, 0)` | the fee's taxes |
/// | `total_amount_cents` | `Decimal128(38, 0)` | `amount_cents + taxes_amount_cents` |
/// | `true_up_amount_cents` | `Decimal128(38, 0)` | the minimum's true-up when this row is the charge's only bucket, NULL when none |
/// | `amount_details` | `Utf8` | the fee's `amount_details` as `meterprice rate` writes them |
/// | `error` | `Utf8` | NULL, or why the row has no figures: `"<code>: <message>"` |
pub fn fee_fields() -> Fields {
    Fields::from(vec![
        Field::new("amount", DataType::Utf8, true),
        Field::new("amount_cents", CENTS, true),
        Field::new("precise_unit_amount", DataType::Utf8, true),
        Field::new("taxes_amount_cents", CENTS, true),
        Field::new("total_amount_cents", CENTS, true),
        Field::new("true_up_amount_cents", CENTS, true),
        Field::new("amount_details", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
    ])
}

/// Builds the struct column, one row at a time.
pub(crate) struct FeeColumns {
    amount: StringBuilder,
    amount_cents: Decimal128Builder,
    precise_unit_amount: StringBuilder,
    taxes_amount_cents: Decimal128Builder,
    total_amount_cents: Decimal128Builder,
    true_up_amount_cents: Decimal128Builder,
    amount_details: StringBuilder,
    error: StringBuilder,
    /// Scratch for one row's amount details.
    details: Vec<u8>,
}

fn cents_builder(rows: usize) -> Decimal128Builder {
    Decimal128Builder::with_capacity(rows).with_data_type(CENTS)
}

/// Minor units that fit `Decimal128(38, 0)`, or the row's error.
fn cents(value: i128, field: &str) -> Result<i128, String> {
    if (-MAX_CENTS..=MAX_CENTS).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "arithmetic_overflow: {field} {value} does not fit Decimal128(38, 0)"
        ))
    }
}

fn write_exact(builder: &mut StringBuilder, value: Exact) {
    // Writing to an Arrow string builder cannot fail.
    let _ = write!(builder, "{value}");
    builder.append_value("");
}

impl FeeColumns {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            amount: StringBuilder::with_capacity(rows, rows * 8),
            amount_cents: cents_builder(rows),
            precise_unit_amount: StringBuilder::with_capacity(rows, rows * 8),
            taxes_amount_cents: cents_builder(rows),
            total_amount_cents: cents_builder(rows),
            true_up_amount_cents: cents_builder(rows),
            amount_details: StringBuilder::with_capacity(rows, rows * 2),
            error: StringBuilder::with_capacity(rows, 0),
            details: Vec::with_capacity(256),
        }
    }

    /// Appends the first fee of `fees` (the row's one bucket), or the row's
    /// error when a figure does not fit its column.
    pub fn push(&mut self, fees: &ChargeFees) {
        match self.try_push(fees) {
            Ok(()) => {}
            Err(e) => self.push_error(&e),
        }
    }

    fn try_push(&mut self, fees: &ChargeFees) -> Result<(), String> {
        let Some(fee) = fees.fees.first() else {
            return Err("invalid_usage: the bucket gave no fee".to_string());
        };
        // Every check before the first append: the columns stay aligned.
        let amount_cents = cents(fee.amount_cents, "amount_cents")?;
        let taxes = cents(fee.taxes.taxes_amount_cents, "taxes_amount_cents")?;
        let total = cents(fee.taxes.total_amount_cents, "total_amount_cents")?;
        let true_up = fees
            .true_up_fee
            .as_ref()
            .map(|t| cents(t.amount_cents, "true_up_amount_cents"))
            .transpose()?;
        self.details.clear();
        meterprice::write_amount_details_json(&fee.amount_details, &mut self.details);
        let details =
            std::str::from_utf8(&self.details).map_err(|e| format!("amount_details: {e}"))?;
        self.amount_details.append_value(details);
        self.push_figures(fee, amount_cents, taxes, total, true_up);
        Ok(())
    }

    fn push_figures(
        &mut self,
        fee: &Fee,
        amount_cents: i128,
        taxes: i128,
        total: i128,
        true_up: Option<i128>,
    ) {
        write_exact(&mut self.amount, fee.amount);
        self.amount_cents.append_value(amount_cents);
        write_exact(&mut self.precise_unit_amount, fee.precise_unit_amount);
        self.taxes_amount_cents.append_value(taxes);
        self.total_amount_cents.append_value(total);
        self.true_up_amount_cents.append_option(true_up);
        self.error.append_null();
    }

    /// Appends a row priced by its closed form (`fast_standard.rs`): its
    /// texts and cents, no taxes and no true-up.
    #[inline]
    pub fn push_untaxed(&mut self, amount: &str, cents: i128, unit_amount: &str, details: &str) {
        self.amount.append_value(amount);
        self.amount_cents.append_value(cents);
        self.precise_unit_amount.append_value(unit_amount);
        self.taxes_amount_cents.append_value(0);
        self.total_amount_cents.append_value(cents);
        self.true_up_amount_cents.append_null();
        self.amount_details.append_value(details);
        self.error.append_null();
    }

    /// Appends a row without figures.
    pub fn push_error(&mut self, error: &str) {
        self.amount.append_null();
        self.amount_cents.append_null();
        self.precise_unit_amount.append_null();
        self.taxes_amount_cents.append_null();
        self.total_amount_cents.append_null();
        self.true_up_amount_cents.append_null();
        self.amount_details.append_null();
        self.error.append_value(error);
    }

    pub fn finish(mut self) -> Result<ArrayRef> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.amount.finish()),
            Arc::new(self.amount_cents.finish()),
            Arc::new(self.precise_unit_amount.finish()),
            Arc::new(self.taxes_amount_cents.finish()),
            Arc::new(self.total_amount_cents.finish()),
            Arc::new(self.true_up_amount_cents.finish()),
            Arc::new(self.amount_details.finish()),
            Arc::new(self.error.finish()),
        ];
        Ok(Arc::new(StructArray::try_new(fee_fields(), columns, None)?))
    }
}
