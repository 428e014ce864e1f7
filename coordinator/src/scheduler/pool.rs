//! The worker pool: the one owner of spawn, respawn back-off, hung-kill,
//! draining (scale-down, recycling), autoscaling and the summary of every
//! worker that ran. The scheduler tells it what happened and when (`now`);
//! it decides what to do about the processes.
//!
//! Rules:
//! - a worker that dies is replaced after a back-off that doubles (up to
//!   `max_backoff`) while workers die younger than `young`, and resets
//!   otherwise;
//! - a failed spawn doubles the back-off too; after `max_spawn_failures`
//!   failures in a row with no worker alive or starting, the crawl gives up;
//! - a worker silent for `heartbeat_timeout` is killed (and its death then
//!   counts against the URLs it held, see `crashes.rs`);
//! - shrinking drains the workers holding the fewest leases; recycling
//!   (`--worker-max-pages`) drains a worker that has done its share.

use super::Event;
use super::autoscale::{self, PoolSample};
use super::crashes::{Blame, Death, blame};
use super::launcher::Launcher;
use super::slot::{Slot, WorkerSummary};
use super::tuning::Tuning;
use crate::control::{WorkerState, WorkerStatus};
use crate::error::CoordinatorError;
use crate::supervisor::{SpawnError, WorkerLink};
use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};
use trawl_common::config::CrawlConfig;
use trawl_common::ids::{LeaseId, WorkerId};
use trawl_common::process;
use trawl_common::protocol::WorkerSettings;

/// Largest worker pool (`--workers`, `--autoscale`, `POST /api/scale`).
pub(crate) const MAX_WORKERS: u32 = trawl_common::ids::MAX_WORKERS;

/// A worker whose channel closed, as the pool judged it.
#[derive(Debug)]
pub(crate) struct Closed {
    /// Leases it still held.
    pub(crate) leases: Vec<LeaseId>,
    /// It was draining and exited cleanly: its leases simply go back.
    pub(crate) clean: bool,
    /// Whether its death counts against its leases (see `crashes.rs`).
    pub(crate) blame: Blame,
}

/// The worker processes of one crawl.
pub(crate) struct Pool {
    launcher: Box<dyn Launcher>,
    settings: WorkerSettings,
    events: SyncSender<Event>,
    tuning: Tuning,
    /// `--autoscale MIN..MAX`.
    autoscale: Option<(u32, u32)>,
    /// `--worker-max-pages`.
    max_pages: Option<u64>,
    workers: BTreeMap<WorkerId, Slot>,
    /// Launched, handshake not finished.
    starting: HashSet<WorkerId>,
    target: u32,
    next_id: u32,
    restarts: u32,
    hung_kills: u32,
    /// When to next bring the pool up to its target.
    respawn_at: Option<Instant>,
    backoff: Duration,
    /// Spawns failed in a row.
    spawn_failures: u32,
    autoscale_at: Instant,
    /// Every worker that ended.
    finished: Vec<WorkerSummary>,
}

/// What the pool needs to know about the crawl to autoscale and grow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Demand {
    /// URLs waiting.
    pub(crate) queued: u64,
    /// Leases in flight.
    pub(crate) in_flight: u64,
    /// Per-worker concurrency.
    pub(crate) concurrency: u32,
    /// Anything left to do at all (else dead workers are not replaced).
    pub(crate) work_left: bool,
}

impl Pool {
    /// A pool for `config`'s workers (`--workers`, `--autoscale`,
    /// `--worker-max-pages`); nothing starts before [`start`](Self::start).
    pub(crate) fn new(
        launcher: Box<dyn Launcher>,
        config: &CrawlConfig,
        events: SyncSender<Event>,
        tuning: Tuning,
        now: Instant,
    ) -> Self {
        Self {
            launcher,
            settings: config.worker_settings(),
            events,
            backoff: tuning.min_backoff,
            autoscale_at: now + tuning.autoscale_every,
            tuning,
            autoscale: config.autoscale,
            max_pages: config.worker_max_pages,
            workers: BTreeMap::new(),
            starting: HashSet::new(),
            target: config.workers,
            next_id: 0,
            restarts: 0,
            hung_kills: 0,
            respawn_at: None,
            spawn_failures: 0,
            finished: Vec::new(),
        }
    }

    /// Starts the initial workers; any failure stops the crawl.
    pub(crate) fn start(&mut self) -> Result<(), CoordinatorError> {
        for _ in 0..self.target {
            self.spawn_one().map_err(CoordinatorError::Spawn)?;
        }
        Ok(())
    }

    fn spawn_one(&mut self) -> Result<(), SpawnError> {
        let id = WorkerId(self.next_id);
        self.next_id += 1;
        self.launcher.spawn(id, &self.settings, self.events.clone())?;
        self.starting.insert(id);
        Ok(())
    }

