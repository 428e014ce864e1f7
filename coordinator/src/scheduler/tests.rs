//! The real scheduler, in-process, with scripted workers: a launcher that
//! only records spawn requests, links that collect what the scheduler
//! sends, and events injected with a clock of the test's own, so each
//! failure mode runs in milliseconds. The store is a real sled store in a
//! temp dir.

use super::*;
use crate::control::{ControlRequest, CrawlState, WorkerState};
use crate::supervisor::{SpawnError, WorkerLink};
use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use trawl_common::config::{CrawlOptions, TargetOptions, Workers, resolve};
use trawl_common::ids::WorkerId;
use trawl_common::protocol::{FetchOutcome, Lease, PageReport, ToWorker};

const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;
const SIGSEGV: i32 = 11;
/// The memory budget the tests' pool assumes.
const BUDGET: u64 = 1 << 30;

/// What the scripted workers saw and how they will end.
#[derive(Default)]
struct World {
    spawned: Vec<WorkerId>,
    /// Spawn requests to refuse.
    refuse_spawns: u32,
    inbox: HashMap<WorkerId, Vec<ToWorker>>,
    killed: HashSet<WorkerId>,
    /// Raw wait statuses `reap` returns (default: 0, or SIGKILL if killed).
    exits: HashMap<WorkerId, i32>,
}

type Shared = Arc<Mutex<World>>;

struct ScriptLauncher(Shared);

impl Launcher for ScriptLauncher {
    fn spawn(
        &mut self,
        id: WorkerId,
        _: &trawl_common::protocol::WorkerSettings,
        _: SyncSender<Event>,
    ) -> Result<(), SpawnError> {
        let mut w = self.0.lock().unwrap();
        if w.refuse_spawns > 0 {
            w.refuse_spawns -= 1;
            return Err(SpawnError::Ipc("scripted refusal".into()));
        }
        w.spawned.push(id);
        Ok(())
    }
}

#[derive(Debug)]
struct ScriptLink {
    id: WorkerId,
    world: Shared,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("spawned", &self.spawned).finish()
    }
}

impl WorkerLink for ScriptLink {
    fn id(&self) -> WorkerId {
        self.id
    }
    fn pid(&self) -> u32 {
        10_000 + self.id.0
    }
    fn send(&self, msg: ToWorker) -> bool {
        self.world.lock().unwrap().inbox.entry(self.id).or_default().push(msg);
        true
    }
    fn kill(&mut self) {
        self.world.lock().unwrap().killed.insert(self.id);
    }
    fn reap(self: Box<Self>, _: Duration) -> Option<ExitStatus> {
        let w = self.world.lock().unwrap();
        let raw = w.exits.get(&self.id).copied();
        let raw = raw.unwrap_or(if w.killed.contains(&self.id) { SIGKILL } else { 0 });
        Some(ExitStatus::from_raw(raw))
    }
}

/// A temp store and a crawl config over seeds `/p0..` on 127.0.0.1.
struct Rig {
    _dir: tempfile::TempDir,
    store: Store,
    writer: StoreWriter,
    config: CrawlConfig,
}

fn url(i: usize) -> String {
    format!("http://127.0.0.1:9/p{i}")
}

fn rig(seeds: usize, tweak: impl FnOnce(&mut CrawlOptions)) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let target = TargetOptions {
        seeds: (0..seeds).map(url).collect(),
        store: Some(dir.path().join("store")),
    };
    let mut options = CrawlOptions::default();
    options.pool.workers = Some(Workers::Count(1));
    options.politeness.ignore_robots = Some(true);
    tweak(&mut options);
    let config = resolve(target, options).unwrap();
    let store = Store::open(&config.store).unwrap();
    let writer = store.writer().unwrap();
    Rig { _dir: dir, store, writer, config }
}

/// The scheduler under test, its scripted world, and the test's clock.
struct Drive<'a> {
    s: Scheduler<'a>,
    world: Shared,
    now: Instant,
}

