//! Pause, resume and the API's stop, on the real scheduler with scripted
//! workers (the harness is the parent module's).

use super::*;
use crate::control::{RunAction, RunChange};
use tokio::sync::oneshot;

impl Drive<'_> {
    /// Sends a run control and returns the scheduler's reply.
    fn run(&mut self, action: RunAction) -> Result<RunChange, String> {
        let (tx, mut rx) = oneshot::channel();
        self.s.handle(Event::Control(ControlRequest::Run { action, reply: tx }), self.now).unwrap();
        rx.try_recv().expect("the scheduler replies at once")
    }

    /// Time passes with the worker heartbeating; upkeep runs each second.
    fn idle(&mut self, w: WorkerId, secs: u64) {
        for _ in 0..secs {
            self.advance(Duration::from_secs(1));
            self.heartbeat(w, 30 << 20);
            self.s.upkeep(self.now).unwrap();
        }
    }

    fn status_json(&self) -> serde_json::Value {
        serde_json::to_value(self.s.status(self.now)).unwrap()
    }
}

fn change(state: CrawlState, in_flight: u64) -> Result<RunChange, String> {
    Ok(RunChange { state, in_flight })
}

#[test]
fn a_paused_crawl_finishes_its_leases_hands_out_nothing_and_keeps_its_worker() {
    let rig = rig(8, |_| {});
    let mut d = rig.drive();
    let (w, leases) = only(&d.assign());
    assert_eq!(leases.len(), 4, "credits bound the batch");
    assert_eq!(d.run(RunAction::Pause), change(CrawlState::Paused, 4));
    assert_eq!(d.run(RunAction::Pause), change(CrawlState::Paused, 4), "pausing twice is fine");
    assert_eq!(d.status_json()["state"], "paused");
    for l in &leases {
        d.ok(w, l);
    }
    assert_eq!(d.s.stats.pages, 4, "in-flight fetches are stored while paused");
    assert!(d.assign().is_empty(), "no new leases while paused, though credits came back");
    d.idle(w, 30);
    assert!(d.assign().is_empty(), "still nothing after 30 s");
    assert!(!d.s.is_done(), "a paused crawl with work queued waits for a resume");
    let sent = d.sent(w);
    assert!(!sent.iter().any(|m| matches!(m, ToWorker::Shutdown)), "worker told to go: {sent:?}");
    assert!(d.world.lock().unwrap().killed.is_empty(), "the idle worker was killed");
    assert_eq!(d.s.pool.live(), 1);
    assert_eq!(d.s.queued(), 4);

    assert_eq!(d.run(RunAction::Resume), change(CrawlState::Running, 0));
    assert_eq!(d.status_json()["state"], "running");
    let (w2, rest) = only(&d.assign());
    assert_eq!((w2, rest.len()), (w, 4), "resume hands out the rest to the same worker");
    for l in &rest {
        d.ok(w, l);
    }
    assert!(d.s.is_done());
    drop(d);
    let Rig { _dir, store, writer, .. } = rig;
    writer.finish().unwrap();
    for i in 0..8 {
        let kind = store.page(&url(i)).unwrap().map(|r| r.outcome.kind());
        assert_eq!(kind, Some("ok"), "seed {i}");
    }
}

#[test]
fn scale_applies_while_paused_and_the_new_worker_waits_too() {
    let rig = rig(12, |_| {});
    let mut d = rig.drive();
    let (w0, leases) = only(&d.assign());
    d.run(RunAction::Pause).unwrap();
    let (tx, _rx) = oneshot::channel();
    d.s.on_control(ControlRequest::Scale { workers: 2, reply: tx }, d.now);
    d.idle(w0, 1);
    d.start_spawned();
    assert_eq!(d.s.pool.live(), 2, "the pool grew while paused");
    assert!(d.assign().is_empty(), "the new worker gets nothing while paused");
    d.run(RunAction::Resume).unwrap();
    let plan = d.assign();
    assert_eq!(plan.len(), 1, "only the new worker has credits: {plan:?}");
    assert!(!plan.contains_key(&w0));
    for l in &leases {
        d.ok(w0, l);
    }
}

#[test]
fn the_api_stop_drains_and_never_escalates() {
    let rig = rig(8, |_| {});
    let mut d = rig.drive();
    let (w, leases) = only(&d.assign());
    d.run(RunAction::Pause).unwrap();
    assert_eq!(d.run(RunAction::Stop), change(CrawlState::Draining, 4), "stop while paused");
    assert_eq!(d.run(RunAction::Stop), change(CrawlState::Draining, 4), "a second API stop");
    let refused = d.run(RunAction::Resume).unwrap_err();
    assert!(refused.contains("draining"), "{refused}");
    assert!(d.run(RunAction::Pause).is_err());
    assert!(!d.s.is_done(), "in-flight leases finish first");
    for l in &leases {
        d.ok(w, l);
    }
    assert!(d.assign().is_empty());
    assert!(d.s.is_done(), "drained");
    assert_eq!(d.s.queued(), 4, "the rest is left for a resume");
    // A signal after the API stop is the second one: stop at once.
    d.s.on_control(ControlRequest::Stop { immediate: false }, d.now);
    assert_eq!(d.s.state, CrawlState::Stopping);
    assert_eq!(d.run(RunAction::Stop), change(CrawlState::Stopping, 0));
}

#[test]
fn status_carries_the_limit_the_eta_and_outcomes_over_time() {
    let rig = rig(20, |c| c.limits.max_pages = Some(12));
    let mut d = rig.drive();
    let json = d.status_json();
    assert_eq!(json["max_pages"], 12);
    assert_eq!(json["resumed_pages"], 0);
    assert_eq!(json["eta_secs"], serde_json::Value::Null, "no pages yet: no rate");
    // 4 pages in the first 5 s bucket, 2 in the second (one an error).
    let (w, leases) = only(&d.assign());
    for l in &leases {
        d.ok(w, l);
    }
    d.idle(w, 5);
    let (_, more) = only(&d.assign());
    d.ok(w, &more[0]);
    d.report(w, &more[1], 404, FetchOutcome::HttpError);
    d.idle(w, 5);
    let json = d.status_json();
    assert_eq!(json["timeline"]["bucket_secs"], 5);
    let buckets = json["timeline"]["buckets"].as_array().unwrap();
    let counts: Vec<String> = buckets.iter().map(|b| b["outcomes"].to_string()).collect();
    assert_eq!(counts, [r#"{"ok":4}"#, r#"{"http_error":1,"ok":1}"#, "{}"], "{buckets:?}");
    assert_eq!(buckets[1]["start_secs"], 5);
    // 6 pages in 10 s: 0.6 pages/s; 6 to go (two of them in flight).
    let eta = json["eta_secs"].as_f64().expect("an ETA with --max-pages");
    assert!((eta - 10.0).abs() < 1e-6, "eta {eta}");
    d.run(RunAction::Pause).unwrap();
    assert_eq!(d.status_json()["eta_secs"], serde_json::Value::Null, "no ETA while paused");
}
