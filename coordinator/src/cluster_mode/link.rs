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
//! - a record refused by the fence is dropped (the next takeover load
//!   that lists it queues it again);
//! - the links a page led to are committed as "queued here" only if their
//!   partition is still held at the epoch they were queued at; all others
//!   (other partitions' links, or ours from before a loss) are announced
//!   through the inbox, which reaches whoever holds the partition, this
//!   machine included, after any takeover load.
//!
//! - entries a partition left in the frontier when it was lost are stale
//!   once it is taken back (the other owner may have stored them): the
//!   takeover load, the database's queue, is the truth. Entries queued
//!   before the gain (seq below the frontier's next seq then) are dropped
//!   when popped, and every URL the load lists is queued afresh unless it
//!   was queued since (so one in flight across the gain may be fetched
//!   twice: at most what was in flight).
//!
//! - the URLs of a gained partition that earlier owners stored are marked
//!   seen, so links to them found here later are not fetched again.
//!
//! Past the leases' local deadline nothing is handed out at all
//! ([`ClusterLink::paused`]), until the lease task renews or gives up.

use super::committer::{Item, ToCommitter};
use super::{ClusterEvent, Shared, partition_of};
use crate::frontier::{Frontier, Queued, SegmentSource};
use crate::store::{PageRecord, Segment};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;
use trawl_cluster::{Epoch, NewUrl, PartitionId};

/// URLs from the cluster are queued in PostgreSQL, not in the local
/// store's queue: the frontier keeps them in memory (never spilled).
const CLUSTER_SEG: u64 = crate::frontier::UNPERSISTED;

