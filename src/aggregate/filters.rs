//! Charge filters into buckets (§5): `__ALL_FILTER_VALUES__` (A19), the
//! matching and ignored filters of each bucket (A21–A24), the one filter
//! a pay-in-advance event goes to (A26), and AD4's strict mode.

use crate::aggregate::metric::MetricFilter;
use crate::aggregate::value::Value;
use crate::error::Violation;

/// The filter value that stands for every value of the metric filter.
pub const ALL_FILTER_VALUES: &str = "__ALL_FILTER_VALUES__";

/// Property key → allowed values, in the order given.
pub type FilterValues = Vec<(String, Vec<String>)>;

/// One charge filter (§1.3), in filter order (`updated_at` ascending).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ChargeFilterSpec {
    /// Key → values; a list `["__ALL_FILTER_VALUES__"]` stands for the
    /// metric filter's values.
    pub values: FilterValues,
    /// The filter's own pricing group keys (A27).
    pub group_keys: Vec<String>,
    /// Creation order, for identical filters (A22: the oldest counts);
    /// the filter's index when not given.
    pub created_rank: Option<i64>,
}

impl ChargeFilterSpec {
    /// A filter with these values.
    pub fn new(values: FilterValues) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }

    /// Groups the filter's bucket by `keys`.
    #[must_use]
    pub fn with_group_keys(mut self, keys: Vec<String>) -> Self {
        self.group_keys = keys;
        self
    }
}

/// How a charge's events are split into buckets (A18).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Filters {
    /// No charge filters: one bucket (`default`) holds every event.
    #[default]
    None,
    /// Charge filters: one bucket per filter (`filter:<i>`), then the
    /// default bucket for the events that match none.
    Charge(Vec<ChargeFilterSpec>),
    /// One bucket (`filter`) given directly by its matching and ignored
    /// filters (as Lago's store receives them).
    Raw {
        /// A21: every key must match.
        matching: FilterValues,
        /// A23: an event matching any of these is left out.
        ignored: Vec<FilterValues>,
    },
}

/// Which bucket a result belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BucketId {
    /// Charge filter `i` (`"filter:<i>"`).
    Filter(usize),
    /// The events no filter takes (`"default"`), or all of them.
    Default,
    /// The bucket of raw matching/ignored filters (`"filter"`).
    Matching,
}

impl BucketId {
    /// `"default"`, `"filter:<i>"` or `"filter"`.
    pub fn label(self) -> String {
        match self {
            BucketId::Default => "default".into(),
            BucketId::Filter(i) => format!("filter:{i}"),
            BucketId::Matching => "filter".into(),
        }
    }
}

/// The matching and ignored filters of one bucket (A21–A24), as Lago's
/// `MatchingAndIgnoredService` gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilterScope {
    /// Every key must match one of its values.
    pub matching: FilterValues,
    /// An event matching all keys of any entry is left out.
    pub ignored: Vec<FilterValues>,
}

/// A19 `to_h_with_all_values`: the filter's values with
/// `__ALL_FILTER_VALUES__` replaced by the metric filter's current values.
pub(crate) fn full_values(filter: &ChargeFilterSpec, metric: &[MetricFilter]) -> FilterValues {
    filter
        .values
        .iter()
        .map(|(key, values)| {
            let all = values.len() == 1 && values.first().is_some_and(|v| v == ALL_FILTER_VALUES);
            let values = match metric.iter().find(|m| &m.key == key) {
                Some(m) if all => m.values.clone(),
                _ => values.clone(),
            };
            (key.clone(), values)
        })
        .collect()
}

/// Checks charge filters against the metric: each has values, and an
/// `__ALL_FILTER_VALUES__` list names a metric filter key.
pub(crate) fn check(filters: &[ChargeFilterSpec], metric: &[MetricFilter]) -> Vec<Violation> {
    let mut v = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        if f.values.is_empty() {
            v.push(Violation::new(
                "charge_filters",
                "value_is_mandatory",
                format!("charge_filters[{i}].values is empty"),
            ));
        }
        for (key, values) in &f.values {
            if values.is_empty() {
                v.push(Violation::new(
                    "charge_filters",
                    "value_is_mandatory",
                    format!("charge_filters[{i}].values.{key} is empty"),
                ));
            }
            let all = values.iter().any(|x| x == ALL_FILTER_VALUES);
            if all && !metric.iter().any(|m| &m.key == key) {
                v.push(Violation::new(
                    "charge_filters",
                    "value_is_invalid",
                    format!(
                        "charge_filters[{i}].values.{key}: {ALL_FILTER_VALUES} needs a metric filter with key {key:?}"
                    ),
                ));
            }
        }
    }
    v
}

