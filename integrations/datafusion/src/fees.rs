//! The struct column `meterprice_rate` returns: a fee's figures per row, or
//! NULL figures and the row's error.

use std::fmt::Write;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Decimal128Array, Decimal128Builder, StringBuilder, StructArray, new_null_array,
};
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
    fee_fields_in(FeeFields::ALL)
}

/// The struct's fields in order: (name, type).
const FIELDS: [(&str, DataType); 8] = [
    ("amount", DataType::Utf8),
    ("amount_cents", CENTS),
    ("precise_unit_amount", DataType::Utf8),
    ("taxes_amount_cents", CENTS),
    ("total_amount_cents", CENTS),
    ("true_up_amount_cents", CENTS),
    ("amount_details", DataType::Utf8),
    ("error", DataType::Utf8),
];

// Positions in `FIELDS`.
const AMOUNT: u8 = 0;
const AMOUNT_CENTS: u8 = 1;
const UNIT_AMOUNT: u8 = 2;
const TAXES: u8 = 3;
const TOTAL: u8 = 4;
const TRUE_UP: u8 = 5;
const DETAILS: u8 = 6;
const ERROR: u8 = 7;

/// The fields of the struct that a query reads (see `rate/prune.rs`): a
/// `meterprice_rate` that returns only these builds only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FeeFields(u8);

impl FeeFields {
    /// Every field: the struct of [`fee_fields`].
    pub const ALL: Self = Self(u8::MAX);

    /// The one field called `name`, if the struct has it.
    pub fn named(name: &str) -> Option<Self> {
        let i = FIELDS.iter().position(|(n, _)| *n == name)?;
        Some(Self(1 << i))
    }

    /// The set as one byte (bit `i`: field `i`), for the codecs.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The set of a byte written by [`Self::bits`]; `None` for the empty set.
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits != 0).then_some(Self(bits))
    }

    #[inline]
    fn has(self, field: u8) -> bool {
        self.0 & (1 << field) != 0
    }

    /// Whether a field needs the fee's texts (the amounts as text, or the
    /// details).
    pub fn wants_text(self) -> bool {
        self.has(AMOUNT) || self.has(UNIT_AMOUNT) || self.has(DETAILS)
    }
}

/// The struct's fields that `fields` holds, in struct order.
pub(crate) fn fee_fields_in(fields: FeeFields) -> Fields {
    FIELDS
        .iter()
        .zip(0u8..)
        .filter(|(_, i)| fields.has(*i))
        .map(|((name, t), _)| Field::new(*name, t.clone(), true))
        .collect()
}

/// The struct of rows that all have figures, no taxes, no true-up and no
/// error, from their cents, for `fields` without texts (the caller checks
/// [`FeeFields::wants_text`]).
pub(crate) fn untaxed_struct(fields: FeeFields, cents: Vec<i128>) -> Result<ArrayRef> {
    let rows = cents.len();
    let amount: ArrayRef = Arc::new(Decimal128Array::from(cents).with_data_type(CENTS));
    let column = |i: u8| -> ArrayRef {
        match i {
            AMOUNT_CENTS | TOTAL => amount.clone(),
            TAXES => Arc::new(Decimal128Array::from(vec![0i128; rows]).with_data_type(CENTS)),
            i => {
                let t = FIELDS
                    .get(usize::from(i))
                    .map_or(&DataType::Null, |(_, t)| t);
                new_null_array(t, rows)
            }
        }
    };
    let kept = (0u8..8).filter(|i| fields.has(*i)).map(column).collect();
    Ok(Arc::new(StructArray::try_new(
        fee_fields_in(fields),
        kept,
        None,
    )?))
}

/// Builds the struct column, one row at a time.
pub(crate) struct FeeColumns {
    /// The fields built; the others get no values.
    fields: FeeFields,
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
    /// Room for `rows` rows of the struct with `fields`.
    pub fn with_capacity(rows: usize, fields: FeeFields) -> Self {
        let rows_of = |f: u8| if fields.has(f) { rows } else { 0 };
        let text =
            |f: u8, bytes: usize| StringBuilder::with_capacity(rows_of(f), rows_of(f) * bytes);
        Self {
            fields,
            amount: text(AMOUNT, 8),
            amount_cents: cents_builder(rows_of(AMOUNT_CENTS)),
            precise_unit_amount: text(UNIT_AMOUNT, 8),
            taxes_amount_cents: cents_builder(rows_of(TAXES)),
            total_amount_cents: cents_builder(rows_of(TOTAL)),
            true_up_amount_cents: cents_builder(rows_of(TRUE_UP)),
            amount_details: text(DETAILS, 2),
            error: text(ERROR, 0),
            details: Vec::with_capacity(256),
        }
    }

