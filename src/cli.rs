//! The command line (clap derive): the raw stage of configuration. Values
//! are checked by `RawCrawlConfig::resolve`, which names the bad flag.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use trawl_common::config::FieldRule;

/// trawl: a fast multi-process web crawler you can query.
#[derive(Debug, Parser)]
#[command(name = "trawl", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// Logging flags, accepted before or after the subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    /// More log detail on stderr: -v crawl events, -vv debug, -vvv trace
    /// (RUST_LOG, when set, wins).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Only errors on stderr, and no progress line.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text, global = true, value_name = "FORMAT")]
    pub(crate) log_format: LogFormatArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Crawl from one or more seed URLs into a store.
    #[command(after_help = crate::cmd::exit::HELP)]
    Crawl(CrawlArgs),
    /// Print pages stored by a crawl.
    Query(QueryArgs),
    /// Export a whole store as jsonl, csv or WARC 1.1 (gzipped).
    Export(ExportArgs),
    /// Show a running crawl: workers, queues, rates.
    Status(RemoteArgs),
    /// Grow or shrink a running crawl's worker pool.
    Scale(ScaleArgs),
    /// Serve a generated site on 127.0.0.1 and crawl it with several workers.
    Demo(DemoArgs),
    /// Measure throughput and cost: crawl the generated site with a matrix
    /// of worker counts x per-worker concurrency.
    Bench(BenchArgs),
    /// Serve the generated demo site on 127.0.0.1 until Ctrl-C (to try
    /// trawl out, or to test extraction rules against).
    ServeSite(ServeSiteArgs),
    /// Run --extract rules on one page (a URL or --file) and print the
    /// fields as JSON, to try rules before a crawl.
    Extract(ExtractArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: `trawl man > trawl.1`.
    Man,
    /// Internal: a worker process, started by the coordinator.
    #[command(hide = true)]
    Worker,
    /// Internal: the generated site in its own process, for `trawl bench`.
    #[command(hide = true)]
    BenchSite(BenchSiteArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CrawlArgs {
    /// Start URLs (http or https).
    #[arg(value_name = "SEED_URL")]
    pub(crate) seeds: Vec<String>,
    /// Store directory (created if missing). Rerunning on the same store
    /// resumes: stored pages are not fetched again.
    #[arg(long, value_name = "DIR")]
    pub(crate) store: Option<PathBuf>,
    /// TOML config file with any of these options; flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print the final summary as one JSON object on stdout instead of
    /// text (see README, "The JSON summary").
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) tuning: Tuning,
}

/// Flags shared by `crawl` and `demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Tuning {
    /// Worker processes: a number, or `auto` to autoscale between 1 and 2 x cores.
    #[arg(long, value_name = "N|auto")]
    pub(crate) workers: Option<String>,
    /// Autoscale the worker pool between MIN and MAX processes.
    #[arg(long, value_name = "MIN..MAX")]
    pub(crate) autoscale: Option<String>,
    /// Replace a worker after it has fetched N pages (bounds its memory).
    #[arg(long, value_name = "N")]
    pub(crate) worker_max_pages: Option<u64>,
    /// Record a URL as poison after N workers crashed holding it.
    #[arg(long, value_name = "N")]
    pub(crate) crash_limit: Option<u32>,
    /// Address of the control/query API [default: 127.0.0.1:0].
    #[arg(long, value_name = "IP:PORT")]
    pub(crate) api: Option<String>,
    /// Minimum seconds between two requests to one host
    /// [default: 0.25 for public hosts, 0 for loopback].
    #[arg(long, value_name = "SECS")]
    pub(crate) delay: Option<f64>,
    /// Most concurrent requests to one host [default: 1 for public hosts, unlimited for loopback].
    #[arg(long, value_name = "N")]
    pub(crate) per_host: Option<u32>,
    /// Do not fetch or obey robots.txt.
    #[arg(long)]
    pub(crate) ignore_robots: bool,
    /// Also seed the crawl from the sitemaps listed in robots.txt.
    #[arg(long)]
    pub(crate) sitemaps: bool,
    /// Store complete response bodies (for `trawl export --format warc`).
    #[arg(long)]
    pub(crate) keep_bodies: bool,
    /// Queued URLs kept in memory; the rest wait on disk in the store and
    /// are read back as their hosts' turn comes [default: 100000].
    #[arg(long, value_name = "N")]
    pub(crate) frontier_memory: Option<u64>,
    /// Only follow URLs matching this regex (repeatable: any may match).
    #[arg(long, value_name = "REGEX")]
    pub(crate) allow: Vec<String>,
    /// Never follow URLs matching this regex (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub(crate) deny: Vec<String>,
    /// Bearer token for the API (required to bind a non-loopback address).
    #[arg(long, value_name = "TOKEN", env = "TRAWL_API_TOKEN", hide_env_values = true)]
    pub(crate) api_token: Option<String>,
    /// Concurrent requests per worker.
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<u32>,
    /// Stop after storing N pages.
    #[arg(long, value_name = "N")]
    pub(crate) max_pages: Option<u64>,
    /// Do not follow links deeper than N (seeds are depth 0).
    #[arg(long, value_name = "N")]
    pub(crate) max_depth: Option<u32>,
    /// Which links to follow: the seeds' hosts, their domains, or anything.
    #[arg(long, value_name = "host|domain|any")]
    pub(crate) scope: Option<String>,
    /// User-Agent header.
    #[arg(long, value_name = "STRING")]
    pub(crate) user_agent: Option<String>,
    /// Largest body read, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_bytes: Option<u64>,
    /// Total per-request timeout, in seconds.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// Connect timeout, in seconds.
    #[arg(long, value_name = "SECS")]
    pub(crate) connect_timeout: Option<f64>,
    /// Extra attempts after a connection error, a 5xx or a 429 (exponential
    /// backoff with jitter, honouring Retry-After up to 30 s). Default 2.
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u8>,
    /// Follow links even from `<meta name=robots content=nofollow>` pages and
    /// `rel=nofollow` anchors.
    #[arg(long)]
    pub(crate) ignore_nofollow: bool,
    /// Extract a named field from every HTML page (repeatable).
    /// SPEC is `SELECTOR[@WHAT[+WHAT]][*]`: WHAT is `text` (default), `html`
    /// or an attribute (`href`/`src` come back as absolute URLs), `+WHAT` makes
    /// pairs, a trailing `*` takes every match. E.g.
    /// `posts=a.post-item-title@href+text*`.
    #[arg(long = "extract", value_name = "NAME=SPEC", value_parser = parse_extract)]
    pub(crate) extract: Vec<(String, FieldRule)>,
}

