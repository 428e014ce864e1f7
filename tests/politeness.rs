//! Politeness across worker processes, measured at the server: `--delay`
//! spaces the starts of requests to one host, `--per-host` caps how many
//! are in progress at once, and a 429 with `Retry-After` keeps every
//! worker away from the host for that long. Three loopback ports are three
//! hosts; the server logs when each request started and ended.

use crate::harness::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// Pages per host: `/` and `/p/1` .. `/p/{PAGES-1}`.
const PAGES: usize = 12;

fn page_path(i: usize) -> String {
    if i == 0 { "/".to_owned() } else { format!("/p/{i}") }
}

/// Three hosts, each serving `PAGES` pages that link to every page of all
/// three hosts; robots.txt is a 404 (allow all). Pages are held `hold`.
fn three_hosts(hold: Duration) -> LogServer {
    let ports = std::sync::Arc::new(std::sync::OnceLock::<Vec<u16>>::new());
    let p = ports.clone();
    let server = LogServer::start(3, move |port, path| {
        if path == "/robots.txt" {
            return Reply::not_found();
        }
        let Some(i) = (0..PAGES).find(|&i| page_path(i) == path) else {
            return Reply::not_found();
        };
        let mut body = String::new();
        for other in p.get().expect("ports set") {
            for j in 0..PAGES {
                body.push_str(&format!(
                    "<a href=\"http://127.0.0.1:{other}{}\">{j}</a>\n",
                    page_path(j)
                ));
            }
        }
        Reply::html(&format!("{port} page {i}"), &body).hold(hold)
    });
    ports.set(server.ports.clone()).unwrap();
    server
}

/// Every page of the three hosts, as URLs.
fn all_urls(server: &LogServer) -> BTreeSet<String> {
    (0..3)
        .flat_map(|k| (0..PAGES).map(move |i| (k, i)))
        .map(|(k, i)| join_url(&server.base_url(k), &page_path(i)))
        .collect()
}

/// Crawls the three hosts (seeded with their roots, default host scope)
/// and checks the store holds every page, each `ok`. Returns the output
/// and how many distinct workers stored pages.
fn crawl_three(server: &LogServer, extra: &[&str]) -> (Output, usize) {
    let dir = TestDir::new();
    let store = dir.store();
    let seeds: Vec<String> = (0..3).map(|k| server.base_url(k)).collect();
    let out = Trawl::new("crawl")
        .args(&seeds)
        .arg("--store")
        .arg(&store)
        .args(extra)
        .run_within(Duration::from_secs(60))
        .success();
    let pages = records_by_url(&query_jsonl(&store));
    let urls: BTreeSet<String> = pages.keys().cloned().collect();
    assert_sets_eq("stored URLs of the three hosts", &all_urls(server), &urls);
    let bad: Vec<String> = pages
        .values()
        .filter(|p| s(p, "outcome") != "ok")
        .map(|p| format!("{} {} {:?}", s(p, "url"), s(p, "outcome"), p["detail"]))
        .collect();
    assert!(bad.is_empty(), "{}", sample("pages not ok", &bad));
    let workers: BTreeSet<u64> = pages.values().filter_map(|p| n(p, "worker")).collect();
    (out, workers.len())
}

/// Scheduling slack allowed when comparing request starts with a delay:
/// the coordinator spaces the leases and a worker starts a leased request
/// at once, but on a loaded machine (two cores shared by the whole suite)
/// a start can be late by tens of ms (see [`spacing_violations`] for
/// longer stalls).
const JITTER: Duration = Duration::from_millis(50);

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[test]
fn delay_and_per_host_hold_across_workers() {
    // Each answer takes 450 ms and starts may come every 200 ms, so
    // without the cap three requests to a host would overlap. One request
    // per worker at a time spreads the hosts over the workers (with more
    // slots the first worker would take every lease).
    let server = three_hosts(Duration::from_millis(450));
    let (out, used) = crawl_three(
        &server,
        &["--workers", "4", "--concurrency", "1", "--delay", "0.2", "--per-host", "2"],
    );
    eprintln!("--delay 0.2 --per-host 2 crawl took {:?}", out.elapsed);
    assert!(used >= 2, "only {used} worker(s) fetched: the limits were not tested across workers");

    let mut problems = Vec::new();
    let mut peak = 0;
    for &port in &server.ports {
        let hits = server.hits_on(port);
        let pages: Vec<Hit> = hits.iter().filter(|h| h.path != "/robots.txt").cloned().collect();
        assert_eq!(pages.len(), PAGES, "page requests to port {port}: {:?}", paths(&pages));
        for v in spacing_violations(&pages, Duration::from_millis(200), JITTER) {
            problems.push(format!("port {port}: {v}"));
        }
        let overlap = max_overlap(&hits);
        peak = peak.max(overlap);
        if overlap > 2 {
            problems.push(format!("port {port}: {overlap} requests in progress at once"));
        }
    }
    assert!(problems.is_empty(), "{}", sample("politeness violations", &problems));
    // The cap was actually exercised (450 ms answers, 200 ms apart).
    assert_eq!(peak, 2, "expected some host to reach 2 concurrent requests");
}

