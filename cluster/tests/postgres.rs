//! The durable core against a real PostgreSQL, one private server per
//! test (started by the `test_pg` harness from Debian's binaries).
//! Leases here are short (hundreds of ms) and the tests sleep *past*
//! them, so slow machines only make the waits longer, never wrong.

use std::collections::HashMap;
use std::time::Duration;
use trawl_cluster::test_pg::{TestPostgres, TestPostgresOptions};
use trawl_cluster::{
    Batch, Cluster, ClusterError, Crash, Epoch, Lease, MachineId, NewUrl, PARTITIONS, PageRow,
    PartitionId, RobotsRow,
};
use trawl_common::protocol::{FetchOutcome, FieldValue};
use trawl_common::url::Url;

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);
const ALL: usize = PARTITIONS as usize;

async fn join(pg: &TestPostgres, name: &str) -> Cluster {
    Cluster::join(&pg.url(), MachineId::new(name).expect("a name"), &format!("{name}:9000"))
        .await
        .expect("join")
}

fn held(leases: &[Lease]) -> HashMap<PartitionId, Epoch> {
    leases.iter().map(|l| (l.partition, l.epoch)).collect()
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("a test URL")
}

fn page(u: &str, title: &str) -> PageRow {
    let parsed = url(u);
    PageRow {
        url: u.to_owned(),
        partition: PartitionId::of_url(&parsed),
        depth: 1,
        status: Some(200),
        content_type: Some("text/html".into()),
        title: Some(title.into()),
        bytes: 1234,
        fetched_at_ms: 1_764_000_000_123,
        elapsed_ms: 7,
        outlinks: 2,
        outcome: FetchOutcome::Ok,
        worker: Some(3),
        attempts: 1,
        retry_after_secs: None,
        noindex: false,
        nofollow: false,
        canonical: None,
        fields: Default::default(),
        body: None,
    }
}

fn queued_urls(v: &[trawl_cluster::QueuedUrl]) -> Vec<&str> {
    v.iter().map(|q| q.url.as_str()).collect()
}

#[tokio::test]
async fn leases_acquire_renew_expire_and_are_stolen_at_a_new_epoch() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let b = join(&pg, "b").await;
    assert_eq!(a.live_machines(LONG).await.unwrap(), 2);
    a.heartbeat(4, 12.5).await.unwrap();
    let row = a
        .client()
        .await
        .unwrap()
        .query_one("SELECT address, workers, pages_per_sec FROM trawl.machines WHERE id = 'a'", &[])
        .await
        .unwrap();
    let (address, workers, rate): (String, i32, f32) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((address.as_str(), workers, rate), ("a:9000", 4, 12.5));

    let a_leases = a.acquire(10, SHORT).await.unwrap();
    assert_eq!(a_leases.len(), 10);
    assert!(a_leases.iter().all(|l| l.epoch == Epoch(1) && l.valid_for <= SHORT));
    // Up to the share: nothing more.
    assert!(a.acquire(10, SHORT).await.unwrap().is_empty());
    // B takes all the rest; A's live leases are not touched.
    let b_leases = b.acquire(ALL, LONG).await.unwrap();
    assert_eq!(b_leases.len(), ALL - 10);
    assert!(b_leases.iter().all(|l| !held(&a_leases).contains_key(&l.partition)));

    // Renewal keeps the epoch.
    let renewed = a.renew(SHORT).await.unwrap();
    assert_eq!(held(&renewed), held(&a_leases));

    // Past A's lease, B takes A's partitions at the next epoch.
    tokio::time::sleep(SHORT * 2).await;
    let stolen = b.acquire(ALL, LONG).await.unwrap();
    assert_eq!(stolen.len(), 10);
    for l in &stolen {
        assert_eq!(held(&a_leases).get(&l.partition), Some(&Epoch(1)));
        assert_eq!(l.epoch, Epoch(2));
        assert!(l.valid_for > LONG / 2);
    }
    // A learns it on its next renewal.
    assert!(a.renew(SHORT).await.unwrap().is_empty());
    assert_eq!(a.release_all().await.unwrap(), 0);

    // Releasing changes the owner too: a new epoch, free for anyone.
    let five: Vec<PartitionId> = stolen.iter().take(5).map(|l| l.partition).collect();
    assert_eq!(b.release(&five).await.unwrap(), 5);
    assert_eq!(b.held().await.unwrap().len(), ALL - 5);
    let retaken = a.acquire(5, LONG).await.unwrap();
    assert_eq!(retaken.len(), 5);
    for l in &retaken {
        assert!(five.contains(&l.partition), "free partitions go before stolen ones");
        assert_eq!(l.epoch, Epoch(4), "taken, stolen, released, taken");
    }
}

