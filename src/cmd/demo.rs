//! `trawl demo`: serve a generated blog-like site on 127.0.0.1 and crawl
//! it with several workers, then show what was stored.

use super::crawl;
use crate::cli::DemoArgs;
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::Store;
use trawl_site::{SiteServer, SiteSpec};

/// Workers the demo uses unless told otherwise.
const DEMO_WORKERS: u32 = 4;

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let server =
        SiteServer::start(SiteSpec::with_pages(args.pages)).context("starting the demo site")?;
    let tmp;
    let store = match args.store {
        Some(dir) => dir,
        None => {
            tmp = tempfile::tempdir().context("creating a temporary store")?;
            tmp.path().join("store")
        }
    };
    let mut tuning = args.tuning;
    tuning.workers = tuning.workers.or(Some(DEMO_WORKERS.to_string()));
    let raw = crawl::raw_config(vec![server.base_url()], Some(store.clone()), tuning);
    let config = match raw.resolve() {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("trawl: error: {e}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    println!(
        "serving a generated site of {} pages at {} and crawling it with {} workers",
        args.pages,
        server.base_url(),
        config.workers
    );
    crawl::crawl(&config)?;
    println!(
        "  site served {} page requests ({} off-site, which must be 0)",
        server.page_hits(),
        server.offsite_hits()
    );
    println!("\na few stored pages (trawl query --store DIR --format table --limit 5):");
    let store = Store::open_existing(&config.store)?;
    let opts = QueryOptions { limit: Some(5), format: Format::Table, ..Default::default() };
    query::run(&store, &opts, &mut std::io::stdout().lock())?;
    server.shutdown();
    Ok(ExitCode::SUCCESS)
}
