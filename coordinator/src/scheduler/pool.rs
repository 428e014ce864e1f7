//! The worker pool's bookkeeping and its pure decisions: which worker to
//! drain when shrinking, whether a worker is hung, and autoscaling.

use crate::supervisor::WorkerProcess;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use trawl_common::ids::LeaseId;

/// A worker that sent nothing (not even a heartbeat) for this long is
/// killed and replaced; workers heartbeat every second.
pub(crate) const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often autoscaling looks at the pool.
pub(crate) const AUTOSCALE_EVERY: Duration = Duration::from_secs(2);

/// Per-worker bookkeeping, owned by the scheduler.
pub(crate) struct Slot {
    pub(crate) proc: WorkerProcess,
    /// Leases the worker may still be sent.
    pub(crate) credits: u32,
    /// Leases it holds.
    pub(crate) leases: HashSet<LeaseId>,
    /// Holding a suspect URL alone: nothing else is assigned until it ends.
    pub(crate) solo: bool,
    /// Told to finish and exit (scale-down, recycling, shutdown).
    pub(crate) draining: bool,
    pub(crate) pages: u64,
    pub(crate) rss: u64,
    pub(crate) peak_rss: u64,
    pub(crate) started: Instant,
    pub(crate) last_seen: Instant,
    /// CPU seconds at the last autoscale sample.
    pub(crate) cpu_mark: f64,
}

impl Slot {
    pub(crate) fn new(proc: WorkerProcess) -> Self {
        let now = Instant::now();
        Self {
            proc,
            credits: 0,
            leases: HashSet::new(),
            solo: false,
            draining: false,
            pages: 0,
            rss: 0,
            peak_rss: 0,
            started: now,
            last_seen: now,
            cpu_mark: 0.0,
        }
    }

    /// Can this worker be given ordinary leases now?
    pub(crate) fn accepts_work(&self) -> bool {
        !self.draining && !self.solo && self.credits > 0
    }

    pub(crate) fn is_hung(&self, now: Instant) -> bool {
        now.duration_since(self.last_seen) > HEARTBEAT_TIMEOUT
    }
}

/// What autoscaling sees of the pool over the last window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSample {
    /// Live (not draining) workers.
    pub(crate) workers: u32,
    /// URLs waiting in the frontier.
    pub(crate) queued: u64,
    /// Leases in flight.
    pub(crate) in_flight: u64,
    /// Per-worker concurrency.
    pub(crate) concurrency: u32,
    /// Average CPU utilisation of one worker over the window (1.0 = one core).
    pub(crate) busy: f64,
}

/// The pool size autoscaling wants, within `min..=max`. It grows while
/// workers are CPU-saturated and work is waiting, and shrinks when workers
/// are mostly idle or nothing is left to hand out.
pub(crate) fn autoscale(min: u32, max: u32, s: PoolSample) -> u32 {
    let cur = s.workers.clamp(min, max);
    let capacity = u64::from(s.workers) * u64::from(s.concurrency);
    if s.queued > 0 && s.busy > 0.7 && cur < max {
        cur + 1
    } else if cur > min && (s.busy < 0.2 || (s.queued == 0 && s.in_flight * 4 < capacity)) {
        cur - 1
    } else {
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(workers: u32, queued: u64, in_flight: u64, busy: f64) -> PoolSample {
        PoolSample { workers, queued, in_flight, concurrency: 16, busy }
    }

    #[test]
    fn grows_when_saturated_and_work_waits() {
        assert_eq!(autoscale(1, 4, s(2, 100, 64, 0.95)), 3);
        assert_eq!(autoscale(1, 4, s(4, 100, 64, 0.95)), 4, "capped at max");
        assert_eq!(autoscale(1, 4, s(2, 0, 64, 0.95)), 2, "nothing waiting");
    }

    #[test]
    fn shrinks_when_idle() {
        assert_eq!(autoscale(1, 4, s(3, 100, 10, 0.05)), 2);
        assert_eq!(autoscale(1, 4, s(3, 0, 2, 0.5)), 2, "little in flight, nothing queued");
        assert_eq!(autoscale(2, 4, s(2, 0, 0, 0.0)), 2, "never below min");
    }

    #[test]
    fn holds_in_between() {
        assert_eq!(autoscale(1, 4, s(2, 100, 64, 0.5)), 2);
    }
}
