//! `trawl bench-site` (hidden): the generated site in a process of its own,
//! so `trawl bench` can measure the server's CPU apart from the
//! coordinator's (which runs inside the bench process).
//!
//! Protocol over stdio: one line `listening <base url> [<base url>...]`
//! (one per host), then serve until stdin closes (the bench is done, or
//! died), then one JSON line of [`SiteHits`] and exit.

use crate::cli::BenchSiteArgs;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use trawl_site::{ServeOptions, SiteServer, SiteSpec};

/// Prefix of the first line the site process prints.
pub(crate) const LISTENING: &str = "listening ";

/// Requests the site served, reported when it stops.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct SiteHits {
    /// Requests for site pages.
    pub(crate) pages: u64,
    /// Requests for off-site URLs (a scoped crawl makes none).
    pub(crate) offsite: u64,
    /// Requests for paths that are not pages.
    pub(crate) unknown: u64,
    /// robots.txt requests.
    pub(crate) robots: u64,
    /// With `--timeline`: every gap between two consecutive requests to
    /// one host, as `[host, start-to-start µs, idle µs, after robots.txt]`.
    #[serde(default)]
    pub(crate) gaps: Vec<(u32, u64, i64, bool)>,
}

pub(crate) fn run(args: &BenchSiteArgs) -> anyhow::Result<ExitCode> {
    raise_open_files_limit();
    let spec = SiteSpec {
        links_per_page: args.links_per_page,
        posts_per_page: args.posts_per_page,
        page_bytes: args.page_bytes as usize,
        ..SiteSpec::with_pages(args.pages)
    };
    let options = ServeOptions {
        hosts: args.hosts,
        latency: args.latency,
        jitter: args.jitter,
        timeline: args.timeline,
        port: 0,
    };
    let server = SiteServer::start_with(spec, options).context("starting the site")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{LISTENING}{}", server.base_urls().join(" "))?;
    out.flush()?;
    // Serve until the parent closes our stdin; a read error means the same.
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    let gaps = trawl_site::gaps(&server.timeline())
        .into_iter()
        .map(|g| {
            let host = u32::try_from(g.host).unwrap_or(u32::MAX);
            (host, g.start_to_start_us, g.idle_us, g.after_robots)
        })
        .collect();
    let hits = SiteHits {
        pages: server.page_hits(),
        offsite: server.offsite_hits(),
        unknown: server.unknown_hits(),
        robots: server.robots_hits(),
        gaps,
    };
    server.shutdown();
    writeln!(out, "{}", serde_json::to_string(&hits)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Raises the soft open-files limit to the hard one: every host is a
/// listener and every in-flight request a connection, so 2,000 hosts or
/// 10,000 requests in flight pass the usual soft limit of 1,024.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit { current: limit.maximum, ..limit };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise the open-files limit");
        }
    }
}
