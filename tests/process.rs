//! The process tree: workers never outlive their coordinator (killed with
//! SIGKILL, interrupted, or finishing normally), a killed worker is
//! replaced without losing pages, and a store held by a running crawl is
//! reported as in use rather than crashing the second command.

use crate::harness::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use trawl_site::{SiteServer, SiteSpec};

/// A site large enough that a throttled crawl runs for many seconds.
fn big_site() -> SiteServer {
    SiteServer::start(SiteSpec::with_pages(20_000)).expect("start the test site")
}

/// Waits until `pid` has `n` live worker children and the site has served
/// at least `hits` pages; returns the workers.
fn wait_for_workers(running: &Running, server: &SiteServer, n: usize, hits: u64) -> Vec<ProcStat> {
    let pid = running.pid();
    let mut workers = Vec::new();
    let ok = wait_until(Duration::from_secs(60), || {
        workers = worker_children(pid);
        workers.len() >= n && server.page_hits() >= hits
    });
    assert!(
        ok,
        "`{}` did not get {n} worker children and {hits} fetched pages in 60 s: workers {:?} \
         (children {:?}), pages {}",
        running.line,
        workers,
        children_of(pid).iter().map(|&c| (c, cmdline(c))).collect::<Vec<_>>(),
        server.page_hits()
    );
    workers
}

/// Polls until none of `procs` is alive (zombies count as gone).
fn wait_all_gone(procs: &[ProcStat], limit: Duration) -> Vec<ProcStat> {
    let mut alive = Vec::new();
    wait_until(limit, || {
        alive = procs.iter().filter(|p| is_alive(p)).cloned().collect();
        alive.is_empty()
    });
    alive
}

