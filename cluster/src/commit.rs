//! The fenced batch commit: cluster mode's version of the store writer's
//! atomic batch.
//!
//! One transaction writes a batch of page records (and bodies), every new
//! URL they led to (a URL row is the queue entry; `ON CONFLICT DO NOTHING`
//! dedups across machines, and a URL for a partition another machine owns
//! also gets an inbox row its owner drains), crash counts and robots.txt,
//! and it commits only if this machine still owns every partition the
//! batch writes for, at the epoch it acquired it. That check runs first,
//! in the same transaction, with `FOR SHARE` on those partition rows, so
//! no other machine can take them until the commit ends; a stale epoch
//! rolls everything back and returns [`ClusterError::Fenced`].
//!
//! Rows go in as arrays (`UNNEST`), a handful of statements per batch
//! whatever its size, sorted by key so two machines inserting overlapping
//! URLs lock them in the same order.

use crate::cluster::Cluster;
use crate::error::ClusterError;
use crate::leases::Epoch;
use crate::partition::PartitionId;
use crate::robots::RobotsRow;
use crate::rows::{Crash, NewUrl, PageRow};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use trawl_common::protocol::FetchOutcome;

/// The advisory lock that serializes the commits of a `--max-pages`
/// crawl ("trawl" + 1).
const MAX_PAGES_LOCK: i64 = 0x7472_6177_6c01;

/// How often a batch is retried after a deadlock or serialization failure.
const RETRIES: usize = 3;

/// Everything one commit writes, all or nothing.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Page records.
    pub pages: Vec<PageRow>,
    /// New URLs found on them that this machine queued in its own
    /// frontier at the epoch it holds their partition at (already
    /// deduplicated in memory where the machine could; the database dedups
    /// the rest). One whose partition it no longer holds at that epoch is
    /// announced to the owner instead.
    pub urls: Vec<NewUrl>,
    /// New URLs found on them that this machine did *not* queue itself
    /// (another partition's, when it split them off): each new one gets an
    /// inbox row for its partition's owner, whichever machine that is now,
    /// this one included. A machine that took the partition after the URL
    /// was split off may have loaded the partition's queue before this
    /// commit; the inbox is how such a URL still reaches it.
    pub announce: Vec<NewUrl>,
    /// Crash counts to add.
    pub crashes: Vec<Crash>,
    /// robots.txt fetched for hosts of this machine's partitions.
    pub robots: Vec<RobotsRow>,
}

/// What a commit changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// Page rows inserted (a URL already stored keeps its first record).
    pub pages: u64,
    /// URL rows inserted (new to the whole crawl).
    pub new_urls: u64,
    /// Of those, notifications left for other partitions' owners.
    pub inbox: u64,
}

impl Batch {
    /// The partitions whose work this batch records, which must be held.
    fn fenced_partitions(&self) -> BTreeSet<PartitionId> {
        let pages = self.pages.iter().map(|p| p.partition);
        let crashes = self.crashes.iter().map(|c| c.partition);
        let robots = self.robots.iter().map(|r| r.partition);
        pages.chain(crashes).chain(robots).collect()
    }
}

impl Cluster {
    /// Commits `batch` if this machine holds each partition it records
    /// work for at the epoch in `held` (its view of its leases); else
    /// writes nothing and returns [`ClusterError::Fenced`]. Retries a
    /// deadlock or serialization failure a few times.
    pub async fn commit(
        &self,
        held: &HashMap<PartitionId, Epoch>,
        batch: &Batch,
    ) -> Result<Committed, ClusterError> {
        self.commit_capped(held, batch, None).await
    }

    /// [`commit`](Self::commit), storing no page past `max_pages` page
    /// rows in the whole crawl (`--max-pages` across machines): the
    /// commits of a capped crawl take one transaction-level advisory lock,
    /// count the pages and store only what fits; the URLs are written all
    /// the same.
    pub async fn commit_capped(
        &self,
        held: &HashMap<PartitionId, Epoch>,
        batch: &Batch,
        max_pages: Option<u64>,
    ) -> Result<Committed, ClusterError> {
        let mut attempt = 0;
        loop {
            match self.commit_once(held, batch, max_pages).await {
                Err(ClusterError::Postgres(e)) if attempt < RETRIES && is_retryable(&e) => {
                    attempt += 1;
                    tracing::warn!(machine = %self.machine(), attempt, error = %e, "retrying batch");
                }
                other => return other,
            }
        }
    }

