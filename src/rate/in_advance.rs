//! Pay in advance (semantics.md §5 with M8, M11): one event priced as the
//! step from the usage without it to the usage with it, the incremental API
//! that `rate_event` and `price_step` share.

use super::totals;
use crate::charge::Charge;
use crate::currency::Currency;
use crate::details::{AmountDetails, GraduatedPercentageLine, PercentageDetails};
use crate::error::{ArithmeticError, RateError, UsageError};
use crate::exact::{Exact, Figure, Overflow};
use crate::fee::{self, Fee, Priced};
use crate::models::{ChargeModel, Context};
use crate::rate::{Bucket, ChargeFees, Event};
use crate::usage::Usage;

impl Charge {
    /// Prices one pay-in-advance event (§5 with M8, M11): the charge applied
    /// to `bucket.usage` (which includes the event) minus the charge applied
    /// without it.
    ///
    /// ```
    /// use meterprice::{Bucket, Charge, ChargeModel, Currency, Event, Exact, Graduated};
    /// use meterprice::{Tier, TierPrice, Usage};
    /// let d = |t: &str| t.parse::<Exact>().unwrap();
    /// let graduated = Graduated::try_new(vec![
    ///     Tier::new(d("0"), Some(d("10")), TierPrice::new(d("1"), d("5"))),
    ///     Tier::new(d("11"), None, TierPrice::new(d("0.5"), d("0"))),
    /// ])?;
    /// let eur = Currency::from_code("EUR").unwrap();
    /// let charge = Charge::builder(eur, ChargeModel::Graduated(graduated)).pay_in_advance(true).build()?;
    /// // An event of 8 units brings the period to 12 units over 2 events:
    /// // with it 10 × 1 + 5 + 2 × 0.5 = 16, without it 4 × 1 + 5 = 9.
    /// let bucket = Bucket::new(Usage::new(d("12")).with_events_count(2));
    /// let fees = charge.rate_event(&bucket, &Event::new(d("8")))?;
    /// assert_eq!(fees.fees[0].amount_cents, 700);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
        let without = self.without(with, event)?;
        let running_total = match model {
            ChargeModel::Percentage(p) => Some(p.running_total(&with.event_values)?),
            _ => None,
        };
        let base = Context {
            prorated: false,
            first_event_excluded: false,
            running_total: running_total.as_deref(),
            amounts_only: false,
        };
        let with_out = model.apply_with(with, self.currency, base)?;
        let without_ctx = Context {
            first_event_excluded: without.events_count == 0,
            ..base
        };
        let without_out = model.apply_with(&without, self.currency, without_ctx)?;
        let delta = with_out
            .amount
            .minus(without_out.amount)
            .figure(WHAT)?
            .max(Exact::ZERO);
        let units = event.value;
        let unit_currency = if self.pricing_unit.is_some() {
            Currency::PRICING_UNIT
        } else {
            self.currency
        };
        let rounded = delta.round_half_away(unit_currency.exponent());
        let unit_amount = rounded.over(units).figure("pay-in-advance unit_amount")?;
        let details = step_details(&with_out.details, &without_out.details)?;
        let priced = Priced {
            amount: delta,
            unit_amount,
        };
        let money = fee::money(&priced, self.currency, self.pricing_unit.as_ref())?;
        let taxes = fee::taxes(&self.taxes, money.amount_cents, money.precise_amount_cents)?;
        Ok(Fee::new(
            &self.echo,
            (units, 1),
            money,
            taxes,
            details,
            true,
        ))
    }

    /// The usage before `event`: `with` less the event's units, count,
    /// value and price, after checking that `with` can include it.
    fn without(&self, with: &Usage, event: &Event) -> Result<Usage, RateError> {
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
        let mut without = Usage::new(with.units.minus(contribution).figure(WHAT)?)
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
            without.precise_total_amount_cents = Some(pt.minus(own).figure(WHAT)?);
        }
        Ok(without)
    }

    /// The fee for going from `before` to `after` usage of the default
    /// bucket, as a pay-in-advance event of `after.units − before.units`
    /// units would be billed: callers never subtract by hand.
    ///
    /// ```
    /// use meterprice::{Charge, ChargeModel, Currency, Exact, Package, Usage};
    /// let d = |t: &str| t.parse::<Exact>().unwrap();
    /// let eur = Currency::from_code("EUR").unwrap();
    /// let package = ChargeModel::Package(Package::try_new(d("10"), 100, 0)?);
    /// let charge = Charge::builder(eur, package).pay_in_advance(true).build()?;
    /// let before = Usage::new(d("90")).with_events_count(3);
    /// // 90 → 130 units starts a second package of 100: 10 EUR.
    /// let fee = charge.price_step(&before, &Usage::new(d("130")))?;
    /// assert_eq!((fee.units, fee.amount_cents), (d("40"), 1000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Charge::rate_event`].
    pub fn price_step(&self, before: &Usage, after: &Usage) -> Result<Fee, RateError> {
        let value = after
            .units
            .minus(before.units)
            .figure("pay-in-advance step")?;
        let mut with = after.clone();
        with.events_count = before.events_count.saturating_add(1);
        if !with.event_values.is_empty() || !before.event_values.is_empty() {
            with.event_values = before.event_values.clone();
            with.event_values.push(value);
        }
        self.step(&self.model, &with, &Event::new(value))
    }
}

