//! Revisits on the real scheduler with scripted workers (the harness is
//! the parent module's): a due page re-enters the frontier at its due
//! time and not before, its lease carries the stored validators, the
//! host's delay holds, and links found on a revisit are crawled.

use super::*;
use crate::store::Change;
use trawl_common::config::units::HumanDuration;

/// Wall-clock ms of the first fetch.
const T0: u64 = 1_800_000_000_000;

/// A report on `lease` fetched at `at_ms`, shaped by `f`.
fn report(lease: &Lease, at_ms: u64, f: impl FnOnce(&mut PageReport)) -> PageReport {
    let mut r = PageReport {
        lease: lease.id,
        url: lease.url.clone(),
        depth: lease.depth,
        status: Some(200),
        content_type: Some("text/html".into()),
        bytes: 10,
        fetched_at_ms: at_ms,
        request_started_us: None,
        elapsed_ms: 1,
        outcome: FetchOutcome::Ok,
        title: Some("t".into()),
        outlinks: 0,
        links: Vec::new(),
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
        etag: Some("\"v1\"".into()),
        last_modified: None,
        content_hash: Some(1),
    };
    f(&mut r);
    r
}

impl Drive<'_> {
    fn send(&mut self, id: WorkerId, r: PageReport) {
        let msg = ToCoordinator::Reports { reports: vec![r], credit: 1 };
        self.event(WorkerEvent::Message(id, msg));
    }
}

#[test]
fn a_due_page_comes_back_at_its_due_time_politely_with_its_validators() {
    let rig = rig(1, |c| {
        c.revisit.revisit = Some(HumanDuration(Duration::from_secs(2)));
        c.politeness.delay = Some(HumanDuration(Duration::from_secs(5)));
        c.politeness.per_host = Some(1);
    });
    let mut d = rig.drive();
    let (w, leases) = only(&d.assign());
    assert_eq!((leases.len(), leases[0].validators.clone()), (1, None), "a first fetch");
    d.send(w, report(&leases[0], T0, |_| {}));
    assert!(!d.s.is_done(), "a continuous crawl keeps running with nothing queued");
    assert!(rig.writer.progress().wait_applied());
    let rec = rig.store.page(&url(0)).unwrap().unwrap();
    let due = rec.revisit.expect("scheduled").due_at_ms;
    assert_eq!(due, T0 + 2_000);

    d.s.poll_revisits_at(due - 1).unwrap();
    assert!(d.s.frontier.is_empty(), "not before its due time");
    d.s.poll_revisits_at(due).unwrap();
    d.s.poll_revisits_at(due + 10).unwrap();
    assert_eq!(d.s.frontier.len(), 1, "due: back in the frontier, once");

    // The host's 5 s delay runs from the first lease: the revisit waits.
    d.advance(Duration::from_secs(2));
    assert!(d.assign().is_empty(), "politeness applies to revisits");
    d.advance(Duration::from_secs(4));
    let (w, leases) = only(&d.assign());
    let v = leases[0].validators.clone().expect("a revisit sends its validators");
    assert_eq!(v.etag.as_deref(), Some("\"v1\""));

    // 304: the stored page stands; the schedule grows by half.
    d.send(
        w,
        report(&leases[0], due + 100, |r| {
            r.status = Some(304);
            r.outcome = FetchOutcome::NotModified;
            r.content_hash = None;
            r.title = None;
        }),
    );
    assert!(rig.writer.progress().wait_applied());
    let rec = rig.store.page(&url(0)).unwrap().unwrap();
    assert_eq!((rec.title.as_deref(), rec.outcome.kind()), (Some("t"), "ok"));
    let next = rec.revisit.unwrap();
    assert_eq!((next.interval_ms, next.due_at_ms), (3_000, due + 100 + 3_000));
    let entries: Vec<_> = rig.store.due_until(u64::MAX).map(Result::unwrap).collect();
    assert_eq!(entries, [(next.due_at_ms, url(0))], "the due entry moved");
    d.s.poll_revisits_at(next.due_at_ms - 1).unwrap();
    assert!(d.s.frontier.is_empty());

    // A changed revisit: history, a halved interval, and its new link.
    d.s.poll_revisits_at(next.due_at_ms).unwrap();
    d.advance(Duration::from_secs(6));
    let (w, leases) = only(&d.assign());
    d.send(
        w,
        report(&leases[0], next.due_at_ms + 5, |r| {
            r.content_hash = Some(2);
            r.title = Some("new".into());
            r.links = vec![url(7)];
        }),
    );
    assert!(d.s.frontier.is_seen(&url(7)) && d.s.frontier.len() == 1, "a new link is queued");
    assert!(rig.writer.progress().wait_applied());
    let history: Vec<_> = rig
        .store
        .history(&url(0))
        .unwrap()
        .into_iter()
        .map(|e| (e.change, e.changed_fields))
        .collect();
    assert_eq!(
        history,
        [
            (Change::First, vec![]),
            (Change::NotModified, vec![]),
            (Change::Changed, vec!["title".to_owned()]),
        ]
    );
    let rec = rig.store.page(&url(0)).unwrap().unwrap();
    assert_eq!(rec.revisit.unwrap().interval_ms, 1_500);
    assert_eq!(rec.changed_at_ms, Some(next.due_at_ms + 5));
    assert_eq!(d.s.revisits.changes().get("not_modified"), Some(&1));
    assert!(!d.s.is_done());
}

#[test]
fn without_revisit_nothing_is_scheduled_and_the_crawl_ends() {
    let rig = rig(1, |_| {});
    let mut d = rig.drive();
    let (w, leases) = only(&d.assign());
    d.send(w, report(&leases[0], T0, |_| {}));
    assert!(d.s.is_done());
    assert!(rig.writer.progress().wait_applied());
    let rec = rig.store.page(&url(0)).unwrap().unwrap();
    assert_eq!(
        (rec.revisit, rec.changed_at_ms, rec.etag.as_deref()),
        (None, Some(T0), Some("\"v1\""))
    );
    assert_eq!(rig.store.due_until(u64::MAX).count(), 0);
    let h = rig.store.history(&url(0)).unwrap();
    assert_eq!(h.len(), 1, "one history entry per fetch, continuous or not");
    d.s.poll_revisits_at(u64::MAX).unwrap();
    assert!(d.s.frontier.is_empty());
}
