use super::*;
use crate::politeness::PolitenessConfig;
use crate::politeness::robots::RobotsFetch;
use std::cell::RefCell;
use std::rc::Rc;

fn open() -> Frontier {
    Frontier::new(PolitenessConfig { agent: "trawl".into(), ..Default::default() })
}

fn urls(f: &mut Frontier, now: Instant) -> Vec<String> {
    std::iter::from_fn(|| f.pop(now, true).unwrap())
        .map(|p| match p {
            Popped::Fetch(q) | Popped::Unfetched(q, _) => q.url,
        })
        .collect()
}

#[test]
fn authority_and_origin() {
    assert_eq!(authority("http://a.b:80/x?y"), "a.b:80");
    assert_eq!(authority("https://u@h/"), "h");
    assert_eq!(origin("http://127.0.0.1:9/a/b"), "http://127.0.0.1:9");
    assert_eq!(origin("http://h"), "http://h");
}

#[test]
fn dedups_and_serves_breadth_first() {
    let mut f = open();
    let now = Instant::now();
    assert!(f.push("http://127.0.0.1/a", 0, 0));
    assert!(f.push("http://127.0.0.1/c", 2, 0));
    assert!(f.push("http://127.0.0.1/b", 1, 0));
    assert!(!f.push("http://127.0.0.1/a", 3, 0));
    assert_eq!(f.len(), 3);
    assert_eq!(
        urls(&mut f, now),
        ["http://127.0.0.1/a", "http://127.0.0.1/b", "http://127.0.0.1/c"]
    );
    assert!(f.is_empty());
    assert!(!f.push("http://127.0.0.1/b", 0, 0), "seen stays after pop");
}

#[test]
fn requeued_goes_first() {
    let mut f = open();
    let now = Instant::now();
    f.push("http://127.0.0.1/x", 1, 0);
    f.push("http://127.0.0.1/y", 1, 0);
    let Some(Popped::Fetch(x)) = f.pop(now, true).unwrap() else { panic!() };
    f.complete(&x.url, now, Feedback::default());
    f.requeue(x);
    assert_eq!(urls(&mut f, now), ["http://127.0.0.1/x", "http://127.0.0.1/y"]);
}

#[test]
fn per_host_cap_and_delay_hold() {
    let mut f = Frontier::new(PolitenessConfig {
        delay: Some(Duration::from_millis(100)),
        per_host: Some(1),
        robots: false,
        agent: "trawl".into(),
    });
    let t0 = Instant::now();
    for i in 0..3 {
        f.push(&format!("http://a.test/{i}"), 1, 0);
        f.push(&format!("http://b.test/{i}"), 1, 0);
    }
    // One from each host, then both are at their cap.
    let first: Vec<_> = urls(&mut f, t0);
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(f.pop(t0, false).unwrap().is_none(), "delayed hosts never go to a prefetch buffer");
    f.complete("http://a.test/0", t0, Feedback { status: Some(200), ..Default::default() });
    assert!(f.pop(t0, true).unwrap().is_none(), "delay not over");
    let t1 = t0 + Duration::from_millis(100);
    assert_eq!(urls(&mut f, t1), ["http://a.test/1"]);
}

#[test]
fn throttled_host_backs_off() {
    let mut f = open();
    let t0 = Instant::now();
    f.push("http://127.0.0.1:1/a", 0, 0);
    f.push("http://127.0.0.1:1/b", 0, 0);
    f.push("http://127.0.0.1:2/c", 0, 0);
    let Some(Popped::Fetch(a)) = f.pop(t0, true).unwrap() else { panic!() };
    f.complete(
        &a.url,
        t0,
        Feedback {
            status: Some(429),
            retry_after: Some(Duration::from_secs(2)),
            ..Default::default()
        },
    );
    assert_eq!(urls(&mut f, t0), ["http://127.0.0.1:2/c"]);
    assert_eq!(f.next_wake(), Some(t0 + Duration::from_secs(2)));
    assert_eq!(urls(&mut f, t0 + Duration::from_secs(2)), ["http://127.0.0.1:1/b"]);
}

#[test]
fn robots_gate_a_host_until_known() {
    let mut f = Frontier::new(PolitenessConfig {
        robots: true,
        agent: "trawl".into(),
        ..Default::default()
    });
    let t0 = Instant::now();
    let now = t0;
    f.push("http://127.0.0.1:7/ok", 0, 0);
    f.push("http://127.0.0.1:7/private/x", 0, 0);
    assert!(f.pop(t0, true).unwrap().is_none(), "robots.txt first");
    let (host, url) = f.robots_wanted(now).unwrap();
    assert_eq!(url, "http://127.0.0.1:7/robots.txt");
    assert!(f.robots_wanted(now).is_none(), "asked once");
    let body = "User-agent: *\nDisallow: /private\n";
    f.robots_done(&host, &RobotsFetch::Response { status: 200, body }, None, t0);
    let got: Vec<_> = std::iter::from_fn(|| f.pop(t0, true).unwrap()).collect();
    assert_eq!(got.len(), 2);
    assert!(matches!(&got[0], Popped::Fetch(q) if q.url.ends_with("/ok")));
    assert!(matches!(
        &got[1],
        Popped::Unfetched(q, FetchOutcome::Disallowed) if q.url.ends_with("/private/x")
    ));
}

