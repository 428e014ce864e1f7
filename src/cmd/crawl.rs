//! `trawl crawl`: resolve the config (failing before any process starts),
//! run the coordinator with a progress line, print the summary.

use super::report;
use crate::cli::CrawlArgs;
use std::process::ExitCode;
use trawl_common::config::{
    self, ConfigErrors, ConfigFile, CrawlConfig, CrawlOptions, TargetOptions,
};
use trawl_coordinator::WorkerLaunch;

/// Exit code for a configuration error (as clap uses for bad flags).
pub(crate) const USAGE: u8 = 2;

pub(crate) fn run(args: CrawlArgs) -> anyhow::Result<ExitCode> {
    match resolve(args) {
        Ok(config) => {
            crawl(&config)?;
            Ok(ExitCode::SUCCESS)
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
            assert_eq!(run(a).unwrap(), ExitCode::from(USAGE), "{extra:?}");
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
