//! A plan's charges aggregated from raw events (aggregation.md): one
//! [`Aggregator`] per charge, each event read once and given to every
//! charge whose metric has the event's code (A7), the results turned into
//! the buckets [`Plan::customer_usage`] prices.

use std::sync::Arc;

use crate::aggregate::{
    AggregateError, AggregationOptions, AggregationSpec, Aggregator, BucketId, BucketResult,
    CarriedState, ChargeFilterSpec, ChargeModelKind, ChargeSpec, EventMeta, Filters, KeyMap,
    MetricSpec, Properties, RejectedEvent, SetupError, Warning,
};
use crate::customer_usage::{PlanUsage, UsageBucket, UsagePeriod};
use crate::error::Violation;
use crate::plan::{Plan, PlanCharge};

/// How a plan's charges take events.
///
/// ```
/// let setup = meterprice::EventsSetup::default().with_strict_filters(true);
/// assert!(setup.strict_filters);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EventsSetup {
    /// Charges given their buckets instead (C7): they take no events.
    pub given_buckets: Vec<String>,
    /// Carried state (aggregation.md §1.5) by charge code.
    pub states: Vec<(String, CarriedState)>,
    /// AD4's single-assignment mode.
    pub strict_filters: bool,
}

impl EventsSetup {
    /// Leaves the charge with this code out: it is given buckets.
    #[must_use]
    pub fn with_given_buckets(mut self, charge_code: impl Into<String>) -> Self {
        self.given_buckets.push(charge_code.into());
        self
    }

    /// Carries `state` into the charge with this code.
    #[must_use]
    pub fn with_state(mut self, charge_code: impl Into<String>, state: CarriedState) -> Self {
        self.states.push((charge_code.into(), state));
        self
    }

    /// Sets AD4's strict mode.
    #[must_use]
    pub fn with_strict_filters(mut self, strict: bool) -> Self {
        self.strict_filters = strict;
        self
    }
}

/// A warning of a plan's aggregation, with the charges it concerns (C9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChargeWarning {
    /// The aggregation's warning.
    pub warning: Warning,
    /// The charges concerned (empty for an unknown metric code).
    pub charge_codes: Vec<String>,
}

/// An event left out of a plan's aggregation, with the charges whose
/// metric it belongs to (C9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChargeRejection {
    /// The event and why.
    pub event: RejectedEvent,
    /// The charges of the event's metric.
    pub charge_codes: Vec<String>,
}

/// What a plan's aggregation gives: the buckets of every charge that took
/// events, and what the caller should know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PlanEvents {
    /// Per charge code, its buckets (every charge that took events).
    pub buckets: Vec<(String, Vec<UsageBucket>)>,
    /// Warnings (AD4 overlaps, unknown metric codes).
    pub warnings: Vec<ChargeWarning>,
    /// Events that could not count, by input order.
    pub rejected: Vec<ChargeRejection>,
}

impl PlanEvents {
    /// Moves the buckets into `usage` (beside buckets given there).
    pub fn add_buckets_to(&mut self, mut usage: PlanUsage) -> PlanUsage {
        for (code, buckets) in self.buckets.drain(..) {
            usage = usage.with_buckets(code, buckets);
        }
        usage
    }
}

/// What the clones of a plan aggregator share (a billing run makes one
/// per subscription): one copy for all.
#[derive(Debug)]
struct Routing {
    keys: Vec<Box<str>>,
    /// Per charge, in `charges` order: its code, and its keys seen through
    /// the plan's.
    charges: Vec<(String, KeyMap)>,
    /// Metric code → the charges of that metric (indices into `charges`).
    routes: Vec<(String, Vec<usize>)>,
    /// Metric codes of charges given buckets: their events are not unknown.
    known: Vec<String>,
}

