//! Performance tricks of the per-event path, kept here: seeded swiss
//! tables (hashbrown with foldhash, minimally DoS-resistant) instead of
//! SipHash; values interned once, into one string, so that groups key
//! them by a `u32`; a set of transaction ids whose text lives in a few
//! chunks (no allocation per id); a bucket's groups found by their own
//! keys, kept inline when short ([`SmallKey`]); and caches of bucket
//! membership and routes by the event's key texts, so that the filter
//! rules run once per distinct combination.

use std::hash::{BuildHasher, Hash};

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, Equivalent, HashMap, HashTable};

use crate::aggregate::accumulator::EventOrder;
use crate::aggregate::group::Group;

/// The map of the hot paths.
pub(crate) type FastMap<K, V> = HashMap<K, V>;

/// Whether two byte strings are equal; an empty one is never handed to
/// `memcmp`.
///
/// An empty slice's pointer may dangle (address 1, as an empty `Vec` or
/// box has it), and the vectorised `memcmp` of this machine's libc loads
/// it anyway, under an all-zero mask: on an unmapped page that load costs
/// a microcode assist of hundreds of cycles. Routing the events of a
/// charge without filter or group keys compared two empty keys per event:
/// 3 % of a billing run's time.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// A byte-string key to look up in a map of boxed keys, compared by
/// [`same_bytes`] (it hashes as the boxed key does).
#[derive(Hash)]
struct Probe<'k>(&'k [u8]);

impl Equivalent<Box<[u8]>> for Probe<'_> {
    #[inline]
    fn equivalent(&self, key: &Box<[u8]>) -> bool {
        same_bytes(self.0, key)
    }
}

/// Distinct texts, numbered in order of first sight, kept one after the
/// other in one string: a box per text (two, with the map's) laid each
/// subscription's values over the whole heap of a billing run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    bytes: String,
    /// Where each text ends in `bytes`.
    ends: Vec<usize>,
    /// Ids, found by their texts' hashes.
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

/// Text `id` of `bytes` cut at `ends`.
fn interned<'a>(bytes: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = id.checked_sub(1).and_then(|i| ends.get(i)).copied();
    match (start, ends.get(id)) {
        (start, Some(&end)) => bytes.get(start.unwrap_or(0)..end).unwrap_or_default(),
        _ => "",
    }
}

impl Interner {
    /// The id of `text`, assigning the next one on first sight.
    #[inline]
    pub(crate) fn id(&mut self, text: &str) -> u32 {
        let Self {
            bytes,
            ends,
            index,
            hasher,
        } = self;
        let hash = hasher.hash_one(text.as_bytes());
        if let Some(&id) = index.find(hash, |&i| interned(bytes, ends, i) == text) {
            return id;
        }
        // Past 2^32 texts (never reached in memory) a text is not found
        // again and gets a new entry.
        let id = u32::try_from(ends.len()).unwrap_or(u32::MAX);
        bytes.push_str(text);
        ends.push(bytes.len());
        index.insert_unique(hash, id, |&i| {
            hasher.hash_one(interned(bytes, ends, i).as_bytes())
        });
        id
    }

    /// The text of `id`.
    pub(crate) fn text(&self, id: u32) -> &str {
        interned(&self.bytes, &self.ends, id)
    }
}

/// Transaction ids seen, kept small: there is one per event, and a billing
/// run holds all of them (about 27 bytes per 10-byte id, table slack
/// included, in the generated month). Each id is a length byte and its
/// bytes in chunks of 64, 128, … up to 4096 bytes, each allocated once at
/// its size and never moved; a table entry is 4 bytes, the id's place
/// (chunk << 12 | offset), and growing the table hashes the ids again
/// from the chunks. One arena grown by doubling, and entries that also
/// kept 32 bits of the hash, took more than twice the memory: unused
/// capacity, and freed smaller copies that fresh pages replaced. Ids
/// longer than 255 bytes, and any past 2^20 chunks, go to a plain set.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdSet {
    chunks: Vec<Vec<u8>>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
    overflow: hashbrown::HashSet<Box<str>>,
}

/// An offset in a chunk takes 12 bits: the largest chunk is 4096 bytes.
const OFFSET_BITS: u32 = 12;
/// Chunks an id's place can name.
const MAX_CHUNKS: usize = 1 << (32 - OFFSET_BITS);

