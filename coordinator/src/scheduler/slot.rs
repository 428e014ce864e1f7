//! One started worker as the pool sees it (credits, leases, liveness,
//! memory), and the summary of its life once it has ended.

use crate::supervisor::WorkerLink;
use std::collections::HashSet;
use std::process::ExitStatus;
use std::time::{Duration, Instant};
use trawl_common::ids::{LeaseId, WorkerId};
use trawl_common::protocol::ToWorker;

/// What a finished worker did.
#[derive(Clone, Debug)]
pub struct WorkerSummary {
    /// Its id.
    pub id: WorkerId,
    /// Its OS pid.
    pub pid: u32,
    /// Pages it reported.
    pub pages: u64,
    /// Highest RSS it reported, in bytes.
    pub peak_rss: u64,
    /// How it ended: `ok`, or the exit status of a death.
    pub exit: String,
}

/// One started worker's bookkeeping.
pub(crate) struct Slot {
    pub(crate) link: Box<dyn WorkerLink>,
    /// Leases the worker may still be sent.
    pub(crate) credits: u32,
    /// Leases it holds.
    pub(crate) leases: HashSet<LeaseId>,
    /// Holding a suspect URL alone: nothing else is assigned until it ends.
    pub(crate) solo: bool,
    /// Told to finish and exit (scale-down, recycling, shutdown).
    pub(crate) draining: bool,
    /// Killed by the pool for missing heartbeats.
    pub(super) hung_kill: bool,
    pub(crate) pages: u64,
    pub(super) rss: u64,
    pub(super) peak_rss: u64,
    pub(super) started: Instant,
    pub(super) last_seen: Instant,
    /// CPU seconds at the last autoscale sample.
    pub(super) cpu_mark: f64,
}

impl Slot {
    pub(super) fn new(link: Box<dyn WorkerLink>, now: Instant) -> Self {
        Self {
            link,
            credits: 0,
            leases: HashSet::new(),
            solo: false,
            draining: false,
            hung_kill: false,
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

    /// It said something: it is alive.
    pub(crate) fn seen(&mut self, now: Instant) {
        self.last_seen = now;
    }

    pub(crate) fn note_rss(&mut self, rss: u64) {
        self.rss = rss;
        self.peak_rss = self.peak_rss.max(rss);
    }

    pub(super) fn drain(&mut self) {
        self.draining = true;
        let _ = self.link.send(ToWorker::Shutdown);
    }

    /// Reaps the process (waiting at most `grace`, then killing) and
    /// sums up its life: the one place a [`WorkerSummary`] is built.
    pub(super) fn end(self, id: WorkerId, grace: Duration) -> (WorkerSummary, Option<ExitStatus>) {
        let pid = self.link.pid();
        let status = self.link.reap(grace);
        let summary = WorkerSummary {
            id,
            pid,
            pages: self.pages,
            peak_rss: self.peak_rss,
            exit: exit_label(status),
        };
        (summary, status)
    }
}

/// `ok` for a clean exit, else the status (`signal: 9 (SIGKILL)`, ...).
fn exit_label(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) if s.success() => "ok".to_owned(),
        Some(s) => s.to_string(),
        None => "unknown".to_owned(),
    }
}
