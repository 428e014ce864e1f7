//! Cluster mode, the operator's side (issue 12): `trawl export --cluster`
//! over the whole crawl, `trawl status --cluster`, `/api/cluster` and the
//! `trawl_cluster_*` metrics of a running 2-machine crawl, on a real
//! PostgreSQL and a generated 5-host site on 127.0.0.1.

use crate::harness::{Running, TestDir, Trawl, parse_jsonl, query_jsonl, s, wait_api, wait_until};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trawl_cluster::test_pg::TestPostgres;
use trawl_cluster::{Cluster, MachineId};
use trawl_site::{ServeOptions, SiteServer, SiteSpec};

const LIMIT: Duration = Duration::from_secs(120);

fn site(pages: u32, latency: Duration) -> SiteServer {
    SiteServer::start_with(
        SiteSpec::with_pages(pages),
        ServeOptions { hosts: 5, latency, ..Default::default() },
    )
    .expect("start the 5-host site")
}

/// `trawl crawl --cluster` for machine `name`, its own store.
fn machine(pg: &TestPostgres, site: &SiteServer, dir: &TestDir, name: &str) -> Trawl {
    Trawl::crawl(&site.base_url(), &dir.path(name))
        .args(["--cluster", &pg.url(), "--cluster-name", name, "--cluster-lease", "2s"])
        .args(["--scope", "any", "--workers", "1"])
}

/// One SQL answer from the cluster's database: (url, machine) of every
/// page row, and the URLs with a kept body.
fn db(pg: &TestPostgres) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = Cluster::connect(&pg.url(), MachineId::new("test-reader").unwrap()).unwrap();
        let client = c.client().await.unwrap();
        let pages = client.query("SELECT url, machine FROM trawl.pages", &[]).await.unwrap();
        let bodies = client.query("SELECT url FROM trawl.bodies", &[]).await.unwrap();
        (
            pages.iter().map(|r| (r.get(0), r.get(1))).collect(),
            bodies.iter().map(|r| r.get(0)).collect(),
        )
    })
}

/// What does not depend on which machine fetched a page, or when.
fn portable(p: &serde_json::Value) -> serde_json::Value {
    let mut p = p.clone();
    let o = p.as_object_mut().unwrap();
    for k in ["fetched_at", "elapsed_ms", "worker", "depth", "attempts"] {
        o.remove(k);
    }
    p
}

/// `trawl status --cluster URL --json`, parsed.
fn status(pg: &TestPostgres) -> serde_json::Value {
    let out = Trawl::new("status").args(["--cluster", &pg.url(), "--json"]).run().success();
    serde_json::from_str(out.stdout.trim()).unwrap()
}