/// The id stored at `place`.
fn stored_id(chunks: &[Vec<u8>], place: u32) -> &[u8] {
    let chunk = (place >> OFFSET_BITS) as usize;
    let at = (place & ((1 << OFFSET_BITS) - 1)) as usize;
    chunks
        .get(chunk)
        .and_then(|c| {
            let len = usize::from(*c.get(at)?);
            c.get(at + 1..at + 1 + len)
        })
        .unwrap_or_default()
}

impl IdSet {
    /// Whether `id` is new (and remembers it).
    #[inline]
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        let bytes = id.as_bytes();
        if bytes.len() > usize::from(u8::MAX) {
            return self.overflow.insert(id.into());
        }
        let hash = self.hasher.hash_one(bytes);
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        // One probe finds the id or the slot it goes to.
        let entry = self.table.entry(
            hash,
            |&p| same_bytes(stored_id(chunks, p), bytes),
            |&p| hasher.hash_one(stored_id(chunks, p)),
        );
        let Entry::Vacant(slot) = entry else {
            return false;
        };
        match append(&mut self.chunks, bytes) {
            Some(place) => {
                slot.insert(place);
                true
            }
            None => self.overflow.insert(id.into()),
        }
    }
}

/// Stores `bytes` (at most 255) with its length in the last of `chunks`,
/// or a new one; its place, `None` when every chunk a place can name is
/// used.
fn append(chunks: &mut Vec<Vec<u8>>, bytes: &[u8]) -> Option<u32> {
    let need = bytes.len() + 1;
    let fits = chunks
        .last()
        .is_some_and(|c| c.capacity() - c.len() >= need);
    if !fits {
        if chunks.len() >= MAX_CHUNKS {
            return None;
        }
        let size = (64 << chunks.len().min(6)).max(need);
        chunks.push(Vec::with_capacity(size));
    }
    let chunk = u32::try_from(chunks.len().checked_sub(1)?).ok()?;
    let c = chunks.last_mut()?;
    let at = u32::try_from(c.len()).ok()?;
    c.push(u8::try_from(bytes.len()).ok()?);
    c.extend_from_slice(bytes);
    Some(chunk << OFFSET_BITS | at)
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

    /// The keys held, the missing value included.
    pub(crate) fn len(&self) -> usize {
        self.map.len() + usize::from(self.null.is_some())
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
        self.map.get(&Probe(key)).copied()
    }

    pub(crate) fn put(&mut self, key: &[u8], m: Membership) {
        if self.map.len() < Self::CAP {
            self.map.insert(key.into(), m);
        }
    }
}

/// Where events with given filter- and group-key texts go: their
/// (bucket, group) pairs, and whether they matched several filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    targets: Targets,
    pub(crate) overlap: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Targets {
    /// Up to two (the common case: one bucket), inline.
    Few(u8, [(u32, u32); 2]),
    Many(Box<[(u32, u32)]>),
}

impl Route {
    #[cfg(test)]
    pub(crate) fn new(targets: &[(u32, u32)], overlap: bool) -> Self {
        let mut route = Self::empty(overlap);
        targets.iter().for_each(|&t| route.push(t));
        route
    }

    /// A route to no group yet.
    pub(crate) fn empty(overlap: bool) -> Self {
        Self {
            targets: Targets::Few(0, [(0, 0); 2]),
            overlap,
        }
    }

    /// Adds a (bucket, group) target: inline up to two, so that routing an
    /// event allocates nothing in the common case.
    pub(crate) fn push(&mut self, target: (u32, u32)) {
        match &mut self.targets {
            Targets::Few(n @ 0..=1, few) => {
                if let Some(slot) = few.get_mut(usize::from(*n)) {
                    *slot = target;
                }
                *n += 1;
            }
            Targets::Few(_, few) => {
                let many: Vec<_> = few.iter().copied().chain([target]).collect();
                self.targets = Targets::Many(many.into());
            }
            Targets::Many(many) => {
                let mut more = std::mem::take(many).into_vec();
                more.push(target);
                *many = more.into();
            }
        }
    }

    #[inline]
    pub(crate) fn targets(&self) -> &[(u32, u32)] {
        match &self.targets {
            Targets::Few(n, t) => t.get(..usize::from(*n)).unwrap_or_default(),
            Targets::Many(t) => t,
        }
    }
}

