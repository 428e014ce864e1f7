//! Crawl configuration in two stages.
//!
//! [`RawCrawlConfig`] mirrors what the user wrote (flags, or later a file):
//! every field optional, nothing checked. [`RawCrawlConfig::resolve`] turns
//! it into a [`CrawlConfig`] of domain types and reports *every* invalid
//! field by name, before any process is started. Only the resolved config
//! crosses module boundaries.

mod extract;

pub use extract::FieldRule;

use crate::error::ConfigError;
use crate::protocol::{ExtractRule, FetchSettings, WorkerSettings};
use crate::url::{Scope, ScopeKind, Url, parse_crawl_url};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default number of worker processes.
pub const DEFAULT_WORKERS: u32 = 2;
/// Default crashes before a URL is recorded as poison.
pub const DEFAULT_CRASH_LIMIT: u32 = 3;
/// Default per-worker concurrent requests.
pub const DEFAULT_CONCURRENCY: u32 = 16;

/// The crawl settings as given, unvalidated.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawCrawlConfig {
    /// Config file format version (files only; [`CONFIG_VERSION`]).
    pub version: Option<u32>,
    /// Start URLs.
    pub seeds: Vec<String>,
    /// Store directory.
    pub store: Option<PathBuf>,
    /// Worker processes: a number, or `auto` (autoscale 1..=2 x cores).
    #[serde(default, deserialize_with = "number_or_string")]
    pub workers: Option<String>,
    /// Autoscale the pool between `MIN..MAX` workers.
    pub autoscale: Option<String>,
    /// Recycle a worker after it has fetched this many pages.
    pub worker_max_pages: Option<u64>,
    /// Crashed workers a URL may be held by before it is recorded as poison.
    pub crash_limit: Option<u32>,
    /// Address of the control/query API (default 127.0.0.1:0).
    pub api: Option<String>,
    /// Bearer token the API requires; mandatory for a non-loopback address.
    pub api_token: Option<String>,
    /// Concurrent requests per worker.
    pub concurrency: Option<u32>,
    /// Stop after this many stored pages.
    pub max_pages: Option<u64>,
    /// Do not follow links deeper than this (seeds are depth 0).
    pub max_depth: Option<u32>,
    /// `host`, `domain` or `any`.
    pub scope: Option<String>,
    /// User-Agent header.
    pub user_agent: Option<String>,
    /// Body cap in bytes.
    pub max_bytes: Option<u64>,
    /// Total per-request timeout in seconds.
    pub timeout_secs: Option<f64>,
    /// Connect timeout in seconds.
    pub connect_timeout_secs: Option<f64>,
    /// Minimum seconds between two requests to one host.
    pub delay_secs: Option<f64>,
    /// Most concurrent requests to one host.
    pub per_host: Option<u32>,
    /// Do not fetch or obey robots.txt.
    pub ignore_robots: Option<bool>,
    /// Seed the frontier from the `Sitemap:` lines of robots.txt.
    pub sitemaps: Option<bool>,
    /// Only follow URLs matching one of these regexes.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Never follow URLs matching any of these regexes.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Extra attempts after a connection failure, 5xx or 429 (default 2).
    pub retries: Option<u8>,
    /// Follow links despite meta robots `nofollow` and `rel=nofollow`.
    #[serde(default)]
    pub ignore_nofollow: bool,
    /// Named fields to extract from every HTML page.
    #[serde(default)]
    pub extract: BTreeMap<String, FieldRule>,
    /// Store complete response bodies (for `trawl export --format warc`).
    pub keep_bodies: Option<bool>,
    /// Queued URLs kept in memory; the rest wait on disk in the store.
    pub frontier_memory: Option<u64>,
}

fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(u64),
        S(String),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::N(n) => n.to_string(),
        V::S(s) => s,
    }))
}

/// Supported config file format version.
pub const CONFIG_VERSION: u32 = 1;