    async fn commit_once(
        &self,
        held: &HashMap<PartitionId, Epoch>,
        batch: &Batch,
        max_pages: Option<u64>,
    ) -> Result<Committed, ClusterError> {
        let needed = batch.fenced_partitions();
        let not_held: Vec<PartitionId> =
            needed.iter().copied().filter(|p| !held.contains_key(p)).collect();
        if !not_held.is_empty() {
            return Err(ClusterError::Fenced { partitions: not_held });
        }
        // The partitions of new URLs this machine believes it owns are
        // checked (and share-locked) too: one it lost gets an inbox row
        // for its new owner instead of being left to a takeover that
        // already happened.
        let url_own: BTreeSet<PartitionId> =
            batch.urls.iter().map(|u| u.partition).filter(|p| held.contains_key(p)).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let ids: Vec<i32> = needed.union(&url_own).map(|p| p.as_i32()).collect();
        let rows = tx
            .query(
                "SELECT id, epoch FROM trawl.partitions
                 WHERE id = ANY($1) AND owner = $2 ORDER BY id FOR SHARE",
                &[&ids, &self.machine().as_str()],
            )
            .await?;
        let mut current = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: i32 = row.try_get(0)?;
            current.insert(id, Epoch(row.try_get(1)?));
        }
        let lost: Vec<PartitionId> =
            needed.iter().copied().filter(|p| current.get(&p.as_i32()) != held.get(p)).collect();
        if !lost.is_empty() {
            // Dropping the transaction rolls it back.
            tracing::warn!(machine = %self.machine(), lost = lost.len(), "batch fenced");
            return Err(ClusterError::Fenced { partitions: lost });
        }
        let mut done = Committed::default();
        let mut pages = batch.pages.as_slice();
        if let Some(max) = max_pages
            && !pages.is_empty()
        {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MAX_PAGES_LOCK]).await?;
            let stored: i64 = tx.query_one("SELECT count(*) FROM trawl.pages", &[]).await?.get(0);
            let room = max.saturating_sub(u64::try_from(stored).unwrap_or(0));
            pages = &pages[..pages.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        }
        if !pages.is_empty() {
            done.pages = insert_pages(&tx, self.machine().as_str(), pages).await?;
        }
        if !batch.urls.is_empty() || !batch.announce.is_empty() {
            let owned: Vec<i32> = url_own
                .iter()
                .filter(|p| current.get(&p.as_i32()) == held.get(p))
                .map(|p| p.as_i32())
                .collect();
            (done.new_urls, done.inbox) =
                insert_urls(&tx, &batch.urls, &batch.announce, &owned).await?;
        }
        if !batch.crashes.is_empty() {
            add_crashes(&tx, &batch.crashes).await?;
        }
        if !batch.robots.is_empty() {
            crate::robots::upsert(&tx, &batch.robots).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Adds seed URLs (or URLs from `POST /seeds`) to the crawl, outside
    /// any lease: each lands in its partition's inbox for the owner.
    pub async fn add_urls(&self, urls: &[NewUrl]) -> Result<Committed, ClusterError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (new_urls, inbox) = insert_urls(&tx, &[], urls, &[]).await?;
        tx.commit().await?;
        Ok(Committed { pages: 0, new_urls, inbox })
    }
}

fn is_retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `outcome_detail`: the variant's data, when it has any.
pub(crate) fn outcome_detail(outcome: &FetchOutcome) -> Option<serde_json::Value> {
    match serde_json::to_value(outcome) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().next().map(|(_, v)| v),
        _ => None,
    }
}

