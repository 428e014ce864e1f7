//! Continuous crawling: how often stored pages are fetched again.
//!
//! `--revisit DURATION` makes a crawl continuous: every stored page comes
//! due again after its interval, which starts at DURATION (or at the
//! interval of the first `--revisit-rule` whose pattern matches the URL)
//! and then adapts within `--revisit-min`..`--revisit-max` (shorter when
//! the page changed, longer when it did not). `trawl refresh` uses the
//! same intervals for the schedules it writes.

use crate::config::CrawlConfig;
use crate::config::units::HumanDuration;
use crate::error::ConfigError;
use serde::Deserialize;
use std::time::Duration;

/// Interval of `trawl refresh` (and of `--revisit-rule`-less pages) when
/// no `--revisit` is given: one day.
pub const DEFAULT_REVISIT: Duration = Duration::from_secs(86_400);
/// Default `--revisit-min`: one second.
pub const DEFAULT_REVISIT_MIN: Duration = Duration::from_secs(1);
/// Default `--revisit-max`: thirty days.
pub const DEFAULT_REVISIT_MAX: Duration = Duration::from_secs(30 * 86_400);

/// One `--revisit-rule PATTERN=DURATION` (file: `[[revisit_rule]]` with
/// `pattern` and `interval`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisitRule {
    /// A URL glob: `*` matches any run of characters (`/` included).
    pub pattern: String,
    /// The starting interval of the pages it matches.
    pub interval: HumanDuration,
}

impl RevisitRule {
    /// Parses `PATTERN=DURATION` (the last `=` splits: patterns may hold
    /// `=` in query strings).
    pub fn parse_flag(s: &str) -> Result<Self, String> {
        let (pattern, interval) =
            s.rsplit_once('=').ok_or_else(|| format!("expected PATTERN=DURATION, got {s:?}"))?;
        if pattern.is_empty() {
            return Err("the pattern is empty".into());
        }
        Ok(Self { pattern: pattern.to_owned(), interval: interval.trim().parse()? })
    }
}

crate::option_group! {
    /// Continuous crawling.
    #[command(next_help_heading = "Continuous crawling")]
    pub struct RevisitOptions {
        /// Keep crawling: fetch every stored page again after this interval
        /// (adapted per page: halved when it changed, x1.5 when it did not),
        /// until stopped (Ctrl-C, SIGTERM, POST /api/stop) [default: off; trawl refresh: 1d].
        #[arg(long, value_name = "DURATION")]
        pub revisit: Option<HumanDuration>,
        /// Shortest adapted revisit interval [default: 1s].
        #[arg(long, value_name = "DURATION")]
        pub revisit_min: Option<HumanDuration>,
        /// Longest adapted revisit interval [default: 30d].
        #[arg(long, value_name = "DURATION")]
        pub revisit_max: Option<HumanDuration>,
        /// Starting interval of the URLs matching a glob (repeatable; the
        /// first match wins), e.g. 'http://*/news/*=10m' [default: none].
        #[arg(long = "revisit-rule", value_name = "GLOB=DUR", value_parser = RevisitRule::parse_flag)]
        pub revisit_rule: Vec<RevisitRule>,
    }
}

/// The resolved revisit settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RevisitConfig {
    /// `--revisit` was given: the crawl runs until stopped.
    pub continuous: bool,
    /// The starting interval of pages no rule matches.
    pub interval: Duration,
    /// Bounds of the adapted interval.
    pub min: Duration,
    /// Bounds of the adapted interval.
    pub max: Duration,
    /// (glob, starting interval), first match wins.
    pub rules: Vec<(String, Duration)>,
}

impl Default for RevisitConfig {
    fn default() -> Self {
        Self {
            continuous: false,
            interval: DEFAULT_REVISIT,
            min: DEFAULT_REVISIT_MIN,
            max: DEFAULT_REVISIT_MAX,
            rules: Vec::new(),
        }
    }
}

/// Does `url` match the glob `pattern` (`*` = any run of characters)?
pub fn glob_matches(pattern: &str, url: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = url.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl RevisitConfig {
    /// The starting interval of `url`: its first matching rule's, or the
    /// default, within the bounds.
    pub fn initial_interval(&self, url: &str) -> Duration {
        self.rules
            .iter()
            .find(|(p, _)| glob_matches(p, url))
            .map_or(self.interval, |(_, d)| *d)
            .clamp(self.min, self.max)
    }
}

impl RevisitOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        let mut r =
            RevisitConfig { continuous: self.revisit.is_some(), ..RevisitConfig::default() };
        let mut nonzero = |flag: &str, d: Option<HumanDuration>, default: Duration| match d {
            Some(HumanDuration(d)) if d.is_zero() => {
                errs.push(ConfigError::new(flag, "must be more than 0"));
                default
            }
            Some(HumanDuration(d)) => d,
            None => default,
        };
        r.interval = nonzero("--revisit", self.revisit, r.interval);
        r.min = nonzero("--revisit-min", self.revisit_min, r.min);
        r.max = nonzero("--revisit-max", self.revisit_max, r.max);
        if r.min > r.max {
            errs.push(ConfigError::new(
                "--revisit-min",
                format!(
                    "{} is more than --revisit-max {}",
                    HumanDuration(r.min),
                    HumanDuration(r.max)
                ),
            ));
        }
        let in_bounds = |d: Duration| d >= r.min && d <= r.max;
        if self.revisit.is_some() && !in_bounds(r.interval) {
            errs.push(ConfigError::new(
                "--revisit",
                format!(
                    "{} is outside --revisit-min {} .. --revisit-max {}",
                    HumanDuration(r.interval),
                    HumanDuration(r.min),
                    HumanDuration(r.max)
                ),
            ));
        }
        for rule in self.revisit_rule {
            if rule.interval.0.is_zero() || !in_bounds(rule.interval.0) {
                errs.push(ConfigError::new(
                    "--revisit-rule",
                    format!(
                        "{}: interval {} is outside --revisit-min {} .. --revisit-max {}",
                        rule.pattern,
                        rule.interval,
                        HumanDuration(r.min),
                        HumanDuration(r.max)
                    ),
                ));
            }
            r.rules.push((rule.pattern, rule.interval.0));
        }
        c.revisit = r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_across_slashes() {
        assert!(glob_matches("http://*/news/*", "http://a.test/news/1"));
        assert!(glob_matches("http://a.test/", "http://a.test/"));
        assert!(!glob_matches("http://a.test/", "http://a.test/x"));
        assert!(glob_matches("*.html", "http://a/b/c.html"));
        assert!(!glob_matches("*.html", "http://a/b/c.htm"));
        assert!(glob_matches("*a*a*", "xaya"));
        assert!(!glob_matches("*aa*a", "aa"), "the tail may not overlap the middle");
    }

    #[test]
    fn rule_flags_parse() {
        let r = RevisitRule::parse_flag("http://*/p?a=b=10m").unwrap();
        assert_eq!(
            (r.pattern.as_str(), r.interval.0),
            ("http://*/p?a=b", Duration::from_secs(600))
        );
        assert!(RevisitRule::parse_flag("nope").is_err());
        assert!(RevisitRule::parse_flag("=1s").is_err());
        assert!(RevisitRule::parse_flag("x=soon").is_err());
    }
}
