//! robots.txt per host key, in the database: a machine that takes over a
//! partition reads its hosts' rules instead of fetching them again, and
//! what one fetch found holds for the whole cluster. Written only in a
//! fenced [`crate::Batch`] by the host's owner; read by anyone.

use crate::cluster::Cluster;
use crate::error::ClusterError;
use crate::partition::PartitionId;

/// A host's robots.txt as fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RobotsRow {
    /// The host key (`host[:port]`).
    pub host: String,
    /// Its partition ([`PartitionId::of_host`]).
    pub partition: PartitionId,
    /// HTTP status of the robots.txt response; `None` if none arrived.
    pub status: Option<u16>,
    /// The body (empty when there was none).
    pub body: String,
    /// When it was fetched, ms since the Unix epoch.
    pub fetched_at_ms: u64,
}

impl RobotsRow {
    /// A row for `host`, its partition derived from the key.
    pub fn new(host: &str, status: Option<u16>, body: String, fetched_at_ms: u64) -> Self {
        Self {
            host: host.to_owned(),
            partition: PartitionId::of_host(host),
            status,
            body,
            fetched_at_ms,
        }
    }
}

/// Writes `rows` (last one wins per host) inside a commit.
pub(crate) async fn upsert(
    tx: &deadpool_postgres::Transaction<'_>,
    rows: &[RobotsRow],
) -> Result<(), ClusterError> {
    let mut by_host = std::collections::BTreeMap::new();
    for r in rows {
        by_host.insert(r.host.as_str(), r);
    }
    let host: Vec<&str> = by_host.keys().copied().collect();
    let partition: Vec<i32> = by_host.values().map(|r| r.partition.as_i32()).collect();
    let status: Vec<Option<i16>> =
        by_host.values().map(|r| r.status.map(|s| i16::try_from(s).unwrap_or(i16::MAX))).collect();
    let body: Vec<&str> = by_host.values().map(|r| r.body.as_str()).collect();
    let at: Vec<i64> =
        by_host.values().map(|r| i64::try_from(r.fetched_at_ms).unwrap_or(i64::MAX)).collect();
    tx.execute(
        "INSERT INTO trawl.robots (host, partition, status, body, fetched_at)
         SELECT h, p, s, b, to_timestamp(f / 1000.0)
         FROM unnest($1::text[], $2::int4[], $3::int2[], $4::text[], $5::int8[]) AS t(h, p, s, b, f)
         ON CONFLICT (host) DO UPDATE
         SET status = EXCLUDED.status, body = EXCLUDED.body, fetched_at = EXCLUDED.fetched_at",
        &[&host, &partition, &status, &body, &at],
    )
    .await?;
    Ok(())
}

impl Cluster {
    /// The stored robots.txt of every host of `partitions` (a takeover
    /// applies them instead of fetching them again).
    pub async fn robots_of(
        &self,
        partitions: &[PartitionId],
    ) -> Result<Vec<RobotsRow>, ClusterError> {
        let ids: Vec<i32> = partitions.iter().map(|p| p.as_i32()).collect();
        let rows = self
            .client()
            .await?
            .query(
                "SELECT host, partition, status, body,
                        (extract(epoch FROM fetched_at) * 1000)::int8
                 FROM trawl.robots WHERE partition = ANY($1)",
                &[&ids],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let partition: i32 = row.try_get(1)?;
                let status: Option<i16> = row.try_get(2)?;
                let at: i64 = row.try_get(4)?;
                Ok(RobotsRow {
                    host: row.try_get(0)?,
                    partition: PartitionId::from_db(partition).ok_or_else(|| {
                        ClusterError::Corrupt(format!("robots partition {partition}"))
                    })?,
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    body: row.try_get(3)?,
                    fetched_at_ms: u64::try_from(at).unwrap_or(0),
                })
            })
            .collect()
    }

    /// The stored robots.txt of `host`, if any machine fetched it.
    pub async fn robots(&self, host: &str) -> Result<Option<RobotsRow>, ClusterError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT partition, status, body,
                        (extract(epoch FROM fetched_at) * 1000)::int8
                 FROM trawl.robots WHERE host = $1",
                &[&host],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let partition: i32 = row.try_get(0)?;
        let status: Option<i16> = row.try_get(1)?;
        let at: i64 = row.try_get(3)?;
        Ok(Some(RobotsRow {
            host: host.to_owned(),
            partition: PartitionId::from_db(partition)
                .ok_or_else(|| ClusterError::Corrupt(format!("robots partition {partition}")))?,
            status: status.and_then(|s| u16::try_from(s).ok()),
            body: row.try_get(2)?,
            fetched_at_ms: u64::try_from(at).unwrap_or(0),
        }))
    }
}
