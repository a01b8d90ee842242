//! Instants, the billing period and the day counts of proration (§3, A1,
//! A7, A42–A44). Instants are microseconds since the Unix epoch, the
//! precision Lago's Postgres store keeps (A1).

use std::fmt;

use crate::exact::{Exact, Figure};

/// Microseconds in a second and in a day.
const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Years 0001 to 9999 (RFC 3339's range) in microseconds: every instant
/// and every day difference stays far inside `i64`.
const MIN_MICROS: i64 = -62_135_596_800 * MICROS_PER_SECOND;
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// An instant, at microsecond precision.
///
/// ```
/// use meterprice::Timestamp;
/// let t = Timestamp::parse_rfc3339("2024-03-01T10:00:00.5Z")?;
/// assert_eq!(t, Timestamp::from_unix_text("1709287200.5")?);
/// assert_eq!(t.to_string(), "2024-03-01T10:00:00.500000Z");
/// # Ok::<(), meterprice::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A text that is not an instant meterprice can read (C10
/// `invalid_timestamp`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a timestamp: {why}")]
#[non_exhaustive]
pub struct TimestampError {
    /// The text (its first 64 characters).
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Unix seconds in scientific notation, at most 28 places.
fn scientific_seconds(text: &str) -> Option<Exact> {
    crate::exact::parse_scientific(text, 28).ok()
}

fn bad(text: &str, why: &'static str) -> TimestampError {
    TimestampError {
        text: text.chars().take(64).collect(),
        why,
    }
}

impl Timestamp {
    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z, when
    /// it lies in the years 0001 to 9999.
    pub fn from_micros(micros: i64) -> Option<Self> {
        (MIN_MICROS..=MAX_MICROS)
            .contains(&micros)
            .then_some(Self(micros))
    }

    /// Microseconds since the Unix epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Unix seconds given as decimal text in scientific notation (A1:
    /// `BigDecimal(ts.to_s)`, fractions allowed, digits beyond the
    /// microsecond truncated as Rails stores them). Ruby's wider spellings
    /// (`" 17e8 "`, `1_700`) are read at the JSON edge.
    ///
    /// # Errors
    /// [`TimestampError`] for text that is not a decimal or an instant out
    /// of the years 0001–9999.
    pub fn from_unix_text(text: &str) -> Result<Self, TimestampError> {
        Self::from_unix_read_by(text, scientific_seconds)
    }

    /// [`Timestamp::from_unix_text`] with the seconds read by `read`.
    pub(crate) fn from_unix_read_by(
        text: &str,
        read: impl FnOnce(&str) -> Option<Exact>,
    ) -> Result<Self, TimestampError> {
        let seconds = read(text).ok_or_else(|| bad(text, "not Unix seconds"))?;
        Self::from_unix_seconds(seconds).ok_or_else(|| bad(text, "out of the years 0001-9999"))
    }

    /// Unix seconds as an exact decimal, truncated to the microsecond.
    pub fn from_unix_seconds(seconds: Exact) -> Option<Self> {
        // Whole seconds, as events mostly carry them: no fraction to take.
        if let Some((whole, 0)) = seconds.to_i128_parts() {
            return Self::from_micros(i64::try_from(whole).ok()?.checked_mul(MICROS_PER_SECOND)?);
        }
        let whole = i64::try_from(seconds.floor().to_i128()?).ok()?;
        let frac = seconds.minus(seconds.floor()).figure("timestamp").ok()?;
        let micros_frac = frac
            .times(Exact::from(1_000_000u32))
            .figure("timestamp")
            .ok()?
            .floor()
            .to_i128()?;
        let micros = whole
            .checked_mul(MICROS_PER_SECOND)?
            .checked_add(i64::try_from(micros_frac).ok()?)?;
        Self::from_micros(micros)
    }

    /// An RFC 3339 instant: `2024-03-01T10:00:00Z`, with a fraction of a
    /// second (digits beyond the microsecond are truncated) and a `Z` or
    /// `±HH:MM` offset; `t`, `z` and a space separator are accepted too.
    ///
    /// # Errors
    /// [`TimestampError`] naming what does not fit the format.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        rfc3339(text.as_bytes()).map_err(|why| bad(text, why))
    }

    /// Either form of an `aggregate` request (usage-json.md): RFC 3339
    /// when the text has a date, else Unix seconds.
    ///
    /// # Errors
    /// As [`Timestamp::parse_rfc3339`] and [`Timestamp::from_unix_text`].
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        Self::parse_read_by(text, scientific_seconds)
    }

    /// [`Timestamp::parse`] with Unix seconds read by `read`.
    pub(crate) fn parse_read_by(
        text: &str,
        read: impl FnOnce(&str) -> Option<Exact>,
    ) -> Result<Self, TimestampError> {
        // The common case first: no surrounding space, a date.
        if text.as_bytes().get(4) == Some(&b'-') {
            return Self::parse_rfc3339(text);
        }
        let t = text.trim();
        if t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') {
            Self::parse_rfc3339(t)
        } else {
            Self::from_unix_read_by(text, read)
        }
    }

    /// Floored to the millisecond (A7's lower bound, QA20).
    pub(crate) fn floor_ms(self) -> Self {
        Self(self.0.div_euclid(1000) * 1000)
    }

    /// Rounded up to the whole second (Ruby's `Time#ceil`, A38's end row).
    pub(crate) fn ceil_s(self) -> Self {
        let r = self.0.rem_euclid(MICROS_PER_SECOND);
        if r == 0 {
            self
        } else {
            Self(self.0 - r + MICROS_PER_SECOND)
        }
    }

    /// Whole seconds, floored (the expression's `event.timestamp`, A3.3).
    pub(crate) fn unix_seconds(self) -> i64 {
        self.0.div_euclid(MICROS_PER_SECOND)
    }

    /// Shifted by `micros` (may leave the year range, which only matters
    /// for comparisons).
    pub(crate) fn plus_micros(self, micros: i64) -> Self {
        Self(self.0.saturating_add(micros))
    }
}

