//! The revisit path: stored pages that come due go back into the frontier
//! and every stored record goes through [`Revisits::visit`], which compares
//! it with the stored page, adapts its schedule and writes its history.
//!
//! - Continuous crawls (`--revisit`): every page gets a schedule when it
//!   is stored; [`Revisits::poll`] (each scheduler tick) takes the due
//!   pages from the store's due index and re-queues them through
//!   [`Frontier::requeue`], so politeness and robots.txt apply as to any
//!   fetch; links found on a revisit are admitted as usual (the seen-set
//!   keeps stored pages out). The crawl runs until stopped.
//! - `trawl refresh`: [`Revisits::refresh`] re-queues a chosen set once;
//!   the crawl ends when they are stored, links are not followed.
//!
//! Invariants: a URL is pending (re-queued, not yet stored) at most once;
//! its due-index entry is moved (old removed, new put) in the batch that
//! stores its record and history entry, so a kill -9 either keeps the old
//! schedule (the page is due again on restart) or has the new one, never
//! neither and never both. Until the writer has applied that batch, the
//! old entry is remembered in `unscheduled` so a poll does not take it
//! again.

use super::Scheduler;
use super::lease_table::InFlight;
use crate::error::CoordinatorError;
use crate::frontier::{Frontier, Queued, SegmentSource};
use crate::revisit::{classify, merge, next_interval};
use crate::store::{HistoryEntry, PageRecord, Revisit, Store, StoreError, Visit};
use std::collections::{BTreeMap, HashMap, HashSet};
use trawl_common::config::RevisitConfig;
use trawl_common::protocol::{FetchOutcome, Lease, Validators};

/// Most re-queued revisits waiting at once (the rest stay in the due
/// index until these are stored).
const MAX_PENDING: usize = 10_000;

/// The `seg` of a re-queued page: it belongs to no persisted segment.
const NO_SEGMENT: u64 = u64::MAX;

/// A page re-queued for a revisit.
#[derive(Debug)]
struct Pending {
    /// What to send with the request.
    validators: Option<Validators>,
}

/// Revisit state of one scheduler.
pub(super) struct Revisits {
    store: Store,
    config: RevisitConfig,
    /// `trawl refresh`: a set re-fetched once.
    refresh: bool,
    pending: HashMap<String, Pending>,
    /// Due entries removed by a batch the writer may not have applied yet.
    unscheduled: HashSet<(u64, String)>,
    /// Fetches of this run by [`Change::name`](crate::store::Change::name).
    changes: BTreeMap<&'static str, u64>,
}

/// Does an outcome get a schedule? Not poison (workers die on it) and not
/// blocked (it never will be fetched).
fn schedulable(outcome: &FetchOutcome) -> bool {
    !matches!(outcome, FetchOutcome::Poison { .. } | FetchOutcome::Blocked { .. })
}

impl Revisits {
    pub(super) fn new(config: &RevisitConfig, store: &Store) -> Self {
        Self {
            store: store.clone(),
            config: config.clone(),
            refresh: false,
            pending: HashMap::new(),
            unscheduled: HashSet::new(),
            changes: BTreeMap::new(),
        }
    }

    /// The crawl runs until stopped (`--revisit`).
    pub(super) fn continuous(&self) -> bool {
        self.config.continuous
    }

    /// Links found on pages are admitted (not in `trawl refresh`).
    pub(super) fn follows_links(&self) -> bool {
        !self.refresh
    }

