//! `trawl demo`: serve a generated blog-like site on 127.0.0.1 and crawl
//! it with several workers, then show what was stored. With `--serve` the
//! site, the store and the crawl's dashboard stay up until Ctrl-C.

use super::crawl;
use super::out::{line, line_err};
use crate::cli::DemoArgs;
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_common::config::FieldRule;
use trawl_common::telemetry::LogOptions;
use trawl_coordinator::api::{FinishedApi, signals};
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::Store;
use trawl_site::{SiteServer, SiteSpec};

/// Workers the demo uses unless told otherwise.
const DEMO_WORKERS: u32 = 4;
/// What the demo extracts unless told otherwise.
const DEMO_EXTRACT: &str = "posts=a.post-item-title@href+text*";

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
    let mut tuning = args.tuning;
    tuning.workers = tuning.workers.or(Some(DEMO_WORKERS.to_string()));
    if tuning.extract.is_empty() {
        // The classic blog-listing extraction: every post link with its title.
        let rule = FieldRule::parse_flag(DEMO_EXTRACT).map_err(anyhow::Error::msg)?;
        tuning.extract.push(rule);
    }
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
        state: "finished".into(),
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
