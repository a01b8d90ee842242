//! The billing run's reading, window by window (a performance trick,
//! quarantined here).
//!
//! Each subscription has its own aggregators (groups, transaction ids),
//! gigabytes in all on a large run. Taking events in file order touches a
//! random subscription's tables per event, and that memory latency was
//! more than half of the run. So this thread reads a window of whole lines
//! (tens of megabytes), finds each line's subscription once, and hands the
//! window to each worker with the lines of the subscriptions it owns (a
//! hash of `external_subscription_id`); a worker copies them out by
//! subscription and, every few windows, takes them subscription by
//! subscription, each subscription's in file order. A subscription's
//! events still reach its feed in input order, so the result is the one
//! of taking the events one by one; only the order between subscriptions
//! changes, and they are independent. Memory holds a few windows, never
//! the whole file ([`crate::BillingRunOptions::window`]).
//!
//! Finding a line's subscription does not parse the line when it can be
//! read off the text (see [`raw_subscription`]); other lines go to both
//! workers to parse, and lines that belong to no subscription are worker
//! 0's to reject.

use std::hash::BuildHasher;
use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use memchr::memmem::Finder;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::aggregate::fast_lookup::FastMap;
use crate::customer_usage::PlanAggregator;
use crate::lago::aggregate::{EventReader, ReadEvent};

use super::billing_run::{BillingRunError, NAMED};
use super::events::Feed;
use super::two_cores::{Feeds, WORKERS, id_hash, join, owner_of};

/// Windows queued per worker, so that the next windows are read while
/// the workers take their lines. A worker gives a window back as soon as
/// it has copied its lines out ([`Pending`]): memory holds these windows
/// and two more (being read, being copied from), and the workers' copies
/// of a batch's lines.
const IN_FLIGHT: usize = 2;
/// The largest window: a few of them are held at once.
const MAX_WINDOW: usize = 1 << 30;

/// A window of whole lines, the number of the line before its first, and
/// a mark per line (made once, by the reading thread). The buffers go back
/// to be read into again, rather than fresh memory.
#[derive(Default)]
struct Window {
    before: u64,
    data: Vec<u8>,
    marks: Vec<Mark>,
}

/// What the reading thread found of a line, in 16 bytes (a window holds
/// hundreds of thousands of lines): the worker it goes to, its
/// `external_subscription_id`'s hash and place in it, and its length (so
/// that no worker searches the window for newlines again).
///
/// With the hash, a worker finds a line's subscription without reading
/// the line: that first load of each line, in file order and on the
/// path to the lookup, was most of the lookup's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    /// A worker, or [`EVERY`] (its subscription was not read off the
    /// text: each worker parses it), or [`BLANK`] (no event).
    to: u8,
    /// The id's length and its offset in the line, for a worker's line.
    len: u8,
    at: u16,
    /// The line's length without its newline, [`FIND`] when it does not
    /// fit.
    line: u32,
    /// The id's [`id_hash`], for a worker's line.
    hash: u64,
}

/// The length of a line of 4 GiB or more: its end is searched for.
const FIND: u32 = u32::MAX;

/// A line every worker parses, its subscription not read off its text (or
/// its id too long or too far in to mark).
const EVERY: u8 = u8::MAX;
/// A blank line.
const BLANK: u8 = u8::MAX - 1;

impl Mark {
    const fn to(to: u8) -> Self {
        Self {
            to,
            len: 0,
            at: 0,
            line: 0,
            hash: 0,
        }
    }

    /// This mark, of a line of `bytes`.
    fn of_line(self, bytes: usize) -> Self {
        let line = u32::try_from(bytes).unwrap_or(FIND);
        Self { line, ..self }
    }
}

/// What one worker read: its subscriptions' feeds and its rejections.
pub(super) struct Share {
    pub(super) feeds: Feeds,
    pub(super) rejected: u64,
    /// Its first rejected lines: line number and why.
    pub(super) named: Vec<(u64, String)>,
}

