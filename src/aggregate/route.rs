//! Which buckets and groups an event goes to: the buckets of a spec
//! (A18), their rules and A26's choice (§5), AD4's strict mode, and the
//! group keys and labels (§6, A28 with AD6).

use crate::aggregate::aggregator::{Advance, Aggregator, BucketState, View, note};
use crate::aggregate::breakdown::present;
use crate::aggregate::event::{EventMeta, Properties};
use crate::aggregate::fast_lookup::{Groups, Membership, Route};
use crate::aggregate::filters::{self, BucketId, Choice, Filters, Keys, Rule};
use crate::aggregate::group::{Acc, Group, Observation};
use crate::aggregate::spec::AggregationSpec;
use crate::aggregate::value::Value;
use crate::error::ArithmeticError;
use crate::plan::AggregationType;

impl Aggregator {
    /// The (bucket, group) pairs an event goes to (A21–A24, or A26 in
    /// strict mode; §6), and the overlap warning (AD4). They depend only on
    /// the texts of the filter and group keys, so they are cached by them.
    pub(crate) fn route<P: Properties + ?Sized>(
        &mut self,
        meta: &EventMeta<'_>,
        obs: &Observation,
        view: &View<'_, P>,
    ) -> Result<(), ArithmeticError> {
        if !self.routes.is_on() {
            return self.route_in_full(meta, obs, view).map(drop);
        }
        let mut key = std::mem::take(&mut self.route_buf);
        key.clear();
        for &k in self.route_keys.iter() {
            encode_value(view.get(k), &mut key);
        }
        let result = match self.routes.get(&key) {
            Some(route) => {
                if route.overlap && self.advance.is_none() {
                    note(&mut self.overlaps, meta);
                }
                let (buckets, advance, records) = (&mut self.buckets, &self.advance, self.records);
                let (shadows, scratch) = (&mut self.shadows, &mut self.key_buf);
                route.targets().iter().try_for_each(|&(b, g)| {
                    let group = buckets
                        .get_mut(b as usize)
                        .and_then(|bucket| bucket.groups.get_mut(g as usize));
                    match group {
                        Some(group) => {
                            if let Some(adv) = advance {
                                track_prior(group, adv, obs, view, self.field);
                            }
                            group.update(obs, records)?;
                            present(shadows, b as usize, obs, view, &self.spec, scratch)
                        }
                        None => Ok(()),
                    }
                })
            }
            None => {
                let route = self.route_in_full(meta, obs, view)?;
                self.routes.put(&key, route);
                Ok(())
            }
        };
        self.route_buf = key;
        result
    }

