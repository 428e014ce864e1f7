//! `--delay` as a minimum between request starts, whatever happens
//! between a lease and its request: driven through the real frontier with
//! the time injected.

use super::*;
use crate::politeness::PolitenessConfig;
use crate::politeness::robots::RobotsFetch;

const DELAY: Duration = Duration::from_millis(1000);

fn polite(per_host: u32, robots: bool) -> Frontier {
    Frontier::new(PolitenessConfig {
        delay: Some(DELAY),
        per_host: Some(per_host),
        robots,
        agent: "trawl".into(),
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fetch(f: &mut Frontier, now: Instant) -> Option<String> {
    match f.pop(now, true).unwrap()? {
        Popped::Fetch(q) => Some(q.url),
        Popped::Unfetched(q, o) => panic!("{} not fetched: {o:?}", q.url),
    }
}

fn ok_at(started: Instant) -> Feedback {
    Feedback { status: Some(200), started: Some(started), ..Default::default() }
}

#[test]
fn a_slow_to_start_request_does_not_shorten_the_next_gap() {
    let mut f = polite(1, false);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    f.push("http://a.test/1", 0, 0);
    assert_eq!(fetch(&mut f, t0).as_deref(), Some("http://a.test/0"));
    // Leased at t0, but its worker started it only 300 ms later.
    let start0 = t0 + ms(300);
    f.complete("http://a.test/0", t0 + ms(400), ok_at(start0));
    assert_eq!(fetch(&mut f, t0 + DELAY), None, "a delay after the lease is not enough");
    assert_eq!(f.next_wake(), Some(start0 + DELAY));
    assert_eq!(fetch(&mut f, start0 + DELAY - ms(1)), None);
    assert_eq!(fetch(&mut f, start0 + DELAY).as_deref(), Some("http://a.test/1"));
}

#[test]
fn a_prompt_request_keeps_the_pace_of_its_lease() {
    // Started the moment it was leased: the next may go a delay after the
    // lease, not a delay after the report (no latency added per host).
    let mut f = polite(1, false);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    f.push("http://a.test/1", 0, 0);
    fetch(&mut f, t0);
    f.complete("http://a.test/0", t0 + ms(900), ok_at(t0));
    assert_eq!(fetch(&mut f, t0 + DELAY).as_deref(), Some("http://a.test/1"));
}

#[test]
fn no_request_no_delay_from_the_report() {
    // A URL the worker never requested (blocked): only the lease counts.
    let mut f = polite(1, false);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    f.push("http://a.test/1", 0, 0);
    fetch(&mut f, t0);
    f.complete("http://a.test/0", t0 + ms(500), Feedback::default());
    assert_eq!(fetch(&mut f, t0 + DELAY).as_deref(), Some("http://a.test/1"));
}

#[test]
fn a_lease_lost_with_its_worker_counts_as_started_at_the_loss() {
    let mut f = polite(1, false);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    fetch(&mut f, t0);
    let lost = t0 + ms(700);
    f.complete("http://a.test/0", lost, Feedback { started: Some(lost), ..Default::default() });
    f.push("http://a.test/1", 0, 0);
    assert_eq!(fetch(&mut f, lost + DELAY - ms(1)), None);
    assert_eq!(fetch(&mut f, lost + DELAY).as_deref(), Some("http://a.test/1"));
}

#[test]
fn the_robots_txt_request_counts_from_its_real_start() {
    let mut f = polite(1, true);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    let (host, _) = f.robots_wanted(t0).unwrap();
    let start = t0 + ms(250);
    let body = "User-agent: *\nAllow: /\n";
    f.robots_done(&host, &RobotsFetch::Response { status: 200, body }, Some(start), t0 + ms(300));
    assert_eq!(fetch(&mut f, t0 + DELAY), None, "a delay after the lease is not enough");
    assert_eq!(fetch(&mut f, start + DELAY).as_deref(), Some("http://a.test/0"));
}

#[test]
fn a_crawl_delay_learned_from_robots_txt_runs_from_its_start() {
    let mut f = polite(1, true);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    let (host, _) = f.robots_wanted(t0).unwrap();
    let body = "User-agent: *\nCrawl-delay: 3\n";
    f.robots_done(&host, &RobotsFetch::Response { status: 200, body }, Some(t0), t0 + ms(10));
    assert_eq!(fetch(&mut f, t0 + ms(2999)), None);
    assert_eq!(fetch(&mut f, t0 + ms(3000)).as_deref(), Some("http://a.test/0"));
}

#[test]
fn a_lost_robots_txt_fetch_is_asked_again_a_delay_after_the_loss() {
    let mut f = polite(1, true);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    let (host, _) = f.robots_wanted(t0).unwrap();
    let lost = t0 + ms(1500);
    f.robots_lost(&host, lost);
    assert!(f.robots_wanted(lost + DELAY - ms(1)).is_none());
    assert!(f.robots_wanted(lost + DELAY).is_some());
}

#[test]
fn more_than_one_per_host_still_spaces_the_leases() {
    // With --per-host 2 the next lease may go before this report comes:
    // the delay after the lease holds them apart meanwhile.
    let mut f = polite(2, false);
    let t0 = Instant::now();
    for i in 0..3 {
        f.push(&format!("http://a.test/{i}"), 0, 0);
    }
    fetch(&mut f, t0);
    assert_eq!(fetch(&mut f, t0 + DELAY - ms(1)), None);
    assert_eq!(fetch(&mut f, t0 + DELAY).as_deref(), Some("http://a.test/1"));
}

/// Crawls `hosts` hosts of `pages` pages each, one request per host at a
/// time, on a simulated clock (1 ms steps): each leased request starts
/// 0-399 ms after its lease (a busy worker) and answers 50 ms later.
/// Returns the smallest gap between two request starts to one host, and
/// how many gaps were shorter than the delay. `report_start` false drops
/// the real start from the reports (the lease time is all the frontier
/// knows, as before).
fn simulate(hosts: usize, pages: usize, report_start: bool) -> (Duration, usize) {
    let mut f = polite(1, false);
    for h in 0..hosts {
        for p in 0..pages {
            f.push(&format!("http://h{h}.test/{p}"), 0, 0);
        }
    }
    let t0 = Instant::now();
    let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
    let mut starts: HashMap<String, Vec<Instant>> = HashMap::new();
    // (answered at, url, started at)
    let mut in_flight: Vec<(Instant, String, Instant)> = Vec::new();
    let mut step = 0;
    while !f.is_empty() || !in_flight.is_empty() {
        let now = t0 + ms(step);
        step += 1;
        assert!(step < 1_000_000, "the simulated crawl did not finish");
        in_flight.retain(|(done, url, started)| {
            if *done > now {
                return true;
            }
            let started = report_start.then_some(*started);
            f.complete(url, now, Feedback { status: Some(200), started, ..Default::default() });
            false
        });
        while let Some(url) = fetch(&mut f, now) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let started = now + ms(rng % 400);
            starts.entry(authority(&url).to_owned()).or_default().push(started);
            in_flight.push((started + ms(50), url, started));
        }
    }
    let gaps: Vec<Duration> =
        starts.values().flat_map(|s| s.windows(2).map(|w| w[1] - w[0])).collect();
    assert_eq!(gaps.len(), hosts * (pages - 1));
    (gaps.iter().copied().min().unwrap(), gaps.iter().filter(|g| **g < DELAY).count())
}

#[test]
fn late_starts_never_bring_two_requests_closer_than_the_delay() {
    let (smallest, short) = simulate(5, 30, true);
    assert_eq!(short, 0, "smallest gap {smallest:?}");
    assert!(smallest >= DELAY);
    // The control: timed from the lease alone, the same crawl falls short.
    let (smallest, short) = simulate(5, 30, false);
    assert!(short > 0 && smallest < DELAY, "the simulation never started a request late");
}

#[test]
fn a_host_taken_over_waits_its_delay_from_the_takeover() {
    // Cluster mode: another machine owned the host until t0 and may have
    // asked it just before; its first request here waits a delay from t0.
    let mut f = polite(1, false);
    let t0 = Instant::now();
    f.push("http://a.test/0", 0, 0);
    f.delay_host_from("http://a.test/0", t0);
    assert_eq!(fetch(&mut f, t0), None, "not at the takeover");
    assert_eq!(f.next_wake(), Some(t0 + DELAY));
    assert_eq!(fetch(&mut f, t0 + DELAY - ms(1)), None);
    assert_eq!(fetch(&mut f, t0 + DELAY).as_deref(), Some("http://a.test/0"));
    // A takeover long ago delays nothing.
    f.push("http://b.test/0", 0, 0);
    f.delay_host_from("http://b.test/0", t0);
    assert_eq!(fetch(&mut f, t0 + DELAY * 2).as_deref(), Some("http://b.test/0"));
    // An unknown host is left alone.
    f.delay_host_from("http://c.test/0", t0);
    assert_eq!(f.hosts(), 2);
}
