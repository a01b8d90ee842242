//! Rating a charge: buckets to filters and groups, one fee per bucket, the
//! totals; pay in advance (`in_advance.rs`), the true-up minimum
//! (`true_up.rs`) and projected usage (`projection.rs`) beside it.

mod in_advance;
mod projection;
pub(crate) mod true_up;

use crate::exact::Exact;

use crate::charge::Charge;

use crate::error::{RateError, UsageError};
use crate::exact::Overflow;

use crate::fee::{self, Fee, FeeTaxes, Priced};
use crate::models::{ChargeModel, Context, ModelOutcome};

use crate::usage::Usage;

/// What a fee is priced with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeeDetail {
    /// Every figure of the fee.
    Full,
    /// What customer usage's JSON shows of a fee (its amounts, units and
    /// events): no taxes per fee (the object taxes its totals, UD2), no
    /// graduated amount details, and unit amounts of zero.
    AmountsOnly,
}

/// One usage bucket: the usage of one (filter, group) for the period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Bucket {
    /// The aggregated usage.
    pub usage: Usage,
    /// Selects a charge filter: key → values (`None`: the default bucket).
    pub filter: Option<Vec<(String, Vec<String>)>>,
    /// The group label, key → value, for a grouped charge or filter.
    pub grouped_by: Option<Vec<(String, Option<String>)>>,
}

impl Bucket {
    /// The default bucket (no filter, no group) with this usage.
    pub fn new(usage: Usage) -> Self {
        Self {
            usage,
            filter: None,
            grouped_by: None,
        }
    }

    /// Selects the charge filter with these values.
    #[must_use]
    pub fn with_filter(mut self, filter: Vec<(String, Vec<String>)>) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Labels the bucket's group.
    #[must_use]
    pub fn with_group(mut self, grouped_by: Vec<(String, Option<String>)>) -> Self {
        self.grouped_by = Some(grouped_by);
        self
    }
}

/// The billing period, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Period {
    /// Days in the full period (> 0).
    pub duration_days: u32,
    /// Days billed (prorates the minimum).
    pub billed_days: u32,
    /// Days elapsed so far; asks for projected usage.
    pub elapsed_days: Option<u32>,
}

impl Period {
    /// A full period of `days` days, billed entirely, with no projection.
    pub fn full(days: u32) -> Self {
        Self {
            duration_days: days,
            billed_days: days,
            elapsed_days: None,
        }
    }

    /// `billed_days` of `duration_days`.
    ///
    /// ```
    /// use meterprice::Period;
    /// assert_eq!(Period::new(31, 12)?.billed_days, 12);
    /// // More days billed than the period has would inflate the minimum.
    /// assert!(Period::new(31, 62).is_err());
    /// # Ok::<(), meterprice::UsageError>(())
    /// ```
    ///
    /// # Errors
    /// [`UsageError`] naming `period.duration_days` when it is 0, or
    /// `period.billed_days` when it is above `duration_days`.
    pub fn new(duration_days: u32, billed_days: u32) -> Result<Self, UsageError> {
        let period = Self {
            duration_days,
            billed_days,
            elapsed_days: None,
        };
        period.check()?;
        Ok(period)
    }

    /// The rules a period keeps: at least one day, and no more days billed
    /// than it has (a minimum prorated beyond the period would grow).
    fn check(&self) -> Result<(), UsageError> {
        if self.duration_days == 0 {
            return Err(UsageError::new("period.duration_days must be > 0"));
        }
        if self.billed_days > self.duration_days {
            return Err(UsageError::new(format!(
                "period.billed_days must be at most period.duration_days {}, got {}",
                self.duration_days, self.billed_days
            )));
        }
        Ok(())
    }

    /// Asks for projected usage after `elapsed_days`.
    #[must_use]
    pub fn with_elapsed_days(mut self, elapsed_days: u32) -> Self {
        self.elapsed_days = Some(elapsed_days);
        self
    }
}

impl Default for Period {
    fn default() -> Self {
        Self::full(1)
    }
}

/// One pay-in-advance event, included in its bucket's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Event {
    /// The event's units.
    pub value: Exact,
    /// Its prorated units (prorated charges).
    pub prorated_value: Option<Exact>,
    /// Its price in minor units (dynamic).
    pub precise_total_amount_cents: Option<Exact>,
}

impl Event {
    /// An event of `value` units.
    pub fn new(value: Exact) -> Self {
        Self {
            value,
            prorated_value: None,
            precise_total_amount_cents: None,
        }
    }
}

