//! The billing run (usage-json.md, "Billing run"): one plan, one period,
//! an event file read once; one customer usage line per subscription,
//! sorted by `external_subscription_id`.
//!
//! Memory holds one set of aggregators per subscription (groups, and the
//! transaction ids QA19 remembers), never the events themselves.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use crate::customer_usage::PlanAggregator;
use crate::lago::{Outcome, RequestError, write_request_error};

use super::direct_write::Direct;
use super::events::Feed;
use super::read_windows;
use super::request::{SubscriptionStates, UsageRequest, parse_run_plan};
use super::response::{self, Lead};
use super::two_cores::{self, Feeds};

/// Bad lines named on stderr; the rest are only counted.
pub(super) const NAMED: u64 = 10;
/// The default [`BillingRunOptions::window`]. A worker takes its lines of
/// eight windows together (`read_windows`), so with 10,000 subscriptions
/// each visit to a subscription takes about 160 events. Each visit first
/// brings its aggregators' state back from memory: four windows a visit
/// (about 80 events) took about 5 % more user time on the 10 M run, one
/// 64 MiB window (about 40 events) about 12 % more (README, "Billing
/// run").
const WINDOW: usize = 32 << 20;

/// What a billing run is asked to do.
///
/// ```
/// let opts = meterprice::BillingRunOptions::new(
///     r#"{"currency": "EUR", "plan": {"charges": [{"code": "api", "charge_model": "standard",
///        "properties": {"amount": "0.5"},
///        "billable_metric": {"code": "req", "name": "Requests", "aggregation_type": "count_agg"}}]}}"#,
///     "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z");
/// let events = "{\"transaction_id\": \"a\", \"external_subscription_id\": \"s1\", \"code\": \"req\", \"timestamp\": 1709283600}\n";
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// let summary = meterprice::billing_run(&opts, events.as_bytes(), &mut out, &mut err)?;
/// assert_eq!((summary.events, summary.subscriptions), (1, 1));
/// let line: serde_json::Value = serde_json::from_slice(&out)?;
/// assert_eq!(line["external_subscription_id"], "s1");
/// assert_eq!(line["customer_usage"]["amount_cents"], 50);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BillingRunOptions {
    /// The plan file's text: a usage request without `id`, `period` and
    /// `events`.
    pub plan: String,
    /// `--from` (RFC 3339).
    pub from: String,
    /// `--to` (RFC 3339).
    pub to: String,
    /// `--charges-duration` (days), else the period's length (C5).
    pub charges_duration: Option<u32>,
    /// Whether a progress line is shown on stderr for a long run.
    pub progress: bool,
    /// Bytes of event lines read at a time (32 MiB unless set); a worker
    /// takes eight windows' lines together. Memory holds a few windows,
    /// whatever the file's size; in a larger window each subscription has
    /// more events to take together, which is faster. The output does not
    /// depend on it.
    pub window: usize,
    /// Fuzzing only: every subscription priced through the customer
    /// usage object, none by the direct path (`direct_write.rs`), to
    /// compare the two.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub general_only: bool,
}

impl BillingRunOptions {
    /// A run of `plan` (JSON text) from `from` to `to`, without progress.
    pub fn new(plan: impl Into<String>, from: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            plan: plan.into(),
            from: from.into(),
            to: to.into(),
            charges_duration: None,
            progress: false,
            window: WINDOW,
            #[cfg(fuzzing)]
            general_only: false,
        }
    }
}

/// Why a billing run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BillingRunError {
    /// The plan or the period cannot be used (nothing was written).
    #[error("plan: {0}")]
    Plan(String),
    /// The event file cannot be read.
    #[error("events: {0}")]
    Input(std::io::Error),
    /// The output cannot be written.
    #[error("output: {0}")]
    Output(std::io::Error),
}

impl BillingRunError {
    /// The exit status (usage-json.md): 2 for a broken plan or an
    /// unreadable file, 3 for an unwritable output.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Plan(_) | Self::Input(_) => 2,
            Self::Output(_) => 3,
        }
    }
}