#[test]
fn delay_covers_the_robots_txt_fetch() {
    // `--delay` is the minimum time between request starts to a host, and
    // the robots.txt fetch is a request to that host like any other.
    let server = three_hosts(Duration::from_millis(20));
    crawl_three(&server, &["--workers", "2", "--delay", "0.3"]);
    let mut problems = Vec::new();
    for &port in &server.ports {
        let hits = server.hits_on(port);
        assert_eq!(hits[0].path, "/robots.txt", "first request to port {port}");
        for v in spacing_violations(&hits, Duration::from_millis(300), JITTER) {
            problems.push(format!("port {port}: {v}"));
        }
    }
    assert!(problems.is_empty(), "{}", sample("requests closer than --delay 0.3", &problems));
}

/// Threads that keep every core busy until dropped, so the crawl's
/// processes wait for CPU at random moments (as on a loaded machine).
struct CpuHog {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl CpuHog {
    fn start(threads: usize) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = std::hint::black_box(x.wrapping_mul(6364136223846793005) ^ 1);
                        }
                    }
                    x
                })
            })
            .collect();
        CpuHog { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Issue 15: `--delay` is a minimum between request starts *at the
/// server*, however late a busy worker starts a leased request (the
/// coordinator times the delay from when each request really started, as
/// its worker reports). Measured with every core kept busy; only clock
/// granularity is forgiven, no scheduling slack. (With the clock read
/// just before `send()` instead of when the answer is back, gaps came
/// 3-46 ms short here.)
#[test]
fn delay_is_a_minimum_at_the_server_under_cpu_load() {
    let delay = Duration::from_millis(300);
    let epsilon = Duration::from_millis(1);
    let server = three_hosts(Duration::from_millis(40));
    let hog = CpuHog::start(2);
    let (out, _) = crawl_three(
        &server,
        &["--workers", "2", "--concurrency", "4", "--delay", "0.3", "--per-host", "1"],
    );
    drop(hog);
    let mut short = Vec::new();
    let mut smallest = Duration::MAX;
    for &port in &server.ports {
        let hits = server.hits_on(port);
        assert_eq!(hits.len(), PAGES + 1, "requests to port {port}: {:?}", paths(&hits));
        for (gap, a, b) in start_gaps(&hits) {
            smallest = smallest.min(gap);
            if gap + epsilon < delay {
                short.push(format!("port {port}: {a} then {b} started {} apart", ms(gap)));
            }
        }
    }
    eprintln!("--delay 0.3 under CPU load took {:?}; smallest gap {}", out.elapsed, ms(smallest));
    assert!(short.is_empty(), "{}", sample("request starts closer than --delay 0.3", &short));
}

#[test]
fn per_host_one_serializes_each_host() {
    per_host_one(&[]);
}

/// The same with room for 3 queued URLs in memory: the three hosts' queues
/// wait on disk and are read back host by host, under the same cap.
#[test]
fn per_host_one_holds_with_the_queue_on_disk() {
    let out = per_host_one(&["--frontier-memory", "3", "--json"]);
    assert!(
        out.summary()["peak_on_disk"].as_u64() > Some(0),
        "nothing was spilled:\n{}",
        out.stdout
    );
}

fn per_host_one(extra: &[&str]) -> Output {
    let server = three_hosts(Duration::from_millis(30));
    let args = [&["--workers", "4", "--concurrency", "1", "--per-host", "1"], extra].concat();
    let (out, used) = crawl_three(&server, &args);
    eprintln!("--per-host 1 crawl took {:?}", out.elapsed);
    assert!(used >= 2, "only {used} worker(s) fetched: the cap was not tested across workers");
    for &port in &server.ports {
        let hits = server.hits_on(port);
        assert_eq!(
            max_overlap(&hits),
            1,
            "--per-host 1: requests to port {port} overlapped: {:?}",
            hits.iter().map(|h| (h.path.as_str(), h.start, h.end)).collect::<Vec<_>>()
        );
    }
    out
}

#[test]
fn unlimited_per_host_does_overlap() {
    // The control for the test above: without --per-host a loopback host
    // gets concurrent requests, so a max overlap of 1 there means the cap.
    let server = three_hosts(Duration::from_millis(100));
    crawl_three(&server, &["--workers", "2", "--concurrency", "8"]);
    let peak = server.ports.iter().map(|&p| max_overlap(&server.hits_on(p))).max().unwrap();
    assert!(peak >= 2, "no two requests to one host ever overlapped (peak {peak})");
}

/// A host where `/` links to /a/1 .. /a/{pages}, held `hold` each;
/// /a/2 answers 429 + `Retry-After: 1` the first time it is asked.
fn throttling_host(pages: usize, hold: Duration) -> LogServer {
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    LogServer::start(1, move |_, path| match path {
        "/robots.txt" => Reply::not_found(),
        "/" => {
            let links: String =
                (1..=pages).map(|i| format!("<a href=\"/a/{i}\">{i}</a> ")).collect();
            Reply::html("root", &links)
        }
        "/a/2" if first.swap(false, std::sync::atomic::Ordering::SeqCst) => {
            Reply::text(429, "slow down\n").header("Retry-After", "1")
        }
        p if p.starts_with("/a/") => Reply::html(p, "<p>leaf</p>").hold(hold),
        _ => Reply::not_found(),
    })
}

/// The 429 answer and every request that started after it was sent.
fn after_the_429(server: &LogServer) -> (Hit, Vec<Hit>) {
    let hits = server.hits_on(server.ports[0]);
    let at = hits
        .iter()
        .position(|h| h.path == "/a/2")
        .unwrap_or_else(|| panic!("/a/2 never requested: {:?}", paths(&hits)));
    let throttled = hits[at].clone();
    let later = hits.iter().filter(|h| h.start > throttled.end).cloned().collect();
    (throttled, later)
}

fn timeline(hits: &[Hit]) -> Vec<String> {
    hits.iter().map(|h| format!("{} @{}", h.path, ms(h.start))).collect()
}

#[test]
fn retry_after_backs_off_the_host() {
    // No retries inside the worker: the 429 is reported at once and the
    // coordinator must keep the host idle for 1 s. --per-host 1 means
    // nothing else is in flight then, so any request within that second
    // (from either worker) breaks the back-off.
    let server = throttling_host(8, Duration::from_millis(20));
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&server.base_url(0), &store)
        .args(["--workers", "2", "--concurrency", "1", "--per-host", "1", "--retries", "0"])
        .run_within(Duration::from_secs(60))
        .success();
    let (throttled, later) = after_the_429(&server);
    let next = later.first().unwrap_or_else(|| panic!("nothing requested after the 429"));
    let gap = next.start - throttled.end;
    assert!(
        gap >= Duration::from_secs(1),
        "{} was requested {} after the 429 with Retry-After: 1 ({:?})",
        next.path,
        ms(gap),
        timeline(&server.hits())
    );
    let pages = records_by_url(&query_jsonl(&store));
    let base = server.base_url(0);
    for i in [1, 3, 4, 5, 6, 7, 8] {
        let url = format!("{base}a/{i}");
        let p = pages.get(&url).unwrap_or_else(|| panic!("{url} not stored"));
        assert_eq!(s(p, "outcome"), "ok", "{p}");
    }
    let p = &pages[&format!("{base}a/2")];
    assert_eq!(n(p, "status"), Some(429), "{p}");
    assert_eq!(n(p, "retry_after_secs"), Some(1), "{p}");
}