/// The fees of one charge for one rating request, with the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChargeFees {
    /// One fee per bucket, in input order.
    pub fees: Vec<Fee>,
    /// The minimum-spend true-up, when the fees fall short of it.
    pub true_up_fee: Option<Fee>,
    /// Sum of the fees' `amount_cents`.
    pub fees_amount_cents: i128,
    /// Sum of `amount_cents` of the fees and the true-up.
    pub amount_cents: i128,
    /// Sum of `taxes_amount_cents` of the fees and the true-up.
    pub taxes_amount_cents: i128,
    /// Sum of `total_amount_cents` of the fees and the true-up.
    pub total_amount_cents: i128,
}

/// A bucket resolved against the charge: the model and filter that price it.
struct Resolved<'c> {
    model: &'c ChargeModel,
    filter: Option<usize>,
}

pub(crate) fn overflow(what: &'static str) -> RateError {
    RateError::Arithmetic(Overflow.figure(what))
}

impl Charge {
    /// Which model prices `bucket`, checking its filter and group label.
    fn resolve(&self, index: usize, bucket: &Bucket) -> Result<Resolved<'_>, UsageError> {
        let (model, keys, filter) = match &bucket.filter {
            None => (&self.model, &self.group_keys, None),
            Some(selector) => {
                check_selector(index, selector)?;
                let found = self.filters.iter().position(|f| f.selects(selector));
                let Some(i) = found else {
                    return Err(UsageError::new(format!(
                        "usage[{index}].filter {selector:?} matches no charge filter"
                    )));
                };
                let Some(f) = self.filters.get(i) else {
                    return Err(UsageError::new(format!(
                        "usage[{index}].filter matches no charge filter"
                    )));
                };
                (&f.model, &f.group_keys, Some(i))
            }
        };
        let label = bucket.grouped_by.as_deref().unwrap_or_default();
        let same =
            label.len() == keys.len() && keys.iter().all(|k| label.iter().any(|(l, _)| l == k));
        if !same {
            let labels: Vec<&str> = label.iter().map(|(k, _)| k.as_str()).collect();
            return Err(UsageError::new(format!(
                "usage[{index}].grouped_by keys {labels:?} differ from the pricing group keys {keys:?}"
            )));
        }
        self.check_usage(index, model, &bucket.usage)?;
        Ok(Resolved { model, filter })
    }

    /// The usage figures `model` reads, checked against each other.
    fn check_usage(&self, index: usize, model: &ChargeModel, u: &Usage) -> Result<(), UsageError> {
        if let Some(full) = u.full_units_number
            && full.is_negative()
            && !full.is_zero()
        {
            return Err(UsageError::new(format!(
                "usage[{index}].full_units_number must be >= 0, got {full}"
            )));
        }
        let prorated_graduated = self.prorated && matches!(model, ChargeModel::Graduated(_));
        if (!u.prorated_event_values.is_empty() || prorated_graduated)
            && u.prorated_event_values.len() != u.event_values.len()
        {
            return Err(UsageError::new(format!(
                "usage[{index}]: event_values has {} values but prorated_event_values has {}",
                u.event_values.len(),
                u.prorated_event_values.len()
            )));
        }
        let reads_both = match model {
            ChargeModel::Percentage(p) => p.reads_event_values(),
            _ => prorated_graduated,
        };
        // One value per event: a count that disagrees would price events
        // that are not there, or leave some out.
        if reads_both && u64::try_from(u.event_values.len()).ok() != Some(u.events_count) {
            return Err(UsageError::new(format!(
                "usage[{index}].event_values: {} values for events_count {} (one value per event)",
                u.event_values.len(),
                u.events_count
            )));
        }
        Ok(())
    }

    fn context(&self) -> Context<'static> {
        Context {
            prorated: self.prorated,
            ..Context::default()
        }
    }

    /// Prices buckets in arrears: one fee per bucket, in order, then the
    /// true-up minimum and the totals.
    ///
    /// ```
    /// use meterprice::{Bucket, Charge, ChargeModel, Currency, Exact, Period, Standard, Usage};
    /// let d = |t: &str| t.parse::<Exact>().unwrap();
    /// let eur = Currency::from_code("EUR").unwrap();
    /// let charge = Charge::builder(eur, ChargeModel::Standard(Standard::try_new(d("0.5"))?))
    ///     .min_amount_cents(1000)
    ///     .build()?;
    /// let buckets = [Bucket::new(Usage::new(d("4"))), Bucket::new(Usage::new(d("3")))];
    /// // 15 of 30 days billed: the 10 EUR minimum is prorated to 5 EUR.
    /// let fees = charge.rate(&buckets, &Period::new(30, 15)?)?;
    /// let cents: Vec<i128> = fees.fees.iter().map(|f| f.amount_cents).collect();
    /// assert_eq!(cents, [200, 150]); // 4 × 0.5, 3 × 0.5
    /// assert_eq!(fees.true_up_fee.map(|f| f.amount_cents), Some(150)); // 500 − 350
    /// assert_eq!(fees.amount_cents, 500);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`RateError::Usage`] for a bucket that cannot be priced (a filter
    /// matching no charge filter or with an empty value list, group keys
    /// that differ from the pricing group keys, misaligned prorated values,
    /// `event_values` whose number differs from `events_count` where the
    /// model reads both (percentage with free units or per-transaction
    /// bounds, prorated graduated), a negative `full_units_number`), or for
    /// a period that is empty or bills more days than it has;
    /// [`RateError::Arithmetic`] for a figure outside the decimal range.
    pub fn rate(&self, buckets: &[Bucket], period: &Period) -> Result<ChargeFees, RateError> {
        period.check()?;
        let mut fees = Vec::with_capacity(buckets.len());
        for (i, bucket) in buckets.iter().enumerate() {
            let mut fee = self
                .bucket_fee(i, bucket, period, FeeDetail::Full)
                .map_err(|e| e.in_bucket(i))?;
            fee.grouped_by = bucket.grouped_by.clone();
            fees.push(fee);
        }
        let true_up_fee = self.true_up(&fees, period)?;
        totals(fees, true_up_fee)
    }

    /// The fee of one bucket exactly as `rate` over that bucket alone for
    /// a full period gives it, its checks and errors included (the
    /// true-up's too), without the list and totals around it: customer
    /// usage prices each bucket so, and takes the label without a copy.
    pub(crate) fn rate_one(&self, bucket: Bucket, detail: FeeDetail) -> Result<Fee, RateError> {
        let period = Period::full(1);
        let fee = self.bucket_fee(0, &bucket, &period, detail);
        let mut fee = fee.map_err(|e| e.in_bucket(0))?;
        fee.grouped_by = bucket.grouped_by;
        let true_up_fee = self.true_up(std::slice::from_ref(&fee), &period)?;
        if true_up_fee.is_none() {
            // One fee alone: its totals cannot overflow.
            return Ok(fee);
        }
        let mut fees = totals(vec![fee], true_up_fee)?.fees;
        fees.pop().ok_or_else(|| overflow("totals"))
    }

    /// The fee of bucket `i`, in arrears, with its projection when asked;
    /// its label is the caller's to set.
    #[inline]
    fn bucket_fee(
        &self,
        i: usize,
        bucket: &Bucket,
        period: &Period,
        detail: FeeDetail,
    ) -> Result<Fee, RateError> {
        let resolved = self.resolve(i, bucket)?;
        let usage = &bucket.usage;
        let ctx = Context {
            amounts_only: detail == FeeDetail::AmountsOnly,
            ..self.context()
        };
        let outcome = resolved.model.apply_with(usage, self.currency, ctx)?;
        let mut fee = self.fee_in_arrears(usage, outcome, detail)?;
        fee.filter = resolved.filter;
        if let Some(elapsed) = period.elapsed_days {
            let (model, duration) = (resolved.model, period.duration_days);
            let projection = self.project(model, usage, &fee, duration, elapsed)?;
            fee.projection = Some(Box::new(projection));
        }
        Ok(fee)
    }

    /// The units and `amount_cents` of `usage` priced in arrears by the
    /// charge's own model, for the JSON contracts: what
    /// [`Charge::rate_one`] gives with [`FeeDetail::AmountsOnly`], without
    /// the fee around them. For a charge without a minimum (no true-up),
    /// not prorated, whose model reads the units and the count alone: the
    /// usage checks of `resolve` cannot fail on such a usage.
    #[cfg(feature = "lago")]
    pub(crate) fn amounts_in_arrears(&self, usage: &Usage) -> Result<(Exact, i128), RateError> {
        let ctx = Context {
            amounts_only: true,
            ..self.context()
        };
        let outcome = self.model.apply_with(usage, self.currency, ctx)?;
        let (priced, units) = self.clamped(usage, &outcome, FeeDetail::AmountsOnly);
        let money = fee::money(&priced, self.currency, self.pricing_unit.as_ref())?;
        Ok((units, money.amount_cents))
    }

    /// What a fee in arrears is priced at, and its units: nothing, for
    /// negative units or a negative amount (§4.2).
    fn clamped(&self, usage: &Usage, outcome: &ModelOutcome, detail: FeeDetail) -> (Priced, Exact) {
        let units = if self.prorated {
            usage.full_or_units()
        } else {
            usage.units
        };
        let clamp = usage.units.is_negative() && !usage.units.is_zero()
            || outcome.amount.is_negative() && !outcome.amount.is_zero();
        // The JSON shows no unit amount: zero is converted at no cost.
        let unit_amount = match detail {
            FeeDetail::Full => outcome.unit_amount,
            FeeDetail::AmountsOnly => Exact::ZERO,
        };
        if clamp {
            let nothing = Priced {
                amount: Exact::ZERO,
                unit_amount: Exact::ZERO,
            };
            (nothing, Exact::ZERO)
        } else {
            let priced = Priced {
                amount: outcome.amount,
                unit_amount,
            };
            (priced, units)
        }
    }

    /// Builds the fee of a bucket priced in arrears (§4.1, §4.2).
    fn fee_in_arrears(
        &self,
        usage: &Usage,
        outcome: ModelOutcome,
        detail: FeeDetail,
    ) -> Result<Fee, RateError> {
        let (priced, units) = self.clamped(usage, &outcome, detail);
        let money = fee::money(&priced, self.currency, self.pricing_unit.as_ref())?;
        let taxes = match detail {
            FeeDetail::Full => {
                fee::taxes(&self.taxes, money.amount_cents, money.precise_amount_cents)?
            }
            FeeDetail::AmountsOnly => FeeTaxes::default(),
        };
        Ok(Fee::new(
            &self.echo,
            (units, usage.events_count),
            money,
            taxes,
            outcome.details,
            self.pay_in_advance && !self.invoiceable,
        ))
    }
}

