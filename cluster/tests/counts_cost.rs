//! What the cluster's counts cost PostgreSQL, measured against a real
//! server (fsync on): the fenced commit path per page, and one poll of
//! the crawl's counts (pages stored, URLs queued) as the lease task makes
//! every 300 ms on every machine. Ignored by default; run it deliberately:
//!
//! ```text
//! cargo test -p trawl-cluster --release --test counts_cost -- --ignored --nocapture
//! ```
//!
//! PostgreSQL CPU is utime + stime of the postmaster and its children
//! (/proc), so other load on the machine does not count, only what the
//! database did for these calls.

// A measurement harness: a failed read of /proc or the database should
// stop it loudly.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use trawl_cluster::test_pg::{TestPostgres, TestPostgresOptions};
use trawl_cluster::{Batch, Cluster, MachineId, NewUrl, PageRow, PartitionId, fair_share};
use trawl_common::protocol::FetchOutcome;
use trawl_common::url::Url;

const PAGES: usize = 10_000;
const BATCH: usize = 256;
const NEW_LINKS: usize = 15;
const HOSTS: usize = 3_000;
/// Extra queued URLs added before the polls (the queue of a larger crawl).
const EXTRA_QUEUED: usize = 600_000;
const POLLS: usize = 100;

/// CPU seconds used so far by the postmaster `root` and its children.
fn postgres_cpu(root: u32) -> f64 {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let pid: u32 = head.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid: u32 = f.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        if pid == root || ppid == root {
            ticks += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        }
    }
    ticks as f64 / 100.0
}

fn page(url: &str, partition: PartitionId) -> PageRow {
    PageRow {
        url: url.to_owned(),
        partition,
        depth: 2,
        status: Some(200),
        content_type: Some("text/html; charset=utf-8".into()),
        title: Some("Generated page title of typical length".into()),
        bytes: 44_000,
        fetched_at_ms: 1_764_000_000_000,
        elapsed_ms: 12,
        outlinks: 60,
        outcome: if partition.as_i32() % 10 == 0 {
            FetchOutcome::HttpError
        } else {
            FetchOutcome::Ok
        },
        worker: Some(1),
        attempts: 1,
        retry_after_secs: None,
        noindex: false,
        nofollow: false,
        canonical: None,
        fields: Default::default(),
        body: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run deliberately with --release --ignored --nocapture"]
async fn cost_of_commits_and_count_polls() {
    let pg = TestPostgres::start_with(TestPostgresOptions { durable: true }).unwrap();
    let pg_pid = pg.pid().unwrap();
    let a = Cluster::join(&pg.url(), MachineId::new("a").unwrap(), "a:1").await.unwrap();
    let b = Cluster::join(&pg.url(), MachineId::new("b").unwrap(), "b:1").await.unwrap();
    let share = fair_share(3);
    let held: HashMap<PartitionId, _> = a
        .acquire(share, std::time::Duration::from_secs(600))
        .await
        .unwrap()
        .iter()
        .map(|l| (l.partition, l.epoch))
        .collect();
    b.acquire(2 * share, std::time::Duration::from_secs(600)).await.unwrap();
    let hosts: Vec<String> = (0..HOSTS).map(|h| format!("h{h}.example.test:8080")).collect();
    let mine: Vec<&String> =
        hosts.iter().filter(|h| held.contains_key(&PartitionId::of_host(h))).collect();
    let url = |host: &str, path: String, depth| {
        NewUrl::new(&Url::parse(&format!("http://{host}/{path}")).unwrap(), depth)
    };
    let page_urls: Vec<NewUrl> = (0..PAGES)
        .map(|i| url(mine[i % mine.len()], format!("s/{}/doc-{i}.html", i % 97), 2))
        .collect();
    for chunk in page_urls.chunks(4096) {
        a.commit(&held, &Batch { urls: chunk.to_vec(), ..Batch::default() }).await.unwrap();
    }

    let cpu0 = postgres_cpu(pg_pid);
    for (n, chunk) in page_urls.chunks(BATCH).enumerate() {
        let pages: Vec<PageRow> = chunk.iter().map(|u| page(&u.url, u.partition)).collect();
        let first = n * BATCH * NEW_LINKS;
        let urls: Vec<NewUrl> = (first..first + chunk.len() * NEW_LINKS)
            .map(|k| url(&hosts[(k * 7919) % HOSTS], format!("s/{}/page-{k}.html", k % 97), 3))
            .collect();
        a.commit(&held, &Batch { pages, urls, ..Batch::default() }).await.unwrap();
    }
    let commit_cpu = postgres_cpu(pg_pid) - cpu0;
    let commits = PAGES.div_ceil(BATCH);
    println!(
        "commit: {PAGES} pages x {NEW_LINKS} new links in {commits} batches of {BATCH}: \
         postgres CPU {commit_cpu:.2} s = {:.3} ms/page, {:.2} ms/commit",
        commit_cpu * 1000.0 / PAGES as f64,
        commit_cpu * 1000.0 / commits as f64
    );

    let extra: Vec<NewUrl> =
        (0..EXTRA_QUEUED).map(|k| url(&hosts[k % HOSTS], format!("q/{k}.html"), 4)).collect();
    for chunk in extra.chunks(20_000) {
        b.add_urls(chunk).await.unwrap();
    }
    let client = a.client().await.unwrap();
    client.batch_execute("VACUUM ANALYZE").await.unwrap();
    // No autovacuum or checkpoint in the measured window: only the polls.
    client.batch_execute("ALTER SYSTEM SET autovacuum = off").await.unwrap();
    client.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    client.batch_execute("CHECKPOINT").await.unwrap();
    drop(client);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let queued_expected = (PAGES * NEW_LINKS + EXTRA_QUEUED) as u64;
    let cpu0 = postgres_cpu(pg_pid);
    let t0 = std::time::Instant::now();
    for _ in 0..POLLS {
        assert_eq!(a.page_count().await.unwrap(), PAGES as u64);
        assert_eq!(a.queued_count().await.unwrap(), queued_expected);
    }
    let wall = t0.elapsed().as_secs_f64();
    let poll_cpu = postgres_cpu(pg_pid) - cpu0;
    println!(
        "poll (pages + queued) at {PAGES} pages, {queued_expected} queued: postgres CPU \
         {:.2} ms/poll, wall {:.2} ms/poll, over {POLLS} polls",
        poll_cpu * 1000.0 / POLLS as f64,
        wall * 1000.0 / POLLS as f64
    );
}
