//! Live counters the scheduler publishes on every tick, for progress
//! display (and, later, the status API).

use std::time::Duration;

/// A snapshot of the crawl.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Page records stored (or queued for the writer).
    pub pages: u64,
    /// URLs waiting in the frontier.
    pub queued: u64,
    /// Leases handed out and not yet reported.
    pub in_flight: u64,
    /// Worker processes alive.
    pub workers: u32,
    /// Workers restarted after dying.
    pub restarts: u32,
    /// Time since the crawl started.
    pub elapsed: Duration,
}

impl Progress {
    /// Average pages per second so far.
    pub fn pages_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.pages as f64 / secs } else { 0.0 }
    }
}
