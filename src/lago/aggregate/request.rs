//! An `aggregate` request (aggregation.md §16 without `expected`): the
//! metric, period, charge side, options and state, read with serde (they
//! are small); the events stay raw text for the event reader.

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use crate::aggregate::{
    AggregationOptions, AggregationSpec, BillingPeriod, BucketId, CachedAggregation, CarriedState,
    ChargeFilterSpec, ChargeModelKind, ChargeSpec, FilterValues, Filters, FreeUnits, GroupLabel,
    MetricDefinition, MetricFilter, MetricSpec, PerEvent, SetupError, TimeZone, Timestamp,
    WeightedSumInitial,
};
use crate::error::Violation;
use crate::exact::Exact;
use crate::lago::decimal::parse_decimal;
use crate::lago::raw::RawJson;

/// The request's top level.
#[derive(Deserialize)]
pub(crate) struct Request<'a> {
    #[serde(borrow)]
    pub(crate) id: Option<RawJson<'a>>,
    #[serde(borrow)]
    billable_metric: Option<Metric<'a>>,
    #[serde(borrow)]
    period: Option<Period<'a>>,
    #[serde(borrow)]
    pub(crate) events: Option<RawJson<'a>>,
    #[serde(borrow)]
    charge: Option<Charge<'a>>,
    charge_filters: Option<Vec<ChargeFilter>>,
    matching_filters: Option<OrderedValues>,
    ignored_filters: Option<Vec<OrderedValues>>,
    pricing_group_keys: Option<Vec<String>>,
    #[serde(borrow)]
    options: Option<Options<'a>>,
    #[serde(borrow)]
    pub(crate) pay_in_advance_event: Option<RawJson<'a>>,
    #[serde(borrow)]
    cached_aggregations: Option<Vec<Cached<'a>>>,
    #[serde(borrow)]
    weighted_sum_initial: Option<RawJson<'a>>,
    per_event: Option<PerEventIn>,
}

/// Only the id, to echo it when the request does not read.
#[derive(Deserialize)]
pub(crate) struct IdOnly<'a> {
    #[serde(borrow)]
    pub(crate) id: Option<RawJson<'a>>,
}

/// `{"persisted": false}` of the pay-in-advance event.
#[derive(Deserialize)]
pub(crate) struct Persisted {
    pub(crate) persisted: Option<bool>,
}

#[derive(Deserialize)]
struct Metric<'a> {
    code: Option<String>,
    aggregation_type: Option<String>,
    field_name: Option<String>,
    recurring: Option<bool>,
    rounding_function: Option<String>,
    #[serde(borrow)]
    rounding_precision: Option<RawJson<'a>>,
    weighted_interval: Option<String>,
    expression: Option<String>,
    filters: Option<Vec<MetricFilterIn>>,
}

#[derive(Deserialize)]
struct MetricFilterIn {
    key: String,
    values: Vec<TextValue>,
}

#[derive(Deserialize)]
struct Period<'a> {
    #[serde(borrow)]
    from_datetime: Option<RawJson<'a>>,
    #[serde(borrow)]
    to_datetime: Option<RawJson<'a>>,
    charges_duration: Option<i64>,
    timezone: Option<String>,
    #[serde(borrow)]
    max_timestamp: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct Charge<'a> {
    charge_model: Option<&'a str>,
    prorated: Option<bool>,
    pay_in_advance: Option<bool>,
    accepts_target_wallet: Option<bool>,
}

#[derive(Deserialize)]
struct ChargeFilter {
    values: OrderedValues,
    pricing_group_keys: Option<Vec<String>>,
    grouped_by: Option<Vec<String>>,
    created_rank: Option<i64>,
}

#[derive(Deserialize)]
struct Options<'a> {
    #[serde(borrow)]
    free_units_per_events: Option<RawJson<'a>>,
    #[serde(borrow)]
    free_units_per_total_aggregation: Option<RawJson<'a>>,
    is_current_usage: Option<bool>,
    is_pay_in_advance: Option<bool>,
    strict_filters: Option<bool>,
}

