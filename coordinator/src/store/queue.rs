//! Reading the persistent queue back while a crawl runs: the frontier's
//! source for URLs it keeps on disk only.

use super::{SegmentId, Store, StoreError, WriterProgress};
use crate::frontier::SegmentSource;
use std::collections::VecDeque;

/// Decoded segments kept, counted in URLs: a segment's runs (one per host
/// in it) are read one after the other as those hosts come up.
const RECENT_URLS: usize = 20_000;

/// Reads spilled queue segments from the store. A segment admitted a
/// moment ago may still sit in the writer's channel; a miss waits for the
/// writer to apply what was sent, then reads again.
pub struct QueueReader {
    store: Store,
    progress: WriterProgress,
    /// Only a resumed crawl can find a queued URL already stored.
    resumed: bool,
    /// The last segments decoded, newest last, and their URL total.
    recent: VecDeque<(SegmentId, Vec<String>)>,
    recent_urls: usize,
    /// Segments read from the store (not from `recent`).
    reads: u64,
}

impl QueueReader {
    /// A reader over `store`, written through the writer `progress`
    /// belongs to. `resumed`: the store held pages when the crawl started.
    pub fn new(store: Store, progress: WriterProgress, resumed: bool) -> Self {
        Self { store, progress, resumed, recent: VecDeque::new(), recent_urls: 0, reads: 0 }
    }

    /// Segments read from the store so far.
    pub fn reads(&self) -> u64 {
        self.reads
    }

    fn read(&mut self, depth: u32, first_seq: u64) -> Result<Vec<String>, StoreError> {
        self.reads += 1;
        if let Some(urls) = self.store.segment(depth, first_seq)? {
            return Ok(urls);
        }
        self.progress.wait_applied();
        self.store.segment(depth, first_seq)?.ok_or_else(|| StoreError::Corrupt {
            key: format!("queue segment ({depth}, {first_seq})"),
            reason: "a spilled queue segment is missing".into(),
        })
    }
}

impl SegmentSource for QueueReader {
    type Error = StoreError;

    fn segment(&mut self, depth: u32, first_seq: u64) -> Result<&[String], StoreError> {
        let id = (depth, first_seq);
        let at = match self.recent.iter().position(|(k, _)| *k == id) {
            Some(at) => at,
            None => {
                let urls = self.read(depth, first_seq)?;
                self.recent_urls += urls.len();
                self.recent.push_back((id, urls));
                while self.recent_urls > RECENT_URLS && self.recent.len() > 1 {
                    if let Some((_, old)) = self.recent.pop_front() {
                        self.recent_urls -= old.len();
                    }
                }
                self.recent.len() - 1
            }
        };
        Ok(&self.recent[at].1)
    }

    fn is_stored(&self, url: &str) -> Result<bool, StoreError> {
        if self.resumed { self.store.has_page(url) } else { Ok(false) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Segment, StoreOp};

    #[test]
    fn reads_a_segment_sent_a_moment_ago_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let writer = store.writer().unwrap();
        let mut reader = QueueReader::new(store.clone(), writer.progress(), false);
        let urls: Vec<String> = (0..500).map(|i| format!("http://127.0.0.1:{i}/x")).collect();
        writer
            .send(StoreOp::Enqueue(Segment { depth: 2, first_seq: 7, urls: urls.clone() }))
            .unwrap();
        // Likely still in the writer's channel: the reader waits for it.
        assert_eq!(reader.segment(2, 7).unwrap(), urls);
        assert_eq!(reader.segment(2, 7).unwrap(), urls);
        assert_eq!(reader.reads(), 1, "the second read comes from the recent segments");
        let err = reader.segment(2, 8).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(!reader.is_stored(&urls[0]).unwrap());
        drop(reader);
        writer.finish().unwrap();
    }
}