/// In-advance amount details: "with" minus "without" (§5, Q26 kept, M4).
fn step_details(
    with: &AmountDetails,
    without: &AmountDetails,
) -> Result<AmountDetails, ArithmeticError> {
    let details = match (with, without) {
        (AmountDetails::Percentage(w), AmountDetails::Percentage(o)) => {
            percentage_step(w, o).map(|p| AmountDetails::Percentage(Box::new(p)))
        }
        (AmountDetails::GraduatedPercentage(w), AmountDetails::GraduatedPercentage(o)) => {
            let lines: Result<Vec<_>, _> = w.iter().map(|line| rate_line_step(line, o)).collect();
            lines.map(AmountDetails::GraduatedPercentage)
        }
        _ => Ok(AmountDetails::Empty),
    };
    details.figure("pay-in-advance amount_details")
}

/// A percentage step: each figure with minus without.
fn percentage_step(
    w: &PercentageDetails,
    o: &PercentageDetails,
) -> Result<PercentageDetails, Overflow> {
    let units = w.units.minus(o.units)?;
    let paid_units = w.paid_units.minus(o.paid_units)?;
    let adjustment = w.min_max_adjustment_total_amount;
    Ok(PercentageDetails {
        units,
        free_units: units.minus(paid_units)?,
        free_events: w.free_events.saturating_sub(o.free_events),
        paid_units,
        rate: w.rate,
        per_unit_total_amount: w.per_unit_total_amount.minus(o.per_unit_total_amount)?,
        paid_events: w.paid_events.saturating_sub(o.paid_events),
        fixed_fee_unit_amount: w.fixed_fee_unit_amount,
        fixed_fee_total_amount: w.fixed_fee_total_amount.minus(o.fixed_fee_total_amount)?,
        min_max_adjustment_total_amount: adjustment.minus(o.min_max_adjustment_total_amount)?,
    })
}

/// A graduated-percentage tier's step: the with-minus-without of the same
/// tier, its per-unit figure the average per unit including the flat part,
/// rounded once to 2 places (Q26).
fn rate_line_step(
    line: &GraduatedPercentageLine,
    without: &[GraduatedPercentageLine],
) -> Result<GraduatedPercentageLine, Overflow> {
    let other = without
        .iter()
        .find(|l| l.from_value == line.from_value && l.to_value == line.to_value);
    let (flat, units, total) = other.map_or((Exact::ZERO, Exact::ZERO, Exact::ZERO), |l| {
        (l.flat_unit_amount, l.units, l.total_with_flat_amount)
    });
    let units = line.units.minus(units)?;
    let total = line.total_with_flat_amount.minus(total)?;
    let average = if units > Exact::ZERO {
        total.over_rounded(units, 2)?
    } else {
        Exact::ZERO
    };
    Ok(GraduatedPercentageLine {
        from_value: line.from_value,
        to_value: line.to_value,
        flat_unit_amount: line.flat_unit_amount.minus(flat)?,
        rate: line.rate,
        units,
        per_unit_total_amount: average,
        total_with_flat_amount: total,
    })
}
