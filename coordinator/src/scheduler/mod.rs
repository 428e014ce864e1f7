//! The scheduler: a single-owner event loop. It alone owns the frontier,
//! the worker pool and the lease table, so none of them needs a lock.
//!
//! Inputs arrive on one bounded channel: worker messages and channel
//! closures from the per-worker IPC reader threads, and control requests
//! (API, signals). Each turn it (1) hands leases to workers with credits
//! ([`assign`]), (2) handles the events that are ready ([`Scheduler::handle`]),
//! (3) keeps the pool at its target size ([`pool`]) and publishes progress.
//! Every handler takes `now`; only this file's loop reads the clock, so the
//! tests (`tests.rs`) drive the real scheduler with scripted workers and a
//! clock of their own.
//!
//! Owners, one concept each: [`lease_table`] (what is in flight), [`pool`]
//! (processes: spawn, back-off, hung-kill, drain, autoscale, summaries),
//! [`crashes`] (which deaths count, suspects, poison), [`report`] (how a
//! lease ends), [`requests`] (control: status, scale, seeds, stop,
//! pause/resume), [`stats`] (counters, status) over [`timeline`] (outcomes
//! over time, ETA),
//! [`resume`] (what `new` takes from the store), [`sitemaps`],
//! [`redirects`], [`segments`], [`revisit`] (due pages back into the
//! frontier; every record compared with the stored page, scheduled, and
//! kept in its history).
//!
//! Invariants:
//! - a URL is leased to at most one worker at a time;
//! - a lease leaves the lease table only when its report arrives (the
//!   record goes to the store) or its worker dies (the URL is re-issued,
//!   alone, or recorded as poison), so no URL is lost and none is stored
//!   twice;
//! - a worker never holds more leases than the credits it granted.

mod assign;
mod autoscale;
mod carried;
mod crashes;
mod launcher;
mod lease_table;
mod pool;
mod redirects;
mod report;
mod requests;
mod resume;
mod revisit;
mod segments;
mod sitemaps;
mod slot;
mod stats;
#[cfg(test)]
mod tests;
mod timeline;
mod tuning;

pub(crate) use launcher::{Launcher, ProcessLauncher};
pub(crate) use slot::WorkerSummary;
pub(crate) use tuning::Tuning;

use crate::cluster_mode::{ClusterEvent, ClusterLink};
use crate::control::{ControlRequest, CrawlState};
use crate::error::CoordinatorError;
use crate::frontier::Frontier;
use crate::progress::Progress;
use crate::store::{QueueReader, Store, StoreWriter};
use crate::supervisor::WorkerEvent;
use crashes::CrashLedger;
use lease_table::LeaseTable;
use pool::{Demand, Pool};
use redirects::Redirects;
use segments::Segments;
use sitemaps::Sitemaps;
use stats::Stats;
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};
use trawl_common::config::CrawlConfig;
use trawl_common::protocol::ToCoordinator;

/// Events buffered from reader threads before they block (back-pressure
/// reaches the workers' report senders).
const EVENT_BOUND: usize = 1024;

/// Everything the scheduler reacts to.
#[derive(Debug)]
pub(crate) enum Event {
    /// From a worker's IPC reader thread.
    Worker(WorkerEvent),
    /// From the API or a signal handler.
    Control(ControlRequest),
    /// From cluster mode's lease and committer tasks (`--cluster` only).
    Cluster(crate::cluster_mode::ClusterEvent),
}

impl From<WorkerEvent> for Event {
    fn from(e: WorkerEvent) -> Self {
        Self::Worker(e)
    }
}

/// What the scheduler hands back when the crawl ends.
pub(crate) struct Outcome {
    pub(crate) pages: u64,
    pub(crate) workers: Vec<WorkerSummary>,
    pub(crate) outcomes: BTreeMap<&'static str, u64>,
    pub(crate) restarts: u32,
    pub(crate) discovered: u64,
    /// Stopped by a second signal with leases outstanding.
    pub(crate) interrupted: bool,
    /// Pages that were already stored when this run started.
    pub(crate) resumed_pages: u64,
    /// URLs restored from the persistent queue.
    pub(crate) resumed_queue: u64,
    /// URLs still queued at the end (a stop or a limit).
    pub(crate) left: u64,
    /// Most queued URLs that waited on disk at once.
    pub(crate) peak_on_disk: u64,
    /// Fetches per change kind (`first`, `unchanged`, `not_modified`,
    /// `changed`, `gone`).
    pub(crate) changes: BTreeMap<&'static str, u64>,
}