/// Reads `input` into the workers' feeds (seeded with `seeds`, one map per
/// worker), `window` bytes at a time; `tick(events, subscriptions)` is
/// called as windows are read.
pub(super) fn read(
    mut input: impl BufRead,
    template: &PlanAggregator,
    seeds: Vec<Feeds>,
    window: usize,
    mut tick: impl FnMut(u64, usize),
) -> Result<(Vec<Share>, u64), BillingRunError> {
    let window = window.clamp(1, MAX_WINDOW);
    let seen = AtomicUsize::new(seeds.iter().map(FastMap::len).sum());
    let mut events = 0u64;
    thread::scope(|s| {
        let (pool_tx, pool) = sync_channel::<Window>(WORKERS * IN_FLIGHT + 2);
        let mut senders = Vec::with_capacity(WORKERS);
        let mut workers = Vec::with_capacity(WORKERS);
        for (w, feeds) in seeds.into_iter().enumerate() {
            let (tx, rx) = sync_channel::<Arc<Window>>(IN_FLIGHT);
            senders.push(tx);
            let ctx = Context {
                w,
                template,
                seen: &seen,
                pool: pool_tx.clone(),
            };
            workers.push(s.spawn(move || take_share(&ctx, rx, feeds)));
        }
        drop(pool_tx);
        let key = Finder::new(KEY);
        let mut lines = 0u64;
        let mut carry = Vec::new();
        let read = loop {
            let Window {
                mut data,
                mut marks,
                ..
            } = pool.try_recv().unwrap_or_default();
            data.clear();
            data.append(&mut carry);
            let end = match fill_lines(&mut input, &mut data, window) {
                Err(e) => break Err(BillingRunError::Input(e)),
                Ok(end) => end,
            };
            if !end {
                // The partial last line waits for the next window.
                let cut = memchr::memrchr(b'\n', &data).map_or(0, |i| i + 1);
                carry.extend_from_slice(data.get(cut..).unwrap_or_default());
                data.truncate(cut);
            }
            let before = lines;
            let counted;
            (counted, lines) = mark_lines(&data, before, &key, &mut marks);
            events += counted;
            if !data.is_empty() {
                let window = Arc::new(Window {
                    before,
                    data,
                    marks,
                });
                for tx in &senders {
                    // A worker that hung up has failed; `join` reports it.
                    let _gone = tx.send(Arc::clone(&window));
                }
            }
            tick(events, seen.load(Ordering::Relaxed));
            if end {
                break Ok(());
            }
        };
        drop(senders);
        let shares = join(workers)?;
        read.map(|()| (shares, events))
    })
}

/// Appends input to `data` until it holds a window's bytes and a newline
/// (a line longer than a window grows the one buffer, and only the bytes
/// just read are searched); whether the input has ended.
fn fill_lines(
    input: &mut impl BufRead,
    data: &mut Vec<u8>,
    window: usize,
) -> std::io::Result<bool> {
    // What is carried over holds no newline.
    let mut searched = data.len();
    loop {
        if fill(input, data, window)? {
            return Ok(true);
        }
        if memchr::memchr(b'\n', data.get(searched..).unwrap_or_default()).is_some() {
            return Ok(false);
        }
        searched = data.len();
    }
}

/// Appends input to `data` until it holds `window` bytes, or a quarter
/// window more when it already did (a line longer than a window); whether
/// the input has ended.
///
/// The bytes are read straight into the window's spare capacity: a
/// buffered reader hands over what it holds, then reads past its own
/// buffer (copying through it was a second pass over the whole file).
fn fill(input: &mut impl BufRead, data: &mut Vec<u8>, window: usize) -> std::io::Result<bool> {
    let more = window.saturating_sub(data.len()).max(window / 4).max(1);
    data.reserve(more);
    let want = u64::try_from(more).unwrap_or(u64::MAX);
    let got = input.by_ref().take(want).read_to_end(data)?;
    Ok(u64::try_from(got).unwrap_or(u64::MAX) < want)
}

/// What a worker shares with the reading thread.
struct Context<'a> {
    w: usize,
    template: &'a PlanAggregator,
    seen: &'a AtomicUsize,
    /// Where a window's buffer goes back when its last reader is done.
    pool: SyncSender<Window>,
}

/// A subscription's lines of the batch, copied out of the windows as
/// they are found: their text one after the other, and each one's end in
/// it and number. A worker then takes a subscription's lines from
/// consecutive memory, and a window goes back to be read into as soon as
/// its lines are copied, rather than being held for the whole batch (a
/// batch's windows were held, then sorted into one buffer by
/// subscription: as much memory for half the lines per visit).
#[derive(Debug, Default)]
struct Pending {
    text: Vec<u8>,
    lines: Vec<(usize, u64)>,
}

impl Pending {
    fn push(&mut self, line: &[u8], line_no: u64) {
        self.text.extend_from_slice(line);
        self.lines.push((self.text.len(), line_no));
    }

    /// Emptied for the next batch. The buffers are kept for the
    /// subscription's next lines (grown again, they were copied again),
    /// but not when far larger than this batch's: a file sorted by
    /// subscription would otherwise keep each one's share of it.
    fn clear(&mut self) {
        let (text, lines) = (self.text.len(), self.lines.len());
        self.text.clear();
        self.lines.clear();
        if self.text.capacity() > 4 * text.max(1024) {
            self.text = Vec::new();
        }
        if self.lines.capacity() > 4 * lines.max(64) {
            self.lines = Vec::new();
        }
    }
}

