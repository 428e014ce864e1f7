use super::*;
use crate::politeness::PolitenessConfig;

fn open() -> Frontier {
    Frontier::new(PolitenessConfig { agent: "trawl".into(), ..Default::default() })
}

fn urls(f: &mut Frontier, now: Instant) -> Vec<String> {
    std::iter::from_fn(|| f.pop(now, true))
        .map(|p| match p {
            Popped::Fetch(q) | Popped::Disallowed(q) => q.url,
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
    let Some(Popped::Fetch(x)) = f.pop(now, true) else { panic!() };
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
    assert!(f.pop(t0, false).is_none(), "delayed hosts never go to a prefetch buffer");
    f.complete("http://a.test/0", t0, Feedback { status: Some(200), retry_after: None });
    assert!(f.pop(t0, true).is_none(), "delay not over");
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
    let Some(Popped::Fetch(a)) = f.pop(t0, true) else { panic!() };
    f.complete(
        &a.url,
        t0,
        Feedback { status: Some(429), retry_after: Some(Duration::from_secs(2)) },
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
    assert!(f.pop(t0, true).is_none(), "robots.txt first");
    let (host, url) = f.robots_wanted(now).unwrap();
    assert_eq!(url, "http://127.0.0.1:7/robots.txt");
    assert!(f.robots_wanted(now).is_none(), "asked once");
    f.robots_done(&host, Some(200), "User-agent: *\nDisallow: /private\n", t0);
    let got: Vec<_> = std::iter::from_fn(|| f.pop(t0, true)).collect();
    assert_eq!(got.len(), 2);
    assert!(matches!(&got[0], Popped::Fetch(q) if q.url.ends_with("/ok")));
    assert!(matches!(&got[1], Popped::Disallowed(q) if q.url.ends_with("/private/x")));
}

#[test]
fn robots_server_error_retries_then_disallows() {
    let mut f = Frontier::new(PolitenessConfig {
        robots: true,
        agent: "trawl".into(),
        ..Default::default()
    });
    let mut now = Instant::now();
    f.push("http://127.0.0.1:8/a", 0, 0);
    for attempt in 0..crate::politeness::robots::MAX_ATTEMPTS {
        let (host, _) = f.robots_wanted(now).expect("robots wanted again");
        f.robots_done(&host, Some(500), "", now);
        if attempt + 1 < crate::politeness::robots::MAX_ATTEMPTS {
            assert!(f.robots_wanted(now).is_none(), "a retry waits for its back-off");
            assert!(f.next_wake().is_some_and(|t| t > now));
        }
        now += Duration::from_secs(600);
    }
    assert!(matches!(f.pop(now, true), Some(Popped::Disallowed(_))));
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
            let got = f.pop(now, true).map(|p| match p {
                Popped::Fetch(q) | Popped::Disallowed(q) => (q.depth, q.url),
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
