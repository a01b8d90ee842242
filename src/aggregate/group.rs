//! The state of one (bucket, group): the type's accumulator, and what the
//! order-dependent outputs need kept (per-event records, prorated
//! unique-count sequences).

use crate::aggregate::accumulator::{CountAcc, EventOrder, LatestAcc, SumAcc, WeightedSumAcc};
use crate::aggregate::compact::{CompactMax, CompactSum};
use crate::aggregate::fast_lookup::{FastMap, LastOps, SmallKey};
use crate::aggregate::route::{decode_bytes, decode_texts, encode_label};
use crate::aggregate::time::Timestamp;
use crate::error::ArithmeticError;
use crate::exact::{Exact, Figure};
use crate::plan::AggregationType;

/// One event as a group sees it.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub(crate) order: EventOrder,
    /// In `[floor_ms(from), upper]` (A7).
    pub(crate) in_window: bool,
    /// Before `from` (prorated sums' persisted part, A45).
    pub(crate) before_from: bool,
    /// The A13 value (numeric types).
    pub(crate) value: Option<Exact>,
    /// The field's A12 text, interned (unique counts; `None`: missing or
    /// `null`).
    pub(crate) property: Option<u32>,
    /// An add (`operation_type` missing, `null` or `"add"`, QA7).
    pub(crate) add: bool,
    pub(crate) precise: Option<Exact>,
    /// In the per-event list (`per_event.grouped_by_values`, if any).
    pub(crate) listed: bool,
}

/// A per-event record (time order restored at the end, AD2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) order: EventOrder,
    pub(crate) value: Exact,
    pub(crate) in_window: bool,
    pub(crate) listed: bool,
}

/// One operation of a prorated unique count: when, whether it adds, and
/// whether the event is in the per-event list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    pub(crate) order: EventOrder,
    pub(crate) add: bool,
    pub(crate) listed: bool,
}

/// The prorated unique count keeps each value's operations, by interned
/// value.
pub(crate) type Sequences = FastMap<Option<u32>, Vec<Operation>>;

#[derive(Debug, Clone)]
pub(crate) enum Acc {
    Count(CountAcc),
    /// In 24 bytes: a plain group stays small (`compact.rs`).
    Sum(CompactSum),
    Max(CompactMax),
    /// Boxed, as the unique counts: a plain group stays small.
    Latest(Box<LatestAcc>),
    /// A37 by interned value.
    Unique(Box<LastOps<u32>>),
    Weighted(Box<WeightedSumAcc>),
    /// A45: events before `from` and in the window, and Σ value × days
    /// (boxed, as the weighted sum: a plain group stays small).
    ProratedSum {
        persisted: Box<SumAcc>,
        current: Box<SumAcc>,
    },
    ProratedUnique(Box<Sequences>),
}

impl Acc {
    pub(crate) fn new(kind: AggregationType, prorated: bool, ws_end: Timestamp) -> Self {
        match (kind, prorated) {
            (AggregationType::Sum, true) => Acc::ProratedSum {
                persisted: Box::default(),
                current: Box::default(),
            },
            (AggregationType::UniqueCount, true) => Acc::ProratedUnique(Box::default()),
            (AggregationType::Count, _) => Acc::Count(CountAcc::default()),
            (AggregationType::Sum, _) => Acc::Sum(CompactSum::default()),
            (AggregationType::Max, _) => Acc::Max(CompactMax::default()),
            (AggregationType::Latest, _) => Acc::Latest(Box::default()),
            (AggregationType::UniqueCount, _) => Acc::Unique(Box::default()),
            (AggregationType::WeightedSum, _) => {
                Acc::Weighted(Box::new(WeightedSumAcc::new(ws_end)))
            }
        }
    }
}

/// One group of one bucket.
///
/// A run keeps one per (subscription, bucket, group) — hundreds of
/// thousands — so what only some charges need is boxed in [`Rare`], made
/// on first use: a plain group is its label, its accumulator and a count.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// The group's values in key order, encoded as the group's lookup key
    /// (`route::encode_label`): inline when short, where the label's
    /// vector of strings was an allocation per value and one more.
    key: SmallKey,
    pub(crate) acc: Acc,
    /// Listed events in the window (per-event lists of counts, A53).
    window_events: u64,
    rare: Option<Box<Rare>>,
}

