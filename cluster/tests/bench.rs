//! The cluster's database costs, measured against a real PostgreSQL
//! (fsync on). Ignored by default; run it deliberately:
//!
//! ```text
//! cargo test -p trawl-cluster --release --test bench -- --ignored --nocapture
//! ```
//!
//! 1. 10,000 pages with 60 links each, committed in fenced batches of
//!    256; the machine's in-memory seen-set has already dropped the 45
//!    links per page it had seen, so 15 new URLs per page reach the
//!    database (two thirds of them for partitions another machine owns,
//!    which also get an inbox row). Reports PostgreSQL CPU ms per page
//!    (utime + stime of the postmaster and all its children, from /proc),
//!    and database bytes per stored page and per queued URL
//!    (`pg_total_relation_size`).
//! 2. A takeover: 1,000,000 queued URLs (plus 200,000 stored ones) in the
//!    partitions of one machine's share, loaded through `load_queued`.

// A measurement harness: a failed read of /proc or the database should
// stop it loudly, as in the tests (tests/tests.rs does the same).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Instant;
use trawl_cluster::test_pg::{TestPostgres, TestPostgresOptions};
use trawl_cluster::{Batch, Cluster, MachineId, NewUrl, PageRow, PartitionId, fair_share};
use trawl_common::protocol::FetchOutcome;
use trawl_common::url::Url;

const PAGES: usize = 10_000;
const BATCH: usize = 256;
const NEW_LINKS: usize = 15;
const HOSTS: usize = 3_000;
const TAKEOVER_QUEUED: i64 = 1_000_000;
const TAKEOVER_STORED: i64 = 200_000;

/// Linux's USER_HZ: /proc/<pid>/stat times are in 1/100 s.
const TICKS_PER_SEC: f64 = 100.0;

/// CPU seconds this process (the client) used so far.
fn own_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    (f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()) as f64 / TICKS_PER_SEC
}

/// CPU seconds used so far by the postmaster `root` and its children.
fn postgres_cpu(root: u32) -> f64 {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // After the ")" closing the command name: state ppid ... utime(12) stime(13).
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let pid: u32 = head.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid: u32 = f.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        if pid == root || ppid == root {
            ticks += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        }
    }
    ticks as f64 / TICKS_PER_SEC
}