/// One worker's subscriptions: feeds by index, created on their first
/// event taken (a line that names a subscription but is no event makes
/// none).
///
/// A line is filed under a slot by its id's hash alone (read off the
/// text by the reading thread), and the slot's id is checked against
/// the parsed one when the line is taken: an id whose hash another id
/// took first (a collision) gets a slot of its own, found by the id
/// ([`Subscriptions::exact`]). A slot's lines stay in file order, so
/// such an id's lines still reach its feed in file order.
struct Subscriptions {
    /// Slots by id hash: the hash and the slot, placed by a seeded mix of
    /// the hash.
    index: HashTable<(u64, u32)>,
    mix: DefaultHashBuilder,
    /// [`id_hash`], but for tests of collisions.
    hash: fn(&[u8]) -> u64,
    /// Slots of ids whose hash an earlier id's slot holds.
    collided: FastMap<Box<[u8]>, u32>,
    keys: Vec<Box<[u8]>>,
    /// Boxed: a slot without a feed is a pointer.
    feeds: Vec<Option<Box<Feed>>>,
}

impl Subscriptions {
    fn new(seeds: Feeds) -> Self {
        Self::hashed_by(id_hash, seeds)
    }

    fn hashed_by(hash: fn(&[u8]) -> u64, seeds: Feeds) -> Self {
        let mut subs = Self {
            index: HashTable::new(),
            mix: DefaultHashBuilder::default(),
            hash,
            collided: FastMap::default(),
            keys: Vec::new(),
            feeds: Vec::new(),
        };
        for (name, feed) in seeds {
            let i = subs.exact(name.as_bytes());
            if let Some(slot) = subs.feeds.get_mut(i as usize) {
                *slot = Some(Box::new(feed));
            }
        }
        subs
    }

    /// The slot of id hash `hash`, a new (empty) one for `id()` on first
    /// sight.
    fn slot<'i>(&mut self, hash: u64, id: impl FnOnce() -> &'i [u8]) -> u32 {
        let mixed = self.mix.hash_one(hash);
        if let Some(&(_, i)) = self.index.find(mixed, |&(h, _)| h == hash) {
            return i;
        }
        // An id that had a slot among the collided (the slot its hash
        // filed it under got no feed, and was dropped) keeps that slot.
        let id = id();
        let i = match self.collided.remove(id) {
            Some(i) => i,
            None => self.push(id),
        };
        let mix = &self.mix;
        self.index
            .insert_unique(mixed, (hash, i), |&(h, _)| mix.hash_one(h));
        i
    }

    /// The slot of `id` itself: the one its hash files it under when that
    /// slot is its own, else its own slot among the collided.
    fn exact(&mut self, id: &[u8]) -> u32 {
        let i = self.slot((self.hash)(id), || id);
        if self.is(i, id) {
            return i;
        }
        if let Some(&i) = self.collided.get(id) {
            return i;
        }
        let i = self.push(id);
        self.collided.insert(id.into(), i);
        i
    }

    /// A new empty slot for `id`.
    fn push(&mut self, id: &[u8]) -> u32 {
        let i = u32::try_from(self.feeds.len()).unwrap_or(u32::MAX);
        self.keys.push(id.into());
        self.feeds.push(None);
        i
    }

    /// Whether slot `i` is `id`'s.
    fn is(&self, i: u32, id: &[u8]) -> bool {
        self.keys.get(i as usize).is_some_and(|k| **k == *id)
    }

    /// Slot `from`'s entry (by hash or among the collided) now names slot
    /// `to`, or is removed (`None`).
    fn renumber(&mut self, key: &[u8], from: u32, to: Option<u32>) {
        if let Some(i) = self.collided.get_mut(key) {
            match to {
                Some(to) => *i = to,
                None => {
                    self.collided.remove(key);
                }
            }
            return;
        }
        let hash = (self.hash)(key);
        let mixed = self.mix.hash_one(hash);
        if let Ok(entry) = self
            .index
            .find_entry(mixed, |&(h, i)| h == hash && i == from)
        {
            match to {
                Some(to) => entry.into_mut().1 = to,
                None => {
                    entry.remove();
                }
            }
        }
    }

    /// Drops the slots from `from` on that got no feed (their lines were
    /// no events), so that memory holds subscriptions, not the ids of bad
    /// lines; the others move down.
    fn drop_empty_from(&mut self, from: usize) {
        let keys: Vec<_> = self.keys.drain(from.min(self.keys.len())..).collect();
        let feeds: Vec<_> = self.feeds.drain(from.min(self.feeds.len())..).collect();
        for ((key, feed), old) in keys.into_iter().zip(feeds).zip(from..) {
            let old = u32::try_from(old).unwrap_or(u32::MAX);
            match feed {
                None => self.renumber(&key, old, None),
                Some(f) => {
                    let new = u32::try_from(self.feeds.len()).unwrap_or(u32::MAX);
                    self.renumber(&key, old, Some(new));
                    self.keys.push(key);
                    self.feeds.push(Some(f));
                }
            }
        }
    }

    fn into_feeds(self) -> Feeds {
        // A slot with a feed took a parsed event: its id is UTF-8.
        self.keys
            .into_iter()
            .zip(self.feeds)
            .filter_map(|(key, feed)| {
                let name = String::from_utf8_lossy(&key).into_owned().into_boxed_str();
                feed.map(|f| (name, *f))
            })
            .collect()
    }
}

