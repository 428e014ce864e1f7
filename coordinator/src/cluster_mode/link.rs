//! The scheduler's side of cluster mode: a plain struct it owns (no
//! locks on its hot path but the committer's channel).
//!
//! **Ownership changes and the seen-set.** The frontier's seen-set says
//! "this machine has dealt with this URL", which stops being true of a
//! partition's URLs when the partition changes hands. So the link keeps,
//! per held partition, the epoch it was gained at, and every URL it
//! queues here carries that epoch to the committer:
//! - a URL popped while its partition is not held is *dropped* (its
//!   record never made); a takeover load that lists it again re-queues it;
//! - a record refused by the fence goes back to the frontier at once if
//!   its partition was re-taken at a newer epoch meanwhile (the takeover
//!   load may already have skipped it as seen), else it is dropped;
//! - the links a page led to are committed as "queued here" only if their
//!   partition is still held at the epoch they were queued at; all others
//!   (other partitions' links, or ours from before a loss) are announced
//!   through the inbox, which reaches whoever holds the partition, this
//!   machine included, after any takeover load.
//!
//! Past the leases' local deadline nothing is handed out at all
//! ([`ClusterLink::paused`]), until the lease task renews or gives up.

use super::committer::{Item, ToCommitter};
use super::{ClusterEvent, FencedUrl, Shared, partition_of};
use crate::frontier::{Frontier, Queued, SegmentSource};
use crate::store::{PageRecord, Segment};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;
use trawl_cluster::{Epoch, NewUrl, PartitionId};

/// A segment id no persisted segment has: URLs from the cluster are
/// queued in PostgreSQL, not in the local store's queue.
const CLUSTER_SEG: u64 = u64::MAX;

