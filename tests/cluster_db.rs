//! Cluster mode through the database (issue 12): crash counts, robots.txt
//! and sitemap URLs cross machines in PostgreSQL; the deploy files parse
//! and verify. Separate `trawl crawl --cluster` processes on one private
//! PostgreSQL (`trawl-cluster`'s `test-support`), sites on 127.0.0.1.

use crate::harness::{
    LogServer, Reply, Running, TestDir, Trawl, children_of, kill9, trawl_bin, wait_until,
};
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

/// `trawl crawl --cluster` for machine `name` from `seed`, its own store.
fn machine(pg: &TestPostgres, seed: &str, dir: &TestDir, name: &str) -> Trawl {
    Trawl::crawl(seed, &dir.path(name))
        .args(["--cluster", &pg.url(), "--cluster-name", name, "--cluster-lease", "2s"])
        .args(["--scope", "any", "--workers", "1"])
}

/// Rows of `sql` (text columns), none before the schema exists.
fn rows(pg: &TestPostgres, sql: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = Cluster::connect(&pg.url(), MachineId::new("test-reader").unwrap()).unwrap();
        let Ok(rows) = c.client().await.unwrap().query(sql, &[]).await else {
            return Vec::new();
        };
        rows.iter().map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect()).collect()
    })
}

/// url -> machine that stored it.
fn db_pages(pg: &TestPostgres) -> BTreeMap<String, String> {
    rows(pg, "SELECT url, machine FROM trawl.pages")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

fn kill_machine(m: Running) {
    for k in children_of(m.pid()) {
        kill9(k);
    }
    kill9(m.pid());
    drop(m);
}

/// A page that kills every worker that takes it (the worker aborts on
/// it, `TRAWL_WORKER_CRASH_ON`), added once 2 machines share the
/// partitions; the one holding it is killed once its first crash is
/// counted. The new owner carries on from the database's count: the page
/// is `poison` after `--crash-limit` crashes in all, not after that many
/// on each machine.
#[test]
fn a_page_that_kills_workers_is_poison_once_for_the_cluster() {
    const CRASH_LIMIT: u64 = 3;
    let site = site(30);
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let killer = format!("{}killer-page", site.base_urls()[1]);
    let spawn = |name: &str| {
        machine(&pg, &site.base_url(), &dir, name)
            .args(["--crash-limit", &CRASH_LIMIT.to_string(), "--json", "--delay", "50ms"])
            .env("TRAWL_WORKER_CRASH_ON", "/killer-page")
            .spawn()
    };
    let mut running: BTreeMap<String, Running> =
        ["m1", "m2"].iter().map(|m| (m.to_string(), spawn(m))).collect();
    let owners = "SELECT count(DISTINCT owner)::text FROM trawl.partitions WHERE owner IS NOT NULL";
    assert!(
        wait_until(LIMIT, || rows(&pg, owners).first().is_some_and(|r| r[0] == "2")),
        "both machines hold partitions"
    );
    // The killer goes in now, so only its owner at this point can crash
    // on it before the kill.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = Cluster::connect(&pg.url(), MachineId::new("test-seeder").unwrap()).unwrap();
        let url = trawl_common::url::Url::parse(&killer).unwrap();
        c.add_urls(&[trawl_cluster::NewUrl::new(&url, 0)]).await.unwrap();
    });
    // Crash rows: the killer's, and any other (a worker the coordinator
    // killed as hung on this loaded host counts against what it held).
    let crash_rows = || {
        rows(
            &pg,
            "SELECT c.url, c.count::text, coalesce(p.owner, '') FROM trawl.crashes c
             JOIN trawl.partitions p ON p.id = c.partition",
        )
    };
    let killer_row = || crash_rows().into_iter().find(|r| r[0] == killer);
    assert!(wait_until(LIMIT, || killer_row().is_some()), "the killer's crash was counted");
    let first = killer_row().expect("counted");
    let victim = first[2].clone();
    assert!(running.contains_key(&victim), "the killer's partition is held: {first:?}");
    kill_machine(running.remove(&victim).expect("victim"));
    // What the victim counted (read after the kill: no crash of its can
    // land later).
    let at_kill: u64 = killer_row().expect("counted")[1].parse().unwrap();
    let (survivor, run) = running.into_iter().next().expect("survivor");
    let out = run.wait_within(LIMIT).success();
    let total: u64 = killer_row().expect("counted")[1].parse().unwrap();
    let others: u64 =
        crash_rows().iter().filter(|r| r[0] != killer).map(|r| r[1].parse::<u64>().unwrap()).sum();
    let pages = db_pages(&pg);
    let poison = crate::harness::parse_jsonl(
        &Trawl::new("query")
            .args(["--cluster", &pg.url(), "--format", "jsonl", "--outcome", "poison"])
            .run()
            .success()
            .stdout,
    );
    let poisoned: Vec<&str> = poison.iter().map(|p| crate::harness::s(p, "url")).collect();
    assert!(poisoned.contains(&killer.as_str()), "the killer ends poison: {poisoned:?}");
    assert_eq!(
        pages.get(&killer).map(String::as_str),
        Some(survivor.as_str()),
        "the survivor recorded it"
    );
    assert_eq!(total, CRASH_LIMIT, "crashes counted across machines = the limit, not more");
    // Independent of the database's count: the survivor's own worker
    // deaths (its summary) are what the limit left after the victim's
    // (plus any hung-kill elsewhere, counted against other URLs).
    let restarts = out.summary()["restarts"].as_u64().expect("summary has restarts");
    assert!((1..CRASH_LIMIT).contains(&at_kill), "the victim was killed early: {at_kill}");
    assert!(
        restarts + at_kill >= CRASH_LIMIT && restarts + at_kill <= CRASH_LIMIT + others,
        "the survivor crashed {restarts} times after the victim's {at_kill} ({others} crashes \
         on other URLs): it did not start counting from zero"
    );
}

