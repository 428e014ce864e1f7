//! `trawl bench --machines 1,2,3`: cluster mode (issue 12) on one host.
//! For each count, a private PostgreSQL (Debian's postgresql binaries,
//! started like the tests start it: `trawl_cluster::test_pg`) and a fresh
//! generated site; that many `trawl crawl --cluster` processes crawl it.
//! Reported per count: pages/s (start to the last exit), PostgreSQL CPU
//! per stored page (the postmaster and its children, from /proc), database
//! bytes per page row and per URL row. Then 2 machines, one killed (-9,
//! with its workers) once it stored a tenth of the pages: pages lost and
//! pages fetched twice (site requests minus stored pages).

use super::Plan;
use super::site::SiteProcess;
use anyhow::{Context as _, anyhow, bail};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use trawl_cluster::test_pg::TestPostgres;
use trawl_cluster::{Cluster, MachineId};

/// The lease of the bench's machines: a killed one's hosts wait this long.
const LEASE: &str = "3s";
/// How long one crawl may take.
const LIMIT: Duration = Duration::from_secs(1800);

/// What one cluster crawl cost.
struct Run {
    pages: f64,
    url_rows: f64,
    secs: f64,
    pg_cpu_secs: f64,
    page_bytes: f64,
    url_bytes: f64,
    site_pages: u64,
}

pub(super) fn run(plan: &Plan, machines: &[u32], workers: u32) -> anyhow::Result<ExitCode> {
    eprintln!(
        "trawl bench --machines: {} pages ({} host(s)), {workers} worker(s) per machine; \
         load average {:?}",
        plan.total_pages(),
        plan.shape.hosts,
        super::results::load_average()
    );
    println!("machines  pages  pages/s  PG CPU ms/page  B/page row  B/URL row");
    for &k in machines {
        let r = crawl(plan, k, workers, None)?;
        println!(
            "{k:>8}  {:>5}  {:>7.0}  {:>14.3}  {:>10.0}  {:>9.0}",
            r.pages,
            r.pages / r.secs,
            r.pg_cpu_secs * 1000.0 / r.pages,
            r.page_bytes / r.pages,
            r.url_bytes / r.url_rows
        );
    }
    let one = crawl(plan, 1, workers, None)?.pages;
    let killed = crawl(plan, 2, workers, Some(one / 10.0))?;
    println!(
        "kill -9 of 1 of 2 machines: {} pages stored ({} lost), {} fetched twice; \
         load average {:?}",
        killed.pages,
        one - killed.pages,
        killed.site_pages.saturating_sub(killed.pages as u64),
        super::results::load_average()
    );
    Ok(ExitCode::SUCCESS)
}

/// One crawl by `k` machines; with `kill_after`, the first machine is
/// killed once it stored that many pages.
fn crawl(plan: &Plan, k: u32, workers: u32, kill_after: Option<f64>) -> anyhow::Result<Run> {
    let pg = TestPostgres::start().context(
        "starting PostgreSQL (needs Debian's postgresql package: /usr/lib/postgresql/<v>/bin)",
    )?;
    let root = pg.pid().ok_or_else(|| anyhow!("PostgreSQL has no pid"))?;
    let site = SiteProcess::start(&plan.shape)?;
    let tmp = tempfile::tempdir().context("creating the stores' directory")?;
    let exe = std::env::current_exe().context("locating the trawl executable")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let reader =
        Cluster::connect(&pg.url(), MachineId::new("bench").ok_or_else(|| anyhow!("id"))?)?;
    let cpu0 = pg_cpu(root);
    let start = Instant::now();
    let mut children: Vec<Child> = (0..k)
        .map(|i| {
            let mut c = Command::new(&exe);
            c.args(["crawl", "--cluster", &pg.url(), "--cluster-lease", LEASE, "--scope", "any"])
                .args(["--cluster-name", &format!("m{i}"), "--workers", &workers.to_string()])
                .arg("--store")
                .arg(tmp.path().join(format!("m{i}")))
                .args(site.base_urls())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(d) = plan.delay {
                c.args(["--delay", &format!("{}ms", d.as_millis())]);
            }
            // Its own process group, so a kill takes its workers too.
            std::os::unix::process::CommandExt::process_group(&mut c, 0);
            c.spawn().context("starting a machine")
        })
        .collect::<anyhow::Result<_>>()?;
    if let Some(n) = kill_after {
        let mut victim = children.remove(0);
        let stored = "SELECT count(*) FROM trawl.pages WHERE machine = 'm0'";
        while count(&rt, &reader, stored) < n && start.elapsed() < LIMIT {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", victim.id())]).status();
        let _ = victim.wait();
    }
    for mut c in children {
        let status = c.wait().context("waiting for a machine")?;
        if !status.success() {
            bail!("a machine failed: {status}");
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let pg_cpu_secs = pg_cpu(root) - cpu0;
    let pages = count(&rt, &reader, "SELECT count(*) FROM trawl.pages");
    let url_rows = count(&rt, &reader, "SELECT count(*) FROM trawl.urls");
    let page_bytes = count(&rt, &reader, "SELECT pg_total_relation_size('trawl.pages')");
    let url_bytes = count(&rt, &reader, "SELECT pg_total_relation_size('trawl.urls')");
    // Every request but robots.txt: pages of the 127.0.0.1 hosts, of
    // their `localhost` aliases (off-site to the site, not to a crawl
    // with --scope any) and 404s.
    let hits = site.finish()?;
    let site_pages = hits.pages + hits.offsite + hits.unknown;
    Ok(Run { pages, url_rows, secs, pg_cpu_secs, page_bytes, url_bytes, site_pages })
}

/// A count (0 if the query fails, e.g. before the schema exists).
fn count(rt: &tokio::runtime::Runtime, c: &Cluster, sql: &str) -> f64 {
    rt.block_on(async {
        let client = c.client().await.ok()?;
        client.query_one(sql, &[]).await.ok()?.try_get::<_, i64>(0).ok()
    })
    .map_or(0.0, |n| n as f64)
}

/// CPU seconds of the postmaster `root` and its children: live ones from
/// their /proc stat, exited ones (closed connections) from the
/// postmaster's cutime + cstime.
fn pg_cpu(root: u32) -> f64 {
    let mut ticks = 0u64;
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    for entry in dir.filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let pid: u32 = head.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(0);
        // After the ")": state ppid ... utime stime cutime cstime.
        let f: Vec<u64> = rest.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
        let field = |i: usize| f.get(i).copied().unwrap_or(0);
        if pid == root {
            ticks += field(10) + field(11) + field(12) + field(13);
        } else if field(0) == u64::from(root) {
            ticks += field(10) + field(11);
        }
    }
    ticks as f64 / 100.0
}
