//! Crawl configuration: options as given, then one typed [`CrawlConfig`].
//!
//! # One struct per option group
//! Each group in [`sections`] (target, pool, limits, scope, politeness,
//! fetch, output, API) is one struct that is at once the clap arguments of
//! `trawl crawl` (doc comments are the `--help` text, flattened into the
//! command) and a serde section of the TOML config file (flat keys, as in
//! `deploy/trawl.example.toml`). Fields are optional, so "not given" is a
//! value: [`Merge`] lays the flags over the file, generically
//! ([`option_group!`](crate::option_group) derives it from the field list). Each group then
//! resolves its own fields into the [`CrawlConfig`], reporting every
//! invalid one by its flag name, before any process is started.
//!
//! Adding an option: a field in its group (doc with `[default: ...]`,
//! `#[arg]`, and `#[serde]` if the file key differs), a line in the group's
//! `resolve`, and the [`CrawlConfig`] field the coordinator reads.
//!
//! - [`units`]: human durations and sizes, counts that refuse `-1`.
//! - `file`: the TOML document, spans, line and column in errors.
//! - `merge`: flags over file.

mod extract;
mod file;
mod merge;
pub mod sections;
pub mod units;

pub use extract::FieldRule;
pub use merge::Merge;
pub use sections::{
    ApiOptions, ClusterConfig, ClusterOptions, FetchOptions, LimitOptions, OutputOptions,
    PolitenessOptions, PoolOptions, RevisitConfig, RevisitOptions, RevisitRule, ScopeOptions,
    TargetOptions, Workers,
};

use crate::error::ConfigError;
use crate::protocol::{ExtractRule, FetchSettings, WorkerSettings};
use crate::url::{Scope, ScopeKind, Url};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default number of worker processes.
pub const DEFAULT_WORKERS: u32 = 2;
/// Default crashes before a URL is recorded as poison.
pub const DEFAULT_CRASH_LIMIT: u32 = 3;
/// Default per-worker concurrent requests.
pub const DEFAULT_CONCURRENCY: u32 = 16;
/// Default of `--frontier-memory`: ~20 MB of queued URLs in memory.
pub const DEFAULT_FRONTIER_MEMORY: u64 = 100_000;
/// Supported config file format version.
pub const CONFIG_VERSION: u32 = 1;

/// Every option of `trawl crawl` but the seeds and the store (which `demo`
/// and `bench` choose themselves): the groups, flattened into the command
/// line and read from the config file.
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct CrawlOptions {
    /// Worker processes.
    #[command(flatten)]
    pub pool: PoolOptions,
    /// Limits.
    #[command(flatten)]
    pub limits: LimitOptions,
    /// Scope.
    #[command(flatten)]
    pub scope: ScopeOptions,
    /// Politeness.
    #[command(flatten)]
    pub politeness: PolitenessOptions,
    /// Fetching.
    #[command(flatten)]
    pub fetch: FetchOptions,
    /// What is stored.
    #[command(flatten)]
    pub output: OutputOptions,
    /// The API.
    #[command(flatten)]
    pub api: ApiOptions,
    /// Cluster mode.
    #[command(flatten)]
    pub cluster: ClusterOptions,
    /// Continuous crawling.
    #[command(flatten)]
    pub revisit: RevisitOptions,
}

impl Merge for CrawlOptions {
    fn merge(self, over: Self) -> Self {
        Self {
            pool: self.pool.merge(over.pool),
            limits: self.limits.merge(over.limits),
            scope: self.scope.merge(over.scope),
            politeness: self.politeness.merge(over.politeness),
            fetch: self.fetch.merge(over.fetch),
            output: self.output.merge(over.output),
            api: self.api.merge(over.api),
            cluster: self.cluster.merge(over.cluster),
            revisit: self.revisit.merge(over.revisit),
        }
    }
}

/// The file-only key `version`.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileFormat {
    /// Config file format version ([`CONFIG_VERSION`]).
    version: Option<u32>,
}

/// A config file: the seeds and store, and every other option.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFile {
    /// `seeds`, `store`.
    pub target: TargetOptions,
    /// Everything else.
    pub options: CrawlOptions,
}

