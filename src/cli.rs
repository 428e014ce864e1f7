//! The command line (clap derive). The crawl options are the option groups
//! of `trawl_common::config` (each both flags and a config-file section);
//! their values are checked by `config::resolve`, which names the bad flag.

mod query;

pub(crate) use query::{ExportArgs, ExportFormat, QueryArgs};

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use trawl_common::config::{CrawlOptions, FieldRule, TargetOptions};

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
    /// Fetch a store's due pages again, once: 304s for unchanged pages
    /// with validators, changes and deleted pages detected and kept in
    /// each page's history (README, "Continuous crawling").
    #[command(after_help = crate::cmd::exit::HELP)]
    Refresh(Box<RefreshArgs>),
    /// Export a whole store as jsonl, csv or WARC 1.1 (gzipped).
    Export(ExportArgs),
    /// Show a running crawl: workers, queues, rates.
    Status(StatusArgs),
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
    #[command(flatten)]
    pub(crate) target: TargetOptions,
    /// TOML config file with any of these options (keys as in
    /// deploy/trawl.example.toml); flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print the final summary as one JSON object on stdout instead of
    /// text (see README, "The JSON summary").
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) options: CrawlOptions,
}

/// `trawl refresh`.
#[derive(Debug, clap::Args)]
pub(crate) struct RefreshArgs {
    /// Store directory of a crawl.
    #[arg(long, value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Only pages last fetched at least this long ago, e.g. 1h or 2d
    /// [default: the pages whose revisit is due, and every page of a store
    /// that has no schedules].
    #[arg(long, value_name = "DURATION")]
    pub(crate) older_than: Option<trawl_common::config::units::HumanDuration>,
    /// TOML config file with crawl options (keys as in
    /// deploy/trawl.example.toml); flags override it. Its seeds and store
    /// are not used.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print the final summary as one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Which pages: the filters of `trawl query` (`--sort` and `--limit`
    /// shape the selection too).
    #[command(flatten)]
    pub(crate) filters: trawl_coordinator::query::QueryOptions,
    #[command(flatten)]
    pub(crate) options: CrawlOptions,
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

/// `trawl status`: a running crawl through its store's API, or a cluster
/// through its database.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Store directory of the running crawl.
    #[arg(long, value_name = "DIR", required_unless_present = "cluster")]
    pub(crate) store: Option<PathBuf>,
    /// Show a cluster (postgres://...): machines, partitions, heartbeat
    /// ages, pages, queued URLs, outcomes.
    #[arg(long, value_name = "URL", conflicts_with = "store")]
    pub(crate) cluster: Option<String>,
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

/// Workers the demo uses unless told otherwise.
pub(crate) const DEMO_WORKERS: u32 = 4;
/// What the demo extracts unless told otherwise.
pub(crate) const DEMO_EXTRACT: &str = "posts=a.post-item-title@href+text*";

// The demo's own defaults, in its help.
#[derive(Debug, clap::Args)]
#[command(mut_arg("workers", |a| a.help(format!(
    "Worker processes: a number, or `auto` to autoscale between 1 and 2 x cores [default: {}]",
    DEMO_WORKERS
))))]
#[command(mut_arg("extract", |a| a.help(format!(
    "Extract a named field from every HTML page (repeatable; SPEC as in `trawl crawl --help`) \
     [default: {}]",
    DEMO_EXTRACT
))))]
pub(crate) struct DemoArgs {
    /// Pages in the generated site.
    #[arg(long, default_value_t = 3000, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) pages: u32,
    /// Keep the store in DIR [default: a temporary directory, deleted at exit].
    #[arg(long, value_name = "DIR")]
    pub(crate) store: Option<PathBuf>,
    /// After the crawl, keep the site, the store and the dashboard up until
    /// Ctrl-C.
    #[arg(long)]
    pub(crate) serve: bool,
    #[command(flatten)]
    pub(crate) options: CrawlOptions,
}

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Pages in the generated site (about 44 KB each).
    #[arg(long, default_value_t = 20_000, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) pages: u32,
    /// Worker counts to try, comma-separated [default: 1,2,4; with
    /// --hosts: 2].
    #[arg(long, value_delimiter = ',', value_name = "N,N,..",
          allow_hyphen_values = true, value_parser = clap::value_parser!(u32).range(1..=i64::from(trawl_common::ids::MAX_WORKERS)))]
    pub(crate) workers: Vec<u32>,
    /// Concurrent requests per worker to try, comma-separated (at most the
    /// crawl's --concurrency cap, 16384) [default: 1,16,64; with --hosts: 256].
    #[arg(long, value_delimiter = ',', value_name = "N,N,..",
          allow_hyphen_values = true, value_parser = clap::value_parser!(u32).range(1..=i64::from(trawl_common::config::sections::MAX_CONCURRENCY)))]
    pub(crate) concurrency: Vec<u32>,
    /// Serve the site as N hosts (ports of 127.0.0.1) whose pages link
    /// across hosts; --pages is the total, split evenly. With --delay,
    /// reports pages/s against hosts / delay and the gaps between requests
    /// to one host as the server saw them.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub(crate) hosts: Option<u32>,
    /// Politeness delay per host (e.g. `1s`, `250ms`), passed to the crawl
    /// as --delay with --per-host 1 (loopback has neither by default).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) delay: Option<std::time::Duration>,
    /// Latency the site adds to every response (e.g. `100ms`), jittered by
    /// --jitter.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) latency: Option<std::time::Duration>,
    /// Latency jitter as a fraction: uniform in latency x (1 ± F).
    #[arg(long, default_value_t = 0.5, value_name = "F", value_parser = parse_fraction)]
    pub(crate) jitter: f64,
    /// HTML bytes per page [default: 44000; 5000 with --hosts or --latency].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1000..=10_000_000))]
    pub(crate) page_bytes: Option<u32>,
    /// Repetitions of every cell (interleaved); pages/s is reported as
    /// min/median/max.
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true,
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
    #[arg(long, value_name = "N",
          conflicts_with_all = ["chart", "runs", "hosts", "delay", "latency", "page_bytes"],
          allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1000..=100_000_000))]
    pub(crate) frontier: Option<u64>,
    /// Instead of the matrix, cluster mode: for each N, N `trawl crawl
    /// --cluster` processes (--workers' first value each) crawl the site
    /// (--hosts 5 unless given) on a private PostgreSQL, then 2 with one killed; reports pages/s,
    /// PostgreSQL CPU per page, bytes per page and URL row, pages fetched
    /// twice. Needs Debian's postgresql package
    /// (/usr/lib/postgresql/VERSION/bin) and root (the server runs as the
    /// `postgres` user).
    #[arg(long, value_delimiter = ',', value_name = "N,N,..",
          conflicts_with_all = ["frontier", "chart", "runs", "concurrency"],
          allow_hyphen_values = true, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub(crate) machines: Vec<u32>,
    /// Instead of the matrix, one long crawl (the first --workers x
    /// --concurrency, 1 x 64 by default) measured every N pages: pages/s,
    /// CPU ms/page and peak RSS per process per slice, then the store's
    /// size and the time to query it (e.g. `--pages 1000000 --slice 100000`).
    #[arg(long, value_name = "N",
          conflicts_with_all = ["chart", "runs", "hosts", "delay", "latency", "page_bytes", "frontier", "machines", "refresh"],
          allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) slice: Option<u32>,
    /// Instead of the matrix, measure a refresh: crawl N pages of the
    /// changing site, change 10% of them, `trawl refresh`, then re-crawl
    /// from scratch; report CPU and wall time per unchanged page against
    /// the re-crawl, requests saved by 304s and history bytes per page.
    #[arg(long, value_name = "N", conflicts_with_all = ["chart", "runs", "hosts", "delay", "latency", "page_bytes", "frontier", "machines"],
          value_parser = clap::value_parser!(u32).range(100..=10_000_000))]
    pub(crate) refresh: Option<u32>,
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
    /// `a.post-item-title` entries per page.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) posts_per_page: u32,
    /// HTML bytes per page.
    #[arg(long, default_value_t = 44_000, value_name = "BYTES")]
    pub(crate) page_bytes: u32,
    /// Hosts (one port of 127.0.0.1 each), every one serving --pages pages.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) hosts: u32,
    /// Latency added to every response.
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) latency: std::time::Duration,
    /// Latency jitter as a fraction: uniform in latency x (1 ± F).
    #[arg(long, default_value_t = 0.5, value_name = "F", value_parser = parse_fraction)]
    pub(crate) jitter: f64,
    /// Record every request's start and end per host, and report the gaps
    /// between consecutive requests to one host when stopping.
    #[arg(long)]
    pub(crate) timeline: bool,
}

