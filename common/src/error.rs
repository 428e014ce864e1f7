//! Errors of the shared crate. Each carries the context a user needs.

use thiserror::Error;

/// An invalid configuration value. `field` names the flag or config key, so
/// the message tells the user exactly what to fix.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid {field}: {message}")]
pub struct ConfigError {
    /// The flag or key, e.g. `--workers`, `seed`, or for a config-file
    /// value its key (`timeout_secs`, `extract.posts`).
    pub field: String,
    /// What is wrong with it; for a config-file value it starts with
    /// `FILE:LINE:COLUMN: `.
    pub message: String,
}

impl ConfigError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// A string that is not a crawlable URL.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// Not parseable as an absolute URL.
    #[error("not a valid URL: {url}: {reason}")]
    Parse {
        /// The input.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A scheme trawl does not fetch (only http and https).
    #[error("unsupported scheme {scheme:?} in {url} (only http and https are crawled)")]
    Scheme {
        /// The input.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// No host part.
    #[error("no host in {url}")]
    NoHost {
        /// The input.
        url: String,
    },
}
