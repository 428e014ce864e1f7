//! Reading the persistent queue back while a crawl runs: the frontier's
//! source for URLs it keeps on disk only.

use super::{Store, StoreError, WriterProgress};
use crate::frontier::SegmentSource;

/// Reads spilled queue segments from the store. A segment admitted a
/// moment ago may still sit in the writer's channel; a miss waits for the
/// writer to apply what was sent, then reads again.
#[derive(Clone)]
pub struct QueueReader {
    store: Store,
    progress: WriterProgress,
    /// Only a resumed crawl can find a queued URL already stored.
    resumed: bool,
}

impl QueueReader {
    /// A reader over `store`, written through the writer `progress`
    /// belongs to. `resumed`: the store held pages when the crawl started.
    pub fn new(store: Store, progress: WriterProgress, resumed: bool) -> Self {
        Self { store, progress, resumed }
    }
}

impl SegmentSource for QueueReader {
    type Error = StoreError;

    fn segment(&mut self, depth: u32, first_seq: u64) -> Result<Vec<String>, StoreError> {
        if let Some(urls) = self.store.segment(depth, first_seq)? {
            return Ok(urls);
        }
        self.progress.wait_applied();
        self.store.segment(depth, first_seq)?.ok_or_else(|| StoreError::Corrupt {
            key: format!("queue segment ({depth}, {first_seq})"),
            reason: "a spilled queue segment is missing".into(),
        })
    }

    fn is_stored(&mut self, url: &str) -> Result<bool, StoreError> {
        if self.resumed { self.store.has_page(url) } else { Ok(false) }
    }
}
