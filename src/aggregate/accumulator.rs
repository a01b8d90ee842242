//! One accumulator per aggregation type (§7): `update` with one event's
//! value, `merge` two partial states (events split any way, in any
//! order), `finish` into the type's result. Values come from
//! [`crate::numeric_value`] (A13, AD1); ties of order-dependent types are
//! broken by [`EventOrder`] (AD2).
//!
//! ```
//! use meterprice::{EventOrder, SumAcc, Timestamp, UniqueCountAcc};
//! let mut a = SumAcc::default();
//! a.update("2.5".parse()?)?;
//! let mut b = SumAcc::default();
//! b.update("-1".parse()?)?;
//! a.merge(&b)?;
//! assert_eq!(a.finish(), ("1.5".parse()?, 2));
//!
//! let t = Timestamp::parse("2024-03-01T00:00:00Z")?;
//! let mut u = UniqueCountAcc::default();
//! u.update(Some("seat-1"), EventOrder::new(t, 0), true);
//! u.update(Some("seat-2"), EventOrder::new(t, 1), true);
//! u.update(Some("seat-1"), EventOrder::new(t, 2), false); // removed
//! assert_eq!(u.finish(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::aggregate::fast_lookup::LastOps;
use crate::aggregate::time::{BillingPeriod, Timestamp};
use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure};

/// Where an event stands in time: its timestamp, then its input order
/// (ingestion order, AD2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventOrder {
    /// The event's timestamp.
    pub timestamp: Timestamp,
    /// Its position in the input.
    pub seq: u64,
}

impl EventOrder {
    /// The order of event number `seq` at `timestamp`.
    pub fn new(timestamp: Timestamp, seq: u64) -> Self {
        Self { timestamp, seq }
    }
}

/// `count_agg` (A33): the events in scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountAcc {
    events: u64,
}

impl CountAcc {
    /// One more event.
    pub fn update(&mut self) {
        self.events += 1;
    }

    /// Adds another partial count.
    pub fn merge(&mut self, other: &Self) {
        self.events += other.events;
    }

    /// The count (aggregation and events_count).
    pub fn finish(&self) -> u64 {
        self.events
    }

    /// A partial count from its state ([`CountAcc::finish`]), e.g. one an
    /// engine shipped between partitions.
    pub fn from_state(events: u64) -> Self {
        Self { events }
    }
}

/// `sum_agg` (A34): the exact sum and the events counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SumAcc {
    sum: Exact,
    events: u64,
}

impl SumAcc {
    /// Adds one event's value.
    ///
    /// # Errors
    /// [`ArithmeticError`] when the sum reaches 2^96.
    #[inline]
    pub fn update(&mut self, value: Exact) -> Result<(), ArithmeticError> {
        // Most groups of a billing run take one event: 0 + v is v itself
        // (scale max(0, s) = s), without the addition.
        self.sum = match self.sum.is_identical(&Exact::ZERO) {
            true => value,
            false => self.sum.plus(value).figure("sum")?,
        };
        self.events += 1;
        Ok(())
    }

    /// Adds another partial sum.
    ///
    /// # Errors
    /// As [`SumAcc::update`].
    pub fn merge(&mut self, other: &Self) -> Result<(), ArithmeticError> {
        self.sum = self.sum.plus(other.sum).figure("sum")?;
        self.events += other.events;
        Ok(())
    }

    /// `(sum, events_count)`; 0 for no event.
    pub fn finish(&self) -> (Exact, u64) {
        (self.sum, self.events)
    }

    /// A partial sum from its state ([`SumAcc::finish`]).
    pub fn from_state(sum: Exact, events: u64) -> Self {
        Self { sum, events }
    }
}

/// `max_agg` (A35): the largest value (negative maxima stay negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxAcc {
    max: Option<Exact>,
    events: u64,
}

impl MaxAcc {
    /// One event's value.
    pub fn update(&mut self, value: Exact) {
        self.max = Some(self.max.map_or(value, |m| m.max(value)));
        self.events += 1;
    }