/// Windows whose lines a worker takes together. A subscription's lines
/// of eight windows are taken in one go, as from a window eight times
/// the size: its tables are fetched once for eight times the events. A
/// batch's lines are held once, copied ([`Pending`]); larger windows
/// were held a few times over (read, queued, being copied from).
const BATCH: usize = 8;

/// One worker's state while reading.
struct Worker<'c> {
    ctx: &'c Context<'c>,
    reader: EventReader,
    subs: Subscriptions,
    share: Share,
    /// The batch's own lines, by slot.
    pending: Vec<Pending>,
    /// Slots before the batch's.
    known: usize,
}

/// One worker's reading: every window's own lines found, then taken
/// subscription by subscription, [`BATCH`] windows at a time.
fn take_share(ctx: &Context<'_>, windows: Receiver<Arc<Window>>, seeds: Feeds) -> Share {
    let subs = Subscriptions::new(seeds);
    let mut worker = Worker {
        ctx,
        reader: EventReader::new(ctx.template.keys()),
        known: subs.feeds.len(),
        subs,
        share: Share {
            feeds: Feeds::default(),
            rejected: 0,
            named: Vec::new(),
        },
        pending: Vec::new(),
    };
    let mut held = 0;
    for window in windows {
        worker.find_own(&window);
        if let Ok(done) = Arc::try_unwrap(window) {
            // A full pool: the buffer is freed.
            let _freed = ctx.pool.try_send(done);
        }
        held += 1;
        if held == BATCH {
            worker.take_batch();
            held = 0;
        }
    }
    worker.take_batch();
    let Worker {
        mut share, subs, ..
    } = worker;
    share.named.sort_by_key(|(line, _)| *line);
    share.named.truncate(NAMED as usize);
    share.feeds = subs.into_feeds();
    share
}

impl Worker<'_> {
    /// This worker's lines of `window` (marked by the reading thread)
    /// copied into their subscriptions' [`Pending`] lines, in line order;
    /// a line whose subscription was not read off its text is parsed, and
    /// rejected (by worker 0) when it is no event of a subscription.
    fn find_own(&mut self, window: &Window) {
        let w = self.ctx.w;
        let (mine, me) = (w == 0, u8::try_from(w).unwrap_or(EVERY));
        let data = window.data.as_slice();
        let lines = marked_lines(data, &window.marks).zip(window.before + 1..);
        for (((start, end), m), line_no) in lines {
            if m.to != me && m.to != EVERY {
                continue;
            }
            let line = || data.get(start..end).unwrap_or_default();
            let feed = match m.to {
                // Checked for UTF-8 when taken (`take_line`).
                EVERY => match read_line(&mut self.reader, line()) {
                    Err(why) if mine => Err(why),
                    Err(_) => continue,
                    Ok((_, sub)) => {
                        let (sub, hash) = (sub.as_bytes(), id_hash(sub.as_bytes()));
                        if owner_of(hash) != w {
                            continue;
                        }
                        Ok(self.subs.slot(hash, || sub))
                    }
                },
                // The line is read only for a subscription seen first.
                _ => Ok(self.subs.slot(m.hash, || {
                    let at = usize::from(m.at);
                    line().get(at..at + usize::from(m.len)).unwrap_or_default()
                })),
            };
            match feed {
                Err(why) => reject(&mut self.share, line_no, why),
                Ok(feed) => {
                    let slot = feed as usize;
                    if self.pending.len() <= slot {
                        self.pending.resize_with(slot + 1, Pending::default);
                    }
                    if let Some(p) = self.pending.get_mut(slot) {
                        p.push(line(), line_no);
                    }
                }
            }
        }
    }

    /// Takes the batch's lines, subscription by subscription.
    fn take_batch(&mut self) {
        for (feed, p) in (0u32..).zip(&mut self.pending) {
            // A subscription's lines' UTF-8 is checked at once (a check per
            // line cost more to start than to run); a line then is a slice
            // of the text. Only when some line is not UTF-8 is each checked
            // alone.
            let text = std::str::from_utf8(&p.text).ok();
            let mut start = 0;
            for &(end, line_no) in &p.lines {
                let line = match text.and_then(|all| all.get(start..end)) {
                    Some(text) => Line::Text(text),
                    None => Line::Bytes(p.text.get(start..end).unwrap_or_default()),
                };
                start = end;
                if let Some(why) = take_line(self.ctx, &mut self.reader, &mut self.subs, feed, line)
                {
                    reject(&mut self.share, line_no, why);
                }
            }
            p.clear();
        }
        self.subs.drop_empty_from(self.known);
        self.known = self.subs.feeds.len();
        // The slots dropped had their lines taken: their buffers are empty.
        self.pending.truncate(self.known);
    }
}

