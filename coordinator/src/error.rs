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
    /// The store's filesystem is full. What was stored before is kept; a
    /// rerun with room resumes.
    #[error(
        "store {}: no space left on device; pages stored so far are kept: free some space (or copy the store somewhere roomier) and rerun to resume",
        path.display()
    )]
    StoreFull {
        /// The `--store` path.
        path: PathBuf,
    },
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

impl CoordinatorError {
    /// This error as [`CoordinatorError::StoreFull`] if the store's
    /// filesystem ran out of space, whichever step hit it.
    #[must_use]
    pub fn or_store_full(self, store: &std::path::Path) -> Self {
        let full = match &self {
            Self::Store(e) => e.is_no_space(),
            Self::StoreDir { source, .. } => crate::store::is_no_space(source),
            _ => false,
        };
        if full {
            tracing::error!(store = %store.display(), error = %self, "the store's filesystem is full");
            Self::StoreFull { path: store.to_owned() }
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sled_io(e: std::io::Error) -> CoordinatorError {
        CoordinatorError::Store(StoreError::Sled { path: "/s".into(), source: sled::Error::Io(e) })
    }

    #[test]
    fn only_a_full_filesystem_becomes_store_full() {
        let store = std::path::Path::new("/data/crawl");
        for e in [
            std::io::Error::from_raw_os_error(28),
            std::io::Error::from_raw_os_error(122),
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        ] {
            let err = sled_io(e).or_store_full(store);
            assert!(matches!(err, CoordinatorError::StoreFull { .. }), "{err}");
            let says = err.to_string();
            assert!(says.contains("/data/crawl") && says.contains("no space left"), "{says}");
        }
        let dir = CoordinatorError::StoreDir {
            path: store.into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        assert!(matches!(dir.or_store_full(store), CoordinatorError::StoreFull { .. }));
        for other in [
            sled_io(std::io::Error::from_raw_os_error(5)),
            CoordinatorError::Store(StoreError::Locked { path: store.into() }),
            CoordinatorError::EventsClosed,
        ] {
            let err = other.or_store_full(store);
            assert!(!matches!(err, CoordinatorError::StoreFull { .. }), "{err}");
        }
    }
}