    /// The spawn-failure rule: back off, and give up after
    /// `max_spawn_failures` in a row with nothing alive or starting.
    fn spawn_failed(&mut self, error: SpawnError, now: Instant) -> Result<(), CoordinatorError> {
        self.spawn_failures += 1;
        tracing::error!(error = %error, failures = self.spawn_failures, "starting a worker failed");
        if self.spawn_failures >= self.tuning.max_spawn_failures
            && self.workers.is_empty()
            && self.starting.is_empty()
        {
            return Err(CoordinatorError::WorkersLost(error));
        }
        self.backoff = (self.backoff * 2).min(self.tuning.max_backoff);
        self.respawn_at = Some(now + self.backoff);
        Ok(())
    }

    /// A worker finished its handshake.
    pub(crate) fn on_started(&mut self, link: Box<dyn WorkerLink>, now: Instant, stopping: bool) {
        let id = link.id();
        self.starting.remove(&id);
        self.spawn_failures = 0;
        let mut slot = Slot::new(link, now);
        if stopping {
            slot.drain();
        }
        self.workers.insert(id, slot);
    }

    /// A worker never completed its handshake (it died or hung first).
    pub(crate) fn on_spawn_failed(
        &mut self,
        id: WorkerId,
        error: SpawnError,
        now: Instant,
    ) -> Result<(), CoordinatorError> {
        self.starting.remove(&id);
        self.restarts += 1;
        self.spawn_failed(error, now)
    }

    /// A worker's channel closed: reap it, judge its death, schedule its
    /// replacement. `None` if it was not known.
    pub(crate) fn on_closed(&mut self, id: WorkerId, now: Instant) -> Option<Closed> {
        let slot = self.workers.remove(&id)?;
        let lived = now.saturating_duration_since(slot.started);
        let (pid, draining, hung_kill, last_rss) =
            (slot.link.pid(), slot.draining, slot.hung_kill, slot.rss);
        let leases: Vec<LeaseId> = slot.leases.iter().copied().collect();
        let (summary, status) = slot.end(id, Duration::from_secs(2));
        let exit = summary.exit.clone();
        self.finished.push(summary);
        let clean = draining && status.is_some_and(|s| s.success());
        let blame = blame(Death { status, hung_kill, last_rss, budget: self.tuning.memory_budget });
        if clean {
            tracing::debug!(worker_id = %id, pid, "worker drained and exited");
            self.respawn_at = Some(now);
        } else {
            tracing::warn!(worker_id = %id, pid, exit = %exit, held = leases.len(), blame = ?blame, "worker died");
            // Exponential backoff only for workers that die young (crash loop).
            self.backoff = if lived < self.tuning.young {
                (self.backoff * 2).min(self.tuning.max_backoff)
            } else {
                self.tuning.min_backoff
            };
            self.restarts += 1;
            self.respawn_at = Some(now + self.backoff);
        }
        Some(Closed { leases, clean, blame })
    }

    pub(crate) fn get_mut(&mut self, id: WorkerId) -> Option<&mut Slot> {
        self.workers.get_mut(&id)
    }

    /// Workers that may be given leases, in id order.
    pub(crate) fn accepting(&self) -> impl Iterator<Item = (WorkerId, &Slot)> {
        self.workers.iter().filter(|(_, s)| s.accepts_work()).map(|(id, s)| (*id, s))
    }

    /// `--worker-max-pages`: a worker that has done its share is drained
    /// and replaced, bounding any slow growth of its memory.
    pub(crate) fn recycle_if_due(&mut self, id: WorkerId, now: Instant) {
        let Some(max) = self.max_pages else { return };
        if let Some(slot) = self.workers.get_mut(&id)
            && !slot.draining
            && slot.pages >= max
        {
            tracing::debug!(worker_id = %id, pages = slot.pages, "recycling worker");
            slot.drain();
            self.respawn_at.get_or_insert(now);
        }
    }

    /// `POST /api/scale`.
    pub(crate) fn scale(&mut self, workers: u32, now: Instant) -> Result<u32, String> {
        if !(1..=MAX_WORKERS).contains(&workers) {
            return Err(format!("workers must be 1..={MAX_WORKERS}, got {workers}"));
        }
        tracing::info!(from = self.target, to = workers, "scaling worker pool");
        self.target = workers;
        self.respawn_at.get_or_insert(now);
        Ok(workers)
    }

    /// Kills workers silent for longer than the heartbeat timeout.
    pub(crate) fn kill_hung(&mut self, now: Instant) {
        for (id, slot) in &mut self.workers {
            if now.saturating_duration_since(slot.last_seen) > self.tuning.heartbeat_timeout {
                tracing::warn!(worker_id = %id, pid = slot.link.pid(), "no heartbeat: killing worker");
                slot.link.kill();
                slot.hung_kill = true;
                slot.last_seen = now;
                self.hung_kills += 1;
            }
        }
    }

