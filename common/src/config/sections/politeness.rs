//! Politeness: pacing per host, robots.txt, sitemaps and nofollow.

use crate::config::CrawlConfig;
use crate::config::units::{HumanDuration, count};
use crate::error::ConfigError;
use std::time::Duration;

crate::option_group! {
    /// Politeness.
    #[command(next_help_heading = "Politeness")]
    pub struct PolitenessOptions {
        /// Minimum time between two requests to one host, e.g. 250ms or 1.5s
        /// (a plain number is seconds) [default: 0.25s for public hosts, 0 for loopback].
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
        #[serde(rename = "delay_secs")]
        pub delay: Option<HumanDuration>,
        /// Most concurrent requests to one host [default: 1 for public hosts, unlimited for loopback].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u32>)]
        pub per_host: Option<u32>,
        /// Do not fetch or obey robots.txt [default: false].
        #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        pub ignore_robots: Option<bool>,
        /// Also seed the crawl from the sitemaps listed in robots.txt [default: false].
        #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        pub sitemaps: Option<bool>,
        /// Follow links even from `<meta name=robots content=nofollow>` pages
        /// and `rel=nofollow` anchors [default: false].
        #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        pub ignore_nofollow: Option<bool>,
    }
}

/// Longest `--delay`, `--timeout`, `--connect-timeout`: one day.
const MAX_SECS: f64 = 86_400.0;

/// `d` if it lies in (0, one day), else an error naming `field`.
pub(crate) fn positive(field: &str, d: Duration, errs: &mut Vec<ConfigError>) -> Option<Duration> {
    if d > Duration::ZERO && d.as_secs_f64() < MAX_SECS {
        Some(d)
    } else {
        errs.push(ConfigError::new(
            field,
            format!("must be more than 0 and less than 1 day, got {}", HumanDuration(d)),
        ));
        None
    }
}

impl PolitenessOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        c.delay = match self.delay {
            Some(HumanDuration(d)) if d.is_zero() => Some(d),
            Some(HumanDuration(d)) => positive("--delay", d, errs),
            None => None,
        };
        if self.per_host == Some(0) {
            errs.push(ConfigError::new("--per-host", "must be at least 1"));
        }
        c.per_host = self.per_host;
        let ignore_robots = self.ignore_robots.unwrap_or(false);
        c.robots = !ignore_robots;
        c.sitemaps = self.sitemaps.unwrap_or(false);
        if c.sitemaps && ignore_robots {
            errs.push(ConfigError::new(
                "--sitemaps",
                "sitemaps are found through robots.txt, which --ignore-robots turns off",
            ));
        }
        c.ignore_nofollow = self.ignore_nofollow.unwrap_or(false);
    }
}