#[test]
fn robots_server_error_retries_then_gives_up_on_the_host() {
    let mut f = Frontier::new(PolitenessConfig {
        robots: true,
        agent: "trawl".into(),
        ..Default::default()
    });
    let mut now = Instant::now();
    f.push("http://127.0.0.1:8/a", 0, 0);
    f.push("http://127.0.0.1:8/b", 1, 0);
    for attempt in 0..crate::politeness::robots::MAX_ATTEMPTS {
        let (host, _) = f.robots_wanted(now).expect("robots wanted again");
        f.robots_done(&host, &RobotsFetch::Response { status: 500, body: "" }, None, now);
        if attempt + 1 < crate::politeness::robots::MAX_ATTEMPTS {
            assert!(f.robots_wanted(now).is_none(), "a retry waits for its back-off");
            assert!(f.next_wake().is_some_and(|t| t > now));
        }
        now += Duration::from_secs(600);
    }
    // Every queued URL of the host is handed out to be recorded as such.
    for _ in 0..2 {
        let got = f.pop(now, true).unwrap();
        let Some(Popped::Unfetched(_, FetchOutcome::RobotsUnreachable { detail })) = got else {
            panic!("{got:?}")
        };
        assert!(detail.contains("HTTP 500"), "{detail}");
    }
    assert!(f.is_empty());
}

/// Model check against a trivially correct reference (single host, no
/// politeness limits: pure breadth-first FIFO with dedup).
#[test]
fn matches_reference_model() {
    let mut f = open();
    let now = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    let mut model: Vec<(u32, u64, String)> = Vec::new();
    let mut seq = 0u64;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..5000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(3) {
            let got = f.pop(now, true).unwrap().map(|p| match p {
                Popped::Fetch(q) | Popped::Unfetched(q, _) => (q.depth, q.url),
            });
            model.sort();
            let want = if model.is_empty() { None } else { Some(model.remove(0)) };
            assert_eq!(got, want.map(|(d, _, u)| (d, u)));
            if let Some((_, u)) = &got {
                f.complete(u, now, Feedback::default());
            }
        } else {
            let url = format!("http://127.0.0.1/u{}", x % 700);
            let depth = u32::try_from(x % 5).unwrap();
            let new = f.push(&url, depth, 0);
            assert_eq!(new, seen.insert(url.clone()));
            if new {
                seq += 1;
                model.push((depth, seq, url));
            }
        }
    }
}

/// Segments as the store holds them, for a frontier that spills.
#[derive(Default)]
struct Disk {
    segments: HashMap<(u32, u64), Vec<String>>,
    stored: std::collections::HashSet<String>,
    reads: usize,
}

impl SegmentSource for &mut Disk {
    type Error = String;
    fn segment(&mut self, depth: u32, first_seq: u64) -> Result<&[String], String> {
        self.reads += 1;
        self.segments.get(&(depth, first_seq)).map(Vec::as_slice).ok_or_else(|| "missing".into())
    }
    fn is_stored(&self, url: &str) -> Result<bool, String> {
        Ok(self.stored.contains(url))
    }
}

/// A disk both the test and a frontier use (the frontier reads a copy of
/// the segment it asks for).
struct Shared(Rc<RefCell<Disk>>, Vec<String>);

impl SegmentSource for Shared {
    type Error = String;
    fn segment(&mut self, d: u32, s: u64) -> Result<&[String], String> {
        self.1 = (&mut *self.0.borrow_mut()).segment(d, s)?.to_vec();
        Ok(&self.1)
    }
    fn is_stored(&self, u: &str) -> Result<bool, String> {
        Ok(self.0.borrow().stored.contains(u))
    }
}

/// Admits `urls` as one segment, as the scheduler does.
fn admit<S: SegmentSource>(f: &mut Frontier<S>, disk: &mut Disk, depth: u32, urls: &[String]) {
    let first = f.next_seq();
    let new: Vec<String> = urls.iter().filter(|u| f.push(u, depth, first)).cloned().collect();
    if !new.is_empty() {
        disk.segments.insert((depth, first), new);
    }
}

fn politeness() -> PolitenessConfig {
    PolitenessConfig { robots: false, agent: "trawl".into(), ..Default::default() }
}

