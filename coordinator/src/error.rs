//! Errors that stop a crawl. A page that fails is an outcome, not one of
//! these.

use crate::store::StoreError;
use crate::supervisor::SpawnError;
use std::net::SocketAddr;
use std::path::PathBuf;
use thiserror::Error;

/// Why the coordinator could not complete a crawl.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CoordinatorError {
    /// The store directory could not be created (e.g. the path is a file).
    #[error("store directory {}: {source}", path.display())]
    StoreDir {
        /// The `--store` path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The first workers could not be started.
    #[error("could not start worker processes: {0}")]
    Spawn(#[source] SpawnError),
    /// The crawl scope could not be compiled for the API.
    #[error("api scope: {0}")]
    ApiScope(String),
    /// The API address could not be bound.
    #[error("api: binding {addr}: {source}")]
    ApiBind {
        /// The `--api` address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Every worker died and none could be respawned.
    #[error("all workers are gone: {0}")]
    WorkersLost(#[source] SpawnError),
    /// The scheduler's event channel closed (every sender dropped).
    #[error("all workers are gone: event channel closed")]
    EventsClosed,
    /// Cluster mode (`--cluster`): the database could not be joined or used.
    #[error("cluster: {0}")]
    Cluster(#[from] trawl_cluster::ClusterError),
    /// Cluster mode: the runtime its tasks run on could not start.
    #[error("cluster runtime: {0}")]
    ClusterRuntime(#[source] std::io::Error),
}
