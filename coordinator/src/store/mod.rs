//! The store: the only code in the workspace that touches sled.
//!
//! One process may open a sled database at a time, so the coordinator owns
//! it while a crawl runs; `trawl query` opens it only when no crawl holds
//! the lock, and a held lock becomes [`StoreError::Locked`], not a panic.
//!
//! The store holds page records *and* the persistent frontier ([`keys`]),
//! written together by one writer thread ([`writer`]) in atomic batches, so
//! a crawl killed at any point resumes exactly: stored pages are never
//! fetched again and every discovered URL is either stored or queued.

mod head;
mod history;
pub mod keys;
mod queue;
mod records;
mod segment;
mod writer;

pub use queue::QueueReader;

pub use history::{Change, HISTORY_VERSION, HistoryEntry};
pub use records::{PageRecord, RECORD_VERSION, Revisit};
pub use segment::{Segment, SegmentId};
pub use writer::{StoreOp, StoreWriter, Visit, WriterProgress, WriterStats};

use std::path::{Path, PathBuf};
use thiserror::Error;
use trawl_common::protocol::ResponseHead;

/// The one tree everything lives in.
const TREE: &[u8] = b"crawl";

/// Store failures. All of them stop the process that hit them.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (a running crawl) holds the store.
    #[error(
        "the store at {path} is in use by another trawl process (a crawl is running); wait for it to finish or use another --store"
    )]
    Locked {
        /// The store directory.
        path: PathBuf,
    },
    /// The directory does not hold a store.
    #[error("no trawl store at {path}")]
    Missing {
        /// The store directory.
        path: PathBuf,
    },
    /// sled failed.
    #[error("store {path}: {source}")]
    Sled {
        /// The store directory.
        path: PathBuf,
        /// The cause.
        source: sled::Error,
    },
    /// The writer thread stopped or could not start.
    #[error("store writer: {0}")]
    Writer(String),
    /// A record could not be decoded.
    #[error("corrupt record for {key}: {reason}")]
    Corrupt {
        /// Its key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// An open store.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    tree: sled::Tree,
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(path)
            // sled's cache is a soft limit and its real footprint is a
            // multiple of it; 64 MiB keeps the coordinator small.
            .cache_capacity(64 * 1024 * 1024)
            .flush_every_ms(Some(500))
            .open()
            .map_err(|e| map_open_error(path, e))?;
        let tree = db.open_tree(TREE).map_err(|e| sled_err(path, e))?;
        Ok(Self { path: path.to_owned(), db, tree })
    }

    /// Opens an existing store for reading; a missing directory is an error
    /// rather than silently creating an empty store.
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        match std::fs::metadata(path.join("db")) {
            Ok(_) => Self::open(path),
            Err(_) => Err(StoreError::Missing { path: path.to_owned() }),
        }
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of stored pages (a key scan; no values are read).
    pub fn page_count(&self) -> usize {
        self.tree.scan_prefix([keys::PAGE]).keys().count()
    }

    /// The record for `url`, if stored.
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        match self.tree.get(keys::page(url)).map_err(|e| sled_err(&self.path, e))? {
            Some(v) => PageRecord::decode(&v)
                .map(Some)
                .map_err(|reason| StoreError::Corrupt { key: url.to_owned(), reason }),
            None => Ok(None),
        }
    }

    /// Stored pages whose URL starts with `prefix`, in URL order, streamed
    /// from disk (nothing is loaded in bulk).
    pub fn pages_with_prefix(
        &self,
        prefix: &str,
    ) -> impl Iterator<Item = Result<PageRecord, StoreError>> + '_ {
        self.tree.scan_prefix(keys::page(prefix)).map(move |kv| {
            let (k, v) = kv.map_err(|e| sled_err(&self.path, e))?;
            PageRecord::decode(&v).map_err(|reason| StoreError::Corrupt {
                key: String::from_utf8_lossy(&k[1..]).into_owned(),
                reason,
            })
        })
    }

    /// Every stored URL, in order (keys only).
    pub fn page_urls(&self) -> impl Iterator<Item = Result<String, StoreError>> + '_ {
        self.tree.scan_prefix([keys::PAGE]).keys().map(move |k| {
            let k = k.map_err(|e| sled_err(&self.path, e))?;
            Ok(String::from_utf8_lossy(&k[1..]).into_owned())
        })
    }

    /// The persistent frontier's live segments, breadth-first.
    pub fn queue(&self) -> impl Iterator<Item = Result<Segment, StoreError>> + '_ {
        self.tree.scan_prefix([keys::QUEUE]).map(move |kv| {
            let (k, v) = kv.map_err(|e| sled_err(&self.path, e))?;
            let (depth, first_seq) = keys::parse_queue(&k).ok_or_else(|| StoreError::Corrupt {
                key: format!("{k:?}"),
                reason: "bad queue key".into(),
            })?;
            let urls = segment::decode(&v)
                .map_err(|reason| StoreError::Corrupt { key: format!("{k:?}"), reason })?;
            Ok(Segment { depth, first_seq, urls })
        })
    }

    /// The URLs of one live queue segment, if it is written.
    pub fn segment(&self, depth: u32, first_seq: u64) -> Result<Option<Vec<String>>, StoreError> {
        let v =
            self.tree.get(keys::queue(depth, first_seq)).map_err(|e| sled_err(&self.path, e))?;
        v.map(|v| {
            segment::decode(&v).map_err(|reason| StoreError::Corrupt {
                key: format!("queue segment ({depth}, {first_seq})"),
                reason,
            })
        })
        .transpose()
    }

    /// Is there a record for `url`?
    pub fn has_page(&self, url: &str) -> Result<bool, StoreError> {
        self.tree.contains_key(keys::page(url)).map_err(|e| sled_err(&self.path, e))
    }

    /// The kept response body of `url`, if the crawl kept bodies.
    pub fn body(&self, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree
            .get(keys::body(url))
            .map(|v| v.map(|b| b.to_vec()))
            .map_err(|e| sled_err(&self.path, e))
    }

    /// The response head kept with the body of `url`, if any (stores
    /// written before heads were kept have bodies without them).
    pub fn response_head(&self, url: &str) -> Result<Option<ResponseHead>, StoreError> {
        let v = self.tree.get(keys::head(url)).map_err(|e| sled_err(&self.path, e))?;
        v.map(|v| {
            head::decode(&v)
                .map_err(|reason| StoreError::Corrupt { key: format!("head of {url}"), reason })
        })
        .transpose()
    }

    /// The fetch history of `url`, oldest first (empty if it has none:
    /// stores written before history was kept).
    pub fn history(&self, url: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.tree
            .scan_prefix(keys::history_prefix(url))
            .map(|kv| {
                let (k, v) = kv.map_err(|e| sled_err(&self.path, e))?;
                let corrupt =
                    |reason| StoreError::Corrupt { key: format!("history of {url}"), reason };
                let (_, at) = keys::parse_history(&k).ok_or_else(|| corrupt("bad key".into()))?;
                HistoryEntry::decode(&v, at).map_err(corrupt)
            })
            .collect()
    }

    /// Every history entry of a fetch at or after `since_ms`, as (url,
    /// entry), in URL then time order, streamed from disk (a scan of all
    /// history keys; only the matching values are decoded).
    pub fn history_since(
        &self,
        since_ms: u64,
    ) -> impl Iterator<Item = Result<(String, HistoryEntry), StoreError>> + '_ {
        self.tree.scan_prefix([keys::HISTORY]).filter_map(move |kv| {
            let (k, v) = match kv {
                Ok(kv) => kv,
                Err(e) => return Some(Err(sled_err(&self.path, e))),
            };
            match keys::parse_history(&k) {
                Some((_, at)) if at < since_ms => None,
                Some((url, at)) => Some(
                    HistoryEntry::decode(&v, at)
                        .map(|e| (url.clone(), e))
                        .map_err(|reason| StoreError::Corrupt { key: url, reason }),
                ),
                None => Some(Err(StoreError::Corrupt {
                    key: format!("{k:?}"),
                    reason: "bad history key".into(),
                })),
            }
        })
    }

    /// Scheduled pages due at or before `at_ms`, as (due_at_ms, url),
    /// earliest first.
    pub fn due_until(
        &self,
        at_ms: u64,
    ) -> impl Iterator<Item = Result<(u64, String), StoreError>> + '_ {
        self.tree.range(vec![keys::DUE]..keys::due_after(at_ms)).keys().map(move |k| {
            let k = k.map_err(|e| sled_err(&self.path, e))?;
            keys::parse_due(&k).ok_or_else(|| StoreError::Corrupt {
                key: format!("{k:?}"),
                reason: "bad due key".into(),
            })
        })
    }

    /// The earliest due time of any scheduled page.
    pub fn next_due(&self) -> Result<Option<u64>, StoreError> {
        match self.tree.scan_prefix([keys::DUE]).keys().next() {
            Some(k) => {
                let k = k.map_err(|e| sled_err(&self.path, e))?;
                Ok(keys::parse_due(&k).map(|(at, _)| at))
            }
            None => Ok(None),
        }
    }

    /// Starts the single writer thread.
    pub fn writer(&self) -> Result<StoreWriter, StoreError> {
        StoreWriter::start(self.clone())
    }

    fn apply(&self, batch: sled::Batch) -> Result<(), StoreError> {
        self.tree.apply_batch(batch).map_err(|e| sled_err(&self.path, e))
    }

    /// Leaves this handle to process exit without dropping it, after the
    /// filesystem filled up. sled 0.34 flushes again when its last handle
    /// drops, and after an `ENOSPC` that flush can wait forever for a write
    /// that already failed (`make_stable` on a condvar no one notifies; 1
    /// run in 8 of the full-disk e2e test hung there). Nothing more can be
    /// written anyway, and the lock goes with the process.
    pub fn abandon(self) {
        tracing::debug!(store = %self.path.display(), "store handle left to process exit (disk full)");
        std::mem::forget(self);
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| sled_err(&self.path, e))
    }
}

