//! The scheduler: a single-owner event loop. It alone owns the frontier,
//! the worker table and the lease table, so none of them needs a lock.
//!
//! Inputs are [`WorkerEvent`]s from the per-worker IPC reader threads.
//! Each turn it (1) hands leases to workers with credits, (2) handles one
//! or more events, (3) respawns dead workers and publishes progress.
//!
//! Invariants:
//! - a URL is leased to at most one worker at a time;
//! - a lease leaves `in_flight` only when its report arrives (then the
//!   record goes to the store) or its worker dies (then the URL is
//!   re-queued), so no URL is lost and none is stored twice;
//! - a worker never holds more leases than the credits it granted.

use crate::error::CoordinatorError;
use crate::frontier::{Frontier, Queued};
use crate::progress::Progress;
use crate::store::{PageRecord, StoreWriter};
use crate::supervisor::{self, WorkerEvent, WorkerLaunch, WorkerProcess};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};
use trawl_common::config::CrawlConfig;
use trawl_common::ids::{LeaseId, WorkerId};
use trawl_common::protocol::{
    FetchOutcome, Lease, PageReport, ToCoordinator, ToWorker, WorkerSettings,
};

/// Event-loop tick: progress publication and respawn checks.
const TICK: Duration = Duration::from_millis(100);
/// Events buffered from reader threads before they block (back-pressure
/// reaches the workers' report senders).
const EVENT_BOUND: usize = 1024;
/// How long a worker may take to start and say hello.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long workers get to drain and say goodbye at the end.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Longest delay between respawns of a crash-looping worker slot.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Consecutive failed spawns after which the crawl gives up.
const MAX_SPAWN_FAILURES: u32 = 5;

/// Per-worker bookkeeping.
struct Slot {
    proc: WorkerProcess,
    credits: u32,
    leases: HashSet<LeaseId>,
    pages: u64,
    peak_rss: u64,
    started: Instant,
}

/// A lease handed out and not yet answered.
struct InFlight {
    url: String,
    depth: u32,
    worker: WorkerId,
}

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

/// What the scheduler hands back when the crawl ends.
pub(crate) struct Outcome {
    pub(crate) pages: u64,
    pub(crate) workers: Vec<WorkerSummary>,
    pub(crate) outcomes: BTreeMap<&'static str, u64>,
    pub(crate) restarts: u32,
    pub(crate) discovered: u64,
}

pub(crate) struct Scheduler<'a> {
    config: &'a CrawlConfig,
    launch: &'a WorkerLaunch,
    settings: WorkerSettings,
    events_tx: SyncSender<WorkerEvent>,
    events: Receiver<WorkerEvent>,
    workers: BTreeMap<WorkerId, Slot>,
    next_worker: u32,
    next_lease: u64,
    in_flight: HashMap<LeaseId, InFlight>,
    frontier: Frontier,
    writer: &'a StoreWriter,
    pages: u64,
    finished: Vec<WorkerSummary>,
    outcomes: BTreeMap<&'static str, u64>,
    restarts: u32,
    respawn_at: Option<Instant>,
    backoff: Duration,
    spawn_failures: u32,
    started: Instant,
}

impl<'a> Scheduler<'a> {
    pub(crate) fn new(
        config: &'a CrawlConfig,
        launch: &'a WorkerLaunch,
        writer: &'a StoreWriter,
    ) -> Self {
        let (events_tx, events) = sync_channel(EVENT_BOUND);
        let settings = WorkerSettings {
            concurrency: config.concurrency,
            fetch: config.fetch.clone(),
            scope: config.scope.clone(),
        };
        let mut frontier = Frontier::new();
        for seed in &config.seeds {
            frontier.push(seed.as_str(), 0);
        }
        Self {
            config,
            launch,
            settings,
            events_tx,
            events,
            workers: BTreeMap::new(),
            next_worker: 0,
            next_lease: 0,
            in_flight: HashMap::new(),
            frontier,
            writer,
            pages: 0,
            finished: Vec::new(),
            outcomes: BTreeMap::new(),
            restarts: 0,
            respawn_at: None,
            backoff: Duration::from_millis(50),
            spawn_failures: 0,
            started: Instant::now(),
        }
    }

