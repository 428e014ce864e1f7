//! `trawl demo`: serve a generated blog-like site on 127.0.0.1 and crawl
//! it with several workers, then show what was stored. With `--serve` the
//! site, the store and the crawl's dashboard stay up until Ctrl-C.

use super::crawl;
use super::out::{line, line_err};
use crate::cli::{DEMO_EXTRACT, DEMO_WORKERS, DemoArgs};
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_common::config::{self, FieldRule, TargetOptions, Workers};
use trawl_common::telemetry::LogOptions;
use trawl_coordinator::api::{FinishedApi, signals};
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::Store;
use trawl_site::{SiteServer, SiteSpec};

pub(crate) fn run(args: DemoArgs, log: LogOptions) -> anyhow::Result<ExitCode> {
    let server =
        SiteServer::start(SiteSpec::with_pages(args.pages)).context("starting the demo site")?;
    let tmp;
    let kept = args.store.is_some();
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
    line(&format!(
        "serving a generated site of {} pages at {} and crawling it with {} workers",
        args.pages,
        server.base_url(),
        config.workers
    ));
    let (summary, reason) =
        crawl::crawl(&config, crawl::Output { json: false, log, temporary_store: !kept })?;
    let offsite = server.offsite_hits();
    line(&format!(
        "  the site served {} ({offsite} off-site{})",
        super::out::plural(server.page_hits(), "page request", "page requests"),
        if offsite == 0 { ": the crawl stayed in scope" } else { ": the crawl left its scope!" }
    ));
    // The store is about to be deleted unless --store kept it: name the
    // command only when the user can run it.
    let store_arg = if kept { config.store.display().to_string() } else { "DIR".into() };
    line(&format!(
        "\na few stored pages (trawl query --store {store_arg} --format table --limit 5):"
    ));
    let store = Store::open_existing(&config.store)?;
    let opts = QueryOptions { limit: Some(5), format: Format::Table, ..Default::default() };
    query::run(&store, &opts, &mut std::io::stdout().lock())?;
    line("\nextracted post links of the front page (--fields url,fields.posts --limit 1):");
    let opts = QueryOptions {
        limit: Some(1),
        fields: Some("url,fields.posts".into()),
        ..Default::default()
    };
    query::run(&store, &opts, &mut std::io::stdout().lock())?;
    line("\npages per depth (--count-by depth --format table):");
    let opts = QueryOptions {
        count_by: Some("depth".into()),
        format: Format::Table,
        ..Default::default()
    };
    query::run(&store, &opts, &mut std::io::stdout().lock())?;
    if args.serve {
        serve(&server, &config, store, &summary)?;
    }
    server.shutdown();
    Ok(ExitCode::from(reason.exit_code()))
}

/// `--serve`: keep the site, the store and the dashboard (of the finished
/// crawl: its last status, live page queries) up until Ctrl-C.
fn serve(
    server: &SiteServer,
    config: &trawl_common::config::CrawlConfig,
    store: Store,
    s: &trawl_coordinator::CrawlSummary,
) -> anyhow::Result<()> {
    let report = trawl_coordinator::control::StatusReport {
        pid: std::process::id(),
        state: trawl_coordinator::control::CrawlState::Finished,
        pages: s.pages,
        pages_per_sec: s.pages_per_sec(),
        queued: s.left,
        queued_on_disk: 0,
        in_flight: 0,
        discovered: s.discovered,
        target_workers: 0,
        restarts: s.restarts,
        hung_kills: 0,
        poison: s.outcomes.get("poison").copied().unwrap_or(0),
        elapsed_secs: s.elapsed.as_secs_f64(),
        workers: Vec::new(),
        outcomes: s.outcomes.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        bytes: 0,
        hosts: Vec::new(),
        recent_errors: Vec::new(),
        max_pages: config.max_pages,
        resumed_pages: s.resumed_pages,
        eta_secs: None,
        timeline: trawl_coordinator::control::OutcomeTimeline::default(),
    };
    let api = FinishedApi::start(config.api, store, &config.seeds, report)
        .context("serving the dashboard")?;
    let dashboard = api.addr().map(|a| format!("http://{a}/")).unwrap_or_default();
    line_err(&format!(
        "trawl: serving until Ctrl-C: site {}, dashboard {dashboard}, store {}",
        server.base_url(),
        config.store.display()
    ));
    let signal = signals::wait().map_err(anyhow::Error::msg)?;
    drop(api);
    line_err(&format!("trawl: stopped ({signal:?})"));
    Ok(())
}
