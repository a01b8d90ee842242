//! What an aggregation gives (§13, §16): per (bucket, group) the fields
//! pricing reads, convertible into the [`Bucket`] that [`crate::Charge::rate`]
//! prices, and a pay-in-advance step into the [`Event`] of
//! [`crate::Charge::rate_event`].

use crate::aggregate::event::{RejectedEvent, Warning};
use crate::aggregate::filters::{BucketId, FilterValues};
use crate::aggregate::spec::{CachedAggregation, GroupLabel};
use crate::exact::{Exact, Figure};
use crate::plan::AggregationType;
use crate::rate::{Bucket, Event};
use crate::usage::Usage;

/// One pay-in-advance step (A57): what the event adds, and the state it
/// leaves for the next one (A58).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InAdvanceStep {
    /// The units the event bills (prorated for a prorated charge).
    pub pay_in_advance_aggregation: Exact,
    /// Lago's `units_applied` (`None` where Lago leaves it unset: an
    /// event that raised the maximum, or a count).
    pub units_applied: Option<Exact>,
    /// The event's own price in minor units (dynamic).
    pub pay_in_advance_precise_total_amount_cents: Option<Exact>,
    /// The non-prorated units of the step (prorated charges).
    pub full_units: Exact,
    /// The cached aggregation the event writes (`None` for a count, or
    /// an event without properties).
    pub cached_aggregation: Option<CachedAggregation>,
    /// Whether the event is one of the events (else an estimate).
    pub persisted: bool,
}

/// Units of one `presentation_by` combination (U10): display only, never
/// priced. An aggregation gives them per (bucket, group) when the charge
/// has `presentation_group_keys` (`docs/usage-json.md`, C14).
///
/// ```
/// use meterprice::PresentationBreakdown;
/// let b = PresentationBreakdown::new(vec![("region".into(), None)], "8".parse()?);
/// assert_eq!(b.units.to_string(), "8");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresentationBreakdown {
    /// Each presentation key with its value (`None`: null, missing or
    /// `""`).
    pub presentation_by: GroupLabel,
    /// The units of that combination.
    pub units: Exact,
}

impl PresentationBreakdown {
    /// A breakdown of `units` for this combination.
    pub fn new(presentation_by: GroupLabel, units: Exact) -> Self {
        Self {
            presentation_by,
            units,
        }
    }
}

/// The aggregation of one (bucket, group), with the §16 fields.
///
/// Optional fields are present exactly when usage-json.md asks for them:
/// `current_usage_units` for current usage; `full_units_number` and
/// `prorated_event_values` for a prorated charge; `event_values` for a
/// prorated or percentage charge or a `per_event` request; `running_total`
/// for a percentage charge or given free units; `precise_total_amount_cents`
/// for a dynamic charge; `total_aggregated_units` and `variation` for a
/// weighted sum; `in_advance` for a pay-in-advance event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketResult {
    /// Which bucket.
    pub bucket: BucketId,
    /// The charge filter's values as given (filter buckets).
    pub filter: Option<FilterValues>,
    /// The group label (grouped buckets).
    pub grouped_by: Option<GroupLabel>,
    /// The aggregated units (after A55 rounding).
    pub aggregation: Exact,
    /// Lago's `count` (A41): events, or the (prorated) unique count.
    pub count: Exact,
    /// Units shown in current usage (A48, A59).
    pub current_usage_units: Option<Exact>,
    /// Units without proration (A45, A46).
    pub full_units_number: Option<Exact>,
    /// Per-event values in time order (A49, A53).
    pub event_values: Option<Vec<Exact>>,
    /// Per-event prorated values (A49).
    pub prorated_event_values: Option<Vec<Exact>>,
    /// Cumulative totals free units read (A51, A52).
    pub running_total: Option<Vec<Exact>>,
    /// Σ of the events' prices in minor units (A54).
    pub precise_total_amount_cents: Option<Exact>,
    /// A weighted sum's total (A38).
    pub total_aggregated_units: Option<Exact>,
    /// A weighted sum's Σ values of the period (A38).
    pub variation: Option<Exact>,
    /// The pay-in-advance step, when aggregating for one event.
    pub in_advance: Option<InAdvanceStep>,
    /// The group's units per combination of the charge's presentation
    /// keys (U10, C14), in C1's order of their labels; empty without keys.
    pub presentation_breakdowns: Vec<PresentationBreakdown>,
    pub(crate) kind: AggregationType,
    pub(crate) prorated: bool,
    pub(crate) pay_in_advance: bool,
}

impl BucketResult {
    /// The aggregation type.
    pub fn aggregation_type(&self) -> AggregationType {
        self.kind
    }

