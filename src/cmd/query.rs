//! `trawl query`: print stored pages, from the store or, while a crawl
//! holds it, through the crawl's API (a live query).

use super::remote::{ApiRefused, Remote};
use crate::cli::QueryArgs;
use anyhow::Context as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trawl_coordinator::query::{self, QueryError, QueryOptions};
use trawl_coordinator::store::{Store, StoreError};

/// How long a query waits for a store that another process holds without
/// advertising an API (a crawl starting or finishing, or another query).
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub(crate) fn run(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let opts = &args.options;
    // Bad options fail the same way offline and live, before anything runs.
    if let Err(e) = opts.validate() {
        return Ok(usage(&e.cli_message()));
    }
    if let Some(url) = &args.cluster {
        return cluster(url, opts);
    }
    let Some(store_dir) = &args.store else { return Ok(usage("--store DIR or --cluster URL")) };
    let deadline = Instant::now() + LOCK_WAIT;
    let store = loop {
        match Store::open_existing(store_dir) {
            Ok(s) => break s,
            // A running crawl holds the store: ask it instead.
            Err(StoreError::Locked { path }) => {
                if let Some(remote) = Remote::find(store_dir, args.api_token.clone())? {
                    match live(&remote, opts) {
                        Ok(body) => {
                            std::io::stdout().lock().write_all(body.as_bytes())?;
                            return Ok(ExitCode::SUCCESS);
                        }
                        // The API answered with an error (e.g. 401): final.
                        Err(e) => match e.downcast::<ApiRefused>() {
                            Ok(refused) => return refused_by_api(refused),
                            // The crawl may have finished between the lookup
                            // and the request: try the store again.
                            Err(e) if Instant::now() < deadline => {
                                tracing::debug!(error = %e, "live query failed; retrying");
                            }
                            Err(e) => return Err(e),
                        },
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
    match query::run(&store, opts, &mut out) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e @ QueryError::BadParam { .. }) => Ok(usage(&e.cli_message())),
        Err(e) => Err(e).context("query"),
    }
}

/// `trawl query --cluster URL`: the same pipeline over the cluster's pages.
fn cluster(url: &str, opts: &trawl_coordinator::query::QueryOptions) -> anyhow::Result<ExitCode> {
    if let Err(e) = trawl_common::config::sections::check_url(url) {
        return Ok(usage(&format!("--cluster: {e}")));
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match trawl_coordinator::cluster_mode::query(url, opts, &mut out).context("cluster database")? {
        Ok(_) => {
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ QueryError::BadParam { .. }) => Ok(usage(&e.cli_message())),
        Err(e) => Err(e).context("query"),
    }
}

/// A usage error: the message on stderr, exit 2.
fn usage(message: &str) -> ExitCode {
    eprintln!("trawl: error: {message}");
    ExitCode::from(2)
}

/// A 400 naming a parameter is a usage error, in the flag's name; any
/// other refusal is final.
fn refused_by_api(refused: ApiRefused) -> anyhow::Result<ExitCode> {
    if refused.status == 400
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&refused.body)
        && let (Some(param), Some(error)) = (v["param"].as_str(), v["error"].as_str())
    {
        let e = QueryError::BadParam {
            param: param.to_owned(),
            message: error.split_once(": ").map_or(error, |(_, m)| m).to_owned(),
        };
        return Ok(usage(&e.cli_message()));
    }
    Err(refused.into())
}

/// Answers the query through the running crawl's API: the same options
/// travel as parameters and the same code answers them.
fn live(remote: &Remote, opts: &QueryOptions) -> anyhow::Result<String> {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in opts.to_pairs() {
        q.append_pair(&k, &v);
    }
    remote.get(&format!("/api/pages?{}", q.finish()))
}
