//! The committer task: records from the scheduler, batched (up to
//! [`BATCH`] or [`LINGER`]), committed to PostgreSQL fenced by the held
//! epochs. A `Fenced` answer drops the lost partitions' records (another
//! machine owns them now and fetches them again) and commits the rest; a
//! database that is down is retried with back-off, the batch kept.

use super::{ClusterEvent, Shared};
use crate::scheduler::Event;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use trawl_cluster::{Batch, Cluster, ClusterError, NewUrl, PageRow};

/// Records per commit at most.
const BATCH: usize = 256;
/// How long a partial batch waits for more records.
const LINGER: Duration = Duration::from_millis(100);
/// Wait between attempts while the database is unreachable.
const RETRY: Duration = Duration::from_millis(500);

/// One record and the URLs it led to.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) page: PageRow,
    pub(crate) urls: Vec<NewUrl>,
}

/// What the committer receives.
#[derive(Debug)]
pub(crate) enum ToCommitter {
    Page(Box<Item>),
    /// Answered once everything sent before it is committed or dropped.
    Flush(oneshot::Sender<()>),
}

/// Runs until the channel closes.
pub(crate) async fn run(
    cluster: Cluster,
    shared: Arc<Shared>,
    mut rx: UnboundedReceiver<ToCommitter>,
    events: SyncSender<Event>,
    max_pages: Option<u64>,
) {
    let mut pending: Vec<Item> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    let mut open = true;
    while open || !pending.is_empty() {
        if pending.is_empty() && flushes.is_empty() {
            match rx.recv().await {
                Some(m) => take(m, &mut pending, &mut flushes),
                None => break,
            }
        }
        let linger = tokio::time::sleep(LINGER);
        tokio::pin!(linger);
        while open && pending.len() < BATCH && flushes.is_empty() {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => take(m, &mut pending, &mut flushes),
                    None => open = false,
                },
                () = &mut linger => break,
            }
        }
        commit(&cluster, &shared, &mut pending, &events, max_pages).await;
        for f in flushes.drain(..) {
            let _ = f.send(());
        }
    }
}

fn take(m: ToCommitter, pending: &mut Vec<Item>, flushes: &mut Vec<oneshot::Sender<()>>) {
    match m {
        ToCommitter::Page(item) => pending.push(*item),
        ToCommitter::Flush(f) => flushes.push(f),
    }
}

/// Commits `pending` (emptying it), dropping fenced partitions' records.
async fn commit(
    cluster: &Cluster,
    shared: &Shared,
    pending: &mut Vec<Item>,
    events: &SyncSender<Event>,
    max_pages: Option<u64>,
) {
    while !pending.is_empty() {
        let batch = Batch {
            pages: pending.iter().map(|i| i.page.clone()).collect(),
            urls: pending.iter().flat_map(|i| i.urls.iter().cloned()).collect(),
            ..Batch::default()
        };
        match cluster.commit_capped(&shared.held(), &batch, max_pages).await {
            Ok(done) => {
                let n = pending.len() as u64;
                pending.clear();
                shared.pages.fetch_add(done.pages, Ordering::AcqRel);
                shared.commits.fetch_add(1, Ordering::AcqRel);
                shared.uncommitted.fetch_sub(n, Ordering::AcqRel);
                tracing::debug!(pages = done.pages, new_urls = done.new_urls, "batch committed");
            }
            Err(ClusterError::Fenced { partitions }) => {
                let (lost, keep): (Vec<Item>, Vec<Item>) =
                    pending.drain(..).partition(|i| partitions.contains(&i.page.partition));
                *pending = keep;
                tracing::warn!(
                    records = lost.len(),
                    partitions = partitions.len(),
                    "records fenced: dropped"
                );
                shared.uncommitted.fetch_sub(lost.len() as u64, Ordering::AcqRel);
                let urls = lost.into_iter().map(|i| i.page.url).collect();
                let _ = tokio::task::block_in_place(|| {
                    events.send(Event::Cluster(ClusterEvent::Fenced(urls)))
                });
                if lost_nothing(&partitions) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, records = pending.len(), "cluster commit failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

fn lost_nothing(partitions: &[trawl_cluster::PartitionId]) -> bool {
    partitions.is_empty()
}