#[derive(Deserialize)]
struct Cached<'a> {
    #[serde(borrow)]
    current_aggregation: RawJson<'a>,
    #[serde(borrow)]
    max_aggregation: RawJson<'a>,
    #[serde(borrow)]
    max_aggregation_with_proration: Option<RawJson<'a>>,
    grouped_by: Option<OrderedLabel>,
    event_transaction_id: Option<String>,
    bucket: Option<String>,
    #[serde(borrow)]
    timestamp: Option<RawJson<'a>>,
}

#[derive(Deserialize)]
struct PerEventIn {
    grouped_by_values: Option<OrderedLabel>,
}

#[derive(Deserialize)]
struct InitialGroup<'a> {
    groups: OrderedLabel,
    #[serde(borrow)]
    value: RawJson<'a>,
}

/// A string, or a number or boolean taken as its text (A12).
struct TextValue(Option<String>);

impl<'de> Deserialize<'de> for TextValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            return serde_json::from_str::<String>(text)
                .map(|s| TextValue(Some(s)))
                .map_err(de::Error::custom);
        }
        match text {
            "null" => Ok(TextValue(None)),
            "true" | "false" => Ok(TextValue(Some(text.to_string()))),
            t if t.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) => {
                Ok(TextValue(Some(
                    crate::aggregate::numeric_text(t).map_or(t.to_string(), |c| c.into_owned()),
                )))
            }
            _ => Err(de::Error::custom(
                "expected a string, a number or a boolean",
            )),
        }
    }
}

/// A JSON object read in the order written.
struct Ordered<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    out.retain(|(old, _)| *old != k);
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V2(std::marker::PhantomData))
    }
}

type OrderedValues = Ordered<Vec<TextValue>>;
type OrderedLabel = Ordered<TextValue>;

fn filter_values(o: &OrderedValues) -> FilterValues {
    o.0.iter()
        .map(|(k, vs)| (k.clone(), vs.iter().filter_map(|v| v.0.clone()).collect()))
        .collect()
}

/// A group label: text values, `""` read as `null` (AD6).
fn label(o: &OrderedLabel) -> GroupLabel {
    o.0.iter()
        .map(|(k, v)| (k.clone(), v.0.clone().filter(|s| !s.is_empty())))
        .collect()
}

/// Collects violations while reading the parts.
struct Check(Vec<Violation>, Option<String>);

impl Check {
    fn bad(&mut self, field: &str, code: &'static str, message: String) {
        self.0.push(Violation::new(field, code, message));
    }

    fn decimal(&mut self, field: &str, raw: RawJson<'_>) -> Option<Exact> {
        let text = raw.get();
        let inner = serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string());
        match parse_decimal(&inner) {
            Ok(x) => Some(x),
            Err(_) => {
                self.bad(
                    field,
                    "value_is_invalid",
                    format!("{field}: {text} is not a decimal in range"),
                );
                None
            }
        }
    }

    fn instant(
        &mut self,
        field: &str,
        raw: Option<RawJson<'_>>,
        required: bool,
    ) -> Option<Timestamp> {
        let Some(raw) = raw.filter(|r| r.get() != "null") else {
            if required {
                self.bad(
                    field,
                    "value_is_mandatory",
                    format!("period.{field} is missing"),
                );
            }
            return None;
        };
        let text = raw.get();
        let inner = serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string());
        match Timestamp::parse_read_by(&inner, |t| parse_decimal(t).ok()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.bad(field, "invalid_date", format!("period.{field}: {e}"));
                None
            }
        }
    }
}

