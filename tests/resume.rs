//! Resume after hard kills: the coordinator is SIGKILLed at random moments
//! several times and the same command rerun on the same store. Between
//! runs the store is read back; a page seen stored there must never be
//! requested again, and the crawl must end with exactly the reachable set.
//! (sled flushes every 500 ms, so pages stored just before a kill may be
//! lost and fetched again: that is allowed, refetching a page the store
//! showed is not.)

use crate::harness::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use trawl_site::{SiteServer, SiteSpec};

#[test]
fn repeated_sigkill_then_resume_never_refetches_stored_pages() {
    sigkill_and_resume("resume", &[]);
}

/// The same with room for only 40 queued URLs in memory: the queue a
/// resume finds is mostly read back from disk, where URLs stored before
/// the kill must be skipped.
#[test]
fn resume_with_most_of_the_queue_on_disk() {
    sigkill_and_resume("resume-spill", &["--frontier-memory", "40"]);
}

fn sigkill_and_resume(name: &str, extra: &[&str]) {
    let server = SiteServer::start(SiteSpec::with_pages(3000)).expect("site");
    let spec = server.spec().clone();
    let base = server.base_url();
    let dir = TestDir::new();
    let store = dir.store();
    let mut rng = TestRng::new(name);
    let command = || {
        Trawl::crawl(&base, &store)
            .args(["--workers", "2", "--concurrency", "4", "--json"])
            .args(extra)
    };

    // Page index -> its hit count when a snapshot first showed it stored.
    let mut frozen: BTreeMap<u32, u32> = BTreeMap::new();
    let mut last_snapshot = 0usize;
    let mut kills = 0;
    let rounds = 3 + rng.below(3);
    for round in 1..=rounds {
        let mut running = command().spawn();
        let pid = running.pid();
        let after = rng.millis(300, 1500);
        let mut workers = Vec::new();
        let start = Instant::now();
        let mut finished = None;
        while start.elapsed() < after {
            note_workers(pid, &mut workers);
            if let Some(st) = running.child.try_wait().expect("try_wait") {
                finished = Some(st);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        match finished {
            Some(st) => {
                // Finished before the kill: snapshot it all the same.
                eprintln!("round {round}: the crawl finished before the kill ({st})");
                assert!(st.success(), "round {round}: crawl failed: {st}");
                assert_all_gone(&workers, Duration::from_secs(3), "after the crawl exited");
            }
            None => {
                running.child.kill().expect("SIGKILL the coordinator");
                running.child.wait().expect("reap");
                kills += 1;
                assert_all_gone(
                    &workers,
                    Duration::from_secs(5),
                    "5 s after the coordinator was SIGKILLed",
                );
            }
        }

        let stored = query_jsonl(&store);
        let urls = records_by_url(&stored);
        let mut foreign = Vec::new();
        for url in urls.keys() {
            match spec.page_index(url.strip_prefix(base.trim_end_matches('/')).unwrap_or(url)) {
                Some(i) => {
                    frozen.entry(i).or_insert_with(|| server.hits(i));
                }
                None => foreign.push(url.clone()),
            }
        }
        assert!(foreign.is_empty(), "{}", sample("stored URLs that are not pages", &foreign));
        let dropped: Vec<&u32> = frozen
            .keys()
            .filter(|i| !urls.contains_key(&join_url(&base, &spec.path(**i))))
            .collect();
        assert!(dropped.is_empty(), "pages vanished from the store: {dropped:?}");
        eprintln!(
            "round {round}: stopped after {after:?}, {} pages stored, {} requested so far",
            urls.len(),
            server.page_hits()
        );
        last_snapshot = urls.len();
        if finished.is_some() {
            break;
        }
    }

    // The last run goes to the end.
    let mut running = command().spawn();
    let pid = running.pid();
    let mut workers = Vec::new();
    let status = loop {
        note_workers(pid, &mut workers);
        if let Some(st) = running.child.try_wait().expect("try_wait") {
            break st;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = running.wait_within(Duration::from_secs(5));
    assert!(status.success(), "final run failed: {status}\n{}", tail(&out.stderr, 4000));
    assert_all_gone(&workers, Duration::from_secs(3), "after the final run exited");
    eprintln!("{kills} kills; final run:\n{}", out.stdout);
    let pages = records_by_url(&query_jsonl(&store));
    let urls: BTreeSet<String> = pages.keys().cloned().collect();
    assert_sets_eq("stored URLs after kills and resumes", &site_urls(&server), &urls);
    let bad: Vec<String> = pages
        .values()
        .filter(|p| s(p, "outcome") != "ok")
        .map(|p| format!("{} {} {:?}", s(p, "url"), s(p, "outcome"), p["detail"]))
        .collect();
    assert!(bad.is_empty(), "{}", sample("pages not ok", &bad));

    if last_snapshot > 0 {
        assert!(
            out.summary()["resumed_pages"] == last_snapshot,
            "the final run should report resuming {last_snapshot} stored pages:\n{}",
            out.stdout
        );
    }

    let refetched: Vec<String> = frozen
        .iter()
        .filter(|(i, h)| server.hits(**i) != **h)
        .map(|(i, h)| format!("{} ({h} -> {} requests)", spec.path(*i), server.hits(*i)))
        .collect();
    assert!(
        refetched.is_empty(),
        "{}",
        sample("pages the store showed after a kill were fetched again", &refetched)
    );
    let never: Vec<String> =
        (0..spec.pages).filter(|&i| server.hits(i) == 0).map(|i| spec.path(i)).collect();
    assert!(never.is_empty(), "{}", sample("pages stored but never requested", &never));
    let twice = (0..spec.pages).filter(|&i| server.hits(i) > 1).count();
    eprintln!(
        "{kills} kills, {} pages seen stored between runs, {twice} pages fetched more than once \
         (in flight or unflushed at a kill)",
        frozen.len()
    );
    assert!(kills >= 2, "only {kills} kill(s) landed before the crawl finished");
    assert_eq!(server.offsite_hits(), 0);
}