/// RFC 3339 with microseconds: `2024-03-01T10:00:00.123456Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let in_day = self.0.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = in_day / MICROS_PER_SECOND;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            in_day % MICROS_PER_SECOND
        )
    }
}

/// Reads fixed-width digits.
struct Digits<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Digits<'_> {
    fn number(&mut self, width: usize) -> Result<i64, &'static str> {
        let field = self
            .bytes
            .get(self.at..self.at + width)
            .ok_or("not RFC 3339 (YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)): truncated")?;
        self.at += width;
        field.iter().try_fold(0i64, |n, &b| {
            if b.is_ascii_digit() {
                Ok(n * 10 + i64::from(b - b'0'))
            } else {
                Err("a digit expected")
            }
        })
    }

    fn expect(&mut self, allowed: &[u8]) -> Result<u8, &'static str> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or("not RFC 3339 (YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)): truncated")?;
        self.at += 1;
        if allowed.contains(&b) {
            Ok(b)
        } else {
            Err("not RFC 3339 (YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM))")
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }
}

fn rfc3339(bytes: &[u8]) -> Result<Timestamp, &'static str> {
    let mut p = Digits { bytes, at: 0 };
    let year = p.number(4)?;
    p.expect(b"-")?;
    let month = p.number(2)?;
    p.expect(b"-")?;
    let day = p.number(2)?;
    p.expect(b"Tt ")?;
    let hour = p.number(2)?;
    p.expect(b":")?;
    let minute = p.number(2)?;
    p.expect(b":")?;
    let second = p.number(2)?;
    let mut micros = 0i64;
    if p.peek() == Some(b'.') {
        p.at += 1;
        let mut digits = 0;
        while let Some(b) = p.peek().filter(u8::is_ascii_digit) {
            if digits < 6 {
                micros = micros * 10 + i64::from(b - b'0');
            }
            digits += 1;
            p.at += 1;
        }
        if digits == 0 {
            return Err("a fraction of a second without digits");
        }
        micros *= 10i64.pow(6u32.saturating_sub(digits.min(6)));
    }
    let offset = match p.expect(b"Zz+-")? {
        b'Z' | b'z' => 0,
        sign => {
            let h = p.number(2)?;
            p.expect(b":")?;
            let m = p.number(2)?;
            if h > 23 || m > 59 {
                return Err("offset out of range");
            }
            let o = (h * 60 + m) * 60;
            if sign == b'-' { -o } else { o }
        }
    };
    if p.at != bytes.len() {
        return Err("trailing characters");
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err("a date or time field out of range");
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Timestamp::from_micros(secs * MICROS_PER_SECOND + micros).ok_or("out of the years 0001-9999")
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The customer's time zone (A11): it decides which calendar day an
/// instant falls on, and nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeZone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl TimeZone {
    /// UTC.
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// An IANA time zone (`Europe/Paris`), from the bundled database.
    pub fn named(name: &str) -> Option<Self> {
        let tz = jiff::tz::TimeZone::get(name).ok()?;
        Some(Self {
            name: name.to_string(),
            tz,
        })
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The UTC offset at `t`, in microseconds.
    fn offset_micros(&self, t: Timestamp) -> i64 {
        jiff::Timestamp::from_microsecond(t.0)
            .map(|j| i64::from(self.tz.to_offset(j).seconds()) * MICROS_PER_SECOND)
            .unwrap_or(0)
    }

    /// The local calendar day of `t`, as a day number (`DATE(t AT TIME
    /// ZONE tz)` in Lago's SQL).
    pub(crate) fn day(&self, t: Timestamp) -> i64 {
        (t.0 + self.offset_micros(t)).div_euclid(MICROS_PER_DAY)
    }

    /// A44 `date_diff_with_timezone(a, b)`: whole days from `a` to `b`,
    /// rounded up, counting a `b` at local midnight as one second later.
    pub(crate) fn date_diff(&self, a: Timestamp, b: Timestamp) -> i64 {
        let local_b = b.0 + self.offset_micros(b);
        let b = if local_b.rem_euclid(MICROS_PER_DAY) == 0 {
            b.plus_micros(MICROS_PER_SECOND)
        } else {
            b
        };
        let off = self.offset_micros(a) - self.offset_micros(b);
        let span = b.0 - a.0 - off;
        // ceil(span / day) for any sign.
        -((-span).div_euclid(MICROS_PER_DAY))
    }
}

/// The billing period of one aggregation (§1.4, §3).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BillingPeriod {
    /// `charges_from_datetime`.
    pub from: Timestamp,
    /// `charges_to_datetime` (inclusive, A7).
    pub to: Timestamp,
    /// Days of the full billing period (A42–A46, A38).
    pub charges_duration: u32,
    /// The customer's time zone.
    pub timezone: TimeZone,
    /// An upper bound below `to` (A9's `max_timestamp`), inclusive.
    pub max_timestamp: Option<Timestamp>,
}

