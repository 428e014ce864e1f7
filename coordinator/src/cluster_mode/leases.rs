//! The lease task: every third of the lease it renews this machine's
//! partitions (missing or re-epoched ones are lost: the scheduler is told
//! at once), takes partitions up to its fair share (and loads their
//! queues, breadth-first), or gives back its excess: the scheduler stops
//! handing them out first, and they are released one period later, once
//! their in-flight work had time to commit. If renewing fails past the
//! local deadline (counted from when the renewal was sent, less one
//! period), every partition counts as lost. The local deadline is also
//! shared with the scheduler, which hands nothing out past it even if
//! this task is stuck (a round that hangs is cut off after one lease) or
//! the process was paused. Every poll it drains the inbox and reads the
//! cluster's counts. It ends on `stop`, releasing everything.

use super::{ClusterEvent, Shared};
use crate::scheduler::Event;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use trawl_cluster::{Cluster, ClusterError, Epoch, Lease, PartitionId, QueuedUrl, fair_share};

/// How often the inbox is drained and the cluster's counts are read.
const POLL: Duration = Duration::from_millis(300);
/// Wait before the first take.
const FIRST_TAKE: Duration = Duration::from_millis(700);
/// URLs per event sent to the scheduler.
const CHUNK: usize = 2_000;

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
    /// Local deadline of the leases.
    deadline: Option<Instant>,
    /// Gained, queue not loaded yet.
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
        deadline: None,
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
        let failed = match tokio::time::timeout(self.lease, self.try_round()).await {
            Ok(Ok(())) => false,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cluster: lease round failed");
                true
            }
            Err(_) => {
                tracing::warn!(lease = ?self.lease, "cluster: lease round timed out");
                true
            }
        };
        if failed && self.deadline.is_some_and(|d| Instant::now() >= d) && !self.owned.is_empty() {
            tracing::warn!(partitions = self.owned.len(), "cluster: leases past deadline: stop");
            let lost: Vec<PartitionId> = self.owned.drain().map(|(p, _)| p).collect();
            self.shared.set_held(HashMap::clear);
            self.send(ClusterEvent::Lost(lost));
        }
        let deadline = if self.owned.is_empty() { None } else { self.deadline };
        self.shared.set_deadline(deadline.map(Instant::into_std));
    }

    async fn try_round(&mut self) -> Result<(), ClusterError> {
        if !self.releasing.is_empty() {
            let gone = std::mem::take(&mut self.releasing);
            self.cluster.release(&gone).await?;
            self.shared.set_held(|h| {
                gone.iter().for_each(|p| {
                    h.remove(p);
                })
            });
        }
        let sent = Instant::now();
        let leases = self.cluster.renew(self.lease).await?;
        let now: HashMap<PartitionId, Epoch> =
            leases.iter().map(|l| (l.partition, l.epoch)).collect();
        let lost: Vec<PartitionId> =
            self.owned.iter().filter(|(p, e)| now.get(p) != Some(e)).map(|(p, _)| *p).collect();
        if !lost.is_empty() {
            tracing::warn!(
                machine = %self.cluster.machine(),
                partitions = lost.len(),
                "cluster: partitions taken over by another machine: their work stops here"
            );
            for p in &lost {
                self.owned.remove(p);
            }
            self.shared.set_held(|h| {
                lost.iter().for_each(|p| {
                    h.remove(p);
                })
            });
            self.send(ClusterEvent::Lost(lost));
        }
        self.deadline = leases
            .iter()
            .map(|l| l.deadline(sent.into_std(), self.period))
            .min()
            .map(Instant::from_std);
        // Held in the database but not known here (a round cut off after
        // its acquire committed): adopted like a take, queue load included.
        let unknown: Vec<Lease> = leases
            .iter()
            .filter(|l| !self.owned.contains_key(&l.partition))
            .filter(|l| !self.releasing.contains(&l.partition))
            .copied()
            .collect();
        self.gain(&unknown, sent);
        self.load_pending().await?;
        let live = self.cluster.live_machines(self.lease).await?.max(1);
        let share = fair_share(live);
        if self.owned.len() < share {
            let sent = Instant::now();
            let gained = self.cluster.acquire(share, self.lease).await?;
            self.gain(&gained, sent);
            self.load_pending().await?;
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
            self.send(ClusterEvent::Lost(excess.clone()));
            self.releasing = excess;
        }
        let pps = 0.0;
        self.cluster.heartbeat(0, pps).await?;
        Ok(())
    }

    /// Partitions newly held (`sent`: when the request that returned them
    /// was sent): the fence, the deadline, the scheduler, and their queues
    /// to load.
    fn gain(&mut self, gained: &[Lease], sent: Instant) {
        if gained.is_empty() {
            return;
        }
        for l in gained {
            self.owned.insert(l.partition, l.epoch);
            let d = Instant::from_std(l.deadline(sent.into_std(), self.period));
            self.deadline = Some(self.deadline.map_or(d, |x| x.min(d)));
            self.unloaded.push(l.partition);
        }
        self.shared.set_held(|h| h.extend(gained.iter().map(|l| (l.partition, l.epoch))));
        self.shared.set_deadline(self.deadline.map(Instant::into_std));
        self.send(ClusterEvent::Gained(gained.iter().map(|l| (l.partition, l.epoch)).collect()));
    }

    /// Loads the queues of partitions gained and not loaded yet (a failed
    /// load is tried again next round: until then their URLs wait in the
    /// database, none is lost).
    async fn load_pending(&mut self) -> Result<(), ClusterError> {
        self.unloaded.retain(|p| self.owned.contains_key(p));
        if self.unloaded.is_empty() {
            return Ok(());
        }
        let ids = self.unloaded.clone();
        self.load(&ids).await?;
        self.unloaded.clear();
        Ok(())
    }

    /// Takeover: the queued URLs of `ids`, breadth-first per partition.
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
        match counts.await {
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
