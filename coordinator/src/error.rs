//! Errors that stop a crawl. A page that fails is an outcome, not one of
//! these.

use crate::store::StoreError;
use thiserror::Error;

/// Why the coordinator could not complete a crawl.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CoordinatorError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No worker process could be started at all.
    #[error("could not start worker processes: {0}")]
    Spawn(String),
    /// The API could not be served.
    #[error("api: {0}")]
    Api(String),
    /// Every worker died and none could be respawned.
    #[error("all workers are gone: {0}")]
    WorkersLost(String),
}
