//! This machine in the cluster: the runtime its tasks run on, the join,
//! and the one shutdown path (flush the committer, stop the lease task,
//! which releases every partition, leave).

use super::committer::{self, ToCommitter};
use super::{ClusterLink, Shared, leases};
use crate::control::{ControlRequest, StatusReport};
use crate::error::CoordinatorError;
use crate::scheduler::Event;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use trawl_cluster::{Beat, Cluster, MachineId, NewUrl};
use trawl_common::config::{ClusterConfig, CrawlConfig};

/// How long the shutdown waits for the last commits (a database that is
/// down for longer loses them: their URLs stay queued in it).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// A joined machine.
pub(crate) struct ClusterNode {
    rt: tokio::runtime::Runtime,
    cluster: Cluster,
    config: ClusterConfig,
    max_pages: Option<u64>,
    shared: Arc<Shared>,
    tasks: Option<Tasks>,
}

struct Tasks {
    stop: watch::Sender<bool>,
    to_committer: mpsc::UnboundedSender<ToCommitter>,
    lease_task: JoinHandle<()>,
    committer: JoinHandle<()>,
}

impl ClusterNode {
    /// Joins the cluster of `config.cluster` (applying migrations) and adds
    /// the seeds as URL rows for their partitions' owners.
    pub(crate) fn join(config: &CrawlConfig, cc: &ClusterConfig) -> Result<Self, CoordinatorError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("trawl-cluster")
            .enable_all()
            .build()
            .map_err(CoordinatorError::ClusterRuntime)?;
        let host = hostname();
        let name = cc.name.clone().unwrap_or_else(|| format!("{host}:{}", std::process::id()));
        let machine = MachineId::new(name)
            .ok_or_else(|| trawl_cluster::ClusterError::Config("empty machine name".to_owned()))?;
        let cluster = rt.block_on(Cluster::join(&cc.url, machine, &host))?;
        let seeds: Vec<NewUrl> = config.seeds.iter().map(|u| NewUrl::new(u, 0)).collect();
        let added = rt.block_on(cluster.add_urls(&seeds))?;
        tracing::info!(seeds = seeds.len(), new = added.new_urls, "cluster: seeds added");
        Ok(Self {
            rt,
            cluster,
            config: cc.clone(),
            max_pages: config.max_pages,
            shared: Arc::new(Shared::default()),
            tasks: None,
        })
    }

    /// Starts the lease and committer tasks, which report to the scheduler
    /// through `events`; returns the scheduler's side.
    pub(crate) fn start(&mut self, events: SyncSender<Event>) -> ClusterLink {
        let (stop, stop_rx) = watch::channel(false);
        let (to_committer, rx) = mpsc::unbounded_channel();
        let lease_task = self.rt.spawn(leases::run(
            self.cluster.clone(),
            self.shared.clone(),
            events.clone(),
            self.config.lease,
            stop_rx,
            Reporter::new(events.clone(), self.config.lease, self.max_pages),
        ));
        let committer = self.rt.spawn(committer::run(
            self.cluster.clone(),
            self.shared.clone(),
            rx,
            events,
            self.max_pages,
        ));
        let link = ClusterLink::new(to_committer.clone(), self.shared.clone());
        self.tasks = Some(Tasks { stop, to_committer, lease_task, committer });
        link
    }

    /// A reader on the cluster's database with its own pool, for the
    /// API's cluster view (`/api/cluster`, `/metrics`); `None` if the URL
    /// no longer parses (it did at join).
    pub(crate) fn reader(&self) -> Option<Cluster> {
        Cluster::connect(&self.config.url, self.cluster.machine().clone()).ok()
    }

    /// After the scheduler ended (its drain done, its link dropped):
    /// commits what is left, releases every partition, leaves.
    pub(crate) fn finish(mut self) {
        let Some(tasks) = self.tasks.take() else { return };
        let (tx, rx) = oneshot::channel();
        let flushed = tasks.to_committer.send(ToCommitter::Flush(tx)).is_ok()
            && self.rt.block_on(async { tokio::time::timeout(FLUSH_TIMEOUT, rx).await.is_ok() });
        if !flushed {
            tracing::warn!("cluster: last records not committed; their URLs stay queued");
        }
        drop(tasks.to_committer);
        let _ = tasks.stop.send(true);
        let _ = self.rt.block_on(tasks.lease_task);
        tasks.committer.abort();
        if let Err(e) = self.rt.block_on(self.cluster.leave()) {
            tracing::warn!(error = %e, "cluster: leave failed");
        }
        tracing::info!(machine = %self.cluster.machine(), "left the cluster");
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// What the heartbeat reports, from the scheduler's status: workers
/// running and pages stored per second over the last period. The lease
/// task never waits on the scheduler: each heartbeat reads the answer to
/// the request the previous one sent (one period old) and sends the next.
pub(super) struct Reporter {
    events: SyncSender<Event>,
    lease: Duration,
    max_pages: Option<u64>,
    /// The status request sent by the previous heartbeat.
    pending: Option<oneshot::Receiver<StatusReport>>,
    /// Pages stored and the crawl's elapsed seconds at the last answer.
    last: Option<(u64, f64)>,
    workers: u32,
    pages_per_sec: f32,
}

impl Reporter {
    fn new(events: SyncSender<Event>, lease: Duration, max_pages: Option<u64>) -> Self {
        Self { events, lease, max_pages, pending: None, last: None, workers: 0, pages_per_sec: 0.0 }
    }

    /// What to report now (never blocks on the scheduler).
    pub(super) async fn beat(&mut self) -> Beat {
        use tokio::sync::oneshot::error::TryRecvError;
        if let Some(rx) = &mut self.pending {
            match rx.try_recv() {
                Ok(report) => {
                    self.workers = u32::try_from(report.workers.len()).unwrap_or(u32::MAX);
                    self.pages_per_sec =
                        rate(self.last, report.pages, report.elapsed_secs, report.pages_per_sec);
                    self.last = Some((report.pages, report.elapsed_secs));
                    self.pending = None;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Closed) => self.pending = None,
            }
        }
        if self.pending.is_none() {
            let (tx, rx) = oneshot::channel();
            let ev = Event::Control(ControlRequest::Status(tx));
            if tokio::task::block_in_place(|| self.events.send(ev)).is_ok() {
                self.pending = Some(rx);
            }
        }
        Beat {
            workers: self.workers,
            pages_per_sec: self.pages_per_sec,
            lease: self.lease,
            max_pages: self.max_pages,
        }
    }
}

/// Pages per second between the last answer (pages, the crawl's elapsed
/// seconds) and this one; the crawl's average (`since_start`) for the
/// first.
fn rate(last: Option<(u64, f64)>, pages: u64, elapsed: f64, since_start: f64) -> f32 {
    match last {
        Some((before, at)) if elapsed > at => {
            (pages.saturating_sub(before) as f64 / (elapsed - at)) as f32
        }
        Some(_) => 0.0,
        None => since_start as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_over_the_last_period_and_the_average_at_first() {
        assert_eq!(rate(None, 50, 4.0, 12.5), 12.5);
        assert_eq!(rate(Some((10, 4.0)), 50, 6.0, 12.5), 20.0);
        // A count that went down (never: pages only grow) is no negative rate.
        assert_eq!(rate(Some((60, 4.0)), 50, 6.0, 12.5), 0.0);
        assert_eq!(rate(Some((10, 6.0)), 50, 6.0, 12.5), 0.0);
    }
}
