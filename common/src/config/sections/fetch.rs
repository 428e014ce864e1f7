//! How each page is fetched: User-Agent, body cap, timeouts, retries.

use super::politeness::positive;
use crate::config::CrawlConfig;
use crate::config::units::{HumanBytes, HumanDuration, count};
use crate::error::ConfigError;

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
    }
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
    }
}
