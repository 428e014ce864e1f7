//! The handle a machine holds on the cluster's database: a small pool of
//! connections, its machine id, and its row in `trawl.machines`.

use crate::error::ClusterError;
use crate::schema;
use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod};
use std::time::Duration;
use tokio_postgres::NoTls;

/// Connections per machine: the committer, the lease renewer and a
/// takeover load can run at once without waiting on each other.
const POOL_SIZE: usize = 4;

/// How long to wait for a connection (a database that is down or
/// restarting fails calls after this rather than hanging them).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the server keeps a session idle inside a transaction (see
/// [`Cluster::connect`]): a cut-off machine's partitions can be taken over
/// this long after the cut at the earliest (or its lease, if longer).
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(5);

/// A machine's stable name in the cluster (e.g. `hostname:pid` or a name
/// given by the operator). It owns leases, so two processes must never
/// share one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MachineId(String);

impl MachineId {
    /// A machine id; empty names are refused.
    pub fn new(name: impl Into<String>) -> Option<Self> {
        let name = name.into();
        (!name.trim().is_empty()).then_some(Self(name))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MachineId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One machine's connection to the cluster.
#[derive(Clone)]
pub struct Cluster {
    pool: Pool,
    machine: MachineId,
}

impl Cluster {
    /// Connects to `url`, brings the schema up to date and registers this
    /// machine (its `address` is shown by `trawl status --cluster`).
    pub async fn join(url: &str, machine: MachineId, address: &str) -> Result<Self, ClusterError> {
        let cluster = Self::connect(url, machine)?;
        let mut client = cluster.client().await?;
        schema::migrate(&mut client).await?;
        client
            .execute(
                "INSERT INTO trawl.machines (id, address) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE
                 SET address = EXCLUDED.address, started_at = now(), heartbeat = now()",
                &[&cluster.machine.as_str(), &address],
            )
            .await?;
        // A joining process holds nothing: leases left under this name by
        // an earlier process (a restarted container keeps its hostname and
        // often its pid, so its default name) are released at a new
        // epoch, so they are taken and loaded again instead of being kept
        // by a process that never loaded their queue (and an old process
        // still running under the name is fenced).
        let stale = client
            .execute(
                "UPDATE trawl.partitions SET owner = NULL, epoch = epoch + 1, lease_until = now()
                 WHERE owner = $1",
                &[&cluster.machine.as_str()],
            )
            .await?;
        if stale > 0 {
            tracing::warn!(machine = %cluster.machine, partitions = stale, "released leases an earlier process left under this name");
        }
        tracing::info!(machine = %cluster.machine, address, "joined the cluster");
        Ok(cluster)
    }

    /// A pool on `url` for reading (`trawl query/status --cluster`): no
    /// migration, no machine row (`machine` only names its connections'
    /// writes, and a reader makes none). Connects lazily.
    pub fn connect(url: &str, machine: MachineId) -> Result<Self, ClusterError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| ClusterError::Config(e.to_string()))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        // A machine cut off mid-transaction leaves its backend "idle in
        // transaction", holding the partition locks of its commit (FOR
        // SHARE) or take (FOR UPDATE) until the server notices the dead
        // connection (TCP keepalive: hours); takes skip locked partitions,
        // so nobody could take its partitions over; a machine paused
        // (SIGSTOP, a frozen VM) mid-transaction likewise. The server ends
        // such a session after this (ours are never idle that long).
        let options = config.get_options().unwrap_or_default();
        // A backend stuck sending to it gives up as soon (tcp_user_timeout).
        let ms = IDLE_IN_TRANSACTION.as_millis();
        let options = format!(
            "{options} -c idle_in_transaction_session_timeout={ms} -c tcp_user_timeout={ms}"
        );
        config.options(options.trim_start());
        if config.get_application_name().is_none() {
            config.application_name("trawl");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Self { pool, machine })
    }

    /// This machine's id.
    pub fn machine(&self) -> &MachineId {
        &self.machine
    }

    /// A pooled connection.
    pub async fn client(&self) -> Result<Client, ClusterError> {
        Ok(self.pool.get().await?)
    }

    /// Records that this machine is alive, with its current numbers.
    pub async fn heartbeat(&self, workers: u32, pages_per_sec: f32) -> Result<(), ClusterError> {
        let workers = i32::try_from(workers).unwrap_or(i32::MAX);
        self.client()
            .await?
            .execute(
                "UPDATE trawl.machines SET heartbeat = now(), workers = $2, pages_per_sec = $3
                 WHERE id = $1",
                &[&self.machine.as_str(), &workers, &pages_per_sec],
            )
            .await?;
        Ok(())
    }

    /// Leaves the cluster: the machine's row stays (for `trawl status`)
    /// but no longer counts as live, so the others' fair share grows at
    /// once.
    pub async fn leave(&self) -> Result<(), ClusterError> {
        self.client()
            .await?
            .execute(
                "UPDATE trawl.machines SET heartbeat = 'epoch', pages_per_sec = 0 WHERE id = $1",
                &[&self.machine.as_str()],
            )
            .await?;
        Ok(())
    }

    /// Machines whose heartbeat is at most `within` old (the database's
    /// clock), this one included once it has joined.
    pub async fn live_machines(&self, within: Duration) -> Result<usize, ClusterError> {
        let n: i64 = self
            .client()
            .await?
            .query_one(
                "SELECT count(*) FROM trawl.machines
                 WHERE heartbeat > now() - $1::float8 * interval '1 millisecond'",
                &[&millis(within)],
            )
            .await?
            .get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// A duration as float milliseconds, for `$n::float8 * interval '1 millisecond'`.
pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