/// Streams a plan's events into one aggregator per charge: an event is
/// read once (its properties laid out as [`PlanAggregator::keys`]) and
/// given to every charge of its metric.
///
/// ```
/// use meterprice::{EventMeta, EventsSetup, Named, Plan, PlanAggregator,
///     Timestamp, UsageOptions, UsagePeriod, Value};
/// let plan = Plan::from_lago_json("EUR", r#"{"charges": [{"code": "api",
///   "charge_model": "standard", "properties": {"amount": "0.5"},
///   "billable_metric": {"code": "req", "name": "Requests", "aggregation_type": "count_agg"}}]}"#)?;
/// let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")?;
/// let mut agg = PlanAggregator::new(&plan, &period, &EventsSetup::default())?;
/// let t = Timestamp::parse("2024-03-02T00:00:00Z")?;
/// let keys = agg.keys().to_vec();
/// for (i, tx) in ["a", "b", "c"].iter().enumerate() {
///     let mut meta = EventMeta::new(tx, i as u64, t);
///     meta.code = Some("req");
///     agg.push(&meta, &Named::new(&keys, &[]));
/// }
/// let usage = agg.finish()?.add_buckets_to(Default::default());
/// let cu = plan.customer_usage(&period, &usage, &UsageOptions::default())?;
/// // 3 requests × 0.50 EUR = 150 cents.
/// assert_eq!(cu.amount_cents, 150);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PlanAggregator {
    routing: Arc<Routing>,
    charges: Vec<Aggregator>,
    unknown: u64,
}

impl PlanAggregator {
    /// An aggregator for every charge of `plan` not given buckets, over
    /// `period`, in current usage (A48, A59).
    ///
    /// # Errors
    /// [`SetupError`] naming the charge, for a metric or charge rule the
    /// aggregation cannot follow, a state for a charge the plan lacks, or
    /// a period out of range.
    pub fn new(plan: &Plan, period: &UsagePeriod, setup: &EventsSetup) -> Result<Self, SetupError> {
        let billing = period.billing_period().map_err(|e| {
            SetupError::invalid(vec![Violation::new("period", "value_is_invalid", e.0)])
        })?;
        if let Some((code, _)) = setup.states.iter().find(|(c, _)| plan.charge(c).is_none()) {
            return Err(SetupError::invalid(vec![Violation::new(
                "state",
                "value_is_invalid",
                format!("state.charges.{code}: the plan has no charge with code {code:?}"),
            )]));
        }
        let mut charges = Vec::new();
        let mut known = Vec::new();
        for pc in plan.charges() {
            if setup.given_buckets.iter().any(|c| c == pc.code()) {
                known.push(pc.metric().code().to_string());
                continue;
            }
            let state = setup
                .states
                .iter()
                .find(|(c, _)| c == pc.code())
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            let spec = aggregation_spec(pc, billing.clone(), state, setup.strict_filters)
                .map_err(|e| in_charge(pc.code(), e))?;
            let aggregator = Aggregator::new(spec).map_err(|e| in_charge(pc.code(), e))?;
            charges.push((pc.code().to_string(), aggregator));
        }
        Ok(Self::of(charges, known))
    }