    /// Runs the crawl to completion.
    pub(crate) fn run(
        mut self,
        observe: &mut dyn FnMut(&Progress),
    ) -> Result<Outcome, CoordinatorError> {
        for _ in 0..self.config.workers {
            if let Err(e) = self.spawn_one() {
                self.stop_all();
                return Err(CoordinatorError::Spawn(e.to_string()));
            }
        }
        let mut last_tick = Instant::now();
        loop {
            self.assign();
            if self.is_done() {
                break;
            }
            match self.events.recv_timeout(TICK) {
                Ok(ev) => {
                    self.handle(ev)?;
                    // Drain what else is ready before assigning again.
                    while let Ok(ev) = self.events.try_recv() {
                        self.handle(ev)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(CoordinatorError::WorkersLost("event channel closed".into()));
                }
            }
            self.respawn_if_due()?;
            if last_tick.elapsed() >= TICK {
                observe(&self.progress());
                last_tick = Instant::now();
            }
        }
        observe(&self.progress());
        self.stop_all();
        Ok(Outcome {
            pages: self.pages,
            workers: self.finished,
            outcomes: self.outcomes,
            restarts: self.restarts,
            discovered: self.frontier.seen() as u64,
        })
    }

    fn progress(&self) -> Progress {
        Progress {
            pages: self.pages,
            queued: self.frontier.len() as u64,
            in_flight: self.in_flight.len() as u64,
            workers: u32::try_from(self.workers.len()).unwrap_or(u32::MAX),
            restarts: self.restarts,
            elapsed: self.started.elapsed(),
        }
    }

    fn limit_reached(&self) -> bool {
        self.config.max_pages.is_some_and(|m| self.pages + self.in_flight.len() as u64 >= m)
    }

    fn is_done(&self) -> bool {
        self.in_flight.is_empty() && (self.frontier.is_empty() || self.limit_reached())
    }

    /// Hands queued URLs to workers, never beyond their credits.
    fn assign(&mut self) {
        let ids: Vec<WorkerId> = self.workers.keys().copied().collect();
        for id in ids {
            let credits = self.workers.get(&id).map_or(0, |s| s.credits as usize);
            let mut batch = Vec::new();
            while batch.len() < credits && !self.limit_reached() {
                let Some(q) = self.frontier.pop() else { break };
                let lease = Lease { id: LeaseId(self.next_lease), url: q.url, depth: q.depth };
                self.next_lease += 1;
                self.in_flight.insert(
                    lease.id,
                    InFlight { url: lease.url.clone(), depth: lease.depth, worker: id },
                );
                batch.push(lease);
            }
            if batch.is_empty() {
                continue;
            }
            let Some(slot) = self.workers.get_mut(&id) else { continue };
            slot.credits -= u32::try_from(batch.len()).unwrap_or(slot.credits);
            slot.leases.extend(batch.iter().map(|l| l.id));
            // A failed send means the worker died; its Closed event re-queues.
            let _ = slot.proc.send(ToWorker::Assign(batch));
        }
    }

    fn handle(&mut self, ev: WorkerEvent) -> Result<(), CoordinatorError> {
        match ev {
            WorkerEvent::Message(id, msg) => self.on_message(id, msg),
            WorkerEvent::Closed(id) => {
                self.on_closed(id);
                Ok(())
            }
        }
    }

    fn on_message(&mut self, id: WorkerId, msg: ToCoordinator) -> Result<(), CoordinatorError> {
        let Some(slot) = self.workers.get_mut(&id) else { return Ok(()) };
        match msg {
            ToCoordinator::Credit(n) => slot.credits = slot.credits.saturating_add(n),
            ToCoordinator::Reports { reports, credit } => {
                slot.credits = slot.credits.saturating_add(credit);
                for r in reports {
                    self.on_report(id, r)?;
                }
            }
            ToCoordinator::Heartbeat { rss_bytes } => slot.peak_rss = slot.peak_rss.max(rss_bytes),
            ToCoordinator::Goodbye => tracing::debug!(worker_id = %id, "worker said goodbye"),
            ToCoordinator::Hello(_) => tracing::warn!(worker_id = %id, "unexpected second hello"),
        }
        Ok(())
    }

    fn on_report(&mut self, id: WorkerId, r: PageReport) -> Result<(), CoordinatorError> {
        let Some(lease) = self.in_flight.remove(&r.lease) else {
            tracing::warn!(worker_id = %id, lease_id = %r.lease, "report for unknown lease");
            return Ok(());
        };
        if let Some(slot) = self.workers.get_mut(&id) {
            slot.leases.remove(&r.lease);
            slot.pages += 1;
        }
        // A redirect hop is not a link level: its target keeps the depth.
        let child_depth = match r.outcome {
            FetchOutcome::Redirect { .. } => lease.depth,
            _ => lease.depth + 1,
        };
        if self.config.max_depth.is_none_or(|m| child_depth <= m) {
            for link in &r.links {
                self.frontier.push(link, child_depth);
            }
        }
        *self.outcomes.entry(r.outcome.kind()).or_default() += 1;
        tracing::trace!(worker_id = %id, url = %r.url, outcome = r.outcome.kind(), "page");
        self.pages += 1;
        self.writer.put(PageRecord::from_report(r, id.0))?;
        Ok(())
    }

    /// A worker's channel closed: collect its exit status, re-queue every
    /// URL it held, and schedule a replacement.
    fn on_closed(&mut self, id: WorkerId) {
        let Some(slot) = self.workers.remove(&id) else { return };
        let mut lost = 0;
        for lease_id in &slot.leases {
            if let Some(l) = self.in_flight.remove(lease_id) {
                debug_assert_eq!(l.worker, id);
                self.frontier.requeue(Queued { url: l.url, depth: l.depth });
                lost += 1;
            }
        }
        let lived = slot.started.elapsed();
        let (pid, pages, peak_rss) = (slot.proc.pid, slot.pages, slot.peak_rss);
        let status = slot.proc.reap(Duration::from_secs(2));
        let exit = status.map_or_else(|| "unknown".to_owned(), |s| s.to_string());
        tracing::warn!(worker_id = %id, pid, exit = %exit, requeued = lost, "worker died");
        self.finished.push(WorkerSummary { id, pid, pages, peak_rss, exit });
        // Exponential backoff only for workers that die young (crash loop).
        if lived < Duration::from_secs(1) {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        } else {
            self.backoff = Duration::from_millis(50);
        }
        self.respawn_at = Some(Instant::now() + self.backoff);
    }

    fn respawn_if_due(&mut self) -> Result<(), CoordinatorError> {
        let Some(at) = self.respawn_at else { return Ok(()) };
        if Instant::now() < at {
            return Ok(());
        }
        self.respawn_at = None;
        while self.workers.len() < self.config.workers as usize {
            if self.is_done() {
                return Ok(());
            }
            match self.spawn_one() {
                Ok(()) => {
                    self.restarts += 1;
                    self.spawn_failures = 0;
                }
                Err(e) => {
                    self.spawn_failures += 1;
                    tracing::error!(error = %e, "respawn failed");
                    if self.spawn_failures >= MAX_SPAWN_FAILURES && self.workers.is_empty() {
                        return Err(CoordinatorError::WorkersLost(e.to_string()));
                    }
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    self.respawn_at = Some(Instant::now() + self.backoff);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn spawn_one(&mut self) -> Result<(), supervisor::SpawnError> {
        let id = WorkerId(self.next_worker);
        self.next_worker += 1;
        let proc = supervisor::spawn(
            self.launch,
            id,
            &self.settings,
            self.events_tx.clone(),
            HANDSHAKE_TIMEOUT,
        )?;
        self.workers.insert(
            id,
            Slot {
                proc,
                credits: 0,
                leases: HashSet::new(),
                pages: 0,
                peak_rss: 0,
                started: Instant::now(),
            },
        );
        Ok(())
    }

    /// Asks every worker to drain and exit, waits for their channels to
    /// close, and reaps them. Called with nothing in flight.
    fn stop_all(&mut self) {
        for slot in self.workers.values() {
            let _ = slot.proc.send(ToWorker::Shutdown);
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut open: HashSet<WorkerId> = self.workers.keys().copied().collect();
        while !open.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(WorkerEvent::Closed(id)) => {
                    open.remove(&id);
                }
                Ok(WorkerEvent::Message(id, msg)) => {
                    if let Some(slot) = self.workers.get_mut(&id)
                        && let ToCoordinator::Heartbeat { rss_bytes } = msg
                    {
                        slot.peak_rss = slot.peak_rss.max(rss_bytes);
                    }
                }
                Err(_) => break,
            }
        }
        for (id, slot) in std::mem::take(&mut self.workers) {
            let clean = !open.contains(&id);
            let (pid, pages, peak_rss) = (slot.proc.pid, slot.pages, slot.peak_rss);
            let status =
                slot.proc.reap(if clean { Duration::from_secs(5) } else { Duration::ZERO });
            let exit = match status {
                Some(s) if s.success() => "ok".to_owned(),
                Some(s) => s.to_string(),
                None => "unknown".to_owned(),
            };
            self.finished.push(WorkerSummary { id, pid, pages, peak_rss, exit });
        }
        self.finished.sort_by_key(|w| w.id);
    }
}
