//! Cluster mode (issue 12): separate `trawl crawl --cluster` processes on
//! one real PostgreSQL (started by the test, `trawl-cluster`'s
//! `test-support`) crawl a generated 5-host site on 127.0.0.1.

use crate::harness::{Running, TestDir, Trawl, kill9, query_jsonl, s, wait_until};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trawl_cluster::test_pg::TestPostgres;
use trawl_cluster::{Cluster, MachineId};
use trawl_site::{ServeOptions, SiteServer, SiteSpec};

const LIMIT: Duration = Duration::from_secs(90);

fn site(pages: u32) -> SiteServer {
    SiteServer::start_with(
        SiteSpec::with_pages(pages),
        ServeOptions { hosts: 5, ..Default::default() },
    )
    .expect("start the 5-host site")
}

/// `trawl crawl --cluster` for machine `name`, its own store.
fn machine(pg: &TestPostgres, site: &SiteServer, dir: &TestDir, name: &str) -> Trawl {
    Trawl::crawl(&site.base_url(), &dir.path(name))
        .args(["--cluster", &pg.url(), "--cluster-name", name, "--cluster-lease", "2s"])
        .args(["--scope", "any", "--workers", "1"])
        // Each record sent to the committer, each batch committed, each
        // refusal: what the fault tests account for.
        .env("RUST_LOG", "warn,trawl_coordinator::cluster_mode=debug")
}

/// One number from the database (0 before the schema exists).
fn db_count(pg: &TestPostgres, sql: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = Cluster::connect(&pg.url(), MachineId::new("test-reader").unwrap()).unwrap();
        match c.client().await.unwrap().query_one(sql, &[]).await {
            Ok(row) => row.get::<_, i64>(0),
            Err(_) => 0,
        }
    })
}

/// Partitions `machine` holds now.
fn partitions_of(pg: &TestPostgres, machine: &str) -> i64 {
    db_count(pg, &format!("SELECT count(*) FROM trawl.partitions WHERE owner = '{machine}'"))
}

/// Page rows `machine` stored.
fn pages_of(pg: &TestPostgres, machine: &str) -> i64 {
    db_count(pg, &format!("SELECT count(*) FROM trawl.pages WHERE machine = '{machine}'"))
}

/// On-site page requests the site answered so far (robots.txt and the
/// off-site `localhost` pages not counted).
fn fetches(site: &SiteServer) -> u64 {
    site.page_hits() + site.unknown_hits()
}

/// What a machine's log says of its records: sent to the committer,
/// committed, refused by the fence.
#[derive(Debug, Default)]
struct Records {
    sent: u64,
    committed: u64,
    refused: u64,
}

fn records(log: &str) -> Records {
    let field = |line: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("records="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let mut r = Records::default();
    for line in log.lines() {
        if line.contains("record sent to the committer") {
            r.sent += 1;
        } else if line.contains("batch committed") {
            r.committed += field(line);
        } else if line.contains("late commit refused") {
            r.refused += field(line);
        }
    }
    r
}

/// Stops or continues a process.
fn signal(pid: u32, sig: libc::c_int) {
    assert!(crate::harness::signal(pid, sig), "signal {sig} to {pid}");
}

/// The page rows in the database: url -> machine that stored it (none
/// before the schema exists).
fn db_pages(pg: &TestPostgres) -> BTreeMap<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = Cluster::connect(&pg.url(), MachineId::new("test-reader").unwrap()).unwrap();
        // Empty until the first machine has created the tables.
        let Ok(rows) =
            c.client().await.unwrap().query("SELECT url, machine FROM trawl.pages", &[]).await
        else {
            return BTreeMap::new();
        };
        rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))).collect()
    })
}

/// The URLs a single local crawl of `site` stores.
fn single_machine_set(site: &SiteServer) -> BTreeSet<String> {
    let dir = TestDir::new();
    Trawl::crawl(&site.base_url(), &dir.store()).args(["--scope", "any"]).run().success();
    query_jsonl(&dir.store()).iter().map(|p| s(p, "url").to_owned()).collect()
}

fn finish(r: Running) -> String {
    let out = r.wait_within(LIMIT).success();
    out.stderr
}

