//! The committer task: records from the scheduler, batched (up to
//! [`BATCH`] or [`LINGER`]), committed to PostgreSQL fenced by the held
//! epochs. A `Fenced` answer drops the lost partitions' records (another
//! machine owns them now and fetches them again) and commits the rest,
//! with the links the dropped pages led to (facts whoever fetched them:
//! this machine's seen-set has them, so it would not announce them again);
//! a database that is down is retried with back-off, the batch kept.

use super::{ClusterEvent, FencedUrl, Shared};
use crate::scheduler::Event;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use trawl_cluster::{Batch, Cluster, ClusterError, Epoch, NewUrl, PageRow, PartitionId};

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
    /// Queued in this machine's frontier, with their partition's epoch
    /// then: written as "queued here" only if still held at that epoch.
    pub(crate) urls: Vec<(NewUrl, Epoch)>,
    /// Not queued here: announced to their partition's owner.
    pub(crate) announce: Vec<NewUrl>,
}

/// The links of refused records, still to be written.
#[derive(Debug, Default)]
struct Orphans {
    urls: Vec<(NewUrl, Epoch)>,
    announce: Vec<NewUrl>,
}

impl Orphans {
    fn is_empty(&self) -> bool {
        self.urls.is_empty() && self.announce.is_empty()
    }
}

/// Splits URLs queued here into those still held at the epoch they were
/// queued at (`urls`) and the rest (`announce`).
fn classify<'a>(
    held: &HashMap<PartitionId, Epoch>,
    queued: impl Iterator<Item = &'a (NewUrl, Epoch)>,
    batch: &mut Batch,
) {
    for (u, e) in queued {
        if held.get(&u.partition) == Some(e) {
            batch.urls.push(u.clone());
        } else {
            batch.announce.push(u.clone());
        }
    }
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

/// Commits `pending` (emptying it), dropping fenced partitions' records
/// (but not the links they led to).
async fn commit(
    cluster: &Cluster,
    shared: &Shared,
    pending: &mut Vec<Item>,
    events: &SyncSender<Event>,
    max_pages: Option<u64>,
) {
    let mut orphans = Orphans::default();
    while !pending.is_empty() || !orphans.is_empty() {
        let held = shared.held();
        let mut batch =
            Batch { pages: pending.iter().map(|i| i.page.clone()).collect(), ..Batch::default() };
        classify(&held, pending.iter().flat_map(|i| &i.urls).chain(&orphans.urls), &mut batch);
        batch.announce.extend(pending.iter().flat_map(|i| i.announce.iter().cloned()));
        batch.announce.extend(orphans.announce.iter().cloned());
        match cluster.commit_capped(&held, &batch, max_pages).await {
            Ok(done) => {
                let n = pending.len() as u64;
                pending.clear();
                orphans = Orphans::default();
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
                    machine = %cluster.machine(),
                    records = lost.len(),
                    partitions = ?partitions,
                    first_url = lost.first().map_or("", |i| i.page.url.as_str()),
                    "cluster: late commit refused (fenced): records dropped, their partitions \
                     belong to another owner or epoch now"
                );
                shared.uncommitted.fetch_sub(lost.len() as u64, Ordering::AcqRel);
                let mut urls = Vec::with_capacity(lost.len());
                for i in lost {
                    orphans.urls.extend(i.urls);
                    orphans.announce.extend(i.announce);
                    let epoch = held.get(&i.page.partition).copied();
                    let (url, partition, depth) = (i.page.url, i.page.partition, i.page.depth);
                    urls.push(FencedUrl { url, partition, depth, epoch });
                }
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
