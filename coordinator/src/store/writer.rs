//! The single writer: one thread owns all writes, grouping operations into
//! atomic sled batches and flushing periodically. An operation is never
//! split across batches. Producers block when it falls behind (bounded
//! channel = back-pressure on the scheduler).

use super::segment::{self, Segment, SegmentId};
use super::{HistoryEntry, PageRecord, Store, StoreError, keys};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Operations buffered between the scheduler and the writer.
const CHANNEL_BOUND: usize = 8192;
/// Operations per atomic batch (at most).
const MAX_BATCH: usize = 512;
/// A partial batch is written after this long.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// Durability checkpoint interval.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// One atomic unit of change.
#[derive(Debug)]
pub enum StoreOp {
    /// New URLs entered the frontier.
    Enqueue(Segment),
    /// Segments whose URLs are all stored.
    Retire(Vec<SegmentId>),
    /// A page is done: store its record, retire the segment it completed,
    /// and enqueue the new URLs it led to, all or nothing.
    Page {
        /// The record (boxed: it is much larger than the other variants).
        record: Box<PageRecord>,
        /// A segment this record completes, if any.
        retire: Option<SegmentId>,
        /// New URLs found on it.
        enqueue: Option<Segment>,
        /// The response body, when bodies are kept.
        body: Option<Vec<u8>>,
    },
    /// A fetch with its history entry: the record, the entry, the move of
    /// its due-index entry, the retired segment and the new URLs, all or
    /// nothing (see [`Visit`]).
    Visit(Box<Visit>),
    /// The response head a kept body came with; sent just before the
    /// body's [`StoreOp::Page`].
    Head {
        /// The page.
        url: String,
        /// What the server sent (boxed: it is large).
        head: Box<trawl_common::protocol::ResponseHead>,
    },
}

/// One fetch of a page, stored atomically: after a crash either all of it
/// is there or none of it (and the page is due, or queued, again).
#[derive(Debug)]
pub struct Visit {
    /// The new record; its `revisit.due_at_ms`, if any, gets a due-index
    /// entry.
    pub record: PageRecord,
    /// This fetch's history entry (keyed by `record.url` and
    /// `history.fetched_at_ms`).
    pub history: HistoryEntry,
    /// The due time of the record this one replaces: its due-index entry
    /// is removed.
    pub unschedule: Option<u64>,
    /// A segment this record completes, if any.
    pub retire: Option<SegmentId>,
    /// New URLs found on it.
    pub enqueue: Option<Segment>,
    /// The response body, when bodies are kept.
    pub body: Option<Vec<u8>>,
}

/// Adds a record (and its due-index entry, if it has a schedule).
fn put_record(batch: &mut sled::Batch, record: &PageRecord, body: Option<Vec<u8>>) {
    if let Some(body) = body {
        batch.insert(keys::body(&record.url), body);
    }
    batch.insert(keys::page(&record.url), record.encode());
    if let Some(r) = record.revisit {
        batch.insert(keys::due(r.due_at_ms, &record.url), &[][..]);
    }
}

/// What the writer did, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriterStats {
    /// Page records written.
    pub records: u64,
    /// Batches applied.
    pub batches: u64,
    /// Flushes done.
    pub flushes: u64,
}

/// Handle to the writer thread.
pub struct StoreWriter {
    tx: SyncSender<StoreOp>,
    thread: JoinHandle<Result<WriterStats, StoreError>>,
    progress: WriterProgress,
}

/// How far the writer has got: lets a reader wait until what was sent is
/// readable (a spilled queue segment read back a moment after it was
/// admitted). Holding one does not keep the writer alive.
#[derive(Clone, Debug, Default)]
pub struct WriterProgress(Arc<ProgressState>);

#[derive(Debug, Default)]
struct ProgressState {
    sent: AtomicU64,
    /// (operations applied, writer stopped)
    applied: Mutex<(u64, bool)>,
    changed: Condvar,
}