    /// Whether a field it builds needs the fee's texts.
    pub fn wants_text(&self) -> bool {
        self.fields.wants_text()
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
        // A figure out of its column's range is the row's error whichever
        // fields the query reads, so that a pruned struct agrees with the
        // whole one.
        let amount_cents = cents(fee.amount_cents, "amount_cents")?;
        let taxes = cents(fee.taxes.taxes_amount_cents, "taxes_amount_cents")?;
        let total = cents(fee.taxes.total_amount_cents, "total_amount_cents")?;
        let true_up = fees
            .true_up_fee
            .as_ref()
            .map(|t| cents(t.amount_cents, "true_up_amount_cents"))
            .transpose()?;
        if self.fields.has(DETAILS) {
            self.details.clear();
            meterprice::write_amount_details_json(&fee.amount_details, &mut self.details);
            let details =
                std::str::from_utf8(&self.details).map_err(|e| format!("amount_details: {e}"))?;
            self.amount_details.append_value(details);
        }
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
        let has = |f: u8| self.fields.has(f);
        if has(AMOUNT) {
            write_exact(&mut self.amount, fee.amount);
        }
        if has(UNIT_AMOUNT) {
            write_exact(&mut self.precise_unit_amount, fee.precise_unit_amount);
        }
        self.push_cents(amount_cents, taxes, total, true_up);
    }

    /// Appends the cents fields of a row with figures (and its NULL error).
    #[inline]
    fn push_cents(&mut self, amount_cents: i128, taxes: i128, total: i128, true_up: Option<i128>) {
        let fields = self.fields;
        if fields.has(AMOUNT_CENTS) {
            self.amount_cents.append_value(amount_cents);
        }
        if fields.has(TAXES) {
            self.taxes_amount_cents.append_value(taxes);
        }
        if fields.has(TOTAL) {
            self.total_amount_cents.append_value(total);
        }
        if fields.has(TRUE_UP) {
            self.true_up_amount_cents.append_option(true_up);
        }
        if fields.has(ERROR) {
            self.error.append_null();
        }
    }

    /// Appends a row priced by its closed form (`fast_standard.rs`): its
    /// texts (read only when [`FeeFields::wants_text`]) and cents, no taxes
    /// and no true-up.
    #[inline]
    pub fn push_untaxed(&mut self, amount: &str, cents: i128, unit_amount: &str, details: &str) {
        let fields = self.fields;
        if fields.has(AMOUNT) {
            self.amount.append_value(amount);
        }
        if fields.has(UNIT_AMOUNT) {
            self.precise_unit_amount.append_value(unit_amount);
        }
        if fields.has(DETAILS) {
            self.amount_details.append_value(details);
        }
        self.push_cents(cents, 0, cents, None);
    }

    /// Appends a row without figures.
    pub fn push_error(&mut self, error: &str) {
        let fields = self.fields;
        for (f, b) in [
            (AMOUNT, &mut self.amount),
            (UNIT_AMOUNT, &mut self.precise_unit_amount),
            (DETAILS, &mut self.amount_details),
        ] {
            if fields.has(f) {
                b.append_null();
            }
        }
        for (f, b) in [
            (AMOUNT_CENTS, &mut self.amount_cents),
            (TAXES, &mut self.taxes_amount_cents),
            (TOTAL, &mut self.total_amount_cents),
            (TRUE_UP, &mut self.true_up_amount_cents),
        ] {
            if fields.has(f) {
                b.append_null();
            }
        }
        if fields.has(ERROR) {
            self.error.append_value(error);
        }
    }

    /// The struct column of the fields built.
    pub fn finish(mut self) -> Result<ArrayRef> {
        let columns: [ArrayRef; 8] = [
            Arc::new(self.amount.finish()),
            Arc::new(self.amount_cents.finish()),
            Arc::new(self.precise_unit_amount.finish()),
            Arc::new(self.taxes_amount_cents.finish()),
            Arc::new(self.total_amount_cents.finish()),
            Arc::new(self.true_up_amount_cents.finish()),
            Arc::new(self.amount_details.finish()),
            Arc::new(self.error.finish()),
        ];
        let kept = columns
            .into_iter()
            .zip(0u8..)
            .filter(|(_, i)| self.fields.has(*i))
            .map(|(c, _)| c)
            .collect();
        let fields = fee_fields_in(self.fields);
        Ok(Arc::new(StructArray::try_new(fields, kept, None)?))
    }
}
