//! The worker pool: how many processes, how many requests each, when to
//! recycle them and when a URL is poison.

use crate::config::CrawlConfig;
use crate::config::units::count;
use crate::error::ConfigError;
use serde::de::{self, Deserializer};
use std::fmt;
use std::str::FromStr;

pub use crate::ids::MAX_WORKERS;

/// Largest `--concurrency`: 16,384 requests in flight per worker (each
/// worker raises its open-files limit to the hard limit at start-up, so
/// 10,000 sockets in one worker fit under a typical hard limit).
pub const MAX_CONCURRENCY: u32 = 16_384;

crate::option_group! {
    /// Worker processes.
    #[command(next_help_heading = "Worker pool")]
    pub struct PoolOptions {
        /// Worker processes: a number, or `auto` to autoscale between 1 and
        /// 2 x cores [default: 2].
        #[arg(long, value_name = "N|auto", allow_negative_numbers = true)]
        pub workers: Option<Workers>,
        /// Autoscale the worker pool between MIN and MAX processes [default: off].
        #[arg(long, value_name = "MIN..MAX")]
        pub autoscale: Option<String>,
        /// Concurrent requests per worker [default: 16].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u32>)]
        pub concurrency: Option<u32>,
        /// Replace a worker after it has fetched N pages (bounds its memory) [default: never].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u64>)]
        pub worker_max_pages: Option<u64>,
        /// Record a URL as poison after N workers crashed holding it [default: 3].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u32>)]
        pub crash_limit: Option<u32>,
    }
}

/// `--workers`: a count, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workers {
    /// A fixed number (checked against 1..=[`MAX_WORKERS`] when resolving).
    Count(u32),
    /// Autoscale between 1 and 2 x cores.
    Auto,
}

impl FromStr for Workers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            n if n.starts_with('-') => count::<u32>(n).map(Self::Count),
            n => n
                .parse()
                .map(Self::Count)
                .map_err(|_| format!("expected a number or `auto`, got {n:?}")),
        }
    }
}

impl fmt::Display for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Auto => f.write_str("auto"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Workers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Workers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of workers or \"auto\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Workers, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Workers, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Workers, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once("..")?;
    Some((a.trim().parse().ok()?, b.trim().trim_start_matches('=').trim().parse().ok()?))
}

impl PoolOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        let cores =
            std::thread::available_parallelism().map_or(2, |n| u32::try_from(n.get()).unwrap_or(2));
        match self.workers {
            None => {}
            Some(Workers::Auto) => {
                c.workers = 1;
                c.autoscale = Some((1, (2 * cores).max(2)));
            }
            Some(Workers::Count(n)) if (1..=MAX_WORKERS).contains(&n) => c.workers = n,
            Some(Workers::Count(n)) => errs.push(ConfigError::new(
                "--workers",
                format!("must be a number 1..={MAX_WORKERS} or `auto`, got {n}"),
            )),
        }
        if let Some(spec) = self.autoscale.as_deref() {
            match parse_range(spec) {
                Some((lo, hi)) if lo >= 1 && lo <= hi && hi <= MAX_WORKERS => {
                    c.autoscale = Some((lo, hi));
                    if self.workers.is_none() {
                        c.workers = c.workers.clamp(lo, hi);
                    }
                }
                _ => errs.push(ConfigError::new(
                    "--autoscale",
                    format!(
                        "expected MIN..MAX with 1 <= MIN <= MAX <= {MAX_WORKERS}, got {spec:?}"
                    ),
                )),
            }
        }
        if let Some(n) = self.concurrency {
            if n == 0 || n > MAX_CONCURRENCY {
                errs.push(ConfigError::new(
                    "--concurrency",
                    format!("must be 1..={MAX_CONCURRENCY}, got {n}"),
                ));
            }
            c.concurrency = n;
        }
        if self.worker_max_pages == Some(0) {
            errs.push(ConfigError::new("--worker-max-pages", "must be at least 1"));
        }
        c.worker_max_pages = self.worker_max_pages;
        if let Some(n) = self.crash_limit {
            if n == 0 {
                errs.push(ConfigError::new("--crash-limit", "must be at least 1"));
            }
            c.crash_limit = n;
        }
    }
}
