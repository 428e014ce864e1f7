//! The scheduler's side of cluster mode: a plain struct it owns (no
//! locks on its hot path but the committer's channel).

use super::committer::{Item, ToCommitter};
use super::{ClusterEvent, Shared, partition_of};
use crate::frontier::{Frontier, Queued, SegmentSource};
use crate::store::{PageRecord, Segment};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;
use trawl_cluster::{NewUrl, PartitionId};

/// A segment id no persisted segment has: URLs from the cluster are
/// queued in PostgreSQL, not in the local store's queue.
const CLUSTER_SEG: u64 = u64::MAX;

/// What the scheduler holds in cluster mode.
pub(crate) struct ClusterLink {
    /// Partitions whose URLs may be handed out.
    owned: HashSet<PartitionId>,
    /// When each owned partition was gained. Its hosts' last request by
    /// the previous owner is unknown here but started before this (the
    /// previous owner released the partition, or stopped handing it out
    /// before its lease expired): their first request here waits the
    /// host's delay from it, so `--delay` holds across a handover.
    gained_at: HashMap<PartitionId, Instant>,
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
            gained_at: HashMap::new(),
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
            ClusterEvent::Gained(p) => {
                let now = Instant::now();
                for id in p {
                    self.owned.insert(id);
                    self.gained_at.insert(id, now);
                }
            }
            ClusterEvent::Lost(p) => {
                for id in p {
                    self.owned.remove(&id);
                    self.gained_at.remove(&id);
                }
            }
            ClusterEvent::Fenced(urls) => {
                self.dropped.extend(urls);
                // The refused records' foreign links were not committed
                // either: send them again when found again (the database
                // dedups what was).
                self.sent_foreign.clear();
            }
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
                            url: u.url.clone(),
                            depth: u.depth,
                            seq,
                            seg: CLUSTER_SEG,
                        });
                    }
                    if let Some(&at) = self.gained_at.get(&u.partition) {
                        frontier.delay_host_from(&u.url, at);
                    }
                }
            }
        }
    }

    /// May `q` be handed out? If not (its partition is not held), it is
    /// dropped here and remembered for a later takeover.
    /// Past its local deadline it is not handed out either, even if the
    /// fence task's word has not arrived yet (a starved runtime, a long
    /// event queue).
    pub(crate) fn keep(&mut self, q: &Queued) -> bool {
        let now = Instant::now();
        if partition_of(&q.url).is_some_and(|p| self.owned.contains(&p) && self.shared.live(p, now))
        {
            return true;
        }
        self.dropped.insert(q.url.clone());
        false
    }

    /// Removes the links of other partitions from `links` (they become URL
    /// rows for their owners, committed with this page). An own link this
    /// machine dropped before (its partition was lost then, or self-fenced)
    /// is queued here again and committed as a URL row with this page: it
    /// is in the seen-set, so the frontier would skip it, and it may have
    /// no URL row at all (found on a page whose record was fenced).
    pub(crate) fn split_links<S: SegmentSource>(
        &mut self,
        links: &mut Vec<String>,
        depth: u32,
        frontier: &mut Frontier<S>,
    ) {
        links.retain(|l| match partition_of(l) {
            Some(partition) if self.owned.contains(&partition) => {
                if self.dropped.remove(l) {
                    let seq = frontier.next_seq();
                    frontier.restore(Queued { url: l.clone(), depth, seq, seg: CLUSTER_SEG });
                    if let Some(&at) = self.gained_at.get(&partition) {
                        frontier.delay_host_from(l, at);
                    }
                    self.foreign.push(NewUrl { url: l.clone(), partition, depth });
                    return false;
                }
                true
            }
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
