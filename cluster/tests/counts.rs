//! The counters (`trawl.counts`) against a real PostgreSQL: after any mix
//! of commits (duplicates across machines, fenced batches, a --max-pages
//! cap, seeds) they say exactly what `count(*)` says; a version-1 database
//! is upgraded with its counts; the status reads them.

use std::collections::HashMap;
use std::time::Duration;
use trawl_cluster::test_pg::TestPostgres;
use trawl_cluster::{
    Batch, Beat, Cluster, ClusterError, Epoch, Lease, MachineId, NewUrl, PageRow, PartitionId,
};
use trawl_common::protocol::FetchOutcome;
use trawl_common::url::Url;

const LONG: Duration = Duration::from_secs(60);

async fn join(pg: &TestPostgres, name: &str) -> Cluster {
    Cluster::join(&pg.url(), MachineId::new(name).expect("a name"), &format!("{name}:9000"))
        .await
        .expect("join")
}

fn held(leases: &[Lease]) -> HashMap<PartitionId, Epoch> {
    leases.iter().map(|l| (l.partition, l.epoch)).collect()
}

fn new_url(u: &str) -> NewUrl {
    NewUrl::new(&Url::parse(u).expect("a test URL"), 1)
}

fn page(u: &str, outcome: FetchOutcome) -> PageRow {
    PageRow {
        url: u.to_owned(),
        partition: PartitionId::of_url(&Url::parse(u).expect("a test URL")),
        depth: 1,
        status: Some(200),
        content_type: Some("text/html".into()),
        title: None,
        bytes: 10,
        fetched_at_ms: 1_764_000_000_000,
        elapsed_ms: 1,
        outlinks: 0,
        outcome,
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

/// (pages, queued, outcome -> pages) by scanning the tables.
async fn scanned(c: &Cluster) -> (u64, u64, Vec<(String, u64)>) {
    let client = c.client().await.expect("a connection");
    let one = |sql: &'static str| {
        let client = &client;
        async move {
            let n: i64 = client.query_one(sql, &[]).await.expect("count").get(0);
            u64::try_from(n).expect("a count")
        }
    };
    let pages = one("SELECT count(*) FROM trawl.pages").await;
    let queued = one("SELECT count(*) FROM trawl.urls u
         WHERE NOT EXISTS (SELECT 1 FROM trawl.pages p WHERE p.url = u.url)")
    .await;
    let outcomes = client
        .query("SELECT outcome, count(*) FROM trawl.pages GROUP BY 1 ORDER BY 2 DESC, 1", &[])
        .await
        .expect("outcomes")
        .iter()
        .map(|r| (r.get(0), u64::try_from(r.get::<_, i64>(1)).expect("a count")))
        .collect();
    (pages, queued, outcomes)
}

async fn assert_counts_match(c: &Cluster, what: &str) {
    let counts = c.counts().await.expect("counts");
    let (pages, queued, outcomes) = scanned(c).await;
    assert_eq!(
        (counts.pages, counts.queued(), &counts.outcomes),
        (pages, queued, &outcomes),
        "counters vs count(*) {what}"
    );
    assert_eq!(c.page_count().await.expect("page count"), pages, "{what}");
    assert_eq!(c.queued_count().await.expect("queued count"), queued, "{what}");
}

#[tokio::test]
async fn the_counters_say_what_count_says_after_any_mix_of_commits() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let b = join(&pg, "b").await;
    assert_counts_match(&a, "when empty").await;
    let seeds: Vec<NewUrl> =
        (0..40).map(|i| new_url(&format!("http://h{i}.test:80/p{i}"))).collect();
    a.add_urls(&seeds).await.unwrap();
    a.add_urls(&seeds[..10]).await.unwrap();
    assert_counts_match(&a, "after seeds (some twice)").await;

    let a_held = held(&a.acquire(512, LONG).await.unwrap());
    let b_held = held(&b.acquire(512, LONG).await.unwrap());
    let mine = |h: &HashMap<PartitionId, Epoch>| -> Vec<NewUrl> {
        seeds.iter().filter(|u| h.contains_key(&u.partition)).cloned().collect()
    };
    let (a_urls, b_urls) = (mine(&a_held), mine(&b_held));
    assert!(a_urls.len() >= 3 && b_urls.len() >= 3, "40 hosts over 2 machines");
    let outcome =
        |i: usize| if i.is_multiple_of(3) { FetchOutcome::HttpError } else { FetchOutcome::Ok };
    let pages_of = |urls: &[NewUrl]| -> Vec<PageRow> {
        urls.iter().enumerate().map(|(i, u)| page(&u.url, outcome(i))).collect()
    };
    // A page that was never a URL row gets one (every page has one), and
    // links to both machines' partitions, some already known.
    let stray = page("http://stray.test:80/x", FetchOutcome::NotHtml);
    let mut a_pages = pages_of(&a_urls);
    if a_held.contains_key(&stray.partition) {
        a_pages.push(stray.clone());
    }
    let links: Vec<NewUrl> = (0..30)
        .map(|i| new_url(&format!("http://h{}.test:80/l{i}", i % 5)))
        .chain(seeds[..5].iter().cloned())
        .collect();
    a.commit(&a_held, &Batch { pages: a_pages.clone(), urls: links.clone(), ..Batch::default() })
        .await
        .unwrap();
    assert_counts_match(&a, "after a commit").await;
    // The same pages again: stored once, counted once.
    a.commit(&a_held, &Batch { pages: a_pages, urls: links, ..Batch::default() }).await.unwrap();
    assert_counts_match(&a, "after the same commit again").await;

    // A fenced batch counts nothing: b claims a's partitions.
    let fenced_pages: Vec<PageRow> =
        a_urls.iter().map(|u| page(&format!("{}?fenced", u.url), FetchOutcome::Ok)).collect();
    let fenced = b.commit(&a_held, &Batch { pages: fenced_pages, ..Batch::default() }).await;
    assert!(matches!(fenced, Err(ClusterError::Fenced { .. })), "{fenced:?}");
    assert_counts_match(&a, "after a fenced batch").await;

    // A capped commit stores (and counts) only what fits.
    let before = a.page_count().await.unwrap();
    let done = b
        .commit_capped(
            &b_held,
            &Batch { pages: pages_of(&b_urls), ..Batch::default() },
            Some(before + 2),
        )
        .await
        .unwrap();
    assert_eq!(done.pages, 2);
    assert_counts_match(&a, "after a capped commit").await;
    assert_eq!(a.page_count().await.unwrap(), before + 2);
    b.commit(&b_held, &Batch { pages: pages_of(&b_urls), ..Batch::default() }).await.unwrap();
    assert_counts_match(&a, "after b stored the rest").await;

    // Per machine: what each stored.
    let counts = a.counts().await.unwrap();
    let by = |m: &str| counts.pages_by_machine.get(m).copied().unwrap_or(0);
    let rows: i64 = a
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM trawl.pages WHERE machine = 'b'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(by("b"), u64::try_from(rows).unwrap());
    assert_eq!(by("a") + by("b"), counts.pages);
}

#[tokio::test]
async fn the_status_reads_machines_heartbeats_and_counters() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let b = join(&pg, "b").await;
    let a_held = held(&a.acquire(300, LONG).await.unwrap());
    a.beat(&Beat { workers: 4, pages_per_sec: 12.5, lease: LONG, max_pages: Some(9) })
        .await
        .unwrap();
    b.beat(&Beat {
        workers: 2,
        pages_per_sec: 3.0,
        lease: Duration::from_millis(200),
        max_pages: None,
    })
    .await
    .unwrap();
    let urls: Vec<NewUrl> = (0..60)
        .map(|i| new_url(&format!("http://h{i}.test:80/")))
        .filter(|u| a_held.contains_key(&u.partition))
        .collect();
    a.add_urls(&urls).await.unwrap();
    let pages: Vec<PageRow> = urls[..2].iter().map(|u| page(&u.url, FetchOutcome::Ok)).collect();
    a.commit(&a_held, &Batch { pages, ..Batch::default() }).await.unwrap();
    // b's heartbeat is older than its 200 ms lease: not alive.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let s = a.status().await.unwrap();
    assert_eq!((s.pages, s.queued, s.urls), (2, urls.len() as u64 - 2, urls.len() as u64));
    assert_eq!(s.outcomes, vec![("ok".to_owned(), 2)]);
    assert_eq!((s.partitions_held, s.max_pages), (300, Some(9)));
    let (ma, mb) = (&s.machines[0], &s.machines[1]);
    assert_eq!(
        (ma.id.as_str(), ma.partitions, ma.workers, ma.pages, ma.alive),
        ("a", 300, 4, 2, true)
    );
    assert!((ma.pages_per_sec - 12.5).abs() < 1e-6);
    assert_eq!(
        (mb.id.as_str(), mb.partitions, mb.workers, mb.pages, mb.alive),
        ("b", 0, 2, 0, false)
    );
    assert_eq!(mb.pages_per_sec, 0.0, "a dead machine's rate is not counted");
    assert!(mb.heartbeat_age_secs >= 0.3);
    assert_eq!((s.alive(), s.pages_per_sec()), (1, 12.5));
    // Leaving: not alive, whatever its lease.
    a.leave().await.unwrap();
    assert_eq!(a.status().await.unwrap().alive(), 0);
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_with_its_counts() {
    let pg = TestPostgres::start().unwrap();
    let c = Cluster::connect(&pg.url(), MachineId::new("setup").unwrap()).unwrap();
    let client = c.client().await.unwrap();
    // A database as a version-1 trawl left it: pages, one without a URL row.
    client
        .batch_execute(&format!(
            "CREATE SCHEMA trawl;
             CREATE TABLE trawl.schema_migrations (
                 version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
             {}
             INSERT INTO trawl.schema_migrations (version) VALUES (1);
             INSERT INTO trawl.urls (url, partition, depth) VALUES
                 ('http://a.test/1', 1, 0), ('http://a.test/2', 1, 1), ('http://a.test/3', 1, 1);
             INSERT INTO trawl.pages (url, partition, depth, bytes, fetched_at, elapsed_ms,
                 outlinks, outcome, machine, attempts, noindex, nofollow) VALUES
                 ('http://a.test/1', 1, 0, 5, now(), 1, 2, 'ok', 'old', 1, false, false),
                 ('http://a.test/9', 1, 1, 5, now(), 1, 0, 'http_error', 'old', 1, false, false);",
            include_str!("../migrations/0001_init.sql")
        ))
        .await
        .unwrap();
    drop(client);
    let a = join(&pg, "a").await;
    let version: i32 = a
        .client()
        .await
        .unwrap()
        .query_one("SELECT max(version) FROM trawl.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, trawl_cluster::schema::current_version());
    assert_counts_match(&a, "after the upgrade").await;
    let counts = a.counts().await.unwrap();
    // /9 got its URL row: 4 URL rows, 2 pages, 2 queued (/2 and /3).
    assert_eq!((counts.urls, counts.pages, counts.queued()), (4, 2, 2));
    assert_eq!(counts.pages_by_machine.get("old"), Some(&2));
    // Page order is byte order, whatever the database's collation.
    let mut got = Vec::new();
    let held_all = held(&a.acquire(1024, LONG).await.unwrap());
    let extra: Vec<PageRow> = ["http://a.test/B", "http://a.test/a", "http://a.test/_"]
        .iter()
        .map(|u| page(u, FetchOutcome::Ok))
        .collect();
    a.commit(&held_all, &Batch { pages: extra, ..Batch::default() }).await.unwrap();
    let mut after = None;
    loop {
        let chunk = a.page_chunk("http://a.test/", after.as_deref(), 2, false).await.unwrap();
        let n = chunk.len();
        after = chunk.last().map(|p| p.url.clone());
        got.extend(chunk.into_iter().map(|p| p.url));
        if n < 2 {
            break;
        }
    }
    let mut bytewise = got.clone();
    bytewise.sort_unstable();
    assert_eq!(got, bytewise);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_counts_match(&a, "after more commits").await;
}