    /// Takes in another partial maximum.
    pub fn merge(&mut self, other: &Self) {
        if let Some(v) = other.max {
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
        self.events += other.events;
    }

    /// `(max, events_count)`; 0 for no event.
    pub fn finish(&self) -> (Exact, u64) {
        (self.max.unwrap_or(Exact::ZERO), self.events)
    }

    /// The state: the maximum so far (`None`: no event) and the count.
    pub fn state(&self) -> (Option<Exact>, u64) {
        (self.max, self.events)
    }

    /// A partial maximum from its [`MaxAcc::state`].
    pub fn from_state(max: Option<Exact>, events: u64) -> Self {
        Self { max, events }
    }
}

/// `latest_agg` (A36): the value of the last event in [`EventOrder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatestAcc {
    latest: Option<(EventOrder, Exact)>,
    events: u64,
}

impl LatestAcc {
    /// One event's value at `order`.
    pub fn update(&mut self, order: EventOrder, value: Exact) {
        if self.latest.is_none_or(|(o, _)| order > o) {
            self.latest = Some((order, value));
        }
        self.events += 1;
    }

    /// Takes in another partial state.
    pub fn merge(&mut self, other: &Self) {
        if let Some((o, v)) = other.latest
            && self.latest.is_none_or(|(mine, _)| o > mine)
        {
            self.latest = Some((o, v));
        }
        self.events += other.events;
    }

    /// `(max(last value, 0), events_count)`; 0 for no event.
    pub fn finish(&self) -> (Exact, u64) {
        let v = self.latest.map_or(Exact::ZERO, |(_, v)| v);
        (v.max(Exact::ZERO), self.events)
    }

    /// The state: the last event's order and value so far, and the count.
    pub fn state(&self) -> (Option<(EventOrder, Exact)>, u64) {
        (self.latest, self.events)
    }

    /// A partial state from its [`LatestAcc::state`].
    pub fn from_state(latest: Option<(EventOrder, Exact)>, events: u64) -> Self {
        Self { latest, events }
    }
}

/// `unique_count_agg` (A37): per property value, its last operation in
/// [`EventOrder`]; the count is the values whose last operation is an
/// add (Σ of A37's `adj`, which telescopes to exactly that). A missing
/// field is one value of its own (QA7).
#[derive(Debug, Clone, Default)]
pub struct UniqueCountAcc {
    ops: LastOps<Box<str>>,
}

impl UniqueCountAcc {
    /// One event: its property text (`None`: missing or `null`), order
    /// and whether it adds (`operation_type` missing, `null` or `"add"`)
    /// or removes (anything else, QA7).
    pub fn update(&mut self, property: Option<&str>, order: EventOrder, add: bool) {
        self.ops
            .update(property, order, add, |p: &str| Box::from(p));
    }

    /// Takes in another partial state.
    pub fn merge(&mut self, other: &Self) {
        for (k, (o, add)) in other.ops.entries() {
            self.ops
                .update(k.map(|k| &**k), o, add, |p: &str| Box::from(p));
        }
    }

    /// The number of values whose last operation is an add.
    pub fn finish(&self) -> u64 {
        self.ops.adds()
    }

    /// How many distinct values (the missing one included) the state
    /// holds, added or removed: what an engine accounts its memory by.
    ///
    /// ```
    /// use meterprice::{EventOrder, Timestamp, UniqueCountAcc};
    /// let t = Timestamp::parse("2024-03-01T00:00:00Z")?;
    /// let mut u = UniqueCountAcc::default();
    /// u.update(Some("a"), EventOrder::new(t, 0), true);
    /// u.update(Some("a"), EventOrder::new(t, 1), false);
    /// u.update(None, EventOrder::new(t, 2), true);
    /// assert_eq!((u.values(), u.finish()), (2, 1));
    /// # Ok::<(), meterprice::TimestampError>(())
    /// ```
    pub fn values(&self) -> usize {
        self.ops.len()
    }

