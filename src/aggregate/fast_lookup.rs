//! Performance tricks of the per-event path, kept here: seeded swiss
//! tables (hashbrown with foldhash, minimally DoS-resistant) instead of
//! SipHash; values interned once so that groups key them by a `u32`; a
//! set of transaction ids whose text lives in one arena (no allocation per
//! id); and a cache of bucket membership by the event's filter-key texts,
//! so that the filter rules run once per distinct combination.

use std::hash::{BuildHasher, Hash};

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};

use crate::aggregate::accumulator::EventOrder;

/// The map of the hot paths.
pub(crate) type FastMap<K, V> = HashMap<K, V>;

/// Distinct texts, numbered in order of first sight.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    ids: FastMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl Interner {
    /// The id of `text`, assigning the next one on first sight.
    #[inline]
    pub(crate) fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.texts.push(text.into());
        self.ids.insert(text.into(), id);
        id
    }

    /// The text of `id`.
    pub(crate) fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |t| t)
    }
}

/// Transaction ids seen, their bytes in one arena; each entry keeps its
/// hash, so growing the table never hashes the ids again.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdSet {
    arena: String,
    table: HashTable<(u64, usize, usize)>,
    hasher: DefaultHashBuilder,
}

impl IdSet {
    /// Whether `id` is new (and remembers it).
    #[inline]
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id);
        let arena = &self.arena;
        let same = |&(h, start, len): &(u64, usize, usize)| {
            h == hash && arena.get(start..start + len) == Some(id)
        };
        if self.table.find(hash, same).is_some() {
            return false;
        }
        let start = self.arena.len();
        self.arena.push_str(id);
        self.table
            .insert_unique(hash, (hash, start, id.len()), |&(h, _, _)| h);
        true
    }
}

/// Per key, the last operation in [`EventOrder`] and whether it adds
/// (A37); a missing value is one key of its own (QA7).
#[derive(Debug, Clone)]
pub(crate) struct LastOps<K> {
    map: FastMap<K, (EventOrder, bool)>,
    null: Option<(EventOrder, bool)>,
}

impl<K> Default for LastOps<K> {
    fn default() -> Self {
        Self {
            map: FastMap::default(),
            null: None,
        }
    }
}

impl<K: Hash + Eq> LastOps<K> {
    /// Records an operation on `key` (`None`: the missing value); an
    /// existing key is found without building one (`own` builds it).
    #[inline]
    pub(crate) fn update<Q>(
        &mut self,
        key: Option<&Q>,
        order: EventOrder,
        add: bool,
        own: impl FnOnce(&Q) -> K,
    ) where
        Q: Hash + hashbrown::Equivalent<K> + ?Sized,
    {
        let last = match key {
            None => &mut self.null,
            Some(k) => match self.map.get_mut(k) {
                Some(slot) => {
                    if order > slot.0 {
                        *slot = (order, add);
                    }
                    return;
                }
                None => {
                    self.map.insert(own(k), (order, add));
                    return;
                }
            },
        };
        if last.is_none_or(|(o, _)| order > o) {
            *last = Some((order, add));
        }
    }

    /// The keys whose last operation adds.
    pub(crate) fn adds(&self) -> u64 {
        let adds = self.map.values().filter(|(_, add)| *add).count() as u64;
        adds + u64::from(self.null.is_some_and(|(_, add)| add))
    }

    /// Every key's last operation, the missing value as `None`.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Option<&K>, (EventOrder, bool))> {
        self.map
            .iter()
            .map(|(k, v)| (Some(k), *v))
            .chain(self.null.map(|v| (None, v)))
    }
}

/// Where an event goes, as a function of its filter-key texts: a bit per
/// bucket, and whether it matched several filters (AD4's warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) buckets: u64,
    pub(crate) overlap: bool,
}

/// Memberships by encoded filter-key texts, for up to 64 buckets; it stops
/// growing at `CAP` combinations (then rules run for new ones).
#[derive(Debug, Clone, Default)]
pub(crate) struct MembershipCache {
    map: FastMap<Box<[u8]>, Membership>,
}

impl MembershipCache {
    const CAP: usize = 1 << 14;

    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<Membership> {
        self.map.get(key).copied()
    }

    pub(crate) fn put(&mut self, key: &[u8], m: Membership) {
        if self.map.len() < Self::CAP {
            self.map.insert(key.into(), m);
        }
    }
}
