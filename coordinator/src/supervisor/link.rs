//! The scheduler's handle on one started worker, behind a trait so the
//! scheduler's tests can drive it with scripted workers instead of
//! processes. [`WorkerProcess`](super::WorkerProcess) is the real one.

use std::process::ExitStatus;
use std::time::Duration;
use trawl_common::ids::WorkerId;
use trawl_common::protocol::ToWorker;

/// A started worker: where to send its messages, how to end it.
pub trait WorkerLink: Send + std::fmt::Debug {
    /// Its id.
    fn id(&self) -> WorkerId;
    /// Its OS process id.
    fn pid(&self) -> u32;
    /// Sends a message; `false` means the worker is gone (its `Closed`
    /// event follows).
    fn send(&self, msg: ToWorker) -> bool;
    /// Kills it (SIGKILL); its `Closed` event follows.
    fn kill(&mut self);
    /// Collects its exit status, waiting at most `grace`, then killing.
    fn reap(self: Box<Self>, grace: Duration) -> Option<ExitStatus>;
}
