//! `trawl query`: print stored pages.

use crate::cli::{OutputFormat, QueryArgs};
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::Store;

pub(crate) fn run(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open_existing(&args.store)?;
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