async fn insert_pages(
    tx: &deadpool_postgres::Transaction<'_>,
    machine: &str,
    pages: &[PageRow],
) -> Result<u64, ClusterError> {
    let mut sorted: Vec<&PageRow> = pages.iter().collect();
    sorted.sort_by(|a, b| a.url.cmp(&b.url));
    let url: Vec<&str> = sorted.iter().map(|p| p.url.as_str()).collect();
    let partition: Vec<i32> = sorted.iter().map(|p| p.partition.as_i32()).collect();
    let depth: Vec<i32> = sorted.iter().map(|p| to_i32(p.depth)).collect();
    let status: Vec<Option<i16>> =
        sorted.iter().map(|p| p.status.map(|s| i16::try_from(s).unwrap_or(i16::MAX))).collect();
    let content_type: Vec<Option<&str>> =
        sorted.iter().map(|p| p.content_type.as_deref()).collect();
    let title: Vec<Option<&str>> = sorted.iter().map(|p| p.title.as_deref()).collect();
    let bytes: Vec<i64> = sorted.iter().map(|p| to_i64(p.bytes)).collect();
    let fetched_at: Vec<i64> = sorted.iter().map(|p| to_i64(p.fetched_at_ms)).collect();
    let elapsed: Vec<i32> = sorted.iter().map(|p| to_i32(p.elapsed_ms)).collect();
    let outlinks: Vec<i32> = sorted.iter().map(|p| to_i32(p.outlinks)).collect();
    let outcome: Vec<&str> = sorted.iter().map(|p| p.outcome.kind()).collect();
    let detail: Vec<Option<serde_json::Value>> =
        sorted.iter().map(|p| outcome_detail(&p.outcome)).collect();
    let worker: Vec<Option<i32>> = sorted.iter().map(|p| p.worker.map(to_i32)).collect();
    let attempts: Vec<i16> = sorted.iter().map(|p| i16::from(p.attempts)).collect();
    let retry_after: Vec<Option<i32>> =
        sorted.iter().map(|p| p.retry_after_secs.map(to_i32)).collect();
    let noindex: Vec<bool> = sorted.iter().map(|p| p.noindex).collect();
    let nofollow: Vec<bool> = sorted.iter().map(|p| p.nofollow).collect();
    let canonical: Vec<Option<&str>> = sorted.iter().map(|p| p.canonical.as_deref()).collect();
    let fields: Vec<Option<serde_json::Value>> = sorted
        .iter()
        .map(|p| (!p.fields.is_empty()).then(|| serde_json::to_value(&p.fields).ok()).flatten())
        .collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO trawl.pages (url, partition, depth, status, content_type, title, bytes,
                 fetched_at, elapsed_ms, outlinks, outcome, outcome_detail, machine, worker,
                 attempts, retry_after_secs, noindex, nofollow, canonical, fields)
             SELECT u, pt, d, st, ct, ti, b, to_timestamp(f / 1000.0), e, o, oc, od, $20, w,
                 a, ra, ni, nf, c, fl
             FROM unnest($1::text[], $2::int4[], $3::int4[], $4::int2[], $5::text[], $6::text[],
                 $7::int8[], $8::int8[], $9::int4[], $10::int4[], $11::text[], $12::jsonb[],
                 $13::int4[], $14::int2[], $15::int4[], $16::bool[], $17::bool[], $18::text[],
                 $19::jsonb[])
                 AS t(u, pt, d, st, ct, ti, b, f, e, o, oc, od, w, a, ra, ni, nf, c, fl)
             ON CONFLICT (url) DO NOTHING",
        )
        .await?;
    let inserted = tx
        .execute(
            &stmt,
            &[
                &url,
                &partition,
                &depth,
                &status,
                &content_type,
                &title,
                &bytes,
                &fetched_at,
                &elapsed,
                &outlinks,
                &outcome,
                &detail,
                &worker,
                &attempts,
                &retry_after,
                &noindex,
                &nofollow,
                &canonical,
                &fields,
                &machine,
            ],
        )
        .await?;
    let with_body: Vec<&&PageRow> = sorted.iter().filter(|p| p.body.is_some()).collect();
    if !with_body.is_empty() {
        let urls: Vec<&str> = with_body.iter().map(|p| p.url.as_str()).collect();
        let bodies: Vec<&[u8]> = with_body.iter().filter_map(|p| p.body.as_deref()).collect();
        tx.execute(
            "INSERT INTO trawl.bodies (url, body) SELECT * FROM unnest($1::text[], $2::bytea[])
             ON CONFLICT (url) DO NOTHING",
            &[&urls, &bodies],
        )
        .await?;
    }
    Ok(inserted)
}

