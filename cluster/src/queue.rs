//! The crawl's queue as the database holds it: a URL row without a page
//! row. A machine that takes a partition over rebuilds that partition's
//! frontier from it ([`Cluster::load_queued`]); while it holds the
//! partition it drains the inbox other machines filled for it
//! ([`Cluster::drain_inbox`]).

use crate::cluster::Cluster;
use crate::error::ClusterError;
use crate::partition::PartitionId;
use std::collections::HashMap;
use tokio_postgres::Row;

/// Rows fetched per round trip while loading a queue.
const LOAD_CHUNK: i32 = 20_000;

/// A queued URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedUrl {
    /// Normalized URL.
    pub url: String,
    /// Its host's partition.
    pub partition: PartitionId,
    /// Link distance from the seeds.
    pub depth: u32,
}

impl QueuedUrl {
    fn from_row(row: &Row) -> Result<Self, ClusterError> {
        let partition: i32 = row.try_get(1)?;
        let depth: i32 = row.try_get(2)?;
        Ok(Self {
            url: row.try_get(0)?,
            partition: PartitionId::from_db(partition)
                .ok_or_else(|| ClusterError::Corrupt(format!("url partition {partition}")))?,
            depth: u32::try_from(depth).unwrap_or(0),
        })
    }
}

impl Cluster {
    /// Streams the queued URLs of `partitions` to `each`, in breadth-first
    /// order within each partition (by depth, then discovery order), so a
    /// host's queue is rebuilt in the order its previous owner would have
    /// crawled it. Returns how many there were. Rows come in chunks
    /// through a cursor, so memory holds one chunk, not the whole queue.
    pub async fn load_queued(
        &self,
        partitions: &[PartitionId],
        mut each: impl FnMut(QueuedUrl),
    ) -> Result<u64, ClusterError> {
        let sql = "SELECT u.url, u.partition, u.depth FROM trawl.urls u
                   WHERE u.partition = ANY($1)
                     AND NOT EXISTS (SELECT 1 FROM trawl.pages p WHERE p.url = u.url)
                   ORDER BY u.partition, u.depth, u.seq";
        self.stream_rows(sql, partitions, |row| {
            each(QueuedUrl::from_row(row)?);
            Ok(())
        })
        .await
    }

    /// Streams the URLs of `partitions` that are stored already (a page
    /// row): a new owner marks them seen, so links to them found later
    /// are not fetched again. Returns how many there were.
    pub async fn load_stored(
        &self,
        partitions: &[PartitionId],
        mut each: impl FnMut(String),
    ) -> Result<u64, ClusterError> {
        let sql = "SELECT url FROM trawl.pages WHERE partition = ANY($1)";
        self.stream_rows(sql, partitions, |row| {
            each(row.try_get(0)?);
            Ok(())
        })
        .await
    }

    /// Runs `sql` (one parameter: the partition ids) in a read-only
    /// transaction and hands its rows to `each` through a cursor,
    /// [`LOAD_CHUNK`] at a time, so memory holds one chunk. Returns how
    /// many rows there were.
    async fn stream_rows(
        &self,
        sql: &str,
        partitions: &[PartitionId],
        mut each: impl FnMut(&Row) -> Result<(), ClusterError>,
    ) -> Result<u64, ClusterError> {
        let ids: Vec<i32> = partitions.iter().map(|p| p.as_i32()).collect();
        let mut client = self.client().await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        let stmt = tx.prepare(sql).await?;
        let portal = tx.bind(&stmt, &[&ids]).await?;
        let mut n = 0;
        loop {
            let rows = tx.query_portal(&portal, LOAD_CHUNK).await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                each(row)?;
                n += 1;
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Takes the inbox rows of `partitions` that this machine owns: URLs
    /// other machines found for them since the last drain (possibly also
    /// loaded by a takeover: the frontier's seen-set drops repeats). A
    /// machine that lost a partition drains nothing of it, so the new
    /// owner's takeover load sees every URL a stale drain could have
    /// taken.
    pub async fn drain_inbox(
        &self,
        partitions: &[PartitionId],
    ) -> Result<Vec<QueuedUrl>, ClusterError> {
        let ids: Vec<i32> = partitions.iter().map(|p| p.as_i32()).collect();
        let rows = self
            .client()
            .await?
            .query(
                "DELETE FROM trawl.inbox i USING trawl.partitions p
                 WHERE i.partition = p.id AND p.owner = $1 AND p.id = ANY($2)
                 RETURNING i.url, i.partition, i.depth",
                &[&self.machine().as_str(), &ids],
            )
            .await?;
        rows.iter().map(QueuedUrl::from_row).collect()
    }

    /// Crash counts of the URLs of `partitions` (a new owner keeps
    /// counting where the old one stopped).
    pub async fn crash_counts(
        &self,
        partitions: &[PartitionId],
    ) -> Result<HashMap<String, u32>, ClusterError> {
        let ids: Vec<i32> = partitions.iter().map(|p| p.as_i32()).collect();
        let rows = self
            .client()
            .await?
            .query("SELECT url, count FROM trawl.crashes WHERE partition = ANY($1)", &[&ids])
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, u32::try_from(r.try_get::<_, i32>(1)?).unwrap_or(0))))
            .collect()
    }

    /// Queued URLs in the whole crawl (from the counters: no scan).
    pub async fn queued_count(&self) -> Result<u64, ClusterError> {
        Ok(self.pages_and_queued().await?.1)
    }
}
