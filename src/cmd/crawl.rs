//! `trawl crawl`: resolve the config (failing before any process starts),
//! run the coordinator with a progress line, print the summary.

use super::exit::{self, USAGE};
use super::report::{self, ExitReason};
use crate::cli::{CrawlArgs, Tuning};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use trawl_common::config::{CrawlConfig, RawCrawlConfig};
use trawl_common::telemetry::{LogFormat, LogOptions};
use trawl_coordinator::WorkerLaunch;
use trawl_coordinator::api::signals::{self, Signal};

/// How a crawl's results are shown.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Output {
    /// The summary as one JSON object instead of text.
    pub(crate) json: bool,
    /// The command line's logging options (workers get the same).
    pub(crate) log: LogOptions,
    /// The store is deleted at exit (the demo's): never print its path.
    pub(crate) temporary_store: bool,
}

pub(crate) fn run(args: CrawlArgs, log: LogOptions) -> anyhow::Result<ExitCode> {
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
    let (_, reason) = crawl(&config, Output { json: args.json, log, temporary_store: false })?;
    Ok(ExitCode::from(reason.exit_code()))
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

/// Leases in flight at the last progress tick, for the Ctrl-C notice.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
/// A crawl is running in this process (the notice talks about it).
static CRAWLING: AtomicBool = AtomicBool::new(false);
/// Exit code of the first signal that stopped the crawl (0: none).
static SIGNALLED: AtomicU8 = AtomicU8::new(0);

/// Tells the user what a signal does, once per signal.
fn signal_notice(r: signals::Received) {
    if !CRAWLING.load(Ordering::SeqCst) {
        return;
    }
    let code = match r.signal {
        Signal::Interrupt => exit::INTERRUPTED,
        Signal::Terminate => exit::TERMINATED,
    };
    SIGNALLED.store(code, Ordering::SeqCst);
    if r.count == 1 {
        let n = IN_FLIGHT.load(Ordering::SeqCst);
        super::out::line_err(&format!(
            "trawl: finishing {}; Ctrl-C again to stop now",
            super::out::plural(n, "request", "requests")
        ));
    } else {
        super::out::line_err("trawl: stopping now; unfinished requests stay queued for a rerun");
    }
}

/// The worker command line: `<exe> worker` plus the logging flags.
fn worker_launch(log: LogOptions) -> std::io::Result<WorkerLaunch> {
    let mut launch = WorkerLaunch::current_exe()?;
    match log.verbosity {
        v if v < 0 => launch.args.push("-q".into()),
        0 => {}
        v => launch.args.push(format!("-{}", "v".repeat(usize::from(v.unsigned_abs()))).into()),
    }
    if log.format == LogFormat::Json {
        launch.args.extend(["--log-format".into(), "json".into()]);
    }
    Ok(launch)
}

/// Runs a resolved crawl with live progress and prints its summary.
pub(crate) fn crawl(
    config: &CrawlConfig,
    output: Output,
) -> anyhow::Result<(trawl_coordinator::CrawlSummary, ExitReason)> {
    let launch = worker_launch(output.log)?;
    signals::set_notice(signal_notice);
    let quiet = output.log.verbosity < 0;
    let mut progress = report::ProgressLine::new(
        config.store.clone(),
        quiet,
        config.max_pages,
        output.temporary_store,
    );
    tracing::info!(seeds = config.seeds.len(), workers = config.workers, store = %config.store.display(), "crawl starting");
    for seed in &config.seeds {
        tracing::info!(url = %seed, "seed");
    }
    SIGNALLED.store(0, Ordering::SeqCst);
    CRAWLING.store(true, Ordering::SeqCst);
    let summary = trawl_coordinator::run(config, &launch, &mut |p| {
        IN_FLIGHT.store(p.in_flight, Ordering::SeqCst);
        progress.update(p);
    });
    CRAWLING.store(false, Ordering::SeqCst);
    progress.finish();
    let summary = summary?;
    let signal = Some(SIGNALLED.load(Ordering::SeqCst)).filter(|c| *c != 0);
    let reason = report::exit_reason(&summary, config, signal);
    tracing::info!(pages = summary.pages, reason = ?reason, elapsed_secs = summary.elapsed.as_secs_f64(), "crawl stopped");
    let printed = if output.json {
        report::print_json(&summary, config, reason)
    } else {
        report::print_summary(&summary, config, reason, output.temporary_store)
    };
    // A closed stdout (`| head`) must not turn a good crawl into a failure.
    if let Err(e) = printed
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    if reason == ExitReason::NoPageSucceeded && !quiet {
        super::out::error(&format!(
            "no page succeeded: {} fetched, none ok (outcomes: {})",
            super::out::plural(summary.pages, "URL was", "URLs were"),
            summary.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok((summary, reason))
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
        assert_eq!(run(a, LogOptions::default()).unwrap(), ExitCode::from(USAGE));
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
        assert_eq!(run(a, LogOptions::default()).unwrap(), ExitCode::from(USAGE));
        assert!(Cli::try_parse_from(["trawl", "crawl", "--extract", "nonsense"]).is_err());
    }
}