#[test]
fn retry_after_inside_a_worker_still_backs_off_every_worker() {
    // With retries (the default) the worker that got the 429 waits 1 s and
    // tries again; meanwhile the host is "backed off for every worker", so
    // the other worker must not keep fetching from it. Requests already
    // handed out may still start right after the 429: allow 200 ms. (No
    // --per-host: with a cap, leases buffered in one worker can serialize
    // the host and hide the problem.)
    let server = throttling_host(40, Duration::from_millis(30));
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&server.base_url(0), &store)
        .args(["--workers", "2", "--concurrency", "1"])
        .run_within(Duration::from_secs(60))
        .success();
    let (throttled, later) = after_the_429(&server);
    let retry = later.iter().find(|h| h.path == "/a/2").expect("/a/2 retried");
    assert!(
        retry.start - throttled.end >= Duration::from_secs(1),
        "the worker retried /a/2 {} after Retry-After: 1",
        ms(retry.start - throttled.end)
    );
    let grace = Duration::from_millis(200);
    let inside: Vec<&Hit> = later
        .iter()
        .filter(|h| {
            h.start > throttled.end + grace && h.start < throttled.end + Duration::from_secs(1)
        })
        .collect();
    assert!(
        inside.is_empty(),
        "{} requests reached the host 0.2..1 s after its 429 with Retry-After: 1: {:?}",
        inside.len(),
        inside
            .iter()
            .map(|h| format!("{} +{}", h.path, ms(h.start - throttled.end)))
            .collect::<Vec<_>>()
    );
    let pages = records_by_url(&query_jsonl(&store));
    let p = &pages[&format!("{}a/2", server.base_url(0))];
    assert_eq!((s(p, "outcome"), n(p, "attempts")), ("ok", Some(2)), "{p}");
    assert_eq!(pages.len(), 41, "every page stored");
}