/// A mark per line of `data` (a window after line `before`) into `marks`;
/// how many event lines there are, and the number of the window's last
/// line.
fn mark_lines(data: &[u8], before: u64, key: &Finder<'_>, marks: &mut Vec<Mark>) -> (u64, u64) {
    marks.clear();
    let mut line_no = before;
    // The key is searched for over the whole window, once: a search per
    // line cost more to start than to run. It does not span lines, so each
    // line gets its own hits.
    let mut keys = Hits::new(key.find_iter(data));
    // Event lines (blank lines aside).
    let mut counted = 0u64;
    for ((start, end), escaped) in lines(data) {
        let line = data.get(start..end).unwrap_or_default();
        line_no += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            marks.push(Mark::to(BLANK).of_line(line.len()));
            continue;
        }
        counted += 1;
        let raw = match keys.within((start, end)) {
            (1, Some(at)) if !escaped => raw_subscription(line, at.saturating_sub(start)),
            _ => None,
        };
        let mark = raw.and_then(|(a, b)| mark(line, a, b));
        marks.push(mark.unwrap_or(Mark::to(EVERY)).of_line(line.len()));
    }
    (counted, line_no)
}

/// The mark of a line whose id is at `a..b`: its owner's, when the
/// offset and length fit.
fn mark(line: &[u8], a: usize, b: usize) -> Option<Mark> {
    let hash = id_hash(line.get(a..b)?);
    let to = u8::try_from(owner_of(hash)).ok()?;
    let len = u8::try_from(b.checked_sub(a)?).ok()?;
    let at = u16::try_from(a).ok()?;
    Some(Mark {
        to,
        len,
        at,
        line: 0,
        hash,
    })
}

/// The lines of `data`, as `start..end` (no newline), each with whether
/// it holds a backslash: the text after the last newline is a line when
/// not empty. Newlines and backslashes are found in one pass over the
/// window (two searches read it twice).
fn lines(data: &[u8]) -> impl Iterator<Item = ((usize, usize), bool)> {
    let mut hits = memchr::memchr2_iter(b'\n', b'\\', data);
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= data.len() {
            return None;
        }
        let mut escaped = false;
        loop {
            match hits.next() {
                Some(i) if data.get(i) == Some(&b'\\') => escaped = true,
                end => {
                    let end = end.unwrap_or(data.len());
                    let line = (start, end);
                    start = end + 1;
                    return Some((line, escaped));
                }
            }
        }
    })
}

/// The lines of `data` (as `start..end`) whose lengths `marks` gives, each
/// with its mark.
fn marked_lines<'m>(
    data: &[u8],
    marks: &'m [Mark],
) -> impl Iterator<Item = ((usize, usize), &'m Mark)> {
    let mut start = 0;
    marks.iter().map(move |m| {
        let end = match m.line {
            FIND => {
                let rest = data.get(start..).unwrap_or_default();
                memchr::memchr(b'\n', rest).map_or(data.len(), |i| start + i)
            }
            n => start + n as usize,
        };
        let line = (start, end);
        start = end + 1;
        (line, m)
    })
}

/// A line read as an event of a subscription, with that subscription's
/// id, or why it is none.
fn read_line<'r>(
    reader: &'r mut EventReader,
    line: &'r [u8],
) -> Result<(ReadEvent<'r>, &'r str), String> {
    let text = std::str::from_utf8(line).map_err(|_| "the line is not UTF-8".to_string())?;
    read_text(reader, text)
}