    /// Routes an event through the bucket rules (by filter-key texts, with
    /// their own cache) and the group lookups, creating groups.
    fn route_in_full<P: Properties + ?Sized>(
        &mut self,
        meta: &EventMeta<'_>,
        obs: &Observation,
        view: &View<'_, P>,
    ) -> Result<Route, ArithmeticError> {
        let get = |k: usize| view.get(k);
        let Some(cache) = &self.memberships else {
            return self.route_uncached(meta, obs, view);
        };
        let mut key = std::mem::take(&mut self.filter_buf);
        key.clear();
        for &k in self.filter_keys.iter() {
            encode_value(get(k), &mut key);
        }
        let m = match cache.get(&key) {
            Some(m) => m,
            None => {
                let m = self.membership(&get);
                if let Some(cache) = &mut self.memberships {
                    cache.put(&key, m);
                }
                m
            }
        };
        self.filter_buf = key;
        if m.overlap && self.advance.is_none() {
            note(&mut self.overlaps, meta);
        }
        let mut route = Route::empty(m.overlap);
        let mut bits = m.buckets;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if let Some(g) = self.add_to_bucket(b, obs, view)? {
                route.push((b as u32, g as u32));
            }
        }
        Ok(route)
    }

    /// The buckets (at most 64) an event with these properties goes to.
    pub(crate) fn membership<'v>(&self, get: &impl Fn(usize) -> Option<Value<'v>>) -> Membership {
        let strict = self.spec.options.strict_filters;
        if let (true, Some(choice)) = (strict, &self.choice) {
            let hits = self.overlap_rules.iter().filter(|r| r.admits(get)).count();
            let target = choice
                .choose(get)
                .map_or(BucketId::Default, BucketId::Filter);
            let b = self.buckets.iter().position(|b| b.id == target);
            return Membership {
                buckets: b.map_or(0, |b| 1 << b),
                overlap: hits >= 2,
            };
        }
        let (mut buckets, mut hits) = (0u64, 0);
        for (i, b) in self.buckets.iter().enumerate() {
            if b.rule.as_ref().is_none_or(|r| r.admits(get)) {
                buckets |= 1 << i;
                hits += usize::from(matches!(b.id, BucketId::Filter(_)));
            }
        }
        Membership {
            buckets,
            overlap: hits >= 2,
        }
    }

    /// Routing without the cache (more than 64 buckets, or no filter).
    pub(crate) fn route_uncached<P: Properties + ?Sized>(
        &mut self,
        meta: &EventMeta<'_>,
        obs: &Observation,
        view: &View<'_, P>,
    ) -> Result<Route, ArithmeticError> {
        let get = |k: usize| view.get(k);
        let strict = self.spec.options.strict_filters;
        let target = match (strict, &self.choice) {
            (true, Some(choice)) => Some(
                choice
                    .choose(&get)
                    .map_or(BucketId::Default, BucketId::Filter),
            ),
            _ => None,
        };
        let mut hits = 0;
        let mut route = Route::empty(false);
        for b in 0..self.buckets.len() {
            let Some(bucket) = self.buckets.get(b) else {
                break;
            };
            let lago = bucket.rule.as_ref().is_none_or(|r| r.admits(&get));
            hits += usize::from(lago && matches!(bucket.id, BucketId::Filter(_)));
            if target.map_or(lago, |t| t == bucket.id)
                && let Some(g) = self.add_to_bucket(b, obs, view)?
            {
                route.push((b as u32, g as u32));
            }
        }
        if hits >= 2 && self.advance.is_none() {
            note(&mut self.overlaps, meta);
        }
        route.overlap = hits >= 2;
        Ok(route)
    }

    /// Adds the event to its group of bucket `b` (created on first use);
    /// the group's index, `None` when the event is not in the pay-in-advance
    /// event's group.
    pub(crate) fn add_to_bucket<P: Properties + ?Sized>(
        &mut self,
        b: usize,
        obs: &Observation,
        view: &View<'_, P>,
    ) -> Result<Option<usize>, ArithmeticError> {
        let mut key = std::mem::take(&mut self.key_buf);
        key.clear();
        let Some(bucket) = self.buckets.get_mut(b) else {
            return Ok(None);
        };
        for &k in bucket.group_keys.iter() {
            encode_group_value(view.get(k), &mut key);
        }
        let records = self.records;
        let result = match &self.advance {
            Some(adv) if *adv.group_key != *key => Ok(None),
            advance => {
                let (i, g) = group_slot(bucket, &key, self.kind, &self.spec)?;
                if let Some(adv) = advance {
                    track_prior(g, adv, obs, view, self.field);
                }
                g.update(obs, records).map(|()| Some(i))
            }
        };
        self.key_buf = key;
        if let Ok(Some(_)) = result {
            let scratch = &mut self.key_buf;
            present(&mut self.shadows, b, obs, view, &self.spec, scratch)?;
        }
        result
    }

    /// The bucket an event goes to by A26 (strict mode and pay in advance),
    /// and its group key in that bucket (the label, encoded).
    pub(crate) fn place<P: Properties + ?Sized>(
        &self,
        props: &View<'_, P>,
    ) -> (BucketId, Box<[u8]>) {
        let get = |k: usize| props.get(k);
        let id = match (&self.spec.charge.filters, &self.choice) {
            (Filters::Raw { .. }, _) => BucketId::Matching,
            (_, Some(choice)) => choice
                .choose(&get)
                .map_or(BucketId::Default, BucketId::Filter),
            _ => BucketId::Default,
        };
        let mut key = Vec::new();
        if let Some(b) = self.buckets.iter().find(|b| b.id == id) {
            for &k in b.group_keys.iter() {
                encode_group_value(props.get(k), &mut key);
            }
        }
        (id, key.into_boxed_slice())
    }
}

/// A text (or null) in a lookup key: a tag, the bytes, and `0xFF`, a byte
/// UTF-8 never holds, as the end.
#[inline]
pub(crate) fn encode_text(text: Option<&str>, out: &mut Vec<u8>) {
    match text {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            // Byte by byte: these texts are short, and a copy call costs more.
            out.extend(t.as_bytes().iter().copied());
            out.push(0xFF);
        }
    }
}

/// A label as a lookup key.
pub(crate) fn encode_label(label: &[Option<String>]) -> Box<[u8]> {
    let mut key = Vec::new();
    for v in label {
        encode_text(v.as_deref(), &mut key);
    }
    key.into_boxed_slice()
}

/// The texts of a lookup key made by [`encode_text`], borrowed.
pub(crate) fn decode_texts(key: &[u8]) -> impl Iterator<Item = Option<&str>> {
    // The key was encoded from texts: always UTF-8.
    decode_bytes(key).map(|b| b.map(|b| std::str::from_utf8(b).unwrap_or_default()))
}

/// The texts of a lookup key made by [`encode_text`], as bytes: to order
/// by (text order is byte order), without checking UTF-8.
pub(crate) fn decode_bytes(mut key: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    std::iter::from_fn(move || {
        let (&tag, rest) = key.split_first()?;
        if tag == 0 {
            key = rest;
            return Some(None);
        }
        // Keys are short: a plain search (`memchr` is not in the core).
        let end = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
        let text = rest.get(..end).unwrap_or_default();
        key = rest.get(end + 1..).unwrap_or_default();
        Some(Some(text))
    })
}