/// What the scheduler holds in cluster mode.
pub(crate) struct ClusterLink {
    /// Partitions whose URLs may be handed out, and the epoch each was
    /// gained at.
    owned: HashMap<PartitionId, Epoch>,
    /// Per held partition, the frontier's next seq when it was gained:
    /// entries below it are from an earlier tenure, stale.
    fresh_from: HashMap<PartitionId, u64>,
    /// When each owned partition was gained. Its hosts' last request by
    /// the previous owner is unknown here but started before this (the
    /// previous owner released the partition, or stopped handing it out
    /// before its lease expired): their first request here waits the
    /// host's delay from it, so `--delay` holds across a handover.
    gained_at: HashMap<PartitionId, Instant>,
    /// URLs seen here but dropped (their partition was lost, or their
    /// record fenced): a takeover may queue them here again. The depth is
    /// known for those dropped when popped.
    dropped: HashMap<String, Option<u32>>,
    /// The epoch each lost partition was held at here. Adopted back at the
    /// same epoch (nobody held it meanwhile: a machine that fenced itself
    /// through a database outage), its dropped URLs are queued again: a
    /// link queued here before the loss may be committed as "queued here"
    /// after the adoption's load ran, so no load lists it.
    lost_at: HashMap<PartitionId, (Epoch, u64)>,
    /// Held partitions whose tenure went on through such an adoption.
    continued: HashSet<PartitionId>,
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
            fresh_from: HashMap::new(),
            gained_at: HashMap::new(),
            dropped: HashMap::new(),
            lost_at: HashMap::new(),
            continued: HashSet::new(),
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
            ClusterEvent::Gained { partitions, queued, stored } => {
                let from = frontier.next_seq();
                let now = Instant::now();
                let mut same_tenure = HashSet::new();
                for (id, epoch) in partitions {
                    let fresh = match self.lost_at.remove(&id) {
                        // Adopted back at the epoch it was lost at: nobody
                        // held it meanwhile, so the tenure goes on and the
                        // entries it left in the frontier are still good.
                        Some((e, fresh)) if e == epoch => {
                            same_tenure.insert(id);
                            self.continued.insert(id);
                            fresh
                        }
                        _ => from,
                    };
                    self.owned.insert(id, epoch);
                    self.fresh_from.insert(id, fresh);
                    self.gained_at.insert(id, now);
                }
                if !same_tenure.is_empty() {
                    // Those dropped when popped meanwhile: their URL row
                    // may be committed (as queued here, same epoch) only
                    // after this load ran, so no load lists them.
                    let back: Vec<(String, u32)> = self
                        .dropped
                        .iter()
                        .filter_map(|(u, d)| Some((u, (*d)?)))
                        .filter(|(u, _)| partition_of(u).is_some_and(|p| same_tenure.contains(&p)))
                        .map(|(u, d)| (u.clone(), d))
                        .collect();
                    for (url, depth) in back {
                        self.dropped.remove(&url);
                        requeue(frontier, url, depth);
                    }
                }
                // Found and stored by earlier owners: links to them are
                // not admitted again.
                for url in &stored {
                    frontier.mark_seen(url);
                }
                for u in queued {
                    let Some(&at) = self.gained_at.get(&u.partition) else { continue };
                    if !frontier.is_seen(&u.url) {
                        frontier.push(&u.url, u.depth, CLUSTER_SEG);
                    } else if self.dropped.remove(&u.url).is_some()
                        || !same_tenure.contains(&u.partition)
                    {
                        // Dropped, or queued or in flight from an earlier
                        // tenure (a stale entry, skipped when popped):
                        // queued afresh. (Within one tenure a seen URL
                        // not dropped is still queued here, or in flight:
                        // a refused record of it comes back as `Fenced`.)
                        requeue(frontier, u.url.clone(), u.depth);
                    }
                    frontier.delay_host_from(&u.url, at);
                }
            }
            ClusterEvent::Lost(p) => {
                for id in p {
                    let fresh = self.fresh_from.remove(&id);
                    self.continued.remove(&id);
                    if let (Some(epoch), Some(fresh)) = (self.owned.remove(&id), fresh) {
                        self.lost_at.insert(id, (epoch, fresh));
                    }
                    self.gained_at.remove(&id);
                }
            }
            ClusterEvent::Fenced(urls) => {
                for (url, depth) in urls {
                    if partition_of(&url).is_some_and(|p| self.continued.contains(&p)) {
                        // Adopted back at the same epoch before the
                        // refusal arrived: its load skipped it (in flight
                        // then), so it is queued again here. (Taken at a
                        // new epoch, the load listed it.)
                        requeue(frontier, url, depth);
                    } else {
                        self.dropped.insert(url, Some(depth));
                    }
                }
            }
            // The scheduler applies these itself (scheduler/carried.rs).
            ClusterEvent::Carried(_) | ClusterEvent::CrashesSettled { .. } => {}
            ClusterEvent::Urls(urls) => {
                for u in urls {
                    if !self.owned.contains_key(&u.partition) {
                        continue;
                    }
                    if !frontier.is_seen(&u.url) {
                        frontier.push(&u.url, u.depth, CLUSTER_SEG);
                    } else if self.dropped.remove(&u.url).is_some() {
                        requeue(frontier, u.url.clone(), u.depth);
                    }
                    if let Some(&at) = self.gained_at.get(&u.partition) {
                        frontier.delay_host_from(&u.url, at);
                    }
                }
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
        let fresh = partition_of(&q.url)
            .and_then(|p| self.fresh_from.get(&p))
            .is_some_and(|from| q.seq >= *from);
        if fresh {
            return true;
        }
        self.dropped.insert(q.url.clone(), Some(q.depth));
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
        let urls = own.map_or_else(Vec::new, |seg| self.own_urls(seg, &mut announce));
        let page = super::rows::row(record.clone(), partition, body);
        self.shared.uncommitted.fetch_add(1, Ordering::AcqRel);
        tracing::debug!(url = %record.url, "cluster: record sent to the committer");
        let item = Item { page, urls, announce };
        if self.to_committer.send(ToCommitter::Page(Box::new(item))).is_err() {
            self.shared.uncommitted.fetch_sub(1, Ordering::AcqRel);
            tracing::error!(url = %record.url, "cluster committer gone: record not committed");
        }
    }

