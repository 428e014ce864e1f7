//! How the pool starts a worker, behind a trait: the real launcher starts
//! a process (`supervisor::spawn`); the scheduler's tests start scripted
//! workers. Either way the new worker announces itself later with
//! [`WorkerEvent::Started`](crate::supervisor::WorkerEvent) (or
//! `SpawnFailed`) on the scheduler's event channel.

use super::Event;
use crate::supervisor::{self, SpawnError, WorkerLaunch};
use std::sync::mpsc::SyncSender;
use std::time::Duration;
use trawl_common::ids::WorkerId;
use trawl_common::protocol::WorkerSettings;

/// Starts workers in the background.
pub(crate) trait Launcher {
    /// Starts worker `id` configured with `settings`; its events go to
    /// `events`. An error means nothing was started.
    fn spawn(
        &mut self,
        id: WorkerId,
        settings: &WorkerSettings,
        events: SyncSender<Event>,
    ) -> Result<(), SpawnError>;
}

/// Starts real worker processes.
pub(crate) struct ProcessLauncher {
    launch: WorkerLaunch,
    handshake_timeout: Duration,
}

impl ProcessLauncher {
    pub(crate) fn new(launch: WorkerLaunch, handshake_timeout: Duration) -> Self {
        Self { launch, handshake_timeout }
    }
}

impl Launcher for ProcessLauncher {
    fn spawn(
        &mut self,
        id: WorkerId,
        settings: &WorkerSettings,
        events: SyncSender<Event>,
    ) -> Result<(), SpawnError> {
        supervisor::spawn(&self.launch, id, settings, events, self.handshake_timeout)
    }
}