/// A property's A12 text in a lookup key (`null` and missing alike).
#[inline]
pub(crate) fn encode_value(v: Option<Value<'_>>, out: &mut Vec<u8>) {
    match v {
        Some(Value::String(s)) => encode_text(Some(s), out),
        Some(v) => encode_text(v.text().as_deref(), out),
        None => encode_text(None, out),
    }
}

/// A group value in a lookup key: `""` is `null` too (AD6).
#[inline]
pub(crate) fn encode_group_value(v: Option<Value<'_>>, out: &mut Vec<u8>) {
    encode_value(v.filter(|v| !v.is_blank()), out);
}

/// Every key a route depends on: the filter keys and every bucket's
/// group keys.
pub(crate) fn route_keys(filter_keys: &[usize], buckets: &[BucketState]) -> Vec<usize> {
    let mut keys: Vec<usize> = filter_keys
        .iter()
        .copied()
        .chain(buckets.iter().flat_map(|b| b.group_keys.iter().copied()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Every key a bucket rule or the A26 choice reads.
pub(crate) fn rule_keys(buckets: &[BucketState], choice: Option<&Choice>) -> Vec<usize> {
    let mut keys: Vec<usize> = buckets
        .iter()
        .filter_map(|b| b.rule.as_ref())
        .flat_map(|r| r.keys())
        .chain(choice.into_iter().flat_map(Choice::keys))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The group of `key` in `bucket`, created on first use.
pub(crate) fn group_slot<'b>(
    bucket: &'b mut BucketState,
    key: &[u8],
    kind: AggregationType,
    spec: &AggregationSpec,
) -> Result<(usize, &'b mut Group), ArithmeticError> {
    let make = || {
        let acc = Acc::new(kind, spec.charge.prorated, spec.period.to.ceil_s());
        Group::new(key, acc)
    };
    bucket
        .groups
        .find_or_insert(key, make)
        .ok_or(ArithmeticError::new("group index"))
}

/// A57's `active_unique_property`: the latest earlier event (strictly
/// before the pay-in-advance event) with the same field value.
pub(crate) fn track_prior<P: Properties + ?Sized>(
    g: &mut Group,
    adv: &Advance,
    obs: &Observation,
    view: &View<'_, P>,
    field: Option<usize>,
) {
    if obs.order.timestamp >= adv.order.timestamp || obs.order == adv.order {
        return;
    }
    let matches = match (&adv.target, field.and_then(|f| view.get(f))) {
        (Some(t), Some(v)) => t.contains(v),
        (None, Some(Value::Null)) => true,
        _ => false,
    };
    if matches && g.prior().is_none_or(|(o, _)| obs.order > o) {
        g.set_prior((obs.order, obs.add));
    }
}

/// The buckets of a spec, in output order: filters, then the default.
pub(crate) fn buckets(spec: &AggregationSpec, keys: &mut Keys) -> Vec<BucketState> {
    let wallet = spec.charge.accepts_target_wallet;
    let group_keys = |names: &[String], keys: &mut Keys| {
        let mut names = names.to_vec();
        if wallet && !names.iter().any(|n| n == "target_wallet_code") {
            names.push("target_wallet_code".into());
        }
        let ids = names.iter().map(|n| keys.id(n)).collect();
        (ids, names)
    };
    let bucket = |id, rule, (group_keys, group_names), filter_values| BucketState {
        id,
        rule,
        group_keys,
        group_names,
        filter_values,
        groups: Groups::default(),
    };
    let charge_keys = &spec.charge.group_keys;
    match &spec.charge.filters {
        Filters::None => vec![bucket(
            BucketId::Default,
            None,
            group_keys(charge_keys, keys),
            None,
        )],
        Filters::Raw { matching, ignored } => {
            let scope = filters::FilterScope {
                matching: matching.clone(),
                ignored: ignored.clone(),
            };
            let rule = Rule::compile(&scope, keys);
            vec![bucket(
                BucketId::Matching,
                Some(rule),
                group_keys(charge_keys, keys),
                None,
            )]
        }
        Filters::Charge(list) => {
            let metric = spec.metric.filters();
            let mut out = Vec::with_capacity(list.len() + 1);
            for (i, f) in list.iter().enumerate() {
                let rule = Rule::compile(&filters::scope(list, metric, Some(i)), keys);
                let gk = group_keys(&f.group_keys, keys);
                out.push(bucket(
                    BucketId::Filter(i),
                    Some(rule),
                    gk,
                    Some(f.values.clone()),
                ));
            }
            let rule = Rule::compile(&filters::scope(list, metric, None), keys);
            out.push(bucket(
                BucketId::Default,
                Some(rule),
                group_keys(charge_keys, keys),
                None,
            ));
            out
        }
    }
}