impl Request<'_> {
    /// The spec, or every broken rule at once.
    pub(crate) fn spec(&self) -> Result<AggregationSpec, SetupError> {
        let mut check = Check(Vec::new(), None);
        let metric = self.metric(&mut check);
        let period = self.period(&mut check);
        let charge = self.charge(&mut check);
        let options = self.options(&mut check);
        let state = self.state(&mut check);
        let metric = match metric {
            Some(def) => match MetricSpec::new(def) {
                Ok(m) => Some(m),
                Err(SetupError::Invalid(v)) => {
                    check.0.extend(v.violations);
                    None
                }
                Err(other) => return Err(other),
            },
            None => None,
        };
        if let Some(why) = check.1 {
            return Err(SetupError::Unsupported(why));
        }
        let (Some(metric), Some(period), Some(charge), true) =
            (metric, period, charge, check.0.is_empty())
        else {
            return Err(SetupError::Invalid(crate::error::ValidationError {
                violations: check.0,
            }));
        };
        let spec = AggregationSpec {
            metric,
            period,
            charge,
            options,
            state,
        };
        Ok(spec)
    }

    fn metric(&self, check: &mut Check) -> Option<MetricDefinition> {
        let Some(m) = &self.billable_metric else {
            check.bad(
                "billable_metric",
                "value_is_mandatory",
                "billable_metric is missing".into(),
            );
            return None;
        };
        let precision = m
            .rounding_precision
            .filter(|r| r.get() != "null")
            .and_then(|r| {
                let p = crate::lago::raw::json_integer(r.get()).and_then(|i| i64::try_from(i).ok());
                if p.is_none() {
                    check.bad(
                        "rounding_precision",
                        "value_is_invalid",
                        format!("rounding_precision {} is not an integer", r.get()),
                    );
                }
                p
            });
        let def = MetricDefinition {
            code: m.code.clone().unwrap_or_default(),
            aggregation_type: m.aggregation_type.clone().unwrap_or_default(),
            field_name: m.field_name.clone(),
            recurring: m.recurring.unwrap_or(false),
            rounding_function: m.rounding_function.clone(),
            rounding_precision: precision,
            weighted_interval: m.weighted_interval.clone(),
            expression: m.expression.clone(),
            filters: m
                .filters
                .iter()
                .flatten()
                .map(|f| MetricFilter {
                    key: f.key.clone(),
                    values: f.values.iter().filter_map(|v| v.0.clone()).collect(),
                })
                .collect(),
        };
        Some(def)
    }

    fn period(&self, check: &mut Check) -> Option<BillingPeriod> {
        let Some(p) = &self.period else {
            check.bad("period", "value_is_mandatory", "period is missing".into());
            return None;
        };
        let from = check.instant("from_datetime", p.from_datetime, true);
        let to = check.instant("to_datetime", p.to_datetime, true);
        let max = check.instant("max_timestamp", p.max_timestamp, false);
        let tz = match p.timezone.as_deref() {
            None | Some("UTC") => Some(TimeZone::utc()),
            Some(name) => TimeZone::named(name).or_else(|| {
                check.bad(
                    "timezone",
                    "invalid_timezone",
                    format!("timezone {name:?} is not an IANA time zone"),
                );
                None
            }),
        };
        let period = BillingPeriod::new(from?, to?).map_err(|e| {
            check.bad("to_datetime", "invalid_date_range", format!("period: {e}"));
        });
        let mut period = period.ok()?.with_timezone(tz?);
        if let Some(m) = max {
            period = period.with_max_timestamp(m);
        }
        match p.charges_duration {
            None => Some(period),
            Some(d) => match u32::try_from(d)
                .ok()
                .and_then(|d| period.clone().with_charges_duration(d).ok())
            {
                Some(p) => Some(p),
                None => {
                    check.bad(
                        "charges_duration",
                        "value_is_out_of_range",
                        format!("period.charges_duration {d} must be a whole number of days ≥ 1"),
                    );
                    None
                }
            },
        }
    }

    fn charge(&self, check: &mut Check) -> Option<ChargeSpec> {
        let c = self.charge.as_ref();
        let model = match c.and_then(|c| c.charge_model) {
            None => ChargeModelKind::Standard,
            Some(name) => match ChargeModelKind::from_name(name) {
                Some(m) => m,
                None if name == "custom" => {
                    check.1 = Some(
                        "charge_model \"custom\" is not supported by meterprice (AD10)".into(),
                    );
                    return None;
                }
                None => {
                    check.bad(
                        "charge_model",
                        "value_is_invalid",
                        format!("charge_model {name:?} is not a Lago charge model"),
                    );
                    return None;
                }
            },
        };
        let filters = match (
            &self.charge_filters,
            &self.matching_filters,
            &self.ignored_filters,
        ) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                check.bad(
                    "charge_filters",
                    "value_is_invalid",
                    "give charge_filters or matching_filters/ignored_filters, not both".into(),
                );
                return None;
            }
            (Some(list), None, None) => Filters::Charge(list.iter().map(charge_filter).collect()),
            (None, None, None) => Filters::None,
            (None, m, i) => Filters::Raw {
                matching: m.as_ref().map(filter_values).unwrap_or_default(),
                ignored: i.iter().flatten().map(filter_values).collect(),
            },
        };
        Some(ChargeSpec {
            model,
            prorated: c.and_then(|c| c.prorated).unwrap_or(false),
            pay_in_advance: c.and_then(|c| c.pay_in_advance).unwrap_or(false),
            accepts_target_wallet: c.and_then(|c| c.accepts_target_wallet).unwrap_or(false),
            filters,
            group_keys: self.pricing_group_keys.clone().unwrap_or_default(),
            presentation_keys: Vec::new(),
        })
    }

    fn options(&self, check: &mut Check) -> AggregationOptions {
        let o = self.options.as_ref();
        let n = o
            .and_then(|o| o.free_units_per_events)
            .filter(|r| r.get() != "null");
        let t = o
            .and_then(|o| o.free_units_per_total_aggregation)
            .filter(|r| r.get() != "null");
        let free_units = (n.is_some() || t.is_some()).then(|| FreeUnits {
            per_events: n.map_or(0, |r| ruby_to_i(check, r)),
            per_total_aggregation: t
                .and_then(|r| {
                    let x = check.decimal("free_units_per_total_aggregation", r)?;
                    if x.is_negative() {
                        check.bad(
                            "free_units_per_total_aggregation",
                            "invalid_free_units_per_total_aggregation",
                            format!("free_units_per_total_aggregation {x} is negative"),
                        );
                    }
                    Some(x)
                })
                .unwrap_or(Exact::ZERO),
        });
        AggregationOptions {
            free_units,
            is_current_usage: o.and_then(|o| o.is_current_usage).unwrap_or(false),
            is_pay_in_advance: o.and_then(|o| o.is_pay_in_advance),
            strict_filters: o.and_then(|o| o.strict_filters).unwrap_or(false),
            per_event: self.per_event.as_ref().map(|p| PerEvent {
                grouped_by_values: p.grouped_by_values.as_ref().map(label),
            }),
        }
    }

    fn state(&self, check: &mut Check) -> CarriedState {
        let cached = self
            .cached_aggregations
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, c)| cached(check, i, c))
            .collect();
        CarriedState {
            cached_aggregations: cached,
            weighted_sum_initial: self
                .weighted_sum_initial
                .filter(|r| r.get() != "null")
                .and_then(|r| initial(check, r)),
        }
    }
}