fn parse_extract(s: &str) -> Result<(String, FieldRule), String> {
    FieldRule::parse_flag(s)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    Jsonl,
    Csv,
    Table,
}

#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    /// Store directory of a crawl.
    #[arg(long, value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub(crate) format: OutputFormat,
    /// Only URLs starting with this prefix (narrows the scan itself).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) url_prefix: Option<String>,
    /// Only URLs matching this glob, e.g. 'http://*/docs/*.html'.
    #[arg(long, value_name = "GLOB")]
    pub(crate) url_glob: Option<String>,
    /// Only URLs matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub(crate) url_regex: Option<String>,
    /// Only this host (host[:port]).
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,
    /// Only this HTTP status (404) or class (4xx).
    #[arg(long, value_name = "CODE|Nxx")]
    pub(crate) status: Option<String>,
    /// Only content types starting with this (text/html).
    #[arg(long, value_name = "TYPE")]
    pub(crate) content_type: Option<String>,
    /// Only this depth (2) or range (1..3).
    #[arg(long, value_name = "N|LO..HI")]
    pub(crate) depth: Option<String>,
    /// Only this outcome (ok, http_error, timeout, redirect, ...).
    #[arg(long, value_name = "OUTCOME")]
    pub(crate) outcome: Option<String>,
    /// Only pages fetched at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Only pages fetched before this time.
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
    /// Predicate on an output field (repeatable): 'title~rust', 'bytes>10000',
    /// 'status!=200', 'fields.posts exists'.
    #[arg(long = "where", value_name = "EXPR")]
    pub(crate) wheres: Vec<String>,
    /// Output only these fields, e.g. url,title,fields.posts.
    #[arg(long, value_name = "LIST")]
    pub(crate) fields: Option<String>,
    /// Sort by a field; -field or field:desc for descending.
    #[arg(long, value_name = "FIELD", allow_hyphen_values = true)]
    pub(crate) sort: Option<String>,
    /// Count pages per host, status, status_class, outcome, depth, ... instead of listing them.
    #[arg(long, value_name = "FIELD")]
    pub(crate) count_by: Option<String>,
    /// At most N rows.
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// Skip the first N rows.
    #[arg(long, value_name = "N")]
    pub(crate) offset: Option<usize>,
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
    /// Store directory of a (finished) crawl.
    #[arg(long, value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Output format; warc needs a crawl run with --keep-bodies.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub(crate) format: ExportFormat,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// Where to find a running crawl.
