//! `trawl bench-site` (hidden): the generated site in a process of its own,
//! so `trawl bench` can measure the server's CPU apart from the
//! coordinator's (which runs inside the bench process).
//!
//! Protocol over stdio: one line `listening <base url>`, then serve until
//! stdin closes (the bench is done, or died), then one JSON line of
//! [`SiteHits`] and exit.

use crate::cli::BenchSiteArgs;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use trawl_site::{SiteServer, SiteSpec};

/// Prefix of the first line the site process prints.
pub(crate) const LISTENING: &str = "listening ";

/// Requests the site served, reported when it stops.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct SiteHits {
    /// Requests for site pages.
    pub(crate) pages: u64,
    /// Requests for off-site URLs (a scoped crawl makes none).
    pub(crate) offsite: u64,
    /// Requests for paths that are not pages.
    pub(crate) unknown: u64,
    /// robots.txt requests.
    pub(crate) robots: u64,
}

pub(crate) fn run(args: &BenchSiteArgs) -> anyhow::Result<ExitCode> {
    let spec = SiteSpec { links_per_page: args.links_per_page, ..SiteSpec::with_pages(args.pages) };
    let server = SiteServer::start(spec).context("starting the site")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{LISTENING}{}", server.base_url())?;
    out.flush()?;
    // Serve until the parent closes our stdin; a read error means the same.
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    let hits = SiteHits {
        pages: server.page_hits(),
        offsite: server.offsite_hits(),
        unknown: server.unknown_hits(),
        robots: server.robots_hits(),
    };
    server.shutdown();
    writeln!(out, "{}", serde_json::to_string(&hits)?)?;
    Ok(ExitCode::SUCCESS)
}