fn get<'m>(map: &'m FilterValues, key: &str) -> Option<&'m Vec<String>> {
    map.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn sorted(values: &[String]) -> Vec<&String> {
    let mut s: Vec<&String> = values.iter().collect();
    s.sort();
    s
}

/// A22: the matching and ignored filters of bucket `current` (`None`:
/// the default bucket, A24).
pub(crate) fn scope(
    filters: &[ChargeFilterSpec],
    metric: &[MetricFilter],
    current: Option<usize>,
) -> FilterScope {
    let full: Vec<FilterValues> = filters.iter().map(|f| full_values(f, metric)).collect();
    let matching = current
        .and_then(|i| full.get(i).cloned())
        .unwrap_or_default();
    let rank = |i: usize| {
        filters
            .get(i)
            .and_then(|f| f.created_rank)
            .map_or((i64::try_from(i).unwrap_or(i64::MAX), i), |r| (r, i))
    };
    let mut ignored = Vec::new();
    for (i, child) in full.iter().enumerate() {
        if Some(i) == current {
            continue;
        }
        let overlaps = matching
            .iter()
            .all(|(k, vals)| get(child, k).is_some_and(|c| vals.iter().any(|v| c.contains(v))));
        if !overlaps {
            continue;
        }
        let mut r = child.clone();
        let mut keys_r: Vec<&String> = r.iter().map(|(k, _)| k).collect();
        let mut keys_m: Vec<&String> = matching.iter().map(|(k, _)| k).collect();
        keys_r.sort();
        keys_m.sort();
        if keys_r == keys_m {
            let m_of = |k: &str| get(&matching, k).cloned().unwrap_or_default();
            let identical = r.iter().all(|(k, v)| sorted(v) == sorted(&m_of(k)));
            let subset = r.iter().all(|(k, v)| v.iter().all(|x| m_of(k).contains(x)));
            if identical {
                // The oldest of identical filters counts the events; the
                // default bucket (unsaved) is the newest of all.
                let older = current.is_none_or(|c| rank(i) < rank(c));
                if !older {
                    continue;
                }
            } else if !subset {
                let own = current.and_then(|c| filters.get(c));
                for (k, v) in &mut r {
                    let stored_all = own.and_then(|f| get(&f.values, k)).is_some_and(|s| {
                        s.len() == 1 && s.first().is_some_and(|x| x == ALL_FILTER_VALUES)
                    });
                    if !stored_all {
                        let m = m_of(k);
                        v.retain(|x| !m.contains(x));
                    }
                }
            }
        }
        ignored.push(r);
    }
    FilterScope { matching, ignored }
}

/// Key id → allowed texts.
pub(crate) type KeyValues = Vec<(usize, Box<[Box<str>]>)>;

impl FilterScope {
    /// The matching and ignored filters of bucket `current` among a
    /// charge's `filters` (`None`: the default bucket), as A22–A24 resolve
    /// them, with `__ALL_FILTER_VALUES__` expanded from the metric filters
    /// (A19).
    ///
    /// ```
    /// use meterprice::{ChargeFilterSpec, FilterScope, MetricFilter};
    /// let metric = [MetricFilter { key: "size".into(), values: vec!["512".into(), "1024".into()] }];
    /// let f = |v: &[&str]| ChargeFilterSpec::new(vec![("size".into(), v.iter().map(|s| s.to_string()).collect())]);
    /// let filters = [f(&["__ALL_FILTER_VALUES__"]), f(&["512"])];
    /// // The wider filter leaves the narrower one's events to it (A25).
    /// let scope = FilterScope::of(&filters, &metric, Some(0));
    /// assert_eq!(scope.matching, [("size".to_string(), vec!["512".to_string(), "1024".to_string()])]);
    /// assert_eq!(scope.ignored, [vec![("size".to_string(), vec!["512".to_string()])]]);
    /// ```
    pub fn of(
        filters: &[ChargeFilterSpec],
        metric: &[MetricFilter],
        current: Option<usize>,
    ) -> Self {
        scope(filters, metric, current)
    }
}