fn charge_filter(f: &ChargeFilter) -> ChargeFilterSpec {
    let keys = f
        .pricing_group_keys
        .clone()
        .filter(|k| !k.is_empty())
        .or_else(|| f.grouped_by.clone())
        .unwrap_or_default();
    let mut spec = ChargeFilterSpec::new(filter_values(&f.values)).with_group_keys(keys);
    spec.created_rank = f.created_rank;
    spec
}

/// Ruby's `to_i`: an integer, a number's integer part, or a string's
/// leading digits.
fn ruby_to_i(check: &mut Check, raw: RawJson<'_>) -> u64 {
    let text = raw.get();
    let inner = serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string());
    let t = inner.trim_start();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lead: String = digits.chars().take_while(char::is_ascii_digit).collect();
    let n = lead
        .parse::<u64>()
        .unwrap_or(if lead.is_empty() { 0 } else { u64::MAX });
    if negative && n > 0 {
        check.bad(
            "free_units_per_events",
            "invalid_free_units_per_events",
            format!("free_units_per_events {text} is negative"),
        );
    }
    n
}

fn cached(check: &mut Check, i: usize, c: &Cached<'_>) -> Option<CachedAggregation> {
    let field = |f: &str| format!("cached_aggregations[{i}].{f}");
    let current = check.decimal(&field("current_aggregation"), c.current_aggregation);
    let max = check.decimal(&field("max_aggregation"), c.max_aggregation);
    let mawp = c
        .max_aggregation_with_proration
        .filter(|r| r.get() != "null")
        .map(|r| check.decimal(&field("max_aggregation_with_proration"), r));
    let bucket = match c.bucket.as_deref() {
        None | Some("default") => Some(BucketId::Default),
        Some("filter") => Some(BucketId::Matching),
        Some(b) => match b.strip_prefix("filter:").and_then(|i| i.parse().ok()) {
            Some(i) => Some(BucketId::Filter(i)),
            None => {
                check.bad(
                    &field("bucket"),
                    "value_is_invalid",
                    format!("{b:?} is not a bucket"),
                );
                None
            }
        },
    };
    let timestamp = check.instant(&field("timestamp"), c.timestamp, false);
    let mut out = CachedAggregation::new(current?, max?).with_bucket(bucket?);
    out.grouped_by = c.grouped_by.as_ref().map(label).unwrap_or_default();
    out.max_aggregation_with_proration = mawp.flatten();
    out.event_transaction_id = c.event_transaction_id.clone();
    out.timestamp = timestamp;
    Some(out)
}

