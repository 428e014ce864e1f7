//! The worker's end of the IPC link.
//!
//! Two plain threads own the blocking IPC calls so the async runtime never
//! blocks on them:
//! - the control thread blocks in `recv()` on the coordinator's channel and
//!   forwards leases into the pipeline; when the coordinator dies (even by
//!   SIGKILL) `recv()` fails with `Disconnected` and the worker stops at once;
//! - the reporter thread batches finished pages and sends them with the
//!   credits they free, plus periodic heartbeats.

use crate::error::WorkerError;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc as tmpsc;
use tokio_util::sync::CancellationToken;
use trawl_common::ids::WorkerId;
use trawl_common::process::rss_bytes;
use trawl_common::protocol::{
    Hello, Lease, PROTOCOL_VERSION, PageReport, ToCoordinator, ToWorker, WorkerSettings,
};

/// Most reports in one IPC message; keeps messages under ipc-channel's
/// ~200 KB fragmentation threshold for typical pages.
const MAX_BATCH: usize = 32;

/// Reports a batch collects before it is sent: half the concurrency (at
/// most [`MAX_BATCH`], at least 1). A worker holds `2 x concurrency`
/// leases, so sending at half the concurrency returns credits while at
/// least `concurrency / 2` leases still wait in its buffer: the coordinator's
/// refill arrives before a slot goes idle. Waiting for a full batch (or the
/// time window) instead starved a worker at low concurrency: at 1 request
/// it idled ~5 ms per two pages.
pub(crate) fn batch_target(concurrency: u32) -> usize {
    (concurrency as usize / 2).clamp(1, MAX_BATCH)
}
/// Longest a finished report waits for companions before it is sent.
const BATCH_WINDOW: Duration = Duration::from_millis(5);
/// A heartbeat goes out when nothing else was sent for this long.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// A worker that has completed the handshake and been configured.
pub(crate) struct Connected {
    pub(crate) id: WorkerId,
    pub(crate) up: IpcSender<ToCoordinator>,
    pub(crate) control: IpcReceiver<ToWorker>,
    pub(crate) settings: WorkerSettings,
}

/// Connects to the coordinator's one-shot server, says `Hello` and waits
/// for `Configure`.
pub(crate) fn connect(server: &str, id: WorkerId) -> Result<Connected, WorkerError> {
    let up = IpcSender::<ToCoordinator>::connect(server.to_owned())
        .map_err(|e| WorkerError::Ipc(format!("connect: {e}")))?;
    let (control_tx, control) =
        ipc::channel::<ToWorker>().map_err(|e| WorkerError::Ipc(e.to_string()))?;
    up.send(ToCoordinator::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        worker_id: id,
        pid: std::process::id(),
        control: control_tx,
    }))
    .map_err(|e| WorkerError::Ipc(format!("hello: {e}")))?;
    match control.recv() {
        Ok(ToWorker::Configure(settings)) => Ok(Connected { id, up, control, settings: *settings }),
        Ok(other) => Err(WorkerError::Protocol(format!("expected Configure, got {other:?}"))),
        Err(e) => Err(WorkerError::Ipc(format!("waiting for Configure: {e}"))),
    }
}

/// Spawns the control thread. Leases go to `leases`; the channel is closed
/// on `Shutdown` (drain) and `cancel` is fired when the coordinator is gone.
pub(crate) fn spawn_control(
    control: IpcReceiver<ToWorker>,
    leases: tmpsc::UnboundedSender<Lease>,
    cancel: CancellationToken,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("control".into()).spawn(move || {
        loop {
            match control.recv() {
                Ok(ToWorker::Assign(batch)) => {
                    for lease in batch {
                        if leases.send(lease).is_err() {
                            return;
                        }
                    }
                }
                Ok(ToWorker::Shutdown) => {
                    tracing::debug!("shutdown requested: draining");
                    return;
                }
                Ok(ToWorker::Configure(_)) => {
                    tracing::warn!("ignoring repeated Configure");
                }
                Err(e) => {
                    tracing::debug!(error = %e, "coordinator gone: stopping");
                    cancel.cancel();
                    return;
                }
            }
        }
    })
}

/// Spawns the reporter thread. It ends, after sending `Goodbye`, when every
/// report sender is dropped (the pipeline has drained), or at once when the
/// coordinator is gone.
pub(crate) fn spawn_reporter(
    up: IpcSender<ToCoordinator>,
    reports: mpsc::Receiver<PageReport>,
    batch_target: usize,
    cancel: CancellationToken,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("reporter".into()).spawn(move || {
        let mut batch: Vec<PageReport> = Vec::with_capacity(batch_target);
        // The first heartbeat (with RSS) goes out on the first turn.
        let mut last_beat =
            Instant::now().checked_sub(HEARTBEAT_EVERY).unwrap_or_else(Instant::now);
        let mut first_at: Option<Instant> = None;
        let send = |msg: ToCoordinator| {
            if up.send(msg).is_err() {
                cancel.cancel();
                false
            } else {
                true
            }
        };
        loop {
            let wait = match first_at {
                Some(t) => BATCH_WINDOW.saturating_sub(t.elapsed()),
                None => HEARTBEAT_EVERY.saturating_sub(last_beat.elapsed()),
            };
            match reports.recv_timeout(wait) {
                Ok(r) => {
                    batch.push(r);
                    first_at.get_or_insert_with(Instant::now);
                    if batch.len() < batch_target {
                        continue;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if !batch.is_empty() {
                        let credit = u32::try_from(batch.len()).unwrap_or(u32::MAX);
                        let reports = std::mem::take(&mut batch);
                        if !send(ToCoordinator::Reports { reports, credit }) {
                            return;
                        }
                    }
                    let _ = send(ToCoordinator::Heartbeat { rss_bytes: rss_bytes() })
                        && send(ToCoordinator::Goodbye);
                    return;
                }
            }
            if cancel.is_cancelled() {
                return;
            }
            if !batch.is_empty() {
                let credit = u32::try_from(batch.len()).unwrap_or(u32::MAX);
                let reports = std::mem::replace(&mut batch, Vec::with_capacity(batch_target));
                if !send(ToCoordinator::Reports { reports, credit }) {
                    return;
                }
                first_at = None;
            }
            if last_beat.elapsed() >= HEARTBEAT_EVERY {
                if !send(ToCoordinator::Heartbeat { rss_bytes: rss_bytes() }) {
                    return;
                }
                last_beat = Instant::now();
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_half_the_concurrency_within_bounds() {
        assert_eq!(batch_target(1), 1);
        assert_eq!(batch_target(2), 1);
        assert_eq!(batch_target(16), 8);
        assert_eq!(batch_target(64), MAX_BATCH);
        assert_eq!(batch_target(4096), MAX_BATCH);
    }
}
