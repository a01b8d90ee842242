//! The fast path of `meterprice_rate` (quarantined performance code): a
//! bound standard charge over `Decimal128` or integer units, priced on
//! 128-bit scaled integers instead of a whole `Charge::rate` per row.
//!
//! For a standard charge with no filter, group, minimum, proration, tax or
//! pricing unit, the fee of `u` units is `amount = u × price` exactly,
//! `amount_cents = amount × subunit` rounded half away from zero, the unit
//! amount the price itself (0 for 0 units), no taxes and no true-up. A row
//! is priced here when its figures are plainly in range (units ≥ 0 at a
//! scale of at most 28, amount and precise-cents mantissas below 2^96, at
//! most 38 places); every other row (NULL, negative, a bad count, a figure
//! near a limit) goes through the general path, so its figures and errors
//! are the general path's. The texts are written from the integers with
//! the same rule as `Exact`'s (plain notation, trailing zeros dropped), and
//! tests check the two paths agree figure by figure.

use datafusion::arrow::array::{Array, ArrayRef, Decimal128Array, Int64Array, UInt64Array};
use datafusion::common::Result;
use meterprice::{AmountDetails, Bucket, Charge, ChargeModel, Exact, Period, Usage};

use super::Batch;
use crate::columns::{Counts, Decimals};
use crate::fees::{FeeColumns, FeeFields, untaxed_struct};

/// 2^96: an `Exact` magnitude stays below it.
const LIMIT: u128 = 1 << 96;

/// The most fractional digits a `Decimal`-range input has.
const MAX_INPUT_SCALE: u32 = 28;

/// `10^k` for `k ≤ 38`, as a table (a power per row would be a loop).
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `10^k` for `k ≤ 38`.
#[inline]
fn pow10(k: u32) -> Option<u128> {
    POW10.get(k as usize).copied()
}

/// A standard charge whose fee is a closed form of the units.
#[derive(Debug, Clone)]
pub(crate) struct FastStandard {
    /// The price as a mantissa and scale (normalized).
    price: u128,
    price_scale: u32,
    /// Minor units per main unit.
    subunit: u128,
    /// The unit amount's text for non-zero units: the price.
    unit_text: String,
    /// The amount details' JSON (the standard model has none).
    details: String,
}

impl FastStandard {
    /// The fast form of `charge`, when its fee is `units × price` and
    /// nothing else.
    pub fn new(charge: &Charge) -> Option<Self> {
        let ChargeModel::Standard(standard) = charge.model() else {
            return None;
        };
        let plain = charge.filters().is_empty()
            && charge.group_keys().is_empty()
            && charge.taxes().is_empty()
            && charge.pricing_unit().is_none()
            && !charge.prorated()
            && charge.min_amount_cents() == 0;
        if !plain {
            return None;
        }
        let price = standard.amount().to_decimal()?;
        // One probe through the general path: its fee must be the closed
        // form (a check of the above), and it gives the details' JSON.
        let probe = Usage::new(Exact::from(1u32)).with_events_count(1);
        let fees = charge.rate(&[Bucket::new(probe)], &Period::full(1)).ok()?;
        let fee = fees.fees.first()?;
        let closed_form = fees.true_up_fee.is_none()
            && fee.taxes.applied.is_empty()
            && fee.taxes.taxes_amount_cents == 0
            && fee.pricing_unit_details.is_none()
            && fee.amount_details == AmountDetails::Empty
            && fee.amount == standard.amount();
        if !closed_form {
            return None;
        }
        let mut details = Vec::new();
        meterprice::write_amount_details_json(&fee.amount_details, &mut details);
        Some(Self {
            price: u128::try_from(price.mantissa()).ok()?,
            price_scale: price.scale(),
            subunit: u128::from(charge.currency().subunit_to_unit()),
            unit_text: standard.amount().to_string(),
            details: String::from_utf8(details).ok()?,
        })
    }

