//! `trawl query`: print stored pages.

use super::remote::{ApiRefused, Remote};
use crate::cli::{OutputFormat, QueryArgs};
use anyhow::Context as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::{Store, StoreError};

/// How long a query waits for a store that another process holds without
/// advertising an API (a crawl starting or finishing, or another query).
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub(crate) fn run(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let opts = options(args);
    // Bad options fail the same way offline and live, before anything runs.
    if let Err(e) = opts.validate() {
        eprintln!("trawl: error: {e}");
        return Ok(ExitCode::from(2));
    }
    let deadline = Instant::now() + LOCK_WAIT;
    let store = loop {
        match Store::open_existing(&args.store) {
            Ok(s) => break s,
            // A running crawl holds the store: ask it instead.
            Err(StoreError::Locked { path }) => {
                if let Some(remote) = Remote::find(&args.store, args.api_token.clone())? {
                    match live(&remote, &opts) {
                        Ok(body) => {
                            std::io::stdout().lock().write_all(body.as_bytes())?;
                            return Ok(ExitCode::SUCCESS);
                        }
                        // The API answered with an error (e.g. 401): final.
                        Err(e) if e.downcast_ref::<ApiRefused>().is_some() => return Err(e),
                        // The crawl may have finished between the lookup and
                        // the request: try the store again.
                        Err(e) if Instant::now() < deadline => {
                            tracing::debug!(error = %e, "live query failed; retrying");
                        }
                        Err(e) => return Err(e),
                    }
                } else if Instant::now() >= deadline {
                    return Err(StoreError::Locked { path }.into());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    query::run(&store, &opts, &mut out).context("query")?;
    Ok(ExitCode::SUCCESS)
}

fn options(args: &QueryArgs) -> QueryOptions {
    QueryOptions {
        url_prefix: args.url_prefix.clone(),
        url_glob: args.url_glob.clone(),
        url_regex: args.url_regex.clone(),
        host: args.host.clone(),
        status: args.status.clone(),
        content_type: args.content_type.clone(),
        depth: args.depth.clone(),
        outcome: args.outcome.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        wheres: args.wheres.clone(),
        fields: args.fields.clone(),
        sort: args.sort.clone(),
        limit: args.limit,
        offset: args.offset,
        count_by: args.count_by.clone(),
        format: match args.format {
            OutputFormat::Jsonl => Format::Jsonl,
            OutputFormat::Csv => Format::Csv,
            OutputFormat::Table => Format::Table,
        },
    }
}

/// Answers the query through the running crawl's API: the same options
/// travel as parameters and the same code answers them.
fn live(remote: &Remote, opts: &QueryOptions) -> anyhow::Result<String> {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in opts.to_pairs() {
        q.append_pair(k, &v);
    }
    remote.get(&format!("/api/pages?{}", q.finish()))
}
