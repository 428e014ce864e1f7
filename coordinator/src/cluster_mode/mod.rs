//! Cluster mode's glue (`--cluster`, issue 12): this machine's coordinator
//! runs today's scheduler for the hosts of the partitions it leases in
//! PostgreSQL (`trawl-cluster`), and commits its page records there in
//! fenced batches. Without `--cluster` none of this is constructed and the
//! scheduler's hooks are `None` checks.
//!
//! Owners, one concept each:
//! - [`node`]: the tokio runtime, the join (migrations, machine row,
//!   seeds as URL rows) and the shutdown path (flush, release, leave);
//! - [`leases`]: the lease task: renew, take a fair share, release the
//!   excess after a drain period, load gained partitions' queues
//!   (takeover, breadth-first), drain the inbox, poll cluster counts;
//! - [`committer`]: the committer task: page records and the URLs they
//!   led to, batched, committed fenced; a fenced batch drops the lost
//!   partitions' records and tells the scheduler;
//! - [`link`]: the scheduler's side: which partitions it may hand out,
//!   links split into own (frontier) and other machines' (URL rows),
//!   records sent to the committer, "is the whole cluster done";
//! - [`query`](mod@query): `trawl query/export/status --cluster` over
//!   the page rows, streamed by keyset pagination;
//! - [`rows`]: the one mapping between page records and page rows;
//! - [`carry`]: robots.txt and crash counts through the database (what a
//!   commit writes, what a takeover loads).

mod carry;
mod committer;
mod leases;
mod link;
mod node;
mod query;
mod rows;

pub use query::{export, query, status, status_json};
pub use trawl_cluster::{ClusterError, ClusterStatus, MachineStatus, PARTITIONS};

pub(crate) use carry::{Carried, as_fetch as carry_fetch};
pub(crate) use link::ClusterLink;
pub(crate) use node::ClusterNode;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use trawl_cluster::{Epoch, PartitionId, QueuedUrl};

/// What the cluster tasks tell the scheduler.
#[derive(Debug)]
pub(crate) enum ClusterEvent {
    /// Partitions now held, at these epochs: their URLs may be handed
    /// out, and `queued` (the takeover load: the database's queue for
    /// them, breadth-first) is their frontier, whatever this machine's
    /// frontier still holds of them from an earlier tenure.
    Gained {
        partitions: Vec<(PartitionId, Epoch)>,
        queued: Vec<QueuedUrl>,
        /// Their URLs stored already: seen, never fetched here again.
        stored: Vec<String>,
    },
    /// Partitions lost or being released: stop handing out their URLs.
    Lost(Vec<PartitionId>),
    /// Queued URLs of held partitions from the inbox.
    Urls(Vec<QueuedUrl>),
    /// URLs (and depths) whose records were refused (fenced): not stored
    /// by this machine; whoever holds their partition next fetches them
    /// again.
    Fenced(Vec<(String, u32)>),
    /// What a takeover carries over besides the queue (sent before its
    /// URLs): the partitions' robots.txt and crash counts ([`carry`]).
    Carried(carry::Carried),
    /// Crashes sent to the committer were settled: `durable` ones are
    /// counted in the database (their suspects may go out again),
    /// `dropped` ones were fenced (their partition is lost).
    CrashesSettled {
        /// Committed.
        durable: Vec<String>,
        /// Fenced.
        dropped: Vec<String>,
    },
}

/// State the tasks and the scheduler's link share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Partitions held and the epoch each was acquired at: the fence.
    pub(crate) held: Mutex<HashMap<PartitionId, Epoch>>,
    /// Records sent to the committer and not yet committed or dropped.
    pub(crate) uncommitted: AtomicU64,
    /// Successful commits so far (a poll is current if it started after
    /// the last one).
    pub(crate) commits: AtomicU64,
    /// Page rows in the database (polled, plus this machine's commits).
    pub(crate) pages: AtomicU64,
    /// Queued URLs in the whole cluster at the last poll.
    pub(crate) queued: AtomicU64,
    /// `commits` when the last poll started.
    pub(crate) polled_at: AtomicU64,
    /// A poll has answered.
    pub(crate) polled: AtomicBool,
    /// The local deadline of the leases held (set by the lease task on
    /// each renewal): past it, no URL may be handed out, whether or not
    /// the lease task got to renew (a paused process, a hung connection).
    pub(crate) deadline: Mutex<Option<std::time::Instant>>,
}

impl Shared {
    /// The held partitions and epochs (the committer's fence).
    pub(crate) fn held(&self) -> HashMap<PartitionId, Epoch> {
        self.held.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn set_held(&self, f: impl FnOnce(&mut HashMap<PartitionId, Epoch>)) {
        if let Ok(mut h) = self.held.lock() {
            f(&mut h);
        }
    }

    /// Are the leases past their local deadline (hand nothing out)?
    pub(crate) fn expired(&self, now: std::time::Instant) -> bool {
        self.deadline.lock().ok().and_then(|d| *d).is_some_and(|d| now >= d)
    }

    fn set_deadline(&self, d: Option<std::time::Instant>) {
        if let Ok(mut x) = self.deadline.lock() {
            *x = d;
        }
    }

    /// Nothing queued anywhere in the cluster, as of a poll made after
    /// this machine's last commit, and nothing of this machine's pending.
    pub(crate) fn idle(&self) -> bool {
        self.polled.load(Ordering::Acquire)
            && self.uncommitted.load(Ordering::Acquire) == 0
            && self.polled_at.load(Ordering::Acquire) == self.commits.load(Ordering::Acquire)
            && self.queued.load(Ordering::Acquire) == 0
    }
}

/// The partition of a URL as the cluster computes it (`None`: not a URL).
pub(crate) fn partition_of(url: &str) -> Option<PartitionId> {
    url::Url::parse(url).ok().map(|u| PartitionId::of_url(&u))
}
