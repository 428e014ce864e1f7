//! Settings the coordinator sends each worker in [`super::ToWorker::Configure`],
//! so the worker needs no flags of its own and both sides stay consistent.

use super::ExtractRule;
use crate::url::Scope;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Default extra attempts per URL.
pub const DEFAULT_RETRIES: u8 = 2;

/// How a worker fetches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchSettings {
    /// The `User-Agent` header.
    pub user_agent: String,
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Longest pause between two reads, including waiting for headers.
    pub read_timeout: Duration,
    /// Deadline for the whole request; the only guard against trickling bodies.
    pub total_timeout: Duration,
    /// Body cap in bytes, enforced while streaming (after decompression).
    pub max_bytes: u64,
    /// Extra attempts after a connection failure, a 5xx or a 429.
    pub retries: u8,
    /// Backoff before the first retry; doubles each time (plus jitter).
    pub retry_base: Duration,
    /// Longest wait before a retry. A `Retry-After` above it is not waited
    /// for: the page is reported with `retry_after_secs` instead.
    pub retry_max_wait: Duration,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            user_agent: concat!("trawl/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(20),
            total_timeout: Duration::from_secs(30),
            max_bytes: 10 * 1024 * 1024,
            retries: DEFAULT_RETRIES,
            retry_base: Duration::from_millis(500),
            retry_max_wait: Duration::from_secs(30),
        }
    }
}

/// Everything a worker needs to do its job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSettings {
    /// Most requests in flight at once in this worker (a semaphore).
    pub concurrency: u32,
    /// Fetch behaviour.
    pub fetch: FetchSettings,
    /// Which links are worth reporting back.
    pub scope: Scope,
    /// Named fields to extract from every HTML page.
    pub extract: Vec<ExtractRule>,
    /// Follow links despite `<meta name=robots content=nofollow>` and
    /// `rel=nofollow`.
    pub ignore_nofollow: bool,
    /// Send complete response bodies back (for WARC export).
    pub keep_bodies: bool,
}