    /// The state: each value's last operation (order, adds); feeding them
    /// to [`UniqueCountAcc::update`] of another accumulator merges.
    pub fn state(&self) -> impl Iterator<Item = (Option<&str>, EventOrder, bool)> {
        self.ops
            .entries()
            .map(|(k, (o, add))| (k.map(|k| &**k), o, add))
    }
}

/// `weighted_sum_agg` (A38): Σ value × seconds active until the end of
/// the period, which equals A38's sum over rows of the cumulative value
/// times the time to the next row; so the events need no order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightedSumAcc {
    end: Timestamp,
    value_seconds: Exact,
    variation: Exact,
    events: u64,
}

/// A finished weighted sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WeightedSum {
    /// `ceil(Σ cumulative × seconds / (duration × 86400), 20)`.
    pub aggregation: Exact,
    /// Σ values of the period's events.
    pub variation: Exact,
    /// Events counted.
    pub events: u64,
}

/// `b − a` in seconds, exactly (microseconds at scale 6).
fn seconds_between(a: Timestamp, b: Timestamp) -> Exact {
    Exact::from_small(b.micros() - a.micros(), 6)
}

impl WeightedSumAcc {
    /// An empty sum whose rows end at `end` (`ceil_s(to)`).
    pub fn new(end: Timestamp) -> Self {
        Self {
            end,
            value_seconds: Exact::ZERO,
            variation: Exact::ZERO,
            events: 0,
        }
    }

    /// One event's value at `timestamp` (not after `end`).
    ///
    /// # Errors
    /// [`ArithmeticError`] when a figure reaches 2^96.
    pub fn update(&mut self, timestamp: Timestamp, value: Exact) -> Result<(), ArithmeticError> {
        const WHAT: &str = "weighted sum";
        let active = seconds_between(timestamp.min(self.end), self.end);
        let weighted = value.times(active).figure(WHAT)?;
        self.value_seconds = self.value_seconds.plus(weighted).figure(WHAT)?;
        self.variation = self.variation.plus(value).figure(WHAT)?;
        self.events += 1;
        Ok(())
    }

    /// Takes in another partial sum over the same period.
    ///
    /// # Errors
    /// As [`WeightedSumAcc::update`].
    pub fn merge(&mut self, other: &Self) -> Result<(), ArithmeticError> {
        const WHAT: &str = "weighted sum";
        self.value_seconds = self.value_seconds.plus(other.value_seconds).figure(WHAT)?;
        self.variation = self.variation.plus(other.variation).figure(WHAT)?;
        self.events += other.events;
        Ok(())
    }

    /// The state: the period end, Σ value × seconds active, Σ values and
    /// the count.
    pub fn state(&self) -> (Timestamp, Exact, Exact, u64) {
        (self.end, self.value_seconds, self.variation, self.events)
    }

    /// A partial sum from its [`WeightedSumAcc::state`].
    pub fn from_state(end: Timestamp, value_seconds: Exact, variation: Exact, events: u64) -> Self {
        Self {
            end,
            value_seconds,
            variation,
            events,
        }
    }