/// The flags of a group paired with their file keys: the clap argument ids
/// and the serde field names of the same struct, in declaration order.
fn flag_keys<G: clap::Args + serde::de::DeserializeOwned>() -> Vec<(String, &'static str)> {
    let cmd = G::augment_args(clap::Command::new("group"));
    let ids = cmd.get_arguments().map(|a| a.get_id().to_string());
    ids.zip(file::serde_keys::<G>().iter().copied()).collect()
}

/// Every group's flag ids and file keys.
fn all_flag_keys() -> Vec<(String, &'static str)> {
    [
        flag_keys::<TargetOptions>(),
        flag_keys::<PoolOptions>(),
        flag_keys::<LimitOptions>(),
        flag_keys::<ScopeOptions>(),
        flag_keys::<PolitenessOptions>(),
        flag_keys::<FetchOptions>(),
        flag_keys::<OutputOptions>(),
        flag_keys::<ApiOptions>(),
        flag_keys::<ClusterOptions>(),
        flag_keys::<RevisitOptions>(),
    ]
    .concat()
}

/// Every key of the file format, from the groups' own `Deserialize`.
pub(crate) fn file_keys() -> Vec<&'static str> {
    let mut keys = file::serde_keys::<FileFormat>().to_vec();
    keys.extend(all_flag_keys().into_iter().map(|(_, k)| k));
    keys
}

/// The file key of an error's field: `--timeout` -> `timeout_secs`,
/// `seed` -> `seeds`.
fn key_of(field: &str) -> Option<&'static str> {
    let id = if field == "seed" {
        "seeds".to_owned()
    } else {
        field.trim_start_matches("--").replace('-', "_")
    };
    all_flag_keys().into_iter().find(|(i, _)| *i == id).map(|(_, k)| k)
}

impl ConfigFile {
    /// Reads a TOML config file. Unknown keys, bad types and bad syntax are
    /// errors naming the key, the file, line and column.
    pub fn from_file(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::new("--config", format!("{}: {e}", path.display()))])
        })?;
        Self::parse(&text, Some(&path.display().to_string()))
    }

    /// Parses TOML config text (locations as `line:column`).
    pub fn from_toml(text: &str) -> Result<Self, ConfigErrors> {
        Self::parse(text, None)
    }

    fn parse(text: &str, origin: Option<&str>) -> Result<Self, ConfigErrors> {
        let mut doc = file::Document::parse(text, origin)?;
        let format: FileFormat = doc.section();
        let file = ConfigFile {
            target: doc.section(),
            options: CrawlOptions {
                pool: doc.section(),
                limits: doc.section(),
                scope: doc.section(),
                politeness: doc.section(),
                fetch: doc.section(),
                output: doc.section(),
                api: doc.section(),
                cluster: doc.section(),
                revisit: doc.section(),
            },
        };
        let at = doc.finish()?;
        if let Some(v) = format.version.filter(|&v| v != CONFIG_VERSION) {
            return Err(ConfigErrors(vec![ConfigError::new(
                "version",
                format!("unsupported config version {v} (this trawl reads {CONFIG_VERSION})"),
            )]));
        }
        file.check(&at)?;
        Ok(file)
    }

    /// Resolves the file's own values, so a bad one is reported with its
    /// key, line and column even when it is valid TOML (`concurrency = 0`).
    /// The file need not name seeds or a store: flags can give them.
    fn check(&self, at: &file::Locations) -> Result<(), ConfigErrors> {
        let mut target = self.target.clone();
        if target.seeds.is_empty() {
            target.seeds.push("http://127.0.0.1/".to_owned());
        }
        target.store.get_or_insert_with(|| PathBuf::from("store"));
        // The token may come from TRAWL_API_TOKEN or a flag; the merged
        // config is checked for it.
        let mut options = self.options.clone();
        options.api.api_token.get_or_insert_with(|| "from-elsewhere".to_owned());
        match resolve(target, options) {
            Ok(_) => Ok(()),
            Err(errs) => {
                Err(ConfigErrors(errs.0.into_iter().map(|e| at.locate(e, key_of)).collect()))
            }
        }
    }

    /// The file overridden by every option given as a flag.
    #[must_use]
    pub fn merged_with(
        self,
        target: TargetOptions,
        options: CrawlOptions,
    ) -> (TargetOptions, CrawlOptions) {
        (self.target.merge(target), self.options.merge(options))
    }
}

