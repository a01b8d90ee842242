//! The streaming aggregator: events in, one at a time or in batches, in
//! any order; per (bucket, group) results out.
//!
//! Memory is bounded by the number of groups for count, sum, max, latest,
//! weighted sum and unique count (whose state is one entry per distinct
//! value). Only what order-dependent outputs need is kept per event —
//! running totals and per-event values, prorated values, the operations
//! of a prorated unique count — and sorted by `(timestamp, input order)`
//! at the end (AD2).

use std::sync::Arc;

use crate::aggregate::accumulator::EventOrder;
use crate::aggregate::event::{EventMeta, Properties, RejectCode, RejectedEvent, Warning};
use crate::aggregate::fast_lookup::{Groups, Interner, MembershipCache, RouteCache};
use crate::aggregate::filters::{BucketId, Choice, FilterValues, Filters, Keys, Rule};
use crate::aggregate::group::Observation;
use crate::aggregate::metric::SetupError;
use crate::aggregate::route::{buckets, route_keys, rule_keys};
use crate::aggregate::spec::{AggregationSpec, ChargeModelKind, WeightedSumInitial};
use crate::aggregate::time::Timestamp;
use crate::aggregate::value::{Value, numeric_value};
use crate::error::ArithmeticError;
use crate::plan::AggregationType;

/// One bucket: its rule, group keys and groups.
#[derive(Debug, Clone)]
pub(crate) struct BucketState {
    pub(crate) id: BucketId,
    /// `None`: every event (a charge without filters).
    pub(crate) rule: Option<Rule>,
    /// Shared by the aggregator's clones, as the spec is.
    pub(crate) group_keys: Arc<[usize]>,
    pub(crate) group_names: Vec<String>,
    /// The charge filter's values as given (for [`crate::Bucket`]).
    pub(crate) filter_values: Option<FilterValues>,
    pub(crate) groups: Groups,
}

/// The window's upper bound (A7, A9).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Upper {
    /// `timestamp ≤ t`.
    At(Timestamp),
    /// A persisted pay-in-advance event: up to it in input order (A9).
    UpTo(EventOrder),
}

impl Upper {
    #[inline]
    pub(crate) fn admits(self, o: EventOrder) -> bool {
        match self {
            Upper::At(t) => o.timestamp <= t,
            Upper::UpTo(e) => o <= e,
        }
    }
}

/// The pay-in-advance event (A57), read before the other events.
#[derive(Debug, Clone)]
pub(crate) struct Advance {
    pub(crate) transaction_id: String,
    pub(crate) order: EventOrder,
    pub(crate) persisted: bool,
    /// `properties` is empty (Lago's `event.properties.blank?`).
    pub(crate) blank: bool,
    /// A17 with AD8: the field as a number, 0 when missing or not numeric.
    pub(crate) value: crate::exact::Exact,
    pub(crate) add: bool,
    /// The field value, for A57's `active_unique_property`.
    pub(crate) target: Option<OwnedValue>,
    /// Its group's encoded key (its label, `route::encode_text`).
    pub(crate) group_key: Box<[u8]>,
    pub(crate) precise: Option<crate::exact::Exact>,
}

/// A property value kept beyond its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedValue {
    Null,
    Bool(bool),
    Number(crate::exact::Exact),
    Text(String),
}

impl OwnedValue {
    pub(crate) fn of(v: Value<'_>) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            Value::Number(raw) => match crate::exact::parse_scientific(raw, 56) {
                Ok(x) => Self::Number(x),
                Err(_) => Self::Text(raw.to_string()),
            },
            Value::String(s) | Value::Composite(s) => Self::Text(s.to_string()),
        }
    }

    /// JSON containment of one value (A57), type-sensitive.
    pub(crate) fn contains(&self, v: Value<'_>) -> bool {
        match (self, v) {
            (Self::Null, Value::Null) => true,
            (Self::Bool(a), Value::Bool(b)) => *a == b,
            (Self::Number(a), Value::Number(raw)) => {
                crate::exact::parse_scientific(raw, 56).is_ok_and(|b| *a == b)
            }
            (Self::Text(a), Value::String(b) | Value::Composite(b)) => a == b,
            _ => false,
        }
    }
}

