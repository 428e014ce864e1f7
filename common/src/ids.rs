//! Identifier newtypes, so a worker id can never be passed where a lease id
//! is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest worker pool: `--workers`, `--autoscale` and `POST /api/scale`
/// accept `1..=MAX_WORKERS`.
pub const MAX_WORKERS: u32 = 256;

/// A worker process slot, unique for the life of one coordinator run.
/// A respawned worker gets a new id, so reports can never be attributed to
/// the wrong process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkerId(pub u32);

/// One hand-out of one URL to one worker. A URL that is re-issued after a
/// worker died gets a fresh lease id, so a late report of the old lease is
/// recognisable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeaseId(pub u64);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "w{}", self.0)
    }
}

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "l{}", self.0)
    }
}
