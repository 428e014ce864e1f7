//! What `trawl status --cluster` shows: machines and their leases, pages,
//! queued URLs, outcomes.

use crate::cluster::Cluster;
use crate::error::ClusterError;

/// One machine that joined.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineStatus {
    /// Its id.
    pub id: String,
    /// The address it registered (its host name).
    pub address: String,
    /// Partitions it holds now.
    pub partitions: u64,
    /// Seconds since its last heartbeat (the database's clock).
    pub heartbeat_age_secs: f64,
    /// Page rows it stored.
    pub pages: u64,
}

/// The cluster as the database sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterStatus {
    /// Machines, by id.
    pub machines: Vec<MachineStatus>,
    /// Page rows.
    pub pages: u64,
    /// URL rows without a page row.
    pub queued: u64,
    /// Pages per outcome, most first.
    pub outcomes: Vec<(String, u64)>,
}

fn n(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Cluster {
    /// Reads [`ClusterStatus`].
    pub async fn status(&self) -> Result<ClusterStatus, ClusterError> {
        let client = self.client().await?;
        let machines = client
            .query(
                "SELECT m.id, m.address,
                        (SELECT count(*) FROM trawl.partitions p WHERE p.owner = m.id),
                        extract(epoch FROM now() - m.heartbeat)::float8,
                        (SELECT count(*) FROM trawl.pages g WHERE g.machine = m.id)
                 FROM trawl.machines m ORDER BY m.id",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(MachineStatus {
                    id: r.try_get(0)?,
                    address: r.try_get(1)?,
                    partitions: n(r.try_get(2)?),
                    heartbeat_age_secs: r.try_get(3)?,
                    pages: n(r.try_get(4)?),
                })
            })
            .collect::<Result<Vec<_>, ClusterError>>()?;
        let outcomes = client
            .query("SELECT outcome, count(*) FROM trawl.pages GROUP BY 1 ORDER BY 2 DESC, 1", &[])
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, n(r.try_get(1)?))))
            .collect::<Result<Vec<_>, ClusterError>>()?;
        drop(client);
        Ok(ClusterStatus {
            machines,
            pages: self.page_count().await?,
            queued: self.queued_count().await?,
            outcomes,
        })
    }
}