#[tokio::test]
async fn a_fenced_commit_writes_nothing() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let b = join(&pg, "b").await;
    let a_held = held(&a.acquire(ALL, SHORT).await.unwrap());
    assert_eq!(a_held.len(), ALL);

    let first = Batch {
        pages: vec![page("http://127.0.0.1:8001/", "home")],
        urls: vec![NewUrl::new(&url("http://127.0.0.1:8001/a"), 1)],
        ..Batch::default()
    };
    let done = a.commit(&a_held, &first).await.unwrap();
    assert_eq!((done.pages, done.new_urls, done.inbox), (1, 1, 0));

    tokio::time::sleep(SHORT * 2).await;
    let b_held = held(&b.acquire(ALL, LONG).await.unwrap());
    assert_eq!(b_held.len(), ALL);

    // A, paused past its lease, commits late: refused, nothing visible.
    let late = Batch {
        pages: vec![page("http://127.0.0.1:8001/a", "late")],
        urls: vec![
            NewUrl::new(&url("http://127.0.0.1:8001/late"), 2),
            NewUrl::new(&url("http://127.0.0.2:8002/elsewhere"), 2),
        ],
        crashes: vec![Crash {
            url: "http://127.0.0.1:8001/b".into(),
            partition: PartitionId::of_host("127.0.0.1:8001"),
            count: 1,
        }],
        robots: vec![RobotsRow::new("127.0.0.1:8001", Some(200), "User-agent: *\n".into(), 5)],
        announce: vec![NewUrl::new(&url("http://127.0.0.3:8003/announced"), 2)],
    };
    match a.commit(&a_held, &late).await {
        Err(ClusterError::Fenced { partitions }) => {
            assert_eq!(partitions, vec![PartitionId::of_host("127.0.0.1:8001")]);
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    assert!(b.page("http://127.0.0.1:8001/a").await.unwrap().is_none());
    assert_eq!(b.page_count().await.unwrap(), 1);
    let all: Vec<PartitionId> = b_held.keys().copied().collect();
    let mut queued = Vec::new();
    b.load_queued(&all, |q| queued.push(q)).await.unwrap();
    assert_eq!(queued_urls(&queued), ["http://127.0.0.1:8001/a"]);
    assert!(b.crash_counts(&all).await.unwrap().is_empty());
    assert!(b.robots("127.0.0.1:8001").await.unwrap().is_none());

    // A batch for a partition this machine never held is refused up front.
    let empty = HashMap::new();
    assert!(matches!(a.commit(&empty, &first).await, Err(ClusterError::Fenced { .. })));

    // The new owner commits the same batch.
    let done = b.commit(&b_held, &late).await.unwrap();
    assert_eq!((done.pages, done.new_urls), (1, 3), "with the announced URL");
    let (stored, machine) = b.page("http://127.0.0.1:8001/a").await.unwrap().unwrap();
    assert_eq!((stored.title.as_deref(), machine.as_str()), (Some("late"), "b"));
}

#[tokio::test]
async fn a_page_is_stored_once_when_two_machines_commit_it() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let b = join(&pg, "b").await;
    let a_held = held(&a.acquire(ALL, LONG).await.unwrap());
    let mut first = page("http://127.0.0.1:8001/x", "from a");
    first.fields.insert("h1".into(), FieldValue::Many(vec!["one".into(), "two".into()]));
    first.outcome = FetchOutcome::Redirect { location: "http://127.0.0.1:8001/y".into() };
    first.body = Some(b"<html>a</html>".to_vec());
    let batch = Batch { pages: vec![first.clone()], ..Batch::default() };
    assert_eq!(a.commit(&a_held, &batch).await.unwrap().pages, 1);
    // Committing it again is harmless.
    assert_eq!(a.commit(&a_held, &batch).await.unwrap().pages, 0);

    // A hands over (drain + SIGTERM); B re-fetches the URL it had in flight.
    assert_eq!(a.release_all().await.unwrap(), ALL as u64);
    let b_held = held(&b.acquire(ALL, LONG).await.unwrap());
    let again = Batch {
        pages: vec![
            page("http://127.0.0.1:8001/x", "from b"),
            page("http://127.0.0.1:8001/z", "z"),
        ],
        ..Batch::default()
    };
    assert_eq!(b.commit(&b_held, &again).await.unwrap().pages, 1);
    assert_eq!(b.page_count().await.unwrap(), 2);
    let (stored, machine) = b.page("http://127.0.0.1:8001/x").await.unwrap().unwrap();
    assert_eq!(machine, "a");
    assert_eq!(stored, first, "the first record, fields, outcome and body, round-trips");
}

