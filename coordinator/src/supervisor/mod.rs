//! Worker processes: how they are launched, the handshake, and the threads
//! that turn their IPC traffic into [`WorkerEvent`]s for the scheduler.
//!
//! A worker's death is seen two ways: its IPC channel closes
//! ([`WorkerEvent::Closed`], delivered after every message it sent before
//! dying), and its exit status, collected by [`WorkerLink::reap`].

mod launch;
mod link;
mod memory;
mod process;

pub use launch::WorkerLaunch;
pub use link::WorkerLink;
pub use memory::memory_budget;
pub use process::{SpawnError, WorkerProcess, spawn};

use trawl_common::ids::WorkerId;
use trawl_common::protocol::ToCoordinator;

/// What the per-worker threads report to the scheduler.
#[derive(Debug)]
pub enum WorkerEvent {
    /// A worker completed its handshake; its messages follow.
    Started(Box<dyn WorkerLink>),
    /// A worker could not be started (it died or hung before its hello).
    SpawnFailed(WorkerId, SpawnError),
    /// A message from a worker.
    Message(WorkerId, ToCoordinator),
    /// The worker's channel closed: it exited or died.
    Closed(WorkerId),
}