fn describe(procs: &[ProcStat]) -> String {
    procs
        .iter()
        .map(|p| {
            format!("pid {} state {} ppid {} cmd {:?}", p.pid, p.state, p.ppid, cmdline(p.pid))
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

#[test]
fn workers_exit_when_coordinator_is_sigkilled() {
    let server = big_site();
    let dir = TestDir::new();
    let store = dir.store();
    let mut running = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "3", "--concurrency", "2"])
        .spawn();
    let workers = wait_for_workers(&running, &server, 3, 50);

    // SIGKILL: the coordinator gets no chance to clean up.
    running.child.kill().expect("SIGKILL the coordinator");
    let status = running.child.wait().expect("reap the coordinator");
    assert!(!status.success(), "the coordinator was killed: {status}");
    let killed_at = Instant::now();

    let alive = wait_all_gone(&workers, Duration::from_secs(5));
    let left = alive.clone();
    // Do not leak them into the rest of the suite.
    for p in &alive {
        kill9(p.pid);
    }
    assert!(
        left.is_empty(),
        "{} of {} workers still alive 5 s after the coordinator was SIGKILLed:\n  {}",
        left.len(),
        workers.len(),
        describe(&left)
    );
    eprintln!("workers gone {:?} after SIGKILL", killed_at.elapsed());

    // The store survives the crash: the lock is released with the process,
    // and what was committed can be read back.
    let pages = query_jsonl(&store);
    let base = server.base_url();
    let foreign: Vec<&str> =
        pages.iter().map(|p| s(p, "url")).filter(|u| !u.starts_with(&base)).collect();
    assert!(foreign.is_empty(), "{}", sample("stored URLs outside the site", &foreign));
}

#[test]
fn no_worker_outlives_a_normal_crawl() {
    let server = SiteServer::start(SiteSpec::with_pages(600)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let mut running = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "3", "--concurrency", "4"])
        .spawn();
    let pid = running.pid();
    let mut seen: Vec<ProcStat> = Vec::new();
    let start = Instant::now();
    let status = loop {
        for w in worker_children(pid) {
            if !seen.iter().any(|s| s.pid == w.pid && s.start == w.start) {
                seen.push(w);
            }
        }
        if let Some(st) = running.child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(start.elapsed() < RUN_TIMEOUT, "crawl did not finish in {RUN_TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Checked right away: a coordinator that returns before its workers
    // have exited leaves orphans behind.
    let alive_at_exit: Vec<ProcStat> = seen.iter().filter(|p| is_alive(p)).cloned().collect();
    let still = wait_all_gone(&alive_at_exit, Duration::from_secs(3));
    for p in &still {
        kill9(p.pid);
    }
    assert!(status.success(), "crawl failed: {status}");
    assert!(seen.len() >= 3, "saw only {} worker processes of 3: {seen:?}", seen.len());
    assert!(
        alive_at_exit.is_empty(),
        "{} worker(s) still running when the coordinator exited ({} of them still alive 3 s \
         later):\n  {}",
        alive_at_exit.len(),
        still.len(),
        describe(&alive_at_exit)
    );
    assert_eq!(query_jsonl(&store).len(), 600, "the crawl completed");
}

#[test]
fn killed_worker_is_replaced_and_no_page_is_lost() {
    let server = SiteServer::start(SiteSpec::with_pages(2000)).expect("site");
    let spec = server.spec().clone();
    let base = server.base_url();
    let dir = TestDir::new();
    let store = dir.store();
    let running =
        Trawl::crawl(&base, &store).args(["--workers", "2", "--concurrency", "4"]).spawn();
    let workers = wait_for_workers(&running, &server, 2, 200);
    let victim = &workers[0];
    kill9(victim.pid);
    assert!(
        wait_all_gone(std::slice::from_ref(victim), Duration::from_secs(5)).is_empty(),
        "SIGKILLed worker {} did not die",
        victim.pid
    );
    // A replacement appears while the crawl goes on (unless it is already done).
    let pid = running.pid();
    let mut replaced = false;
    wait_until(Duration::from_secs(30), || {
        let now = worker_children(pid);
        replaced = now.iter().any(|w| !workers.iter().any(|o| o.pid == w.pid));
        replaced || running_done(pid)
    });
    let out = running.wait_within(RUN_TIMEOUT).success();
    eprintln!("crawl with a killed worker took {:?}, replaced: {replaced}", out.elapsed);

    let pages = query_jsonl(&store);
    let mut urls = BTreeSet::new();
    let mut bad = Vec::new();
    for p in &pages {
        if !urls.insert(s(p, "url").to_owned()) {
            bad.push(format!("{} stored twice", s(p, "url")));
        }
        if n(p, "status") != Some(200) || s(p, "outcome") != "ok" {
            bad.push(format!("{}: {} {:?}", s(p, "url"), s(p, "outcome"), p["detail"]));
        }
    }
    assert!(bad.is_empty(), "{}", sample("bad records", &bad));
    let expected: BTreeSet<String> =
        spec.reachable_paths().iter().map(|p| join_url(&base, p)).collect();
    assert_sets_eq("stored URLs after a worker was killed", &expected, &urls);
    assert!(replaced, "no replacement worker was started after worker {} was killed", victim.pid);
}

/// Has the process exited (or become a zombie)?
fn running_done(pid: u32) -> bool {
    proc_stat(pid).is_none_or(|s| s.state == 'Z' || s.state == 'X')
}

/// Once a crawl advertises its API, SIGINT is handled (drain, exit 0),
/// never the default action: the handlers used to be installed by a task
/// that had not run yet, and a signal sent the moment the API file
/// appeared killed the crawl 29 times in 30.
#[test]
fn sigint_the_moment_the_api_appears_drains_the_crawl() {
    let server = SiteServer::start(SiteSpec::with_pages(2000)).expect("site");
    for round in 0..5 {
        let dir = TestDir::new();
        let store = dir.store();
        let running = Trawl::crawl(&server.base_url(), &store).args(["--workers", "1"]).spawn();
        // Poll tightly: the window to hit is right after the file appears.
        let start = Instant::now();
        while api_addr(&store).is_none() {
            assert!(start.elapsed() < Duration::from_secs(20), "round {round}: no API advertised");
            std::thread::yield_now();
        }
        assert!(signal(running.pid(), libc::SIGINT), "kill(SIGINT)");
        let out = running.wait_within(Duration::from_secs(30));
        assert_eq!(
            out.code(),
            Some(0),
            "round {round}: SIGINT right after the API appeared: {:?}\n{}",
            out.status,
            tail(&out.stderr, 2000)
        );
    }
}

#[test]
fn sigint_stops_the_crawl_and_its_workers() {
    let server = big_site();
    let dir = TestDir::new();
    let store = dir.store();
    let running = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "2", "--concurrency", "2"])
        .spawn();
    let workers = wait_for_workers(&running, &server, 2, 50);
    let pid = libc::pid_t::try_from(running.pid()).unwrap();
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(rc, 0, "kill(SIGINT)");
    let out = running.wait_within(Duration::from_secs(30));
    assert!(!out.stderr.contains("panicked"), "panic on SIGINT:\n{}", tail(&out.stderr, 4000));
    let alive = wait_all_gone(&workers, Duration::from_secs(5));
    for p in &alive {
        kill9(p.pid);
    }
    assert!(alive.is_empty(), "workers alive after SIGINT:\n  {}", describe(&alive));
    let pages = query_jsonl(&store);
    assert!(
        !pages.is_empty() && (pages.len() as u64) < 20_000,
        "an interrupted crawl keeps what it stored: {} pages",
        pages.len()
    );
    assert!(
        server.page_hits() < 20_000,
        "the crawl went on to the end instead of stopping ({} pages fetched)",
        server.page_hits()
    );
}