    /// Prices every row of `batch` into `out`, the plain rows here and the
    /// others through `general`; `false` (nothing written) when the batch's
    /// columns are not ones the fast path reads.
    pub fn rate(
        &self,
        batch: &Batch<'_>,
        rows: usize,
        out: &mut FeeColumns,
        mut general: impl FnMut(usize, &mut FeeColumns),
    ) -> bool {
        let Some(units) = Units::of(batch) else {
            return false;
        };
        let at = |i: usize, row: usize| if batch.scalar_at(i) { 0 } else { row };
        // A query that reads only cents (`rate/prune.rs`) needs no text.
        let wants_text = out.wants_text();
        let mut text = Vec::with_capacity(64);
        for row in 0..rows {
            let plain = counted(&batch.events_count, at(1, row))
                .then(|| units.get(at(0, row)))
                .flatten()
                .and_then(|(m, s)| self.figures(m, s));
            match plain {
                Some(fee) => {
                    text.clear();
                    if wants_text {
                        fee.write_amount(&mut text);
                    }
                    // The text was written from ASCII digits.
                    let amount = std::str::from_utf8(&text).unwrap_or_default();
                    let unit = if fee.amount == 0 {
                        "0"
                    } else {
                        &self.unit_text
                    };
                    out.push_untaxed(amount, fee.cents, unit, &self.details);
                }
                None => general(row, out),
            }
        }
        true
    }

    /// The struct of a query that reads cents only (`rate/prune.rs`), in
    /// one pass over the columns; `None` (nothing done) when it reads a
    /// text or some row is not plain, and the rows then go one by one.
    pub fn cents_column(
        &self,
        batch: &Batch<'_>,
        rows: usize,
        fields: FeeFields,
    ) -> Option<Result<ArrayRef>> {
        let columns = !fields.wants_text() && !batch.scalar_at(0) && !batch.scalar_at(1);
        if !columns || !batch.events_count.all_valid() {
            return None;
        }
        let cents = match Units::of(batch)? {
            Units::D128(a, s) if a.null_count() == 0 => self.all_cents(a.values(), s, rows),
            Units::Signed(a) if a.null_count() == 0 => self.all_cents(a.values(), 0, rows),
            Units::Unsigned(a) if a.null_count() == 0 => self.all_cents(a.values(), 0, rows),
            _ => None,
        }?;
        Some(untaxed_struct(fields, cents))
    }

    /// The cents of every mantissa (at scale `s`), or `None` as soon as
    /// one is not plainly in range.
    fn all_cents<T: Copy + Into<i128>>(
        &self,
        values: &[T],
        s: u32,
        rows: usize,
    ) -> Option<Vec<i128>> {
        let mut cents = Vec::with_capacity(rows);
        for m in values.iter().take(rows) {
            cents.push(self.figures(plain_mantissa((*m).into())?, s)?.cents);
        }
        Some(cents)
    }

    /// The fee of `m × 10^-s` units, or `None` when the row is not plainly
    /// in range.
    #[inline]
    fn figures(&self, m: u128, s: u32) -> Option<Figures> {
        if m == 0 {
            return Some(Figures::default());
        }
        // Two 64-bit factors: one widening multiplication, no overflow check.
        let amount = match (u64::try_from(m), u64::try_from(self.price)) {
            (Ok(m), Ok(p)) => u128::from(m) * u128::from(p),
            _ => m.checked_mul(self.price)?,
        };
        let amount = Some(amount).filter(|a| *a < LIMIT)?;
        let scale = s + self.price_scale;
        // The precise cents are a figure too: below 2^96 like the amount.
        let precise = amount.checked_mul(self.subunit).filter(|p| *p < LIMIT)?;
        let cents = i128::try_from(rounded_cents(precise, scale)?).ok()?;
        Some(Figures {
            amount,
            scale,
            cents,
        })
    }
}

/// A row's fee: the amount `amount × 10^-scale`, and its cents.
#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    amount: u128,
    scale: u32,
    cents: i128,
}

impl Figures {
    /// The amount's text, as `Exact` writes it.
    fn write_amount(&self, text: &mut Vec<u8>) {
        if self.amount == 0 {
            text.push(b'0');
        } else {
            write_plain(self.amount, self.scale, text);
        }
    }
}

/// Whether the row's count is one the general path accepts (a count of at
/// least 0); the count itself is not a figure of the fee.
#[inline]
fn counted(counts: &Counts<'_>, row: usize) -> bool {
    counts.get(row, "events_count").is_ok()
}