/// Streams events into per-bucket, per-group aggregations.
///
/// ```
/// use meterprice::{AggregationSpec, Aggregator, MetricSpec, EventMeta,
///     MetricDefinition, BillingPeriod, Timestamp, Value};
/// let mut def = MetricDefinition::default();
/// def.code = "storage".into();
/// def.aggregation_type = "sum_agg".into();
/// def.field_name = Some("gb".into());
/// let period = BillingPeriod::new(Timestamp::parse("2024-03-01T00:00:00Z")?,
///                          Timestamp::parse("2024-03-31T23:59:59Z")?)?;
/// let spec = AggregationSpec::new(MetricSpec::new(def)?, period);
/// let mut agg = Aggregator::new(spec)?;
/// let gb = agg.key("gb").unwrap();
/// for (i, v) in ["1.5", "2", "foo"].iter().enumerate() {
///     let mut slots = vec![None; agg.keys().len()];
///     slots[gb] = Some(Value::String(v));
///     let t = Timestamp::parse("2024-03-10T00:00:00Z")?;
///     agg.push(&EventMeta::new("tx", i as u64, t), slots.as_slice());
/// }
/// let result = agg.finish()?;
/// // "foo" is not numeric (A13): left out of value and count.
/// assert_eq!(result.buckets[0].aggregation.to_string(), "3.5");
/// assert_eq!(result.buckets[0].events_count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Aggregator {
    /// Shared by the clones of an aggregator (a billing run makes one per
    /// subscription): one copy for all.
    pub(crate) spec: Arc<AggregationSpec>,
    pub(crate) kind: AggregationType,
    pub(crate) keys: Keys,
    pub(crate) field: Option<usize>,
    pub(crate) op: Option<usize>,
    pub(crate) vars: Vec<usize>,
    /// `per_event.grouped_by_values` as (key id, text).
    pub(crate) listed: Vec<(usize, Option<String>)>,
    pub(crate) buckets: Vec<BucketState>,
    /// Each bucket's presentation shadow (U10), in bucket order; empty
    /// when the charge has no presentation keys.
    pub(crate) shadows: Vec<BucketState>,
    /// Lago-mode rules of the filter buckets, kept to report overlaps in
    /// strict mode (C9).
    pub(crate) overlap_rules: Vec<Rule>,
    pub(crate) choice: Option<Choice>,
    pub(crate) advance: Option<Advance>,
    pub(crate) lower: Timestamp,
    pub(crate) upper: Upper,
    pub(crate) records: bool,
    pub(crate) initial_from_events: bool,
    pub(crate) rejected: Vec<RejectedEvent>,
    /// Unique-count values, numbered.
    pub(crate) interner: Interner,
    /// The keys any bucket rule reads, and memberships by their texts.
    pub(crate) filter_keys: Arc<[usize]>,
    pub(crate) memberships: Option<MembershipCache>,
    pub(crate) filter_buf: Vec<u8>,
    /// Every filter and group key, and the routes by their texts.
    pub(crate) route_keys: Arc<[usize]>,
    pub(crate) routes: RouteCache,
    pub(crate) route_buf: Vec<u8>,
    pub(crate) overlaps: (u64, Vec<String>),
    /// Events of the period left out by A13 (field missing or not numeric).
    pub(crate) excluded: (u64, Vec<String>),
    pub(crate) other_codes: u64,
    /// A total that left the decimal range: the aggregation fails.
    pub(crate) failed: Option<AggregateError>,
    pub(crate) key_buf: Vec<u8>,
}

/// Why an aggregation could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AggregateError {
    /// A figure beyond the decimal range; names the bucket and group or
    /// the event.
    #[error("{context}: {source}")]
    Arithmetic {
        /// Where.
        context: String,
        /// The arithmetic error.
        source: ArithmeticError,
    },
    /// The pay-in-advance event itself cannot count.
    #[error("pay_in_advance_event: {0}")]
    Event(String),
}

