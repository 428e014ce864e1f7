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
    /// Pause, resume or stop the crawl (`POST /api/pause`, `/api/resume`,
    /// `/api/stop`, the dashboard's buttons). Unlike [`Stop`](Self::Stop),
    /// repeating a run request never escalates: an API stop always drains.
    Run {
        /// What to do.
        action: RunAction,
        /// The state afterwards, or why the action does not apply now.
        reply: oneshot::Sender<Result<RunChange, String>>,
    },
}

/// A run control from the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunAction {
    /// Hand out no new leases; in-flight fetches finish, workers stay up.
    Pause,
    /// Hand out leases again after a pause.
    Resume,
    /// The first SIGINT: no new leases, finish what is in flight, exit 0.
    Stop,
}

/// The reply to a [`ControlRequest::Run`]: `{"state": "paused",
/// "in_flight": 3}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunChange {
    /// The crawl's state after the request.
    pub state: CrawlState,
    /// Leases still in flight (they finish, whatever the state).
    pub in_flight: u64,
}

/// Where the crawl is in its life (`state` of the status report).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrawlState {
    /// Handing out work.
    Running,
    /// Paused from the API: no new leases; in-flight fetches finish and
    /// workers stay up until a resume (or a stop).
    Paused,
    /// First stop signal: no new leases; finishing what is in flight.
    Draining,
    /// Second stop signal: stopping now (leases are left for a resume).
    Stopping,
    /// The crawl is over; what is served is its final report
    /// (`trawl demo --serve`).
    Finished,
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
            Self::Paused => "paused",
            Self::Draining => "draining",
            Self::Stopping => "stopping",
            Self::Finished => "finished",
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
    /// `running`, `paused`, `draining` or `stopping`.
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
    /// `--max-pages`: the limit counts the pages of every run on this
    /// store, so progress is `(resumed_pages + pages) / max_pages`.
    #[serde(default)]
    pub max_pages: Option<u64>,
    /// Pages stored by earlier runs on this store.
    #[serde(default)]
    pub resumed_pages: u64,
    /// Seconds until `--max-pages` is reached at the recent rate; absent
    /// without a limit, while paused or stopping, or before any progress.
    #[serde(default)]
    pub eta_secs: Option<f64>,
    /// Pages per outcome over time, for the dashboard's chart.
    #[serde(default)]
    pub timeline: OutcomeTimeline,
}

/// Page records per outcome in fixed buckets of the crawl's elapsed time:
/// the last few minutes, oldest first, empty buckets included.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeTimeline {
    /// Width of a bucket, seconds.
    pub bucket_secs: u64,
    /// The buckets, oldest first; the last one is still filling.
    pub buckets: Vec<TimelineBucket>,
}

/// One bucket of an [`OutcomeTimeline`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineBucket {
    /// Seconds since the crawl started, at the bucket's start.
    pub start_secs: u64,
    /// Pages stored in it, per outcome kind (kinds with none are left out).
    pub outcomes: std::collections::BTreeMap<String, u64>,
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