impl RawCrawlConfig {
    /// Reads a TOML config file. Unknown keys and bad types are errors
    /// that name the key.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigErrors> {
        let field = "--config";
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(field, format!("{}: {e}", path.display()))])
        })?;
        Self::from_toml(&text).map_err(|mut errs| {
            for e in &mut errs.0 {
                e.message = format!("{}: {}", path.display(), e.message);
            }
            errs
        })
    }

    /// Parses TOML config text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigErrors> {
        let file: RawCrawlConfig = toml::from_str(text).map_err(|e| {
            // Unknown keys are named in the message; for a bad value, the
            // span points at it, and its line starts with the key.
            let key = e
                .message()
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .or_else(|| {
                    let at = e.span()?.start;
                    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
                    let line = &text[line_start..];
                    let (k, _) = line.split_once('=')?;
                    Some(k.trim().trim_matches('"').to_owned()).filter(|k| !k.is_empty())
                })
                .unwrap_or_else(|| "config".to_owned());
            let message = e.message().trim().replace('\n', " ");
            ConfigErrors(vec![ConfigError::new(key, message)])
        })?;
        if let Some(v) = file.version
            && v != CONFIG_VERSION
        {
            return Err(ConfigErrors(vec![ConfigError::new(
                "version",
                format!("unsupported config version {v} (this trawl reads {CONFIG_VERSION})"),
            )]));
        }
        Ok(file)
    }

    /// `self` overridden by every value set in `over` (flags over file).
    #[must_use]
    pub fn merged_with(self, over: RawCrawlConfig) -> RawCrawlConfig {
        fn pick<T>(base: Option<T>, over: Option<T>) -> Option<T> {
            over.or(base)
        }
        fn list(base: Vec<String>, over: Vec<String>) -> Vec<String> {
            if over.is_empty() { base } else { over }
        }
        RawCrawlConfig {
            version: pick(self.version, over.version),
            seeds: list(self.seeds, over.seeds),
            store: pick(self.store, over.store),
            workers: pick(self.workers, over.workers),
            autoscale: pick(self.autoscale, over.autoscale),
            worker_max_pages: pick(self.worker_max_pages, over.worker_max_pages),
            crash_limit: pick(self.crash_limit, over.crash_limit),
            api: pick(self.api, over.api),
            api_token: pick(self.api_token, over.api_token),
            concurrency: pick(self.concurrency, over.concurrency),
            max_pages: pick(self.max_pages, over.max_pages),
            max_depth: pick(self.max_depth, over.max_depth),
            scope: pick(self.scope, over.scope),
            user_agent: pick(self.user_agent, over.user_agent),
            max_bytes: pick(self.max_bytes, over.max_bytes),
            timeout_secs: pick(self.timeout_secs, over.timeout_secs),
            connect_timeout_secs: pick(self.connect_timeout_secs, over.connect_timeout_secs),
            delay_secs: pick(self.delay_secs, over.delay_secs),
            per_host: pick(self.per_host, over.per_host),
            ignore_robots: pick(self.ignore_robots, over.ignore_robots),
            sitemaps: pick(self.sitemaps, over.sitemaps),
            allow: list(self.allow, over.allow),
            deny: list(self.deny, over.deny),
            retries: pick(self.retries, over.retries),
            ignore_nofollow: self.ignore_nofollow || over.ignore_nofollow,
            extract: if over.extract.is_empty() { self.extract } else { over.extract },
            keep_bodies: pick(self.keep_bodies, over.keep_bodies),
            frontier_memory: pick(self.frontier_memory, over.frontier_memory),
        }
    }
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
}

/// Default of `--frontier-memory`: ~20 MB of queued URLs in memory.
pub const DEFAULT_FRONTIER_MEMORY: u64 = 100_000;

impl CrawlConfig {
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

/// Every problem found while resolving, one per field.
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

fn secs(field: &str, v: f64, errs: &mut Vec<ConfigError>) -> Option<Duration> {
    if v.is_finite() && v > 0.0 && v < 86_400.0 {
        Some(Duration::from_secs_f64(v))
    } else {
        errs.push(ConfigError::new(field, format!("must be between 0 and 86400 seconds, got {v}")));
        None
    }
}

fn parse_range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once("..")?;
    Some((a.trim().parse().ok()?, b.trim().trim_start_matches('=').parse().ok()?))
}

