//! The arguments of the commands that read a store: `trawl query` (whose
//! options are [`QueryOptions`], shared with the HTTP API) and
//! `trawl export`.

use clap::ValueEnum;
use std::path::PathBuf;
use trawl_coordinator::query::QueryOptions;

#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    /// Store directory of a crawl.
    #[arg(long, value_name = "DIR", required_unless_present = "cluster")]
    pub(crate) store: Option<PathBuf>,
    /// Query a cluster's pages in PostgreSQL (postgres://...) instead of a
    /// store: every page of the crawl, whichever machine fetched it.
    #[arg(long, value_name = "URL", conflicts_with = "store")]
    pub(crate) cluster: Option<String>,
    #[command(flatten)]
    pub(crate) options: QueryOptions,
    /// Bearer token, if a running crawl's API requires one.
    #[arg(long, value_name = "TOKEN", env = "TRAWL_API_TOKEN", hide_env_values = true)]
    pub(crate) api_token: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ExportFormat {
    Jsonl,
    Csv,
    Warc,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Store directory of a crawl (while it runs, the crawl exports it).
    #[arg(long, value_name = "DIR", required_unless_present = "cluster")]
    pub(crate) store: Option<PathBuf>,
    /// Export a cluster's pages from PostgreSQL (postgres://...) instead of
    /// a store: every page of the crawl, whichever machine fetched it.
    #[arg(long, value_name = "URL", conflicts_with = "store")]
    pub(crate) cluster: Option<String>,
    /// Output format; warc needs a crawl run with --keep-bodies.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub(crate) format: ExportFormat,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Bearer token, if a running crawl's API requires one.
    #[arg(long, value_name = "TOKEN", env = "TRAWL_API_TOKEN", hide_env_values = true)]
    pub(crate) api_token: Option<String>,
}