    /// Fetches of this run per change kind.
    pub(super) fn changes(&self) -> BTreeMap<&'static str, u64> {
        self.changes.clone()
    }

    /// Re-queues a stored page for a revisit (once).
    fn admit<S: SegmentSource>(&mut self, rec: &PageRecord, frontier: &mut Frontier<S>) {
        if self.pending.contains_key(&rec.url) {
            return;
        }
        self.pending.insert(rec.url.clone(), Pending { validators: rec.validators() });
        frontier.requeue(Queued {
            url: rec.url.clone(),
            depth: rec.depth,
            seq: NO_SEGMENT,
            seg: NO_SEGMENT,
        });
    }

    /// Continuous crawls: re-queues the pages due at `now_ms`.
    pub(super) fn poll<S: SegmentSource>(
        &mut self,
        now_ms: u64,
        frontier: &mut Frontier<S>,
    ) -> Result<(), StoreError> {
        if !self.config.continuous {
            return Ok(());
        }
        let mut still = HashSet::new();
        let mut complete = true;
        let store = self.store.clone();
        for item in store.due_until(now_ms) {
            let (due, url) = item?;
            let key = (due, url);
            if self.unscheduled.contains(&key) {
                still.insert(key);
                continue;
            }
            if self.pending.contains_key(&key.1) {
                continue;
            }
            if self.pending.len() >= MAX_PENDING {
                complete = false;
                break;
            }
            match store.page(&key.1)? {
                Some(rec) => {
                    tracing::debug!(url = %rec.url, due_at_ms = due, "revisit due");
                    self.admit(&rec, frontier);
                }
                None => tracing::warn!(url = %key.1, "due entry without a page record"),
            }
        }
        if complete {
            self.unscheduled.retain(|k| still.contains(k));
        }
        Ok(())
    }

    /// `trawl refresh`: re-queues these stored pages once.
    pub(super) fn refresh<S: SegmentSource>(
        &mut self,
        urls: &[String],
        frontier: &mut Frontier<S>,
    ) -> Result<usize, StoreError> {
        self.refresh = true;
        for url in urls {
            if let Some(rec) = self.store.page(url)? {
                self.admit(&rec, frontier);
            }
        }
        Ok(self.pending.len())
    }

    /// The validators a lease for `url` carries.
    fn validators(&self, url: &str) -> Option<Validators> {
        self.pending.get(url).and_then(|p| p.validators.clone())
    }

    /// Is `url` a re-queued revisit (not a frontier URL of a segment)?
    pub(super) fn is_revisit(&self, url: &str) -> bool {
        self.pending.contains_key(url)
    }

    /// The store operation for `record`, about to be stored: compared with
    /// the stored page if this is a revisit, merged, scheduled, with its
    /// history entry.
    pub(super) fn visit(&mut self, record: PageRecord) -> Result<Visit, StoreError> {
        let prev = match self.pending.remove(&record.url) {
            Some(_) => self.store.page(&record.url)?,
            None => None,
        };
        let (change, changed_fields) = classify(prev.as_ref(), &record);
        *self.changes.entry(change.name()).or_default() += 1;
        let history = HistoryEntry {
            fetched_at_ms: record.fetched_at_ms,
            status: record.status,
            change,
            content_hash: record.content_hash,
            changed_fields,
        };
        let was = prev.as_ref().and_then(|p| p.revisit);
        let mut out = merge(prev.as_ref(), record, change);
        let scheduled = self.config.continuous || self.refresh || was.is_some();
        out.revisit = (scheduled && schedulable(&out.outcome)).then(|| {
            let (min, max) = (ms(self.config.min), ms(self.config.max));
            let interval_ms = match was {
                Some(r) => next_interval(r.interval_ms, change, min, max),
                None => {
                    let start = ms(self.config.initial_interval(&out.url));
                    next_interval(start, change, min, max)
                }
            };
            Revisit { interval_ms, due_at_ms: out.fetched_at_ms.saturating_add(interval_ms) }
        });
        let unschedule = was.map(|r| r.due_at_ms);
        if let Some(at) = unschedule
            && out.revisit.is_none_or(|r| r.due_at_ms != at)
        {
            self.unscheduled.insert((at, out.url.clone()));
        }
        Ok(Visit { record: out, history, unschedule, retire: None, enqueue: None, body: None })
    }
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Scheduler<'_> {
    /// Issues a page lease, with the stored validators if it is a revisit.
    pub(super) fn issue_page(&mut self, q: Queued) -> Lease {
        let validators = self.revisits.validators(&q.url);
        let mut lease = self.leases.issue(InFlight::Page(q));
        lease.validators = validators;
        lease
    }

    /// `trawl refresh`: fetch these stored pages again, once.
    pub(crate) fn refresh(&mut self, urls: &[String]) -> Result<usize, CoordinatorError> {
        let n = self.revisits.refresh(urls, &mut self.frontier)?;
        tracing::info!(pages = n, "refreshing");
        Ok(n)
    }

    /// Continuous crawls: due pages back into the frontier.
    pub(super) fn poll_revisits(&mut self) -> Result<(), CoordinatorError> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.poll_revisits_at(now_ms)
    }

    /// [`Scheduler::poll_revisits`] at a given wall-clock time.
    pub(super) fn poll_revisits_at(&mut self, now_ms: u64) -> Result<(), CoordinatorError> {
        Ok(self.revisits.poll(now_ms, &mut self.frontier)?)
    }
}
