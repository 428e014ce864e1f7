//! The control plane: requests that reach the scheduler from outside the
//! crawl (the HTTP API, signals), and the status report it answers with.
//!
//! Requests travel on the scheduler's own event channel, so the scheduler
//! stays the single owner of crawl state; replies come back on a oneshot.

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A request to the running scheduler.
#[derive(Debug)]
pub enum ControlRequest {
    /// Report the crawl's state.
    Status(oneshot::Sender<StatusReport>),
    /// Set the worker pool size. Extra workers are drained (they finish or
    /// return their leases) before they exit.
    Scale {
        /// The new pool size (`1..=MAX_WORKERS`).
        workers: u32,
        /// The pool size now targeted.
        reply: oneshot::Sender<Result<u32, String>>,
    },
    /// Add seed URLs to the running crawl (already normalized and checked).
    Seeds {
        /// URLs at depth 0.
        urls: Vec<String>,
        /// How many were new.
        reply: oneshot::Sender<usize>,
    },
    /// SIGINT/SIGTERM: the first stops handing out work and drains; the
    /// second stops at once (leases are left for a resume).
    Stop {
        /// True for a second signal.
        immediate: bool,
    },
}

/// Where the crawl is in its life (`state` of the status report).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrawlState {
    /// Handing out work.
    Running,
    /// First stop signal: no new leases; finishing what is in flight.
    Draining,
    /// Second stop signal: stopping now (leases are left for a resume).
    Stopping,
}

/// A worker's state in the status report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Taking work.
    Running,
    /// Told to finish its leases and exit (scale-down, recycling, stop).
    Draining,
}

impl CrawlState {
    /// The name the JSON uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Draining => "draining",
            Self::Stopping => "stopping",
        }
    }
}

impl WorkerState {
    /// The name the JSON uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Draining => "draining",
        }
    }
}

impl std::fmt::Display for CrawlState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for WorkerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One worker in a status report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// Worker id.
    pub id: u32,
    /// OS process id.
    pub pid: u32,
    /// Pages it reported.
    pub pages: u64,
    /// Its pages per second over its lifetime.
    pub pages_per_sec: f64,
    /// Last reported resident set size, bytes.
    pub rss_bytes: u64,
    /// Leases it holds.
    pub in_flight: u32,
    /// `running` or `draining`.
    pub state: WorkerState,
    /// Seconds since it started.
    pub uptime_secs: f64,
}

/// The crawl's state, as `trawl status` and `GET /api/status` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Coordinator pid.
    pub pid: u32,
    /// `running`, `draining` or `stopping`.
    pub state: CrawlState,
    /// Pages stored.
    pub pages: u64,
    /// Average pages per second since the start.
    pub pages_per_sec: f64,
    /// URLs queued.
    pub queued: u64,
    /// Of those, URLs waiting on disk only (past `--frontier-memory`).
    pub queued_on_disk: u64,
    /// Leases in flight.
    pub in_flight: u64,
    /// URLs discovered.
    pub discovered: u64,
    /// Target pool size.
    pub target_workers: u32,
    /// Workers respawned after dying.
    pub restarts: u32,
    /// Workers killed for missing heartbeats.
    pub hung_kills: u32,
    /// URLs recorded as poison.
    pub poison: u64,
    /// Seconds since the crawl started.
    pub elapsed_secs: f64,
    /// Per-worker detail.
    pub workers: Vec<WorkerStatus>,
    /// Pages per outcome kind.
    pub outcomes: std::collections::BTreeMap<String, u64>,
    /// Body bytes fetched.
    pub bytes: u64,
    /// Hosts with the most queued URLs: (host, queued).
    pub hosts: Vec<(String, u64)>,
    /// The most recent failed pages, newest last.
    pub recent_errors: Vec<RecentError>,
}

/// A page that did not end `ok`, for the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecentError {
    /// URL.
    pub url: String,
    /// Outcome kind.
    pub outcome: String,
    /// HTTP status, if any.
    pub status: Option<u16>,
    /// Detail, if any.
    pub detail: Option<String>,
}