/// What the scheduler holds in cluster mode.
pub(crate) struct ClusterLink {
    /// Partitions whose URLs may be handed out, and the epoch each was
    /// gained at.
    owned: HashMap<PartitionId, Epoch>,
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
            owned: HashMap::new(),
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
                for (id, epoch) in p {
                    self.owned.insert(id, epoch);
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
                for f in urls {
                    self.on_fenced(f, frontier);
                }
            }
            ClusterEvent::Urls(urls) => {
                for u in urls {
                    if !self.owned.contains_key(&u.partition) {
                        continue;
                    }
                    if !frontier.is_seen(&u.url) {
                        frontier.push(&u.url, u.depth, CLUSTER_SEG);
                    } else if self.dropped.remove(&u.url) {
                        requeue(frontier, u.url.clone(), u.depth);
                    }
                    if let Some(&at) = self.gained_at.get(&u.partition) {
                        frontier.delay_host_from(&u.url, at);
                    }
                }
            }
        }
    }

    /// A refused record: queued again here if its partition was re-taken
    /// since the refused commit's epoch (a takeover load may have found it
    /// seen and skipped it), else dropped until a takeover lists it.
    fn on_fenced<S: SegmentSource>(&mut self, f: FencedUrl, frontier: &mut Frontier<S>) {
        match self.owned.get(&f.partition) {
            Some(now) if Some(*now) != f.epoch => requeue(frontier, f.url, f.depth),
            _ => {
                self.dropped.insert(f.url);
            }
        }
    }

    /// Past the leases' local deadline: hand nothing out.
    /// Holding no partition at all (every lease lost or given up after
    /// its deadline passed) counts too: then no robots.txt or other
    /// special fetch may go out for the hosts still in the frontier.
    pub(crate) fn paused(&self, now: Instant) -> bool {
        self.shared.expired(now) || self.owned.is_empty()
    }

    /// May `q` be handed out? If not (its partition is not held), it is
    /// dropped here and remembered for a later takeover.
    pub(crate) fn keep(&mut self, q: &Queued) -> bool {
        if partition_of(&q.url).is_some_and(|p| self.owned.contains_key(&p)) {
            return true;
        }
        self.dropped.insert(q.url.clone());
        false
    }

    /// Removes the links of other partitions from `links` (they become URL
    /// rows for their owners, committed with this page).
    pub(crate) fn split_links(&mut self, links: &mut Vec<String>, depth: u32) {
        links.retain(|l| match partition_of(l) {
            Some(p) if self.owned.contains_key(&p) => true,
            Some(partition) => {
                if self.sent_foreign.insert(l.clone()) {
                    self.foreign.push(NewUrl { url: l.clone(), partition, depth });
                }
                false
            }
            None => true,
        });
    }

    /// Sends a record, the own URLs it admitted (with the epochs they were
    /// queued at) and the foreign links split off since the last record to
    /// the committer: one fenced unit.
    pub(crate) fn page(&mut self, record: &PageRecord, own: Option<&Segment>, body: Option<&[u8]>) {
        let Some(partition) = partition_of(&record.url) else {
            self.foreign.clear();
            return;
        };
        let mut announce = std::mem::take(&mut self.foreign);
        let mut urls = Vec::new();
        if let Some(seg) = own {
            for u in &seg.urls {
                let Some(p) = partition_of(u) else { continue };
                let url = NewUrl { url: u.clone(), partition: p, depth: seg.depth };
                match self.owned.get(&p) {
                    Some(e) => urls.push((url, *e)),
                    None => announce.push(url),
                }
            }
        }
        let page = super::rows::row(record.clone(), partition, body);
        self.shared.uncommitted.fetch_add(1, Ordering::AcqRel);
        let item = Item { page, urls, announce };
        if self.to_committer.send(ToCommitter::Page(Box::new(item))).is_err() {
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

/// Queues `url` again though the seen-set has it.
fn requeue<S: SegmentSource>(frontier: &mut Frontier<S>, url: String, depth: u32) {
    let seq = frontier.next_seq();
    frontier.restore(Queued { url, depth, seq, seg: CLUSTER_SEG });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontier::Popped;
    use crate::politeness::PolitenessConfig;
    use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
    use trawl_cluster::QueuedUrl;

    const X: &str = "http://127.0.0.1:8001/x";

    fn rig() -> (ClusterLink, Frontier, UnboundedReceiver<ToCommitter>) {
        let (tx, rx) = unbounded_channel();
        let link = ClusterLink::new(tx, Arc::new(Shared::default()));
        let frontier =
            Frontier::new(PolitenessConfig { agent: "trawl".into(), ..Default::default() });
        (link, frontier, rx)
    }

    fn p(url: &str) -> PartitionId {
        partition_of(url).unwrap()
    }

    fn load(url: &str) -> ClusterEvent {
        ClusterEvent::Urls(vec![QueuedUrl { url: url.to_owned(), partition: p(url), depth: 1 }])
    }

    fn pop(f: &mut Frontier) -> Option<String> {
        match f.pop(Instant::now(), true).unwrap() {
            Some(Popped::Fetch(q)) => {
                f.complete(&q.url, Instant::now(), crate::frontier::Feedback::default());
                Some(q.url)
            }
            Some(Popped::Unfetched(q, _)) => Some(q.url),
            None => None,
        }
    }

    /// The takeover bug: a URL in flight when its partition was lost,
    /// whose commit was refused only after the partition was taken back
    /// and its queue loaded (the load found it seen and skipped it), was
    /// never fetched again: it stayed queued in the database forever.
    #[test]
    fn a_record_fenced_after_its_partition_was_taken_back_is_queued_again() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(ClusterEvent::Gained(vec![(p(X), Epoch(1))]), &mut f);
        link.on_event(load(X), &mut f);
        assert_eq!(pop(&mut f).as_deref(), Some(X));
        // In flight; the partition is lost and taken back at epoch 3; the
        // takeover load lists X (no page row yet): seen here, skipped.
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        link.on_event(ClusterEvent::Gained(vec![(p(X), Epoch(3))]), &mut f);
        link.on_event(load(X), &mut f);
        assert_eq!(pop(&mut f), None, "X is still in flight: not queued twice");
        // Its record was committed while the partition was not held.
        let fenced = FencedUrl { url: X.to_owned(), partition: p(X), depth: 1, epoch: None };
        link.on_event(ClusterEvent::Fenced(vec![fenced]), &mut f);
        assert_eq!(pop(&mut f).as_deref(), Some(X), "fetched again under the new epoch");
    }

    /// Refused at the epoch still held here (the loss not noticed yet):
    /// dropped, not fetched again, until a takeover load lists it.
    #[test]
    fn a_record_fenced_at_the_current_epoch_waits_for_the_next_takeover() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(ClusterEvent::Gained(vec![(p(X), Epoch(1))]), &mut f);
        link.on_event(load(X), &mut f);
        assert_eq!(pop(&mut f).as_deref(), Some(X));
        let fenced =
            FencedUrl { url: X.to_owned(), partition: p(X), depth: 1, epoch: Some(Epoch(1)) };
        link.on_event(ClusterEvent::Fenced(vec![fenced]), &mut f);
        assert_eq!(pop(&mut f), None, "not refetched while the loss is pending");
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        link.on_event(ClusterEvent::Gained(vec![(p(X), Epoch(4))]), &mut f);
        link.on_event(load(X), &mut f);
        assert_eq!(pop(&mut f).as_deref(), Some(X));
    }

    /// A URL popped while its partition is not held is dropped, and queued
    /// again by the next takeover load.
    #[test]
    fn a_url_dropped_while_its_partition_was_away_comes_back_with_it() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(ClusterEvent::Gained(vec![(p(X), Epoch(1))]), &mut f);
        link.on_event(load(X), &mut f);
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        let Some(Popped::Fetch(q)) = f.pop(Instant::now(), true).unwrap() else { panic!() };
        assert!(!link.keep(&q), "not handed out while not held");
        link.on_event(ClusterEvent::Gained(vec![(p(X), Epoch(2))]), &mut f);
        link.on_event(load(X), &mut f);
        assert_eq!(pop(&mut f).as_deref(), Some(X));
    }

    /// Links split off while their partition was another machine's are
    /// announced (an inbox row even if this machine takes the partition
    /// before the commit); own ones carry the epoch they were queued at.
    #[test]
    fn foreign_links_are_announced_and_own_ones_carry_their_epoch() {
        let (mut link, mut f, mut rx) = rig();
        let page = "http://127.0.0.1:9001/";
        let own = "http://127.0.0.1:9001/own";
        link.on_event(ClusterEvent::Gained(vec![(p(page), Epoch(7))]), &mut f);
        assert_ne!(p(X), p(page), "test URLs in two partitions");
        let mut links = vec![X.to_owned(), own.to_owned()];
        link.split_links(&mut links, 1);
        assert_eq!(links, [own]);
        let seg = Segment { depth: 1, first_seq: 0, urls: links };
        let record =
            PageRecord::unfetched(page.to_owned(), 0, 0, trawl_common::protocol::FetchOutcome::Ok);
        link.page(&record, Some(&seg), None);
        let Ok(ToCommitter::Page(item)) = rx.try_recv() else { panic!("an item") };
        assert_eq!(item.announce.iter().map(|u| u.url.as_str()).collect::<Vec<_>>(), [X]);
        assert_eq!(item.urls.len(), 1);
        assert_eq!((item.urls[0].0.url.as_str(), item.urls[0].1), (own, Epoch(7)));
    }
}
