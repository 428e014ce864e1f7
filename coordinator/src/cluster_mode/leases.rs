//! The lease task: every third of the lease it renews this machine's
//! partitions (missing or re-epoched ones are lost: the scheduler is told
//! at once), takes partitions up to its fair share (and loads their
//! queues, breadth-first), or gives back its excess: the scheduler stops
//! handing them out first, and they are released one period later, once
//! their in-flight work had time to commit. Leases not renewed in time are
//! fenced by the fence task ([`super::fence`]); a later renewal that finds
//! them still this machine's at the same epoch takes them back (their
//! queues loaded again). Database calls that may be abandoned answer
//! within a period, so a cut network cannot hang the task. Every poll it
//! drains the inbox and reads the cluster's counts. It ends on `stop`,
//! releasing everything.

use super::{ClusterEvent, Shared};
use crate::scheduler::Event;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use trawl_cluster::{Cluster, ClusterError, Epoch, PartitionId, QueuedUrl, fair_share};

/// How often the inbox is drained and the cluster's counts are read.
const POLL: Duration = Duration::from_millis(300);
/// Wait before the first take.
const FIRST_TAKE: Duration = Duration::from_millis(700);
/// URLs per event sent to the scheduler.
const CHUNK: usize = 2_000;

/// Why a lease round stopped early.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("no answer from the database within {0:?}")]
    Timeout(Duration),
}

struct LeaseTask {
    cluster: Cluster,
    shared: Arc<Shared>,
    events: SyncSender<Event>,
    lease: Duration,
    period: Duration,
    /// Held and handed out.
    owned: HashMap<PartitionId, Epoch>,
    /// Given up, released at the next round.
    releasing: Vec<PartitionId>,
    /// Handed out, their queues not loaded yet (a failed load is tried
    /// again next round: a held partition whose queue never reached the
    /// scheduler would stall the crawl).
    unloaded: Vec<PartitionId>,
}

