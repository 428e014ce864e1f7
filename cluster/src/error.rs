//! Cluster failures. [`ClusterError::Fenced`] is the expected one: a
//! machine that lost a partition learns it when its next batch is
//! refused, and drops that partition's work.

use crate::partition::PartitionId;
use thiserror::Error;

/// What went wrong talking to the cluster's database.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The batch touched partitions this machine no longer holds at the
    /// epoch it acquired them: another machine took them over. Nothing
    /// of the batch was written.
    #[error(
        "fenced: partitions {partitions:?} are no longer held by this machine at the acquired epoch"
    )]
    Fenced {
        /// The partitions that were lost.
        partitions: Vec<PartitionId>,
    },
    /// PostgreSQL refused or failed a statement, or the connection broke.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool.
    #[error("postgres pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The database URL is not usable.
    #[error("bad cluster database URL: {0}")]
    Config(String),
    /// The database holds a newer schema than this binary knows.
    #[error(
        "the cluster database has schema version {found}; this trawl knows up to {known}: upgrade trawl"
    )]
    SchemaTooNew {
        /// In the database.
        found: i32,
        /// In this binary.
        known: i32,
    },
    /// The database was made with another partition count.
    #[error("the cluster database has {found} partitions; this trawl uses {expected}")]
    PartitionCount {
        /// In the database.
        found: i64,
        /// [`crate::PARTITIONS`].
        expected: u32,
    },
    /// A row this crate wrote could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}
