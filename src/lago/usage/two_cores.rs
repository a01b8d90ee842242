//! The billing run on two cores (a performance trick, quarantined here).
//!
//! Reading is in `read_windows`: each worker owns the subscriptions whose
//! id hashes to it ([`owner`]).
//!
//! Writing: the sorted subscriptions are cut into chunks dealt to the
//! workers in turn; each worker prices and writes its chunks into buffers,
//! and this thread writes the buffers in chunk order, so the output is
//! byte for byte the one-thread output. The channels are bounded: memory
//! holds a few chunks, never the whole output. A buffer written out goes
//! back to its worker to be filled again, so chunks are not written into
//! fresh memory (each fresh page faulted in) grown by copies.

use std::io::Write;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;

use crate::aggregate::fast_lookup::FastMap;
use crate::lago::Outcome;

use super::billing_run::{BillingRunError, BillingRunSummary, write_subscription};
use super::direct_write::Direct;
use super::events::Feed;
use super::request::UsageRequest;

/// Threads that read and price.
pub(super) const WORKERS: usize = 2;
/// Subscriptions priced into one output buffer.
const CHUNK: usize = 16;
/// Chunks in flight per worker.
const IN_FLIGHT: usize = 4;

/// One subscription's feed, by id.
pub(super) type Feeds = FastMap<Box<str>, Feed>;

/// The worker that owns a subscription.
pub(super) fn owner(sub: &[u8]) -> usize {
    owner_of(id_hash(sub))
}

/// A subscription id's hash (FNV-1a): the reading thread computes it once
/// per line, and it both deals the line to a worker and finds the line's
/// slot there.
pub(super) fn id_hash(sub: &[u8]) -> u64 {
    sub.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The worker that owns the subscriptions of id hash `hash`.
pub(super) fn owner_of(hash: u64) -> usize {
    usize::try_from(hash % WORKERS as u64).unwrap_or_default()
}

pub(super) fn join<T>(
    workers: Vec<thread::ScopedJoinHandle<'_, T>>,
) -> Result<Vec<T>, BillingRunError> {
    workers
        .into_iter()
        .map(|h| {
            h.join().map_err(|_| {
                BillingRunError::Input(std::io::Error::other("a billing run thread failed"))
            })
        })
        .collect()
}

/// Subscriptions priced together, in order.
type Chunk = Vec<(Box<str>, Feed)>;

/// One chunk's lines and what they counted.
struct Written {
    text: Vec<u8>,
    summary: BillingRunSummary,
}

/// Prices and writes `subs` (sorted) to `out` in order, on the workers;
/// by the direct path where it can.
pub(super) fn write(
    subs: Vec<(Box<str>, Feed)>,
    req: &UsageRequest,
    direct: Option<&Direct<'_>>,
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
                let mut last = 0;
                for chunk in hand {
                    // A buffer written out comes back: its pages are
                    // already there, and it has grown to a chunk's size.
                    // A new one starts at the last chunk's size, rather
                    // than doubling (a copy each time) up to it.
                    let text = spare
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(last + last / 4));
                    let written = price_chunk(text, chunk, req, direct);
                    last = written.text.len();
                    if tx.send(written).is_err() {
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
fn price_chunk(
    mut text: Vec<u8>,
    chunk: Chunk,
    req: &UsageRequest,
    direct: Option<&Direct<'_>>,
) -> Written {
    let mut summary = BillingRunSummary::default();
    text.clear();
    for (sub, feed) in chunk {
        let outcome = write_subscription(&mut text, req, direct, (&sub, feed), &mut summary);
        if outcome == Outcome::Failed {
            summary.errors += 1;
        }
        text.push(b'\n');
        summary.subscriptions += 1;
    }
    Written { text, summary }
}
