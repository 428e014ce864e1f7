//! The scheduler: a single-owner event loop. It alone owns the frontier,
//! the worker pool and the lease table, so none of them needs a lock.
//!
//! Inputs arrive on one bounded channel: worker messages and channel
//! closures from the per-worker IPC reader threads, and control requests
//! (API, signals). Each turn it (1) hands leases to workers with credits,
//! (2) handles the events that are ready, (3) keeps the pool at its target
//! size and publishes progress.
//!
//! Invariants:
//! - a URL is leased to at most one worker at a time;
//! - a lease leaves `in_flight` only when its report arrives (the record
//!   goes to the store) or its worker dies (the URL is re-issued, alone,
//!   or recorded as poison), so no URL is lost and none is stored twice;
//! - a worker never holds more leases than the credits it granted.

mod leases;
mod pool;
mod redirects;
mod segments;

use crate::control::{ControlRequest, RecentError, StatusReport, WorkerStatus};
use crate::error::CoordinatorError;
use crate::frontier::{Feedback, Frontier, Popped, Queued, authority};
use crate::politeness::PolitenessConfig;
use crate::politeness::robots::product_token;
use crate::progress::Progress;
use crate::store::{PageRecord, QueueReader, Store, StoreOp, StoreWriter};
use crate::supervisor::{self, WorkerEvent, WorkerLaunch};
use leases::{CrashLedger, Verdict};
use pool::{PoolSample, Slot};
use redirects::Redirects;
use segments::Segments;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use trawl_common::config::CrawlConfig;
use trawl_common::ids::{LeaseId, WorkerId};
use trawl_common::process;
use trawl_common::protocol::{
    FetchOutcome, Lease, LeaseKind, PageReport, ToCoordinator, ToWorker, WorkerSettings,
};

/// Event-loop tick: progress publication, pool upkeep.
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
/// Failed pages kept for the status report.
const RECENT_ERRORS: usize = 20;
/// Sitemaps fetched per crawl, at most.
const MAX_SITEMAPS: usize = 10_000;
/// Consecutive failed spawns after which the crawl gives up.
const MAX_SPAWN_FAILURES: u32 = 5;

/// Everything the scheduler reacts to.
#[derive(Debug)]
pub(crate) enum Event {
    /// From a worker's IPC reader thread.
    Worker(WorkerEvent),
    /// From the API or a signal handler.
    Control(ControlRequest),
}

impl From<WorkerEvent> for Event {
    fn from(e: WorkerEvent) -> Self {
        Self::Worker(e)
    }
}

/// A lease handed out and not yet answered.
struct InFlight {
    q: Queued,
    kind: LeaseKind,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    Running,
    /// First signal: no new leases; finish what is in flight.
    Draining,
    /// Second signal: stop now.
    Stopping,
}

pub(crate) struct Scheduler<'a> {
    config: &'a CrawlConfig,
    launch: &'a WorkerLaunch,
    settings: WorkerSettings,
    events_tx: SyncSender<Event>,
    events: Receiver<Event>,
    workers: BTreeMap<WorkerId, Slot>,
    /// Workers launched whose handshake has not finished.
    starting: HashSet<WorkerId>,
    target: u32,
    next_worker: u32,
    next_lease: u64,
    in_flight: HashMap<LeaseId, InFlight>,
    frontier: Frontier<QueueReader>,
    crashes: CrashLedger,
    writer: &'a StoreWriter,
    pages: u64,
    /// Pages stored by earlier runs on this store (resume).
    stored_before: u64,
    poison: u64,
    finished: Vec<WorkerSummary>,
    outcomes: BTreeMap<&'static str, u64>,
    restarts: u32,
    hung_kills: u32,
    respawn_at: Option<Instant>,
    backoff: Duration,
    spawn_failures: u32,
    state: RunState,
    started: Instant,
    autoscale_at: Instant,
    resumed_queue: u64,
    /// Persisted queue segments still holding unstored URLs.
    segments: Segments,
    /// Redirect chains in progress.
    redirects: Redirects,
    /// URLs re-queued after a 429/503, and how often.
    throttled: HashMap<String, u8>,
    /// Body bytes fetched by this run.
    bytes: u64,
    /// The last few pages that did not end `ok` (for the dashboard).
    recent_errors: VecDeque<RecentError>,
    /// Sitemaps to fetch (`--sitemaps`), and all ever queued.
    sitemaps_wanted: VecDeque<String>,
    sitemaps_seen: HashSet<String>,
}

