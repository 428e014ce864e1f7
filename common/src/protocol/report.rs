//! What a worker reports for one lease. Expected per-URL failures are
//! [`FetchOutcome`] values, never errors: they are stored and counted.

use super::FieldValue;
use crate::ids::LeaseId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How fetching one URL ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchOutcome {
    /// 2xx HTML page, parsed.
    Ok,
    /// 2xx but not HTML: recorded with status, type and size, not parsed.
    NotHtml,
    /// A 3xx; the target went through scope and dedup like any link.
    Redirect {
        /// The resolved, normalized target.
        location: String,
    },
    /// A 3xx without a usable `Location`.
    BadRedirect {
        /// What was wrong.
        detail: String,
    },
    /// A 4xx or 5xx status.
    HttpError,
    /// Body larger than the configured cap; reading stopped at the cap.
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// Connect, read or total timeout.
    Timeout {
        /// Which phase timed out.
        detail: String,
    },
    /// The connection failed before a response arrived (refused, reset,
    /// closed early, garbage instead of HTTP, DNS, TLS).
    Connect {
        /// The client's message.
        detail: String,
    },
    /// The body could not be read (reset, bad encoding, truncated).
    Body {
        /// The client's message.
        detail: String,
    },
    /// robots.txt forbids it (or could not be fetched): not fetched.
    Disallowed,
    /// The URL was crawled by workers that crashed on it too often.
    Poison {
        /// How many workers died on it.
        crashes: u32,
    },
    /// A redirect back into its own chain.
    RedirectLoop {
        /// The chain, first URL first, ending with the repeated target.
        chain: Vec<String>,
    },
    /// A redirect chain longer than the limit (10 hops).
    TooManyRedirects {
        /// The chain, first URL first, ending with the unfollowed target.
        chain: Vec<String>,
    },
    /// Parsing and extraction ran out of their CPU budget: the page was
    /// fetched but nothing was extracted from it. Not retried.
    ParseBudget {
        /// Thread CPU spent when parsing stopped, in milliseconds.
        cpu_ms: u64,
        /// The budget, in milliseconds.
        limit_ms: u64,
    },
    /// Not fetched: the host is, or resolved only to, an address the
    /// request-forgery guard blocks (loopback, private, link-local, ...
    /// outside the ranges the crawl allows). Not retried.
    Blocked {
        /// The host and the blocked address.
        detail: String,
    },
}

impl FetchOutcome {
    /// Short stable name, used in query output and counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NotHtml => "not_html",
            Self::Redirect { .. } => "redirect",
            Self::BadRedirect { .. } => "bad_redirect",
            Self::HttpError => "http_error",
            Self::TooLarge { .. } => "too_large",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connect",
            Self::Body { .. } => "body",
            Self::Poison { .. } => "poison",
            Self::Disallowed => "disallowed",
            Self::RedirectLoop { .. } => "redirect_loop",
            Self::TooManyRedirects { .. } => "too_many_redirects",
            Self::ParseBudget { .. } => "parse_budget",
            Self::Blocked { .. } => "blocked",
        }
    }

    /// Human-readable detail, if the outcome carries any.
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Ok | Self::NotHtml | Self::HttpError => None,
            Self::Disallowed => Some("robots.txt".into()),
            Self::RedirectLoop { chain } | Self::TooManyRedirects { chain } => {
                Some(chain.join(" -> "))
            }
            Self::Redirect { location } => Some(location.clone()),
            Self::TooLarge { limit } => Some(format!("body exceeds {limit} bytes")),
            Self::Poison { crashes } => Some(format!("{crashes} workers crashed on this URL")),
            Self::ParseBudget { cpu_ms, limit_ms } => {
                Some(format!("parsing used {cpu_ms} ms of CPU (budget {limit_ms} ms)"))
            }
            Self::BadRedirect { detail }
            | Self::Blocked { detail }
            | Self::Timeout { detail }
            | Self::Connect { detail }
            | Self::Body { detail } => Some(detail.clone()),
        }
    }
}

/// The result of one lease.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageReport {
    /// The lease this answers.
    pub lease: LeaseId,
    /// The URL that was fetched (as leased).
    pub url: String,
    /// Its depth (as leased).
    pub depth: u32,
    /// Final HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Body bytes read (after decompression).
    pub bytes: u64,
    /// When the fetch started, milliseconds since the Unix epoch.
    pub fetched_at_ms: u64,
    /// Wall time of fetch plus parse.
    pub elapsed_ms: u32,
    /// How it ended.
    pub outcome: FetchOutcome,
    /// `<title>` text, whitespace-collapsed.
    pub title: Option<String>,
    /// Number of `a[href]` links on the page that resolve to http(s) URLs.
    pub outlinks: u32,
    /// Distinct in-scope normalized links to consider for crawling (empty
    /// when the page is `nofollow` and nofollow is honoured).
    pub links: Vec<String>,
    /// The body as text, for robots.txt leases only.
    pub text: Option<String>,
    /// Child sitemaps listed by a sitemap index (sitemap leases only).
    pub sitemaps: Vec<String>,
    /// Requests made for this URL (1 + retries used).
    pub attempts: u8,
    /// The final response was a 429 or 503 with this `Retry-After`, in
    /// seconds: the coordinator can back off the whole host.
    pub retry_after_secs: Option<u32>,
    /// `<meta name=robots>` says `noindex`: title and fields were dropped.
    pub noindex: bool,
    /// `<meta name=robots>` says `nofollow`.
    pub nofollow: bool,
    /// `<link rel=canonical>`, resolved and normalized.
    pub canonical: Option<String>,
    /// User-defined fields (`--extract`), by name.
    pub fields: BTreeMap<String, FieldValue>,
    /// The complete body, when the crawl keeps bodies (`--keep-bodies`).
    pub body: Option<serde_bytes::ByteBuf>,
}