/// A frontier that keeps only a few URLs in memory hands out exactly what
/// an unbounded one does, in the same order, whatever the interleaving of
/// admissions, pops and re-queues; and its memory stays within budget.
#[test]
fn spilling_changes_nothing_but_memory() {
    for (seed, budget) in [(1u64, 1usize), (2, 3), (3, 10), (4, 50), (5, 7)] {
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut disk_a = Disk::default();
        let mut unbounded = Frontier::new(politeness());
        // The bounded frontier reads the disk this test writes.
        let shared = Rc::new(RefCell::new(Disk::default()));
        let mut bounded =
            Frontier::with_disk(politeness(), budget, Shared(shared.clone(), Vec::new()));
        let now = Instant::now();
        let mut handed = 0;
        for step in 0..3000u64 {
            match next(10) {
                0..=4 => {
                    let depth = u32::try_from(next(4)).unwrap();
                    let urls: Vec<String> = (0..next(12))
                        .map(|_| format!("http://127.0.0.{}/p{}", next(5) + 1, next(400)))
                        .collect();
                    admit(&mut unbounded, &mut disk_a, depth, &urls);
                    let mut d = shared.borrow_mut();
                    admit(&mut bounded, &mut d, depth, &urls);
                }
                5..=8 => {
                    let a = unbounded.pop(now, true).unwrap();
                    let b = bounded.pop(now, true).unwrap();
                    assert_eq!(a, b, "seed {seed} budget {budget} step {step}");
                    if let Some(Popped::Fetch(q)) = a {
                        unbounded.complete(&q.url, now, Feedback::default());
                        bounded.complete(&q.url, now, Feedback::default());
                        handed += 1;
                    }
                }
                _ => {
                    // A lost lease comes back.
                    if let Some(Popped::Fetch(q)) = unbounded.pop(now, true).unwrap() {
                        let Some(Popped::Fetch(q2)) = bounded.pop(now, true).unwrap() else {
                            panic!("diverged at step {step}")
                        };
                        assert_eq!(q, q2);
                        unbounded.complete(&q.url, now, Feedback::default());
                        bounded.complete(&q2.url, now, Feedback::default());
                        unbounded.requeue(q);
                        bounded.requeue(q2);
                    }
                }
            }
            assert_eq!(unbounded.len(), bounded.len());
            let in_memory = bounded.len() - bounded.on_disk();
            assert!(in_memory <= budget + 12, "{in_memory} in memory, budget {budget}");
        }
        loop {
            let a = unbounded.pop(now, true).unwrap();
            assert_eq!(a, bounded.pop(now, true).unwrap());
            if a.is_none() {
                break;
            }
            handed += 1;
        }
        assert!(bounded.is_empty() && bounded.on_disk() == 0);
        assert!(handed > 500, "the mix exercised little: {handed}");
        assert!(shared.borrow().reads > 10, "budget {budget} never spilled");
    }
}

/// After a resume, URLs of a spilled segment that were stored before the
/// crash are skipped when the segment is read back.
#[test]
fn spilled_urls_stored_since_are_skipped() {
    let mut disk = Disk::default();
    disk.segments.insert(
        (1, 0),
        ["a", "b", "c", "d"].iter().map(|p| format!("http://127.0.0.1/{p}")).collect(),
    );
    disk.stored.insert("http://127.0.0.1/c".into());
    let mut f = Frontier::with_disk(politeness(), 1, &mut disk);
    for (i, p) in ["a", "b", "d"].iter().enumerate() {
        let seq = if *p == "d" { 3 } else { i as u64 };
        f.restore(Queued { url: format!("http://127.0.0.1/{p}"), depth: 1, seq, seg: 0 });
    }
    assert_eq!((f.len(), f.on_disk()), (3, 2));
    let now = Instant::now();
    let got: Vec<u64> = std::iter::from_fn(|| f.pop(now, true).unwrap())
        .map(|p| match p {
            Popped::Fetch(q) | Popped::Unfetched(q, _) => q.seq,
        })
        .collect();
    assert_eq!(got, [0, 1, 3]);
    assert!(f.is_empty());
}

#[test]
fn a_missing_segment_is_an_error_not_a_loss() {
    let mut disk = Disk::default();
    let mut f = Frontier::with_disk(politeness(), 0, &mut disk);
    assert!(f.push("http://127.0.0.1/x", 0, 0));
    assert_eq!(f.on_disk(), 1);
    assert_eq!(f.pop(Instant::now(), true), Err("missing".to_owned()));
}

/// URLs queued elsewhere (a cluster partition's, in PostgreSQL) have no
/// local segment to be read back from: past the budget they stay in
/// memory instead of spilling into a loss.
#[test]
fn unpersisted_urls_never_spill() {
    let mut disk = Disk::default();
    let mut f = Frontier::with_disk(politeness(), 1, &mut disk);
    for p in ["a", "b", "c"] {
        assert!(f.push(&format!("http://127.0.0.1/{p}"), 1, UNPERSISTED));
    }
    assert_eq!((f.len(), f.on_disk()), (3, 0));
    let got: Vec<String> = std::iter::from_fn(|| f.pop(Instant::now(), true).unwrap())
        .map(|p| match p {
            Popped::Fetch(q) | Popped::Unfetched(q, _) => q.url,
        })
        .collect();
    assert_eq!(got.len(), 3);
}
