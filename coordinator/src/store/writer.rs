//! The single writer: one thread owns all writes, batching records into
//! atomic sled batches and flushing periodically. Producers block when it
//! falls behind (bounded channel = back-pressure on the scheduler).

use super::{PageRecord, Store, StoreError};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Records buffered between the scheduler and the writer.
const CHANNEL_BOUND: usize = 8192;
/// Largest atomic batch.
const MAX_BATCH: usize = 1024;
/// A partial batch is written after this long.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// Durability checkpoint interval.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// What the writer did, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriterStats {
    /// Records written.
    pub records: u64,
    /// Batches applied.
    pub batches: u64,
    /// Flushes done.
    pub flushes: u64,
}

/// Handle to the writer thread.
pub struct StoreWriter {
    tx: SyncSender<PageRecord>,
    thread: JoinHandle<Result<WriterStats, StoreError>>,
}

impl StoreWriter {
    pub(super) fn start(store: Store) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::sync_channel::<PageRecord>(CHANNEL_BOUND);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                let mut stats = WriterStats::default();
                let mut batch = Vec::with_capacity(MAX_BATCH);
                let mut last_flush = Instant::now();
                let mut open = true;
                while open {
                    match rx.recv_timeout(BATCH_WINDOW) {
                        Ok(r) => {
                            batch.push(r);
                            while batch.len() < MAX_BATCH {
                                match rx.try_recv() {
                                    Ok(r) => batch.push(r),
                                    Err(_) => break,
                                }
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => open = false,
                    }
                    if !batch.is_empty() {
                        store.apply(&batch)?;
                        stats.records += batch.len() as u64;
                        stats.batches += 1;
                        batch.clear();
                    }
                    if !open || last_flush.elapsed() >= FLUSH_EVERY {
                        store.flush()?;
                        stats.flushes += 1;
                        last_flush = Instant::now();
                    }
                }
                Ok(stats)
            })
            .map_err(|e| StoreError::Writer(e.to_string()))?;
        Ok(Self { tx, thread })
    }

    /// Queues a record; blocks while the writer is `CHANNEL_BOUND` behind.
    /// Fails only if the writer thread has died (its error comes from
    /// [`StoreWriter::finish`]).
    pub fn put(&self, record: PageRecord) -> Result<(), StoreError> {
        self.tx.send(record).map_err(|_| StoreError::Writer("stopped".into()))
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