/// A number in `0..=1`.
fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("expected a fraction in 0..=1, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A negative number is a bad value of its flag, never "unexpected
    /// argument '-1'".
    #[test]
    fn negative_numbers_name_their_flag() {
        for argv in [
            &["trawl", "demo", "--pages", "-1"][..],
            &["trawl", "demo", "--delay", "-1"],
            &["trawl", "bench", "--pages", "-1"],
            &["trawl", "bench", "--runs", "-2"],
            &["trawl", "bench", "--workers", "-1,2"],
            &["trawl", "bench", "--frontier", "-5"],
            &["trawl", "bench", "--machines", "-1,2"],
            &["trawl", "bench", "--machines", "0"],
            &["trawl", "bench", "--slice", "-5"],
            &["trawl", "crawl", "--timeout", "-3s"],
            &["trawl", "crawl", "--crash-limit", "-3"],
        ] {
            let e = Cli::try_parse_from(argv).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{argv:?}: {msg}");
            assert!(
                msg.contains(argv[2]) && !msg.contains("unexpected argument"),
                "{argv:?}: {msg}"
            );
        }
    }
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
    /// Hosts: listeners on N ports of 127.0.0.1, each serving every page
    /// (pages link across hosts). The first one is on --port.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) hosts: u32,
    #[command(flatten)]
    pub(crate) changes: crate::cmd::serve_site::ChangeArgs,
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
    #[arg(long = "extract", value_name = "NAME=SPEC", value_parser = FieldRule::parse_flag, required = true)]
    pub(crate) extract: Vec<(String, FieldRule)>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}
