//! `trawl query`: print stored pages.

use super::remote::Remote;
use crate::cli::{OutputFormat, QueryArgs};
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::{Store, StoreError};

pub(crate) fn run(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let store = match Store::open_existing(&args.store) {
        Ok(s) => s,
        // A running crawl holds the store: ask it instead.
        Err(StoreError::Locked { .. }) => return live(args),
        Err(e) => return Err(e.into()),
    };
    let opts = QueryOptions {
        url_prefix: args.url_prefix.clone(),
        status: args.status,
        limit: args.limit,
        format: match args.format {
            OutputFormat::Jsonl => Format::Jsonl,
            OutputFormat::Csv => Format::Csv,
            OutputFormat::Table => Format::Table,
        },
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    query::run(&store, &opts, &mut out).context("query")?;
    Ok(ExitCode::SUCCESS)
}

/// Answers the query through the running crawl's API (same filters, same
/// output).
fn live(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let Some(remote) = Remote::find(&args.store, args.api_token.clone())? else {
        return Err(StoreError::Locked { path: args.store.clone() }.into());
    };
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair(
        "format",
        match args.format {
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
            OutputFormat::Table => "table",
        },
    );
    if let Some(p) = &args.url_prefix {
        q.append_pair("url_prefix", p);
    }
    if let Some(s) = args.status {
        q.append_pair("status", &s.to_string());
    }
    if let Some(l) = args.limit {
        q.append_pair("limit", &l.to_string());
    }
    let body = remote.get(&format!("/api/pages?{}", q.finish()))?;
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
