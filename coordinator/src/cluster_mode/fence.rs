//! Self-fencing: a machine that cannot renew its leases stops handing out
//! work for their partitions **before** they expire in the database.
//!
//! A lease's end (`lease_until`) is on the database's clock, which this
//! machine cannot read. What it gets back from a renewal or a take is how
//! long the lease was still valid when the database answered
//! ([`Lease::valid_for`]); counted from when the request was *sent* on
//! this machine's monotonic clock, that gives a local end that is never
//! later than the real one. The local deadline is that end less a
//! `margin` (one renewal period): the time the work already handed out
//! has to start its requests, so that no request of this machine's starts
//! after `lease_until`, and another machine that takes the partition when
//! it expires never overlaps with it at a host.
//!
//! [`Deadlines`] is the rule, sync and pure (it takes `now`); the fence
//! task ([`run`]) applies it every [`TICK`] whatever the lease task is
//! doing (a renewal can hang on a cut network for minutes): a partition
//! past its deadline leaves the committer's fence (its records are refused
//! from then on, without a database round trip) and the scheduler is told
//! to stop handing out its URLs. If a later renewal shows the lease was
//! still this machine's at the same epoch, the lease task takes it back
//! (see `leases.rs`).

use super::{ClusterEvent, Shared};
use crate::scheduler::Event;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trawl_cluster::{Lease, PartitionId};

/// How often at least the fence task looks at the deadlines.
pub(crate) const TICK: Duration = Duration::from_millis(50);

/// The local deadline of each partition this machine hands out work for.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    until: HashMap<PartitionId, Instant>,
}

impl Deadlines {
    /// A renewal or take sent at `sent` returned `lease`: its work may be
    /// handed out until `sent + valid_for - margin`.
    pub(crate) fn renewed(&mut self, lease: &Lease, sent: Instant, margin: Duration) {
        self.until.insert(lease.partition, lease.deadline(sent, margin));
    }

    /// Is work for `p` being handed out (not fenced, not released)?
    pub(crate) fn live(&self, p: PartitionId) -> bool {
        self.until.contains_key(&p)
    }

    /// Is `p` watched with its deadline still ahead at `now`?
    pub(crate) fn live_at(&self, p: PartitionId, now: Instant) -> bool {
        self.until.get(&p).is_some_and(|d| *d > now)
    }

    /// `p` was released or lost: no deadline to watch.
    pub(crate) fn remove(&mut self, p: PartitionId) {
        self.until.remove(&p);
    }

    /// Removes and returns the partitions whose deadline is at or before
    /// `now`, in id order.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<PartitionId> {
        let mut out: Vec<PartitionId> =
            self.until.iter().filter(|(_, d)| **d <= now).map(|(p, _)| *p).collect();
        out.sort();
        for p in &out {
            self.until.remove(p);
        }
        out
    }

    /// The earliest deadline watched.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.until.values().min().copied()
    }
}

/// Fences partitions as their deadlines pass, until `stop`.
pub(crate) async fn run(
    shared: Arc<Shared>,
    events: SyncSender<Event>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        // The next deadline, or a tick (a renewal may add an earlier one).
        let next = shared.fence.lock().ok().and_then(|d| d.next());
        let wait = next.map_or(TICK, |n| n.saturating_duration_since(Instant::now()).min(TICK));
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(wait) => {}
        }
        if *stop.borrow() {
            return;
        }
        fence_expired(&shared, &events, Instant::now());
    }
}

/// One look at the deadlines: what passed is fenced (under the order
/// lock, so a renewal taking a partition back cannot interleave).
fn fence_expired(shared: &Shared, events: &SyncSender<Event>, now: Instant) {
    let Ok(_order) = shared.fence_order.lock() else { return };
    let expired = match shared.fence.lock() {
        Ok(mut d) => d.take_expired(now),
        Err(_) => return,
    };
    if expired.is_empty() {
        return;
    }
    shared.set_held(|h| {
        for p in &expired {
            h.remove(p);
        }
    });
    tracing::warn!(
        partitions = expired.len(),
        "cluster: leases not renewed in time: stop handing out their work (self-fenced)"
    );
    let _ =
        tokio::task::block_in_place(|| events.send(Event::Cluster(ClusterEvent::Lost(expired))));
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_cluster::Epoch;

    fn lease(host: &str, valid_ms: u64) -> Lease {
        Lease {
            partition: PartitionId::of_host(host),
            epoch: Epoch(1),
            valid_for: Duration::from_millis(valid_ms),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_partition_is_fenced_one_margin_before_its_lease_ends_counted_from_the_send() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        // Sent at t0; the database answered (later) that 2 s were left.
        let l = lease("a", 2_000);
        d.renewed(&l, t0, ms(666));
        assert_eq!(d.next(), Some(t0 + ms(1_334)));
        assert!(d.take_expired(t0 + ms(1_333)).is_empty(), "still live just before");
        assert!(d.live(l.partition));
        assert!(d.live_at(l.partition, t0 + ms(1_333)));
        // Past the deadline it is not live, even before the fence task ran.
        assert!(!d.live_at(l.partition, t0 + ms(1_334)));
        assert_eq!(d.take_expired(t0 + ms(1_334)), [l.partition], "fenced at the deadline");
        assert!(!d.live(l.partition));
        assert!(d.take_expired(t0 + ms(10_000)).is_empty(), "fenced once");
    }

    #[test]
    fn a_renewal_moves_the_deadline_and_a_failed_one_does_not() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        let l = lease("a", 2_000);
        d.renewed(&l, t0, ms(500));
        // Renewed at t0 + 600 ms: the deadline moves with it.
        d.renewed(&l, t0 + ms(600), ms(500));
        assert!(d.take_expired(t0 + ms(1_600)).is_empty());
        // No renewal since (the database is unreachable): fenced at
        // t0 + 600 + 2000 - 500, before the lease's end at t0 + 2600.
        assert_eq!(d.take_expired(t0 + ms(2_100)), [l.partition]);
    }

    #[test]
    fn each_partition_has_its_own_deadline_and_a_released_one_is_not_watched() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        let (a, b, c) = (lease("a", 1_000), lease("b", 3_000), lease("c", 1_000));
        for l in [&a, &b, &c] {
            d.renewed(l, t0, ms(300));
        }
        d.remove(c.partition);
        assert_eq!(d.next(), Some(t0 + ms(700)));
        assert_eq!(d.take_expired(t0 + ms(800)), [a.partition]);
        assert!(d.live(b.partition));
        assert_eq!(d.take_expired(t0 + ms(2_700)), [b.partition]);
        assert_eq!(d.next(), None);
    }

    #[test]
    fn a_lease_shorter_than_the_margin_is_fenced_at_once() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        let l = lease("a", 200);
        d.renewed(&l, t0, ms(666));
        assert_eq!(d.take_expired(t0), [l.partition]);
    }
}
