//! Autoscaling's pure decision: the pool size it wants from one sample
//! of the pool's CPU use and backlog.

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