fn paths(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.path.as_str()).collect()
}

/// A host where `/` links to /a/1 .. /a/{pages}; `throttle(i, n)` says
/// what the n-th request (0-based) of /a/i answers instead of a page.
fn throttle_site(
    pages: usize,
    throttle: impl Fn(usize, usize) -> Option<Reply> + Send + Sync + 'static,
) -> LogServer {
    let asked: std::sync::Mutex<std::collections::HashMap<usize, usize>> = Default::default();
    LogServer::start(1, move |_, path| {
        if path == "/" {
            let links: String =
                (1..=pages).map(|i| format!("<a href=\"/a/{i}\">{i}</a> ")).collect();
            return Reply::html("root", &links);
        }
        let Some(i) = path.strip_prefix("/a/").and_then(|i| i.parse::<usize>().ok()) else {
            return Reply::not_found();
        };
        let n = {
            let mut asked = asked.lock().expect("lock");
            let n = asked.entry(i).or_default();
            *n += 1;
            *n - 1
        };
        throttle(i, n).unwrap_or_else(|| Reply::html(path, "<p>leaf</p>"))
    })
}

/// Issue 13 item 6: a 429 with `Retry-After: 3600` held its host ~120 s
/// before being recorded. A Retry-After over the cap (30 s) is not waited
/// for: the page is recorded at once, asked once.
#[test]
fn long_retry_after_is_recorded_at_once() {
    let server = throttle_site(3, |i, _| {
        (i == 2).then(|| Reply::text(429, "come back in an hour\n").header("Retry-After", "3600"))
    });
    let dir = TestDir::new();
    let store = dir.store();
    let out = Trawl::crawl(&server.base_url(0), &store)
        .args(["--workers", "2"])
        .run_within(Duration::from_secs(120))
        .success();
    eprintln!("crawl with a 429 + Retry-After: 3600 took {:?}", out.elapsed);
    let pages = records_by_url(&query_jsonl(&store));
    let p = &pages[&format!("{}a/2", server.base_url(0))];
    assert_eq!(
        (s(p, "outcome"), n(p, "status"), n(p, "retry_after_secs"), n(p, "attempts")),
        ("http_error", Some(429), Some(3600), Some(1)),
        "{p}"
    );
    assert_eq!(server.count("/a/2"), 1, "a page asked to come back in an hour is not re-asked");
    assert_eq!(pages.len(), 4, "{pages:?}");
    // Before: two re-queues behind a 60 s back-off each. The bound is
    // loose (the cap itself), not a timing measurement.
    assert!(out.elapsed < Duration::from_secs(30), "took {:?}", out.elapsed);
}

/// Back-offs of neighbouring 429s set, they do not add: twenty pages that
/// each answer 429 (no Retry-After) once, all in flight together, back
/// the host off by one step (0.5 s), not by 2^20 steps (capped at 60 s
/// before).
#[test]
fn concurrent_429s_do_not_compound() {
    let server = throttle_site(20, |_, n| (n == 0).then(|| Reply::text(429, "slow down\n")));
    let dir = TestDir::new();
    let store = dir.store();
    let out = Trawl::crawl(&server.base_url(0), &store)
        .args(["--workers", "2", "--concurrency", "16"])
        .run_within(Duration::from_secs(120))
        .success();
    eprintln!("crawl with 20 concurrent 429s took {:?}", out.elapsed);
    let pages = records_by_url(&query_jsonl(&store));
    assert_eq!(pages.len(), 21, "every page stored");
    for i in 1..=20 {
        let p = &pages[&format!("{}a/{i}", server.base_url(0))];
        assert_eq!((s(p, "outcome"), n(p, "attempts")), ("ok", Some(2)), "{p}");
    }
    // Twenty compounding steps would be the 30 s cap at least.
    assert!(out.elapsed < Duration::from_secs(25), "took {:?}", out.elapsed);
}