impl Rig {
    fn drive(&self) -> Drive<'_> {
        let world = Shared::default();
        let now = Instant::now();
        let tuning = Tuning { memory_budget: Some(BUDGET), ..Tuning::default() };
        let launcher = Box::new(ScriptLauncher(world.clone()));
        let mut s =
            Scheduler::new(&self.config, launcher, tuning, &self.store, &self.writer, now).unwrap();
        s.pool.start().unwrap();
        let mut d = Drive { s, world, now };
        d.start_spawned();
        d
    }

    /// The stored record of seed `i`, after the writer flushed.
    fn stored(self, i: usize) -> Option<String> {
        let Rig { _dir, store, writer, .. } = self;
        writer.finish().unwrap();
        store.page(&url(i)).unwrap().map(|r| r.outcome.kind().to_owned())
    }
}

impl Drive<'_> {
    fn event(&mut self, ev: WorkerEvent) {
        self.s.handle(Event::Worker(ev), self.now).unwrap();
    }

    /// Finishes the handshake of every worker spawned so far and not yet
    /// started; each grants 4 credits.
    fn start_spawned(&mut self) {
        let ids: Vec<WorkerId> = std::mem::take(&mut self.world.lock().unwrap().spawned);
        for id in ids {
            self.event(WorkerEvent::Started(Box::new(ScriptLink {
                id,
                world: self.world.clone(),
            })));
            self.event(WorkerEvent::Message(id, ToCoordinator::Credit(4)));
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// One assignment turn; returns each worker's new leases.
    fn assign(&mut self) -> BTreeMap<WorkerId, Vec<Lease>> {
        self.s.assign(self.now).unwrap();
        let mut w = self.world.lock().unwrap();
        let mut out = BTreeMap::new();
        for (id, msgs) in &mut w.inbox {
            for m in msgs.iter() {
                if let ToWorker::Assign(batch) = m {
                    out.entry(*id).or_insert_with(Vec::new).extend(batch.iter().cloned());
                }
            }
            msgs.retain(|m| !matches!(m, ToWorker::Assign(_)));
        }
        out
    }

    /// Everything but assignments sent to `id` since the last look.
    fn sent(&mut self, id: WorkerId) -> Vec<ToWorker> {
        self.world.lock().unwrap().inbox.remove(&id).unwrap_or_default()
    }

    fn report(&mut self, id: WorkerId, lease: &Lease, status: u16, outcome: FetchOutcome) {
        let links = match &outcome {
            FetchOutcome::Redirect { location } => vec![location.clone()],
            _ => Vec::new(),
        };
        let r = PageReport {
            lease: lease.id,
            url: lease.url.clone(),
            depth: lease.depth,
            status: Some(status),
            content_type: Some("text/html".into()),
            bytes: 10,
            fetched_at_ms: 1,
            request_started_us: None,
            elapsed_ms: 1,
            outcome,
            title: None,
            outlinks: 0,
            links,
            text: None,
            sitemaps: Vec::new(),
            attempts: 1,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: Default::default(),
            body: None,
            response: None,
            etag: None,
            last_modified: None,
            content_hash: None,
        };
        let msg = ToCoordinator::Reports { reports: vec![r], credit: 1 };
        self.event(WorkerEvent::Message(id, msg));
    }

    fn ok(&mut self, id: WorkerId, lease: &Lease) {
        self.report(id, lease, 200, FetchOutcome::Ok);
    }

    fn heartbeat(&mut self, id: WorkerId, rss_bytes: u64) {
        self.event(WorkerEvent::Message(id, ToCoordinator::Heartbeat { rss_bytes }));
    }

    /// Worker `id`'s channel closes; `reap` will return `raw`.
    fn dies(&mut self, id: WorkerId, raw: i32) {
        self.world.lock().unwrap().exits.insert(id, raw);
        self.event(WorkerEvent::Closed(id));
    }

    /// Upkeep after the respawn back-off, then handshake the new workers.
    fn respawn(&mut self) {
        self.advance(Duration::from_secs(6));
        self.s.upkeep(self.now).unwrap();
        self.start_spawned();
    }

    fn outcome_count(&self, kind: &str) -> u64 {
        self.s.stats.outcomes.get(kind).copied().unwrap_or(0)
    }
}

fn only(plan: &BTreeMap<WorkerId, Vec<Lease>>) -> (WorkerId, Vec<Lease>) {
    assert_eq!(plan.len(), 1, "{plan:?}");
    plan.iter().next().map(|(id, l)| (*id, l.clone())).unwrap()
}

#[test]
fn crash_suspects_are_reissued_alone_then_poison() {
    let rig = rig(2, |c| c.pool.crash_limit = Some(3));
    let mut d = rig.drive();
    let (w0, leases) = only(&d.assign());
    assert_eq!(leases.len(), 2);
    d.dies(w0, SIGABRT);
    assert_eq!(d.s.crashes.waiting(), 2, "both held URLs are suspects");
    // Each crash: a fresh worker gets one suspect, alone.
    for (round, sig) in [SIGSEGV, SIGABRT].into_iter().enumerate() {
        d.respawn();
        let (w, leases) = only(&d.assign());
        assert_eq!(leases.len(), 1, "round {round}: a suspect goes alone: {leases:?}");
        assert!(d.assign().is_empty(), "round {round}: nothing else while it is held");
        if leases[0].url == url(1) {
            d.ok(w, &leases[0]);
            let (w2, again) = only(&d.assign());
            assert_eq!((w2, again.len()), (w, 1));
            assert_eq!(again[0].url, url(0));
            d.dies(w, sig);
        } else {
            assert_eq!(leases[0].url, url(0));
            d.dies(w, sig);
        }
    }
    assert_eq!(d.outcome_count("poison"), 1, "{:?}", d.s.stats.outcomes);
    assert_eq!(d.s.stats.poison, 1);
    assert_eq!(d.s.pool.restarts(), 3);
    assert!(d.s.is_done(), "nothing left");
    drop(d);
    assert_eq!(rig.stored(0).as_deref(), Some("poison"));
}

#[test]
fn outside_kills_within_memory_never_make_poison() {
    let rig = rig(1, |c| c.pool.crash_limit = Some(2));
    let mut d = rig.drive();
    for round in 0..5 {
        let (w, leases) = only(&d.assign());
        assert_eq!(leases.len(), 1, "round {round}");
        d.heartbeat(w, 40 << 20);
        d.dies(w, SIGKILL);
        assert_eq!(d.s.crashes.waiting(), 0, "round {round}: not a suspect");
        d.respawn();
    }
    let (w, leases) = only(&d.assign());
    d.ok(w, &leases[0]);
    assert_eq!(d.outcome_count("poison"), 0, "{:?}", d.s.stats.outcomes);
    assert_eq!(d.outcome_count("ok"), 1);
    assert_eq!(d.s.pool.restarts(), 5, "outside kills are still restarts");
    drop(d);
    assert_eq!(rig.stored(0).as_deref(), Some("ok"));
}

#[test]
fn sigkill_near_the_memory_budget_counts_as_out_of_memory() {
    let rig = rig(1, |c| c.pool.crash_limit = Some(2));
    let mut d = rig.drive();
    for _ in 0..2 {
        let (w, _) = only(&d.assign());
        d.heartbeat(w, BUDGET / 2 + 1);
        d.dies(w, SIGKILL);
        d.respawn();
    }
    assert_eq!(d.outcome_count("poison"), 1, "{:?}", d.s.stats.outcomes);
}

#[test]
fn a_hung_worker_is_killed_and_its_leases_count_as_crashes() {
    let rig = rig(2, |_| {});
    let mut d = rig.drive();
    let (w0, leases) = only(&d.assign());
    assert_eq!(leases.len(), 2);
    d.advance(Duration::from_secs(5));
    d.s.upkeep(d.now).unwrap();
    assert!(d.world.lock().unwrap().killed.is_empty(), "not yet past the timeout");
    d.advance(Duration::from_secs(6));
    d.s.upkeep(d.now).unwrap();
    assert!(d.world.lock().unwrap().killed.contains(&w0), "silent past the timeout");
    assert_eq!(d.s.pool.hung_kills(), 1);
    d.event(WorkerEvent::Closed(w0)); // reaped: SIGKILL, by us
    assert_eq!(d.s.crashes.waiting(), 2, "a hang the coordinator killed counts");
    d.respawn();
    let (w1, leases) = only(&d.assign());
    assert_ne!(w1, w0);
    assert_eq!(leases.len(), 1, "re-issued alone");
}

#[test]
fn heartbeats_keep_a_busy_worker_alive() {
    let rig = rig(1, |_| {});
    let mut d = rig.drive();
    let (w0, _) = only(&d.assign());
    for _ in 0..5 {
        d.advance(Duration::from_secs(5));
        d.heartbeat(w0, 1 << 20);
        d.s.upkeep(d.now).unwrap();
    }
    assert!(d.world.lock().unwrap().killed.is_empty());
}

#[test]
fn scale_down_drains_the_least_busy_worker_and_requeues_its_leases() {
    let rig = rig(6, |c| c.pool.workers = Some(Workers::Count(2)));
    let mut d = rig.drive();
    let plan = d.assign();
    assert_eq!(plan.len(), 2, "{plan:?}");
    let (busy, light) = (WorkerId(0), WorkerId(1));
    let done = plan[&busy][0].clone();
    d.ok(busy, &done);
    // Worker 0 now holds fewer leases: it is the one drained.
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    d.s.on_control(ControlRequest::Scale { workers: 1, reply: tx }, d.now);
    assert_eq!(rx.try_recv().unwrap(), Ok(1));
    d.s.upkeep(d.now).unwrap();
    assert!(d.sent(busy).iter().any(|m| matches!(m, ToWorker::Shutdown)), "drained");
    assert!(!d.sent(light).iter().any(|m| matches!(m, ToWorker::Shutdown)));
    let st = d.s.status(d.now);
    let states: Vec<WorkerState> = st.workers.iter().map(|w| w.state).collect();
    assert_eq!(states, [WorkerState::Draining, WorkerState::Running]);
    let held = d.s.pool.get_mut(busy).unwrap().leases.len();
    assert!(held > 0);
    d.dies(busy, 0); // drained, clean exit
    assert_eq!(d.s.crashes.waiting(), 0, "a clean drain makes no suspects");
    assert_eq!(d.s.pool.restarts(), 0);
    assert_eq!(d.s.frontier.len(), held, "its leases went back to the frontier");
    d.respawn();
    assert_eq!(d.s.pool.live(), 1, "no replacement above the target");
    let bad = {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        d.s.on_control(ControlRequest::Scale { workers: 0, reply: tx }, d.now);
        rx.try_recv().unwrap()
    };
    assert!(bad.is_err(), "{bad:?}");
}

#[test]
fn a_worker_is_recycled_after_worker_max_pages() {
    let rig = rig(3, |c| c.pool.worker_max_pages = Some(2));
    let mut d = rig.drive();
    let (w0, leases) = only(&d.assign());
    d.ok(w0, &leases[0]);
    assert!(!d.sent(w0).iter().any(|m| matches!(m, ToWorker::Shutdown)));
    d.ok(w0, &leases[1]);
    assert!(d.sent(w0).iter().any(|m| matches!(m, ToWorker::Shutdown)), "recycled at 2");
    d.s.upkeep(d.now).unwrap();
    d.start_spawned();
    assert_eq!(d.s.pool.alive(), 2, "a replacement started at once");
    d.dies(w0, 0);
    assert_eq!(d.s.crashes.waiting(), 0);
    let (w1, again) = only(&d.assign());
    assert_ne!(w1, w0);
    assert_eq!(again[0].url, leases[2].url, "the recycled worker's lease re-issued");
}

#[test]
fn a_throttled_page_is_retried_then_stored() {
    let rig = rig(1, |c| c.fetch.retries = Some(2));
    let mut d = rig.drive();
    for attempt in 0..3 {
        d.advance(Duration::from_secs(3600));
        let (w, leases) = only(&d.assign());
        assert_eq!(leases[0].url, url(0), "attempt {attempt}");
        d.report(w, &leases[0], 429, FetchOutcome::HttpError);
        let stored = d.outcome_count("http_error");
        assert_eq!(stored, u64::from(attempt == 2), "attempt {attempt}");
    }
    assert!(d.s.is_done());
    drop(d);
    assert_eq!(rig.stored(0).as_deref(), Some("http_error"));
}

#[test]
fn a_redirect_loop_is_recorded_not_followed() {
    let rig = rig(1, |_| {});
    let mut d = rig.drive();
    let (w, l0) = only(&d.assign());
    d.report(w, &l0[0], 301, FetchOutcome::Redirect { location: url(1) });
    let (_, l1) = only(&d.assign());
    assert_eq!(l1[0].url, url(1));
    d.report(w, &l1[0], 301, FetchOutcome::Redirect { location: url(0) });
    assert_eq!(d.outcome_count("redirect_loop"), 1, "{:?}", d.s.stats.outcomes);
    assert!(d.assign().is_empty());
    assert!(d.s.is_done());
    drop(d);
    assert_eq!(rig.stored(1).as_deref(), Some("redirect_loop"));
}

#[test]
fn first_stop_drains_second_stops_at_once() {
    let rig = rig(8, |_| {});
    let mut d = rig.drive();
    let (w, leases) = only(&d.assign());
    assert_eq!(leases.len(), 4, "credits bound the batch");
    d.s.on_control(ControlRequest::Stop { immediate: false }, d.now);
    assert_eq!(d.s.state, CrawlState::Draining);
    d.ok(w, &leases[0]);
    assert!(d.assign().is_empty(), "no new leases while draining");
    assert!(!d.s.is_done(), "three leases still in flight");
    d.s.on_control(ControlRequest::Stop { immediate: false }, d.now);
    assert_eq!(d.s.state, CrawlState::Stopping);
    assert!(d.s.is_done(), "the second signal does not wait for leases");
    let json = serde_json::to_value(d.s.status(d.now)).unwrap();
    assert_eq!(json["state"], "stopping");
    assert_eq!(json["workers"][0]["state"], "running");
}

#[test]
fn a_draining_crawl_ends_when_its_leases_are_in() {
    let rig = rig(8, |_| {});
    let mut d = rig.drive();
    let (w, leases) = only(&d.assign());
    d.s.on_control(ControlRequest::Stop { immediate: false }, d.now);
    for l in &leases {
        d.ok(w, l);
    }
    assert!(d.s.is_done());
    assert_eq!(d.s.queued(), 4, "the rest is left for a resume");
}

#[test]
fn spawn_failures_back_off_then_give_up() {
    let rig = rig(1, |_| {});
    let mut d = rig.drive();
    let (w0, _) = only(&d.assign());
    d.dies(w0, SIGSEGV);
    // The replacement dies before its hello, over and over.
    let mut waits = Vec::new();
    let mut result = Ok(());
    for failure in 1..=5 {
        let before = d.now;
        let mut spawned = false;
        for _ in 0..100 {
            d.advance(Duration::from_millis(50));
            d.s.upkeep(d.now).unwrap();
            if let Some(id) = d.world.lock().unwrap().spawned.pop() {
                spawned = true;
                waits.push(d.now - before);
                result = d.s.pool.on_spawn_failed(id, SpawnError::Ipc("died".into()), d.now);
                break;
            }
        }
        assert!(spawned, "failure {failure}: no respawn within 5 s");
        if failure < 5 {
            assert!(result.is_ok(), "failure {failure}: gave up too early");
        }
    }
    assert!(waits.windows(2).all(|w| w[1] >= w[0]), "back-off grows: {waits:?}");
    assert!(waits[4] > waits[0], "back-off grows: {waits:?}");
    assert!(
        matches!(result, Err(CoordinatorError::WorkersLost(SpawnError::Ipc(_)))),
        "gives up after 5: {result:?}"
    );
}

#[test]
fn a_refused_spawn_backs_off_too() {
    let rig = rig(1, |_| {});
    let mut d = rig.drive();
    let (w0, _) = only(&d.assign());
    d.world.lock().unwrap().refuse_spawns = 1;
    d.dies(w0, SIGSEGV);
    d.respawn(); // refused
    assert_eq!(d.s.pool.live(), 0);
    d.s.upkeep(d.now).unwrap();
    assert_eq!(d.s.pool.live(), 0, "not again before the back-off");
    d.respawn();
    assert_eq!(d.s.pool.live(), 1);
}

#[test]
fn a_suspect_is_held_alone_while_other_work_waits() {
    let rig = rig(6, |_| {});
    let mut d = rig.drive();
    let (w0, leases) = only(&d.assign());
    assert_eq!(leases.len(), 4);
    d.dies(w0, SIGABRT);
    d.respawn();
    for n in 0..4 {
        let (w, batch) = only(&d.assign());
        assert_eq!(batch.len(), 1, "suspect {n} goes alone, though pages wait: {batch:?}");
        assert!(leases.iter().any(|l| l.url == batch[0].url), "{batch:?}");
        assert!(d.assign().is_empty(), "suspect {n}: nothing with it");
        d.ok(w, &batch[0]);
    }
    let (_, rest) = only(&d.assign());
    assert_eq!(rest.len(), 2, "then the waiting pages");
}

// Pause, resume and the API stop.
mod pause;
mod revisit;
