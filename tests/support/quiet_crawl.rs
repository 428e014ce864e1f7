//! A crawl held "live but quiet": every page of a generated site stored,
//! the API serving and the store locked, because one URL on another host
//! never answers. For tests of live queries, exports and the API.

use super::command::{Output, Running, Trawl};
use super::fixtures::{TestDir, wait_api};
use super::http::get;
use super::servers::{RawServer, http_response};
use super::timing::wait_until;
use serde_json::Value;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

/// A crawl of a generated site plus one URL on another host that never
/// answers: once every site page is stored, the crawl stays up (API
/// serving, store locked) with a fixed set of stored pages until the
/// hanging server is dropped.
pub(crate) struct QuietCrawl {
    pub(crate) site: SiteServer,
    hang: Option<RawServer>,
    pub(crate) hang_url: String,
    pub(crate) dir: TestDir,
    pub(crate) crawl: Option<Running>,
    pub(crate) addr: String,
    pub(crate) token: Option<String>,
}

impl QuietCrawl {
    /// Starts it and waits until all `pages` site pages are stored.
    pub(crate) fn start(pages: u32, extra: &[&str]) -> Self {
        let site = SiteServer::start(SiteSpec::with_pages(pages)).expect("site");
        let hang = RawServer::start(|_, path| match path {
            "/robots.txt" => Some(http_response("404 Not Found", &[], "")),
            _ => None,
        });
        let hang_url = format!("{}hang", hang.base_url());
        let dir = TestDir::new();
        let store = dir.store();
        let token = extra.iter().position(|a| *a == "--api-token").map(|i| extra[i + 1].to_owned());
        let crawl = Trawl::crawl(&site.base_url(), &store)
            .arg(&hang_url)
            .args(["--workers", "1", "--concurrency", "4", "--retries", "0", "--timeout", "60"])
            .args(extra)
            .spawn();
        let addr = wait_api(&store, &crawl);
        let q =
            QuietCrawl { site, hang: Some(hang), hang_url, dir, crawl: Some(crawl), addr, token };
        let mut last = Value::Null;
        let quiet = wait_until(Duration::from_secs(30), || {
            let r = get(&q.addr, "/api/status", q.token.as_deref());
            if r.status != 200 {
                return false;
            }
            last = r.json();
            last["pages"] == u64::from(pages) && last["queued"] == 0 && last["in_flight"] == 1
        });
        assert!(quiet, "the crawl did not store all {pages} pages and go quiet: {last}");
        q
    }

    /// The store directory.
    pub(crate) fn store(&self) -> std::path::PathBuf {
        self.dir.store()
    }

    /// The crawl's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.crawl.as_ref().expect("running").pid()
    }

    /// Releases the hanging URL and waits for the crawl to end.
    pub(crate) fn finish(&mut self) -> Output {
        drop(self.hang.take());
        self.crawl.take().expect("running").wait_within(Duration::from_secs(30)).success()
    }
}