#[test]
fn export_cluster_after_two_machines_is_the_union_of_what_was_crawled() {
    let site = site(30, Duration::ZERO);
    // A single machine's store of the same site: what the export must equal.
    let single = TestDir::new();
    Trawl::crawl(&site.base_url(), &single.store()).args(["--scope", "any"]).run().success();
    let expected = query_jsonl(&single.store());
    assert!(expected.len() >= 100, "the site spans 5 hosts: {}", expected.len());

    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let machines: Vec<Running> = ["m1", "m2"]
        .iter()
        .map(|m| machine(&pg, &site, &dir, m).arg("--keep-bodies").spawn())
        .collect();
    for m in machines {
        m.wait_within(LIMIT).success();
    }
    let (pages, bodies) = db(&pg);
    assert!(pages.values().collect::<BTreeSet<_>>().len() == 2, "both machines stored pages");

    // jsonl: every page once, in the byte order of the URL (as a store
    // exports), each the record of the machine that stored it.
    let out = Trawl::new("export").args(["--cluster", &pg.url()]).run().success();
    let rows = parse_jsonl(&out.stdout);
    assert!(out.stderr.contains(&format!("exported {} pages", rows.len())), "{}", out.stderr);
    let urls: Vec<&str> = rows.iter().map(|r| s(r, "url")).collect();
    let mut sorted = urls.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(urls, sorted, "URL byte order, each once");
    let mut union = Vec::new();
    for m in ["m1", "m2"] {
        union.extend(query_jsonl(&dir.path(m)).into_iter().filter(|p| pages[s(p, "url")] == m));
    }
    union.sort_by(|a, b| s(a, "url").cmp(s(b, "url")));
    assert_eq!(rows.len(), union.len());
    let no_time = |p: &serde_json::Value| {
        let mut p = p.clone();
        p.as_object_mut().unwrap().remove("fetched_at");
        p
    };
    for (a, b) in rows.iter().zip(&union) {
        assert_eq!(no_time(a), no_time(b), "export --cluster vs the storing machine's store");
    }
    // The same pages as one machine's crawl, field by field, but for what
    // depends on the machine and the moment (time, worker, depth found).
    let single_rows: Vec<serde_json::Value> = expected.iter().map(portable).collect();
    let cluster_rows: Vec<serde_json::Value> = rows.iter().map(portable).collect();
    assert_eq!(cluster_rows, single_rows, "export --cluster vs a single store's export");

    // csv: the store export's header, one line per page.
    let csv =
        Trawl::new("export").args(["--cluster", &pg.url(), "--format", "csv"]).run().success();
    let local_csv = Trawl::new("export")
        .arg("--store")
        .arg(single.store())
        .args(["--format", "csv"])
        .run()
        .success();
    assert_eq!(csv.stdout.lines().next(), local_csv.stdout.lines().next(), "csv header");
    assert_eq!(csv.stdout.lines().count(), rows.len() + 1);

    // WARC: one resource record per kept body (the database keeps bodies,
    // not response heads), each payload the body the database holds.
    assert!(!bodies.is_empty(), "--keep-bodies kept bodies");
    let warc = dir.path("out.warc.gz");
    let w = Trawl::new("export")
        .args(["--cluster", &pg.url(), "--format", "warc", "-o"])
        .arg(&warc)
        .run()
        .success();
    assert!(
        w.stderr.contains(&format!("exported {} resource records", bodies.len())),
        "{}",
        w.stderr
    );
    let py = "import gzip,sys\n\
              d=gzip.open(sys.argv[1]).read()\n\
              print(d.count(b'WARC-Type: resource\\r\\n'), d.count(b'WARC-Type: warcinfo\\r\\n'))";
    let counted =
        std::process::Command::new("python3").args(["-c", py]).arg(&warc).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&counted.stdout).trim(),
        format!("{} 1", bodies.len()),
        "records in the WARC"
    );

    // Bad input fails before anything is read.
    let bad = Trawl::new("export").args(["--cluster", "http://127.0.0.1/"]).run();
    assert_eq!(bad.code(), Some(2), "{}", bad.stderr);
    let both =
        Trawl::new("export").args(["--cluster", &pg.url(), "--store"]).arg(single.store()).run();
    assert_eq!(both.code(), Some(2), "--cluster and --store conflict: {}", both.stderr);
}

