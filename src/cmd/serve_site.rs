//! `trawl serve-site`: the generated demo site on 127.0.0.1 until Ctrl-C,
//! to try trawl out (`trawl crawl <url>`, `trawl extract <url>`) against
//! a site that is always there and never leaves the machine.

use crate::cli::ServeSiteArgs;
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_coordinator::api::signals;
use trawl_site::{SiteServer, SiteSpec};

pub(crate) fn run(args: &ServeSiteArgs) -> anyhow::Result<ExitCode> {
    let server = SiteServer::start_at(SiteSpec::with_pages(args.pages), args.port)
        .with_context(|| format!("serving on 127.0.0.1:{}", args.port))?;
    let url = server.base_url();
    // The URL alone on stdout (scripts read it); the help on stderr.
    super::out::line(&url);
    super::out::line_err(&format!(
        "trawl: serving a generated site of {} pages at {url} until Ctrl-C; try `trawl crawl {url} --store site.store`",
        args.pages
    ));
    let signal = signals::wait().map_err(anyhow::Error::msg)?;
    super::out::line_err(&format!(
        "trawl: stopped ({signal:?}); served {} page requests",
        server.page_hits()
    ));
    server.shutdown();
    Ok(ExitCode::SUCCESS)
}
