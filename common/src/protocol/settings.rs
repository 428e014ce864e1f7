//! Settings the coordinator sends each worker in [`super::ToWorker::Configure`],
//! so the worker needs no flags of its own and both sides stay consistent.

use super::ExtractRule;
use crate::url::Scope;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// Default attributes kept per tag.
pub const DEFAULT_MAX_ATTRIBUTES: u32 = 256;
/// Default thread CPU time for parsing and extracting one page.
pub const DEFAULT_PARSE_CPU_BUDGET: Duration = Duration::from_secs(2);

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
    /// Attributes kept per tag before parsing (the tokenizer is quadratic
    /// in attributes per tag).
    pub max_attributes: u32,
    /// Thread CPU time for parsing and extracting one page; past it the
    /// page is recorded as `parse_budget`.
    pub parse_cpu_budget: Duration,
    /// Which addresses requests may go to (the request-forgery guard).
    pub network: NetworkPolicy,
}

/// The request-forgery guard's policy: global (public) addresses are
/// always allowed; loopback, private, link-local, unspecified and other
/// special-purpose addresses only inside `allowed`, or when
/// `allow_private` is set. The worker also allows the ranges of the seeds
/// in its scope (a crawl of `http://127.0.0.1:8080/` may fetch loopback),
/// and whatever a seed's own host name resolves to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPolicy {
    /// Turn the guard off (`--allow-private`).
    pub allow_private: bool,
    /// Non-global ranges allowed anyway, as `addr/prefix`.
    pub allowed: Vec<(IpAddr, u8)>,
    /// Fixed answers for host names, like curl's `--resolve`: checked by
    /// the guard like any DNS answer.
    pub resolve: Vec<(String, IpAddr)>,
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
            max_attributes: DEFAULT_MAX_ATTRIBUTES,
            parse_cpu_budget: DEFAULT_PARSE_CPU_BUDGET,
            network: NetworkPolicy::default(),
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