impl<'a> Scheduler<'a> {
    /// A scheduler over `store`: resumes its persistent queue and seen-set
    /// (stored pages are never fetched again), then adds the seeds.
    pub(crate) fn new(
        config: &'a CrawlConfig,
        launch: &'a WorkerLaunch,
        store: &Store,
        writer: &'a StoreWriter,
    ) -> Result<Self, CoordinatorError> {
        let (events_tx, events) = sync_channel(EVENT_BOUND);
        let settings = config.worker_settings();
        let politeness = PolitenessConfig {
            delay: config.delay,
            per_host: config.per_host,
            robots: config.robots,
            agent: product_token(&config.fetch.user_agent),
        };
        let resumed = store.page_urls().next().is_some();
        let reader = QueueReader::new(store.clone(), writer.progress(), resumed);
        let mut frontier = Frontier::with_disk(politeness, config.frontier_memory, reader);
        let mut stored_before = 0u64;
        for url in store.page_urls() {
            frontier.mark_seen(&url?);
            stored_before += 1;
        }
        let mut segments = Segments::default();
        let mut empty = Vec::new();
        for seg in store.queue() {
            if let Some(id) = segments.restore(&mut frontier, seg?) {
                empty.push(id);
            }
        }
        if !empty.is_empty() {
            writer.send(StoreOp::Retire(empty))?;
        }
        let resumed_queue = frontier.len() as u64;
        if stored_before + resumed_queue > 0 {
            tracing::info!(stored_before, resumed_queue, "resuming crawl");
        }
        if let Some(seg) = segments.admit(&mut frontier, 0, config.seeds.iter().map(|s| s.as_str()))
        {
            writer.send(StoreOp::Enqueue(seg))?;
        }
        Ok(Self {
            config,
            launch,
            settings,
            events_tx,
            events,
            workers: BTreeMap::new(),
            starting: HashSet::new(),
            target: config.workers,
            next_worker: 0,
            next_lease: 0,
            in_flight: HashMap::new(),
            frontier,
            crashes: CrashLedger::new(config.crash_limit),
            writer,
            pages: 0,
            stored_before,
            poison: 0,
            finished: Vec::new(),
            outcomes: BTreeMap::new(),
            restarts: 0,
            hung_kills: 0,
            respawn_at: None,
            backoff: Duration::from_millis(50),
            spawn_failures: 0,
            state: RunState::Running,
            started: Instant::now(),
            autoscale_at: Instant::now() + pool::AUTOSCALE_EVERY,
            resumed_queue,
            segments,
            redirects: Redirects::default(),
            throttled: HashMap::new(),
            bytes: 0,
            recent_errors: VecDeque::new(),
            sitemaps_wanted: VecDeque::new(),
            sitemaps_seen: HashSet::new(),
        })
    }

    /// A sender for control requests into this scheduler.
    pub(crate) fn control(&self) -> SyncSender<Event> {
        self.events_tx.clone()
    }

