//! How to start a worker process. Injected, so that a coordinator running
//! inside a test process starts the real `trawl` binary instead of
//! re-executing the test binary.

use std::ffi::OsString;
use std::path::PathBuf;

/// Program and arguments that start one worker.
#[derive(Clone, Debug)]
pub struct WorkerLaunch {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments (the hidden `worker` subcommand).
    pub args: Vec<OsString>,
}

impl WorkerLaunch {
    /// The running executable, re-executed as `<exe> worker`.
    pub fn current_exe() -> std::io::Result<Self> {
        Ok(Self { program: std::env::current_exe()?, args: vec!["worker".into()] })
    }
}
