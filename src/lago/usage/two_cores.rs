//! The billing run on two cores (a performance trick, quarantined here).
//!
//! Reading: this thread reads the input in blocks of whole lines and hands
//! every block to each worker; each worker parses every line but keeps
//! only the events of the subscriptions it owns (a hash of
//! `external_subscription_id`), so a subscription's events still reach its
//! feed in input order. Lines that belong to no subscription are worker
//! 0's to reject.
//!
//! Writing: the sorted subscriptions are cut into chunks dealt to the
//! workers in turn; each worker prices and writes its chunks into buffers,
//! and this thread writes the buffers in chunk order, so the output is
//! byte for byte the one-thread output. The channels are bounded: memory
//! holds a few chunks, never the whole output. A buffer written out goes
//! back to its worker to be filled again, so chunks are not written into
//! fresh memory (each fresh page faulted in) grown by copies.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;

use crate::aggregate::fast_lookup::FastMap;
use crate::customer_usage::PlanAggregator;
use crate::lago::Outcome;
use crate::lago::aggregate::EventReader;

use super::billing_run::{BillingRunError, BillingRunSummary, NAMED, write_subscription};
use super::events::Feed;
use super::request::UsageRequest;

/// Threads that read and price.
pub(super) const WORKERS: usize = 2;
/// Bytes of lines handed to the workers at once.
const BLOCK: usize = 1 << 18;
/// Subscriptions priced into one output buffer.
const CHUNK: usize = 16;
/// Blocks or chunks in flight per worker.
const IN_FLIGHT: usize = 4;

/// One subscription's feed, by id.
pub(super) type Feeds = FastMap<Box<str>, Feed>;

/// The worker that owns a subscription (FNV-1a of its id).
pub(super) fn owner(sub: &str) -> usize {
    let hash = sub.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % WORKERS as u64).unwrap_or_default()
}

/// Lines read, and the number of the line before the first.
struct Block {
    before: u64,
    data: Vec<u8>,
}

/// What one worker read: its subscriptions' feeds and its rejections.
pub(super) struct Share {
    pub(super) feeds: Feeds,
    pub(super) rejected: u64,
    /// Its first rejected lines: line number and why.
    pub(super) named: Vec<(u64, String)>,
}

/// Reads `input` into the workers' feeds (seeded with `seeds`, one map per
/// worker); `tick(events, subscriptions)` is called as lines are read.
pub(super) fn read(
    mut input: impl BufRead,
    template: &PlanAggregator,
    seeds: Vec<Feeds>,
    mut tick: impl FnMut(u64, usize),
) -> Result<(Vec<Share>, u64), BillingRunError> {
    let seen = AtomicUsize::new(seeds.iter().map(FastMap::len).sum());
    thread::scope(|s| {
        let mut senders = Vec::with_capacity(WORKERS);
        let mut workers = Vec::with_capacity(WORKERS);
        for (w, feeds) in seeds.into_iter().enumerate() {
            let (tx, rx) = sync_channel::<Arc<Block>>(IN_FLIGHT);
            senders.push(tx);
            let seen = &seen;
            workers.push(s.spawn(move || take_share(w, rx, template, feeds, seen)));
        }
        let (mut lines, mut events) = (0u64, 0u64);
        let mut block = Block {
            before: 0,
            data: Vec::with_capacity(BLOCK + 4096),
        };
        let read = loop {
            let start = block.data.len();
            match input.read_until(b'\n', &mut block.data) {
                Err(e) => break Err(BillingRunError::Input(e)),
                Ok(0) => break Ok(()),
                Ok(_) => {}
            }
            lines += 1;
            let line = block.data.get(start..).unwrap_or_default();
            if !line.iter().all(u8::is_ascii_whitespace) {
                events += 1;
                if events.trailing_zeros() >= 16 {
                    tick(events, seen.load(Ordering::Relaxed));
                }
            }
            if block.data.len() >= BLOCK {
                let next = Block {
                    before: lines,
                    data: Vec::with_capacity(BLOCK + 4096),
                };
                hand_out(&senders, std::mem::replace(&mut block, next));
            }
        };
        if read.is_ok() && !block.data.is_empty() {
            hand_out(&senders, block);
        }
        drop(senders);
        let shares = join(workers)?;
        read.map(|()| (shares, events))
    })
}

fn hand_out(senders: &[std::sync::mpsc::SyncSender<Arc<Block>>], block: Block) {
    let block = Arc::new(block);
    for tx in senders {
        // A worker that hung up has failed; `join` reports it.
        let _gone = tx.send(Arc::clone(&block));
    }
}