impl WriterProgress {
    /// Blocks until every operation sent so far is applied; false if the
    /// writer stopped first.
    pub fn wait_applied(&self) -> bool {
        let target = self.0.sent.load(Ordering::Acquire);
        let mut state = self.0.applied.lock().unwrap_or_else(PoisonError::into_inner);
        while state.0 < target && !state.1 {
            state = self.0.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.0 >= target
    }

    fn applied(&self, ops: u64, stopped: bool) {
        let mut state = self.0.applied.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 += ops;
        state.1 |= stopped;
        self.0.changed.notify_all();
    }
}

/// Adds one operation to `batch`; returns the page records it writes.
fn add(batch: &mut sled::Batch, op: StoreOp) -> u64 {
    let (records, enqueue) = match op {
        StoreOp::Enqueue(seg) => (0, Some(seg)),
        StoreOp::Retire(ids) => {
            for (depth, seq) in ids {
                batch.remove(&keys::queue(depth, seq)[..]);
            }
            (0, None)
        }
        StoreOp::Head { url, head } => {
            batch.insert(super::keys::head(&url), super::head::encode(&head));
            (0, None)
        }
        StoreOp::Page { record, retire, enqueue, body } => {
            put_record(batch, &record, body);
            if let Some((depth, seq)) = retire {
                batch.remove(&keys::queue(depth, seq)[..]);
            }
            (1, enqueue)
        }
        StoreOp::Visit(v) => {
            let Visit { record, history, unschedule, retire, enqueue, body } = *v;
            // Removed before the new entry is put: a batch keeps the last
            // operation on a key, so an unchanged due time survives.
            if let Some(at) = unschedule {
                batch.remove(keys::due(at, &record.url));
            }
            batch.insert(keys::history(&record.url, history.fetched_at_ms), history.encode());
            put_record(batch, &record, body);
            if let Some((depth, seq)) = retire {
                batch.remove(&keys::queue(depth, seq)[..]);
            }
            (1, enqueue)
        }
    };
    if let Some(seg) = enqueue.filter(|s| !s.urls.is_empty()) {
        batch.insert(&keys::queue(seg.depth, seg.first_seq)[..], segment::encode(&seg.urls));
    }
    records
}

impl Store {
    /// Applies `ops` as one atomic batch, as the writer thread does with
    /// each group it collects; returns the page records written. Not
    /// durable until [`Store::flush`].
    pub fn write_batch(&self, ops: impl IntoIterator<Item = StoreOp>) -> Result<u64, StoreError> {
        let mut batch = sled::Batch::default();
        let records = ops.into_iter().map(|op| add(&mut batch, op)).sum();
        self.apply(batch)?;
        Ok(records)
    }
}

impl StoreWriter {
    pub(super) fn start(store: Store) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::sync_channel::<StoreOp>(CHANNEL_BOUND);
        let progress = WriterProgress::default();
        let shared = progress.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                let result = Self::run(&store, &rx, &shared);
                shared.applied(0, true);
                result
            })
            .map_err(|e| StoreError::Writer(e.to_string()))?;
        Ok(Self { tx, thread, progress })
    }

    fn run(
        store: &Store,
        rx: &mpsc::Receiver<StoreOp>,
        progress: &WriterProgress,
    ) -> Result<WriterStats, StoreError> {
        let mut stats = WriterStats::default();
        let mut last_flush = Instant::now();
        let mut open = true;
        let mut ops = Vec::with_capacity(MAX_BATCH);
        while open {
            match rx.recv_timeout(BATCH_WINDOW) {
                Ok(op) => {
                    ops.push(op);
                    while ops.len() < MAX_BATCH {
                        let Ok(op) = rx.try_recv() else { break };
                        ops.push(op);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
            if !ops.is_empty() {
                let n = ops.len() as u64;
                stats.records += store.write_batch(ops.drain(..))?;
                stats.batches += 1;
                progress.applied(n, false);
            }
            if !open || last_flush.elapsed() >= FLUSH_EVERY {
                store.flush()?;
                stats.flushes += 1;
                last_flush = Instant::now();
            }
        }
        Ok(stats)
    }

    /// A handle to wait on the writer's progress.
    pub fn progress(&self) -> WriterProgress {
        self.progress.clone()
    }

    /// Queues an operation; blocks while the writer is `CHANNEL_BOUND`
    /// behind. Fails only if the writer thread has died (its error comes
    /// from [`StoreWriter::finish`]).
    pub fn send(&self, op: StoreOp) -> Result<(), StoreError> {
        self.progress.0.sent.fetch_add(1, Ordering::AcqRel);
        self.tx.send(op).map_err(|_| StoreError::Writer("stopped".into()))
    }

    /// Writes and flushes everything queued, then stops the thread.
    pub fn finish(self) -> Result<WriterStats, StoreError> {
        drop(self.tx);
        match self.thread.join() {
            Ok(r) => r,
            Err(_) => Err(StoreError::Writer("panicked".into())),
        }
    }
}