    /// The URLs `seg` admitted here, each with its partition's epoch now;
    /// those of partitions no longer held go to `announce`.
    fn own_urls(&self, seg: &Segment, announce: &mut Vec<NewUrl>) -> Vec<(NewUrl, Epoch)> {
        let mut urls = Vec::new();
        for u in &seg.urls {
            let Some(p) = partition_of(u) else { continue };
            let url = NewUrl { url: u.clone(), partition: p, depth: seg.depth };
            match self.owned.get(&p) {
                Some(e) => urls.push((url, *e)),
                None => announce.push(url),
            }
        }
        urls
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
        let mut announce = std::mem::take(&mut self.foreign);
        let urls = own.map_or_else(Vec::new, |seg| self.own_urls(seg, &mut announce));
        if !urls.is_empty() || !announce.is_empty() {
            let _ = self.to_committer.send(ToCommitter::Urls { urls, announce });
        }
    }

    /// May a crash suspect of `url` go out again? Only for a held
    /// partition (else it is remembered for a later takeover, like any
    /// URL of a lost partition).
    pub(crate) fn keep_url(&mut self, url: &str) -> bool {
        if partition_of(url).is_some_and(|p| self.owned.contains_key(&p)) {
            return true;
        }
        self.dropped.insert(url.to_owned(), None);
        false
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
    const Y: &str = "http://127.0.0.1:8001/y";

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

    /// Partition of `urls[0]` gained at `epoch`, the database's queue for
    /// it being `urls`.
    fn gained(epoch: i64, part: &str, urls: &[&str]) -> ClusterEvent {
        ClusterEvent::Gained {
            partitions: vec![(p(part), Epoch(epoch))],
            queued: urls
                .iter()
                .map(|u| QueuedUrl { url: (*u).to_owned(), partition: p(u), depth: 1 })
                .collect(),
            stored: Vec::new(),
        }
    }

    /// Pops what the scheduler would hand out (keeping the link's say).
    fn handed_out(link: &mut ClusterLink, f: &mut Frontier) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(popped) = f.pop(Instant::now(), true).unwrap() {
            let (Popped::Fetch(q) | Popped::Unfetched(q, _)) = popped;
            f.complete(&q.url, Instant::now(), crate::frontier::Feedback::default());
            if link.keep(&q) {
                out.push(q.url);
            }
        }
        out
    }

