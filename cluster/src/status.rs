//! What `trawl status --cluster` (and a machine's dashboard and
//! `/metrics` in cluster mode) shows: machines and their leases, what
//! they report in their heartbeat, the crawl's counts (from the counters:
//! no scan of the crawl).

use crate::cluster::Cluster;
use crate::counts::Counts;
use crate::error::ClusterError;
use std::time::Duration;

/// One machine that joined.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineStatus {
    /// Its id (its `--cluster-name`, or `host:pid`).
    pub id: String,
    /// The address it registered (its host name).
    pub address: String,
    /// Partitions it holds now.
    pub partitions: u64,
    /// Worker processes, as of its last heartbeat.
    pub workers: u32,
    /// Pages per second it stored over its last heartbeat period.
    pub pages_per_sec: f64,
    /// Seconds since its last heartbeat (the database's clock).
    pub heartbeat_age_secs: f64,
    /// Its heartbeat is younger than its lease (a machine that left or
    /// died is not).
    pub alive: bool,
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
    /// URL rows (queued or stored).
    pub urls: u64,
    /// Pages per outcome, most first.
    pub outcomes: Vec<(String, u64)>,
    /// Partitions held by some machine (of [`crate::PARTITIONS`]).
    pub partitions_held: u64,
    /// `--max-pages` of the crawl, as its live machines report it (any
    /// machine's once none is alive).
    pub max_pages: Option<u64>,
}

impl ClusterStatus {
    /// Pages stored per second, summed over live machines.
    pub fn pages_per_sec(&self) -> f64 {
        self.machines.iter().filter(|m| m.alive).fold(0.0, |sum, m| sum + m.pages_per_sec)
    }

    /// Live machines.
    pub fn alive(&self) -> usize {
        self.machines.iter().filter(|m| m.alive).count()
    }
}

/// What a machine reports with its heartbeat.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Beat {
    /// Worker processes running.
    pub workers: u32,
    /// Pages per second it stored since its previous heartbeat.
    pub pages_per_sec: f32,
    /// Its lease (readers tell live machines by it).
    pub lease: Duration,
    /// The crawl's `--max-pages`.
    pub max_pages: Option<u64>,
}

fn n(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Cluster {
    /// Records that this machine is alive, with what it reports.
    pub async fn beat(&self, beat: &Beat) -> Result<(), ClusterError> {
        let workers = i32::try_from(beat.workers).unwrap_or(i32::MAX);
        let lease_ms = i32::try_from(beat.lease.as_millis()).unwrap_or(i32::MAX);
        let max_pages = beat.max_pages.map(|m| i64::try_from(m).unwrap_or(i64::MAX));
        self.client()
            .await?
            .execute(
                "UPDATE trawl.machines SET heartbeat = now(), workers = $2, pages_per_sec = $3,
                        lease_ms = $4, max_pages = $5
                 WHERE id = $1",
                &[&self.machine().as_str(), &workers, &beat.pages_per_sec, &lease_ms, &max_pages],
            )
            .await?;
        Ok(())
    }

    /// Reads [`ClusterStatus`]: the machines table, partitions per owner
    /// and the counters; nothing here grows with the crawl's size.
    pub async fn status(&self) -> Result<ClusterStatus, ClusterError> {
        let counts: Counts = self.counts().await?;
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT m.id, m.address, coalesce(p.n, 0), m.workers, m.pages_per_sec::float8,
                        extract(epoch FROM now() - m.heartbeat)::float8,
                        m.heartbeat > now() - m.lease_ms * interval '1 millisecond',
                        m.max_pages
                 FROM trawl.machines m
                 LEFT JOIN (SELECT owner, count(*) AS n FROM trawl.partitions
                            WHERE owner IS NOT NULL GROUP BY owner) p ON p.owner = m.id
                 ORDER BY m.id",
                &[],
            )
            .await?;
        let mut machines = Vec::with_capacity(rows.len());
        let (mut max_pages, mut dead_max) = (None, None);
        for r in &rows {
            let id: String = r.try_get(0)?;
            let alive: bool = r.try_get(6)?;
            let max: Option<u64> = r.try_get::<_, Option<i64>>(7)?.map(n);
            if alive {
                max_pages = max.or(max_pages);
            } else {
                dead_max = dead_max.or(max);
            }
            machines.push(MachineStatus {
                pages: counts.pages_by_machine.get(&id).copied().unwrap_or(0),
                address: r.try_get(1)?,
                partitions: n(r.try_get(2)?),
                workers: u32::try_from(r.try_get::<_, i32>(3)?).unwrap_or(0),
                pages_per_sec: if alive { r.try_get(4)? } else { 0.0 },
                heartbeat_age_secs: r.try_get(5)?,
                alive,
                id,
            });
        }
        Ok(ClusterStatus {
            partitions_held: machines.iter().map(|m| m.partitions).sum(),
            machines,
            pages: counts.pages,
            queued: counts.queued(),
            urls: counts.urls,
            outcomes: counts.outcomes,
            max_pages: max_pages.or(dead_max),
        })
    }
}