/// Routes by the encoded texts of every filter and group key; it stops
/// growing at `CAP` combinations (then each event is routed in full).
///
/// When routes barely repeat (about one group per event, as the billing
/// run's storage charge of `examples/gen_events.py`), every lookup misses
/// and the cache only costs an allocation and memory per event: past
/// `TRIAL` lookups, at each power of two, a cache that fewer than a quarter
/// of them found is dropped for good.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteCache {
    map: FastMap<Box<[u8]>, Route>,
    /// The route of the empty key, outside the map: a charge without
    /// filter or group keys routes every event by it, and a lookup in
    /// the map hashed and probed per event.
    empty: Option<Route>,
    lookups: u32,
    hits: u32,
    off: bool,
}

impl RouteCache {
    const CAP: usize = 1 << 16;
    const TRIAL: u32 = 64;

    #[inline]
    pub(crate) fn get(&mut self, key: &[u8]) -> Option<&Route> {
        if self.off {
            return None;
        }
        self.lookups = self.lookups.saturating_add(1);
        let found = match key.is_empty() {
            true => self.empty.as_ref(),
            false => self.map.get(&Probe(key)),
        };
        self.hits += u32::from(found.is_some());
        found
    }

    /// Whether lookups are still made (a cache dropped for good is not
    /// asked: the key need not be built).
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        !self.off
    }

    pub(crate) fn put(&mut self, key: &[u8], route: Route) {
        let n = self.lookups;
        if n >= Self::TRIAL && n.is_power_of_two() && self.hits.saturating_mul(4) < n {
            self.off = true;
            self.map = FastMap::default();
            self.empty = None;
        }
        if self.off {
            return;
        }
        if key.is_empty() {
            self.empty = Some(route);
        } else if self.map.len() < Self::CAP {
            self.map.insert(key.into(), route);
        }
    }
}