impl BillingPeriod {
    /// A period from `from` to `to` (inclusive) in UTC, with
    /// `charges_duration` its length in days (C5).
    ///
    /// # Errors
    /// [`BillingPeriodError`] when `to` is before `from`.
    pub fn new(from: Timestamp, to: Timestamp) -> Result<Self, BillingPeriodError> {
        if to < from {
            return Err(BillingPeriodError("to_datetime is before from_datetime"));
        }
        let tz = TimeZone::utc();
        let days = tz.date_diff(from, to).max(1);
        Ok(Self {
            from,
            to,
            charges_duration: u32::try_from(days).unwrap_or(u32::MAX),
            timezone: tz,
            max_timestamp: None,
        })
    }

    /// Sets the days of the full period.
    ///
    /// # Errors
    /// [`BillingPeriodError`] for 0 days.
    pub fn with_charges_duration(mut self, days: u32) -> Result<Self, BillingPeriodError> {
        if days == 0 {
            return Err(BillingPeriodError(
                "charges_duration must be at least 1 day",
            ));
        }
        self.charges_duration = days;
        Ok(self)
    }

    /// Sets the time zone and recounts the default `charges_duration` in
    /// it (C5); call [`BillingPeriod::with_charges_duration`] after this to set
    /// another.
    #[must_use]
    pub fn with_timezone(mut self, timezone: TimeZone) -> Self {
        self.timezone = timezone;
        self.charges_duration = self.days();
        self
    }

    /// Ends the window at `t` (inclusive) instead of `to`.
    #[must_use]
    pub fn with_max_timestamp(mut self, t: Timestamp) -> Self {
        self.max_timestamp = Some(t);
        self
    }

    /// The period's length in days in its time zone (A44), the default
    /// `charges_duration` (C5).
    pub fn days(&self) -> u32 {
        u32::try_from(self.timezone.date_diff(self.from, self.to).max(1)).unwrap_or(u32::MAX)
    }