/// A line of a window's lines to take: checked UTF-8 already, or not.
#[derive(Clone, Copy)]
enum Line<'t> {
    Text(&'t str),
    Bytes(&'t [u8]),
}

/// [`read_line`] of a line known to be UTF-8.
fn read_text<'r>(
    reader: &'r mut EventReader,
    text: &'r str,
) -> Result<(ReadEvent<'r>, &'r str), String> {
    let event = reader.read(text).map_err(|e| e.to_string())?;
    let sub = event
        .external_subscription_id()
        .ok_or("external_subscription_id is missing or not a string")?;
    Ok((event, sub))
}

/// Takes one line into feed `feed`; why it cannot count, if so.
fn take_line(
    ctx: &Context<'_>,
    reader: &mut EventReader,
    subs: &mut Subscriptions,
    feed: u32,
    line: Line<'_>,
) -> Option<String> {
    let read = match line {
        Line::Text(text) => read_text(reader, text),
        Line::Bytes(bytes) => read_line(reader, bytes),
    };
    let (event, sub) = match read {
        Ok(read) => read,
        Err(why) => return Some(why),
    };
    // The line was filed by its id's hash: another id's slot only on a
    // collision.
    let feed = match subs.is(feed, sub.as_bytes()) {
        true => feed,
        false => subs.exact(sub.as_bytes()),
    };
    let slot = subs.feeds.get_mut(feed as usize)?;
    let feed = slot.get_or_insert_with(|| {
        ctx.seen.fetch_add(1, Ordering::Relaxed);
        Box::new(Feed::new(ctx.template.clone()))
    });
    feed.take(&event)
}

/// Counts a rejected line, and names it while it is among the first.
fn reject(share: &mut Share, line_no: u64, why: String) {
    share.rejected += 1;
    // Lines are rejected out of order (subscription by subscription):
    // keep the first NAMED by line number, trimming now and then.
    share.named.push((line_no, why));
    if share.named.len() >= 8 * NAMED as usize {
        share.named.sort_by_key(|(line, _)| *line);
        share.named.truncate(NAMED as usize);
    }
}

/// The key whose value files a line under its subscription.
const KEY: &[u8] = b"\"external_subscription_id\"";

/// A line's `external_subscription_id` read off its text, when that is
/// sure: the line has no backslash and one occurrence of the quoted key
/// (the caller counts them), at `at`, followed by `:` and a string.
/// Without escapes every quote delimits a string, so in a well-formed
/// object that occurrence is a key, and being the only one, it is the
/// top-level key or the top level has none (the owner's parse then
/// rejects the line, as worker 0 would have).
fn raw_subscription(line: &[u8], at: usize) -> Option<(usize, usize)> {
    let rest = line.get(at + KEY.len()..)?.trim_ascii_start();
    let rest = rest.strip_prefix(b":")?.trim_ascii_start();
    let rest = rest.strip_prefix(b"\"")?;
    let start = line.len() - rest.len();
    let end = memchr::memchr(b'"', rest)?;
    Some((start, start + end))
}

/// The positions of a pattern's occurrences in a window, in order, taken
/// line by line.
struct Hits<I: Iterator<Item = usize>> {
    at: std::iter::Peekable<I>,
}

impl<I: Iterator<Item = usize>> Hits<I> {
    fn new(at: I) -> Self {
        Self { at: at.peekable() }
    }