#[test]
fn three_machines_store_every_page_once_and_the_same_set_as_one() {
    let site = site(40);
    let expected = single_machine_set(&site);
    assert!(expected.len() >= 150, "the site spans 5 hosts: {}", expected.len());
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let machines: Vec<Running> =
        ["m1", "m2", "m3"].iter().map(|m| machine(&pg, &site, &dir, m).spawn()).collect();
    for m in machines {
        finish(m);
    }
    let pages = db_pages(&pg);
    let got: BTreeSet<String> = pages.keys().cloned().collect();
    crate::harness::assert_sets_eq("cluster pages", &expected, &got);
    // The local stores hold what each machine fetched: together, the same
    // set. A partition handed over (shares rebalance as machines join)
    // may have had pages in flight whose commit was fenced: those are
    // fetched again by the new owner, never stored twice in the database.
    let mut local = Vec::new();
    for m in ["m1", "m2", "m3"] {
        local.extend(query_jsonl(&dir.path(m)).iter().map(|p| s(p, "url").to_owned()));
    }
    let local_set: BTreeSet<String> = local.iter().cloned().collect();
    crate::harness::assert_sets_eq("union of the local stores", &expected, &local_set);
    eprintln!("fetched {} times for {} pages", local.len(), pages.len());
    let by: BTreeSet<&String> = pages.values().collect();
    assert!(by.len() >= 2, "the work was shared: {by:?}");

    // trawl query --cluster answers over the whole crawl as a store query
    // answers over the union of the local stores.
    let answer =
        Trawl::new("query").args(["--cluster", &pg.url(), "--format", "jsonl"]).run().success();
    let rows = crate::harness::parse_jsonl(&answer.stdout);
    let queried: BTreeSet<String> = rows.iter().map(|p| s(p, "url").to_owned()).collect();
    crate::harness::assert_sets_eq("query --cluster", &expected, &queried);
    assert_eq!(rows.len(), expected.len(), "each page once");
    // Each row is the record of the machine that stored it.
    let mut union = Vec::new();
    for m in ["m1", "m2", "m3"] {
        union.extend(query_jsonl(&dir.path(m)).into_iter().filter(|p| pages[s(p, "url")] == m));
    }
    union.sort_by(|a, b| s(a, "url").cmp(s(b, "url")));
    assert_eq!(union.len(), rows.len(), "the storing machine kept each record locally");
    let strip = |p: &serde_json::Value| {
        let mut p = p.clone();
        p.as_object_mut().unwrap().remove("fetched_at");
        p
    };
    for (a, b) in rows.iter().zip(&union) {
        assert_eq!(strip(a), strip(b), "query --cluster vs the fetching machine's store");
    }
    // Options go through the same pipeline: a filter and a count.
    let counted = Trawl::new("query")
        .args(["--cluster", &pg.url(), "--count-by", "outcome", "--format", "jsonl"])
        .run()
        .success();
    let ok: u64 = crate::harness::parse_jsonl(&counted.stdout)
        .iter()
        .filter(|r| s(r, "outcome") == "ok")
        .filter_map(|r| crate::harness::n(r, "count"))
        .sum();
    let local_ok = union.iter().filter(|p| s(p, "outcome") == "ok").count() as u64;
    assert_eq!(ok, local_ok, "--count-by outcome over the cluster");
    // trawl status --cluster: the machines (all gone: their partitions
    // released), their pages, nothing queued.
    let status = Trawl::new("status").args(["--cluster", &pg.url(), "--json"]).run().success();
    let st: serde_json::Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(st["pages"], expected.len() as u64, "{st}");
    assert_eq!(st["queued"], 0, "{st}");
    let ms = st["machines"].as_array().unwrap();
    let ids: BTreeSet<&str> = ms.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["m1", "m2", "m3"]), "{st}");
    assert!(ms.iter().all(|m| m["partitions"] == 0), "released on exit: {st}");
    let per_machine: u64 = ms.iter().map(|m| m["pages"].as_u64().unwrap()).sum();
    assert_eq!(per_machine, expected.len() as u64, "{st}");
    let table = Trawl::new("status").args(["--cluster", &pg.url()]).run().success();
    assert!(
        table.stdout.contains(&format!("{} pages, 0 queued", expected.len())),
        "{}",
        table.stdout
    );
    let bad = Trawl::new("query").args(["--cluster", "http://127.0.0.1/"]).run();
    assert_eq!(bad.code(), Some(2), "a bad --cluster URL is a usage error: {}", bad.stderr);
}