    /// Periodic upkeep while running: autoscale, shrink to the target,
    /// grow to it when a respawn is due.
    pub(crate) fn upkeep(&mut self, now: Instant, demand: Demand) -> Result<(), CoordinatorError> {
        if let Some((min, max)) = self.autoscale
            && now >= self.autoscale_at
        {
            self.autoscale_at = now + self.tuning.autoscale_every;
            let sample = self.sample(now, demand);
            let want = autoscale::autoscale(min, max, sample);
            if want != self.target {
                tracing::info!(from = self.target, to = want, busy = sample.busy, "autoscale");
                self.target = want;
                self.respawn_at.get_or_insert(now);
            }
        }
        // Shrink: drain the workers holding the fewest leases.
        while self.live() > self.target {
            let victim = self
                .workers
                .iter_mut()
                .filter(|(_, s)| !s.draining)
                .min_by_key(|(id, s)| (s.leases.len(), std::cmp::Reverse(**id)));
            let Some((id, slot)) = victim else { break };
            tracing::debug!(worker_id = %id, "draining worker (scale down)");
            slot.drain();
        }
        self.grow_if_due(now, demand.work_left)
    }

    /// CPU use of live workers since the last sample.
    fn sample(&mut self, now: Instant, demand: Demand) -> PoolSample {
        let window = self.tuning.autoscale_every.as_secs_f64();
        let mut busy_sum = 0.0;
        let mut n = 0u32;
        for slot in self.workers.values_mut().filter(|s| !s.draining) {
            let cpu = process::cpu_seconds_of_pid(slot.link.pid()).unwrap_or(slot.cpu_mark);
            let dt = now.saturating_duration_since(slot.started).as_secs_f64().min(window);
            if dt > 0.0 {
                busy_sum += (cpu - slot.cpu_mark) / dt;
            }
            slot.cpu_mark = cpu;
            n += 1;
        }
        PoolSample {
            workers: n,
            queued: demand.queued,
            in_flight: demand.in_flight,
            concurrency: demand.concurrency,
            busy: if n > 0 { busy_sum / f64::from(n) } else { 0.0 },
        }
    }

    fn grow_if_due(&mut self, now: Instant, work_left: bool) -> Result<(), CoordinatorError> {
        let Some(at) = self.respawn_at else { return Ok(()) };
        if now < at {
            return Ok(());
        }
        self.respawn_at = None;
        while self.live() < self.target && work_left {
            if let Err(e) = self.spawn_one() {
                return self.spawn_failed(e, now);
            }
        }
        Ok(())
    }

    /// Workers alive and not draining, plus those still starting.
    pub(crate) fn live(&self) -> u32 {
        let live = self.workers.values().filter(|s| !s.draining).count() + self.starting.len();
        u32::try_from(live).unwrap_or(u32::MAX)
    }

    /// Worker processes alive (draining or not).
    pub(crate) fn alive(&self) -> u32 {
        u32::try_from(self.workers.len()).unwrap_or(u32::MAX)
    }

    pub(crate) fn target(&self) -> u32 {
        self.target
    }

    pub(crate) fn restarts(&self) -> u32 {
        self.restarts
    }

    pub(crate) fn hung_kills(&self) -> u32 {
        self.hung_kills
    }

    /// The status report's per-worker lines.
    pub(crate) fn status(&self, now: Instant) -> Vec<WorkerStatus> {
        self.workers
            .iter()
            .map(|(id, s)| {
                let up = now.saturating_duration_since(s.started).as_secs_f64();
                WorkerStatus {
                    id: id.0,
                    pid: s.link.pid(),
                    pages: s.pages,
                    pages_per_sec: if up > 0.0 { s.pages as f64 / up } else { 0.0 },
                    rss_bytes: s.rss,
                    in_flight: u32::try_from(s.leases.len()).unwrap_or(u32::MAX),
                    state: if s.draining { WorkerState::Draining } else { WorkerState::Running },
                    uptime_secs: up,
                }
            })
            .collect()
    }

    /// Shutdown, step 1: tells every worker to drain; returns those whose
    /// channels must still close.
    pub(crate) fn drain_all(&mut self) -> Vec<WorkerId> {
        for slot in self.workers.values_mut() {
            slot.drain();
        }
        self.workers.keys().copied().collect()
    }

    /// Shutdown: a worker that finished its handshake meanwhile is told to
    /// leave at once.
    pub(crate) fn adopt_late(&mut self, link: Box<dyn WorkerLink>, now: Instant) -> WorkerId {
        let id = link.id();
        self.on_started(link, now, true);
        id
    }

    /// Shutdown: a worker that failed to start meanwhile.
    pub(crate) fn forget_starting(&mut self, id: WorkerId) {
        self.starting.remove(&id);
    }

    /// Workers still starting.
    pub(crate) fn any_starting(&self) -> bool {
        !self.starting.is_empty()
    }

    /// Shutdown, last step: reaps every worker (killing those in `open`,
    /// whose channels never closed).
    pub(crate) fn close(&mut self, open: &[WorkerId]) {
        for (id, slot) in std::mem::take(&mut self.workers) {
            let clean = !open.contains(&id);
            let grace = if clean { Duration::from_secs(5) } else { Duration::ZERO };
            self.finished.push(slot.end(id, grace).0);
        }
    }

    /// Every worker that ran, in id order.
    pub(crate) fn finish(mut self) -> Vec<WorkerSummary> {
        self.finished.sort_by_key(|w| w.id);
        self.finished
    }
}
