//! The aggregated usage of one bucket for one billing period.

use crate::exact::Exact;

/// What the aggregation of a billing period gives the engine for one bucket
/// (one filter × group). meterprice does not aggregate events itself.
///
/// ```
/// use meterprice::{Exact, Usage};
/// let u = Usage::new(Exact::from(12u32)).with_events_count(3);
/// assert_eq!(u.units, "12.0".parse::<Exact>()?);
/// # Ok::<(), meterprice::ParseExactError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Usage {
    /// Aggregated units (may be zero or negative).
    pub units: Exact,
    /// Number of events.
    pub events_count: u64,
    /// Per-event values in time order (percentage free units and
    /// per-transaction min/max; prorated graduated full values).
    pub event_values: Vec<Exact>,
    /// Per-event prorated values, aligned with `event_values` (prorated
    /// graduated).
    pub prorated_event_values: Vec<Exact>,
    /// Units without proration (prorated charges).
    pub full_units_number: Option<Exact>,
    /// Sum of the events' prices in minor units (dynamic).
    pub precise_total_amount_cents: Option<Exact>,
}

impl Usage {
    /// Usage of `units` with nothing else known.
    pub fn new(units: Exact) -> Self {
        Self {
            units,
            ..Self::default()
        }
    }

    /// Sets the number of events.
    #[must_use]
    pub fn with_events_count(mut self, events_count: u64) -> Self {
        self.events_count = events_count;
        self
    }

    /// Sets the per-event values, in time order.
    #[must_use]
    pub fn with_event_values(mut self, values: Vec<Exact>) -> Self {
        self.event_values = values;
        self
    }

    /// Sets the per-event prorated values, aligned with the event values.
    #[must_use]
    pub fn with_prorated_event_values(mut self, values: Vec<Exact>) -> Self {
        self.prorated_event_values = values;
        self
    }

    /// Sets the unprorated units.
    #[must_use]
    pub fn with_full_units_number(mut self, full: Exact) -> Self {
        self.full_units_number = Some(full);
        self
    }

    /// Sets the events' summed price in minor units (dynamic).
    #[must_use]
    pub fn with_precise_total_amount_cents(mut self, cents: Exact) -> Self {
        self.precise_total_amount_cents = Some(cents);
        self
    }

    /// `full_units_number`, else `units`: the divisor of unit amounts.
    pub(crate) fn full_or_units(&self) -> Exact {
        self.full_units_number.unwrap_or(self.units)
    }
}