/// What a billing run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BillingRunSummary {
    /// Event lines read (blank lines aside).
    pub events: u64,
    /// Lines that are no event of a subscription, and events rejected.
    pub rejected: u64,
    /// Subscriptions written.
    pub subscriptions: u64,
    /// Subscriptions that got an error record instead of a usage.
    pub errors: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `opts.plan` over the events of `input` (JSON Lines, each with an
/// `external_subscription_id`) and writes one line per subscription to
/// `out`, sorted by `external_subscription_id`; bad lines, progress and a
/// summary go to `err`. A bad event never stops the run.
///
/// # Errors
/// [`BillingRunError`]: a broken plan or period before anything is read
/// or written, an unreadable input or an unwritable output.
pub fn billing_run(
    opts: &BillingRunOptions,
    input: impl BufRead,
    out: impl Write,
    mut err: impl Write,
) -> Result<BillingRunSummary, BillingRunError> {
    let started = Instant::now();
    let (req, states) = plan(opts)?;
    let setup = req.setup.clone();
    let template = PlanAggregator::new(&req.plan, &req.period, &setup)
        .map_err(|e| BillingRunError::Plan(e.to_string()))?;
    let mut run = Run {
        seeds: (0..two_cores::WORKERS).map(|_| Feeds::default()).collect(),
        summary: BillingRunSummary::default(),
        started,
        shown: None,
    };
    for (sub, state) in states {
        let mut s = setup.clone();
        s.states = state;
        let agg = PlanAggregator::new(&req.plan, &req.period, &s)
            .map_err(|e| BillingRunError::Plan(format!("state.{sub}: {e}")))?;
        if let Some(seed) = run.seeds.get_mut(two_cores::owner(sub.as_bytes())) {
            seed.insert(sub.into_boxed_str(), Feed::new(agg));
        }
    }
    let subs = run.read(input, &template, opts, &mut err)?;
    #[cfg(fuzzing)]
    let direct = !opts.general_only;
    #[cfg(not(fuzzing))]
    let direct = true;
    let summary = run.write(subs, &req, direct, out)?;
    let summary = BillingRunSummary {
        elapsed: started.elapsed(),
        ..summary
    };
    // The summary is best effort: stderr failing does not undo the run.
    let _ignored = writeln!(
        err,
        "billing run: {} events read, {} rejected, {} subscriptions, {:.2?}",
        summary.events, summary.rejected, summary.subscriptions, summary.elapsed
    );
    Ok(summary)
}

/// The plan file over the run's period.
pub(super) fn plan(
    opts: &BillingRunOptions,
) -> Result<(UsageRequest, SubscriptionStates), BillingRunError> {
    let mut period = serde_json::json!({"from_datetime": opts.from, "to_datetime": opts.to});
    if let (Some(days), Some(p)) = (opts.charges_duration, period.as_object_mut()) {
        p.insert("charges_duration".into(), days.into());
    }
    let broken = |e: RequestError| {
        let mut text = Vec::new();
        write_request_error(&mut text, None, &e, false);
        let record: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
        let field = |k: &str| {
            record
                .get("error")
                .and_then(|e| e.get(k))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        BillingRunError::Plan(format!("{}: {}", field("code"), field("message")))
    };
    let (req, states) = parse_run_plan(&opts.plan, &period.to_string()).map_err(broken)?;
    Ok((req, states))
}

/// The run's state: one feed per subscription, in the maps of the
/// workers that own them.
struct Run {
    seeds: Vec<Feeds>,
    summary: BillingRunSummary,
    started: Instant,
    /// When progress was last shown.
    shown: Option<Instant>,
}

impl Run {
    fn read(
        &mut self,
        input: impl BufRead,
        template: &PlanAggregator,
        opts: &BillingRunOptions,
        err: &mut impl Write,
    ) -> Result<Vec<(Box<str>, Feed)>, BillingRunError> {
        let seeds = std::mem::take(&mut self.seeds);
        let (shares, events) =
            read_windows::read(input, template, seeds, opts.window, |events, subs| {
                if opts.progress {
                    self.progress(events, subs, err);
                }
            })?;
        self.summary.events = events;
        if self.shown.is_some() {
            let _ignored = writeln!(err);
        }
        let mut named: Vec<(u64, String)> = Vec::new();
        let mut subs = Vec::new();
        for share in shares {
            self.summary.rejected += share.rejected;
            named.extend(share.named);
            subs.extend(share.feeds);
        }
        named.sort_by_key(|(line, _)| *line);
        for (line_no, why) in named.iter().take(NAMED as usize) {
            let _ignored = writeln!(err, "line {line_no}: {why}");
        }
        Ok(subs)
    }

    /// `\r`-rewritten progress, at most twice a second, after the first
    /// second.
    fn progress(&mut self, events: u64, subs: usize, err: &mut impl Write) {
        let now = Instant::now();
        let since = now.duration_since(self.started);
        let due = self.shown.map_or(since >= Duration::from_secs(1), |t| {
            now.duration_since(t) >= Duration::from_millis(500)
        });
        if !due {
            return;
        }
        self.shown = Some(now);
        let per_second = u128::from(events) * 1000 / since.as_millis().max(1);
        let _ignored = write!(
            err,
            "\r{events} events read, {subs} subscriptions, {per_second} events/s"
        );
        let _flushed = err.flush();
    }

    /// Every subscription's usage, sorted by id; by the direct path where
    /// it can (`direct`).
    fn write(
        self,
        mut subs: Vec<(Box<str>, Feed)>,
        req: &UsageRequest,
        direct: bool,
        mut out: impl Write,
    ) -> Result<BillingRunSummary, BillingRunError> {
        let mut summary = self.summary;
        subs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let direct = direct.then(|| Direct::new(req)).flatten();
        two_cores::write(subs, req, direct.as_ref(), &mut out, &mut summary)?;
        out.flush().map_err(BillingRunError::Output)?;
        Ok(summary)
    }
}

/// One subscription's line, appended to `line`: its usage, or an error
/// record naming it.
pub(super) fn write_subscription(
    line: &mut Vec<u8>,
    req: &UsageRequest,
    direct: Option<&Direct<'_>>,
    (sub, feed): (&str, Feed),
    summary: &mut BillingRunSummary,
) -> Outcome {
    if direct.is_some_and(|d| d.write(line, sub, &feed)) {
        return Outcome::Priced;
    }
    let start = line.len();
    let fail = |line: &mut Vec<u8>, e: &RequestError| {
        let id = serde_json::to_string(sub).unwrap_or_default();
        write_request_error(
            line,
            Some(crate::lago::raw::RawJson::new_unchecked(&id)),
            e,
            false,
        );
        // The record names the subscription under the run's key.
        let record = start..start + 6;
        if line.get(record.clone()) == Some(b"{\"id\":".as_slice()) {
            line.splice(record, b"{\"external_subscription_id\":".iter().copied());
        }
        Outcome::Failed
    };
    let on_reading = feed.rejected_on_reading();
    let mut events = match feed.finish() {
        Ok(e) => e,
        Err(e) => return fail(line, &RequestError::Overflow(e.to_string())),
    };
    // The aggregators' rejections (a failed expression, a value beyond the
    // range) were not counted on reading: every one is counted here.
    summary.rejected += events.rejected.len().saturating_sub(on_reading) as u64;
    let usage = events.add_buckets_to(req.usage.clone());
    match req
        .plan
        .customer_usage_written(&req.period, usage, &req.options)
    {
        Ok(cu) => {
            response::write_result(line, Lead::Subscription(sub), &cu, Some(&events), false);
            Outcome::Priced
        }
        Err(e) => fail(line, &super::rate_error(e)),
    }
}