/// Inserts URL rows; those new to the crawl get an inbox row unless they
/// are in `local` (queued by this machine) with their partition in `owned`
/// (held at the epoch it queued them at). Every URL of `announce` that is
/// new gets one. Returns (new, inboxed).
async fn insert_urls(
    tx: &deadpool_postgres::Transaction<'_>,
    local: &[NewUrl],
    announce: &[NewUrl],
    owned: &[i32],
) -> Result<(u64, u64), ClusterError> {
    // (url, queued here); a URL in both lists is announced (an extra
    // inbox row is harmless: its owner's seen-set drops it).
    let mut sorted: Vec<(&NewUrl, bool)> = announce
        .iter()
        .map(|u| (u, false))
        .chain(local.iter().map(|u| (u, owned.contains(&u.partition.as_i32()))))
        .collect();
    sorted.sort_by(|a, b| a.0.url.cmp(&b.0.url).then(a.1.cmp(&b.1)));
    sorted.dedup_by(|a, b| a.0.url == b.0.url);
    let url: Vec<&str> = sorted.iter().map(|u| u.0.url.as_str()).collect();
    let partition: Vec<i32> = sorted.iter().map(|u| u.0.partition.as_i32()).collect();
    let depth: Vec<i32> = sorted.iter().map(|u| to_i32(u.0.depth)).collect();
    let here: Vec<bool> = sorted.iter().map(|u| u.1).collect();
    let stmt = tx
        .prepare_cached(
            "WITH ins AS (
                 INSERT INTO trawl.urls (url, partition, depth)
                 SELECT u, p, d FROM unnest($1::text[], $2::int4[], $3::int4[]) AS t(u, p, d)
                 ON CONFLICT (url) DO NOTHING
                 RETURNING url, partition, depth),
             inb AS (
                 INSERT INTO trawl.inbox (partition, url, depth)
                 SELECT ins.partition, ins.url, ins.depth
                 FROM ins JOIN unnest($1::text[], $4::bool[]) AS h(u, here) ON h.u = ins.url
                 WHERE NOT h.here
                 RETURNING 1)
             SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM inb)",
        )
        .await?;
    let row = tx.query_one(&stmt, &[&url, &partition, &depth, &here]).await?;
    let (new, inbox): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    Ok((u64::try_from(new).unwrap_or(0), u64::try_from(inbox).unwrap_or(0)))
}

async fn add_crashes(
    tx: &deadpool_postgres::Transaction<'_>,
    crashes: &[Crash],
) -> Result<(), ClusterError> {
    // One row per URL: ON CONFLICT DO UPDATE may not touch a row twice.
    let mut summed: BTreeMap<&str, (i32, u32)> = BTreeMap::new();
    for c in crashes {
        let e = summed.entry(c.url.as_str()).or_insert((c.partition.as_i32(), 0));
        e.1 = e.1.saturating_add(c.count);
    }
    let url: Vec<&str> = summed.keys().copied().collect();
    let partition: Vec<i32> = summed.values().map(|v| v.0).collect();
    let count: Vec<i32> = summed.values().map(|v| to_i32(v.1)).collect();
    tx.execute(
        "INSERT INTO trawl.crashes (url, partition, count)
         SELECT * FROM unnest($1::text[], $2::int4[], $3::int4[])
         ON CONFLICT (url) DO UPDATE
         SET count = trawl.crashes.count + EXCLUDED.count, last_at = now()",
        &[&url, &partition, &count],
    )
    .await?;
    Ok(())
}
