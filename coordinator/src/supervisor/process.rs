//! One worker process: spawn, one-shot handshake with a timeout, version
//! and pid check, `Configure`, and the reader thread.

use super::{WorkerEvent, WorkerLaunch, WorkerLink};
use ipc_channel::ipc::{IpcOneShotServer, IpcReceiver, IpcSender};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, SyncSender};
use std::time::{Duration, Instant};
use thiserror::Error;
use trawl_common::ids::WorkerId;
use trawl_common::protocol::{
    CONNECT_ENV, Hello, PROTOCOL_VERSION, ToCoordinator, ToWorker, WORKER_ID_ENV, WorkerSettings,
};

/// How often a pending handshake checks whether the child died.
const HANDSHAKE_POLL: Duration = Duration::from_millis(20);

/// Why a worker could not be started.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The OS refused (bad program path, resource limits).
    #[error("spawning {program}: {source}")]
    Os {
        /// The program.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The worker never said `Hello` in time (it died, or hung).
    #[error("worker {0} did not complete the handshake within {1:?}")]
    Handshake(WorkerId, Duration),
    /// The worker speaks another protocol version (a stale binary).
    #[error("worker speaks protocol {got}, coordinator {want}")]
    Version {
        /// Worker's version.
        got: u32,
        /// Ours.
        want: u32,
    },
    /// IPC failed during set-up.
    #[error("ipc: {0}")]
    Ipc(String),
}

/// A running, configured worker.
#[derive(Debug)]
pub struct WorkerProcess {
    /// Its id.
    pub id: WorkerId,
    /// Its OS process id.
    pub pid: u32,
    child: Child,
    control: IpcSender<ToWorker>,
}

impl WorkerLink for WorkerProcess {
    fn id(&self) -> WorkerId {
        self.id
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn send(&self, msg: ToWorker) -> bool {
        self.control.send(msg).is_ok()
    }

    fn reap(mut self: Box<Self>, grace: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) => return Some(st),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    return self.child.wait().ok();
                }
                Err(_) => return None,
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
    }
}

/// Starts worker `id` in the background: a thread launches the process,
/// completes the handshake (at most `timeout`), configures it, reports
/// [`WorkerEvent::Started`] (or [`WorkerEvent::SpawnFailed`]) and then
/// forwards the worker's messages to `events`. The caller never blocks on
/// a slow or dying child.
pub fn spawn<E: From<WorkerEvent> + Send + 'static>(
    launch: &WorkerLaunch,
    id: WorkerId,
    settings: &WorkerSettings,
    events: SyncSender<E>,
    timeout: Duration,
) -> Result<(), SpawnError> {
    let (launch, settings) = (launch.clone(), settings.clone());
    std::thread::Builder::new()
        .name(format!("ipc-{id}"))
        .spawn(move || match start(&launch, id, &settings, timeout) {
            Ok((proc, rx)) => {
                // Started goes first, so the worker is known before any of
                // its messages arrive; then this thread becomes its reader.
                if events.send(WorkerEvent::Started(Box::new(proc)).into()).is_ok() {
                    read_loop(id, &rx, &events);
                }
            }
            Err(e) => {
                let _ = events.send(WorkerEvent::SpawnFailed(id, e).into());
            }
        })
        .map_err(|e| SpawnError::Ipc(format!("spawn thread: {e}")))?;
    Ok(())
}

/// Launches, handshakes and configures one worker (blocking).
fn start(
    launch: &WorkerLaunch,
    id: WorkerId,
    settings: &WorkerSettings,
    timeout: Duration,
) -> Result<(WorkerProcess, IpcReceiver<ToCoordinator>), SpawnError> {
    let (server, name) =
        IpcOneShotServer::<ToCoordinator>::new().map_err(|e| SpawnError::Ipc(e.to_string()))?;
    let mut child = Command::new(&launch.program)
        .args(&launch.args)
        .env(CONNECT_ENV, &name)
        .env(WORKER_ID_ENV, id.0.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // Own process group: a terminal's Ctrl-C reaches only the
        // coordinator, which then drains its workers in order.
        .process_group(0)
        .spawn()
        .map_err(|source| SpawnError::Os {
            program: launch.program.display().to_string(),
            source,
        })?;
    let pid = child.id();

    // accept() blocks forever if the child dies before connecting, so it
    // runs on its own thread and we wait with a timeout.
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("accept-{id}"))
        .spawn(move || {
            let _ = done_tx.send(server.accept());
        })
        .map_err(|e| SpawnError::Ipc(e.to_string()))?;
    let fail = |child: &mut Child, err: SpawnError| {
        let _ = child.kill();
        let _ = child.wait();
        err
    };
    // Wait for the hello, but notice at once if the child dies first
    // (then accept() would block forever).
    let deadline = Instant::now() + timeout;
    let accepted = loop {
        match done_rx.recv_timeout(HANDSHAKE_POLL) {
            Ok(Ok(pair)) => break pair,
            Ok(Err(e)) => return Err(fail(&mut child, SpawnError::Ipc(e.to_string()))),
            Err(_) => {
                let died = matches!(child.try_wait(), Ok(Some(_)));
                if !died && Instant::now() < deadline {
                    continue;
                }
                let err = if died {
                    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                    SpawnError::Ipc(format!("worker {id} exited before its hello ({status})"))
                } else {
                    fail(&mut child, SpawnError::Handshake(id, timeout))
                };
                // Unblock the accept thread by connecting ourselves.
                if let Ok(s) = IpcSender::<ToCoordinator>::connect(name) {
                    let _ = s.send(ToCoordinator::Credit(0));
                }
                return Err(err);
            }
        }
    };
    let (rx, first) = accepted;
    let control = match first {
        ToCoordinator::Hello(Hello { protocol_version, worker_id, pid: hello_pid, control })
            if worker_id == id && hello_pid == pid =>
        {
            if protocol_version != PROTOCOL_VERSION {
                return Err(fail(
                    &mut child,
                    SpawnError::Version { got: protocol_version, want: PROTOCOL_VERSION },
                ));
            }
            control
        }
        other => {
            return Err(fail(
                &mut child,
                SpawnError::Ipc(format!("unexpected first message {other:?}")),
            ));
        }
    };
    if control.send(ToWorker::Configure(Box::new(settings.clone()))).is_err() {
        return Err(fail(&mut child, SpawnError::Ipc("worker closed during configure".into())));
    }
    tracing::debug!(worker_id = %id, pid, "worker started");
    Ok((WorkerProcess { id, pid, child, control }, rx))
}

/// Forwards a worker's messages until its channel closes.
fn read_loop<E: From<WorkerEvent>>(
    id: WorkerId,
    rx: &IpcReceiver<ToCoordinator>,
    events: &SyncSender<E>,
) {
    loop {
        match rx.recv() {
            Ok(msg) => {
                if events.send(WorkerEvent::Message(id, msg).into()).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(worker_id = %id, error = %e, "worker channel closed");
                let _ = events.send(WorkerEvent::Closed(id).into());
                return;
            }
        }
    }
}