pub(crate) struct Scheduler<'a> {
    config: &'a CrawlConfig,
    tuning: Tuning,
    /// The event channel: reader threads and the API hold senders.
    events_tx: SyncSender<Event>,
    events: Receiver<Event>,
    /// Worker processes.
    pool: Pool,
    /// Leases in flight.
    leases: LeaseTable,
    /// What to fetch next, per host, politely.
    frontier: Frontier<QueueReader>,
    /// Crash counts and suspects waiting to be re-issued alone.
    crashes: CrashLedger,
    /// The store's only writer.
    writer: &'a StoreWriter,
    /// Counters of this run.
    stats: Stats,
    /// Running, paused (API), or stopping after a signal or `POST
    /// /api/stop`.
    state: CrawlState,
    started: Instant,
    /// Pages stored by earlier runs on this store (resume).
    stored_before: u64,
    /// URLs restored from the persistent queue (resume).
    resumed_queue: u64,
    /// Persisted queue segments still holding unstored URLs.
    segments: Segments,
    /// Redirect chains in progress.
    redirects: Redirects,
    /// URLs re-queued after a 429/503, and how often.
    throttled: HashMap<String, u8>,
    /// Sitemaps to fetch (`--sitemaps`).
    sitemaps: Sitemaps,
    /// Cluster mode (`--cluster`): which partitions' URLs to hand out,
    /// where records and other machines' links go. `None`: a local crawl.
    cluster: Option<ClusterLink>,
    /// Revisits: due pages, history, schedules ([`revisit`]).
    revisits: revisit::Revisits,
}

impl<'a> Scheduler<'a> {
    /// A scheduler over `store`: resumes its persistent queue and seen-set
    /// (stored pages are never fetched again), then adds the seeds.
    /// Workers are started by `launcher` when [`run`](Self::run) begins.
    pub(crate) fn new(
        config: &'a CrawlConfig,
        launcher: Box<dyn Launcher>,
        tuning: Tuning,
        store: &Store,
        writer: &'a StoreWriter,
        now: Instant,
    ) -> Result<Self, CoordinatorError> {
        let (events_tx, events) = sync_channel(EVENT_BOUND);
        let resumed = resume::resume(config, store, writer)?;
        let pool = Pool::new(launcher, config, events_tx.clone(), tuning.clone(), now);
        Ok(Self {
            config,
            tuning,
            events_tx,
            events,
            pool,
            leases: LeaseTable::default(),
            frontier: resumed.frontier,
            crashes: CrashLedger::new(config.crash_limit),
            writer,
            stats: Stats::default(),
            state: CrawlState::Running,
            started: now,
            stored_before: resumed.stored_before,
            resumed_queue: resumed.resumed_queue,
            segments: resumed.segments,
            redirects: Redirects::default(),
            throttled: HashMap::new(),
            sitemaps: Sitemaps::default(),
            cluster: None,
            revisits: revisit::Revisits::new(&config.revisit, store),
        })
    }

    /// Cluster mode: this machine's link to the cluster's tasks.
    pub(crate) fn set_cluster(&mut self, link: ClusterLink) {
        self.cluster = Some(link);
    }

    /// A sender for control requests into this scheduler.
    pub(crate) fn control(&self) -> SyncSender<Event> {
        self.events_tx.clone()
    }

