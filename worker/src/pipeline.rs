//! The worker's bounded pipeline.
//!
//! ```text
//! control thread --leases--> dispatcher --(semaphore: concurrency)--> fetch task
//!     fetch task --(spawn_blocking)--> extract --> report channel --> reporter thread
//! ```
//!
//! Back-pressure end to end: the coordinator sends only as many leases as
//! the worker granted credits (`2 x concurrency`), the semaphore bounds
//! requests in flight, and a credit is returned only when a report leaves.

use crate::error::WorkerError;
use crate::fetch::Fetcher;
use crate::link::{self, Connected};
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::{Semaphore, mpsc as tmpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use trawl_common::protocol::{Lease, ToCoordinator};

/// Leases a worker asks for beyond its concurrency, so the next request can
/// start the moment one finishes, without waiting for an IPC round trip.
const PREFETCH_FACTOR: u32 = 2;

/// Fault injection for crash tests: a worker aborts (like a parser
/// crash would) when leased a URL containing this string.
pub const CRASH_ON_ENV: &str = "TRAWL_WORKER_CRASH_ON";

/// Blocking-pool threads per worker: parsing is CPU-bound, and the process
/// (not threads) is the unit of CPU parallelism.
const PARSE_THREADS: usize = 2;

pub(crate) fn run(c: Connected) -> Result<(), WorkerError> {
    let concurrency = c.settings.concurrency.max(1);
    let fetcher = Arc::new(Fetcher::new(&c.settings)?);
    let crash_on: Option<Arc<str>> =
        std::env::var(CRASH_ON_ENV).ok().filter(|s| !s.is_empty()).map(Arc::from);
    let cancel = CancellationToken::new();
    let (lease_tx, lease_rx) = tmpsc::unbounded_channel::<Lease>();
    let (report_tx, report_rx) = mpsc::channel();

    let control = link::spawn_control(c.control, lease_tx, cancel.clone())
        .map_err(|e| WorkerError::Setup(e.to_string()))?;
    let reporter = link::spawn_reporter(
        c.up.clone(),
        report_rx,
        link::batch_target(concurrency),
        cancel.clone(),
    )
    .map_err(|e| WorkerError::Setup(e.to_string()))?;
    c.up.send(ToCoordinator::Credit(concurrency.saturating_mul(PREFETCH_FACTOR)))
        .map_err(|e| WorkerError::Ipc(e.to_string()))?;
    tracing::debug!(worker_id = %c.id, concurrency, "worker ready");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(PARSE_THREADS)
        .build()
        .map_err(|e| WorkerError::Setup(e.to_string()))?;
    let dispatched =
        rt.block_on(dispatch(lease_rx, report_tx, fetcher, concurrency, crash_on, cancel.clone()));
    // Tasks still blocked on a dead coordinator are abandoned, not awaited.
    rt.shutdown_background();
    dispatched?;
    if cancel.is_cancelled() {
        // The coordinator is gone: exit without waiting for the control
        // thread, which may still be blocked in recv.
        return Ok(());
    }
    let _ = reporter.join();
    let _ = control.join();
    Ok(())
}

async fn dispatch(
    mut leases: tmpsc::UnboundedReceiver<Lease>,
    reports: mpsc::Sender<trawl_common::protocol::PageReport>,
    fetcher: Arc<Fetcher>,
    concurrency: u32,
    crash_on: Option<Arc<str>>,
    cancel: CancellationToken,
) -> Result<(), WorkerError> {
    let slots = Arc::new(Semaphore::new(concurrency as usize));
    let mut tasks = JoinSet::new();
    loop {
        let lease = tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            l = leases.recv() => l,
        };
        let Some(lease) = lease else { break };
        let permit = tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return Ok(()),
            },
        };
        if crash_on.as_deref().is_some_and(|c| lease.url.contains(c)) {
            tracing::error!(url = %lease.url, "{CRASH_ON_ENV}: aborting on purpose");
            std::process::abort();
        }
        let fetcher = fetcher.clone();
        let reports = reports.clone();
        tasks.spawn(async move {
            let span = tracing::debug_span!("fetch", url = %lease.url, lease_id = %lease.id);
            let report = tracing::Instrument::instrument(fetcher.fetch(&lease), span).await;
            drop(permit);
            // The reporter only disappears when the coordinator is gone.
            let _ = reports.send(report);
        });
        while let Some(done) = tasks.try_join_next() {
            check(done)?;
        }
    }
    // Drain: every leased URL is reported before Goodbye.
    loop {
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            done = tasks.join_next() => match done {
                Some(done) => check(done)?,
                None => return Ok(()),
            },
        }
    }
}

/// A fetch task that panicked lost its lease: stop the process, so the
/// coordinator re-issues every lease this worker held (and can count the
/// URL as a crash suspect) instead of waiting for a report that never comes.
fn check(done: Result<(), tokio::task::JoinError>) -> Result<(), WorkerError> {
    done.map_err(|e| WorkerError::Protocol(format!("fetch task failed: {e}")))
}