impl RawCrawlConfig {
    /// Validates and converts. Errors name the flag (`--workers`, `seed`).
    pub fn resolve(self) -> Result<CrawlConfig, ConfigErrors> {
        let mut errs = Vec::new();
        let mut seeds = Vec::new();
        if self.seeds.is_empty() {
            errs.push(ConfigError::new("seed", "at least one seed URL is required"));
        }
        for s in &self.seeds {
            match parse_crawl_url(s) {
                Ok(u) => seeds.push(u),
                Err(e) => errs.push(ConfigError::new("seed", e.to_string())),
            }
        }
        let store = self.store.clone().unwrap_or_default();
        if store.as_os_str().is_empty() {
            errs.push(ConfigError::new("--store", "a store directory is required"));
        }
        let cores =
            std::thread::available_parallelism().map_or(2, |n| u32::try_from(n.get()).unwrap_or(2));
        let mut autoscale = None;
        let workers = match self.workers.as_deref().map(str::trim) {
            None => DEFAULT_WORKERS,
            Some("auto") => {
                autoscale = Some((1, (2 * cores).max(2)));
                1
            }
            Some(n) => match n.parse::<u32>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    errs.push(ConfigError::new(
                        "--workers",
                        format!("must be a number 1..=256 or `auto`, got {n:?}"),
                    ));
                    1
                }
            },
        };
        if let Some(spec) = self.autoscale.as_deref() {
            match parse_range(spec) {
                Some((lo, hi)) if lo >= 1 && lo <= hi && hi <= 256 => autoscale = Some((lo, hi)),
                _ => errs.push(ConfigError::new(
                    "--autoscale",
                    format!("expected MIN..MAX with 1 <= MIN <= MAX <= 256, got {spec:?}"),
                )),
            }
        }
        let workers = match autoscale {
            Some((lo, hi)) if self.workers.is_none() => lo.max(workers.min(hi)),
            _ => workers,
        };
        let crash_limit = self.crash_limit.unwrap_or(DEFAULT_CRASH_LIMIT);
        if crash_limit == 0 {
            errs.push(ConfigError::new("--crash-limit", "must be at least 1"));
        }
        if self.worker_max_pages == Some(0) {
            errs.push(ConfigError::new("--worker-max-pages", "must be at least 1"));
        }
        let api = match self.api.as_deref().unwrap_or("127.0.0.1:0").parse::<std::net::SocketAddr>()
        {
            Ok(a) => {
                if !a.ip().is_loopback() && self.api_token.as_deref().is_none_or(str::is_empty) {
                    errs.push(ConfigError::new(
                        "--api",
                        format!("binding {a} (not loopback) requires --api-token"),
                    ));
                }
                a
            }
            Err(e) => {
                errs.push(ConfigError::new("--api", format!("not an address (IP:PORT): {e}")));
                std::net::SocketAddr::from(([127, 0, 0, 1], 0))
            }
        };
        let concurrency = self.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 || concurrency > 4096 {
            errs.push(ConfigError::new(
                "--concurrency",
                format!("must be 1..=4096, got {concurrency}"),
            ));
        }
        if self.max_pages == Some(0) {
            errs.push(ConfigError::new("--max-pages", "must be at least 1"));
        }
        let kind = match self.scope.as_deref().unwrap_or("host") {
            "host" => ScopeKind::Host,
            "domain" => ScopeKind::Domain,
            "any" => ScopeKind::Any,
            other => {
                errs.push(ConfigError::new(
                    "--scope",
                    format!("expected host, domain or any, got {other:?}"),
                ));
                ScopeKind::Host
            }
        };
        let mut fetch = FetchSettings::default();
        if let Some(ua) = self.user_agent {
            if ua.trim().is_empty() || ua.contains(['\r', '\n']) {
                errs.push(ConfigError::new("--user-agent", "must be a non-empty single line"));
            }
            fetch.user_agent = ua;
        }
        if let Some(b) = self.max_bytes {
            if b == 0 {
                errs.push(ConfigError::new("--max-bytes", "must be at least 1"));
            }
            fetch.max_bytes = b;
        }
        if let Some(t) = self.timeout_secs.and_then(|v| secs("--timeout", v, &mut errs)) {
            fetch.total_timeout = t;
            fetch.read_timeout = fetch.read_timeout.min(t);
        }
        if let Some(t) =
            self.connect_timeout_secs.and_then(|v| secs("--connect-timeout", v, &mut errs))
        {
            fetch.connect_timeout = t;
        }
        let delay = self.delay_secs.and_then(|v| {
            if v == 0.0 { Some(Duration::ZERO) } else { secs("--delay", v, &mut errs) }
        });
        if self.sitemaps == Some(true) && self.ignore_robots == Some(true) {
            errs.push(ConfigError::new(
                "--sitemaps",
                "sitemaps are found through robots.txt, which --ignore-robots turns off",
            ));
        }
        if self.frontier_memory == Some(0) {
            errs.push(ConfigError::new("--frontier-memory", "must be at least 1"));
        }
        if self.per_host == Some(0) {
            errs.push(ConfigError::new("--per-host", "must be at least 1"));
        }
        for (field, pats) in [("--allow", &self.allow), ("--deny", &self.deny)] {
            for p in pats {
                if let Err(e) = regex::Regex::new(p) {
                    errs.push(ConfigError::new(field, format!("bad regex {p:?}: {e}")));
                }
            }
        }
        if let Some(r) = self.retries {
            if r > 10 {
                errs.push(ConfigError::new("--retries", format!("must be 0..=10, got {r}")));
            }
            fetch.retries = r;
        }
        let mut extract = Vec::with_capacity(self.extract.len());
        for (name, rule) in &self.extract {
            match rule.resolve(name) {
                Ok(r) => extract.push(r),
                Err(e) => errs.push(e),
            }
        }
        if !errs.is_empty() {
            return Err(ConfigErrors(errs));
        }
        let mut scope = Scope::new(kind, &seeds);
        scope.allow = self.allow;
        scope.deny = self.deny;
        Ok(CrawlConfig {
            seeds,
            store,
            workers,
            autoscale,
            worker_max_pages: self.worker_max_pages,
            crash_limit,
            api,
            api_token: self.api_token,
            concurrency,
            max_pages: self.max_pages,
            max_depth: self.max_depth,
            scope,
            fetch,
            delay,
            per_host: self.per_host,
            robots: !self.ignore_robots.unwrap_or(false),
            sitemaps: self.sitemaps.unwrap_or(false),
            extract,
            ignore_nofollow: self.ignore_nofollow,
            keep_bodies: self.keep_bodies.unwrap_or(false),
            frontier_memory: usize::try_from(
                self.frontier_memory.unwrap_or(DEFAULT_FRONTIER_MEMORY),
            )
            .unwrap_or(usize::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(seeds: &[&str]) -> RawCrawlConfig {
        RawCrawlConfig {
            seeds: seeds.iter().map(|s| (*s).to_owned()).collect(),
            store: Some("/tmp/x".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_resolve() {
        let c = raw(&["http://127.0.0.1:1/"]).resolve().unwrap();
        assert_eq!(c.workers, DEFAULT_WORKERS);
        assert_eq!(c.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(c.scope.hosts, vec!["127.0.0.1:1".to_owned()]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut r = raw(&["ftp://x/"]);
        r.workers = Some("0".into());
        r.concurrency = Some(0);
        r.scope = Some("planet".into());
        r.store = None;
        let errs = r.resolve().unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["seed", "--store", "--workers", "--concurrency", "--scope"]);
        assert!(errs.to_string().contains("unsupported scheme"));
    }

    #[test]
    fn workers_auto_and_autoscale() {
        let mut r = raw(&["http://h/"]);
        r.workers = Some("auto".into());
        let c = r.resolve().unwrap();
        assert_eq!(c.workers, 1);
        assert!(c.autoscale.is_some_and(|(lo, hi)| lo == 1 && hi >= 2));
        let mut r = raw(&["http://h/"]);
        r.autoscale = Some("2..6".into());
        let c = r.resolve().unwrap();
        assert_eq!((c.workers, c.autoscale), (2, Some((2, 6))));
        let mut r = raw(&["http://h/"]);
        r.autoscale = Some("5..2".into());
        assert_eq!(r.resolve().unwrap_err().0[0].field, "--autoscale");
    }

    #[test]
    fn api_off_loopback_needs_a_token() {
        let mut r = raw(&["http://h/"]);
        r.api = Some("0.0.0.0:8080".into());
        assert_eq!(r.clone().resolve().unwrap_err().0[0].field, "--api");
        r.api_token = Some("s3cret".into());
        assert!(r.resolve().is_ok());
    }

    #[test]
    fn file_then_flags() {
        let file = RawCrawlConfig::from_toml(
            "version = 1\nseeds = [\"http://a/\"]\nstore = \"/tmp/s\"\nworkers = 3\ndelay_secs = 0.5\nallow = [\"^http://a/\"]\n",
        )
        .unwrap();
        let flags = RawCrawlConfig { workers: Some("5".into()), ..Default::default() };
        let c = file.merged_with(flags).resolve().unwrap();
        assert_eq!(c.workers, 5);
        assert_eq!(c.delay, Some(Duration::from_millis(500)));
        assert_eq!(c.scope.allow, vec!["^http://a/".to_owned()]);
        assert!(c.robots);
    }

    #[test]
    fn file_errors_name_the_key() {
        let e = RawCrawlConfig::from_toml("seeds = []\nwokers = 2\n").unwrap_err();
        assert_eq!(e.0[0].field, "wokers", "{e}");
        let e = RawCrawlConfig::from_toml("workers = true\n").unwrap_err();
        assert!(e.to_string().contains("workers"), "{e}");
        let e = RawCrawlConfig::from_toml("seeds = []\nmax_pages = \"lots\"\n").unwrap_err();
        assert_eq!(e.0[0].field, "max_pages", "{e}");
        let e = RawCrawlConfig::from_toml("version = 9\n").unwrap_err();
        assert_eq!(e.0[0].field, "version");
    }

    /// The shipped example documents every option and must stay valid.
    #[test]
    fn example_config_parses_and_resolves() {
        let text = include_str!("../../../deploy/trawl.example.toml");
        let raw = RawCrawlConfig::from_toml(text).unwrap();
        let c = raw.resolve().unwrap();
        assert_eq!(c.workers, 2);
        assert_eq!(c.scope.deny.len(), 1);
        assert_eq!(c.extract.len(), 2, "the [extract] table resolves");
        for key in config_keys() {
            let documented =
                text.contains(&format!("{key} =")) || text.contains(&format!("[{key}]"));
            assert!(documented, "the example lacks `{key}`");
        }
    }

    /// Every key of the file format. The exhaustive destructuring fails to
    /// compile when a field is added, so this list cannot go stale.
    fn config_keys() -> Vec<&'static str> {
        let RawCrawlConfig {
            version: _,
            seeds: _,
            store: _,
            workers: _,
            autoscale: _,
            worker_max_pages: _,
            crash_limit: _,
            api: _,
            api_token: _,
            concurrency: _,
            max_pages: _,
            max_depth: _,
            scope: _,
            user_agent: _,
            max_bytes: _,
            timeout_secs: _,
            connect_timeout_secs: _,
            delay_secs: _,
            per_host: _,
            ignore_robots: _,
            sitemaps: _,
            allow: _,
            deny: _,
            retries: _,
            ignore_nofollow: _,
            extract: _,
            keep_bodies: _,
            frontier_memory: _,
        } = RawCrawlConfig::default();
        vec![
            "version",
            "seeds",
            "store",
            "workers",
            "autoscale",
            "worker_max_pages",
            "crash_limit",
            "api",
            "api_token",
            "concurrency",
            "max_pages",
            "max_depth",
            "scope",
            "user_agent",
            "max_bytes",
            "timeout_secs",
            "connect_timeout_secs",
            "delay_secs",
            "per_host",
            "ignore_robots",
            "sitemaps",
            "allow",
            "deny",
            "retries",
            "ignore_nofollow",
            "extract",
            "keep_bodies",
            "frontier_memory",
        ]
    }

    #[test]
    fn bad_regex_is_named() {
        let mut r = raw(&["http://h/"]);
        r.deny = vec!["(".into()];
        assert_eq!(r.resolve().unwrap_err().0[0].field, "--deny");
    }

    #[test]
    fn retries_and_extract_resolve() {
        let mut r = raw(&["http://h/"]);
        r.retries = Some(5);
        r.ignore_nofollow = true;
        let (name, rule) = FieldRule::parse_flag("posts=a.post@href+text*").unwrap();
        r.extract.insert(name, rule);
        let c = r.resolve().unwrap();
        assert_eq!(c.fetch.retries, 5);
        let s = c.worker_settings();
        assert!(s.ignore_nofollow);
        assert_eq!(s.extract.len(), 1);
        assert_eq!(s.extract[0].name, "posts");
        assert_eq!(raw(&["http://h/"]).resolve().unwrap().fetch.retries, 2);
    }

    #[test]
    fn bad_selector_and_retries_are_named() {
        let mut r = raw(&["http://h/"]);
        r.retries = Some(11);
        r.extract.insert("posts".into(), FieldRule { selector: "a[".into(), ..Default::default() });
        r.extract.insert("ok".into(), FieldRule { selector: "a".into(), ..Default::default() });
        let errs = r.resolve().unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["--retries", "extract.posts"]);
        assert!(errs.to_string().contains("invalid extract.posts: bad selector \"a[\""), "{errs}");
    }

    #[test]
    fn extract_table_deserializes() {
        // The shape a future TOML file will carry, via serde (JSON here).
        let json = r#"{"seeds": ["http://h/"], "store": "/tmp/x", "extract": {
            "posts": { "selector": "a.post-item-title", "attr": "href", "all": true },
            "pairs": { "selector": "a", "take": "href", "pair": "text" } }}"#;
        let r: RawCrawlConfig = serde_json::from_str(json).unwrap();
        let c = r.resolve().unwrap();
        let names: Vec<&str> = c.extract.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["pairs", "posts"]);
        assert!(c.extract[1].all);
        assert!(
            serde_json::from_str::<RawCrawlConfig>(
                r#"{"seeds": [], "extract": {"x": {"selector": "a", "bogus": 1}}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn no_seed_is_an_error() {
        let errs = raw(&[]).resolve().unwrap_err();
        assert_eq!(errs.0[0].field, "seed");
    }
}