/// A26: the one charge filter a pay-in-advance event (or, in strict mode,
/// any event) goes to — the filter with the most keys among those whose
/// every key the event has with a listed value (only metric filter keys
/// count), the first on ties; `None` is the default bucket.
pub fn event_filter(
    filters: &[ChargeFilterSpec],
    metric: &[MetricFilter],
    properties: &[(&str, Value<'_>)],
) -> Option<usize> {
    let mut keys = Keys::default();
    let choice = Choice::compile(filters, metric, &mut keys);
    let get = |k: usize| {
        let name = keys.names.get(k)?;
        properties
            .iter()
            .rev()
            .find(|(n, _)| *n == &**name)
            .map(|(_, v)| *v)
    };
    choice.choose(&get)
}

/// A compiled bucket rule: key ids into the aggregator's key table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rule {
    pub(crate) matching: KeyValues,
    /// A23: empty lists dropped, empty entries skipped.
    pub(crate) ignored: Vec<KeyValues>,
}

/// Interns property keys; every property the aggregation reads has an id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keys {
    pub(crate) names: Vec<Box<str>>,
}

impl Keys {
    pub(crate) fn id(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| &**n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.into());
                self.names.len() - 1
            }
        }
    }

    fn list(&mut self, map: &FilterValues) -> KeyValues {
        map.iter()
            .map(|(k, v)| (self.id(k), v.iter().map(|s| s.as_str().into()).collect()))
            .collect()
    }
}

impl Rule {
    pub(crate) fn compile(scope: &FilterScope, keys: &mut Keys) -> Self {
        let ignored = scope
            .ignored
            .iter()
            .map(|entry| {
                let kept: FilterValues = entry
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .cloned()
                    .collect();
                keys.list(&kept)
            })
            .filter(|e| !e.is_empty())
            .collect();
        Self {
            matching: keys.list(&scope.matching),
            ignored,
        }
    }

    /// The key ids the rule reads.
    pub(crate) fn keys(&self) -> impl Iterator<Item = usize> + '_ {
        self.matching
            .iter()
            .chain(self.ignored.iter().flatten())
            .map(|(k, _)| *k)
    }

    /// A21 and A23: every matching key's text is one of its values, and no
    /// ignored entry has all its keys' `coalesce(text, '')` in its lists.
    pub(crate) fn admits<'v>(&self, get: &impl Fn(usize) -> Option<Value<'v>>) -> bool {
        let matches = self
            .matching
            .iter()
            .all(|(k, values)| get(*k).is_some_and(|v| values.iter().any(|x| v.text_eq(x))));
        matches
            && !self.ignored.iter().any(|entry| {
                entry.iter().all(|(k, values)| {
                    let v = get(*k);
                    values.iter().any(|x| match v {
                        Some(v) if !matches!(v, Value::Null) => v.text_eq(x),
                        _ => x.is_empty(),
                    })
                })
            })
    }
}

/// A26: the filters an event can be given to, by their full values, with
/// the keys an event may present (the metric filter keys).
#[derive(Debug, Clone, Default)]
pub(crate) struct Choice {
    filters: Vec<KeyValues>,
}

impl Choice {
    pub(crate) fn compile(
        filters: &[ChargeFilterSpec],
        metric: &[MetricFilter],
        keys: &mut Keys,
    ) -> Self {
        let applicable = |k: &str| metric.is_empty() || metric.iter().any(|m| m.key == k);
        let filters = filters
            .iter()
            .map(|f| {
                let full = full_values(f, metric);
                // A key the metric does not filter on is never present.
                let usable = full.iter().all(|(k, _)| applicable(k));
                if usable { keys.list(&full) } else { Vec::new() }
            })
            .collect();
        Self { filters }
    }

    /// The key ids the choice reads.
    pub(crate) fn keys(&self) -> impl Iterator<Item = usize> + '_ {
        self.filters.iter().flatten().map(|(k, _)| *k)
    }

    /// The filter with the most keys among those whose every key the event
    /// has with a listed value; ties go to the first. `None`: the default
    /// bucket.
    pub(crate) fn choose<'v>(&self, get: &impl Fn(usize) -> Option<Value<'v>>) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, f) in self.filters.iter().enumerate() {
            if f.is_empty() {
                continue;
            }
            let all = f
                .iter()
                .all(|(k, values)| get(*k).is_some_and(|v| values.iter().any(|x| v.text_eq(x))));
            if all && best.is_none_or(|(_, n)| f.len() > n) {
                best = Some((i, f.len()));
            }
        }
        best.map(|(i, _)| i)
    }
}
