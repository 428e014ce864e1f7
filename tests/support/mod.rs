//! Test support for the end-to-end tests, one concept per file. Tests
//! import it all with `use crate::support::*` (or through the `harness`
//! facade, which re-exports it under the names older tests use).
//!
//! - [`command`]: the `trawl` builder, runs with deadlines, captured output.
//! - [`summary`]: the `--json` crawl summary (`Output::summary`).
//! - [`procfs`]: `/proc` readers, worker processes, signals.
//! - [`http`]: the one HTTP/1.1 client (127.0.0.1 only).
//! - [`servers`]: loopback test servers (raw answers; logged hits).
//! - [`timing`]: polling with deadlines, request-timing analysis, a seeded RNG.
//! - [`fixtures`]: temp stores, query output, the API advert, site URL sets.
//! - [`quiet_crawl`]: a crawl held live but quiet for API and query tests.
//! - [`slow_crawl`]: a crawl slowed by `--delay`, for watching it run.
//! - [`formats`]: CSV, Prometheus text, JSON paths, gzip.
//! - [`sets`]: set assertions with short diffs.
//! - [`netns`]: a network namespace with a veth pair, for network cuts.

// Each test module uses a different subset of the helpers.

pub(crate) mod command;
pub(crate) mod fixtures;
pub(crate) mod formats;
pub(crate) mod http;
pub(crate) mod netns;
pub(crate) mod procfs;
pub(crate) mod quiet_crawl;
pub(crate) mod servers;
pub(crate) mod sets;
pub(crate) mod slow_crawl;
pub(crate) mod summary;
pub(crate) mod timing;

pub(crate) use command::*;
pub(crate) use fixtures::*;
pub(crate) use formats::*;
pub(crate) use http::*;
pub(crate) use procfs::*;
pub(crate) use quiet_crawl::*;
pub(crate) use servers::*;
pub(crate) use sets::*;
pub(crate) use slow_crawl::*;
// `summary_restarts`/`summary_workers` stay for test files written against
// the human summary; new tests read `Output::summary()`.
#[allow(unused_imports)]
pub(crate) use summary::*;
pub(crate) use timing::*;

// Names the query, API, export and dashboard tests used for helpers
// that had a second copy in `query_support.rs`; one helper now serves both.
pub(crate) use fixtures::{
    api_addr as advertised_api, records_by_url as by_url, wait_api as await_api,
};
pub(crate) use procfs::is_running as running;