/// A table's hash of an entry's 32 stored bits, spread.
#[inline]
fn spread(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A bucket's groups, by index, in chunks of at most `CHUNK`: a growing
/// bucket never moves its groups. In one `Vec`, each doubling copied them
/// all into a fresh large allocation (fresh pages to fault in and zero),
/// for every bucket of every subscription of a billing run. The groups
/// are found by their encoded key: the index holds no key of its own, an
/// entry is a group's position and 32 bits of its key's hash (so that
/// growing the table hashes nothing again), and a probe compares the
/// group's own key (a boxed key per entry was 40 bytes more per group).
#[derive(Debug, Clone, Default)]
pub(crate) struct Groups {
    chunks: Vec<Vec<Group>>,
    len: usize,
    index: HashTable<(u32, u32)>,
    hasher: DefaultHashBuilder,
}

impl Groups {
    const CHUNK: usize = 64;

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// 32 bits of `key`'s hash.
    fn hash(&self, key: &[u8]) -> u32 {
        (self.hasher.hash_one(key) >> 32) as u32
    }

    fn find(&self, key: &[u8], h: u32) -> Option<usize> {
        self.index
            .find(spread(h), |&(i, eh)| {
                eh == h && self.key_at(i).is_some_and(|k| same_bytes(k, key))
            })
            .map(|&(i, _)| i as usize)
    }

    /// The position of the group whose key is `key`.
    pub(crate) fn position(&self, key: &[u8]) -> Option<usize> {
        self.find(key, self.hash(key))
    }

    /// The group of `key` and its position, made by `make` on first use
    /// (one hash for a new group as for a known one).
    #[inline]
    pub(crate) fn find_or_insert(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Group,
    ) -> Option<(usize, &mut Group)> {
        let h = self.hash(key);
        let i = match self.find(key, h) {
            Some(i) => i,
            None => self.insert(make(), h),
        };
        self.get_mut(i).map(|g| (i, g))
    }

    /// Adds a group whose key no group has; its position.
    pub(crate) fn push(&mut self, group: Group) -> usize {
        let h = self.hash(group.key());
        self.insert(group, h)
    }

    fn insert(&mut self, group: Group, h: u32) -> usize {
        let i = self.len;
        match self.chunks.last_mut() {
            Some(last) if last.len() < Self::CHUNK => last.push(group),
            _ => {
                // Each chunk grows as it fills: a full chunk reserved up
                // front was mostly unused in the last chunk of every bucket.
                self.chunks.push(vec![group]);
            }
        }
        self.len += 1;
        // Past 2^32 groups (hundreds of gigabytes) a group is not found
        // again and a new one is made: never reached in memory.
        let at = u32::try_from(i).unwrap_or(u32::MAX);
        self.index
            .insert_unique(spread(h), (at, h), |&(_, eh)| spread(eh));
        i
    }

    fn key_at(&self, i: u32) -> Option<&[u8]> {
        let i = i as usize;
        self.chunks
            .get(i / Self::CHUNK)
            .and_then(|c| c.get(i % Self::CHUNK))
            .map(Group::key)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut Group> {
        self.chunks
            .get_mut(i / Self::CHUNK)
            .and_then(|c| c.get_mut(i % Self::CHUNK))
    }

    /// The groups in index order, borrowed.
    #[cfg(feature = "lago")]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Group> {
        self.chunks.iter().flatten()
    }

    /// The groups in index order, in one vector.
    pub(crate) fn into_vec(self) -> Vec<Group> {
        let mut all = Vec::with_capacity(self.len);
        for chunk in self.chunks {
            all.extend(chunk);
        }
        all
    }
}

/// A group's encoded key, inline up to [`SmallKey::INLINE`] bytes (most
/// labels: one value of a few characters), else boxed.
///
/// A run holds millions of groups, each created as its bucket meets a new
/// label, so boxed keys lay scattered over the whole heap: finding a group
/// read its key from yet another page. Inline, the key is on the group's
/// own cache line, and no allocation is made per group.
#[derive(Clone)]
pub(crate) enum SmallKey {
    Inline {
        len: u8,
        bytes: [u8; SmallKey::INLINE],
    },
    Boxed(Box<[u8]>),
}

impl SmallKey {
    /// The most bytes kept inline: with the length and the variant's tag,
    /// a key is 24 bytes, the boxed form's 16 and a tag.
    pub(crate) const INLINE: usize = 22;

    pub(crate) fn new(key: &[u8]) -> Self {
        match (u8::try_from(key.len()), key.len() <= Self::INLINE) {
            (Ok(len), true) => {
                let mut bytes = [0; Self::INLINE];
                for (to, from) in bytes.iter_mut().zip(key) {
                    *to = *from;
                }
                Self::Inline { len, bytes }
            }
            _ => Self::Boxed(key.into()),
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Self::Boxed(key) => key,
        }
    }
}

impl std::fmt::Debug for SmallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_bytes().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interner_numbers_texts_in_order_of_first_sight() {
        let mut interner = Interner::default();
        // The empty text, prefixes of each other, non-ASCII, repeats.
        let texts = [
            "user_1",
            "",
            "user_10",
            "user_1",
            "\u{e9}t\u{e9}",
            "",
            "user",
        ];
        let ids: Vec<u32> = texts.iter().map(|t| interner.id(t)).collect();
        assert_eq!(ids, [0, 1, 2, 0, 3, 1, 4]);
        for (text, id) in texts.iter().zip(&ids) {
            assert_eq!(interner.text(*id), *text);
        }
        assert_eq!(interner.text(5), "", "an id never given");
        // Enough texts to grow the table several times: each found again.
        for i in 0..5_000 {
            assert_eq!(interner.id(&format!("v{i}")), 5 + i);
        }
        for i in (0..5_000).rev() {
            assert_eq!(interner.id(&format!("v{i}")), 5 + i);
            assert_eq!(interner.text(5 + i), format!("v{i}"));
        }
    }

    #[test]
    fn bytes_are_the_same_as_equality_says_empty_or_not() {
        // Empty slices of every origin (a dangling vector, a box, a
        // string's, a slice of a longer one) and short and long ones.
        let (vec, boxed): (Vec<u8>, Box<[u8]>) = (Vec::new(), Box::default());
        let long = vec![7u8; 100];
        let all: [&[u8]; 8] = [
            &vec,
            &boxed,
            "".as_bytes(),
            &long[3..3],
            b"a",
            b"b",
            &long,
            &long[1..],
        ];
        for a in all {
            for b in all {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
        // A probe finds a boxed key as the key itself does: same hash.
        let mut map: FastMap<Box<[u8]>, u8> = FastMap::default();
        for (i, key) in all.iter().enumerate() {
            map.entry((*key).into()).or_insert(i as u8);
        }
        assert_eq!(map.get(&Probe(b"")), Some(&0));
        assert_eq!(map.get(&Probe(&long[1..])), Some(&7));
        assert_eq!(map.get(&Probe(b"a")), Some(&4));
        assert_eq!(map.get(&Probe(b"c")), None);
    }

    #[test]
    fn a_small_key_gives_back_its_bytes_inline_or_boxed() {
        // Every length from empty to past the inline size, and bytes that
        // are not text (the encoding's tags and separators).
        for n in 0..=SmallKey::INLINE + 2 {
            let key: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            let small = SmallKey::new(&key);
            assert_eq!(small.as_bytes(), key.as_slice(), "{n} bytes");
            assert_eq!(
                matches!(small, SmallKey::Inline { .. }),
                n <= SmallKey::INLINE,
                "{n} bytes"
            );
        }
        assert_eq!(std::mem::size_of::<SmallKey>(), 24);
    }

    #[test]
    fn a_route_cache_that_misses_is_dropped_and_one_that_hits_is_kept() {
        let route = Route::new(&[(0, 1)], false);
        // 256 distinct keys: every lookup misses; the 64th miss drops it.
        let mut cold = RouteCache::default();
        cold.put(b"", route.clone());
        for i in 0..256u32 {
            let key = i.to_le_bytes();
            assert!(cold.get(&key).is_none());
            cold.put(&key, route.clone());
        }
        assert!(cold.off && cold.map.is_empty());
        assert!(cold.get(&0u32.to_le_bytes()).is_none(), "off for good");
        assert!(cold.get(b"").is_none(), "the empty key's route too");
        // 8 keys over 1,024 lookups: 1,016 hits, kept and still found.
        let mut warm = RouteCache::default();
        for i in 0..1024u32 {
            let key = (i % 8).to_le_bytes();
            if warm.get(&key).is_none() {
                warm.put(&key, route.clone());
            }
        }
        assert!(!warm.off);
        assert_eq!(warm.get(&3u32.to_le_bytes()), Some(&route));
        // The empty key (kept outside the map) has its own route, which
        // a key of the same hash or none would not find.
        let other = Route::new(&[(2, 3), (4, 5)], true);
        assert!(warm.get(b"").is_none());
        warm.put(b"", other.clone());
        assert_eq!(warm.get(b""), Some(&other));
        assert_eq!(warm.get(&3u32.to_le_bytes()), Some(&route));
        assert!(warm.get(&[0]).is_none());
    }

    #[test]
    fn a_route_lists_its_targets_in_order_inline_or_not() {
        for n in 0..6u32 {
            let targets: Vec<(u32, u32)> = (0..n).map(|i| (i, 10 * i)).collect();
            let route = Route::new(&targets, n % 2 == 1);
            assert_eq!(route.targets(), targets.as_slice(), "{n} targets");
            assert_eq!(route.overlap, n % 2 == 1);
            // Up to two are kept inline.
            assert_eq!(matches!(route.targets, Targets::Few(..)), n <= 2, "{n}");
        }
    }

    #[test]
    fn the_id_set_tells_every_first_sight_and_every_repeat() {
        let mut set = IdSet::default();
        let ids: Vec<String> = (0..20_000).map(|i| format!("tx-{}", i % 7_000)).collect();
        let mut seen = std::collections::HashSet::new();
        for id in &ids {
            assert_eq!(set.insert(id), seen.insert(id.clone()), "{id}");
        }
        // Prefixes, the empty id and non-ASCII ids are ids like any other.
        for id in ["", "tx-1", "tx-10", "tx-1\u{e9}", "\u{1F600}"] {
            let first = seen.insert(id.to_string());
            assert_eq!(set.insert(id), first, "{id:?}");
            assert!(!set.insert(id), "{id:?} repeated");
        }
        // Every length up to 300: ids that fill chunks to their last byte,
        // open new ones larger than the next size, and (past 255 bytes)
        // go to the plain set; each is found again after all the others.
        let long: Vec<String> = (0..=300).map(|n| "x".repeat(n)).collect();
        for id in &long {
            assert_eq!(
                set.insert(id),
                seen.insert(id.clone()),
                "{} bytes",
                id.len()
            );
        }
        for id in long.iter().chain(&ids) {
            assert!(!set.insert(id), "{} bytes repeated", id.len());
        }
    }
}