#[test]
fn status_api_and_metrics_show_a_running_two_machine_crawl() {
    // 25 ms per response and --delay 200ms per host (5 hosts: at most 25
    // pages/s): the crawl runs for seconds, long enough to look at it.
    let site = site(40, Duration::from_millis(25));
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let max = 150u64;
    let running: Vec<Running> = ["a", "b"]
        .iter()
        .map(|m| {
            machine(&pg, &site, &dir, m)
                .args(["--delay", "200ms", "--max-pages", &max.to_string(), "--api", "127.0.0.1:0"])
                .spawn()
        })
        .collect();
    let addr = wait_api(&dir.path("a"), &running[0]);

    // While it runs: both machines alive, every partition held, workers
    // and a rate reported by their heartbeats.
    let mut seen = serde_json::Value::Null;
    let ok = wait_until(Duration::from_secs(60), || {
        seen = status(&pg);
        let ms = seen["machines"].as_array().cloned().unwrap_or_default();
        ms.len() == 2
            && seen["alive"] == 2
            && seen["partitions_held"] == 1024
            && ms.iter().all(|m| m["partitions"].as_u64() > Some(0) && m["workers"] == 1)
            && ms.iter().any(|m| m["pages_per_sec"].as_f64() > Some(0.0))
            && seen["pages"].as_u64() > Some(0)
    });
    assert!(ok, "a running 2-machine crawl in trawl status --cluster: {seen}");
    assert_eq!(seen["partitions"], 1024, "{seen}");
    assert_eq!(seen["max_pages"], max, "{seen}");
    assert!(seen["machines"].as_array().unwrap().iter().all(|m| m["alive"] == true), "{seen}");
    assert!(seen["outcomes"]["ok"].as_u64() > Some(0), "{seen}");
    let table = Trawl::new("status").args(["--cluster", &pg.url()]).run().success();
    assert!(
        table.stdout.contains("2 of 2 machines alive, 1024 of 1024 partitions held"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains(&format!(" of {max} (")), "max-pages progress: {}", table.stdout);

    // The machine's API: the same view as JSON, and the cluster metrics.
    let api = crate::harness::get(&addr, "/api/cluster", None);
    assert_eq!(api.status, 200, "{}", api.text());
    let j: serde_json::Value = serde_json::from_str(&api.text()).unwrap();
    assert_eq!(j["partitions"], 1024);
    assert_eq!(j["machines"].as_array().map(Vec::len), Some(2), "{j}");
    let metrics = crate::harness::get(&addr, "/metrics", None);
    assert_eq!(metrics.status, 200);
    let m = &metrics.text();
    assert!(m.contains("trawl_cluster_up 1\n"), "{m}");
    assert!(m.contains("trawl_cluster_machines 2\n"), "{m}");
    assert!(m.contains("# TYPE trawl_cluster_pages_total counter\n"), "{m}");
    assert!(m.contains("trawl_cluster_pages_total{outcome=\"ok\"} "), "{m}");
    let held: u64 = ["a", "b"]
        .iter()
        .map(|id| {
            let prefix = format!("trawl_cluster_partitions{{machine=\"{id}\"}} ");
            let line = m
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("{prefix}: {m}"));
            line[prefix.len()..].parse::<u64>().unwrap()
        })
        .sum();
    assert!(held <= 1024 && held > 0, "partitions per machine: {m}");
    assert!(m.contains(&format!("trawl_cluster_max_pages {max}\n")), "{m}");

    for r in running {
        r.wait_within(LIMIT).success();
    }
    // Finished: --max-pages held across machines, the counters agree with
    // the rows, nothing left to hand out, nobody alive.
    let done = status(&pg);
    let (pages, _) = db(&pg);
    assert_eq!(pages.len() as u64, max, "--max-pages across 2 machines");
    assert_eq!(done["pages"], max, "{done}");
    assert_eq!(done["progress"], 1.0, "{done}");
    assert_eq!(done["alive"], 0, "{done}");
    assert_eq!(done["partitions_held"], 0, "{done}");
    let per_machine: u64 =
        done["machines"].as_array().unwrap().iter().map(|m| m["pages"].as_u64().unwrap()).sum();
    assert_eq!(per_machine, max, "{done}");
    let by_outcome: u64 =
        done["outcomes"].as_object().unwrap().values().filter_map(|v| v.as_u64()).sum();
    assert_eq!(by_outcome, max, "{done}");
}

#[test]
fn the_api_has_no_cluster_view_without_cluster() {
    let site = site(20, Duration::from_millis(20));
    let dir = TestDir::new();
    let r = Trawl::crawl(&site.base_url(), &dir.store())
        .args(["--scope", "any", "--delay", "100ms", "--api", "127.0.0.1:0"])
        .spawn();
    let addr = wait_api(&dir.store(), &r);
    assert_eq!(crate::harness::get(&addr, "/api/cluster", None).status, 404);
    let m = crate::harness::get(&addr, "/metrics", None).text();
    assert!(!m.contains("trawl_cluster_"), "{m}");
    crate::harness::kill9(r.pid());
    let _ = r.wait_within(LIMIT);
}