    /// Runs the crawl to completion. The loop's edge: the only place the
    /// scheduler reads the clock or blocks.
    pub(crate) fn run(
        mut self,
        observe: &mut dyn FnMut(&Progress),
    ) -> Result<Outcome, CoordinatorError> {
        if let Err(e) = self.pool.start() {
            self.stop_all(self.tuning.shutdown_grace);
            return Err(e);
        }
        let mut last_tick = Instant::now();
        loop {
            let now = Instant::now();
            self.assign(now)?;
            if self.is_done() {
                break;
            }
            let wait = self.frontier.next_wake().map_or(self.tuning.tick, |at| {
                at.saturating_duration_since(now).min(self.tuning.tick)
            });
            match self.events.recv_timeout(wait) {
                Ok(ev) => {
                    self.handle(ev, Instant::now())?;
                    // Drain what else is ready before assigning again.
                    while let Ok(ev) = self.events.try_recv() {
                        self.handle(ev, Instant::now())?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(CoordinatorError::EventsClosed),
            }
            let now = Instant::now();
            if now.saturating_duration_since(last_tick) >= self.tuning.tick {
                self.upkeep(now)?;
                observe(&self.progress(now));
                last_tick = now;
            }
        }
        let now = Instant::now();
        observe(&self.progress(now));
        let interrupted = !self.leases.is_empty();
        self.stop_all(if interrupted { Duration::ZERO } else { self.tuning.shutdown_grace });
        Ok(self.outcome(interrupted))
    }

    /// One event.
    fn handle(&mut self, ev: Event, now: Instant) -> Result<(), CoordinatorError> {
        match ev {
            Event::Worker(WorkerEvent::Message(id, msg)) => self.on_message(id, msg, now),
            Event::Worker(WorkerEvent::Closed(id)) => self.on_closed(id, now),
            Event::Worker(WorkerEvent::Started(link)) => {
                self.pool.on_started(link, now, self.state == CrawlState::Stopping);
                Ok(())
            }
            Event::Worker(WorkerEvent::SpawnFailed(id, e)) => self.pool.on_spawn_failed(id, e, now),
            Event::Control(req) => {
                self.on_control(req, now);
                Ok(())
            }
            Event::Cluster(ClusterEvent::Carried(carried)) => {
                self.carried(carried, now);
                Ok(())
            }
            Event::Cluster(ClusterEvent::CrashesSettled { durable, dropped }) => {
                self.crashes_settled(&durable, &dropped);
                Ok(())
            }
            Event::Cluster(ev) => {
                if let Some(c) = &mut self.cluster {
                    c.on_event(ev, &mut self.frontier);
                }
                Ok(())
            }
        }
    }

    /// Periodic upkeep: move the timeline on, kill hung workers; while
    /// running, resize the pool. While paused the pool keeps its size
    /// (scale requests apply, dead workers are replaced) but does not
    /// autoscale: idle paused workers would look like no work to do.
    fn upkeep(&mut self, now: Instant) -> Result<(), CoordinatorError> {
        self.poll_revisits()?;
        self.stats.roll(now.saturating_duration_since(self.started));
        self.pool.kill_hung(now);
        match self.state {
            CrawlState::Running => {}
            CrawlState::Paused if self.config.autoscale.is_none() => {}
            _ => return Ok(()),
        }
        let demand = Demand {
            queued: self.queued(),
            in_flight: self.leases.len() as u64,
            concurrency: self.config.concurrency,
            work_left: !(self.nothing_left() && self.leases.is_empty()),
        };
        self.pool.upkeep(now, demand)
    }

    fn queued(&self) -> u64 {
        (self.frontier.len() + self.crashes.waiting()) as u64
    }

    fn progress(&self, now: Instant) -> Progress {
        Progress {
            pages: self.stats.pages,
            queued: self.queued(),
            in_flight: self.leases.len() as u64,
            workers: self.pool.alive(),
            restarts: self.pool.restarts(),
            elapsed: now.saturating_duration_since(self.started),
            errors: Progress::errors_in(&self.stats.outcomes),
            resumed_pages: self.stored_before,
        }
    }

    fn limit_reached(&self) -> bool {
        self.config.max_pages.is_some_and(|m| match &self.cluster {
            None => self.stored_before + self.stats.pages + self.leases.len() as u64 >= m,
            Some(c) => c.limit_reached(m, self.leases.len() as u64),
        })
    }

    fn nothing_left(&self) -> bool {
        let local =
            self.frontier.is_empty() && self.crashes.waiting() == 0 && self.sitemaps.is_empty();
        match &self.cluster {
            None => local || self.limit_reached(),
            // In a cluster, an empty frontier here is not the end: other
            // machines may still find URLs for this one.
            Some(c) => (local && c.idle()) || self.limit_reached(),
        }
    }

    fn is_done(&self) -> bool {
        match self.state {
            CrawlState::Stopping | CrawlState::Finished => true,
            CrawlState::Draining => self.leases.is_empty(),
            // A paused crawl waits for a resume, unless nothing is left;
            // a continuous one (`--revisit`) runs until stopped.
            CrawlState::Running | CrawlState::Paused => {
                self.leases.is_empty() && self.nothing_left() && !self.revisits.continuous()
            }
        }
    }

    /// Asks every worker to drain and exit, waits up to `grace` for their
    /// channels to close, then reaps (killing stragglers).
    fn stop_all(&mut self, grace: Duration) {
        let mut open = self.pool.drain_all();
        let deadline = Instant::now() + grace;
        while (!open.is_empty() || self.pool.any_starting()) && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Worker(WorkerEvent::Closed(id))) => open.retain(|w| *w != id),
                Ok(Event::Worker(WorkerEvent::Started(link))) => {
                    open.push(self.pool.adopt_late(link, Instant::now()));
                }
                Ok(Event::Worker(WorkerEvent::SpawnFailed(id, _))) => self.pool.forget_starting(id),
                Ok(Event::Worker(WorkerEvent::Message(id, msg))) => {
                    if let Some(slot) = self.pool.get_mut(id)
                        && let ToCoordinator::Heartbeat { rss_bytes } = msg
                    {
                        slot.note_rss(rss_bytes);
                    }
                }
                Ok(Event::Control(req)) => self.on_control(req, Instant::now()),
                Ok(Event::Cluster(_)) => {}
                Err(_) => break,
            }
        }
        self.pool.close(&open);
    }

    fn outcome(self, interrupted: bool) -> Outcome {
        let left = self.queued() + self.leases.len() as u64;
        Outcome {
            pages: self.stats.pages,
            left,
            outcomes: self.stats.outcomes,
            restarts: self.pool.restarts(),
            discovered: self.frontier.seen() as u64,
            interrupted,
            resumed_pages: self.stored_before,
            resumed_queue: self.resumed_queue,
            peak_on_disk: self.frontier.peak_on_disk() as u64,
            changes: self.revisits.changes(),
            workers: self.pool.finish(),
        }
    }
}
