//! `percentage`: a rate on the units, with free units, a fixed fee per
//! event and per-transaction bounds.

use super::ModelOutcome;
use crate::details::{AmountDetails, PercentageDetails};
use crate::error::{ArithmeticError, ValidationError};
use crate::exact::{Exact, Figure, Overflow};
use crate::rules::{self, Violations};
use crate::usage::Usage;

/// A percentage of the units (semantics.md §2.5, with M5 and M6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Percentage {
    pub(crate) rate: Exact,
    pub(crate) fixed_amount: Exact,
    /// `free_units_per_events`; `None` when not set (absent, null or 0).
    pub(crate) free_units_per_events: Option<u64>,
    /// `free_units_per_total_aggregation`; `None` when not set (absent,
    /// null, blank or 0).
    pub(crate) free_units_per_total_aggregation: Option<Exact>,
    pub(crate) per_transaction_min_amount: Option<Exact>,
    pub(crate) per_transaction_max_amount: Option<Exact>,
}

/// Builds a [`Percentage`]: the rate, then what the charge adds to it.
///
/// ```
/// use meterprice::{ChargeModel, Currency, Exact, Percentage, Usage};
/// let d = |t: &str| t.parse::<Exact>().unwrap();
/// let pct = Percentage::builder(d("2.99"))
///     .per_transaction_min_amount(d("1.75"))
///     .per_transaction_max_amount(d("12"))
///     .build()?;
/// let usage = Usage::new(d("10090")).with_events_count(3)
///     .with_event_values(vec![d("10"), d("80"), d("10000")]);
/// let eur = Currency::from_code("EUR").unwrap();
/// // max(0.299, 1.75) + 2.392 + min(299, 12)
/// assert_eq!(ChargeModel::Percentage(pct).apply(&usage, eur)?.amount, d("16.142"));
///
/// // Every broken rule at once, with Lago's fields and codes.
/// let e = Percentage::builder(d("-1"))
///     .per_transaction_min_amount(d("5"))
///     .per_transaction_max_amount(d("1"))
///     .build()
///     .unwrap_err();
/// let codes: Vec<&str> = e.violations.iter().map(|v| v.code).collect();
/// assert_eq!(codes, ["invalid_rate", "per_transaction_max_lower_than_per_transaction_min"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct PercentageBuilder {
    rate: Exact,
    fixed_amount: Exact,
    free_units_per_events: Option<u64>,
    free_units_per_total_aggregation: Option<Exact>,
    per_transaction_min_amount: Option<Exact>,
    per_transaction_max_amount: Option<Exact>,
}

impl PercentageBuilder {
    /// A fixed fee per paying event (default 0).
    pub fn fixed_amount(mut self, amount: Exact) -> Self {
        self.fixed_amount = amount;
        self
    }

    /// The first `n` events are free (`n > 0`).
    pub fn free_units_per_events(mut self, n: u64) -> Self {
        self.free_units_per_events = Some(n);
        self
    }

    /// The first `units` units are free (0 counts as not set, as in Lago).
    pub fn free_units_per_total_aggregation(mut self, units: Exact) -> Self {
        self.free_units_per_total_aggregation = Some(units);
        self
    }

    /// The least a paying event costs (M6).
    pub fn per_transaction_min_amount(mut self, amount: Exact) -> Self {
        self.per_transaction_min_amount = Some(amount);
        self
    }

    /// The most a paying event costs (M6).
    pub fn per_transaction_max_amount(mut self, amount: Exact) -> Self {
        self.per_transaction_max_amount = Some(amount);
        self
    }