#[tokio::test]
async fn queued_urls_are_url_rows_without_pages_loaded_breadth_first() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let b = join(&pg, "b").await;
    let host = "127.0.0.1:8001";
    let p = PartitionId::of_host(host);
    // Seeds land in the inbox of whoever will own them.
    let seeds = [NewUrl::new(&url("http://127.0.0.1:8001/"), 0)];
    assert_eq!(a.add_urls(&seeds).await.unwrap().inbox, 1);
    let a_held = held(&a.acquire(ALL, LONG).await.unwrap());
    assert_eq!(queued_urls(&a.drain_inbox(&[p]).await.unwrap()), ["http://127.0.0.1:8001/"]);
    assert!(a.drain_inbox(&[p]).await.unwrap().is_empty());

    // Discovery order: deeper URLs first, shallower later.
    let found = |path: &str, depth| NewUrl::new(&url(&format!("http://{host}{path}")), depth);
    let batches = [
        vec![found("/d2-first", 2), found("/d1-first", 1)],
        vec![found("/d1-second", 1), found("/d3", 3), found("/d2-second", 2)],
    ];
    for urls in batches {
        a.commit(&a_held, &Batch { urls, ..Batch::default() }).await.unwrap();
    }
    let stored = page(&format!("http://{host}/d1-first"), "t");
    let root = page(&format!("http://{host}/"), "root");
    a.commit(&a_held, &Batch { pages: vec![stored, root], ..Batch::default() }).await.unwrap();

    let mut q = Vec::new();
    let n = a.load_queued(&[p], |u| q.push(u)).await.unwrap();
    let want = [
        "http://127.0.0.1:8001/d1-second",
        "http://127.0.0.1:8001/d2-first",
        "http://127.0.0.1:8001/d2-second",
        "http://127.0.0.1:8001/d3",
    ];
    assert_eq!(queued_urls(&q), want);
    assert_eq!((n, a.queued_count().await.unwrap()), (4, 4));
    assert_eq!(q.iter().map(|u| u.depth).collect::<Vec<_>>(), [1, 2, 2, 3]);

    // A URL found by B for A's partition reaches A's inbox, once, and B
    // (not the owner) cannot drain it.
    let mut b_held = HashMap::new();
    b_held.extend(b.acquire(0, LONG).await.unwrap().iter().map(|l| (l.partition, l.epoch)));
    let cross = Batch { urls: vec![found("/from-b", 1), found("/d3", 3)], ..Batch::default() };
    let done = b.commit(&b_held, &cross).await.unwrap();
    assert_eq!((done.new_urls, done.inbox), (1, 1));
    assert!(b.drain_inbox(&[p]).await.unwrap().is_empty());
    assert_eq!(queued_urls(&a.drain_inbox(&[p]).await.unwrap()), ["http://127.0.0.1:8001/from-b"]);
}