/// Issue 12, test 2: kill -9 of one machine mid-crawl. Nothing is lost,
/// every page is stored once, and the site served no more duplicate
/// fetches than the killed machine had in flight (leases: workers x
/// concurrency; records sent to its committer and not committed, from its
/// own log) plus the records any fence refused (partitions rebalanced as
/// the machines joined), each fetched again by the next owner.
#[test]
fn a_machine_killed_mid_crawl_loses_nothing() {
    let site = site(60);
    let expected = single_machine_set(&site);
    let single = fetches(&site);
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let opts = ["--delay", "50ms", "--concurrency", "4"];
    let victim = machine(&pg, &site, &dir, "victim").args(opts).spawn();
    let survivor = machine(&pg, &site, &dir, "survivor").args(opts).spawn();
    assert!(
        wait_until(LIMIT, || pages_of(&pg, "victim") >= 20 && partitions_of(&pg, "survivor") > 0),
        "the victim stored pages, the survivor holds partitions"
    );
    let kids = crate::harness::children_of(victim.pid());
    kill9(victim.pid());
    for k in kids {
        kill9(k);
    }
    let victim_log = victim.wait_within(LIMIT).stderr;
    let survivor_log = finish(survivor);
    let pages = db_pages(&pg);
    let got: BTreeSet<String> = pages.keys().cloned().collect();
    crate::harness::assert_sets_eq("cluster pages after a kill -9", &expected, &got);
    assert_eq!(pages.len(), expected.len(), "each page once");
    assert!(pages.values().any(|m| m == "survivor"));

    let (v, sr) = (records(&victim_log), records(&survivor_log));
    assert_eq!(
        sr.sent,
        sr.committed + sr.refused,
        "the survivor accounted for every record: {sr:?}"
    );
    let in_flight = 4 + v.sent.saturating_sub(v.committed + v.refused);
    let twice = (fetches(&site) - single).saturating_sub(single);
    eprintln!(
        "fetched twice: {twice}; victim in flight <= {in_flight} ({v:?}); refused: survivor {}",
        sr.refused
    );
    assert!(
        twice <= in_flight + v.refused + sr.refused,
        "fetched twice {twice} > in flight {in_flight} + refused {} + {}",
        v.refused,
        sr.refused
    );
}

#[test]
fn max_pages_holds_across_machines() {
    let site = site(60);
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let machines: Vec<Running> = ["a", "b", "c"]
        .iter()
        .map(|m| machine(&pg, &site, &dir, m).args(["--max-pages", "25"]).spawn())
        .collect();
    for m in machines {
        finish(m);
    }
    assert_eq!(db_pages(&pg).len(), 25, "--max-pages 25 over 3 machines");
}

/// Not a check: wall-clock pages/s of a local crawl and of 1 and 3
/// cluster machines on one 5-host site with 20 ms latency. Run with
/// `cargo test --test e2e cluster::measure -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, prints numbers"]
fn measure_one_and_three_machines() {
    let site = SiteServer::start_with(
        SiteSpec::with_pages(100),
        ServeOptions { hosts: 5, latency: Duration::from_millis(20), ..Default::default() },
    )
    .unwrap();
    let dir = TestDir::new();
    let t = std::time::Instant::now();
    Trawl::crawl(&site.base_url(), &dir.path("local"))
        .args(["--scope", "any", "--workers", "1"])
        .run()
        .success();
    let local = t.elapsed();
    let n = query_jsonl(&dir.path("local")).len();
    eprintln!("local: {n} pages in {local:.2?}: {:.0} pages/s", n as f64 / local.as_secs_f64());
    for k in [1, 3] {
        let pg = TestPostgres::start().unwrap();
        let dir = TestDir::new();
        let t = std::time::Instant::now();
        let ms: Vec<Running> =
            (0..k).map(|i| machine(&pg, &site, &dir, &format!("m{i}")).spawn()).collect();
        for m in ms {
            finish(m);
        }
        let el = t.elapsed();
        let pages = db_pages(&pg).len();
        eprintln!(
            "{k} machine(s): {pages} pages in {el:.2?}: {:.0} pages/s",
            pages as f64 / el.as_secs_f64()
        );
    }
}

#[test]
fn bad_cluster_flags_fail_before_anything_starts() {
    let dir = TestDir::new();
    for (args, named) in [
        (vec!["--cluster", "http://127.0.0.1/"], "--cluster"),
        (vec!["--cluster-name", "a"], "--cluster-name"),
        (
            vec!["--cluster", "postgres://u@127.0.0.1/db", "--cluster-lease", "10ms"],
            "--cluster-lease",
        ),
    ] {
        let out = Trawl::crawl("http://127.0.0.1:9/", &dir.store()).args(&args).run();
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(named), "{args:?} names {named}: {}", out.stderr);
        assert!(!dir.store().exists(), "{args:?}: nothing created");
    }
}

