//! The period of a customer usage object and its calendar rules (U1, C4,
//! C5, A44). The one file that knows time zones: it holds jiff, with the
//! IANA database bundled, so a result never depends on the host.

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

/// Nanoseconds in a day.
const DAY_NS: i128 = 86_400 * 1_000_000_000;

/// Why a period cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeriodError {
    /// A datetime that is not RFC 3339 (`2024-03-01T00:00:00Z`).
    #[error("{field}: {value:?} is not an RFC 3339 datetime such as \"2024-03-01T00:00:00Z\"")]
    Datetime {
        /// `from_datetime` or `to_datetime`.
        field: &'static str,
        /// The text given.
        value: String,
    },
    /// A time zone the IANA database does not know.
    #[error("timezone {0:?} is not an IANA time zone such as \"Europe/Paris\"")]
    Timezone(String),
    /// `to_datetime` before `from_datetime`.
    #[error("period.to_datetime {to} is before period.from_datetime {from}")]
    Reversed {
        /// The start, as given.
        from: String,
        /// The end, as given.
        to: String,
    },
    /// A period of zero days.
    #[error("period.charges_duration must be > 0 days, got {0}")]
    Empty(i64),
}

impl PeriodError {
    /// The usage contract's code: `parse_error` for a datetime that is not
    /// one, `validation_error` for an unknown time zone, `invalid_usage`
    /// for a reversed or empty period.
    ///
    /// ```
    /// use meterprice::UsagePeriod;
    /// let e = UsagePeriod::parse("2024-03-31T00:00:00Z", "2024-03-01T00:00:00Z").unwrap_err();
    /// assert_eq!(e.code(), "invalid_usage");
    /// assert_eq!(UsagePeriod::parse("March", "2024-03-01T00:00:00Z").unwrap_err().code(), "parse_error");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Datetime { .. } => "parse_error",
            Self::Timezone(_) => "validation_error",
            Self::Reversed { .. } | Self::Empty(_) => "invalid_usage",
        }
    }
}

/// The charges period of one subscription (U1): `from_datetime`,
/// `to_datetime`, the customer's time zone and `charges_duration`, the
/// full period's length in days.
///
/// ```
/// use meterprice::UsagePeriod;
/// let march = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59.999999Z")?;
/// assert_eq!(march.charges_duration(), 31); // A44: 30 days 23:59:59.999999, ceiled
/// assert_eq!(march.to_datetime(), "2024-03-31T23:59:59Z"); // whole seconds, U1
/// assert_eq!(march.issuing_date(), "2024-03-31");
/// // West of UTC, the local end of the last day is already the next UTC day (C4, QU6).
/// let ny = UsagePeriod::parse("2024-03-01T05:00:00Z", "2024-04-01T03:59:59Z")?
///     .in_timezone("America/New_York")?;
/// assert_eq!(ny.issuing_date(), "2024-04-01");
/// assert_eq!(ny.charges_duration(), 31);
/// # Ok::<(), meterprice::PeriodError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePeriod {
    from: Timestamp,
    to: Timestamp,
    timezone: TimeZone,
    charges_duration: Option<u32>,
}