/// Validates and converts, group by group. Every invalid field is reported,
/// named by its flag (`--workers`, `seed`).
pub fn resolve(target: TargetOptions, options: CrawlOptions) -> Result<CrawlConfig, ConfigErrors> {
    let mut c = CrawlConfig::defaults();
    let mut errs = Vec::new();
    target.resolve(&mut c, &mut errs);
    options.pool.resolve(&mut c, &mut errs);
    options.limits.resolve(&mut c, &mut errs);
    options.scope.resolve(&mut c, &mut errs);
    options.politeness.resolve(&mut c, &mut errs);
    options.fetch.resolve(&mut c, &mut errs);
    options.output.resolve(&mut c, &mut errs);
    options.api.resolve(&mut c, &mut errs);
    options.cluster.resolve(&mut c, &mut errs);
    options.revisit.resolve(&mut c, &mut errs);
    if errs.is_empty() { Ok(c) } else { Err(ConfigErrors(errs)) }
}

/// The resolved, validated crawl configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct CrawlConfig {
    /// Normalized seed URLs (at least one).
    pub seeds: Vec<Url>,
    /// Store directory (created if missing).
    pub store: PathBuf,
    /// Initial worker processes (>= 1).
    pub workers: u32,
    /// Autoscale bounds, if enabled.
    pub autoscale: Option<(u32, u32)>,
    /// Recycle workers after this many pages.
    pub worker_max_pages: Option<u64>,
    /// Crashes before a URL is poison (>= 1).
    pub crash_limit: u32,
    /// Control/query API address.
    pub api: std::net::SocketAddr,
    /// API bearer token.
    pub api_token: Option<String>,
    /// Concurrent requests per worker (>= 1).
    pub concurrency: u32,
    /// Page limit.
    pub max_pages: Option<u64>,
    /// Depth limit.
    pub max_depth: Option<u32>,
    /// Crawl scope around the seeds.
    pub scope: Scope,
    /// Fetch settings sent to every worker.
    pub fetch: FetchSettings,
    /// `--delay`, if set (else per-host defaults apply).
    pub delay: Option<Duration>,
    /// `--per-host`, if set (else per-host defaults apply).
    pub per_host: Option<u32>,
    /// Fetch and obey robots.txt.
    pub robots: bool,
    /// Follow `Sitemap:` lines of robots.txt.
    pub sitemaps: bool,
    /// Validated extraction rules, in name order.
    pub extract: Vec<ExtractRule>,
    /// Follow nofollow links too.
    pub ignore_nofollow: bool,
    /// Store response bodies.
    pub keep_bodies: bool,
    /// Queued URLs kept in memory (>= 1); the rest wait on disk.
    pub frontier_memory: usize,
    /// Cluster mode (`--cluster`): `None` is a local, sled-only crawl.
    pub cluster: Option<ClusterConfig>,
    /// Revisit intervals; `continuous` with `--revisit`.
    pub revisit: RevisitConfig,
}

impl CrawlConfig {
    /// Every default, before any option is applied (seeds and store are
    /// empty: resolving requires them).
    fn defaults() -> Self {
        CrawlConfig {
            seeds: Vec::new(),
            store: PathBuf::new(),
            workers: DEFAULT_WORKERS,
            autoscale: None,
            worker_max_pages: None,
            crash_limit: DEFAULT_CRASH_LIMIT,
            api: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            api_token: None,
            concurrency: DEFAULT_CONCURRENCY,
            max_pages: None,
            max_depth: None,
            scope: Scope::new(ScopeKind::Host, &[]),
            fetch: FetchSettings::default(),
            delay: None,
            per_host: None,
            robots: true,
            sitemaps: false,
            extract: Vec::new(),
            ignore_nofollow: false,
            keep_bodies: false,
            frontier_memory: usize::try_from(DEFAULT_FRONTIER_MEMORY).unwrap_or(usize::MAX),
            cluster: None,
            revisit: RevisitConfig::default(),
        }
    }

    /// What every worker is told in `Configure`.
    pub fn worker_settings(&self) -> WorkerSettings {
        WorkerSettings {
            concurrency: self.concurrency,
            fetch: self.fetch.clone(),
            scope: self.scope.clone(),
            extract: self.extract.clone(),
            ignore_nofollow: self.ignore_nofollow,
            keep_bodies: self.keep_bodies,
        }
    }
}

/// Every problem found while reading or resolving, one per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests;
