//! `trawl refresh`: fetch a store's due pages again, once. The pages are
//! chosen with `trawl query`'s filters (and `--older-than`) before anything
//! starts; then it is a crawl of those pages (same workers, politeness,
//! summary and exit codes) that compares each with its stored record,
//! keeps its history and writes its next due time, and follows no links.

use super::crawl::{Output, usage_error};
use super::exit::USAGE;
use crate::cli::RefreshArgs;
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use trawl_common::config::{self, ConfigErrors, ConfigFile, CrawlConfig, TargetOptions};
use trawl_common::error::ConfigError;
use trawl_common::telemetry::LogOptions;
use trawl_coordinator::revisit;
use trawl_coordinator::store::Store;

fn usage(message: &str) -> ExitCode {
    eprintln!("trawl: error: {message}");
    ExitCode::from(USAGE)
}

pub(crate) fn run(args: RefreshArgs, log: LogOptions) -> anyhow::Result<ExitCode> {
    let filters = &args.filters;
    // Bad options fail before anything runs.
    if let Err(e) = filters.validate() {
        return Ok(usage(&e.cli_message()));
    }
    for (given, flag) in [
        (filters.fields.is_some(), "--fields"),
        (filters.count_by.is_some(), "--count-by"),
        (filters.format != Default::default(), "--format"),
        (filters.history.is_some(), "--history"),
    ] {
        if given {
            return Ok(usage(&format!(
                "{flag} is a query output option; refresh prints a summary"
            )));
        }
    }
    let options = match &args.config {
        Some(path) => match ConfigFile::from_file(path) {
            Ok(file) => file.merged_with(TargetOptions::default(), args.options.clone()).1,
            Err(errors) => return Ok(usage_error(&errors)),
        },
        None => args.options.clone(),
    };
    // The options are checked on their own first (any seed will do), so a
    // bad flag fails even when nothing is due.
    let probe = TargetOptions {
        seeds: vec!["http://127.0.0.1/".to_owned()],
        store: Some(args.store.clone()),
    };
    if let Err(errors) = config::resolve(probe, options.clone()) {
        return Ok(usage_error(&errors));
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let older_than = args.older_than.map(|d| u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX));
    let urls = {
        // Opened only to choose the pages: the crawl opens it again.
        let store = Store::open_existing(&args.store)?;
        match revisit::due_pages(&store, filters, older_than, now_ms) {
            Ok(urls) => urls,
            Err(e) => return Ok(usage(&e.cli_message())),
        }
    };
    tracing::info!(pages = urls.len(), store = %args.store.display(), "refresh: pages due");
    let config = match resolve(&args, options, &urls) {
        Ok(c) => c,
        Err(errors) => return Ok(usage_error(&errors)),
    };
    let output = Output { json: args.json, log, temporary_store: false };
    let (_, reason) = super::crawl::crawl_or_refresh(&config, output, Some(&urls))?;
    Ok(ExitCode::from(reason.exit_code()))
}

/// The crawl config of a refresh: the scope covers the pages' hosts (as if
/// they were seeds), and there are no seeds to admit.
fn resolve(
    args: &RefreshArgs,
    options: config::CrawlOptions,
    urls: &[String],
) -> Result<CrawlConfig, ConfigErrors> {
    let origins: BTreeSet<String> =
        urls.iter().map(|u| format!("{}/", trawl_common::url::origin(u))).collect();
    let mut seeds: Vec<String> = origins.into_iter().collect();
    if seeds.is_empty() {
        // Nothing is due: a crawl of nothing, which ends at once.
        seeds.push("http://127.0.0.1/".to_owned());
    }
    let target = TargetOptions { seeds, store: Some(args.store.clone()) };
    let mut c = config::resolve(target, options)?;
    if !c.store.is_dir() {
        return Err(ConfigErrors(vec![ConfigError::new(
            "--store",
            format!("no trawl store at {}", c.store.display()),
        )]));
    }
    c.seeds.clear();
    Ok(c)
}