/// `x × 10^-scale` rounded half away from zero (x ≥ 0), on 64-bit words
/// when they suffice; `None` past 38 places.
#[inline]
fn rounded_cents(x: u128, scale: u32) -> Option<u128> {
    if scale == 0 {
        return Some(x);
    }
    if let Ok(x) = u64::try_from(x)
        && let Some((q, r, d)) = div_pow10(x, scale)
    {
        return Some(u128::from(q) + u128::from(r >= d - r));
    }
    let d = pow10(scale)?;
    let (q, r) = (x / d, x % d);
    Some(q + u128::from(r >= d - r))
}

/// `x / 10^k` and `x % 10^k` (and `10^k`) for `1 ≤ k ≤ 19`, each power a
/// constant divisor, which the compiler turns into a multiplication (a
/// division by a variable takes tens of cycles). A column's scale is the
/// same on every row, so the branch is always predicted.
#[inline]
fn div_pow10(x: u64, k: u32) -> Option<(u64, u64, u64)> {
    macro_rules! by {
        ($($k:literal),*) => {
            match k {
                $($k => {
                    const D: u64 = 10u64.pow($k);
                    Some((x / D, x % D, D))
                })*
                _ => None,
            }
        };
    }
    by!(
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19
    )
}

/// The plain-notation text of `m × 10^-s` (m > 0), trailing fractional
/// zeros dropped, as `Exact`'s `Display` writes it; on 64-bit words when
/// the mantissa fits one (a 128-bit division is a library call).
#[inline]
fn write_plain(m: u128, mut s: u32, text: &mut Vec<u8>) {
    let mut buffer = itoa::Buffer::new();
    let digits = match u64::try_from(m) {
        Ok(mut small) => {
            while s > 0 && small.is_multiple_of(10) {
                small /= 10;
                s -= 1;
            }
            buffer.format(small)
        }
        Err(_) => {
            let mut m = m;
            while s > 0 && m.is_multiple_of(10) {
                m /= 10;
                s -= 1;
            }
            buffer.format(m)
        }
    }
    .as_bytes();
    let s = s as usize;
    match digits.len().checked_sub(s) {
        _ if s == 0 => text.extend_from_slice(digits),
        Some(int) if int > 0 => {
            let (int, frac) = digits.split_at(int);
            text.extend_from_slice(int);
            text.push(b'.');
            text.extend_from_slice(frac);
        }
        _ => {
            text.extend_from_slice(b"0.");
            text.resize(text.len() + (s - digits.len()), b'0');
            text.extend_from_slice(digits);
        }
    }
}

/// The units column as non-negative mantissas at one scale.
enum Units<'a> {
    D128(&'a Decimal128Array, u32),
    Signed(&'a Int64Array),
    Unsigned(&'a UInt64Array),
}

impl<'a> Units<'a> {
    /// The units of a batch with units and a count only, when they are
    /// decimals of at most 28 places or integers.
    fn of(batch: &Batch<'a>) -> Option<Self> {
        if batch.precise_total_amount_cents.is_some() || batch.full_units_number.is_some() {
            return None;
        }
        match &batch.units {
            Decimals::D128(a, s) => {
                let s = u32::try_from(*s).ok().filter(|s| *s <= MAX_INPUT_SCALE)?;
                Some(Self::D128(a, s))
            }
            Decimals::Signed(a) => Some(Self::Signed(a)),
            Decimals::Unsigned(a) => Some(Self::Unsigned(a)),
            _ => None,
        }
    }

    /// A valid, non-negative value below 2^96: its mantissa and scale.
    #[inline]
    fn get(&self, row: usize) -> Option<(u128, u32)> {
        let (m, s) = match self {
            Self::D128(a, s) => (a.is_valid(row).then(|| a.value(row))?, *s),
            Self::Signed(a) => (a.is_valid(row).then(|| i128::from(a.value(row)))?, 0),
            Self::Unsigned(a) => (a.is_valid(row).then(|| i128::from(a.value(row)))?, 0),
        };
        Some((plain_mantissa(m)?, s))
    }
}

/// A units mantissa the fast path prices: not negative, below 2^96.
#[inline]
fn plain_mantissa(m: i128) -> Option<u128> {
    u128::try_from(m).ok().filter(|m| *m < LIMIT)
}

#[cfg(test)]
mod tests;