/// robots.txt is fetched once per host for the cluster: a machine that
/// joins mid-crawl takes partitions whose hosts' robots.txt the first
/// machine fetched, and uses the stored answers.
#[test]
fn a_new_owner_uses_the_stored_robots_txt_instead_of_fetching_it_again() {
    let site = site(30);
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let hosts: BTreeSet<String> = site
        .base_urls()
        .iter()
        .map(|u| u.trim_start_matches("http://").trim_end_matches('/').to_owned())
        .collect();
    let first = machine(&pg, &site.base_url(), &dir, "first").args(["--delay", "50ms"]).spawn();
    let host_of =
        |u: &str| u.trim_start_matches("http://").split('/').next().unwrap_or("").to_owned();
    // The first machine, alone, holds every partition and has fetched
    // robots.txt for every host of the site.
    assert!(
        wait_until(LIMIT, || {
            let on: BTreeSet<String> = db_pages(&pg).keys().map(|u| host_of(u)).collect();
            hosts.is_subset(&on)
        }),
        "the first machine crawled every host"
    );
    let stored_before: BTreeSet<String> =
        rows(&pg, "SELECT host FROM trawl.robots").into_iter().map(|r| r[0].clone()).collect();
    assert!(hosts.is_subset(&stored_before), "robots.txt stored: {stored_before:?}");
    let second = machine(&pg, &site.base_url(), &dir, "second").args(["--delay", "50ms"]).spawn();
    first.wait_within(LIMIT).success();
    second.wait_within(LIMIT).success();
    let pages = db_pages(&pg);
    let taken: BTreeSet<String> =
        pages.iter().filter(|(_, m)| *m == "second").map(|(u, _)| host_of(u)).collect();
    assert!(
        taken.iter().any(|h| hosts.contains(h)),
        "the second machine took over hosts of the site: {taken:?}"
    );
    // The site counts robots.txt requests to its 127.0.0.1 hosts (those
    // for its `localhost` aliases are off-site hits).
    assert_eq!(
        site.robots_hits(),
        hosts.len() as u64,
        "one robots.txt request per host of the site across the handover"
    );
    let stored: BTreeSet<String> =
        rows(&pg, "SELECT host FROM trawl.robots").into_iter().map(|r| r[0].clone()).collect();
    let with_pages: BTreeSet<String> = pages.keys().map(|u| host_of(u)).collect();
    assert_eq!(stored, with_pages, "one stored answer per host crawled");
}