    /// The model, checked as Lago checks a percentage charge (§8.3): every
    /// amount and the rate at least 0, `free_units_per_events` above 0, and
    /// the maximum not below the minimum.
    ///
    /// # Errors
    /// [`ValidationError`] with every violation.
    pub fn build(self) -> Result<Percentage, ValidationError> {
        let mut found = Violations::default();
        let amount = |v: Exact, field: &str, code| rules::typed_amount(v, field, code);
        let rate = found.check(amount(self.rate, "rate", "invalid_rate"));
        let fixed = found.check(amount(
            self.fixed_amount,
            "fixed_amount",
            "invalid_fixed_amount",
        ));
        let n = match self.free_units_per_events {
            None => Some(None),
            Some(n) => found
                .check(rules::positive_count(
                    Some(i128::from(n)),
                    "free_units_per_events",
                    "invalid_free_units_per_events",
                    &"free_units_per_events",
                    &n,
                ))
                .map(Some),
        };
        let t = match self.free_units_per_total_aggregation {
            None => Some(None),
            Some(t) => {
                let code = "invalid_free_units_per_total_aggregation";
                let field = "free_units_per_total_aggregation";
                found
                    .check(amount(t, field, code))
                    .map(|t| (!t.is_zero()).then_some(t))
            }
        };
        let (lo, hi) = (
            self.per_transaction_min_amount,
            self.per_transaction_max_amount,
        );
        let bound = |v: Option<Exact>, field: &str| {
            v.map(|v| amount(v, field, "invalid_amount")).transpose()
        };
        let min = found.check(bound(lo, "per_transaction_min_amount"));
        let max = found.check(bound(hi, "per_transaction_max_amount"));
        let ordered = found.check(rules::per_transaction_bounds(lo, hi, ""));
        let model = (|| {
            ordered?;
            Some(Percentage {
                rate: rate?,
                fixed_amount: fixed?,
                free_units_per_events: n?,
                free_units_per_total_aggregation: t?,
                per_transaction_min_amount: min?,
                per_transaction_max_amount: max?,
            })
        })();
        found.finish(model)
    }
}

impl Percentage {
    /// Starts a percentage model of `rate` percent (`1.3` = 1.3 %); see
    /// [`PercentageBuilder`].
    pub fn builder(rate: Exact) -> PercentageBuilder {
        PercentageBuilder {
            rate,
            fixed_amount: Exact::ZERO,
            free_units_per_events: None,
            free_units_per_total_aggregation: None,
            per_transaction_min_amount: None,
            per_transaction_max_amount: None,
        }
    }

    /// Rate in percent (`1.3` = 1.3 %).
    pub fn rate(&self) -> Exact {
        self.rate
    }

    /// Fixed fee per paying event.
    pub fn fixed_amount(&self) -> Exact {
        self.fixed_amount
    }

    /// `free_units_per_events`: the first N events are free (`None`: not set).
    pub fn free_units_per_events(&self) -> Option<u64> {
        self.free_units_per_events
    }

    /// `free_units_per_total_aggregation`: the first T units are free
    /// (`None`: not set, blank or 0).
    pub fn free_units_per_total_aggregation(&self) -> Option<Exact> {
        self.free_units_per_total_aggregation
    }

    /// The per-transaction minimum (`None`: not set or blank).
    pub fn per_transaction_min_amount(&self) -> Option<Exact> {
        self.per_transaction_min_amount
    }

    /// The per-transaction maximum (`None`: not set or blank).
    pub fn per_transaction_max_amount(&self) -> Option<Exact> {
        self.per_transaction_max_amount
    }

    /// Whether the per-transaction min/max path prices the events (M6: set
    /// bounds always apply).
    fn per_transaction(&self) -> bool {
        self.per_transaction_min_amount.is_some() || self.per_transaction_max_amount.is_some()
    }

    /// Whether pricing reads each event's value: free units (N or T) or
    /// per-transaction bounds. Without `event_values` such a charge would
    /// price events it cannot see as free or unbounded.
    pub(crate) fn reads_event_values(&self) -> bool {
        self.per_transaction()
            || self.free_units_per_events.is_some()
            || self.free_units_per_total_aggregation.is_some()
    }

    /// The cumulative totals the free-unit rules read (conformance README):
    /// with N set, the sums of the first N events; otherwise, with T set,
    /// sums while the total before the event is ≤ T.
    pub(crate) fn running_total(&self, values: &[Exact]) -> Result<Vec<Exact>, ArithmeticError> {
        let mut out = Vec::new();
        let mut acc = Exact::ZERO;
        let total = |acc: Exact, v: Exact| acc.plus(v).figure("percentage running total");
        if let Some(n) = self.free_units_per_events {
            for v in values.iter().take(usize::try_from(n).unwrap_or(usize::MAX)) {
                acc = total(acc, *v)?;
                out.push(acc);
            }
        } else if let Some(t) = self.free_units_per_total_aggregation {
            for v in values {
                if acc > t {
                    break;
                }
                acc = total(acc, *v)?;
                out.push(acc);
            }
        }
        Ok(out)
    }

    /// The free units and the free events the running totals give (the
    /// conformance README's rules; Q12 kept: an event that exactly uses up
    /// T is paid).
    fn free(&self, rt: &[Exact]) -> (Exact, u64) {
        let n = self.free_units_per_events.unwrap_or(0);
        let t = self.free_units_per_total_aggregation.unwrap_or(Exact::ZERO);
        let last = rt.last().copied().unwrap_or(Exact::ZERO);
        let free_value = if last.is_zero() {
            Exact::ZERO
        } else if t.is_zero() || last <= t {
            last
        } else {
            t
        };
        let under_t = rt.iter().filter(|e| **e < t).count() as u64;
        let free_count = match (n, under_t) {
            (0, c) => c,
            (n, 0) => n,
            (n, c) => n.min(c),
        };
        (free_value, free_count)
    }