#[tokio::test]
async fn robots_and_crash_counts_round_trip() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let a_held = held(&a.acquire(ALL, LONG).await.unwrap());
    let host = "127.0.0.1:8003";
    let p = PartitionId::of_host(host);
    let crash = |n| Crash { url: format!("http://{host}/boom"), partition: p, count: n };
    let batch = Batch {
        robots: vec![
            RobotsRow::new(host, Some(404), String::new(), 1),
            RobotsRow::new(
                host,
                Some(200),
                "User-agent: *\nDisallow: /x\n".into(),
                1_764_000_000_500,
            ),
        ],
        crashes: vec![crash(1), crash(1)],
        ..Batch::default()
    };
    a.commit(&a_held, &batch).await.unwrap();
    a.commit(&a_held, &Batch { crashes: vec![crash(1)], ..Batch::default() }).await.unwrap();
    let robots = a.robots(host).await.unwrap().unwrap();
    assert_eq!(robots, batch.robots[1], "the last one written wins");
    assert!(a.robots("127.0.0.1:9999").await.unwrap().is_none());
    let counts = a.crash_counts(&[p]).await.unwrap();
    assert_eq!(counts.get(&format!("http://{host}/boom")), Some(&3));
}

#[tokio::test]
async fn committed_state_survives_a_postgres_restart_and_the_pool_reconnects() {
    let mut pg = TestPostgres::start_with(TestPostgresOptions { durable: true }).unwrap();
    let a = join(&pg, "a").await;
    let a_held = held(&a.acquire(ALL, LONG).await.unwrap());
    let batch = Batch { pages: vec![page("http://127.0.0.1:8001/", "t")], ..Batch::default() };
    a.commit(&a_held, &batch).await.unwrap();
    pg.restart().unwrap();
    // The pooled connection broke with the restart: the first call may
    // fail, later ones reconnect (a crawl retries with backoff).
    let mut count = None;
    for _ in 0..20 {
        match a.page_count().await {
            Ok(n) => {
                count = Some(n);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(count, Some(1), "{}", pg.log());
    assert_eq!(held(&a.renew(LONG).await.unwrap()), a_held, "leases are durable too");
    let more = Batch { pages: vec![page("http://127.0.0.1:8001/2", "t")], ..Batch::default() };
    assert_eq!(a.commit(&a_held, &more).await.unwrap().pages, 1);
    // A second machine joining finds the schema applied.
    let b = join(&pg, "b").await;
    assert_eq!(b.page_count().await.unwrap(), 2);
}

#[tokio::test]
async fn machines_join_and_commit_overlapping_urls_concurrently() {
    let pg = TestPostgres::start().unwrap();
    // Both apply the schema at once: the advisory lock serializes them.
    let (a, b) = tokio::join!(join(&pg, "a"), join(&pg, "b"));
    let half = ALL / 2;
    let a_held = held(&a.acquire(half, LONG).await.unwrap());
    let b_held = held(&b.acquire(half, LONG).await.unwrap());
    assert_eq!(a_held.len() + b_held.len(), ALL);
    // Overlapping URL sets in opposite orders: sorted inserts (and
    // retries) mean no deadlock surfaces, and each URL is stored once.
    let urls = |round: usize, rev: bool| {
        let mut v: Vec<NewUrl> = (0..400)
            .map(|i| NewUrl::new(&url(&format!("http://h{}.test/{round}/{i}", i % 37)), 1))
            .collect();
        if rev {
            v.reverse();
        }
        Batch { urls: v, ..Batch::default() }
    };
    let mut new = 0;
    for round in 0..10 {
        let (forward, backward) = (urls(round, false), urls(round, true));
        let (x, y) = tokio::join!(a.commit(&a_held, &forward), b.commit(&b_held, &backward));
        new += x.unwrap().new_urls + y.unwrap().new_urls;
    }
    assert_eq!(new, 4000);
    assert_eq!(a.queued_count().await.unwrap(), 4000);
    // Each URL's notification went to its owner's inbox, once.
    let a_parts: Vec<PartitionId> = a_held.keys().copied().collect();
    let b_parts: Vec<PartitionId> = b_held.keys().copied().collect();
    let inboxed =
        a.drain_inbox(&a_parts).await.unwrap().len() + b.drain_inbox(&b_parts).await.unwrap().len();
    assert!(inboxed <= 4000, "only URLs the committer did not own: {inboxed}");
    assert!(inboxed > 0);
}

#[tokio::test]
async fn a_url_for_a_lost_partition_reaches_its_new_owner() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let b = join(&pg, "b").await;
    let a_held = held(&a.acquire(ALL, SHORT).await.unwrap());
    tokio::time::sleep(SHORT * 2).await;
    let b_held = held(&b.acquire(ALL, LONG).await.unwrap());
    // A still believes it owns every partition; a batch of URLs only (no
    // page to fence) commits, and the URL is announced to B.
    let found = NewUrl::new(&url("http://127.0.0.1:8005/found"), 2);
    let done = a.commit(&a_held, &Batch { urls: vec![found], ..Batch::default() }).await.unwrap();
    assert_eq!((done.new_urls, done.inbox), (1, 1));
    let p = PartitionId::of_host("127.0.0.1:8005");
    assert!(b_held.contains_key(&p));
    assert!(a.drain_inbox(&[p]).await.unwrap().is_empty());
    assert_eq!(queued_urls(&b.drain_inbox(&[p]).await.unwrap()), ["http://127.0.0.1:8005/found"]);
}

#[tokio::test]
async fn a_database_with_a_newer_schema_is_refused() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    // Joining again applies nothing and keeps the data.
    let again = join(&pg, "a").await;
    assert_eq!(again.live_machines(LONG).await.unwrap(), 1);
    a.client()
        .await
        .unwrap()
        .execute("INSERT INTO trawl.schema_migrations (version) VALUES (99)", &[])
        .await
        .unwrap();
    let refused = Cluster::join(&pg.url(), MachineId::new("c").unwrap(), "c:1").await;
    match refused {
        Err(ClusterError::SchemaTooNew { found: 99, known }) => {
            assert_eq!(known, trawl_cluster::schema::current_version());
        }
        other => panic!("expected SchemaTooNew, got {:?}", other.map(|c| c.machine().clone())),
    }
    assert!(
        Cluster::join("postgres://nobody@127.0.0.1:notaport/x", MachineId::new("d").unwrap(), "d")
            .await
            .is_err_and(|e| matches!(e, ClusterError::Config(_)))
    );
}

/// The takeover bug: a URL split off while its partition was another
/// machine's, committed after this machine took that partition over (and
/// loaded its queue), must still reach this machine. Announced URLs get an
/// inbox row whoever owns their partition, the committer included; URLs
/// it queued itself at the epoch it holds do not.
#[tokio::test]
async fn an_announced_url_reaches_its_owner_even_when_that_is_the_committer() {
    let pg = TestPostgres::start().unwrap();
    let a = join(&pg, "a").await;
    let a_held = held(&a.acquire(ALL, LONG).await.unwrap());
    let p = PartitionId::of_host("127.0.0.1:8006");
    assert!(a_held.contains_key(&p));
    // The takeover load ran before the commit: nothing queued yet.
    let mut loaded = Vec::new();
    a.load_queued(&[p], |u| loaded.push(u)).await.unwrap();
    assert!(loaded.is_empty());
    let announced = NewUrl::new(&url("http://127.0.0.1:8006/split-off"), 2);
    let queued = NewUrl::new(&url("http://127.0.0.1:8006/queued-here"), 2);
    let batch = Batch { urls: vec![queued], announce: vec![announced], ..Batch::default() };
    let done = a.commit(&a_held, &batch).await.unwrap();
    assert_eq!((done.new_urls, done.inbox), (2, 1));
    assert_eq!(
        queued_urls(&a.drain_inbox(&[p]).await.unwrap()),
        ["http://127.0.0.1:8006/split-off"]
    );
}