/// `--sitemaps` across machines: the sitemap one machine fetches lists
/// pages of hosts other machines own; those reach their owners (URL rows
/// and the inbox, like links) and are stored.
#[test]
fn sitemap_urls_of_other_machines_hosts_reach_their_owners() {
    const HOSTS: usize = 12;
    let ports = std::sync::Arc::new(std::sync::OnceLock::<Vec<u16>>::new());
    let known = ports.clone();
    let server = LogServer::start(HOSTS, move |port, path| {
        let all = known.get().cloned().unwrap_or_default();
        let first = all.first().copied().unwrap_or(0);
        match path {
            "/robots.txt" if port == first => Reply::text(
                200,
                &format!("User-agent: *\nAllow: /\nSitemap: http://127.0.0.1:{port}/sitemap.xml\n"),
            ),
            "/sitemap.xml" => {
                let locs: String = all
                    .iter()
                    .map(|p| format!("<url><loc>http://127.0.0.1:{p}/orphan</loc></url>"))
                    .collect();
                Reply::bytes(
                    "application/xml",
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset \
                         xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{locs}</urlset>\n"
                    )
                    .into_bytes(),
                )
            }
            "/" | "/orphan" => Reply::html("page", "<p>no links</p>"),
            _ => Reply::not_found(),
        }
    });
    ports.set(server.ports.clone()).expect("ports set once");
    let pg = TestPostgres::start().expect("start PostgreSQL");
    let dir = TestDir::new();
    let machines: Vec<Running> = ["s1", "s2"]
        .iter()
        .map(|m| machine(&pg, &server.base_url(0), &dir, m).arg("--sitemaps").spawn())
        .collect();
    for m in machines {
        m.wait_within(LIMIT).success();
    }
    let pages = db_pages(&pg);
    let mut want: BTreeSet<String> =
        server.ports.iter().map(|p| format!("http://127.0.0.1:{p}/orphan")).collect();
    want.insert(server.base_url(0));
    let got: BTreeSet<String> = pages.keys().cloned().collect();
    crate::harness::assert_sets_eq("pages with --sitemaps over 2 machines", &want, &got);
    let by: BTreeSet<&String> = pages.values().collect();
    assert_eq!(by.len(), 2, "both machines stored sitemap pages: {pages:?}");
    // Fetched by host 0's owner; again by a new owner if host 0's
    // partition moved while the machines settled their shares (a stored
    // robots.txt hands its sitemaps to the new owner: the old one may
    // have died before fetching them).
    let fetched = server.count("/sitemap.xml");
    assert!((1..=3).contains(&fetched), "the sitemap was fetched {fetched} times");
}

/// The deploy files: YAML that parses (compose and Kubernetes, checked
/// with Python's yaml module: no YAML crate in the workspace) with the
/// settings the cluster relies on, and a systemd unit `systemd-analyze
/// verify` accepts without a warning (when systemd-analyze is installed).
#[test]
fn deploy_files_parse_and_hold_the_drain() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/cluster");
    let check = r#"
