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
    if let Some(name) = duplicate_field(&args.tuning.extract) {
        eprintln!("trawl: error: invalid --extract: field {name:?} is given twice");
        return Ok(ExitCode::from(USAGE));
    }
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
        version: None,
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
        keep_bodies: t.keep_bodies.then_some(true),
        frontier_memory: t.frontier_memory,
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
        retries: t.retries,
        ignore_nofollow: t.ignore_nofollow,
        extract: t.extract.into_iter().collect(),
    }
}

/// The first `--extract` name given more than once.
fn duplicate_field(fields: &[(String, trawl_common::config::FieldRule)]) -> Option<&str> {
    let mut seen = std::collections::HashSet::new();
    fields.iter().map(|(n, _)| n.as_str()).find(|n| !seen.insert(*n))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn args(argv: &[&str]) -> CrawlArgs {
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Crawl(a) => a,
            other => panic!("not crawl: {other:?}"),
        }
    }

    #[test]
    fn extract_flags_reach_the_config() {
        let a = args(&[
            "trawl",
            "crawl",
            "http://127.0.0.1:1/",
            "--store",
            "/tmp/x",
            "--retries",
            "4",
            "--ignore-nofollow",
            "--extract",
            "posts=a.post-item-title@href+text*",
            "--extract",
            "h=h1",
        ]);
        let c = raw_config(a.seeds, a.store, a.tuning).resolve().unwrap();
        assert_eq!(c.fetch.retries, 4);
        assert!(c.ignore_nofollow);
        let names: Vec<&str> = c.extract.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["h", "posts"]);
    }

    #[test]
    fn bad_selector_is_a_usage_error_before_any_worker() {
        let a = args(&[
            "trawl",
            "crawl",
            "http://127.0.0.1:1/",
            "--store",
            "/nonexistent/x",
            "--extract",
            "posts=a[@href",
        ]);
        // Exit code 2 without starting anything (the store is never opened).
        assert_eq!(run(a).unwrap(), ExitCode::from(USAGE));
        let a = args(&[
            "trawl",
            "crawl",
            "http://127.0.0.1:1/",
            "--store",
            "/nonexistent/x",
            "--extract",
            "a=h1",
            "--extract",
            "a=h2",
        ]);
        assert_eq!(run(a).unwrap(), ExitCode::from(USAGE));
        assert!(Cli::try_parse_from(["trawl", "crawl", "--extract", "nonsense"]).is_err());
    }
}