impl Aggregator {
    /// An aggregator for `spec`, in arrears or for current usage.
    ///
    /// # Errors
    /// [`SetupError`] for charge rules the metric breaks (C13: prorated or
    /// paid in advance where Lago forbids it, dynamic without `sum_agg`)
    /// and charge filters that do not fit the metric.
    pub fn new(spec: AggregationSpec) -> Result<Self, SetupError> {
        spec.check()?;
        let kind = spec.metric.aggregation_type();
        let mut keys = Keys::default();
        let field = spec.metric.field_name().map(|f| keys.id(f));
        let op = (kind == AggregationType::UniqueCount).then(|| keys.id("operation_type"));
        let vars = spec
            .metric
            .expression()
            .map(|e| e.variables().iter().map(|v| keys.id(v)).collect())
            .unwrap_or_default();
        let listed = spec
            .options
            .per_event
            .as_ref()
            .and_then(|p| p.grouped_by_values.as_ref())
            .map(|g| g.iter().map(|(k, v)| (keys.id(k), v.clone())).collect())
            .unwrap_or_default();
        let buckets = buckets(&spec, &mut keys);
        let shadows = crate::aggregate::breakdown::shadows(&spec, &buckets, &mut keys);
        let (choice, overlap_rules) = match &spec.charge.filters {
            Filters::Charge(list) => (
                Some(Choice::compile(list, spec.metric.filters(), &mut keys)),
                buckets
                    .iter()
                    .filter_map(|b| b.rule.clone())
                    .take(list.len())
                    .collect(),
            ),
            _ => (None, Vec::new()),
        };
        let filter_keys = rule_keys(&buckets, choice.as_ref());
        let route_keys = route_keys(&filter_keys, &buckets);
        let memberships =
            (!filter_keys.is_empty() && buckets.len() <= 64).then(MembershipCache::default);
        let records = records_needed(&spec);
        let initial_from_events = kind == AggregationType::WeightedSum
            && spec.metric.recurring()
            && matches!(
                spec.state.weighted_sum_initial,
                None | Some(WeightedSumInitial::FromEvents)
            );
        Ok(Self {
            kind,
            keys,
            field,
            op,
            vars,
            listed,
            buckets,
            shadows,
            overlap_rules,
            choice,
            advance: None,
            lower: spec.period.lower(),
            upper: Upper::At(spec.period.upper()),
            records,
            initial_from_events,
            rejected: Vec::new(),
            interner: Interner::default(),
            route_keys: route_keys.into(),
            filter_keys: filter_keys.into(),
            memberships,
            filter_buf: Vec::new(),
            routes: RouteCache::default(),
            route_buf: Vec::new(),
            overlaps: (0, Vec::new()),
            excluded: (0, Vec::new()),
            other_codes: 0,
            failed: None,
            key_buf: Vec::new(),
            spec: Arc::new(spec),
        })
    }

    /// The property names the aggregator reads; a [`Properties`] slot
    /// array is aligned with them.
    pub fn keys(&self) -> &[Box<str>] {
        &self.keys.names
    }

    /// The slot of property `name`, when the aggregator reads it.
    pub fn key(&self, name: &str) -> Option<usize> {
        self.keys.names.iter().position(|n| &**n == name)
    }

    /// The spec.
    pub fn spec(&self) -> &AggregationSpec {
        &self.spec
    }

    /// Takes one event. An event that cannot count (its expression fails,
    /// its value is out of range) is recorded as rejected; an event of
    /// another metric code is counted in a warning. A total that leaves
    /// the decimal range makes [`Aggregator::finish`] fail, naming the
    /// event.
    pub fn push<P: Properties + ?Sized>(&mut self, meta: &EventMeta<'_>, props: &P) {
        if meta.code.is_some_and(|c| c != self.spec.metric.code()) {
            self.other_codes += 1;
            return;
        }
        let computed = match self.evaluate(meta, props) {
            Ok(c) => c,
            Err(r) => return self.rejected.push(r),
        };
        let view = View {
            props,
            field: self.field,
            computed: computed.as_deref(),
        };
        let obs = match self.observe(meta, &view) {
            Ok(Some(o)) => o,
            Ok(None) => return,
            Err(r) => return self.rejected.push(r),
        };
        if let Err(source) = self.route(meta, &obs, &view)
            && self.failed.is_none()
        {
            // A total beyond the range is never rounded or left short.
            self.failed = Some(AggregateError::Arithmetic {
                context: format!("adding event {:?}", meta.transaction_id),
                source,
            });
        }
    }

    /// Takes a batch of events.
    pub fn push_batch<'e, P: Properties + 'e>(
        &mut self,
        events: impl IntoIterator<Item = (EventMeta<'e>, &'e P)>,
    ) {
        for (meta, props) in events {
            self.push(&meta, props);
        }
    }