#[derive(Debug, clap::Args)]
pub(crate) struct RemoteArgs {
    /// Store directory of the running crawl.
    #[arg(long, value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Bearer token, if the crawl's API requires one.
    #[arg(long, value_name = "TOKEN", env = "TRAWL_API_TOKEN", hide_env_values = true)]
    pub(crate) api_token: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ScaleArgs {
    /// The new number of worker processes.
    #[arg(value_name = "N")]
    pub(crate) workers: u32,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Pages in the generated site.
    #[arg(long, default_value_t = 3000, value_name = "N")]
    pub(crate) pages: u32,
    /// Keep the store in DIR instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) store: Option<PathBuf>,
    /// After the crawl, keep the site, the store and the dashboard up until
    /// Ctrl-C.
    #[arg(long)]
    pub(crate) serve: bool,
    #[command(flatten)]
    pub(crate) tuning: Tuning,
}

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Pages in the generated site (about 44 KB each).
    #[arg(long, default_value_t = 20_000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) pages: u32,
    /// Worker counts to try, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4], value_name = "N,N,..",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub(crate) workers: Vec<u32>,
    /// Concurrent requests per worker to try, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64], value_name = "N,N,..",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(crate) concurrency: Vec<u32>,
    /// Repetitions of every cell (interleaved); pages/s is reported as
    /// min/median/max.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) runs: u32,
    /// Print the results as JSON on stdout (the table goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write an SVG bar chart of pages/s per cell to FILE.
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) chart: Option<PathBuf>,
    /// Instead of the matrix, measure the frontier at scale: crawl pages of
    /// 1,000 links each until about N URLs are queued, then resume that
    /// crawl; report the coordinator's peak RSS and the times.
    #[arg(long, value_name = "N", conflicts_with_all = ["chart", "runs"],
          value_parser = clap::value_parser!(u64).range(1000..=100_000_000))]
    pub(crate) frontier: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct BenchSiteArgs {
    /// Pages in the generated site.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub(crate) pages: u32,
    /// Links per page (most to random pages: a large value makes a crawl
    /// discover URLs far faster than it fetches them).
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub(crate) links_per_page: u32,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeSiteArgs {
    /// Pages in the generated site.
    #[arg(long, default_value_t = 3000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) pages: u32,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub(crate) port: u16,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExtractArgs {
    /// The page to fetch (http or https).
    #[arg(value_name = "URL", required_unless_present = "file", conflicts_with = "file")]
    pub(crate) url: Option<String>,
    /// Read the page from FILE instead of fetching it.
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Base URL for relative links when reading --file [default: file URL].
    #[arg(long, value_name = "URL", requires = "file")]
    pub(crate) base: Option<String>,
    /// A field to extract, as for `trawl crawl --extract` (repeatable).
    #[arg(long = "extract", value_name = "NAME=SPEC", value_parser = parse_extract, required = true)]
    pub(crate) extract: Vec<(String, FieldRule)>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}
