//! Partition leases, on the database's clock.
//!
//! A machine takes unowned or expired partitions up to its share
//! ([`Cluster::acquire`]), renews what it holds every few seconds
//! ([`Cluster::renew`]) and releases partitions when it drains or stops
//! ([`Cluster::release`]). Every change of owner (taking, stealing an
//! expired lease, releasing) increments the partition's `epoch`; a batch
//! commits only at the epoch its machine acquired ([`crate::commit`]), so
//! a machine that was paused past its lease cannot write over its
//! successor.
//!
//! Lease times come from `now()` in the database, never from a machine's
//! clock. What a machine gets back is how long each lease is still valid
//! ([`Lease::valid_for`]); measured from the moment it *sent* the request,
//! that gives a local deadline that is never later than the real one.

use crate::cluster::{Cluster, millis};
use crate::error::ClusterError;
use crate::partition::PartitionId;
use std::time::{Duration, Instant};
use tokio_postgres::Row;

/// How many times a partition has changed owner. Only ever grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub i64);

/// A partition this machine holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Which partition.
    pub partition: PartitionId,
    /// The epoch at which it was acquired: the fence for its commits.
    pub epoch: Epoch,
    /// How long the lease was still valid when the database answered.
    pub valid_for: Duration,
}

impl Lease {
    /// The local instant after which this machine must not start new work
    /// for the partition: `sent` is when the request that returned this
    /// lease was sent (so the database's answer can only be later), less
    /// a `margin` for the work already handed out to finish or be fenced.
    pub fn deadline(&self, sent: Instant, margin: Duration) -> Instant {
        sent + self.valid_for.saturating_sub(margin)
    }

    fn from_row(row: &Row) -> Result<Self, ClusterError> {
        let id: i32 = row.try_get(0)?;
        let partition = PartitionId::from_db(id)
            .ok_or_else(|| ClusterError::Corrupt(format!("partition id {id}")))?;
        let ms: f64 = row.try_get(2)?;
        Ok(Self {
            partition,
            epoch: Epoch(row.try_get(1)?),
            valid_for: Duration::from_secs_f64(ms.max(0.0) / 1000.0),
        })
    }
}

/// The `RETURNING` list every lease statement ends with.
const RETURNING: &str = "RETURNING p.id, p.epoch, \
     (extract(epoch FROM p.lease_until - now()) * 1000)::float8";

impl Cluster {
    /// Takes unowned or expired partitions until this machine holds
    /// `share` of them (counting what it already holds); returns the
    /// leases newly taken, each at a new epoch. Partitions another
    /// machine is committing to right now are skipped, not waited for.
    pub async fn acquire(&self, share: usize, lease: Duration) -> Result<Vec<Lease>, ClusterError> {
        let me = self.machine().as_str();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let held: i64 = tx
            .query_one("SELECT count(*) FROM trawl.partitions WHERE owner = $1", &[&me])
            .await?
            .get(0);
        let want = i64::try_from(share).unwrap_or(i64::MAX).saturating_sub(held);
        if want <= 0 {
            return Ok(Vec::new());
        }
        let rows = tx
            .query(
                &format!(
                    "UPDATE trawl.partitions p
                     SET owner = $1, epoch = p.epoch + 1,
                         lease_until = now() + $3::float8 * interval '1 millisecond'
                     FROM (SELECT id FROM trawl.partitions
                           WHERE (owner IS NULL OR lease_until <= now())
                             AND owner IS DISTINCT FROM $1
                           ORDER BY owner IS NOT NULL, id
                           LIMIT $2
                           FOR UPDATE SKIP LOCKED) free
                     WHERE p.id = free.id
                     {RETURNING}"
                ),
                &[&me, &want, &millis(lease)],
            )
            .await?;
        tx.commit().await?;
        let leases = rows.iter().map(Lease::from_row).collect::<Result<Vec<_>, _>>()?;
        if !leases.is_empty() {
            tracing::info!(machine = %me, taken = leases.len(), "acquired partitions");
        }
        Ok(leases)
    }

    /// Extends every lease this machine still holds, and its heartbeat;
    /// returns them. A partition missing from the answer was taken over:
    /// its work must stop. One whose epoch differs from the one the
    /// machine knows was lost and retaken meanwhile.
    pub async fn renew(&self, lease: Duration) -> Result<Vec<Lease>, ClusterError> {
        let me = self.machine().as_str();
        let client = self.client().await?;
        // Rows are locked in id order, as commits lock them, so a renewal
        // and a commit never deadlock.
        let rows = client
            .query(
                &format!(
                    "WITH beat AS (UPDATE trawl.machines SET heartbeat = now() WHERE id = $1)
                     UPDATE trawl.partitions p
                     SET lease_until = now() + $2::float8 * interval '1 millisecond'
                     FROM (SELECT id FROM trawl.partitions WHERE owner = $1
                           ORDER BY id FOR UPDATE) mine
                     WHERE p.id = mine.id
                     {RETURNING}"
                ),
                &[&me, &millis(lease)],
            )
            .await?;
        rows.iter().map(Lease::from_row).collect()
    }

    /// Gives up `partitions` (after draining their in-flight work): each
    /// becomes unowned at a new epoch, free for any machine. Returns how
    /// many this machine still held.
    pub async fn release(&self, partitions: &[PartitionId]) -> Result<u64, ClusterError> {
        let ids: Vec<i32> = partitions.iter().map(|p| p.as_i32()).collect();
        self.release_where("AND id = ANY($2)", &[&self.machine().as_str(), &ids]).await
    }

    /// Gives up every partition this machine holds (SIGTERM).
    pub async fn release_all(&self) -> Result<u64, ClusterError> {
        self.release_where("", &[&self.machine().as_str()]).await
    }

    async fn release_where(
        &self,
        filter: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, ClusterError> {
        let n = self
            .client()
            .await?
            .execute(
                &format!(
                    "UPDATE trawl.partitions SET owner = NULL, lease_until = NULL, epoch = epoch + 1
                     WHERE id IN (SELECT id FROM trawl.partitions WHERE owner = $1 {filter}
                                  ORDER BY id FOR UPDATE)"
                ),
                params,
            )
            .await?;
        tracing::info!(machine = %self.machine(), released = n, "released partitions");
        Ok(n)
    }

    /// The leases this machine holds now (expired ones included while no
    /// one has taken them), without extending them.
    pub async fn held(&self) -> Result<Vec<Lease>, ClusterError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, epoch, (extract(epoch FROM lease_until - now()) * 1000)::float8
                 FROM trawl.partitions WHERE owner = $1 ORDER BY id",
                &[&self.machine().as_str()],
            )
            .await?;
        rows.iter().map(Lease::from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_deadline_counts_from_the_request_and_keeps_a_margin() {
        let partition = PartitionId::of_host("h");
        let lease = Lease { partition, epoch: Epoch(3), valid_for: Duration::from_secs(10) };
        let sent = Instant::now();
        assert_eq!(lease.deadline(sent, Duration::from_secs(3)), sent + Duration::from_secs(7));
        // A margin longer than the lease means: stop now.
        assert_eq!(lease.deadline(sent, Duration::from_secs(30)), sent);
    }
}