/// A group's figures that only some charges need.
#[derive(Debug, Clone, Default)]
struct Rare {
    /// Σ `precise_total_amount_cents` of the period's events (A54, AD8).
    precise: Exact,
    records: Vec<Record>,
    /// Σ values before the period (AD3's weighted-sum initial value).
    before_sum: Exact,
    /// The latest earlier event with the pay-in-advance event's value, and
    /// whether it added (A57's `active_unique_property`).
    prior: Option<(EventOrder, bool)>,
}

const WHAT: &str = "aggregation";

impl Group {
    /// A group of encoded key `key` (see [`Group::from_label`]).
    pub(crate) fn new(key: &[u8], acc: Acc) -> Self {
        Self {
            key: SmallKey::new(key),
            acc,
            window_events: 0,
            rare: None,
        }
    }

    /// A group of label `label`.
    pub(crate) fn from_label(label: &[Option<String>], acc: Acc) -> Self {
        Self::new(&encode_label(label), acc)
    }

    /// The encoded key.
    pub(crate) fn key(&self) -> &[u8] {
        self.key.as_bytes()
    }

    /// The values in key order (`None`: null), borrowed from the key.
    pub(crate) fn values(&self) -> impl Iterator<Item = Option<&str>> {
        decode_texts(self.key.as_bytes())
    }

    /// The values in key order as bytes, to order by.
    pub(crate) fn value_bytes(&self) -> impl Iterator<Item = Option<&[u8]>> {
        decode_bytes(self.key.as_bytes())
    }

