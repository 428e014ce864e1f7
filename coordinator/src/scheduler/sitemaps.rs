//! Sitemaps to fetch (`--sitemaps`): those named by robots.txt and by
//! sitemap indexes, each once, in scope, at most [`MAX_SITEMAPS`] per crawl
//! (against sitemap-index loops and bombs).

use std::collections::{HashSet, VecDeque};
use trawl_common::url::Scope;

/// Sitemaps fetched per crawl, at most.
const MAX_SITEMAPS: usize = 10_000;

/// Sitemaps waiting, and all ever queued.
#[derive(Debug, Default)]
pub(crate) struct Sitemaps {
    wanted: VecDeque<String>,
    seen: HashSet<String>,
}

impl Sitemaps {
    /// Queues the in-scope sitemaps among `urls` not seen before.
    pub(crate) fn want(&mut self, urls: Vec<String>, scope: &Scope) {
        for raw in urls {
            if self.seen.len() >= MAX_SITEMAPS {
                tracing::warn!("sitemap limit reached: ignoring the rest");
                return;
            }
            let Ok(url) = trawl_common::url::parse_crawl_url(&raw) else { continue };
            if !scope.allows_host(&url) {
                continue;
            }
            let url = url.to_string();
            if self.seen.insert(url.clone()) {
                self.wanted.push_back(url);
            }
        }
    }

    /// The next sitemap to fetch.
    pub(crate) fn next(&mut self) -> Option<String> {
        self.wanted.pop_front()
    }

    /// A sitemap lease was lost with its worker: fetch it again.
    pub(crate) fn lost(&mut self, url: String) {
        self.wanted.push_back(url);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }
}