    /// A URL in flight when its partition was lost, still queued in the
    /// database when the partition was taken back: before the fix the
    /// takeover load found it seen and skipped it, its record was refused
    /// by the fence, and it stayed queued forever.
    #[test]
    fn a_url_in_flight_across_a_takeover_is_queued_again_by_the_load() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(gained(1, X, &[X]), &mut f);
        assert_eq!(handed_out(&mut link, &mut f), [X]);
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        link.on_event(gained(3, X, &[X]), &mut f);
        link.on_event(ClusterEvent::Fenced(vec![(X.to_owned(), 1)]), &mut f);
        assert_eq!(handed_out(&mut link, &mut f), [X], "fetched again, once");
    }

    /// Entries a partition left in the frontier are stale once it is
    /// taken back: the other owner stored X meanwhile (the load does not
    /// list it), so only Y is fetched, once.
    #[test]
    fn entries_from_an_earlier_tenure_are_not_fetched_after_a_takeover() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(gained(1, X, &[X, Y]), &mut f);
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        link.on_event(gained(2, X, &[Y]), &mut f);
        assert_eq!(handed_out(&mut link, &mut f), [Y]);
    }

    /// Links to URLs an earlier owner stored are not admitted again.
    #[test]
    fn urls_stored_by_an_earlier_owner_are_seen_after_a_takeover() {
        let (mut link, mut f, _rx) = rig();
        let ev = ClusterEvent::Gained {
            partitions: vec![(p(X), Epoch(2))],
            queued: Vec::new(),
            stored: vec![X.to_owned()],
        };
        link.on_event(ev, &mut f);
        let mut links = vec![X.to_owned(), Y.to_owned()];
        link.split_links(&mut links, 1);
        let admitted: Vec<&String> = links.iter().filter(|l| !f.is_seen(l)).collect();
        assert_eq!(admitted, [Y]);
    }

    /// A URL popped while its partition is not held is dropped, and queued
    /// again by the next takeover load; an inbox repeat does not queue it
    /// twice.
    #[test]
    fn a_url_dropped_while_its_partition_was_away_comes_back_with_it() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(gained(1, X, &[X]), &mut f);
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        assert!(handed_out(&mut link, &mut f).is_empty(), "not handed out while not held");
        link.on_event(gained(2, X, &[X]), &mut f);
        let inbox = QueuedUrl { url: X.to_owned(), partition: p(X), depth: 1 };
        link.on_event(ClusterEvent::Urls(vec![inbox]), &mut f);
        assert_eq!(handed_out(&mut link, &mut f), [X]);
    }

    /// Links split off while their partition was another machine's are
    /// announced (an inbox row even if this machine takes the partition
    /// before the commit); own ones carry the epoch they were queued at.
    #[test]
    fn foreign_links_are_announced_and_own_ones_carry_their_epoch() {
        let (mut link, mut f, mut rx) = rig();
        let page = "http://127.0.0.1:9001/";
        let own = "http://127.0.0.1:9001/own";
        link.on_event(gained(7, page, &[]), &mut f);
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

    /// A machine that fenced itself through a database outage adopts its
    /// partition back at the same epoch. A link it had queued before the
    /// loss, dropped when popped meanwhile, was committed as "queued here"
    /// only after the adoption's load ran (so no load lists it): it is
    /// queued again from the drop, once.
    #[test]
    fn urls_dropped_while_fenced_come_back_when_adopted_at_the_same_epoch() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(gained(4, X, &[]), &mut f);
        assert!(f.push(X, 2, CLUSTER_SEG));
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        assert!(handed_out(&mut link, &mut f).is_empty(), "not handed out while fenced");
        link.on_event(gained(4, X, &[]), &mut f);
        assert_eq!(handed_out(&mut link, &mut f), [X]);
        // Taken back at a newer epoch instead, the load is the truth.
        let (mut link, mut f, _rx) = rig();
        link.on_event(gained(4, X, &[]), &mut f);
        assert!(f.push(X, 2, CLUSTER_SEG));
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        assert!(handed_out(&mut link, &mut f).is_empty());
        link.on_event(gained(5, X, &[]), &mut f);
        assert!(handed_out(&mut link, &mut f).is_empty(), "stored by the other owner");
    }

    /// Adopted back at the same epoch, the tenure goes on: entries left in
    /// the frontier stay good (not fetched twice), and a record in flight
    /// across the outage, refused after the adoption's load skipped it,
    /// is queued again: every URL once.
    #[test]
    fn a_tenure_continued_at_the_same_epoch_fetches_each_url_once() {
        let (mut link, mut f, _rx) = rig();
        link.on_event(gained(4, X, &[]), &mut f);
        assert!(f.push(X, 1, CLUSTER_SEG));
        assert!(f.push(Y, 1, CLUSTER_SEG));
        let Some(Popped::Fetch(q)) = f.pop(Instant::now(), true).unwrap() else { panic!() };
        assert!(link.keep(&q), "X in flight");
        f.complete(&q.url, Instant::now(), crate::frontier::Feedback::default());
        link.on_event(ClusterEvent::Lost(vec![p(X)]), &mut f);
        link.on_event(gained(4, X, &[X, Y]), &mut f);
        link.on_event(ClusterEvent::Fenced(vec![(q.url.clone(), 1)]), &mut f);
        let mut got = handed_out(&mut link, &mut f);
        got.sort();
        assert_eq!(got, [X, Y]);
    }
}