fn join<T>(workers: Vec<thread::ScopedJoinHandle<'_, T>>) -> Result<Vec<T>, BillingRunError> {
    workers
        .into_iter()
        .map(|h| {
            h.join().map_err(|_| {
                BillingRunError::Input(std::io::Error::other("a billing run thread failed"))
            })
        })
        .collect()
}

/// One worker's reading: every line parsed, its own events taken.
fn take_share(
    w: usize,
    blocks: Receiver<Arc<Block>>,
    template: &PlanAggregator,
    feeds: Feeds,
    seen: &AtomicUsize,
) -> Share {
    let mut reader = EventReader::new(template.keys());
    let mut share = Share {
        feeds,
        rejected: 0,
        named: Vec::new(),
    };
    let mine = w == 0;
    for block in blocks {
        let mut line_no = block.before;
        for line in block.data.split_inclusive(|&b| b == b'\n') {
            line_no += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let why = match std::str::from_utf8(line) {
                Err(_) => mine.then(|| "the line is not UTF-8".to_string()),
                Ok(text) => match reader.read(text) {
                    Err(e) => mine.then(|| e.to_string()),
                    Ok(event) => match event.external_subscription_id() {
                        None => mine
                            .then(|| "external_subscription_id is missing or not a string".into()),
                        Some(sub) if owner(sub) != w => None,
                        Some(sub) => {
                            let feed = match share.feeds.get_mut(sub) {
                                Some(f) => f,
                                None => {
                                    seen.fetch_add(1, Ordering::Relaxed);
                                    share
                                        .feeds
                                        .entry(sub.into())
                                        .or_insert_with(|| Feed::new(template.clone()))
                                }
                            };
                            feed.take(&event)
                        }
                    },
                },
            };
            if let Some(why) = why {
                share.rejected += 1;
                if share.named.len() < NAMED as usize {
                    share.named.push((line_no, why));
                }
            }
        }
    }
    share
}

/// Subscriptions priced together, in order.
type Chunk = Vec<(Box<str>, Feed)>;

/// One chunk's lines and what they counted.
struct Written {
    text: Vec<u8>,
    summary: BillingRunSummary,
}

/// Prices and writes `subs` (sorted) to `out` in order, on the workers.
pub(super) fn write(
    subs: Vec<(Box<str>, Feed)>,
    req: &UsageRequest,
    out: &mut impl Write,
    summary: &mut BillingRunSummary,
) -> Result<(), BillingRunError> {
    let mut dealt: Vec<Vec<Chunk>> = (0..WORKERS).map(|_| Vec::new()).collect();
    let mut chunks = 0usize;
    let mut subs = subs.into_iter().peekable();
    while subs.peek().is_some() {
        let chunk: Vec<_> = subs.by_ref().take(CHUNK).collect();
        if let Some(hand) = dealt.get_mut(chunks % WORKERS) {
            hand.push(chunk);
        }
        chunks += 1;
    }
    thread::scope(|s| {
        let mut receivers = Vec::with_capacity(WORKERS);
        let mut returns = Vec::with_capacity(WORKERS);
        let mut workers = Vec::with_capacity(WORKERS);
        for hand in dealt {
            let (tx, rx) = sync_channel::<Written>(IN_FLIGHT);
            let (back, spare) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
            receivers.push(rx);
            returns.push(back);
            workers.push(s.spawn(move || {
                for chunk in hand {
                    // A buffer written out comes back: its pages are
                    // already there, and it has grown to a chunk's size.
                    let text = spare.try_recv().unwrap_or_default();
                    if tx.send(price_chunk(text, chunk, req)).is_err() {
                        return;
                    }
                }
            }));
        }
        let mut wrote = Ok(());
        for i in 0..chunks {
            let Some(Ok(chunk)) = receivers.get(i % WORKERS).map(Receiver::recv) else {
                break;
            };
            if let Err(e) = out.write_all(&chunk.text) {
                wrote = Err(BillingRunError::Output(e));
                break;
            }
            summary.rejected += chunk.summary.rejected;
            summary.errors += chunk.summary.errors;
            summary.subscriptions += chunk.summary.subscriptions;
            if let Some(back) = returns.get(i % WORKERS) {
                // A full (or closed) return channel: the buffer is freed.
                let _freed = back.try_send(chunk.text);
            }
        }
        drop(receivers);
        join(workers)?;
        wrote
    })
}

/// Prices a chunk's subscriptions, each line written straight into `text`
/// (emptied first).
fn price_chunk(mut text: Vec<u8>, chunk: Chunk, req: &UsageRequest) -> Written {
    let mut summary = BillingRunSummary::default();
    text.clear();
    for (sub, feed) in chunk {
        if write_subscription(&mut text, req, &sub, feed, &mut summary) == Outcome::Failed {
            summary.errors += 1;
        }
        text.push(b'\n');
        summary.subscriptions += 1;
    }
    Written { text, summary }
}