    /// Takes an event whose properties are (name, value) pairs.
    pub fn push_named(&mut self, meta: &EventMeta<'_>, pairs: &[(&str, Value<'_>)]) {
        let keys = std::mem::take(&mut self.keys.names);
        let named = crate::aggregate::event::Named::new(&keys, pairs);
        self.push(meta, &named);
        self.keys.names = keys;
    }

    /// A3: the expression's result for this event, stored as the field.
    pub(crate) fn evaluate<P: Properties + ?Sized>(
        &self,
        meta: &EventMeta<'_>,
        props: &P,
    ) -> Result<Option<String>, RejectedEvent> {
        let Some(expr) = self.spec.metric.expression() else {
            return Ok(None);
        };
        let code = meta.code.unwrap_or(self.spec.metric.code());
        let got = expr.evaluate(code, meta.timestamp, |i| {
            self.vars.get(i).and_then(|&k| props.get(k))
        });
        match got {
            Ok(v) => Ok(Some(v.property_text())),
            Err(e) => Err(RejectedEvent::new(
                Some(meta.transaction_id),
                meta.seq,
                RejectCode::ExpressionEvaluationFailed,
                format!("event {:?}: expression failed: {e}", meta.transaction_id),
            )),
        }
    }

    /// The event as groups see it, or `None` when it is outside the
    /// type's scope (A7, A8, A13): it then creates no group (A29).
    fn observe<P: Properties + ?Sized>(
        &mut self,
        meta: &EventMeta<'_>,
        view: &View<'_, P>,
    ) -> Result<Option<Observation>, RejectedEvent> {
        let order = EventOrder::new(meta.timestamp, meta.seq);
        let field = self.field.and_then(|f| view.get(f));
        let value = if crate::aggregate::metric::is_numeric(self.kind) {
            numeric_value(field).map_err(|_| self.out_of_range(meta, field))?
        } else {
            None
        };
        if !self.upper.admits(order) {
            return Ok(None);
        }
        let in_window = meta.timestamp >= self.lower;
        if !self.in_scope(in_window) {
            return Ok(None);
        }
        if crate::aggregate::metric::is_numeric(self.kind) && value.is_none() {
            note(&mut self.excluded, meta);
            return Ok(None);
        }
        let add = self
            .op
            .and_then(|k| view.get(k))
            .is_none_or(|v| matches!(v, Value::Null) || v.text_eq("add"));
        Ok(Some(Observation {
            order,
            in_window,
            before_from: meta.timestamp < self.spec.period.from,
            value,
            property: if self.kind == AggregationType::UniqueCount {
                let text = field
                    .filter(|v| !matches!(v, Value::Null))
                    .and_then(|v| v.text());
                text.map(|t| self.interner.id(&t))
            } else {
                None
            },
            add,
            precise: meta.precise_total_amount_cents,
            listed: self
                .listed
                .iter()
                .all(|(k, want)| group_text(view.get(*k)).as_deref() == want.as_deref()),
        }))
    }

    fn out_of_range(&self, meta: &EventMeta<'_>, field: Option<Value<'_>>) -> RejectedEvent {
        RejectedEvent::new(
            Some(meta.transaction_id),
            meta.seq,
            RejectCode::ArithmeticOverflow,
            format!(
                "event {:?}: {} {:?} is beyond the decimal range (|x| < 2^96, at most 28 fractional digits)",
                meta.transaction_id,
                self.spec.metric.field_name().unwrap_or(""),
                field.and_then(|v| v.text()).unwrap_or_default()
            ),
        )
    }

    /// Whether an event inside the upper bound counts for the type: in the
    /// window, or before it for recurring sums and unique counts (A8),
    /// prorated values (A45, A46) and a weighted sum's initial value
    /// (AD3).
    fn in_scope(&self, in_window: bool) -> bool {
        in_window
            || match self.kind {
                AggregationType::Sum | AggregationType::UniqueCount => self.spec.metric.recurring(),
                AggregationType::WeightedSum => self.initial_from_events,
                _ => false,
            }
    }

    /// Takes in another aggregator of the same spec fed with other events
    /// (their `seq` numbers distinct from this one's).
    ///
    /// # Errors
    /// [`AggregateError::Arithmetic`] when a merged figure overflows.
    pub fn merge(&mut self, other: Aggregator) -> Result<(), AggregateError> {
        if let Some(e) = other.failed {
            return Err(e);
        }
        self.rejected.extend(other.rejected);
        self.other_codes += other.other_codes;
        self.overlaps.0 += other.overlaps.0;
        let room = Warning::MAX_IDS.saturating_sub(self.overlaps.1.len());
        self.overlaps
            .1
            .extend(other.overlaps.1.into_iter().take(room));
        let texts = other.interner;
        let mut ids = |id| self.interner.id(texts.text(id));
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            merge_bucket(mine, theirs, &mut ids)?;
        }
        for (mine, theirs) in self.shadows.iter_mut().zip(other.shadows) {
            merge_bucket(mine, theirs, &mut ids)?;
        }
        Ok(())
    }

    /// Warnings so far (AD4 overlaps, events of other metric codes).
    pub(crate) fn warnings(&self) -> Vec<Warning> {
        let mut w = Vec::new();
        if self.overlaps.0 > 0 {
            w.push(Warning {
                code: "overlapping_filters",
                message: format!(
                    "{} event(s) matched several charge filters{} (AD4); the first {} are listed",
                    self.overlaps.0,
                    if self.spec.options.strict_filters {
                        " and were given to one bucket each (strict mode)"
                    } else {
                        " and count in each of their buckets, as in Lago"
                    },
                    self.overlaps.1.len()
                ),
                transaction_ids: self.overlaps.1.clone(),
            });
        }
        if self.excluded.0 > 0 {
            w.push(Warning {
                code: "non_numeric_values",
                message: format!(
                    "{} event(s) of the period have no numeric {:?} (missing, null, or not matching ^-?\\d+(\\.\\d+)?$) and are left out of value and count (A13, AD1); the first {} are listed",
                    self.excluded.0,
                    self.spec.metric.field_name().unwrap_or(""),
                    self.excluded.1.len()
                ),
                transaction_ids: self.excluded.1.clone(),
            });
        }
        if self.other_codes > 0 {
            w.push(Warning {
                code: "unknown_metric_code",
                message: format!(
                    "{} event(s) carry another code than the metric's {:?} and were not aggregated (A4)",
                    self.other_codes,
                    self.spec.metric.code()
                ),
                transaction_ids: Vec::new(),
            });
        }
        w
    }

    /// Sets up the pay-in-advance mode (A57): one bucket, one group, the
    /// window ending at the event.
    pub(crate) fn set_advance(&mut self, advance: Advance, bucket: BucketId) {
        self.buckets.retain(|b| b.id == bucket);
        // One event's step has no breakdowns in current usage.
        self.shadows.clear();
        self.upper = if advance.persisted {
            Upper::UpTo(advance.order)
        } else {
            Upper::At(advance.order.timestamp)
        };
        self.advance = Some(advance);
    }

    pub(crate) fn view<'p, P: Properties + ?Sized>(
        &self,
        props: &'p P,
        computed: Option<&'p str>,
    ) -> View<'p, P> {
        View {
            props,
            field: self.field,
            computed,
        }
    }

    pub(crate) fn field_slot(&self) -> Option<usize> {
        self.field
    }

    pub(crate) fn op_slot(&self) -> Option<usize> {
        self.op
    }
}