/// Starts a throttled crawl of the big site and waits until it is busy.
fn busy_crawl(server: &SiteServer, store: &std::path::Path) -> Running {
    let running = Trawl::crawl(&server.base_url(), store)
        .args(["--workers", "1", "--concurrency", "2"])
        .spawn();
    wait_for_workers(&running, server, 1, 20);
    running
}

#[test]
fn query_on_a_running_crawl_answers_or_says_in_use() {
    let server = big_site();
    let dir = TestDir::new();
    let store = dir.store();
    let running = busy_crawl(&server, &store);

    let out = Trawl::new("query").arg("--store").arg(&store).run_within(Duration::from_secs(30));
    assert!(
        !out.stderr.contains("panicked"),
        "`trawl query` on a running crawl panicked:\n{}",
        tail(&out.stderr, 4000)
    );
    if out.status.success() {
        // Answered live by the running crawl: valid records of this site.
        let pages = parse_jsonl(&out.stdout);
        eprintln!("live query answered {} pages", pages.len());
        assert!(!pages.is_empty(), "live query returned nothing after 20 fetched pages");
        let base = server.base_url();
        let foreign: Vec<&str> =
            pages.iter().map(|p| s(p, "url")).filter(|u| !u.starts_with(&base)).collect();
        assert!(foreign.is_empty(), "{}", sample("foreign URLs", &foreign));
    } else {
        assert!(
            out.stderr.contains("in use"),
            "`trawl query` on a locked store should say the store is in use, got ({}):\n{}",
            out.status,
            tail(&out.stderr, 4000)
        );
    }
    assert!(running_alive(&running), "the crawl must keep running after a query");

    // Without the API advertisement (`trawl-api.json`) the query cannot ask
    // the crawl, and must say that the store is in use.
    let advert = store.join("trawl-api.json");
    let hidden = dir.path("trawl-api.json.hidden");
    if advert.exists() {
        std::fs::rename(&advert, &hidden).expect("hide the API advertisement");
    }
    let out = Trawl::new("query").arg("--store").arg(&store).run_within(Duration::from_secs(30));
    if hidden.exists() {
        std::fs::rename(&hidden, &advert).expect("restore the API advertisement");
    }
    assert!(!out.stderr.contains("panicked"), "panic:\n{}", tail(&out.stderr, 4000));
    assert_ne!(out.code(), Some(0), "query of a locked store without an API succeeded");
    assert!(
        out.stderr.contains("in use"),
        "`trawl query` on a locked store should say the store is in use, got ({}):\n{}",
        out.status,
        tail(&out.stderr, 4000)
    );
    assert!(running_alive(&running), "the crawl must keep running after a query");
}