    /// An empty sum over `period`: its rows end at `ceil_s(to)` (A38),
    /// as the [`crate::Aggregator`] ends them.
    ///
    /// ```
    /// use meterprice::{BillingPeriod, Timestamp, WeightedSumAcc};
    /// let period = BillingPeriod::new(
    ///     Timestamp::parse("2023-03-01T00:00:00Z")?,
    ///     Timestamp::parse("2023-03-31T23:59:59.999999Z")?,
    /// )?;
    /// let mut w = WeightedSumAcc::for_period(&period);
    /// // 31 units active for the last day of March: 31 × 1 day / 31 days.
    /// w.update(Timestamp::parse("2023-03-31T00:00:00Z")?, "31".parse()?)?;
    /// assert_eq!(w.finish_for_period("0".parse()?, &period)?.aggregation.to_string(), "1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_period(period: &BillingPeriod) -> Self {
        Self::new(period.to.ceil_s())
    }

    /// [`WeightedSumAcc::finish`] over `period`: `initial` active from
    /// `floor_ms(from)`, over the period's `charges_duration` days.
    ///
    /// # Errors
    /// As [`WeightedSumAcc::update`].
    pub fn finish_for_period(
        &self,
        initial: Exact,
        period: &BillingPeriod,
    ) -> Result<WeightedSum, ArithmeticError> {
        self.finish(initial, period.from.floor_ms(), period.charges_duration)
    }

    /// The weighted sum with `initial` active from `start` (`floor_ms(from)`)
    /// over a period of `duration_days`: one exact division, taken to 28
    /// significant digits, then rounded up at 20 places (A56).
    ///
    /// # Errors
    /// As [`WeightedSumAcc::update`].
    pub fn finish(
        &self,
        initial: Exact,
        start: Timestamp,
        duration_days: u32,
    ) -> Result<WeightedSum, ArithmeticError> {
        const WHAT: &str = "weighted sum";
        let base = initial
            .times(seconds_between(start, self.end))
            .figure(WHAT)?;
        let total = self.value_seconds.plus(base).figure(WHAT)?;
        let period = Exact::from(u64::from(duration_days) * 86_400);
        let q = total.over(period).figure(WHAT)?;
        let aggregation =
            crate::aggregate::expression::round_at(q, 20, crate::aggregate::Rounding::Ceil)?;
        Ok(WeightedSum {
            aggregation,
            variation: self.variation,
            events: self.events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn x(s: &str) -> Exact {
        s.parse().unwrap()
    }

    #[test]
    fn a_sum_keeps_the_scale_of_its_values() {
        // Mantissa and scale: the figures as events give them (1.50 and
        // 1.5 are equal, but not written alike).
        let d = Exact::from_small;
        // The first value is the sum as it is: 0 + 1.50 is 1.50, two
        // places, as the addition gives it.
        let mut a = SumAcc::default();
        a.update(d(150, 2)).unwrap();
        assert!(a.finish().0.is_identical(&d(150, 2)));
        assert!(!a.finish().0.is_identical(&d(15, 1)));
        assert!(
            Exact::ZERO
                .plus(d(150, 2))
                .unwrap()
                .is_identical(&d(150, 2))
        );
        // 1.50 + 2.5 = 4.00.
        a.update(d(25, 1)).unwrap();
        assert!(a.finish().0.is_identical(&d(400, 2)));
        assert_eq!(a.finish().1, 2);
        // A zero of one place (a state, no event yet) is added to: 0.0 +
        // 2 is 2.0.
        let mut b = SumAcc::from_state(d(0, 1), 0);
        b.update(d(2, 0)).unwrap();
        assert!(b.finish().0.is_identical(&d(20, 1)));
    }

    #[test]
    fn weighted_sum_of_lagos_store_spec() {
        // store-ws-basic: rows 2, 3, 1, −4, −2, 10, −10 on 2023-03-05 from
        // 00:00 to 05:30; the period is March (31 days, end 04-01T00:00).
        // Σ cum × Δ: 2×1h + 5×0.5h + 6×0.5h + 2×2h + 0×1h + 10×0.5h = 16.5
        // value-hours = 59400 value-seconds; / (31 × 86400) = 0.0221774…
        let end = t("2023-03-31T23:59:59.999999Z").ceil_s();
        let mut w = WeightedSumAcc::new(end);
        for (time, v) in [
            ("00:00", "2"),
            ("01:00", "3"),
            ("01:30", "1"),
            ("02:00", "-4"),
            ("04:00", "-2"),
            ("05:00", "10"),
            ("05:30", "-10"),
        ] {
            w.update(t(&format!("2023-03-05T{time}:00Z")), x(v))
                .unwrap();
        }
        let r = w
            .finish(Exact::ZERO, t("2023-03-01T00:00:00Z"), 31)
            .unwrap();
        // 59400 / 2678400 = 0.02217741935483870967741935… → ceil at 20.
        assert_eq!(r.aggregation, x("0.02217741935483870968"));
        assert_eq!((r.variation, r.events), (Exact::ZERO, 7));
        // An initial 1000 active the whole month adds exactly 1000.
        let r = w.finish(x("1000"), t("2023-03-01T00:00:00Z"), 31).unwrap();
        assert_eq!(r.aggregation, x("1000.02217741935483870968"));
    }

    #[test]
    fn latest_and_unique_break_ties_by_input_order() {
        let at = t("2024-03-13T12:00:00Z");
        let mut l = LatestAcc::default();
        l.update(EventOrder::new(at, 1), x("18"));
        l.update(EventOrder::new(at, 0), x("5"));
        assert_eq!(l.finish(), (x("18"), 2));
        let mut neg = LatestAcc::default();
        neg.update(EventOrder::new(at, 0), x("-3"));
        assert_eq!(
            neg.finish(),
            (Exact::ZERO, 1),
            "a negative latest value is 0"
        );

        // Add then remove at the same timestamp: the later input wins.
        let mut u = UniqueCountAcc::default();
        u.update(Some("a"), EventOrder::new(at, 3), false);
        u.update(Some("a"), EventOrder::new(at, 2), true);
        u.update(None, EventOrder::new(at, 4), true);
        u.update(None, EventOrder::new(at, 5), true);
        assert_eq!(u.finish(), 1, "a removed, the missing field counted once");
    }

    #[test]
    fn merging_equals_updating_in_one_pass() {
        let vals = ["1.5", "-2", "7", "0.25"];
        let mut whole = SumAcc::default();
        let (mut a, mut b) = (SumAcc::default(), SumAcc::default());
        let (mut mw, mut ma, mut mb) = (MaxAcc::default(), MaxAcc::default(), MaxAcc::default());
        for (i, v) in vals.iter().enumerate() {
            whole.update(x(v)).unwrap();
            mw.update(x(v));
            if i % 2 == 0 {
                a.update(x(v)).unwrap();
                ma.update(x(v));
            } else {
                b.update(x(v)).unwrap();
                mb.update(x(v));
            }
        }
        a.merge(&b).unwrap();
        ma.merge(&mb);
        assert_eq!(a, whole);
        assert_eq!(ma.finish(), (x("7"), 4));
        assert_eq!(mw, ma);
    }

    #[test]
    fn states_round_trip_for_engines_that_ship_them() {
        let at = t("2024-03-13T12:00:00Z");
        let mut m = MaxAcc::default();
        m.update(x("-2"));
        let (max, n) = m.state();
        assert_eq!(MaxAcc::from_state(max, n), m);
        let mut l = LatestAcc::default();
        l.update(EventOrder::new(at, 3), x("7"));
        let (last, n) = l.state();
        assert_eq!(LatestAcc::from_state(last, n), l);
        let mut w = WeightedSumAcc::new(t("2024-04-01T00:00:00Z"));
        w.update(at, x("2")).unwrap();
        let (end, vs, var, n) = w.state();
        assert_eq!(WeightedSumAcc::from_state(end, vs, var, n), w);
        let mut s = SumAcc::default();
        s.update(x("1.5")).unwrap();
        let (sum, n) = s.finish();
        assert_eq!(SumAcc::from_state(sum, n), s);
        assert_eq!(CountAcc::from_state(4).finish(), 4);
        // A unique count's state fed into another merges it.
        let mut u = UniqueCountAcc::default();
        u.update(Some("a"), EventOrder::new(at, 0), true);
        u.update(None, EventOrder::new(at, 1), true);
        let mut v = UniqueCountAcc::default();
        v.update(Some("a"), EventOrder::new(at, 2), false);
        for (p, o, add) in u.state() {
            v.update(p, o, add);
        }
        assert_eq!(v.finish(), 1, "a removed later; the missing value added");
    }
}
