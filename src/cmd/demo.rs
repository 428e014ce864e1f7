//! `trawl demo`: serve a generated blog-like site on 127.0.0.1 and crawl
//! it with several workers, then show what was stored.

use super::crawl;
use crate::cli::{DEMO_EXTRACT, DEMO_WORKERS, DemoArgs};
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_common::config::{self, FieldRule, TargetOptions, Workers};
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::Store;
use trawl_site::{SiteServer, SiteSpec};

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
    let mut options = args.options;
    options.pool.workers = options.pool.workers.or(Some(Workers::Count(DEMO_WORKERS)));
    if options.output.extract.is_empty() {
        // The classic blog-listing extraction: every post link with its title.
        let rule = FieldRule::parse_flag(DEMO_EXTRACT).map_err(anyhow::Error::msg)?;
        options.output.extract.push(rule);
    }
    let target = TargetOptions { seeds: vec![server.base_url()], store: Some(store.clone()) };
    let config = match config::resolve(target, options) {
        Ok(c) => c,
        Err(errors) => return Ok(crawl::usage_error(&errors)),
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
    println!("\nextracted post links of the front page (--fields url,fields.posts --limit 1):");
    let opts = QueryOptions {
        limit: Some(1),
        fields: Some("url,fields.posts".into()),
        ..Default::default()
    };
    query::run(&store, &opts, &mut std::io::stdout().lock())?;
    println!("\npages per depth (--count-by depth --format table):");
    let opts = QueryOptions {
        count_by: Some("depth".into()),
        format: Format::Table,
        ..Default::default()
    };
    query::run(&store, &opts, &mut std::io::stdout().lock())?;
    server.shutdown();
    Ok(ExitCode::SUCCESS)
}