    /// The values in key order (`None`: null).
    pub(crate) fn label(&self) -> Vec<Option<String>> {
        self.values().map(|v| v.map(str::to_string)).collect()
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Listed events in the window (per-event lists of counts, A53).
    pub(crate) fn window_events(&self) -> u64 {
        self.window_events
    }

    /// Σ `precise_total_amount_cents` of the period's events (A54, AD8).
    pub(crate) fn precise(&self) -> Exact {
        self.rare.as_ref().map_or(Exact::ZERO, |r| r.precise)
    }

    /// The per-event records, in input order.
    pub(crate) fn records(&self) -> &[Record] {
        self.rare.as_ref().map_or(&[], |r| r.records.as_slice())
    }

    /// Σ values before the period (AD3's weighted-sum initial value).
    pub(crate) fn before_sum(&self) -> Exact {
        self.rare.as_ref().map_or(Exact::ZERO, |r| r.before_sum)
    }

    /// The latest earlier event with the pay-in-advance event's value, and
    /// whether it added (A57's `active_unique_property`).
    pub(crate) fn prior(&self) -> Option<(EventOrder, bool)> {
        self.rare.as_ref().and_then(|r| r.prior)
    }

    pub(crate) fn set_prior(&mut self, prior: (EventOrder, bool)) {
        self.rare().prior = Some(prior);
    }

    /// Takes one event in scope of the type (the caller checked A7/A8 and
    /// A13). `records` asks for per-event records.
    #[inline]
    pub(crate) fn update(&mut self, o: &Observation, records: bool) -> Result<(), ArithmeticError> {
        if o.in_window {
            self.window_events += u64::from(o.listed);
            if let Some(p) = o.precise {
                let rare = self.rare();
                rare.precise = rare.precise.plus(p).figure(WHAT)?;
            }
        }
        match &mut self.acc {
            Acc::Count(c) => c.update(),
            Acc::Sum(s) => {
                if let Some(v) = o.value {
                    s.update(v)?;
                }
            }
            Acc::Max(m) => {
                if let Some(v) = o.value {
                    m.update(v);
                }
            }
            Acc::Latest(l) => {
                if let Some(v) = o.value {
                    l.update(o.order, v);
                }
            }
            Acc::Unique(u) => u.update(o.property.as_ref(), o.order, o.add, |k: &u32| *k),
            Acc::Weighted(w) => match o.value {
                Some(v) if o.in_window => w.update(o.order.timestamp, v)?,
                Some(v) => {
                    let rare = self.rare.get_or_insert_with(Box::default);
                    rare.before_sum = rare.before_sum.plus(v).figure(WHAT)?;
                }
                None => {}
            },
            Acc::ProratedSum { persisted, current } => {
                if let Some(v) = o.value {
                    if o.before_from {
                        persisted.update(v)?;
                    }
                    if o.in_window {
                        current.update(v)?;
                    }
                }
            }
            Acc::ProratedUnique(seqs) => {
                seqs.entry(o.property).or_default().push(Operation {
                    order: o.order,
                    add: o.add,
                    listed: o.listed,
                });
            }
        }
        if records && let Some(v) = o.value {
            self.rare().records.push(Record {
                order: o.order,
                value: v,
                in_window: o.in_window,
                listed: o.listed,
            });
        }
        Ok(())
    }

    /// Renumbers interned values (another aggregator's into this one's).
    pub(crate) fn remap(&mut self, mut id: impl FnMut(u32) -> u32) {
        match &mut self.acc {
            Acc::Unique(u) => {
                let mut fresh = LastOps::default();
                for (k, (o, add)) in u.entries() {
                    fresh.update(k.map(|k| id(*k)).as_ref(), o, add, |k: &u32| *k);
                }
                **u = fresh;
            }
            Acc::ProratedUnique(seqs) => {
                **seqs = std::mem::take(&mut **seqs)
                    .into_iter()
                    .map(|(k, v)| (k.map(&mut id), v))
                    .collect();
            }
            _ => {}
        }
    }

    /// Takes in the same group's state from another aggregator.
    pub(crate) fn merge(&mut self, other: Group) -> Result<(), ArithmeticError> {
        self.window_events += other.window_events;
        if let Some(theirs) = other.rare {
            let mine = self.rare();
            mine.precise = mine.precise.plus(theirs.precise).figure(WHAT)?;
            mine.before_sum = mine.before_sum.plus(theirs.before_sum).figure(WHAT)?;
            mine.records.extend(theirs.records);
            if let Some(p) = theirs.prior
                && mine.prior.is_none_or(|m| p.0 > m.0)
            {
                mine.prior = Some(p);
            }
        }
        match (&mut self.acc, other.acc) {
            (Acc::Count(a), Acc::Count(b)) => a.merge(&b),
            (Acc::Sum(a), Acc::Sum(b)) => a.merge(&b)?,
            (Acc::Max(a), Acc::Max(b)) => a.merge(&b),
            (Acc::Latest(a), Acc::Latest(b)) => a.merge(&b),
            (Acc::Unique(a), Acc::Unique(b)) => {
                for (k, (o, add)) in b.entries() {
                    a.update(k, o, add, |k: &u32| *k);
                }
            }
            (Acc::Weighted(a), Acc::Weighted(b)) => a.merge(&b)?,
            (
                Acc::ProratedSum { persisted, current },
                Acc::ProratedSum {
                    persisted: p,
                    current: c,
                },
            ) => {
                persisted.merge(&p)?;
                current.merge(&c)?;
            }
            (Acc::ProratedUnique(a), Acc::ProratedUnique(b)) => {
                for (k, mut v) in *b {
                    a.entry(k).or_default().append(&mut v);
                }
            }
            // Aggregators of one spec have groups of one kind.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_decodes_from_its_key_as_it_was() {
        let some = |s: &str| Some(s.to_string());
        let labels = [
            vec![],
            vec![None],
            vec![some("")],
            vec![some("agent_1"), None, some("\u{e9}t\u{e9}"), some("")],
            vec![None, None],
            vec![some("a\u{0}b"), some("\u{1F600}")],
        ];
        for label in labels {
            let g = Group::from_label(&label, Acc::Count(CountAcc::default()));
            assert_eq!(g.label(), label);
        }
        // Distinct labels, distinct keys: a null is not an empty text.
        assert_ne!(encode_label(&[None]), encode_label(&[some("")]));
        assert_ne!(
            encode_label(&[some("ab")]),
            encode_label(&[some("a"), some("b")])
        );
    }

    #[test]
    fn a_plain_group_stays_small() {
        // A run holds one per (subscription, bucket, group): what only
        // some types need is boxed. Key 24 (inline up to 22 bytes, in
        // place of a 16-byte box and its allocation) + accumulator 32 (a
        // compact sum or maximum, 24, and the variant) + count 8 + the
        // rare part's box 8.
        assert_eq!(std::mem::size_of::<Acc>(), 32);
        assert!(std::mem::size_of::<Group>() <= 72);
    }
}
