//! trawl's worker process: stateless; fetches the URLs it is leased and
//! reports what it found. Started by the coordinator as `trawl worker`.
//!
//! # Layout
//! - [`link`]: the IPC side: connect, `Hello`, the control thread that
//!   receives leases, and the reporter thread that batches results and
//!   returns credits.
//! - [`pipeline`]: the bounded async pipeline: lease -> fetch (semaphore)
//!   -> parse on the blocking pool -> report.
//! - [`fetch`]: one pooled reqwest client; a fetch always ends in a
//!   [`trawl_common::protocol::FetchOutcome`], never an error.
//! - [`extract`]: sync and pure: HTML -> title and links; charset decoding.
//! - [`sitemap`]: sync and pure: XML sitemaps and sitemap indexes.
//! - [`error`]: why a worker process could not do its job at all.

pub mod error;
pub mod extract;
pub mod fetch;
mod link;
mod pipeline;
pub mod sitemap;

pub use error::WorkerError;
pub use pipeline::CRASH_ON_ENV;

use trawl_common::ids::WorkerId;
use trawl_common::protocol::{CONNECT_ENV, WORKER_ID_ENV};

/// Runs a worker: connects to the coordinator named in the environment,
/// serves leases until told to shut down or until the coordinator is gone.
pub fn run() -> Result<(), WorkerError> {
    let server = std::env::var(CONNECT_ENV).map_err(|_| WorkerError::NotSpawned(CONNECT_ENV))?;
    let id = std::env::var(WORKER_ID_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .map(WorkerId)
        .ok_or(WorkerError::NotSpawned(WORKER_ID_ENV))?;
    let span = tracing::info_span!("worker", worker_id = %id);
    let _guard = span.enter();
    // Every request in flight is a socket: --concurrency may pass the
    // usual soft limit of 1,024 open files.
    trawl_common::process::raise_open_files_limit();
    let connected = link::connect(&server, id)?;
    pipeline::run(connected)
}