/// A bucket's filter names each key once, with at least one value: a key
/// given twice would count as two keys when matching, and an empty list
/// selects nothing.
fn check_selector(index: usize, selector: &[(String, Vec<String>)]) -> Result<(), UsageError> {
    for (i, (key, values)) in selector.iter().enumerate() {
        if values.is_empty() {
            return Err(UsageError::new(format!(
                "usage[{index}].filter.{key}: an empty list of values selects nothing"
            )));
        }
        if selector
            .get(..i)
            .is_some_and(|before| before.iter().any(|(k, _)| k == key))
        {
            return Err(UsageError::new(format!(
                "usage[{index}].filter: key {key:?} is given twice"
            )));
        }
    }
    Ok(())
}

pub(crate) fn totals(fees: Vec<Fee>, true_up_fee: Option<Fee>) -> Result<ChargeFees, RateError> {
    let add = |a: i128, b: i128| a.checked_add(b).ok_or_else(|| overflow("totals"));
    let mut fees_amount_cents = 0i128;
    let (mut taxes, mut total) = (0i128, 0i128);
    for f in &fees {
        fees_amount_cents = add(fees_amount_cents, f.amount_cents)?;
        taxes = add(taxes, f.taxes.taxes_amount_cents)?;
        total = add(total, f.taxes.total_amount_cents)?;
    }
    let mut amount_cents = fees_amount_cents;
    if let Some(t) = &true_up_fee {
        amount_cents = add(amount_cents, t.amount_cents)?;
        taxes = add(taxes, t.taxes.taxes_amount_cents)?;
        total = add(total, t.taxes.total_amount_cents)?;
    }
    Ok(ChargeFees {
        fees,
        true_up_fee,
        fees_amount_cents,
        amount_cents,
        taxes_amount_cents: taxes,
        total_amount_cents: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Public types can be shipped across threads (a distributed engine
    /// needs it); this fails to compile otherwise.
    #[test]
    fn public_types_are_send_sync_clone_debug() {
        fn is<T: Send + Sync + Clone + std::fmt::Debug>() {}
        is::<Charge>();
        is::<ChargeFees>();
        is::<Fee>();
        is::<crate::FeeTaxes>();
        is::<Bucket>();
        is::<Period>();
        is::<Event>();
        is::<Usage>();
        is::<ChargeModel>();
        is::<crate::Exact>();
        is::<crate::RateError>();
        is::<crate::DefinitionError>();
    }
}
