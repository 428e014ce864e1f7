//! A crawl slowed down by `--delay` so that it is still running while a
//! test talks to its API, `/metrics` or dashboard: one worker, a generated
//! site, and the advertised API address.

use super::command::{Running, Trawl};
use super::fixtures::{TestDir, wait_api};
use super::http::get;
use super::timing::wait_until;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

/// A running crawl of a generated site, slow enough to be observed.
pub(crate) struct SlowCrawl {
    /// The site being crawled.
    pub(crate) site: SiteServer,
    /// Holds the store (`dir.store()`).
    pub(crate) dir: TestDir,
    /// The `trawl crawl` process; dropping it kills the crawl.
    pub(crate) crawl: Running,
    /// The API address the crawl advertised (`127.0.0.1:PORT`).
    pub(crate) addr: String,
}

impl SlowCrawl {
    /// Starts `trawl crawl` over a site of `pages` pages with one worker,
    /// two fetches at a time and `--delay DELAY` (e.g. "0.02"), plus
    /// `extra` flags, and waits for its API.
    pub(crate) fn start(pages: u32, delay: &str, extra: &[&str]) -> Self {
        let site = SiteServer::start(SiteSpec::with_pages(pages)).expect("site");
        let dir = TestDir::new();
        let store = dir.store();
        let crawl = Trawl::crawl(&site.base_url(), &store)
            .args(["--workers", "1", "--concurrency", "2", "--delay", delay])
            .args(extra)
            .spawn();
        let addr = wait_api(&store, &crawl);
        SlowCrawl { site, dir, crawl, addr }
    }

    /// The `pages` count of its `/api/status`.
    pub(crate) fn pages(&self) -> u64 {
        api_pages(&self.addr)
    }

    /// Waits (up to 30 s) until `n` pages are stored; fails the test if
    /// the crawl makes no such progress.
    #[track_caller]
    pub(crate) fn wait_pages(&self, n: u64) {
        assert!(wait_until(Duration::from_secs(30), || self.pages() >= n), "no progress");
    }
}

/// The `pages` count of `/api/status` at `addr` (0 if it has none).
pub(crate) fn api_pages(addr: &str) -> u64 {
    get(addr, "/api/status", None).json()["pages"].as_u64().unwrap_or(0)
}