    /// `events_count` as a fee holds it: the count truncated to an
    /// integer (QA10), never below 0.
    pub fn events_count(&self) -> u64 {
        self.count
            .trunc()
            .to_i128()
            .and_then(|c| u64::try_from(c).ok())
            .unwrap_or(0)
    }

    /// The units of the bucket's fee (usage.md U4): `current_usage_units`
    /// for a pay-in-advance or prorated charge when present, else the
    /// aggregation.
    pub fn units(&self) -> Exact {
        match self.current_usage_units {
            Some(u) if self.pay_in_advance || self.prorated => u,
            _ => self.aggregation,
        }
    }

    /// The usage [`crate::Charge::rate`] prices: units = the aggregation,
    /// with the count, per-event values, unprorated units and prices.
    pub fn usage(&self) -> Usage {
        self.usage_with(
            self.event_values.clone(),
            self.prorated_event_values.clone(),
        )
    }

    /// [`BucketResult::usage`], its per-event lists moved out rather
    /// than copied.
    pub(crate) fn take_usage(&mut self) -> Usage {
        let (values, prorated) = (self.event_values.take(), self.prorated_event_values.take());
        self.usage_with(values, prorated)
    }

    fn usage_with(
        &self,
        event_values: Option<Vec<Exact>>,
        prorated_event_values: Option<Vec<Exact>>,
    ) -> Usage {
        let mut u = Usage::new(self.aggregation).with_events_count(self.events_count());
        if let Some(v) = event_values {
            u = u.with_event_values(v);
        }
        if let Some(v) = prorated_event_values {
            u = u.with_prorated_event_values(v);
        }
        let full = if self.prorated {
            self.current_usage_units.or(self.full_units_number)
        } else {
            None
        };
        if let Some(f) = full {
            u = u.with_full_units_number(f);
        }
        if let Some(p) = self.precise_total_amount_cents {
            u = u.with_precise_total_amount_cents(p);
        }
        u
    }

    /// The pay-in-advance event as [`crate::Charge::rate_event`] takes it,
    /// with [`BucketResult::step_bucket`].
    pub fn step_event(&self) -> Option<Event> {
        let s = self.in_advance.as_ref()?;
        let mut e = Event::new(if self.prorated {
            s.full_units
        } else {
            s.pay_in_advance_aggregation
        });
        if self.prorated {
            e.prorated_value = Some(s.pay_in_advance_aggregation);
        }
        e.precise_total_amount_cents = s.pay_in_advance_precise_total_amount_cents;
        Some(e)
    }

    /// The bucket including the event: for an estimate (not persisted),
    /// the aggregation plus the step, one more event (Lago's
    /// `amount_including_non_persisted_event`).
    pub fn step_bucket(&self) -> Option<Bucket> {
        let s = self.in_advance.as_ref()?;
        let mut b = Bucket::from(self);
        if !s.persisted {
            b.usage.units = b
                .usage
                .units
                .plus(s.pay_in_advance_aggregation)
                .figure("step")
                .unwrap_or(b.usage.units);
            b.usage.events_count += 1;
            if let (Some(p), Some(own)) = (
                b.usage.precise_total_amount_cents,
                s.pay_in_advance_precise_total_amount_cents,
            ) {
                b.usage.precise_total_amount_cents = p.plus(own).figure("step").ok().or(Some(p));
            }
        }
        Some(b)
    }
}

/// A [`BucketResult`] as the bucket [`crate::Charge::rate`] prices.
impl From<&BucketResult> for Bucket {
    fn from(r: &BucketResult) -> Self {
        let mut b = Bucket::new(r.usage());
        if let Some(f) = &r.filter {
            b = b.with_filter(f.clone());
        }
        if let Some(g) = &r.grouped_by {
            b = b.with_group(g.clone());
        }
        b
    }
}

/// Everything one aggregation gives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AggregationResult {
    /// Per (bucket, group): filter buckets in order, then the default
    /// bucket; groups by label (C1).
    pub buckets: Vec<BucketResult>,
    /// Warnings (AD4 overlaps, other metric codes).
    pub warnings: Vec<Warning>,
    /// Events that could not count, by input order.
    pub rejected_events: Vec<RejectedEvent>,
}

impl AggregationResult {
    /// The buckets as [`crate::Charge::rate`] takes them.
    ///
    /// ```
    /// # use meterprice::*;
    /// # fn demo(result: &AggregationResult, charge: &Charge) -> Result<(), RateError> {
    /// let fees = charge.rate(&result.rate_buckets(), &Period::full(31))?;
    /// # Ok(()) }
    /// ```
    pub fn rate_buckets(&self) -> Vec<Bucket> {
        self.buckets.iter().map(Bucket::from).collect()
    }
}
