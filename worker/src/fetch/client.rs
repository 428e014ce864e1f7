//! The only place a `reqwest::Client` is built: user agent, timeouts,
//! redirects left to the crawler, no proxy from the environment, and the
//! request-forgery guard as the only resolver.

use crate::error::WorkerError;
use trawl_common::protocol::FetchSettings;

/// Idle keep-alive connections kept per host. A worker talks to few hosts
/// at a time and politeness keeps per-host concurrency low.
const IDLE_PER_HOST: usize = 64;

pub(crate) fn build(
    s: &FetchSettings,
    guard: std::sync::Arc<super::guard::Guard>,
) -> Result<reqwest::Client, WorkerError> {
    reqwest::Client::builder()
        // Every host name goes through the request-forgery guard.
        .dns_resolver(super::guard::GuardedResolver(guard))
        .user_agent(s.user_agent.clone())
        .connect_timeout(s.connect_timeout)
        .read_timeout(s.read_timeout)
        .timeout(s.total_timeout)
        // Each hop goes back through the coordinator: scope, dedup, limits.
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .map_err(|e| WorkerError::Setup(format!("http client: {e}")))
}