import json, sys, yaml
out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        out[path.rsplit('/', 1)[-1]] = list(yaml.safe_load_all(f))
print(json.dumps(out))
"#;
    let files: Vec<String> = [
        "compose.yaml",
        "k8s/namespace.yaml",
        "k8s/secret.yaml",
        "k8s/deployment.yaml",
        "k8s/service.yaml",
    ]
    .iter()
    .map(|f| root.join(f).display().to_string())
    .collect();
    let py = std::process::Command::new("python3")
        .arg("-c")
        .arg(check)
        .args(&files)
        .output()
        .expect("python3 runs (with PyYAML: .ci/run installs it)");
    assert!(py.status.success(), "YAML parses: {}", String::from_utf8_lossy(&py.stderr));
    let docs: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    let compose = &docs["compose.yaml"][0];
    assert_eq!(compose["services"]["db"]["image"], "postgres:15");
    assert!(compose["services"]["db"]["healthcheck"]["test"].is_array());
    for n in ["node1", "node2", "node3"] {
        let node = &compose["services"][n];
        assert_eq!(node["build"]["dockerfile"], "deploy/Dockerfile", "{n}");
        assert_eq!(node["depends_on"]["db"]["condition"], "service_healthy", "{n}");
        assert_eq!(node["stop_grace_period"], "120s", "{n}");
        let cmd: Vec<&str> =
            node["command"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(&cmd[..2], ["crawl", "--cluster"], "{n}");
    }
    let kinds: BTreeSet<&str> =
        ["namespace.yaml", "secret.yaml", "deployment.yaml", "service.yaml"]
            .iter()
            .map(|f| docs[*f][0]["kind"].as_str().unwrap())
            .collect();
    assert_eq!(kinds, BTreeSet::from(["Namespace", "Secret", "Deployment", "Service"]));
    let pod = &docs["deployment.yaml"][0]["spec"]["template"]["spec"];
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() >= 100, "longer than the drain");
    let c = &pod["containers"][0];
    let secret_keys: BTreeSet<&str> = docs["secret.yaml"][0]["stringData"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for env in c["env"].as_array().unwrap() {
        if let Some(key) = env["valueFrom"]["secretKeyRef"]["key"].as_str() {
            assert!(secret_keys.contains(key), "{key} is in the secret");
        }
    }
    let args: Vec<&str> = c["args"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(&args[..3], ["crawl", "--cluster", "$(TRAWL_CLUSTER)"]);
    // The flags the manifests pass are flags trawl takes (bad ones exit 2
    // before anything starts; a database that is not there exits 1).
    let store = TestDir::new();
    let out = Trawl::new("crawl")
        .args(args[1..].iter().map(|a| match *a {
            "$(TRAWL_CLUSTER)" => "postgres://trawl@127.0.0.1:9/trawl".to_owned(),
            "/data/store" => store.store().display().to_string(),
            "0.0.0.0:7878" => "127.0.0.1:0".to_owned(),
            "https://example.org/" => "http://127.0.0.1:9/".to_owned(),
            other => other.to_owned(),
        }))
        .run();
    assert_ne!(out.code(), Some(2), "the manifest's flags are valid: {}", out.stderr);

    let unit = std::fs::read_to_string(root.join("trawl-node.service")).unwrap();
    assert!(unit.contains("EnvironmentFile=") && unit.contains("--cluster ${TRAWL_CLUSTER}"));
    assert!(unit.contains("Restart=on-failure") && unit.contains("TimeoutStopSec=120"));
    if std::process::Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("systemd-analyze not installed: the unit is not verified");
        return;
    }
    let dir = TestDir::new();
    std::fs::create_dir_all(dir.path("units")).unwrap();
    let copy = dir.path("units").join("trawl-node.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/trawl", trawl_bin())).unwrap();
    let v =
        std::process::Command::new("systemd-analyze").arg("verify").arg(&copy).output().unwrap();
    let err = String::from_utf8_lossy(&v.stderr);
    assert!(v.status.success() && err.trim().is_empty(), "systemd-analyze verify: {err}");
}