    /// A7's lower bound, `floor_ms(from)`.
    pub(crate) fn lower(&self) -> Timestamp {
        self.from.floor_ms()
    }

    /// The upper bound: `max_timestamp` when set, else `to` (Lago's
    /// `applicable_to_datetime`).
    pub(crate) fn upper(&self) -> Timestamp {
        self.max_timestamp.unwrap_or(self.to)
    }
}

/// A period that cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BillingPeriodError(pub &'static str);

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn rfc3339_and_unix_seconds_agree() {
        assert_eq!(t("1970-01-01T00:00:00Z").micros(), 0);
        assert_eq!(t("2024-03-01T00:00:00Z"), t("1709251200"));
        assert_eq!(t("2024-03-01T01:00:00+01:00"), t("1709251200"));
        assert_eq!(t("2024-02-29T23:00:00-01:00"), t("1709251200"));
        // Beyond the microsecond is truncated, as Rails stores it.
        assert_eq!(
            t("2024-03-01T00:00:00.1234567Z").micros() % 1_000_000,
            123_456
        );
        assert_eq!(t("1709251200.9999999").micros() % 1_000_000, 999_999);
        assert_eq!(t("-1.5").micros(), -1_500_000);
        assert_eq!(t("1709251200").to_string(), "2024-03-01T00:00:00.000000Z");
    }

    #[test]
    fn whole_seconds_take_the_instant_of_their_fraction_form() {
        // Scale 0 takes the short path, ".000" the general one. The ends
        // of the years 0001-9999 (0001-01-01T00:00:00Z is -62135596800,
        // 9999-12-31T23:59:59Z is 253402300799), a second beyond each,
        // and a count of microseconds beyond i64.
        for s in [
            "0",
            "1709251200",
            "-1",
            "-62135596800",
            "253402300799",
            "-62135596801",
            "253402300800",
            "9223372036855",
        ] {
            let whole = Timestamp::parse(s).ok();
            assert_eq!(whole, Timestamp::parse(&format!("{s}.000")).ok(), "{s}");
        }
        assert!(Timestamp::parse("-62135596800").is_ok());
        assert!(Timestamp::parse("253402300799").is_ok());
        assert!(Timestamp::parse("-62135596801").is_err());
        assert!(Timestamp::parse("253402300800").is_err());
    }

    #[test]
    fn bad_timestamps_are_errors() {
        for s in [
            "2024-02-30T00:00:00Z",
            "2024-03-01",
            "2024-03-01T00:00:00",
            "2024-03-01T24:00:00Z",
            "yesterday",
            "",
            "1e20",
            "2024-03-01T00:00:00.Z",
            "2024-03-01T00:00:00Zjunk",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn day_counts_follow_a44() {
        let utc = TimeZone::utc();
        // A full month ending on its last microsecond: 31 days.
        assert_eq!(
            utc.date_diff(t("2024-05-01T00:00:00Z"), t("2024-05-31T23:59:59.999999Z")),
            31
        );
        // An end at local midnight counts one second more: 31 days.
        assert_eq!(
            utc.date_diff(t("2024-05-01T00:00:00Z"), t("2024-06-01T00:00:00Z")),
            32
        );
        // Event on the 30th at 00:00 to the 31st 23:59:59: 2 days.
        assert_eq!(
            utc.date_diff(t("2023-05-30T00:00:00Z"), t("2023-05-31T23:59:59Z")),
            2
        );
        // Paris: the DST change of 2024-03-31 does not change the count.
        let paris = TimeZone::named("Europe/Paris").unwrap();
        assert_eq!(
            paris.date_diff(t("2024-02-29T23:00:00Z"), t("2024-03-31T21:59:59Z")),
            31
        );
        assert_eq!(
            paris.day(t("2024-03-31T22:30:00Z")),
            utc.day(t("2024-04-01T00:00:00Z"))
        );
    }

    #[test]
    fn bounds_round_as_lago_does() {
        assert_eq!(
            t("2024-03-01T00:00:00.000285Z").floor_ms(),
            t("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            t("2023-08-31T23:59:59.999Z").ceil_s(),
            t("2023-09-01T00:00:00Z")
        );
        assert_eq!(
            t("2023-09-01T00:00:00Z").ceil_s(),
            t("2023-09-01T00:00:00Z")
        );
    }
}