fn running_alive(r: &Running) -> bool {
    !running_done(r.pid())
}

#[test]
fn second_crawl_on_a_busy_store_says_in_use() {
    let server = big_site();
    let dir = TestDir::new();
    let store = dir.store();
    let running = busy_crawl(&server, &store);
    let workers_before = worker_children(running.pid());

    let out = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "1"])
        .run_within(Duration::from_secs(30));
    assert!(!out.status.success(), "a second crawl on a busy store must fail: {}", out.stdout);
    assert!(!out.stderr.contains("panicked"), "panic:\n{}", tail(&out.stderr, 4000));
    assert!(
        out.stderr.contains("in use"),
        "the error should say the store is in use:\n{}",
        tail(&out.stderr, 4000)
    );
    assert!(out.elapsed < Duration::from_secs(10), "took {:?} to fail", out.elapsed);
    // The first crawl is unharmed.
    assert!(running_alive(&running), "the first crawl died");
    let after = worker_children(running.pid());
    assert!(
        workers_before.iter().all(|w| after.iter().any(|a| a.pid == w.pid && a.start == w.start)),
        "the first crawl's workers changed: {workers_before:?} -> {after:?}"
    );
}

#[test]
fn resume_after_sigkill_completes_without_refetching() {
    let server = SiteServer::start(SiteSpec::with_pages(2000)).expect("site");
    let spec = server.spec().clone();
    let base = server.base_url();
    let dir = TestDir::new();
    let store = dir.store();
    let mut running =
        Trawl::crawl(&base, &store).args(["--workers", "2", "--concurrency", "2"]).spawn();
    wait_for_workers(&running, &server, 2, 300);
    let workers = worker_children(running.pid());
    running.child.kill().expect("SIGKILL");
    running.child.wait().expect("reap");
    let alive = wait_all_gone(&workers, Duration::from_secs(5));
    for p in &alive {
        kill9(p.pid);
    }
    assert!(alive.is_empty(), "workers alive after SIGKILL:\n  {}", describe(&alive));

    let before: BTreeSet<String> =
        query_jsonl(&store).iter().map(|p| s(p, "url").to_owned()).collect();
    assert!(!before.is_empty(), "nothing was stored before the kill");
    let hits_before: Vec<u32> = (0..spec.pages).map(|i| server.hits(i)).collect();

    let out = Trawl::crawl(&base, &store).args(["--workers", "2"]).run().success();
    eprintln!("resumed crawl: {} pages kept, took {:?}", before.len(), out.elapsed);

    let pages = query_jsonl(&store);
    let mut urls = BTreeSet::new();
    let dups: Vec<&str> =
        pages.iter().map(|p| s(p, "url")).filter(|u| !urls.insert((*u).to_owned())).collect();
    assert!(dups.is_empty(), "{}", sample("stored twice", &dups));
    let expected: BTreeSet<String> =
        spec.reachable_paths().iter().map(|p| join_url(&base, p)).collect();
    assert_sets_eq("stored URLs after kill + resume", &expected, &urls);
    let refetched: Vec<String> = (0..spec.pages)
        .filter(|&i| before.contains(&join_url(&base, &spec.path(i))))
        .filter(|&i| server.hits(i) != hits_before[i as usize])
        .map(|i| {
            format!("{} ({} -> {} requests)", spec.path(i), hits_before[i as usize], server.hits(i))
        })
        .collect();
    assert!(
        refetched.is_empty(),
        "{}",
        sample("pages stored before the kill fetched again", &refetched)
    );
    assert_eq!(server.offsite_hits(), 0);
}
