//! The committer task: records from the scheduler, batched (up to
//! [`BATCH`] or [`LINGER`]), committed to PostgreSQL fenced by the held
//! epochs, with the robots.txt answers and crash counts of the same period
//! ([`super::carry`]). A crash is not left to linger: it is committed at
//! once (with whatever is pending), and the scheduler is told when it is
//! durable. A `Fenced` answer drops the lost partitions' records, robots
//! and crashes (another machine owns them now and fetches them again) and
//! commits the rest, with the links the dropped pages led to (facts
//! whoever fetched them: this machine's seen-set has them, so it would not
//! announce them again); a database that is down is retried with
//! back-off, the batch kept.

use super::{ClusterEvent, Shared};
use crate::scheduler::Event;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;
use trawl_cluster::{
    Batch, Cluster, ClusterError, Crash, Epoch, NewUrl, PageRow, PartitionId, RobotsRow,
};

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

/// Links without a record to commit with: those a sitemap listed, and
/// those of refused records (still facts, still to be written).
#[derive(Debug, Default)]
struct Links {
    urls: Vec<(NewUrl, Epoch)>,
    announce: Vec<NewUrl>,
}

impl Links {
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
    /// A worker died holding this URL: committed at once.
    Crash(Crash),
    /// A robots.txt answer for a host of a held partition.
    Robots(RobotsRow),
    /// URLs found without a page (sitemaps): own ones with their epoch
    /// (as [`Item::urls`]), the others announced.
    Urls {
        urls: Vec<(NewUrl, Epoch)>,
        announce: Vec<NewUrl>,
    },
    /// Answered once everything sent before it is committed or dropped.
    Flush(oneshot::Sender<()>),
}

/// What waits for the next commit.
#[derive(Debug, Default)]
struct Pending {
    items: Vec<Item>,
    crashes: Vec<Crash>,
    robots: Vec<RobotsRow>,
    links: Links,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
            && self.crashes.is_empty()
            && self.robots.is_empty()
            && self.links.is_empty()
    }

    /// The batch to commit while holding `held`.
    fn batch(&self, held: &HashMap<PartitionId, Epoch>) -> Batch {
        let mut batch = Batch {
            pages: self.items.iter().map(|i| i.page.clone()).collect(),
            crashes: self.crashes.clone(),
            robots: self.robots.clone(),
            ..Batch::default()
        };
        let queued = self.items.iter().flat_map(|i| &i.urls).chain(&self.links.urls);
        classify(held, queued, &mut batch);
        batch.announce.extend(self.items.iter().flat_map(|i| i.announce.iter().cloned()));
        batch.announce.extend(self.links.announce.iter().cloned());
        batch
    }
}

/// Runs until the channel closes.
pub(crate) async fn run(
    cluster: Cluster,
    shared: Arc<Shared>,
    mut rx: UnboundedReceiver<ToCommitter>,
    events: SyncSender<Event>,
    max_pages: Option<u64>,
) {
    let mut pending = Pending::default();
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
        while open
            && pending.items.len() < BATCH
            && flushes.is_empty()
            && pending.crashes.is_empty()
        {
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

fn take(m: ToCommitter, pending: &mut Pending, flushes: &mut Vec<oneshot::Sender<()>>) {
    match m {
        ToCommitter::Page(item) => pending.items.push(*item),
        ToCommitter::Crash(c) => pending.crashes.push(c),
        ToCommitter::Robots(r) => pending.robots.push(r),
        ToCommitter::Urls { urls, announce } => {
            pending.links.urls.extend(urls);
            pending.links.announce.extend(announce);
        }
        ToCommitter::Flush(f) => flushes.push(f),
    }
}

/// Commits `pending` (emptying it), dropping fenced partitions' records,
/// robots and crashes (but not the links they led to).
async fn commit(
    cluster: &Cluster,
    shared: &Shared,
    pending: &mut Pending,
    events: &SyncSender<Event>,
    max_pages: Option<u64>,
) {
    let send = |ev: ClusterEvent| {
        let _ = tokio::task::block_in_place(|| events.send(Event::Cluster(ev)));
    };
    while !pending.is_empty() {
        let held = shared.held();
        let batch = pending.batch(&held);
        match cluster.commit_capped(&held, &batch, max_pages).await {
            Ok(done) => {
                let n = pending.items.len() as u64;
                let durable: Vec<String> = pending.crashes.drain(..).map(|c| c.url).collect();
                *pending = Pending::default();
                shared.pages.fetch_add(done.pages, Ordering::AcqRel);
                shared.commits.fetch_add(1, Ordering::AcqRel);
                shared.uncommitted.fetch_sub(n, Ordering::AcqRel);
                tracing::debug!(
                    records = n,
                    pages = done.pages,
                    new_urls = done.new_urls,
                    "batch committed"
                );
                if !durable.is_empty() {
                    send(ClusterEvent::CrashesSettled { durable, dropped: Vec::new() });
                }
            }
            Err(ClusterError::Fenced { partitions }) => {
                let (lost, keep): (Vec<Item>, Vec<Item>) =
                    pending.items.drain(..).partition(|i| partitions.contains(&i.page.partition));
                pending.items = keep;
                pending.robots.retain(|r| !partitions.contains(&r.partition));
                let (gone, kept): (Vec<Crash>, Vec<Crash>) =
                    pending.crashes.drain(..).partition(|c| partitions.contains(&c.partition));
                pending.crashes = kept;
                tracing::warn!(
                    machine = %cluster.machine(),
                    records = lost.len(),
                    crashes = gone.len(),
                    partitions = ?partitions,
                    first_url = lost.first().map_or("", |i| i.page.url.as_str()),
                    "cluster: late commit refused (fenced): records dropped, their partitions \
                     belong to another owner or epoch now"
                );
                shared.uncommitted.fetch_sub(lost.len() as u64, Ordering::AcqRel);
                let mut urls = Vec::with_capacity(lost.len());
                for i in lost {
                    pending.links.urls.extend(i.urls);
                    pending.links.announce.extend(i.announce);
                    urls.push((i.page.url, i.page.depth));
                }
                send(ClusterEvent::Fenced(urls));
                if !gone.is_empty() {
                    let dropped = gone.into_iter().map(|c| c.url).collect();
                    send(ClusterEvent::CrashesSettled { durable: Vec::new(), dropped });
                }
                if lost_nothing(&partitions) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, records = pending.items.len(), "cluster commit failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

fn lost_nothing(partitions: &[trawl_cluster::PartitionId]) -> bool {
    partitions.is_empty()
}
