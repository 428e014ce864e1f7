//! `trawl query`: print stored pages.

use super::remote::Remote;
use crate::cli::{OutputFormat, QueryArgs};
use std::process::ExitCode;
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::{Store, StoreError};

pub(crate) fn run(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let opts = options(args);
    let store = match Store::open_existing(&args.store) {
        Ok(s) => s,
        // A running crawl holds the store: ask it instead.
        Err(StoreError::Locked { .. }) => return live(args, &opts),
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match query::run(&store, &opts, &mut out) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e @ query::QueryError::BadParam { .. }) => {
            eprintln!("trawl: error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(anyhow::Error::new(e).context("query")),
    }
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
fn live(args: &QueryArgs, opts: &QueryOptions) -> anyhow::Result<ExitCode> {
    let Some(remote) = Remote::find(&args.store, args.api_token.clone())? else {
        return Err(StoreError::Locked { path: args.store.clone() }.into());
    };
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in opts.to_pairs() {
        q.append_pair(k, &v);
    }
    let body = remote.get(&format!("/api/pages?{}", q.finish()))?;
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