/// Issue 12, test 4: a machine that joins mid-crawl takes a share (holds
/// partitions and stores pages while the crawl runs); the first machine
/// then leaves with SIGTERM: it drains, commits, releases everything, and
/// its partitions move to the joiner without loss.
#[test]
fn a_machine_joins_mid_crawl_and_one_leaves_with_sigterm_without_loss() {
    let site = site(60);
    let expected = single_machine_set(&site);
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let first = machine(&pg, &site, &dir, "first").args(["--delay", "50ms"]).spawn();
    assert!(wait_until(LIMIT, || pages_of(&pg, "first") >= 30), "the first machine crawls");
    let joiner = machine(&pg, &site, &dir, "joiner").args(["--delay", "50ms"]).spawn();
    assert!(
        wait_until(LIMIT, || partitions_of(&pg, "joiner") > 0 && pages_of(&pg, "joiner") > 0),
        "the joiner took partitions and stored pages"
    );
    assert!(crate::harness::is_running(first.pid()), "the crawl was still running");
    let stored = pages_of(&pg, "first") + pages_of(&pg, "joiner");
    assert!((stored as usize) < expected.len(), "joined mid-crawl: {stored} stored");
    signal(first.pid(), libc::SIGTERM);
    let left = first.wait_within(LIMIT);
    assert_eq!(partitions_of(&pg, "first"), 0, "released on SIGTERM: {}", left.stderr);
    finish(joiner);
    let pages = db_pages(&pg);
    let got: BTreeSet<String> = pages.keys().cloned().collect();
    crate::harness::assert_sets_eq("cluster pages after a join and a SIGTERM", &expected, &got);
    // Everything the leaver fetched reached the database, but for records
    // a fence refused (a partition handed to the joiner with a page in
    // flight), which the joiner fetched again.
    let r = records(&left.stderr);
    assert_eq!(r.sent, r.committed + r.refused, "{r:?}");
    let local = query_jsonl(&dir.path("first")).len() as u64;
    let in_db = pages.values().filter(|m| *m == "first").count() as u64;
    assert!(in_db <= local && local <= in_db + r.refused, "local {local}, db {in_db}, {r:?}");
}

/// Issue 12, test 3: a machine stopped (SIGSTOP) past its lease; the other
/// takes all its partitions; on SIGCONT its late commits (the pages its
/// workers finished meanwhile) are refused and logged, it drops those
/// partitions' work and takes a share again; nothing is lost or stored
/// twice.
#[test]
fn a_machine_paused_past_its_lease_has_its_late_commits_refused() {
    // Latency keeps requests in flight: the paused machine holds some.
    let site = SiteServer::start_with(
        SiteSpec::with_pages(40),
        ServeOptions { hosts: 5, latency: Duration::from_millis(100), ..Default::default() },
    )
    .expect("start the 5-host site");
    let expected = single_machine_set(&site);
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let opts = ["--concurrency", "4"];
    let paused = machine(&pg, &site, &dir, "paused").args(opts).spawn();
    let other = machine(&pg, &site, &dir, "other").args(opts).spawn();
    assert!(
        wait_until(LIMIT, || pages_of(&pg, "paused") >= 10 && pages_of(&pg, "other") >= 10),
        "both crawl"
    );
    // The coordinator only: its workers finish the requests they hold.
    signal(paused.pid(), libc::SIGSTOP);
    let took_all = wait_until(LIMIT, || partitions_of(&pg, "other") == 1024);
    signal(paused.pid(), libc::SIGCONT);
    assert!(took_all, "the other machine took every partition of the paused one");
    let paused_log = finish(paused);
    finish(other);
    let pages = db_pages(&pg);
    let got: BTreeSet<String> = pages.keys().cloned().collect();
    crate::harness::assert_sets_eq("cluster pages after a SIGSTOP", &expected, &got);
    assert_eq!(pages.len(), expected.len(), "each page once");
    let r = records(&paused_log);
    assert!(
        paused_log.contains("partitions taken over by another machine"),
        "the paused machine noticed: {}",
        crate::harness::tail(&paused_log, 3000)
    );
    assert!(
        r.refused > 0
            && paused_log.contains("late commit refused")
            && paused_log.contains("machine=paused"),
        "its late commits were refused: {r:?}"
    );
    assert_eq!(r.sent, r.committed + r.refused, "{r:?}");
}
