//! `trawl crawl`: resolve the config (failing before any process starts),
//! run the coordinator with a progress line, print the summary.

use super::report;
use crate::cli::{CrawlArgs, Tuning};
use std::process::ExitCode;
use trawl_common::config::{CrawlConfig, RawCrawlConfig};
use trawl_coordinator::WorkerLaunch;

/// Exit code for a configuration error (as clap uses for bad flags).
const USAGE: u8 = 2;

pub(crate) fn run(args: CrawlArgs) -> anyhow::Result<ExitCode> {
    let flags = raw_config(args.seeds, args.store, args.tuning);
    let raw = match &args.config {
        Some(path) => RawCrawlConfig::from_file(path).map(|file| file.merged_with(flags)),
        None => Ok(flags),
    };
    let config = match raw.and_then(RawCrawlConfig::resolve) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("trawl: error: {e}");
            }
            return Ok(ExitCode::from(USAGE));
        }
    };
    crawl(&config)?;
    Ok(ExitCode::SUCCESS)
}

/// The raw configuration from flags.
pub(crate) fn raw_config(
    seeds: Vec<String>,
    store: Option<std::path::PathBuf>,
    t: Tuning,
) -> RawCrawlConfig {
    RawCrawlConfig {
        seeds,
        store,
        workers: t.workers,
        autoscale: t.autoscale,
        worker_max_pages: t.worker_max_pages,
        crash_limit: t.crash_limit,
        api: t.api,
        api_token: t.api_token,
        delay_secs: t.delay,
        per_host: t.per_host,
        ignore_robots: t.ignore_robots.then_some(true),
        sitemaps: t.sitemaps.then_some(true),
        allow: t.allow,
        deny: t.deny,
        concurrency: t.concurrency,
        max_pages: t.max_pages,
        max_depth: t.max_depth,
        scope: t.scope,
        user_agent: t.user_agent,
        max_bytes: t.max_bytes,
        timeout_secs: t.timeout,
        connect_timeout_secs: t.connect_timeout,
    }
}

/// Runs a resolved crawl with live progress and prints its summary.
pub(crate) fn crawl(config: &CrawlConfig) -> anyhow::Result<trawl_coordinator::CrawlSummary> {
    let launch = WorkerLaunch::current_exe()?;
    let mut progress = report::ProgressLine::new();
    let summary = trawl_coordinator::run(config, &launch, &mut |p| progress.update(p));
    progress.finish();
    let summary = summary?;
    report::print_summary(&summary, config)?;
    Ok(summary)
}