/// Takes in the groups of the same bucket from another aggregator, its
/// interned values renumbered by `ids`.
fn merge_bucket(
    mine: &mut BucketState,
    theirs: BucketState,
    ids: &mut impl FnMut(u32) -> u32,
) -> Result<(), AggregateError> {
    for mut g in theirs.groups.into_vec() {
        g.remap(&mut *ids);
        match mine.groups.position(g.key()) {
            Some(i) => {
                if let Some(slot) = mine.groups.get_mut(i) {
                    slot.merge(g).map_err(|source| AggregateError::Arithmetic {
                        context: format!("merging bucket {}", mine.id.label()),
                        source,
                    })?;
                }
            }
            None => {
                mine.groups.push(g);
            }
        }
    }
    Ok(())
}

/// Whether per-event records are kept: sums' running totals and lists,
/// prorated sums, max per-event values.
fn records_needed(spec: &AggregationSpec) -> bool {
    let listing =
        spec.charge.model == ChargeModelKind::Percentage || spec.options.per_event.is_some();
    match spec.metric.aggregation_type() {
        AggregationType::Sum => {
            spec.charge.prorated || spec.options.free_units.is_some() || listing
        }
        AggregationType::Max => listing,
        _ => false,
    }
}

/// Counts an event in a warning, listing its id while there is room.
pub(crate) fn note(tally: &mut (u64, Vec<String>), meta: &EventMeta<'_>) {
    tally.0 += 1;
    if tally.1.len() < Warning::MAX_IDS {
        tally.1.push(meta.transaction_id.to_string());
    }
}

/// An event's properties with the expression's result in place of the
/// field (A3).
pub(crate) struct View<'p, P: ?Sized> {
    pub(crate) props: &'p P,
    pub(crate) field: Option<usize>,
    pub(crate) computed: Option<&'p str>,
}

impl<P: Properties + ?Sized> View<'_, P> {
    #[inline]
    pub(crate) fn get(&self, key: usize) -> Option<Value<'_>> {
        match self.computed {
            Some(c) if Some(key) == self.field => Some(Value::String(c)),
            _ => self.props.get(key),
        }
    }
}

/// A28 with AD6: the group text, `None` for missing, `null` and `""`.
pub(crate) fn group_text(v: Option<Value<'_>>) -> Option<String> {
    v.filter(|v| !v.is_blank())
        .and_then(|v| v.text())
        .map(|t| t.into_owned())
}