impl StoreError {
    /// Did the store's filesystem run out of space (`ENOSPC`, or a quota:
    /// `EDQUOT`)? sled 0.34 reports it as `Io` from the write or flush
    /// that hit it (a failed background write is kept as sled's global
    /// error and returned by the next operation), never as a panic.
    pub fn is_no_space(&self) -> bool {
        match self {
            Self::Sled { source: sled::Error::Io(io), .. } => is_no_space(io),
            _ => false,
        }
    }
}

/// `ENOSPC` or `EDQUOT`.
pub fn is_no_space(io: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    io.kind() == std::io::ErrorKind::StorageFull
        || io.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(io.raw_os_error(), Some(ENOSPC | EDQUOT))
}

fn sled_err(path: &Path, source: sled::Error) -> StoreError {
    StoreError::Sled { path: path.to_owned(), source }
}

fn map_open_error(path: &Path, e: sled::Error) -> StoreError {
    if let sled::Error::Io(io) = &e {
        let msg = io.to_string();
        if io.kind() == std::io::ErrorKind::WouldBlock || msg.contains("could not acquire lock") {
            return StoreError::Locked { path: path.to_owned() };
        }
    }
    sled_err(path, e)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use trawl_common::protocol::FetchOutcome;

    pub(crate) fn rec(url: &str) -> PageRecord {
        PageRecord {
            url: url.into(),
            status: Some(200),
            content_type: Some("text/html".into()),
            depth: 1,
            title: Some("T".into()),
            bytes: 10,
            fetched_at_ms: 5,
            elapsed_ms: 2,
            outlinks: 3,
            outcome: FetchOutcome::Ok,
            worker: Some(1),
            attempts: 1,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: Default::default(),
            etag: None,
            last_modified: None,
            content_hash: None,
            fields_hash: None,
            changed_at_ms: None,
            revisit: None,
        }
    }

    fn put(url: &str) -> StoreOp {
        StoreOp::Page { record: Box::new(rec(url)), retire: None, enqueue: None, body: None }
    }

    #[test]
    fn writes_are_keyed_by_url_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            let w = s.writer().unwrap();
            for u in ["http://a/1", "http://a/2", "http://b/1", "http://a/1"] {
                w.send(put(u)).unwrap();
            }
            w.finish().unwrap();
        }
        let s = Store::open_existing(dir.path()).unwrap();
        assert_eq!(s.page_count(), 3);
        let a: Vec<_> = s.pages_with_prefix("http://a/").map(|r| r.unwrap().url).collect();
        assert_eq!(a, ["http://a/1", "http://a/2"]);
        assert_eq!(s.page("http://b/1").unwrap().unwrap(), rec("http://b/1"));
    }

    #[test]
    fn a_page_retires_its_queue_entry_and_adds_its_links_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = s.writer().unwrap();
        w.send(StoreOp::Enqueue(Segment {
            depth: 0,
            first_seq: 1,
            urls: vec!["http://a/".into()],
        }))
        .unwrap();
        w.send(StoreOp::Page {
            record: Box::new(rec("http://a/")),
            body: Some(b"<html>a</html>".to_vec()),
            retire: Some((0, 1)),
            enqueue: Some(Segment {
                depth: 1,
                first_seq: 2,
                urls: vec!["http://a/x".into(), "http://a/y".into()],
            }),
        })
        .unwrap();
        w.finish().unwrap();
        let q: Vec<_> = s.queue().map(Result::unwrap).collect();
        assert_eq!(
            q,
            [Segment {
                depth: 1,
                first_seq: 2,
                urls: vec!["http://a/x".into(), "http://a/y".into()]
            }]
        );
        let urls: Vec<_> = s.page_urls().map(Result::unwrap).collect();
        assert_eq!(urls, ["http://a/"], "bodies are not pages");
        assert_eq!(s.body("http://a/").unwrap().as_deref(), Some(&b"<html>a</html>"[..]));
        assert_eq!(s.page_count(), 1);
    }

    fn visit(url: &str, at: u64, change: Change, due: Option<u64>, was: Option<u64>) -> StoreOp {
        let mut record = rec(url);
        record.fetched_at_ms = at;
        record.revisit = due.map(|due_at_ms| Revisit { interval_ms: 10, due_at_ms });
        let history = HistoryEntry {
            fetched_at_ms: at,
            status: Some(200),
            change,
            content_hash: Some(1),
            changed_fields: Vec::new(),
        };
        StoreOp::Visit(Box::new(Visit {
            record,
            history,
            unschedule: was,
            retire: None,
            enqueue: None,
            body: None,
        }))
    }

    #[test]
    fn visits_keep_history_and_move_the_due_entry_in_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.write_batch([visit("http://a/", 100, Change::First, Some(110), None)]).unwrap();
        s.write_batch([visit("http://a/x", 101, Change::First, Some(111), None)]).unwrap();
        let due: Vec<_> = s.due_until(110).map(Result::unwrap).collect();
        assert_eq!(due, [(110, "http://a/".to_owned())]);
        s.write_batch([visit("http://a/", 110, Change::Unchanged, Some(125), Some(110))]).unwrap();
        // The same fetch applied twice (a replayed batch) stores it once.
        s.write_batch([visit("http://a/", 110, Change::Unchanged, Some(125), Some(110))]).unwrap();
        let due: Vec<_> = s.due_until(u64::MAX).map(Result::unwrap).collect();
        assert_eq!(due, [(111, "http://a/x".to_owned()), (125, "http://a/".to_owned())]);
        assert_eq!(s.next_due().unwrap(), Some(111));
        let h = s.history("http://a/").unwrap();
        assert_eq!(
            h.iter().map(|e| (e.fetched_at_ms, e.change)).collect::<Vec<_>>(),
            [(100, Change::First), (110, Change::Unchanged)]
        );
        assert_eq!(s.history("http://a/x").unwrap().len(), 1);
        let since: Vec<_> = s.history_since(101).map(|r| r.unwrap()).collect();
        assert_eq!(
            since.iter().map(|(u, e)| (u.as_str(), e.fetched_at_ms)).collect::<Vec<_>>(),
            [("http://a/", 110), ("http://a/x", 101)]
        );
        // Unscheduling with the same due time keeps the entry.
        s.write_batch([visit("http://a/", 120, Change::Changed, Some(125), Some(125))]).unwrap();
        assert_eq!(s.due_until(u64::MAX).count(), 2);
        // A record without a schedule leaves the index.
        s.write_batch([visit("http://a/", 130, Change::Gone, None, Some(125))]).unwrap();
        let due: Vec<_> = s.due_until(u64::MAX).map(Result::unwrap).collect();
        assert_eq!(due, [(111, "http://a/x".to_owned())]);
        assert_eq!(s.page_count(), 2, "history and due entries are not pages");
    }

    #[test]
    fn second_open_reports_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _s = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("in use"));
    }

    #[test]
    fn missing_store_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open_existing(&dir.path().join("nope")).err().unwrap();
        assert!(matches!(err, StoreError::Missing { .. }));
    }
}
