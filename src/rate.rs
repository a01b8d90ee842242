//! Rating a charge: buckets to filters and groups, pay-in-advance steps,
//! the true-up minimum and the totals.

use crate::exact::Exact;

use crate::charge::Charge;
use crate::details::{AmountDetails, GraduatedPercentageLine, PercentageDetails};
use crate::error::{ArithmeticError, RateError, UsageError};
use crate::exact;
use crate::fee::{self, Fee, Priced, Projection};
use crate::models::{ChargeModel, Context, ModelOutcome};
use crate::money::{Currency, cents_of};
use crate::usage::Usage;

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

fn overflow(what: &'static str) -> RateError {
    RateError::Arithmetic(ArithmeticError::new(what))
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
        let labels: Vec<&str> = bucket
            .grouped_by
            .iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .collect();
        let same = labels.len() == keys.len() && keys.iter().all(|k| labels.contains(&k.as_str()));
        if !same {
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
            let resolved = self.resolve(i, bucket)?;
            let outcome =
                resolved
                    .model
                    .apply_with(&bucket.usage, self.currency, self.context())?;
            let mut fee = self.fee_in_arrears(&bucket.usage, outcome)?;
            fee.filter = resolved.filter;
            fee.grouped_by = bucket.grouped_by.clone();
            if let Some(elapsed) = period.elapsed_days {
                fee.projection = Some(Box::new(self.project(
                    resolved.model,
                    &bucket.usage,
                    &fee,
                    period.duration_days,
                    elapsed,
                )?));
            }
            fees.push(fee);
        }
        let true_up_fee = self.true_up(&fees, period)?;
        totals(fees, true_up_fee)
    }

    /// Builds the fee of a bucket priced in arrears (§4.1, §4.2).
    fn fee_in_arrears(&self, usage: &Usage, outcome: ModelOutcome) -> Result<Fee, RateError> {
        let units = if self.prorated {
            usage.full_or_units()
        } else {
            usage.units
        };
        let clamp = usage.units.is_negative() && !usage.units.is_zero()
            || outcome.amount.is_negative() && !outcome.amount.is_zero();
        let (priced, units) = if clamp {
            (
                Priced {
                    amount: Exact::ZERO,
                    unit_amount: Exact::ZERO,
                },
                Exact::ZERO,
            )
        } else {
            (
                Priced {
                    amount: outcome.amount,
                    unit_amount: outcome.unit_amount,
                },
                units,
            )
        };
        let money = fee::money(&priced, self.currency, self.pricing_unit.as_ref())?;
        let taxes = fee::taxes(&self.taxes, money.amount_cents, money.precise_amount_cents)?;
        Ok(Fee {
            units,
            events_count: usage.events_count,
            amount: money.amount,
            amount_cents: money.amount_cents,
            precise_amount_cents: money.precise_amount_cents,
            unit_amount_cents: money.unit_amount_cents,
            precise_unit_amount: money.precise_unit_amount,
            amount_details: outcome.details,
            pricing_unit_details: money.pricing_unit_details,
            taxes,
            pay_in_advance: self.pay_in_advance && !self.invoiceable,
            filter: None,
            grouped_by: None,
            projection: None,
        })
    }

    /// Projected usage of a fee (§2.10) with ratio `elapsed / duration`.
    fn project(
        &self,
        model: &ChargeModel,
        usage: &Usage,
        fee: &Fee,
        duration: u32,
        elapsed: u32,
    ) -> Result<Projection, RateError> {
        const WHAT: &str = "projected_amount";
        let elapsed = elapsed.min(duration);
        let (d, e) = (Exact::from(duration), Exact::from(elapsed));
        // Multiply before dividing (M3): x / (e/d) = x × d / e.
        let scale_up = |x: Exact| -> Result<Exact, ArithmeticError> {
            if e.is_zero() {
                Ok(Exact::ZERO)
            } else {
                exact::mul_div(x, d, e, WHAT)
            }
        };
        let units = usage.units;
        let (projected_units, projected_amount) = if self.prorated {
            // Recurring (prorated) usage is not projected: the fee's own
            // current values (its units are the full units), as Lago's
            // projection returns them.
            (fee.units, fee_model_amount(fee)?)
        } else {
            let pu = if units.is_zero() {
                Exact::ZERO
            } else {
                exact::round_half_away(scale_up(units)?, 2)
            };
            let amount = match model {
                ChargeModel::Standard(m) => m.project(pu)?,
                ChargeModel::Graduated(m) => m.project(pu)?,
                ChargeModel::Volume(m) => m.project(pu)?,
                ChargeModel::Package(m) => m.project(pu)?,
                ChargeModel::Percentage(_)
                | ChargeModel::GraduatedPercentage(_)
                | ChargeModel::Dynamic => scale_up(fee_model_amount(fee)?)?,
            };
            (pu, amount)
        };
        let priced = Priced {
            amount: projected_amount,
            unit_amount: Exact::ZERO,
        };
        let cents = fee::money(&priced, self.currency, self.pricing_unit.as_ref())?
            .amount_cents
            .max(0);
        Ok(Projection {
            projected_units,
            projected_amount,
            projected_amount_cents: cents,
        })
    }

    /// The minimum-spend true-up (§6 with M9, M10), `None` when met.
    pub(crate) fn true_up(&self, fees: &[Fee], period: &Period) -> Result<Option<Fee>, RateError> {
        const WHAT: &str = "true-up";
        if self.min_amount_cents <= 0 {
            return Ok(None);
        }
        let min = Exact::try_from(self.min_amount_cents)?;
        let prorated_min = exact::mul_div(
            min,
            Exact::from(period.billed_days),
            Exact::from(period.duration_days),
            WHAT,
        )?;
        // With a pricing unit the minimum is in pricing-unit cents.
        let (used_cents, used_precise) = if self.pricing_unit.is_some() {
            let pu = |f: &Fee| {
                f.pricing_unit_details
                    .as_ref()
                    .map_or((0, Exact::ZERO), |p| {
                        (p.amount_cents, p.precise_amount_cents)
                    })
            };
            sum_cents(fees.iter().map(pu))?
        } else {
            sum_cents(
                fees.iter()
                    .map(|f| (f.amount_cents, f.precise_amount_cents)),
            )?
        };
        let used = Exact::try_from(used_cents)?;
        if used >= prorated_min {
            return Ok(None);
        }
        let diff = exact::sub(prorated_min, used, WHAT)?;
        let diff_precise = exact::sub(prorated_min, used_precise, WHAT)?;
        let unit_currency = if self.pricing_unit.is_some() {
            Currency::PRICING_UNIT
        } else {
            self.currency
        };
        let priced = Priced {
            amount: unit_currency.cents_to_units(diff)?,
            unit_amount: unit_currency.cents_to_units_rounded(diff_precise)?,
        };
        let money = fee::money(&priced, self.currency, self.pricing_unit.as_ref())?;
        let (amount_cents, precise_amount_cents, unit_amount_cents) = if self.pricing_unit.is_some()
        {
            (
                money.amount_cents,
                money.precise_amount_cents,
                money.unit_amount_cents,
            )
        } else {
            // Without a pricing unit the true-up is the cents difference itself.
            let cents = cents_of(exact::round_half_away(diff, 0));
            (cents, diff_precise, cents)
        };
        if amount_cents == 0 {
            return Ok(None);
        }
        let taxes = fee::taxes(&self.taxes, amount_cents, precise_amount_cents)?;
        Ok(Some(Fee {
            units: Exact::ONE,
            events_count: 0,
            // The exact amount whose scaling is precise_amount_cents (a
            // shift of places, not a quotient to round).
            amount: self.currency.cents_to_units(precise_amount_cents)?,
            amount_cents,
            precise_amount_cents,
            unit_amount_cents,
            // Without a pricing unit, priced.unit_amount itself.
            precise_unit_amount: money.precise_unit_amount,
            amount_details: AmountDetails::Empty,
            pricing_unit_details: money.pricing_unit_details,
            taxes,
            pay_in_advance: false,
            filter: None,
            grouped_by: None,
            projection: None,
        }))
    }

    /// Prices one pay-in-advance event (§5 with M8, M11): the charge applied
    /// to `bucket.usage` (which includes the event) minus the charge applied
    /// without it.
    ///
    /// # Errors
    /// [`RateError::Usage`] when the charge is not paid in advance, the
    /// event is negative or above the usage, or the bucket has no events;
    /// [`RateError::Arithmetic`] for a figure outside the decimal range.
    pub fn rate_event(&self, bucket: &Bucket, event: &Event) -> Result<ChargeFees, RateError> {
        if !self.pay_in_advance {
            return Err(UsageError::new("event: the charge is not pay_in_advance").into());
        }
        let resolved = self.resolve(0, bucket)?;
        let with = &bucket.usage;
        let step = self.step(resolved.model, with, event)?;
        let mut fee = step;
        fee.filter = resolved.filter;
        fee.grouped_by = bucket.grouped_by.clone();
        totals(vec![fee], None)
    }

    /// The fee for the step from the usage without `event` to `with` (the
    /// incremental API pay in advance is built on).
    fn step(&self, model: &ChargeModel, with: &Usage, event: &Event) -> Result<Fee, RateError> {
        const WHAT: &str = "pay-in-advance amount";
        if with.events_count == 0 {
            return Err(UsageError::new("usage.events_count must be > 0 with an event").into());
        }
        if event.value.is_negative() && !event.value.is_zero() {
            return Err(
                UsageError::new(format!("event.value must be >= 0, got {}", event.value)).into(),
            );
        }
        let ceiling = if self.prorated {
            with.full_or_units()
        } else {
            with.units
        };
        if event.value > ceiling {
            return Err(UsageError::new(format!(
                "event.value {} is above the usage units {ceiling}",
                event.value
            ))
            .into());
        }
        let contribution = if self.prorated {
            event.prorated_value.unwrap_or(event.value)
        } else {
            event.value
        };
        let mut without = Usage::new(exact::sub(with.units, contribution, WHAT)?)
            .with_events_count(with.events_count - 1);
        without.event_values = with.event_values.clone();
        if !without.event_values.is_empty() {
            let Some(pos) = without.event_values.iter().rposition(|v| *v == event.value) else {
                return Err(UsageError::new(format!(
                    "usage.event_values must include the event's value {}",
                    event.value
                ))
                .into());
            };
            without.event_values.remove(pos);
        }
        if let Some(pt) = with.precise_total_amount_cents {
            let own = event.precise_total_amount_cents.unwrap_or(Exact::ZERO);
            without.precise_total_amount_cents = Some(exact::sub(pt, own, WHAT)?);
        }
        let running_total = match model {
            ChargeModel::Percentage(p) => Some(p.running_total(&with.event_values)?),
            _ => None,
        };
        let base = Context {
            prorated: false,
            first_event_excluded: false,
            running_total: running_total.as_deref(),
        };
        let with_out = model.apply_with(with, self.currency, base)?;
        let without_ctx = Context {
            first_event_excluded: without.events_count == 0,
            ..base
        };
        let without_out = model.apply_with(&without, self.currency, without_ctx)?;
        let delta = exact::sub(with_out.amount, without_out.amount, WHAT)?.max(Exact::ZERO);
        let units = event.value;
        let unit_currency = if self.pricing_unit.is_some() {
            Currency::PRICING_UNIT
        } else {
            self.currency
        };
        let rounded = exact::round_half_away(delta, unit_currency.exponent());
        let unit_amount = exact::quotient(rounded, units, "pay-in-advance unit_amount")?;
        let details = step_details(&with_out.details, &without_out.details)?;
        let money = fee::money(
            &Priced {
                amount: delta,
                unit_amount,
            },
            self.currency,
            self.pricing_unit.as_ref(),
        )?;
        let taxes = fee::taxes(&self.taxes, money.amount_cents, money.precise_amount_cents)?;
        Ok(Fee {
            units,
            events_count: 1,
            amount: money.amount,
            amount_cents: money.amount_cents,
            precise_amount_cents: money.precise_amount_cents,
            unit_amount_cents: money.unit_amount_cents,
            precise_unit_amount: money.precise_unit_amount,
            amount_details: details,
            pricing_unit_details: money.pricing_unit_details,
            taxes,
            pay_in_advance: true,
            filter: None,
            grouped_by: None,
            projection: None,
        })
    }

    /// The fee for going from `before` to `after` usage of the default
    /// bucket, as a pay-in-advance event of `after.units − before.units`
    /// units would be billed: callers never subtract by hand.
    ///
    /// # Errors
    /// As [`Charge::rate_event`].
    pub fn price_step(&self, before: &Usage, after: &Usage) -> Result<Fee, RateError> {
        let value = exact::sub(after.units, before.units, "pay-in-advance step")?;
        let mut with = after.clone();
        with.events_count = before.events_count.saturating_add(1);
        if !with.event_values.is_empty() || !before.event_values.is_empty() {
            with.event_values = before.event_values.clone();
            with.event_values.push(value);
        }
        self.step(&self.model, &with, &Event::new(value))
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

/// The amount the fee was built from, in the model's unit.
fn fee_model_amount(fee: &Fee) -> Result<Exact, ArithmeticError> {
    match &fee.pricing_unit_details {
        // The pricing-unit amount: precise pricing-unit cents back to units.
        Some(p) => Currency::PRICING_UNIT.cents_to_units(p.precise_amount_cents),
        None => Ok(fee.amount),
    }
}

fn sum_cents(items: impl Iterator<Item = (i128, Exact)>) -> Result<(i128, Exact), RateError> {
    let mut cents: i128 = 0;
    let mut precise = Exact::ZERO;
    for (c, p) in items {
        cents = cents
            .checked_add(c)
            .ok_or_else(|| overflow("fees_amount_cents"))?;
        precise = exact::add(precise, p, "fees precise_amount_cents")?;
    }
    Ok((cents, precise))
}

fn totals(fees: Vec<Fee>, true_up_fee: Option<Fee>) -> Result<ChargeFees, RateError> {
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

/// In-advance amount details: "with" minus "without" (§5, Q26 kept, M4).
fn step_details(
    with: &AmountDetails,
    without: &AmountDetails,
) -> Result<AmountDetails, ArithmeticError> {
    const WHAT: &str = "pay-in-advance amount_details";
    let d = |a: Exact, b: Exact| exact::sub(a, b, WHAT);
    Ok(match (with, without) {
        (AmountDetails::Percentage(w), AmountDetails::Percentage(o)) => {
            let units = d(w.units, o.units)?;
            let paid_units = d(w.paid_units, o.paid_units)?;
            AmountDetails::Percentage(Box::new(PercentageDetails {
                units,
                free_units: d(units, paid_units)?,
                free_events: w.free_events.saturating_sub(o.free_events),
                paid_units,
                rate: w.rate,
                per_unit_total_amount: d(w.per_unit_total_amount, o.per_unit_total_amount)?,
                paid_events: w.paid_events.saturating_sub(o.paid_events),
                fixed_fee_unit_amount: w.fixed_fee_unit_amount,
                fixed_fee_total_amount: d(w.fixed_fee_total_amount, o.fixed_fee_total_amount)?,
                min_max_adjustment_total_amount: d(
                    w.min_max_adjustment_total_amount,
                    o.min_max_adjustment_total_amount,
                )?,
            }))
        }
        (AmountDetails::GraduatedPercentage(w), AmountDetails::GraduatedPercentage(o)) => {
            let mut lines = Vec::with_capacity(w.len());
            for line in w {
                let other = o
                    .iter()
                    .find(|l| l.from_value == line.from_value && l.to_value == line.to_value);
                let (flat, units, total) = other
                    .map_or((Exact::ZERO, Exact::ZERO, Exact::ZERO), |l| {
                        (l.flat_unit_amount, l.units, l.total_with_flat_amount)
                    });
                let units = d(line.units, units)?;
                let total = d(line.total_with_flat_amount, total)?;
                let average = if units > Exact::ZERO {
                    exact::quotient_rounded(total, units, 2, WHAT)?
                } else {
                    Exact::ZERO
                };
                lines.push(GraduatedPercentageLine {
                    from_value: line.from_value,
                    to_value: line.to_value,
                    flat_unit_amount: d(line.flat_unit_amount, flat)?,
                    rate: line.rate,
                    units,
                    per_unit_total_amount: average,
                    total_with_flat_amount: total,
                });
            }
            AmountDetails::GraduatedPercentage(lines)
        }
        _ => AmountDetails::Empty,
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
