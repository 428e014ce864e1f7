//! How each page is fetched: User-Agent, body cap, timeouts, retries, and
//! the guards around it: the parse budget, the attribute cap and the
//! request-forgery guard's network policy.

use super::politeness::positive;
use crate::config::CrawlConfig;
use crate::config::units::{HumanBytes, HumanDuration, count};
use crate::error::ConfigError;
use std::net::IpAddr;

crate::option_group! {
    /// Fetching.
    #[command(next_help_heading = "Fetching")]
    pub struct FetchOptions {
        /// User-Agent header [default: trawl/VERSION].
        #[arg(long, value_name = "STRING")]
        pub user_agent: Option<String>,
        /// Largest body read, e.g. 10MiB or 512KiB (a plain number is bytes) [default: 10MiB].
        #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
        pub max_bytes: Option<HumanBytes>,
        /// Total per-request timeout, e.g. 30s or 1m (a plain number is seconds) [default: 30s].
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
        #[serde(rename = "timeout_secs")]
        pub timeout: Option<HumanDuration>,
        /// Connect timeout, e.g. 1.5s (a plain number is seconds) [default: 10s].
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
        #[serde(rename = "connect_timeout_secs")]
        pub connect_timeout: Option<HumanDuration>,
        /// Extra attempts after a connection error, a 5xx or a 429 (exponential
        /// backoff with jitter, honouring Retry-After up to 30 s) [default: 2].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u8>)]
        pub retries: Option<u8>,
        /// Thread CPU time for parsing and extracting one page, e.g. 500ms or 2s;
        /// past it the page is recorded as `parse_budget` [default: 2s].
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true, help_heading = "Guards")]
        pub parse_budget: Option<HumanDuration>,
        /// Attributes kept per tag before parsing; the rest are dropped
        /// (html5ever is quadratic in attributes per tag) [default: 256].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u32>, help_heading = "Guards")]
        pub max_attributes: Option<u32>,
        /// Turn off the request-forgery guard: let links, redirects and DNS
        /// answers lead to loopback, private and link-local addresses the
        /// seeds do not cover [default: false].
        #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", help_heading = "Guards")]
        pub allow_private: Option<bool>,
        /// Answer HOST with ADDR instead of asking DNS, like curl's --resolve
        /// without the port (repeatable); the guard still checks ADDR [default: none].
        #[arg(long, value_name = "HOST:ADDR", help_heading = "Guards")]
        pub resolve: Vec<String>,
    }
}

/// One `--resolve HOST:ADDR`: a host name (no port) and an IP address
/// (IPv6 with or without brackets).
pub(crate) fn parse_resolve(spec: &str) -> Result<(String, IpAddr), String> {
    let (host, addr) = spec
        .split_once(':')
        .ok_or_else(|| format!("expected HOST:ADDR (e.g. example.test:127.0.0.2), got {spec:?}"))?;
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(format!("{host:?} in {spec:?} is not a host name"));
    }
    let addr = addr.trim();
    let bare = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(addr);
    let ip =
        bare.parse::<IpAddr>().map_err(|_| format!("{addr:?} in {spec:?} is not an IP address"))?;
    Ok((host, ip))
}

impl FetchOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        let fetch = &mut c.fetch;
        if let Some(ua) = self.user_agent {
            if ua.trim().is_empty() || ua.contains(['\r', '\n']) {
                errs.push(ConfigError::new("--user-agent", "must be a non-empty single line"));
            }
            fetch.user_agent = ua;
        }
        if let Some(HumanBytes(b)) = self.max_bytes {
            if b == 0 {
                errs.push(ConfigError::new("--max-bytes", "must be at least 1 byte"));
            }
            fetch.max_bytes = b;
        }
        if let Some(t) = self.timeout.and_then(|t| positive("--timeout", t.0, errs)) {
            fetch.total_timeout = t;
            fetch.read_timeout = fetch.read_timeout.min(t);
        }
        if let Some(t) = self.connect_timeout.and_then(|t| positive("--connect-timeout", t.0, errs))
        {
            fetch.connect_timeout = t;
        }
        if let Some(r) = self.retries {
            if r > 10 {
                errs.push(ConfigError::new("--retries", format!("must be 0..=10, got {r}")));
            }
            fetch.retries = r;
        }
        if let Some(t) = self.parse_budget.and_then(|t| positive("--parse-budget", t.0, errs)) {
            fetch.parse_cpu_budget = t;
        }
        if let Some(n) = self.max_attributes {
            if n == 0 {
                errs.push(ConfigError::new("--max-attributes", "must be at least 1"));
            }
            fetch.max_attributes = n;
        }
        fetch.network.allow_private = self.allow_private.unwrap_or(false);
        for spec in &self.resolve {
            match parse_resolve(spec) {
                Ok((host, ip)) => {
                    if fetch.network.resolve.iter().any(|(h, _)| *h == host) {
                        errs.push(ConfigError::new(
                            "--resolve",
                            format!("{host:?} is given twice"),
                        ));
                    }
                    fetch.network.resolve.push((host, ip));
                }
                Err(e) => errs.push(ConfigError::new("--resolve", e)),
            }
        }
    }
}