fn initial(check: &mut Check, raw: RawJson<'_>) -> Option<WeightedSumInitial> {
    let text = raw.get();
    if text.starts_with('[') {
        let groups: Vec<InitialGroup<'_>> = match serde_json::from_str(text) {
            Ok(g) => g,
            Err(e) => {
                check.bad(
                    "weighted_sum_initial",
                    "value_is_invalid",
                    format!("weighted_sum_initial: {e}"),
                );
                return None;
            }
        };
        let list = groups
            .iter()
            .filter_map(|g| {
                Some((
                    label(&g.groups),
                    check.decimal("weighted_sum_initial", g.value)?,
                ))
            })
            .collect();
        return Some(WeightedSumInitial::Groups(list));
    }
    if text == "\"from_events\"" {
        return Some(WeightedSumInitial::FromEvents);
    }
    check
        .decimal("weighted_sum_initial", raw)
        .map(WeightedSumInitial::Value)
}

/// A usage request's `state.charges.<code>` (usage-json.md, §1.5).
#[derive(Deserialize)]
struct StateIn<'a> {
    #[serde(borrow)]
    cached_aggregations: Option<Vec<Cached<'a>>>,
    #[serde(borrow)]
    weighted_sum_initial: Option<RawJson<'a>>,
}

/// Reads one charge's carried state as `aggregate` reads it: the outer
/// error is text that does not have the shape, the inner one the rules
/// its fields break.
pub(crate) fn carried_state(text: &str) -> Result<Result<CarriedState, Vec<Violation>>, String> {
    let s: StateIn<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut check = Check(Vec::new(), None);
    let cached_aggregations = s
        .cached_aggregations
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, c)| cached(&mut check, i, c))
        .collect();
    let weighted_sum_initial = s
        .weighted_sum_initial
        .filter(|r| r.get() != "null")
        .and_then(|r| initial(&mut check, r));
    if !check.0.is_empty() {
        return Ok(Err(check.0));
    }
    Ok(Ok(CarriedState {
        cached_aggregations,
        weighted_sum_initial,
    }))
}