impl UsagePeriod {
    /// The period between two RFC 3339 datetimes, in UTC, its
    /// `charges_duration` its own length in days (C5).
    ///
    /// # Errors
    /// [`PeriodError::Datetime`] for a text that is not RFC 3339,
    /// [`PeriodError::Reversed`] when `to` is before `from`.
    pub fn parse(from_datetime: &str, to_datetime: &str) -> Result<Self, PeriodError> {
        let read = |field: &'static str, text: &str| {
            text.parse::<Timestamp>()
                .map_err(|_| PeriodError::Datetime {
                    field,
                    value: text.to_string(),
                })
        };
        let from = read("from_datetime", from_datetime)?;
        let to = read("to_datetime", to_datetime)?;
        Self::between(from, to)
    }

    /// The period between two Unix times in seconds.
    ///
    /// # Errors
    /// As [`UsagePeriod::parse`].
    pub fn from_unix_seconds(from: i64, to: i64) -> Result<Self, PeriodError> {
        let read = |field: &'static str, s: i64| {
            Timestamp::from_second(s).map_err(|_| PeriodError::Datetime {
                field,
                value: s.to_string(),
            })
        };
        Self::between(read("from_datetime", from)?, read("to_datetime", to)?)
    }

    fn between(from: Timestamp, to: Timestamp) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        Ok(Self {
            from,
            to,
            timezone: TimeZone::UTC,
            charges_duration: None,
        })
    }

    /// The customer's time zone (IANA name; `UTC` by default): it sets
    /// `issuing_date` (C4) and the day counts (A44).
    ///
    /// # Errors
    /// [`PeriodError::Timezone`] for a name the database does not know.
    pub fn in_timezone(mut self, name: &str) -> Result<Self, PeriodError> {
        self.timezone = TimeZone::get(name).map_err(|_| PeriodError::Timezone(name.into()))?;
        Ok(self)
    }

    /// Whether the IANA database knows a time zone name.
    #[cfg(feature = "lago")]
    pub(crate) fn check_timezone(name: &str) -> Result<(), PeriodError> {
        TimeZone::get(name)
            .map(|_| ())
            .map_err(|_| PeriodError::Timezone(name.into()))
    }

    /// The full period's length in days, when the period is only part of it
    /// (a subscription that started mid-period).
    ///
    /// # Errors
    /// [`PeriodError::Empty`] for 0.
    pub fn with_charges_duration(mut self, days: u32) -> Result<Self, PeriodError> {
        if days == 0 {
            return Err(PeriodError::Empty(0));
        }
        self.charges_duration = Some(days);
        Ok(self)
    }

    /// Checks that the period has at least one day.
    ///
    /// # Errors
    /// [`PeriodError::Empty`] when `charges_duration` is 0 (a period of
    /// under a second that does not start at midnight).
    pub(crate) fn check(&self) -> Result<(), PeriodError> {
        match self.charges_duration() {
            0 => Err(PeriodError::Empty(self.days())),
            _ => Ok(()),
        }
    }

    /// `charges_duration`: as given, else the period's days (C5, A44).
    pub fn charges_duration(&self) -> u32 {
        self.charges_duration
            .unwrap_or_else(|| u32::try_from(self.days()).unwrap_or(u32::MAX))
    }

    /// The days the period covers in the customer's time zone (A44): what
    /// a minimum is prorated by (M9).
    pub fn billed_days(&self) -> u32 {
        u32::try_from(self.days()).unwrap_or(u32::MAX)
    }

    /// A44 `date_diff_with_timezone`: `ceil((to − from − (offset(from) −
    /// offset(to))) / 1 day)`, one second added to a `to` at local midnight.
    fn days(&self) -> i64 {
        let tz = &self.timezone;
        let mut to = self.to.as_nanosecond();
        if tz.to_datetime(self.to).time() == Time::midnight() {
            to += 1_000_000_000;
        }
        let offset_to = tz
            .to_offset(Timestamp::from_nanosecond(to).unwrap_or(self.to))
            .seconds();
        let offset = i128::from(tz.to_offset(self.from).seconds()) - i128::from(offset_to);
        let span = to - self.from.as_nanosecond() - offset * 1_000_000_000;
        let days = span.div_euclid(DAY_NS) + i128::from(span.rem_euclid(DAY_NS) != 0);
        i64::try_from(days).unwrap_or(i64::MAX)
    }

    /// `from_datetime` as Lago prints it: UTC, whole seconds, `Z` (U1).
    pub fn from_datetime(&self) -> String {
        whole_seconds(self.from)
    }

    /// `to_datetime` as Lago prints it: UTC, whole seconds (the fraction
    /// dropped, QU7), `Z`.
    pub fn to_datetime(&self) -> String {
        whole_seconds(self.to)
    }

    /// `issuing_date` (C4): the UTC calendar date of the local end of the
    /// day of `to_datetime`, `YYYY-MM-DD`.
    pub fn issuing_date(&self) -> String {
        let local = self.to.to_zoned_datetime(self.timezone.clone());
        let end = local.end_of_day().map_or(self.to, |z| z.timestamp());
        TimeZone::UTC.to_datetime(end).date().to_string()
    }
}

/// An instant in UTC with its fraction of a second dropped (floored).
fn whole_seconds(t: Timestamp) -> String {
    let seconds = t.as_second() - i64::from(t.subsec_nanosecond() < 0);
    Timestamp::from_second(seconds).unwrap_or(t).to_string()
}

impl UsagePeriod {
    /// The period as an aggregation reads it (events → buckets): the same
    /// instants, time zone and `charges_duration`.
    pub(crate) fn billing_period(
        &self,
    ) -> Result<crate::aggregate::BillingPeriod, crate::aggregate::BillingPeriodError> {
        use crate::aggregate::{
            BillingPeriod, BillingPeriodError, TimeZone as Zone, Timestamp as At,
        };
        let at = |t: Timestamp| {
            At::from_micros(t.as_microsecond()).ok_or(BillingPeriodError("a datetime out of range"))
        };
        let zone = self
            .timezone
            .iana_name()
            .and_then(Zone::named)
            .unwrap_or_else(Zone::utc);
        BillingPeriod::new(at(self.from)?, at(self.to)?)?
            .with_timezone(zone)
            .with_charges_duration(self.charges_duration().max(1))
    }
}