/// CPU seconds used so far by the postmaster `root` and its children:
/// live ones from their own `/proc` stat, exited ones (the connections of
/// machines that left) from the postmaster's cutime + cstime.
fn postgres_cpu(root: u32) -> f64 {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // After the ")" closing the command name: state ppid ... utime(12)
        // stime(13) cutime(14) cstime(15), 1-based after the ")".
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let pid: u32 = head.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let f: Vec<u64> = rest.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
        if pid == root {
            ticks += f[10] + f[11] + f[12] + f[13];
        } else if f.first() == Some(&u64::from(root)) {
            ticks += f[10] + f[11];
        }
    }
    ticks as f64 / 100.0
}

/// (bytes, rows) of a table.
fn table_size(pg: &TestPostgres, table: &str) -> (f64, f64) {
    let r = rows(
        pg,
        &format!(
            "SELECT pg_total_relation_size('trawl.{table}')::text, (SELECT count(*) FROM trawl.{table})::text"
        ),
    );
    (r[0][0].parse().unwrap(), r[0][1].parse().unwrap())
}

/// Not a check: the issue's benchmark on one shared host. 1, 2 and 3
/// machines (1 worker each) on a 100-page spec served by 5 hosts with
/// 20 ms latency; pages/s (start to the last exit), PostgreSQL CPU per
/// page, database bytes per stored page and per URL row; then 2 machines
/// with one killed mid-crawl: pages lost and fetched twice. Run with
/// `cargo test --test e2e cluster_db::measure -- --ignored --nocapture`
/// (a release build: `--release`).
#[test]
#[ignore = "a measurement, prints numbers"]
fn measure_one_two_three_machines_and_a_kill() {
    let site = SiteServer::start_with(
        SiteSpec::with_pages(100),
        ServeOptions { hosts: 5, latency: Duration::from_millis(20), ..Default::default() },
    )
    .unwrap();
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut one = 0.0;
    for k in [1, 2, 3] {
        let pg = TestPostgres::start().unwrap();
        let root = pg.pid().unwrap();
        let dir = TestDir::new();
        let (cpu0, t) = (postgres_cpu(root), std::time::Instant::now());
        let ms: Vec<Running> = (0..k)
            .map(|i| machine(&pg, &site.base_url(), &dir, &format!("m{i}")).spawn())
            .collect();
        for m in ms {
            m.wait_within(Duration::from_secs(600)).success();
        }
        let el = t.elapsed().as_secs_f64();
        let cpu = postgres_cpu(root) - cpu0;
        let (pb, pn) = table_size(&pg, "pages");
        let (ub, un) = table_size(&pg, "urls");
        if k == 1 {
            one = pn;
        }
        eprintln!(
            "{k} machine(s): {pn} pages in {el:.2} s = {:.0} pages/s; PostgreSQL CPU {:.3} ms/page; \
             {:.0} B/page row, {:.0} B/URL row ({un} URL rows); load {}",
            pn / el,
            cpu * 1000.0 / pn,
            pb / pn,
            ub / un,
            load().trim()
        );
    }
    let pg = TestPostgres::start().unwrap();
    let dir = TestDir::new();
    let victim = machine(&pg, &site.base_url(), &dir, "victim").spawn();
    let survivor = machine(&pg, &site.base_url(), &dir, "survivor").spawn();
    assert!(wait_until(LIMIT, || db_pages(&pg).values().filter(|m| *m == "victim").count() >= 200));
    kill_machine(victim);
    survivor.wait_within(Duration::from_secs(600)).success();
    let pages = db_pages(&pg);
    let fetched: usize = ["victim", "survivor"]
        .iter()
        .map(|m| crate::harness::query_jsonl(&dir.path(m)).len())
        .sum();
    eprintln!(
        "kill -9 of 1 of 2 machines: {} pages stored once each ({} lost), {} fetches ({} fetched \
         twice: the victim's in-flight and uncommitted pages); load {}",
        pages.len(),
        one - pages.len() as f64,
        fetched,
        fetched.saturating_sub(pages.len()),
        load().trim()
    );
}