    /// How many occurrences start in `start..end`, and the first; lines
    /// are asked in order, and earlier occurrences (in lines passed over)
    /// are dropped.
    fn within(&mut self, (start, end): (usize, usize)) -> (usize, Option<usize>) {
        while self.at.next_if(|&i| i < start).is_some() {}
        let first = self.at.next_if(|&i| i < end);
        let mut n = usize::from(first.is_some());
        while self.at.next_if(|&i| i < end).is_some() {
            n += 1;
        }
        (n, first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The aggregators of a one-charge plan (a count of `calls`).
    fn template() -> PlanAggregator {
        let plan = r#"{"currency": "EUR", "plan": {"charges": [{"code": "calls",
            "charge_model": "standard", "properties": {"amount": "1"},
            "billable_metric": {"code": "calls", "aggregation_type": "count_agg"}}]}}"#;
        let opts =
            crate::BillingRunOptions::new(plan, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z");
        let (req, _) = super::super::billing_run::plan(&opts).expect("a valid plan");
        PlanAggregator::new(&req.plan, &req.period, &req.setup).expect("an aggregator")
    }

    /// An empty feed of [`template`]'s plan.
    fn feed() -> Feed {
        Feed::new(template())
    }

    #[test]
    fn a_line_filed_under_another_ids_slot_is_taken_into_its_own() {
        // Every id hashes to 7, so find_own files the lines of "a" and "b"
        // under one slot, "a"'s; taking them gives each id a feed of its
        // own, each with its one event.
        let template = template();
        let seen = AtomicUsize::new(0);
        let ctx = Context {
            w: 0,
            template: &template,
            seen: &seen,
            pool: sync_channel(1).0,
        };
        let mut reader = EventReader::new(template.keys());
        let mut subs = Subscriptions::hashed_by(|_| 7, Feeds::default());
        let slot = subs.slot(7, || b"a");
        for (tx, sub) in [("t1", "a"), ("t2", "b"), ("t3", "a")] {
            let line = format!(
                r#"{{"transaction_id":"{tx}","external_subscription_id":"{sub}","code":"calls","timestamp":1709283600}}"#
            );
            let why = take_line(&ctx, &mut reader, &mut subs, slot, Line::Text(&line));
            assert_eq!(why, None);
        }
        assert_eq!(seen.load(Ordering::Relaxed), 2);
        let mut feeds = subs.into_feeds();
        let mut events = |id: &str| {
            let feed = feeds.remove(id).expect("a feed");
            let plan = feed.finish().expect("aggregated");
            plan.buckets
                .iter()
                .flat_map(|(_, buckets)| buckets)
                .map(|b| b.usage.events_count)
                .sum::<u64>()
        };
        // "a": t1 and t3; "b": t2.
        assert_eq!((events("a"), events("b")), (2, 1));
    }

    #[test]
    fn ids_whose_hashes_collide_get_slots_of_their_own() {
        // Every id hashes to 7: "a" takes the hash's slot first; "b" is
        // filed under it, and given its own slot when its line is taken
        // (the slot's id is not its id).
        let mut subs = Subscriptions::hashed_by(|_| 7, Feeds::default());
        assert_eq!(subs.slot(7, || b"a"), 0);
        assert_eq!(subs.slot(7, || b"b"), 0);
        assert!(subs.is(0, b"a") && !subs.is(0, b"b"));
        assert_eq!(
            (subs.exact(b"b"), subs.exact(b"b"), subs.exact(b"a")),
            (1, 1, 0)
        );
        // "a" took no event and "b" did: "a"'s slot is dropped, and "b"'s
        // moves down to 0.
        if let Some(slot) = subs.feeds.get_mut(1) {
            *slot = Some(Box::new(feed()));
        }
        subs.drop_empty_from(0);
        assert_eq!(subs.keys, [Box::from(&b"b"[..])]);
        // The hash, free again, files lines under "b"'s slot (not a
        // second one), and "a" now is the collided id.
        assert_eq!(subs.slot(7, || b"b"), 0);
        assert_eq!((subs.exact(b"b"), subs.exact(b"a")), (0, 1));
        subs.drop_empty_from(1);
        let feeds = subs.into_feeds();
        assert_eq!(feeds.len(), 1);
        assert!(feeds.contains_key("b"));
    }

    #[test]
    fn seeded_ids_whose_hashes_collide_keep_their_feeds() {
        let seeds: Feeds = [("a".into(), feed()), ("b".into(), feed())]
            .into_iter()
            .collect();
        let mut subs = Subscriptions::hashed_by(|_| 7, seeds);
        let (a, b) = (subs.exact(b"a"), subs.exact(b"b"));
        assert_ne!(a, b);
        assert!(subs.is(a, b"a") && subs.is(b, b"b"));
        assert_eq!(subs.into_feeds().len(), 2);
    }

    #[test]
    fn a_subscriptions_buffers_are_kept_unless_far_larger_than_its_lines() {
        let line = [b'x'; 100];
        let mut p = Pending::default();
        // A batch of 1,000 lines (100,000 bytes): kept for the next batch.
        for n in 0..1_000 {
            p.push(&line, n);
        }
        assert_eq!(p.lines.last(), Some(&(100_000, 999)));
        p.clear();
        assert!(p.text.is_empty() && p.lines.is_empty());
        assert!(p.text.capacity() >= 100_000 && p.lines.capacity() >= 1_000);
        // Then a batch of one line: 100 bytes in 100,000 and more, 1 line
        // in 1,000 and more; both given back.
        p.push(&line, 1_000);
        assert_eq!(p.lines, [(100, 1_000)]);
        p.clear();
        assert_eq!((p.text.capacity(), p.lines.capacity()), (0, 0));
    }

    #[test]
    fn hits_are_counted_line_by_line() {
        // Occurrences at 3, 5, 12, 30 and 31; lines 0..4, 4..10, 10..11,
        // then 20..25 (11..20 passed over: its hit at 12 is dropped), and
        // 25..40.
        let mut hits = Hits::new([3, 5, 12, 30, 31].into_iter());
        assert_eq!(hits.within((0, 4)), (1, Some(3)));
        assert_eq!(hits.within((4, 10)), (1, Some(5)));
        assert_eq!(hits.within((10, 11)), (0, None));
        assert_eq!(hits.within((20, 25)), (0, None));
        assert_eq!(hits.within((25, 40)), (2, Some(30)));
        assert_eq!(hits.within((40, 50)), (0, None));
    }

    #[test]
    fn each_line_is_marked_for_its_owner_or_for_every_worker() {
        // Lines 8..=13 after line 7: an event of s1, a blank line, an
        // escaped line, a line without the key, an id of 300 bytes (too
        // long to mark), and a last line of s2 without a newline.
        let long = "x".repeat(300);
        let lines = [
            r#"{"external_subscription_id":"s1","code":"c"}"#.to_string(),
            "  ".to_string(),
            r#"{"external_subscription_id":"s\u0031"}"#.to_string(),
            r#"{"code":"c"}"#.to_string(),
            format!(r#"{{"external_subscription_id":"{long}"}}"#),
            r#"{"external_subscription_id":"s2"}"#.to_string(),
        ];
        let data = lines.join("\n");
        let mut marks = vec![Mark::to(BLANK); 9];
        let (events, last) = mark_lines(data.as_bytes(), 7, &Finder::new(KEY), &mut marks);
        assert_eq!((events, last), (5, 13));
        // The ids sit at 29 of their lines (`{"external_subscription_id":"`).
        let owned = |id: &[u8]| Mark {
            to: owner_of(id_hash(id)) as u8,
            len: id.len() as u8,
            at: 29,
            line: 0,
            hash: id_hash(id),
        };
        let every = Mark::to(EVERY);
        let expected = [
            owned(b"s1"),
            Mark::to(BLANK),
            every,
            every,
            every,
            owned(b"s2"),
        ];
        let expected: Vec<Mark> = expected
            .iter()
            .zip(&lines)
            .map(|(m, l)| m.of_line(l.len()))
            .collect();
        assert_eq!(marks, expected);
        // The workers cut the same lines from the lengths.
        let cut: Vec<_> = marked_lines(data.as_bytes(), &marks)
            .map(|(l, _)| l)
            .collect();
        assert_eq!(
            cut,
            super::lines(data.as_bytes())
                .map(|(l, _)| l)
                .collect::<Vec<_>>()
        );
        // A window read again starts from no marks.
        let (events, last) = mark_lines(b"", 13, &Finder::new(KEY), &mut marks);
        assert_eq!((events, last, marks.len()), (0, 13, 0));
    }

    #[test]
    fn a_line_too_long_to_mark_is_found_again() {
        // "ab", "", "cde": the first and last lengths left to be found.
        let data = b"ab\n\ncde";
        let marks = [
            Mark::to(EVERY).of_line(usize::MAX),
            Mark::to(BLANK).of_line(0),
            Mark::to(EVERY).of_line(usize::MAX),
        ];
        assert_eq!(marks[0].line, FIND);
        let cut: Vec<_> = marked_lines(data, &marks).map(|(l, _)| l).collect();
        assert_eq!(cut, [(0, 2), (3, 3), (4, 7)]);
    }

    #[test]
    fn lines_end_at_newlines_and_at_the_end() {
        let all = |d: &[u8]| lines(d).collect::<Vec<_>>();
        let plain = |l: (usize, usize)| (l, false);
        assert_eq!(all(b"ab\n\nc"), [(0, 2), (3, 3), (4, 5)].map(plain));
        // After a last newline, no empty line.
        assert_eq!(all(b"ab\n"), [plain((0, 2))]);
        assert_eq!(all(b""), []);
        // Each line says whether it holds a backslash, at its start, end
        // or middle, one or several; the last line without a newline too.
        assert_eq!(
            all(b"\\a\nb\nc\\\n\\\\\n\nd\\e"),
            [
                ((0, 2), true),
                ((3, 4), false),
                ((5, 7), true),
                ((8, 10), true),
                ((11, 11), false),
                ((12, 15), true)
            ]
        );
    }

    #[test]
    fn a_subscription_is_read_off_the_key_found() {
        let line = br#"{"transaction_id":"t","external_subscription_id" : "sub_1","code":"c"}"#;
        let at = memchr::memmem::find(line, KEY).expect("the key");
        let id = raw_subscription(line, at).and_then(|(a, b)| line.get(a..b));
        assert_eq!(id, Some(&b"sub_1"[..]));
        // Not a string: left to the parse.
        let line = br#"{"external_subscription_id":12}"#;
        assert_eq!(raw_subscription(line, 1), None);
    }
}
