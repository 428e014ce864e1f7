//! Errors that stop a worker process. Per-URL problems are outcomes, not
//! errors; these mean the worker cannot work at all.

use thiserror::Error;

/// Why a worker process stopped abnormally.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// Started by hand rather than by a coordinator.
    #[error("`trawl worker` is started by the coordinator, not by hand ({0} is not set)")]
    NotSpawned(&'static str),
    /// The IPC link failed.
    #[error("ipc: {0}")]
    Ipc(String),
    /// The coordinator spoke out of turn.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The HTTP client or runtime could not be built.
    #[error("setup: {0}")]
    Setup(String),
}