async fn size(c: &Cluster, table: &str) -> (i64, i64) {
    let client = c.client().await.unwrap();
    let bytes: i64 = client
        .query_one(&format!("SELECT pg_total_relation_size('trawl.{table}')"), &[])
        .await
        .unwrap()
        .get(0);
    let rows: i64 =
        client.query_one(&format!("SELECT count(*) FROM trawl.{table}"), &[]).await.unwrap().get(0);
    (bytes, rows)
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
        outcome: FetchOutcome::Ok,
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
async fn cluster_database_costs() {
    let pg = TestPostgres::start_with(TestPostgresOptions { durable: true }).unwrap();
    let pg_pid = pg.pid().unwrap();
    let a = Cluster::join(&pg.url(), MachineId::new("a").unwrap(), "a:1").await.unwrap();
    let others = Cluster::join(&pg.url(), MachineId::new("b").unwrap(), "b:1").await.unwrap();
    let share = fair_share(3);
    let held: HashMap<PartitionId, _> = a
        .acquire(share, std::time::Duration::from_secs(600))
        .await
        .unwrap()
        .iter()
        .map(|l| (l.partition, l.epoch))
        .collect();
    others.acquire(2 * share, std::time::Duration::from_secs(600)).await.unwrap();

    // Hosts, and which of them are A's.
    let hosts: Vec<String> = (0..HOSTS).map(|h| format!("h{h}.example.test:8080")).collect();
    let mine: Vec<&String> =
        hosts.iter().filter(|h| held.contains_key(&PartitionId::of_host(h))).collect();
    let link = |n: usize| -> NewUrl {
        let host = &hosts[(n * 7919) % HOSTS];
        NewUrl::new(
            &Url::parse(&format!("http://{host}/section/{}/page-{n}.html", n % 97)).unwrap(),
            3,
        )
    };

    // Queue the pages A will store (as a previous batch would have).
    let page_urls: Vec<NewUrl> = (0..PAGES)
        .map(|i| {
            let host = mine[i % mine.len()];
            NewUrl::new(
                &Url::parse(&format!("http://{host}/section/{}/doc-{i}.html", i % 97)).unwrap(),
                2,
            )
        })
        .collect();
    for chunk in page_urls.chunks(4096) {
        a.commit(&held, &Batch { urls: chunk.to_vec(), ..Batch::default() }).await.unwrap();
    }

    let cpu0 = postgres_cpu(pg_pid);
    let t0 = Instant::now();
    let (mut stored, mut new_urls, mut inbox) = (0, 0, 0);
    for (b, chunk) in page_urls.chunks(BATCH).enumerate() {
        let pages: Vec<PageRow> = chunk.iter().map(|u| page(&u.url, u.partition)).collect();
        let first = b * BATCH * NEW_LINKS;
        let urls: Vec<NewUrl> = (first..first + chunk.len() * NEW_LINKS).map(link).collect();
        let done = a.commit(&held, &Batch { pages, urls, ..Batch::default() }).await.unwrap();
        stored += done.pages;
        new_urls += done.new_urls;
        inbox += done.inbox;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = postgres_cpu(pg_pid) - cpu0;
    assert_eq!(stored, PAGES as u64);
    assert_eq!(new_urls, (PAGES * NEW_LINKS) as u64);

    let client = a.client().await.unwrap();
    client.batch_execute("VACUUM ANALYZE").await.unwrap();
    let (page_bytes, page_rows) = size(&a, "pages").await;
    let (url_bytes, url_rows) = size(&a, "urls").await;
    let (inbox_bytes, inbox_rows) = size(&a, "inbox").await;
    println!(
        "commit: {PAGES} pages x 60 links ({NEW_LINKS} new after in-memory dedup), batches of {BATCH}"
    );
    println!(
        "  wall {wall:.2} s = {:.0} pages/s; postgres CPU {cpu:.2} s = {:.3} ms/page; new URLs {new_urls}, inbox {inbox}",
        PAGES as f64 / wall,
        cpu * 1000.0 / PAGES as f64
    );
    println!("  pages: {page_rows} rows, {page_bytes} bytes = {} B/page", page_bytes / page_rows);
    println!("  urls: {url_rows} rows, {url_bytes} bytes = {} B/URL", url_bytes / url_rows);
    println!(
        "  inbox: {inbox_rows} rows, {inbox_bytes} bytes = {} B/row",
        inbox_bytes / inbox_rows.max(1)
    );

    // Takeover: 1M queued + 200k stored URLs in A's partitions, written
    // directly with SQL (the commit path was measured above).
    let parts: Vec<i32> = held.keys().map(|p| p.as_i32()).collect();
    let t = Instant::now();
    client
        .execute(
            "INSERT INTO trawl.urls (url, partition, depth)
             SELECT 'http://bulk-' || (n % 5000) || '.example.test/section/' || (n % 97)
                    || '/page-' || n || '.html',
                    ($1::int4[])[1 + n % array_length($1::int4[], 1)], 1 + n % 4
             FROM generate_series(1, $2::int8 + $3::int8) n",
            &[&parts, &TAKEOVER_QUEUED, &TAKEOVER_STORED],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO trawl.pages (url, partition, depth, bytes, fetched_at, elapsed_ms,
                 outlinks, outcome, machine, attempts, noindex, nofollow)
             SELECT url, partition, depth, 44000, now(), 12, 60, 'ok', 'a', 1, false, false
             FROM trawl.urls WHERE url LIKE 'http://bulk-%' ORDER BY seq LIMIT $1",
            &[&TAKEOVER_STORED],
        )
        .await
        .unwrap();
    client.batch_execute("VACUUM ANALYZE").await.unwrap();
    println!("takeover setup (SQL bulk insert + vacuum): {:.1} s", t.elapsed().as_secs_f64());

    let mine_parts: Vec<PartitionId> = held.keys().copied().collect();
    let cpu0 = postgres_cpu(pg_pid);
    let own0 = own_cpu();
    let t = Instant::now();
    let mut n = 0u64;
    let mut last_depth = 0;
    let mut ordered = true;
    let mut last_partition = None;
    a.load_queued(&mine_parts, |q| {
        if last_partition != Some(q.partition) {
            last_partition = Some(q.partition);
            last_depth = 0;
        }
        ordered &= q.depth >= last_depth;
        last_depth = q.depth;
        n += 1;
    })
    .await
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let queued_expected = TAKEOVER_QUEUED as u64 + (PAGES * NEW_LINKS) as u64 - inbox;
    println!(
        "takeover load: {n} queued URLs of {} partitions in {secs:.2} s ({:.0} URLs/s), postgres CPU {:.2} s, client CPU {:.2} s",
        mine_parts.len(),
        n as f64 / secs,
        postgres_cpu(pg_pid) - cpu0,
        own_cpu() - own0
    );
    assert_eq!(n, queued_expected);
    assert!(ordered, "breadth-first within each partition");
}