    /// Prices `usage`. `running_total` is the one computed from the "with"
    /// side's events, which Lago reuses on the "without" side of a
    /// pay-in-advance event; `None` computes it from `usage.event_values`.
    pub(crate) fn apply(
        &self,
        usage: &Usage,
        running_total: Option<&[Exact]>,
    ) -> Result<ModelOutcome, ArithmeticError> {
        let own;
        let rt = match running_total {
            Some(rt) => rt,
            None => {
                own = self.running_total(&usage.event_values)?;
                &own
            }
        };
        let (free_value, free_count) = self.free(rt);
        let details = self
            .details(usage, free_value, free_count)
            .figure("percentage amount")?;
        let amount = if self.per_transaction() {
            self.per_transaction_total(&usage.event_values)
                .figure("percentage per-transaction amount")?
        } else {
            details
                .per_unit_total_amount
                .plus(details.fixed_fee_total_amount)
                .figure("percentage amount")?
        };
        let unit_amount = amount
            .over(usage.full_or_units())
            .figure("percentage unit_amount")?;
        let mut details = details;
        if self.per_transaction() {
            // What the per-transaction bounds added or removed.
            details.min_max_adjustment_total_amount = amount
                .minus(details.per_unit_total_amount)
                .and_then(|x| x.minus(details.fixed_fee_total_amount))
                .figure("percentage amount")?;
        }
        Ok(ModelOutcome {
            amount,
            unit_amount,
            details: AmountDetails::Percentage(Box::new(details)),
        })
    }

    /// The details of `usage` with these free units and events: the rate
    /// on the paid units, the fixed fees of the paid events.
    fn details(
        &self,
        usage: &Usage,
        free_value: Exact,
        free_count: u64,
    ) -> Result<PercentageDetails, Overflow> {
        let (units, count) = (usage.units, usage.events_count);
        let percentage_amount = if free_value > units {
            Exact::ZERO
        } else {
            units.minus(free_value)?.times(self.rate)?.percent()?
        };
        let fixed_total = if units.is_zero() || free_count >= count {
            Exact::ZERO
        } else {
            Exact::from(count - free_count).times(self.fixed_amount)?
        };
        let free_events = count.min(free_count);
        let paid_events = count - free_events;
        Ok(PercentageDetails {
            units,
            free_units: free_value,
            free_events: clamp_i64(free_events),
            paid_units: units.minus(free_value)?.max(Exact::ZERO),
            rate: self.rate,
            per_unit_total_amount: percentage_amount,
            paid_events: clamp_i64(paid_events),
            fixed_fee_unit_amount: if paid_events > 0 {
                self.fixed_amount
            } else {
                Exact::ZERO
            },
            fixed_fee_total_amount: fixed_total,
            min_max_adjustment_total_amount: Exact::ZERO,
        })
    }

    /// The per-transaction path with one free allowance (M5): while free
    /// events remain and the event fits in the free units left, it is free;
    /// the first that does not fit pays for what exceeds them; every later
    /// event pays in full. Each paying event costs
    /// `clamp(value × rate / 100 + fixed, min, max)`.
    fn per_transaction_total(&self, values: &[Exact]) -> Result<Exact, Overflow> {
        let mut free_events = self.free_units_per_events;
        let mut free_units = self.free_units_per_total_aggregation;
        let mut free_phase = free_events.is_some() || free_units.is_some();
        let mut total = Exact::ZERO;
        for &value in values {
            let mut paid = value;
            if free_phase {
                let fits = free_units.is_none_or(|r| value < r);
                if fits {
                    if let Some(e) = free_events.as_mut() {
                        *e -= 1;
                        free_phase = *e > 0;
                    }
                    if let Some(r) = free_units.as_mut() {
                        *r = r.minus(value)?;
                    }
                    continue;
                }
                paid = value.minus(free_units.unwrap_or(Exact::ZERO))?;
                free_phase = false;
            }
            let mut x = paid.times(self.rate)?.percent()?.plus(self.fixed_amount)?;
            if let Some(min) = self.per_transaction_min_amount.filter(|m| x < *m) {
                x = min;
            } else if let Some(max) = self.per_transaction_max_amount.filter(|m| x > *m) {
                x = max;
            }
            total = total.plus(x)?;
        }
        Ok(total)
    }
}

fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