/// Runs until `stop` turns true; then releases every partition.
pub(crate) async fn run(
    cluster: Cluster,
    shared: Arc<Shared>,
    events: SyncSender<Event>,
    lease: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let period = (lease / 3).max(Duration::from_millis(300));
    let mut task = LeaseTask {
        cluster,
        shared,
        events,
        lease,
        period,
        owned: HashMap::new(),
        releasing: Vec::new(),
        unloaded: Vec::new(),
    };
    // Machines started together register before the first take, so the
    // first one does not take everything and hand most of it back.
    let mut next_round = Instant::now() + FIRST_TAKE;
    loop {
        if Instant::now() >= next_round {
            task.round().await;
            next_round = Instant::now() + period;
        }
        task.poll().await;
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(POLL) => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    task.send(ClusterEvent::Lost(task.owned.keys().copied().collect()));
    if let Ok(mut d) = task.shared.fence.lock() {
        *d = super::fence::Deadlines::default();
    }
    match task.cluster.release_all().await {
        Ok(n) => tracing::info!(released = n, "cluster: partitions released"),
        Err(e) => tracing::warn!(error = %e, "cluster: release failed; leases expire instead"),
    }
    task.shared.set_held(HashMap::clear);
}

impl LeaseTask {
    fn send(&self, ev: ClusterEvent) {
        let _ = tokio::task::block_in_place(|| self.events.send(Event::Cluster(ev)));
    }

    async fn round(&mut self) {
        if let Err(e) = self.try_round().await {
            // The fence task stops the work of leases not renewed in time;
            // here the round is just tried again next period.
            tracing::warn!(error = %e, "cluster: lease round failed");
        }
        if !self.unloaded.is_empty() {
            let ids = std::mem::take(&mut self.unloaded);
            if let Err(e) = self.load(&ids).await {
                tracing::warn!(error = %e, "cluster: takeover load failed; retried next round");
                self.unloaded = ids;
            }
        }
    }

    /// A database call that answers within a period or counts as failed,
    /// so a cut network cannot hang the lease task (only for calls that
    /// are safe to abandon: a renewal, a take whose leases a later renewal
    /// reports, reads).
    async fn timed<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, ClusterError>>,
    ) -> Result<T, RoundError> {
        match tokio::time::timeout(self.period, f).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(RoundError::Timeout(self.period)),
        }
    }

    /// Partitions now handed out: into the committer's fence and the
    /// deadlines, the scheduler told, their queues loaded next.
    fn hand_out(&mut self, leases: &[(trawl_cluster::Lease, Instant)]) {
        if leases.is_empty() {
            return;
        }
        let ids: Vec<PartitionId> = leases.iter().map(|(l, _)| l.partition).collect();
        // Under the order lock: the fence task cannot fence one of them
        // between the steps.
        if let Ok(_order) = self.shared.fence_order.lock() {
            if let Ok(mut d) = self.shared.fence.lock() {
                for (l, sent) in leases {
                    d.renewed(l, sent.into_std(), self.period);
                }
            }
            self.shared.set_held(|h| {
                for (l, _) in leases {
                    h.insert(l.partition, l.epoch);
                }
            });
            self.send(ClusterEvent::Gained(ids.clone()));
        }
        self.unloaded.extend(ids);
    }

    /// `lost` is no longer this machine's: out of every list, the
    /// scheduler told.
    fn drop_partitions(&mut self, lost: Vec<PartitionId>) {
        if lost.is_empty() {
            return;
        }
        for p in &lost {
            self.owned.remove(p);
        }
        self.unloaded.retain(|p| !lost.contains(p));
        if let Ok(mut d) = self.shared.fence.lock() {
            lost.iter().for_each(|p| d.remove(*p));
        }
        self.shared.set_held(|h| {
            lost.iter().for_each(|p| {
                h.remove(p);
            })
        });
        self.send(ClusterEvent::Lost(lost));
    }

    async fn try_round(&mut self) -> Result<(), RoundError> {
        if !self.releasing.is_empty() {
            let gone = self.releasing.clone();
            self.timed(self.cluster.release(&gone)).await?;
            self.releasing.clear();
            if let Ok(mut d) = self.shared.fence.lock() {
                gone.iter().for_each(|p| d.remove(*p));
            }
            self.shared.set_held(|h| {
                gone.iter().for_each(|p| {
                    h.remove(p);
                })
            });
        }
        let sent = Instant::now();
        let leases = self.timed(self.cluster.renew(self.lease)).await?;
        let now: HashMap<PartitionId, Epoch> =
            leases.iter().map(|l| (l.partition, l.epoch)).collect();
        let lost: Vec<PartitionId> =
            self.owned.iter().filter(|(p, e)| now.get(p) != Some(e)).map(|(p, _)| *p).collect();
        if !lost.is_empty() {
            tracing::warn!(partitions = lost.len(), "cluster: partitions taken over");
            self.drop_partitions(lost);
        }
        // Renewed: the deadlines move. A partition self-fenced during an
        // outage but still this machine's at the same epoch (nobody took
        // it) is taken back; one the database says is ours that this task
        // does not know (a take abandoned on a timeout) is adopted.
        let mut back = Vec::new();
        if let Ok(mut d) = self.shared.fence.lock() {
            for l in &leases {
                if self.releasing.contains(&l.partition) {
                    continue;
                }
                if d.live(l.partition) && self.owned.get(&l.partition) == Some(&l.epoch) {
                    d.renewed(l, sent.into_std(), self.period);
                } else {
                    back.push((*l, sent));
                }
            }
        }
        if !back.is_empty() {
            tracing::info!(
                partitions = back.len(),
                "cluster: leases renewed after a gap: taken back"
            );
            for (l, _) in &back {
                self.owned.insert(l.partition, l.epoch);
            }
            self.hand_out(&back);
        }
        let live = self.timed(self.cluster.live_machines(self.lease)).await?.max(1);
        let share = fair_share(live);
        if self.owned.len() < share {
            let sent = Instant::now();
            let gained = self.timed(self.cluster.acquire(share, self.lease)).await?;
            for l in &gained {
                self.owned.insert(l.partition, l.epoch);
            }
            let gained: Vec<_> = gained.into_iter().map(|l| (l, sent)).collect();
            self.hand_out(&gained);
        } else if self.owned.len() > share {
            let mut mine: Vec<PartitionId> = self.owned.keys().copied().collect();
            mine.sort();
            let excess = mine.split_off(share);
            tracing::info!(
                partitions = excess.len(),
                share,
                live,
                "cluster: giving back partitions"
            );
            for p in &excess {
                self.owned.remove(p);
            }
            self.unloaded.retain(|p| !excess.contains(p));
            // Still in the fence (their in-flight records may commit)
            // until released next round.
            self.send(ClusterEvent::Lost(excess.clone()));
            self.releasing = excess;
        }
        let pps = 0.0;
        self.timed(self.cluster.heartbeat(0, pps)).await?;
        Ok(())
    }

    /// Takeover: the queued URLs of `ids`, breadth-first per partition.
    /// Not abandoned on a timeout: it may take seconds for a large queue.
    async fn load(&self, ids: &[PartitionId]) -> Result<(), ClusterError> {
        let mut chunk: Vec<QueuedUrl> = Vec::with_capacity(CHUNK);
        let mut full: Vec<Vec<QueuedUrl>> = Vec::new();
        let n = self
            .cluster
            .load_queued(ids, |u| {
                chunk.push(u);
                if chunk.len() >= CHUNK {
                    full.push(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                }
            })
            .await?;
        full.push(chunk);
        for c in full {
            if !c.is_empty() {
                self.send(ClusterEvent::Urls(c));
            }
        }
        tracing::info!(partitions = ids.len(), urls = n, "cluster: takeover loaded");
        Ok(())
    }

    /// Inbox and counts.
    async fn poll(&mut self) {
        if !self.owned.is_empty() {
            let ids: Vec<PartitionId> = self.owned.keys().copied().collect();
            match self.cluster.drain_inbox(&ids).await {
                Ok(urls) if !urls.is_empty() => {
                    for c in urls.chunks(CHUNK) {
                        self.send(ClusterEvent::Urls(c.to_vec()));
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cluster: inbox drain failed"),
            }
        }
        let at = self.shared.commits.load(Ordering::Acquire);
        let counts = async {
            let queued = self.cluster.queued_count().await?;
            let pages = self.cluster.page_count().await?;
            Ok::<_, ClusterError>((queued, pages))
        };
        match self.timed(counts).await {
            Ok((queued, pages)) => {
                self.shared.queued.store(queued, Ordering::Release);
                self.shared.pages.fetch_max(pages, Ordering::AcqRel);
                self.shared.polled_at.store(at, Ordering::Release);
                self.shared.polled.store(true, Ordering::Release);
            }
            Err(e) => tracing::warn!(error = %e, "cluster: counts failed"),
        }
    }
}
