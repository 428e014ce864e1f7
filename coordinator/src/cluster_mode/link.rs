//! The scheduler's side of cluster mode: a plain struct it owns (no
//! locks on its hot path but the committer's channel).

use super::committer::{Item, ToCommitter};
use super::{ClusterEvent, Shared, partition_of};
use crate::frontier::{Frontier, Queued, SegmentSource};
use crate::store::{PageRecord, Segment};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc::UnboundedSender;
use trawl_cluster::{NewUrl, PartitionId};

/// A segment id no persisted segment has: URLs from the cluster are
/// queued in PostgreSQL, not in the local store's queue.
const CLUSTER_SEG: u64 = u64::MAX;

/// What the scheduler holds in cluster mode.
pub(crate) struct ClusterLink {
    /// Partitions whose URLs may be handed out.
    owned: HashSet<PartitionId>,
    /// URLs seen here but dropped (their partition was lost, or their
    /// record fenced): a takeover may queue them here again.
    dropped: HashSet<String>,
    /// Links for other partitions found on the page being reported.
    foreign: Vec<NewUrl>,
    /// Foreign URLs already sent (the database dedups the rest).
    sent_foreign: HashSet<String>,
    to_committer: UnboundedSender<ToCommitter>,
    shared: Arc<Shared>,
}

impl ClusterLink {
    pub(super) fn new(to_committer: UnboundedSender<ToCommitter>, shared: Arc<Shared>) -> Self {
        Self {
            owned: HashSet::new(),
            dropped: HashSet::new(),
            foreign: Vec::new(),
            sent_foreign: HashSet::new(),
            to_committer,
            shared,
        }
    }

    /// Applies an event from the cluster tasks.
    pub(crate) fn on_event<S: SegmentSource>(
        &mut self,
        ev: ClusterEvent,
        frontier: &mut Frontier<S>,
    ) {
        match ev {
            ClusterEvent::Gained(p) => self.owned.extend(p),
            ClusterEvent::Lost(p) => {
                for id in p {
                    self.owned.remove(&id);
                }
            }
            ClusterEvent::Fenced(urls) => self.dropped.extend(urls),
            // The scheduler applies these itself (scheduler/carried.rs).
            ClusterEvent::Carried(_) | ClusterEvent::CrashesSettled { .. } => {}
            ClusterEvent::Urls(urls) => {
                for u in urls {
                    if !self.owned.contains(&u.partition) {
                        continue;
                    }
                    if !frontier.is_seen(&u.url) {
                        frontier.push(&u.url, u.depth, CLUSTER_SEG);
                    } else if self.dropped.remove(&u.url) {
                        let seq = frontier.next_seq();
                        frontier.restore(Queued {
                            url: u.url,
                            depth: u.depth,
                            seq,
                            seg: CLUSTER_SEG,
                        });
                    }
                }
            }
        }
    }

    /// May `q` be handed out? If not (its partition is not held), it is
    /// dropped here and remembered for a later takeover.
    pub(crate) fn keep(&mut self, q: &Queued) -> bool {
        if partition_of(&q.url).is_some_and(|p| self.owned.contains(&p)) {
            return true;
        }
        self.dropped.insert(q.url.clone());
        false
    }

    /// Removes the links of other partitions from `links` (they become URL
    /// rows for their owners, committed with this page).
    pub(crate) fn split_links(&mut self, links: &mut Vec<String>, depth: u32) {
        links.retain(|l| match partition_of(l) {
            Some(p) if self.owned.contains(&p) => true,
            Some(partition) => {
                if self.sent_foreign.insert(l.clone()) {
                    self.foreign.push(NewUrl { url: l.clone(), partition, depth });
                }
                false
            }
            None => true,
        });
    }

    /// Sends a record, the own URLs it admitted and the foreign links
    /// split off since the last record to the committer: one fenced unit.
    pub(crate) fn page(&mut self, record: &PageRecord, own: Option<&Segment>, body: Option<&[u8]>) {
        let Some(partition) = partition_of(&record.url) else {
            self.foreign.clear();
            return;
        };
        let mut urls = std::mem::take(&mut self.foreign);
        if let Some(seg) = own {
            urls.extend(seg.urls.iter().filter_map(|u| {
                Some(NewUrl { url: u.clone(), partition: partition_of(u)?, depth: seg.depth })
            }));
        }
        let page = super::rows::row(record.clone(), partition, body);
        self.shared.uncommitted.fetch_add(1, Ordering::AcqRel);
        if self.to_committer.send(ToCommitter::Page(Box::new(Item { page, urls }))).is_err() {
            self.shared.uncommitted.fetch_sub(1, Ordering::AcqRel);
            tracing::error!(url = %record.url, "cluster committer gone: record not committed");
        }
    }

    /// Nothing is queued in the whole cluster and nothing of ours is
    /// waiting to commit.
    pub(crate) fn idle(&self) -> bool {
        self.shared.idle()
    }

    /// `--max-pages` over the cluster: pages in the database, ours not yet
    /// committed, and `in_flight` here.
    pub(crate) fn limit_reached(&self, max: u64, in_flight: u64) -> bool {
        let pages = self.shared.pages.load(Ordering::Acquire);
        let pending = self.shared.uncommitted.load(Ordering::Acquire);
        pages + pending + in_flight >= max
    }
}

/// robots.txt, crash counts and sitemap URLs through the database
/// ([`super::carry`]).
impl ClusterLink {
    /// A worker died holding `url`, blamed on it: its count goes to the
    /// database at once. Returns false if it could not be sent (then
    /// nothing will settle it: the caller must not wait for it).
    pub(crate) fn crashed(&mut self, url: &str) -> bool {
        let Some(partition) = partition_of(url) else { return false };
        let crash = trawl_cluster::Crash { url: url.to_owned(), partition, count: 1 };
        self.to_committer.send(ToCommitter::Crash(crash)).is_ok()
    }

    /// A robots.txt fetch for `host` ended: a final answer is stored.
    pub(crate) fn robots(
        &mut self,
        host: &str,
        fetch: &crate::politeness::robots::RobotsFetch<'_>,
    ) {
        if let Some(row) = super::carry::robots_row(host, fetch, super::carry::now_ms()) {
            let _ = self.to_committer.send(ToCommitter::Robots(row));
        }
    }

    /// URLs a sitemap listed (depth 0): those of other partitions were
    /// split off by [`split_links`](Self::split_links); they and the own
    /// ones `own` admitted become URL rows (other owners get them through
    /// the inbox, like links).
    pub(crate) fn sitemap_urls(&mut self, own: Option<&Segment>) {
        let mut urls = std::mem::take(&mut self.foreign);
        if let Some(seg) = own {
            urls.extend(seg.urls.iter().filter_map(|u| {
                Some(NewUrl { url: u.clone(), partition: partition_of(u)?, depth: seg.depth })
            }));
        }
        if !urls.is_empty() {
            let _ = self.to_committer.send(ToCommitter::Urls(urls));
        }
    }

    /// May a crash suspect of `url` go out again? Only for a held
    /// partition (else it is remembered for a later takeover, like any
    /// URL of a lost partition).
    pub(crate) fn keep_url(&mut self, url: &str) -> bool {
        if partition_of(url).is_some_and(|p| self.owned.contains(&p)) {
            return true;
        }
        self.dropped.insert(url.to_owned());
        false
    }
}
