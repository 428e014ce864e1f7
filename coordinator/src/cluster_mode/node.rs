//! This machine in the cluster: the runtime its tasks run on, the join,
//! and the one shutdown path (flush the committer, stop the lease task,
//! which releases every partition, leave).

use super::committer::{self, ToCommitter};
use super::{ClusterLink, Shared, leases};
use crate::error::CoordinatorError;
use crate::scheduler::Event;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use trawl_cluster::{Cluster, MachineId, NewUrl};
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
