//! `trawl crawl`: resolve the config (failing before any process starts),
//! run the coordinator with a progress line, print the summary.

use super::exit::{self, USAGE};
use super::report::{self, ExitReason};
use crate::cli::CrawlArgs;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use trawl_common::config::{
    self, ConfigErrors, ConfigFile, CrawlConfig, CrawlOptions, TargetOptions,
};
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
    let json = args.json;
    match resolve(args) {
        Ok(config) => {
            let (_, reason) = crawl(&config, Output { json, log, temporary_store: false })?;
            Ok(ExitCode::from(reason.exit_code()))
        }
        Err(errors) => Ok(usage_error(&errors)),
    }
}

/// The config file (if any) with the flags laid over it, resolved.
fn resolve(args: CrawlArgs) -> Result<CrawlConfig, ConfigErrors> {
    let (target, options): (TargetOptions, CrawlOptions) = match &args.config {
        Some(path) => ConfigFile::from_file(path)?.merged_with(args.target, args.options),
        None => (args.target, args.options),
    };
    config::resolve(target, options)
}

/// Prints every configuration error; the exit code for them.
pub(crate) fn usage_error(errors: &ConfigErrors) -> ExitCode {
    for e in &errors.0 {
        eprintln!("trawl: error: {e}");
    }
    ExitCode::from(USAGE)
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
    crawl_or_refresh(config, output, None)
}

/// [`crawl`], or with `refresh`, `trawl refresh` of these stored pages.
pub(crate) fn crawl_or_refresh(
    config: &CrawlConfig,
    output: Output,
    refresh: Option<&[String]>,
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
    let mut observe = |p: &trawl_coordinator::Progress| {
        IN_FLIGHT.store(p.in_flight, Ordering::SeqCst);
        progress.update(p);
    };
    let summary = match refresh {
        None => trawl_coordinator::run(config, &launch, &mut observe),
        Some(urls) => trawl_coordinator::refresh(config, &launch, urls, &mut observe),
    };
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
        let argv = [&["trawl", "crawl"], argv].concat();
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Crawl(a) => a,
            other => panic!("not crawl: {other:?}"),
        }
    }

    #[test]
    fn extract_flags_reach_the_config() {
        let a = args(&[
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
        let c = resolve(a).unwrap();
        assert_eq!(c.fetch.retries, 4);
        assert!(c.ignore_nofollow);
        let names: Vec<&str> = c.extract.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["h", "posts"]);
    }

    #[test]
    fn bad_selector_is_a_usage_error_before_any_worker() {
        // Exit code 2 without starting anything (the store is never opened).
        for extra in
            [&["--extract", "posts=a[@href"][..], &["--extract", "a=h1", "--extract", "a=h2"]]
        {
            let a = args(&[&["http://127.0.0.1:1/", "--store", "/nonexistent/x"], extra].concat());
            assert_eq!(run(a, LogOptions::default()).unwrap(), ExitCode::from(USAGE), "{extra:?}");
        }
        assert!(Cli::try_parse_from(["trawl", "crawl", "--extract", "nonsense"]).is_err());
    }

    /// A flag is laid over the file; what the flags leave out comes from it.
    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "seeds = [\"http://127.0.0.1:1/\"]\nstore = \"/tmp/s\"\nworkers = 3\n\
             delay_secs = \"250ms\"\nmax_bytes = \"1MiB\"\nignore_robots = true\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let c =
            resolve(args(&["--config", path, "--workers", "5", "--ignore-robots=false"])).unwrap();
        assert_eq!(c.workers, 5);
        assert!(c.robots, "--ignore-robots=false beats the file's true");
        assert_eq!(c.delay, Some(std::time::Duration::from_millis(250)));
        assert_eq!(c.fetch.max_bytes, 1 << 20);
        assert_eq!(c.store, std::path::Path::new("/tmp/s"));
        let c = resolve(args(&["--config", path, "http://127.0.0.1:2/"])).unwrap();
        assert_eq!(c.seeds.len(), 1, "seeds on the command line replace the file's");
        assert_eq!(c.seeds[0].as_str(), "http://127.0.0.1:2/");
        assert!(!c.robots);
    }

    /// Boolean flags take no value unless written `--flag=BOOL`, so a seed
    /// after one is still a seed.
    #[test]
    fn a_bool_flag_does_not_swallow_a_seed() {
        let a = args(&["--keep-bodies", "http://127.0.0.1:1/", "--store", "/tmp/x"]);
        assert_eq!(a.target.seeds, ["http://127.0.0.1:1/"]);
        assert!(resolve(a).unwrap().keep_bodies);
    }
}