    /// Runs the crawl to completion.
    pub(crate) fn run(
        mut self,
        observe: &mut dyn FnMut(&Progress),
    ) -> Result<Outcome, CoordinatorError> {
        for _ in 0..self.target {
            if let Err(e) = self.spawn_one() {
                self.stop_all(SHUTDOWN_GRACE);
                return Err(CoordinatorError::Spawn(e.to_string()));
            }
        }
        let mut last_tick = Instant::now();
        loop {
            self.assign()?;
            if self.is_done() {
                break;
            }
            let wait = self
                .frontier
                .next_wake()
                .map_or(TICK, |at| at.saturating_duration_since(Instant::now()).min(TICK));
            match self.events.recv_timeout(wait) {
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
            if last_tick.elapsed() >= TICK {
                self.upkeep()?;
                observe(&self.progress());
                last_tick = Instant::now();
            }
        }
        observe(&self.progress());
        let interrupted = !self.in_flight.is_empty();
        self.stop_all(if interrupted { Duration::ZERO } else { SHUTDOWN_GRACE });
        Ok(Outcome {
            pages: self.pages,
            left: (self.frontier.len() + self.crashes.waiting() + self.in_flight.len()) as u64,
            workers: self.finished,
            outcomes: self.outcomes,
            restarts: self.restarts,
            discovered: self.frontier.seen() as u64,
            interrupted,
            resumed_pages: self.stored_before,
            resumed_queue: self.resumed_queue,
            peak_on_disk: self.frontier.peak_on_disk() as u64,
        })
    }

    fn progress(&self) -> Progress {
        Progress {
            pages: self.pages,
            queued: (self.frontier.len() + self.crashes.waiting()) as u64,
            in_flight: self.in_flight.len() as u64,
            workers: u32::try_from(self.workers.len()).unwrap_or(u32::MAX),
            restarts: self.restarts,
            elapsed: self.started.elapsed(),
            errors: Progress::errors_in(&self.outcomes),
            resumed_pages: self.stored_before,
        }
    }

    fn limit_reached(&self) -> bool {
        self.config
            .max_pages
            .is_some_and(|m| self.stored_before + self.pages + self.in_flight.len() as u64 >= m)
    }

    fn nothing_left(&self) -> bool {
        (self.frontier.is_empty() && self.crashes.waiting() == 0 && self.sitemaps_wanted.is_empty())
            || self.limit_reached()
    }

    fn is_done(&self) -> bool {
        match self.state {
            RunState::Stopping => true,
            RunState::Draining => self.in_flight.is_empty(),
            RunState::Running => self.in_flight.is_empty() && self.nothing_left(),
        }
    }

    fn new_lease(&mut self, q: Queued, kind: LeaseKind) -> Lease {
        let lease =
            Lease { id: LeaseId(self.next_lease), url: q.url.clone(), depth: q.depth, kind };
        self.next_lease += 1;
        self.in_flight.insert(lease.id, InFlight { q, kind });
        lease
    }

    /// Hands work to workers, never beyond their credits: robots.txt
    /// fetches first, then crash suspects (alone, to an idle worker), then
    /// pages. URLs of hosts with a delay go only into free slots, where
    /// they start at once, so the delay holds at the server.
    fn assign(&mut self) -> Result<(), CoordinatorError> {
        if self.state != RunState::Running {
            return Ok(());
        }
        let now = Instant::now();
        let concurrency = self.config.concurrency as usize;
        // Per worker: (id, leases held, credits, batch, solo).
        let mut plans: Vec<(WorkerId, usize, usize, Vec<Lease>, bool)> = self
            .workers
            .iter()
            .filter(|(_, s)| s.accepts_work())
            .map(|(id, s)| (*id, s.leases.len(), s.credits as usize, Vec::new(), false))
            .collect();
        // Special leases first, each to one worker.
        for (_, held, credits, batch, solo) in &mut plans {
            // robots.txt fetches count as requests to their host: only into
            // free slots, where they start at once.
            while batch.len() < *credits && *held + batch.len() < concurrency {
                let Some((host, url)) = self.frontier.robots_wanted(now) else { break };
                tracing::debug!(host = %host, "fetching robots.txt");
                let q = Queued { url, depth: 0, seq: u64::MAX, seg: u64::MAX };
                batch.push(self.new_lease(q, LeaseKind::Robots));
            }
            while batch.len() < *credits {
                let Some(url) = self.sitemaps_wanted.pop_front() else { break };
                tracing::debug!(url = %url, "fetching sitemap");
                let q = Queued { url, depth: 0, seq: u64::MAX, seg: u64::MAX };
                batch.push(self.new_lease(q, LeaseKind::Sitemap));
            }
            if *held == 0
                && batch.is_empty()
                && !self.limit_reached()
                && let Some(q) = self.crashes.next_suspect()
            {
                batch.push(self.new_lease(q, LeaseKind::Page));
                *solo = true;
            }
        }
        // Pages round-robin, one lease per worker per round, so work spreads
        // over the pool instead of filling the first worker's buffer.
        let mut progress = true;
        while progress && !self.limit_reached() {
            progress = false;
            for (_, held, credits, batch, solo) in &mut plans {
                if *solo || batch.len() >= *credits || self.limit_reached() {
                    continue;
                }
                let immediate = *held + batch.len() < concurrency;
                match self.frontier.pop(now, immediate)? {
                    Some(Popped::Fetch(q)) => {
                        batch.push(self.new_lease(q, LeaseKind::Page));
                        progress = true;
                    }
                    Some(Popped::Disallowed(q)) => {
                        self.store(disallowed_record(&q), Some(&q), None)?;
                        progress = true;
                    }
                    None => {}
                }
            }
        }
        for (id, _, _, batch, solo) in plans {
            if batch.is_empty() {
                continue;
            }
            let Some(slot) = self.workers.get_mut(&id) else { continue };
            slot.credits -= u32::try_from(batch.len()).unwrap_or(slot.credits);
            slot.solo = solo;
            slot.leases.extend(batch.iter().map(|l| l.id));
            // A failed send means the worker died; its Closed event re-queues.
            let _ = slot.proc.send(ToWorker::Assign(batch));
        }
        Ok(())
    }

    fn handle(&mut self, ev: Event) -> Result<(), CoordinatorError> {
        match ev {
            Event::Worker(WorkerEvent::Message(id, msg)) => self.on_message(id, msg),
            Event::Worker(WorkerEvent::Closed(id)) => self.on_closed(id),
            Event::Worker(WorkerEvent::Started(proc)) => {
                self.on_started(*proc);
                Ok(())
            }
            Event::Worker(WorkerEvent::SpawnFailed(id, e)) => self.on_spawn_failed(id, &e),
            Event::Control(req) => {
                self.on_control(req);
                Ok(())
            }
        }
    }

    fn on_message(&mut self, id: WorkerId, msg: ToCoordinator) -> Result<(), CoordinatorError> {
        let Some(slot) = self.workers.get_mut(&id) else { return Ok(()) };
        slot.last_seen = Instant::now();
        match msg {
            ToCoordinator::Credit(n) => slot.credits = slot.credits.saturating_add(n),
            ToCoordinator::Reports { reports, credit } => {
                slot.credits = slot.credits.saturating_add(credit);
                for r in reports {
                    self.on_report(id, r)?;
                }
                self.recycle_if_due(id);
            }
            ToCoordinator::Heartbeat { rss_bytes } => {
                slot.rss = rss_bytes;
                slot.peak_rss = slot.peak_rss.max(rss_bytes);
            }
            ToCoordinator::Goodbye => tracing::debug!(worker_id = %id, "worker said goodbye"),
            ToCoordinator::Hello(_) => tracing::warn!(worker_id = %id, "unexpected second hello"),
        }
        Ok(())
    }

    fn on_report(&mut self, id: WorkerId, mut r: PageReport) -> Result<(), CoordinatorError> {
        let Some(lease) = self.in_flight.remove(&r.lease) else {
            tracing::warn!(worker_id = %id, lease_id = %r.lease, "report for unknown lease");
            return Ok(());
        };
        if let Some(slot) = self.workers.get_mut(&id) {
            slot.leases.remove(&r.lease);
            if slot.leases.is_empty() {
                slot.solo = false;
            }
        }
        let now = Instant::now();
        match lease.kind {
            LeaseKind::Page => {}
            LeaseKind::Robots => {
                let host = authority(&lease.q.url).to_owned();
                let status = if r.text.is_some() { r.status } else { None };
                let body = r.text.as_deref().unwrap_or("");
                tracing::info!(host = %host, status = ?status, outcome = r.outcome.kind(), "robots.txt");
                let sitemaps = self
                    .frontier
                    .robots_done(&host, status, body, now)
                    .map(|rules| rules.sitemaps().to_vec())
                    .unwrap_or_default();
                if self.config.sitemaps {
                    self.want_sitemaps(sitemaps);
                }
                return Ok(());
            }
            LeaseKind::Sitemap => {
                tracing::debug!(url = %lease.q.url, pages = r.links.len(), outcome = r.outcome.kind(), "sitemap");
                if let Some(seg) =
                    self.segments.admit(&mut self.frontier, 0, r.links.iter().map(String::as_str))
                {
                    self.writer.send(StoreOp::Enqueue(seg))?;
                }
                self.want_sitemaps(r.sitemaps);
                return Ok(());
            }
        }
        if let Some(slot) = self.workers.get_mut(&id) {
            slot.pages += 1;
        }
        self.frontier.complete(
            &lease.q.url,
            now,
            Feedback {
                status: r.status,
                retry_after: r.retry_after_secs.map(|s| Duration::from_secs(u64::from(s))),
            },
        );
        self.crashes.cleared(&lease.q.url);
        if crate::politeness::backoff::is_throttle(r.status) {
            // The host asked us to slow down: it is backed off (above) for
            // every worker, and the URL is tried again after the back-off,
            // up to --retries times, before its 429/503 is stored.
            let tries = self.throttled.entry(lease.q.url.clone()).or_default();
            if *tries < self.config.fetch.retries {
                *tries += 1;
                tracing::debug!(url = %lease.q.url, tries = *tries, "throttled: re-queued");
                self.frontier.requeue(lease.q);
                return Ok(());
            }
        }
        // Requests made = the worker's attempts plus earlier throttled tries.
        let throttled = self.throttled.remove(&lease.q.url).unwrap_or(0);
        r.attempts = r.attempts.saturating_add(throttled);
        if !self.redirects.on_report(&lease.q.url, &mut r.outcome, &r.links) {
            r.links.clear();
        }
        // A redirect hop is not a link level: its target keeps the depth.
        let child_depth = match r.outcome {
            FetchOutcome::Redirect { .. } => lease.q.depth,
            _ => lease.q.depth + 1,
        };
        let enqueue = if self.config.max_depth.is_none_or(|m| child_depth <= m) {
            self.segments.admit(&mut self.frontier, child_depth, r.links.iter().map(String::as_str))
        } else {
            None
        };
        tracing::trace!(worker_id = %id, url = %r.url, outcome = r.outcome.kind(), "page");
        let body = r.body.take().map(serde_bytes::ByteBuf::into_vec);
        self.store_with_body(PageRecord::from_report(r, id.0), Some(&lease.q), enqueue, body)
    }

    /// Queues in-scope sitemaps not seen before (at most
    /// [`MAX_SITEMAPS`] per crawl, against sitemap-index loops and bombs).
    fn want_sitemaps(&mut self, urls: Vec<String>) {
        for raw in urls {
            if self.sitemaps_seen.len() >= MAX_SITEMAPS {
                tracing::warn!("sitemap limit reached: ignoring the rest");
                return;
            }
            let Ok(url) = trawl_common::url::parse_crawl_url(&raw) else { continue };
            if !self.config.scope.allows_host(&url) {
                continue;
            }
            let url = url.to_string();
            if self.sitemaps_seen.insert(url.clone()) {
                self.sitemaps_wanted.push_back(url);
            }
        }
    }

    /// Stores a page record, retiring its queue entry and adding the URLs
    /// it led to in the same atomic batch.
    fn store(
        &mut self,
        record: PageRecord,
        done: Option<&Queued>,
        enqueue: Option<crate::store::Segment>,
    ) -> Result<(), CoordinatorError> {
        self.store_with_body(record, done, enqueue, None)
    }

    fn store_with_body(
        &mut self,
        record: PageRecord,
        done: Option<&Queued>,
        enqueue: Option<crate::store::Segment>,
        body: Option<Vec<u8>>,
    ) -> Result<(), CoordinatorError> {
        *self.outcomes.entry(record.outcome.kind()).or_default() += 1;
        crate::api::metrics::observe(&record);
        self.pages += 1;
        self.bytes += record.bytes;
        if !matches!(record.outcome, FetchOutcome::Ok | FetchOutcome::Redirect { .. }) {
            if self.recent_errors.len() == RECENT_ERRORS {
                self.recent_errors.pop_front();
            }
            self.recent_errors.push_back(RecentError {
                url: record.url.clone(),
                outcome: record.outcome.kind().to_owned(),
                status: record.status,
                detail: record.outcome.detail(),
            });
        }
        let retire = done.and_then(|q| self.segments.stored(q));
        self.writer.send(StoreOp::Page { record: Box::new(record), retire, enqueue, body })?;
        Ok(())
    }

    /// `--worker-max-pages`: a worker that has done its share is drained
    /// and replaced, bounding any slow growth of its memory.
    fn recycle_if_due(&mut self, id: WorkerId) {
        let Some(max) = self.config.worker_max_pages else { return };
        if let Some(slot) = self.workers.get_mut(&id)
            && !slot.draining
            && slot.pages >= max
        {
            tracing::debug!(worker_id = %id, pages = slot.pages, "recycling worker");
            Self::drain(slot);
            self.respawn_at.get_or_insert_with(Instant::now);
        }
    }

    fn drain(slot: &mut Slot) {
        slot.draining = true;
        let _ = slot.proc.send(ToWorker::Shutdown);
    }

    /// A worker's channel closed: collect its exit status; every URL it
    /// still held is a crash suspect (re-issued alone) or, after
    /// `crash_limit` crashes, poison.
    fn on_closed(&mut self, id: WorkerId) -> Result<(), CoordinatorError> {
        let Some(slot) = self.workers.remove(&id) else { return Ok(()) };
        let lived = slot.started.elapsed();
        let (pid, pages, peak_rss, draining) =
            (slot.proc.pid, slot.pages, slot.peak_rss, slot.draining);
        let status = slot.proc.reap(Duration::from_secs(2));
        let clean = draining && status.is_some_and(|s| s.success());
        let exit = exit_label(status);
        let mut lost = 0;
        let now = Instant::now();
        for lease_id in &slot.leases {
            let Some(l) = self.in_flight.remove(lease_id) else { continue };
            lost += 1;
            match l.kind {
                LeaseKind::Page => {}
                LeaseKind::Robots => {
                    self.frontier.robots_lost(authority(&l.q.url));
                    continue;
                }
                LeaseKind::Sitemap => {
                    self.sitemaps_wanted.push_back(l.q.url);
                    continue;
                }
            }
            self.frontier.complete(&l.q.url, now, Feedback::default());
            if clean || self.state == RunState::Stopping {
                self.frontier.requeue(l.q);
                continue;
            }
            if let Verdict::Poison(crashes) = self.crashes.crashed(l.q.clone()) {
                tracing::warn!(url = %l.q.url, crashes, "poison page: not retried");
                self.poison += 1;
                self.store(poison_record(&l.q, crashes), Some(&l.q), None)?;
            }
        }
        if clean {
            tracing::debug!(worker_id = %id, pid, "worker drained and exited");
        } else {
            tracing::warn!(worker_id = %id, pid, exit = %exit, requeued = lost, "worker died");
            // Exponential backoff only for workers that die young (crash loop).
            self.backoff = if lived < Duration::from_secs(1) {
                (self.backoff * 2).min(MAX_BACKOFF)
            } else {
                Duration::from_millis(50)
            };
            self.restarts += 1;
        }
        self.finished.push(WorkerSummary { id, pid, pages, peak_rss, exit });
        let delay = if clean { Duration::ZERO } else { self.backoff };
        self.respawn_at = Some(Instant::now() + delay);
        Ok(())
    }

    fn on_control(&mut self, req: ControlRequest) {
        match req {
            ControlRequest::Status(reply) => {
                let _ = reply.send(self.status());
            }
            ControlRequest::Scale { workers, reply } => {
                let r = if (1..=256).contains(&workers) {
                    tracing::info!(from = self.target, to = workers, "scaling worker pool");
                    self.target = workers;
                    self.respawn_at.get_or_insert_with(Instant::now);
                    Ok(workers)
                } else {
                    Err(format!("workers must be 1..=256, got {workers}"))
                };
                let _ = reply.send(r);
            }
            ControlRequest::Seeds { urls, reply } => {
                let seg =
                    self.segments.admit(&mut self.frontier, 0, urls.iter().map(String::as_str));
                let added = seg.as_ref().map_or(0, |s| s.urls.len());
                if let Some(seg) = seg
                    && self.writer.send(StoreOp::Enqueue(seg)).is_err()
                {
                    tracing::error!("store writer stopped: seeds not persisted");
                }
                let _ = reply.send(added);
            }
            ControlRequest::Stop { immediate } => {
                let next = if immediate || self.state == RunState::Draining {
                    RunState::Stopping
                } else {
                    RunState::Draining
                };
                tracing::warn!(state = ?next, in_flight = self.in_flight.len(), "stop requested");
                self.state = next;
            }
        }
    }

    /// Workers alive and not draining, plus those still starting.
    fn live_workers(&self) -> u32 {
        let live = self.workers.values().filter(|s| !s.draining).count() + self.starting.len();
        u32::try_from(live).unwrap_or(u32::MAX)
    }

    /// Periodic pool upkeep: kill hung workers, autoscale, shrink or grow
    /// the pool to its target.
    fn upkeep(&mut self) -> Result<(), CoordinatorError> {
        let now = Instant::now();
        for (id, slot) in &mut self.workers {
            if slot.is_hung(now) {
                tracing::warn!(worker_id = %id, pid = slot.proc.pid, "no heartbeat: killing worker");
                slot.proc.kill();
                slot.last_seen = now;
                self.hung_kills += 1;
            }
        }
        if self.state != RunState::Running {
            return Ok(());
        }
        if let Some((min, max)) = self.config.autoscale
            && now >= self.autoscale_at
        {
            self.autoscale_at = now + pool::AUTOSCALE_EVERY;
            let sample = self.sample_pool();
            let want = pool::autoscale(min, max, sample);
            if want != self.target {
                tracing::info!(from = self.target, to = want, busy = sample.busy, "autoscale");
                self.target = want;
                self.respawn_at.get_or_insert(now);
            }
        }
        // Shrink: drain the workers holding the fewest leases.
        while self.live_workers() > self.target {
            let victim = self
                .workers
                .iter_mut()
                .filter(|(_, s)| !s.draining)
                .min_by_key(|(id, s)| (s.leases.len(), std::cmp::Reverse(**id)));
            let Some((id, slot)) = victim else { break };
            tracing::debug!(worker_id = %id, "draining worker (scale down)");
            Self::drain(slot);
        }
        self.grow_if_due()
    }

    /// CPU use of live workers since the last sample.
    fn sample_pool(&mut self) -> PoolSample {
        let window = pool::AUTOSCALE_EVERY.as_secs_f64();
        let mut busy_sum = 0.0;
        let mut n = 0u32;
        for slot in self.workers.values_mut().filter(|s| !s.draining) {
            let cpu = process::cpu_seconds_of_pid(slot.proc.pid).unwrap_or(slot.cpu_mark);
            let dt = slot.started.elapsed().as_secs_f64().min(window);
            if dt > 0.0 {
                busy_sum += (cpu - slot.cpu_mark) / dt;
            }
            slot.cpu_mark = cpu;
            n += 1;
        }
        PoolSample {
            workers: n,
            queued: (self.frontier.len() + self.crashes.waiting()) as u64,
            in_flight: self.in_flight.len() as u64,
            concurrency: self.config.concurrency,
            busy: if n > 0 { busy_sum / f64::from(n) } else { 0.0 },
        }
    }

    fn grow_if_due(&mut self) -> Result<(), CoordinatorError> {
        let Some(at) = self.respawn_at else { return Ok(()) };
        if Instant::now() < at {
            return Ok(());
        }
        self.respawn_at = None;
        while self.live_workers() < self.target {
            if self.nothing_left() && self.in_flight.is_empty() {
                return Ok(());
            }
            match self.spawn_one() {
                Ok(()) => {}
                Err(e) => {
                    self.spawn_failures += 1;
                    tracing::error!(error = %e, "spawning a worker failed");
                    if self.spawn_failures >= MAX_SPAWN_FAILURES
                        && self.workers.is_empty()
                        && self.starting.is_empty()
                    {
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
        supervisor::spawn(
            self.launch,
            id,
            &self.settings,
            self.events_tx.clone(),
            HANDSHAKE_TIMEOUT,
        )?;
        self.starting.insert(id);
        Ok(())
    }

    /// A worker finished its handshake.
    fn on_started(&mut self, proc: supervisor::WorkerProcess) {
        let id = proc.id;
        self.starting.remove(&id);
        self.spawn_failures = 0;
        if self.state == RunState::Stopping {
            let _ = proc.send(ToWorker::Shutdown);
        }
        self.workers.insert(id, Slot::new(proc));
    }

    /// A worker never completed its handshake (it died or hung first).
    fn on_spawn_failed(&mut self, id: WorkerId, error: &str) -> Result<(), CoordinatorError> {
        self.starting.remove(&id);
        self.spawn_failures += 1;
        self.restarts += 1;
        tracing::error!(worker_id = %id, error, "starting a worker failed");
        if self.spawn_failures >= MAX_SPAWN_FAILURES
            && self.workers.is_empty()
            && self.starting.is_empty()
        {
            return Err(CoordinatorError::WorkersLost(error.to_owned()));
        }
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        self.respawn_at = Some(Instant::now() + self.backoff);
        Ok(())
    }

    fn status(&self) -> StatusReport {
        let p = self.progress();
        StatusReport {
            pid: std::process::id(),
            state: match self.state {
                RunState::Running => "running",
                RunState::Draining => "draining",
                RunState::Stopping => "stopping",
            }
            .into(),
            pages: p.pages,
            pages_per_sec: p.pages_per_sec(),
            queued: p.queued,
            queued_on_disk: self.frontier.on_disk() as u64,
            in_flight: p.in_flight,
            discovered: self.frontier.seen() as u64,
            target_workers: self.target,
            restarts: self.restarts,
            hung_kills: self.hung_kills,
            poison: self.poison,
            elapsed_secs: p.elapsed.as_secs_f64(),
            workers: self
                .workers
                .iter()
                .map(|(id, s)| {
                    let up = s.started.elapsed().as_secs_f64();
                    WorkerStatus {
                        id: id.0,
                        pid: s.proc.pid,
                        pages: s.pages,
                        pages_per_sec: if up > 0.0 { s.pages as f64 / up } else { 0.0 },
                        rss_bytes: s.rss,
                        in_flight: u32::try_from(s.leases.len()).unwrap_or(u32::MAX),
                        state: if s.draining { "draining" } else { "running" }.into(),
                        uptime_secs: up,
                    }
                })
                .collect(),
            outcomes: self.outcomes.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            bytes: self.bytes,
            hosts: self.frontier.top_hosts(20).into_iter().map(|(h, n)| (h, n as u64)).collect(),
            recent_errors: self.recent_errors.iter().cloned().collect(),
        }
    }

    /// Asks every worker to drain and exit, waits up to `grace` for their
    /// channels to close, then reaps (killing stragglers).
    fn stop_all(&mut self, grace: Duration) {
        for slot in self.workers.values() {
            let _ = slot.proc.send(ToWorker::Shutdown);
        }
        let deadline = Instant::now() + grace;
        let mut open: Vec<WorkerId> = self.workers.keys().copied().collect();
        while (!open.is_empty() || !self.starting.is_empty()) && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Worker(WorkerEvent::Closed(id))) => open.retain(|w| *w != id),
                Ok(Event::Worker(WorkerEvent::Started(proc))) => {
                    // Started while we stop: tell it to leave at once.
                    let _ = proc.send(ToWorker::Shutdown);
                    self.starting.remove(&proc.id);
                    open.push(proc.id);
                    self.workers.insert(proc.id, Slot::new(*proc));
                }
                Ok(Event::Worker(WorkerEvent::SpawnFailed(id, _))) => {
                    self.starting.remove(&id);
                }
                Ok(Event::Worker(WorkerEvent::Message(id, msg))) => {
                    if let Some(slot) = self.workers.get_mut(&id)
                        && let ToCoordinator::Heartbeat { rss_bytes } = msg
                    {
                        slot.peak_rss = slot.peak_rss.max(rss_bytes);
                    }
                }
                Ok(Event::Control(req)) => self.on_control(req),
                Err(_) => break,
            }
        }
        for (id, slot) in std::mem::take(&mut self.workers) {
            let clean = !open.contains(&id);
            let (pid, pages, peak_rss) = (slot.proc.pid, slot.pages, slot.peak_rss);
            let status =
                slot.proc.reap(if clean { Duration::from_secs(5) } else { Duration::ZERO });
            let exit = exit_label(status);
            self.finished.push(WorkerSummary { id, pid, pages, peak_rss, exit });
        }
        self.finished.sort_by_key(|w| w.id);
    }
}

/// `ok` for a clean exit, else the status (`signal: 9 (SIGKILL)`, ...).
fn exit_label(status: Option<std::process::ExitStatus>) -> String {
    match status {
        Some(s) if s.success() => "ok".to_owned(),
        Some(s) => s.to_string(),
        None => "unknown".to_owned(),
    }
}

/// A record for a URL the coordinator decided about without a fetch.
fn unfetched_record(q: &Queued, outcome: FetchOutcome) -> PageRecord {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    PageRecord::unfetched(q.url.clone(), q.depth, now, outcome)
}

fn poison_record(q: &Queued, crashes: u32) -> PageRecord {
    unfetched_record(q, FetchOutcome::Poison { crashes })
}

fn disallowed_record(q: &Queued) -> PageRecord {
    unfetched_record(q, FetchOutcome::Disallowed)
}