    fn of(list: Vec<(String, Aggregator)>, known: Vec<String>) -> Self {
        let mut keys: Vec<Box<str>> = Vec::new();
        for (_, a) in &list {
            for k in a.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        let mut routes: Vec<(String, Vec<usize>)> = Vec::new();
        let mut codes = Vec::with_capacity(list.len());
        let mut charges = Vec::with_capacity(list.len());
        for (i, (code, aggregator)) in list.into_iter().enumerate() {
            let metric = aggregator.spec().metric.code().to_string();
            match routes.iter_mut().find(|(m, _)| *m == metric) {
                Some((_, to)) => to.push(i),
                None => routes.push((metric, vec![i])),
            }
            codes.push((code, KeyMap::new(aggregator.keys(), &keys)));
            charges.push(aggregator);
        }
        Self {
            routing: Arc::new(Routing {
                keys,
                charges: codes,
                routes,
                known,
            }),
            charges,
            unknown: 0,
        }
    }

    /// The property names any charge reads: the layout of the properties
    /// [`PlanAggregator::push`] takes.
    pub fn keys(&self) -> &[Box<str>] {
        &self.routing.keys
    }

    /// The charges whose metric has this code (C9's `charge_codes`).
    pub fn charge_codes(&self, metric_code: Option<&str>) -> Vec<String> {
        self.route(metric_code)
            .iter()
            .filter_map(|&i| self.routing.charges.get(i).map(|(code, _)| code.clone()))
            .collect()
    }

    fn route(&self, metric_code: Option<&str>) -> &[usize] {
        metric_code
            .and_then(|m| self.routing.routes.iter().find(|(c, _)| c == m))
            .map_or(&[], |(_, to)| to.as_slice())
    }

    /// Each charge's code and aggregator, when nothing is to be told
    /// beside their buckets: every event's code was some charge's.
    #[cfg(feature = "lago")]
    pub(crate) fn charges_if_quiet(&self) -> Option<impl Iterator<Item = (&str, &Aggregator)>> {
        let codes = self.routing.charges.iter().map(|(code, _)| code.as_str());
        (self.unknown == 0).then(|| codes.zip(&self.charges))
    }

    /// Gives one event to every charge of its metric; an event whose code
    /// no charge's metric has is counted (`unknown_metric_code`).
    pub fn push<P: Properties + ?Sized>(&mut self, meta: &EventMeta<'_>, props: &P) {
        let Some(m) = meta.code else {
            self.unknown += 1;
            return;
        };
        let routing = &*self.routing;
        let Some((_, to)) = routing.routes.iter().find(|(c, _)| c == m) else {
            if !routing.known.iter().any(|k| k == m) {
                self.unknown += 1;
            }
            return;
        };
        for &i in to {
            if let (Some(a), Some((_, map))) = (self.charges.get_mut(i), routing.charges.get(i)) {
                a.push(meta, &map.view(props));
            }
        }
    }

    /// Every charge's buckets, warnings and rejected events.
    ///
    /// # Errors
    /// [`AggregateError`] naming the charge, for a total beyond the
    /// decimal range.
    pub fn finish(self) -> Result<PlanEvents, AggregateError> {
        let mut out = PlanEvents {
            buckets: Vec::with_capacity(self.charges.len()),
            warnings: Vec::new(),
            rejected: Vec::new(),
        };
        if self.unknown > 0 {
            out.warnings.push(ChargeWarning {
                warning: Warning {
                    code: "unknown_metric_code",
                    message: format!(
                        "{} events have a code that no charge's billable metric has; they are ignored",
                        self.unknown
                    ),
                    transaction_ids: Vec::new(),
                },
                charge_codes: Vec::new(),
            });
        }
        let codes: Vec<Vec<String>> = self
            .charges
            .iter()
            .map(|a| self.charge_codes(Some(a.spec().metric.code())))
            .collect();
        let names = self.routing.charges.iter().map(|(code, _)| code);
        for ((a, code), codes) in self.charges.into_iter().zip(names).zip(codes) {
            let (buckets, warnings, rejected) =
                a.finish_for_usage(usage_bucket).map_err(|e| match e {
                    AggregateError::Arithmetic { context, source } => AggregateError::Arithmetic {
                        context: format!("charge {code:?}: {context}"),
                        source,
                    },
                    other => other,
                })?;
            for warning in warnings {
                out.warnings.push(ChargeWarning {
                    warning,
                    charge_codes: vec![code.clone()],
                });
            }
            // Charges sharing a metric reject the same events: once each.
            for event in rejected {
                if !out
                    .rejected
                    .iter()
                    .any(|r| r.event.index == event.index && r.event.code == event.code)
                {
                    out.rejected.push(ChargeRejection {
                        event,
                        charge_codes: codes.clone(),
                    });
                }
            }
            out.buckets.push((code.clone(), buckets));
        }
        out.rejected.sort_by_key(|r| r.event.index);
        Ok(out)
    }
}

/// Names the charge in a setup error's violations.
fn in_charge(code: &str, e: SetupError) -> SetupError {
    match e {
        SetupError::Invalid(mut v) => {
            for x in &mut v.violations {
                x.message = format!("charge {code:?}: {}", x.message);
            }
            SetupError::Invalid(v)
        }
        SetupError::Unsupported(m) => SetupError::Unsupported(format!("charge {code:?}: {m}")),
    }
}

/// The aggregation of one plan charge (§1.3): its metric, model, flags,
/// filters and group keys, in current usage.
fn aggregation_spec(
    pc: &PlanCharge,
    period: crate::aggregate::BillingPeriod,
    state: CarriedState,
    strict_filters: bool,
) -> Result<AggregationSpec, SetupError> {
    let c = pc.charge();
    let filters = if c.filters.is_empty() {
        Filters::None
    } else {
        Filters::Charge(
            c.filters
                .iter()
                .map(|f| {
                    ChargeFilterSpec::new(f.values.clone()).with_group_keys(f.group_keys.clone())
                })
                .collect(),
        )
    };
    let mut spec = AggregationSpec::new(MetricSpec::from_billable_metric(pc.metric())?, period);
    spec.charge = ChargeSpec {
        model: ChargeModelKind::from_name(c.model.name()).unwrap_or_default(),
        prorated: c.prorated,
        pay_in_advance: c.pay_in_advance,
        accepts_target_wallet: false,
        filters,
        group_keys: c.group_keys.clone(),
        presentation_keys: pc.presentation_group_keys().to_vec(),
    };
    spec.options = AggregationOptions {
        is_current_usage: true,
        strict_filters,
        ..AggregationOptions::default()
    };
    spec.state = state;
    Ok(spec)
}

/// An aggregated bucket as customer usage prices it (U4).
fn usage_bucket(mut r: BucketResult) -> UsageBucket {
    UsageBucket {
        usage: r.take_usage(),
        filter: match r.bucket {
            BucketId::Filter(i) => Some(i),
            BucketId::Default | BucketId::Matching => None,
        },
        grouped_by: r.grouped_by.take(),
        current_usage_units: r.current_usage_units,
        total_aggregated_units: r.total_aggregated_units,
        presentation_breakdowns: std::mem::take(&mut r.presentation_breakdowns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer_usage::UsagePeriod;

    #[test]
    fn clones_share_what_every_subscription_reads_alike() {
        let plan = Plan::from_lago_json(
            "EUR",
            r#"{"charges": [{"code": "gb", "charge_model": "standard",
              "properties": {"amount": "1", "pricing_group_keys": ["agent"]},
              "filters": [{"values": {"region": ["eu"]}, "properties": {"amount": "2"}}],
              "billable_metric": {"code": "storage", "name": "Storage",
                "aggregation_type": "sum_agg", "field_name": "gb"}}]}"#,
        )
        .unwrap();
        let period = UsagePeriod::parse("2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z").unwrap();
        let one = PlanAggregator::new(&plan, &period, &EventsSetup::default()).unwrap();
        let two = one.clone();
        // A billing run clones one aggregator per subscription: the routing
        // tables, the spec and the key lists are one copy for all.
        assert!(Arc::ptr_eq(&one.routing, &two.routing));
        let (a, b) = (&one.charges[0], &two.charges[0]);
        assert!(Arc::ptr_eq(&a.spec, &b.spec));
        assert!(Arc::ptr_eq(&a.route_keys, &b.route_keys));
        assert!(Arc::ptr_eq(&a.filter_keys, &b.filter_keys));
        // The filter's bucket (its properties name no group keys), then
        // the default bucket, grouped by agent.
        let agent = a.key("agent").unwrap();
        let keys: Vec<&[usize]> = a.buckets.iter().map(|x| &*x.group_keys).collect();
        assert_eq!(keys, [&[][..], &[agent][..]]);
        for (x, y) in a.buckets.iter().zip(&b.buckets) {
            assert!(Arc::ptr_eq(&x.group_keys, &y.group_keys));
        }
    }
}
