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
    /// robots.txt forbids it: not fetched.
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
    /// Not fetched: its host's robots.txt could not be had (no response,
    /// 5xx or 429) after a few attempts, so the host was given up on.
    RobotsUnreachable {
        /// The last failure and the number of attempts.
        detail: String,
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
    /// (Stored records encode variants by index: new ones go last.)
    Blocked {
        /// The host and the blocked address.
        detail: String,
    },
    /// A revisit answered 304 Not Modified to its validators
    /// (`If-None-Match` / `If-Modified-Since`): no body was read and
    /// nothing was parsed; the stored page stands.
    NotModified,
}

impl FetchOutcome {
    /// Every value [`FetchOutcome::kind`] can return, in declaration order:
    /// the vocabulary of `--outcome` and of the `outcome` output field.
    pub const KINDS: &[&str] = &[
        "ok",
        "not_html",
        "redirect",
        "bad_redirect",
        "http_error",
        "too_large",
        "timeout",
        "connect",
        "body",
        "disallowed",
        "poison",
        "redirect_loop",
        "too_many_redirects",
        "robots_unreachable",
        "parse_budget",
        "blocked",
        "not_modified",
    ];

    /// Short stable name, used in query output and counts; one of
    /// [`FetchOutcome::KINDS`].
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
            Self::RobotsUnreachable { .. } => "robots_unreachable",
            Self::ParseBudget { .. } => "parse_budget",
            Self::Blocked { .. } => "blocked",
            Self::NotModified => "not_modified",
        }
    }

    /// Human-readable detail, if the outcome carries any.
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Ok | Self::NotHtml | Self::HttpError | Self::NotModified => None,
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
            | Self::Body { detail }
            | Self::RobotsUnreachable { detail } => Some(detail.clone()),
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
    /// A time by which the lease's last request had certainly started at
    /// the server: when its response headers (or its failure) came back
    /// (the worker's wall clock, microseconds since the Unix epoch), or
    /// `None` if no request went out (a blocked or invalid URL). The
    /// coordinator runs the host's `--delay` from it, so the delay holds
    /// at the server however late the request started after its lease.
    /// (The clock read just before `send()` was tried first: connecting
    /// and a busy worker put the server's start up to 555 ms after it.)
    pub request_started_us: Option<u64>,
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
    /// The response head and peer address the kept body came with (set
    /// with `body`), for WARC export.
    pub response: Option<ResponseHead>,
    /// The response's `ETag`, verbatim (a validator for the next revisit).
    pub etag: Option<String>,
    /// The response's `Last-Modified`, verbatim (a validator too).
    pub last_modified: Option<String>,
    /// xxh3-64 of the body bytes read ([`crate::hash::content_hash`]),
    /// hashed while the body streamed in; `None` when no body was read
    /// (no response, a redirect, a 304).
    pub content_hash: Option<u64>,
}

/// What came with a kept body: the status line and header fields as the
/// server sent them, the peer address, and the request headers the worker
/// sent. Exported as WARC `request` and `response` records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseHead {
    /// The HTTP version of the response: `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase as sent (the canonical one when the server sent
    /// that, or when the protocol has none, as in HTTP/2).
    pub reason: String,
    /// Header fields in the order received (names as the client library
    /// gives them: lowercase), values as raw bytes.
    pub headers: Vec<(String, serde_bytes::ByteBuf)>,
    /// The peer address the response came from.
    pub remote_ip: Option<std::net::IpAddr>,
    /// The request header fields the worker sent (those it sets; the
    /// client library may add transport fields such as `accept-encoding`).
    pub request_headers: Vec<(String, serde_bytes::ByteBuf)>,
}

#[cfg(test)]
mod tests {
    use super::FetchOutcome;

    /// One value of every variant; the exhaustive match makes a new
    /// variant a compile error here until it is listed.
    fn one_of_each() -> Vec<FetchOutcome> {
        let s = String::new;
        let all = vec![
            FetchOutcome::Ok,
            FetchOutcome::NotHtml,
            FetchOutcome::Redirect { location: s() },
            FetchOutcome::BadRedirect { detail: s() },
            FetchOutcome::HttpError,
            FetchOutcome::TooLarge { limit: 1 },
            FetchOutcome::Timeout { detail: s() },
            FetchOutcome::Connect { detail: s() },
            FetchOutcome::Body { detail: s() },
            FetchOutcome::Disallowed,
            FetchOutcome::Poison { crashes: 1 },
            FetchOutcome::RedirectLoop { chain: vec![] },
            FetchOutcome::TooManyRedirects { chain: vec![] },
            FetchOutcome::RobotsUnreachable { detail: s() },
            FetchOutcome::ParseBudget { cpu_ms: 1, limit_ms: 1 },
            FetchOutcome::Blocked { detail: s() },
            FetchOutcome::NotModified,
        ];
        for o in &all {
            match o {
                FetchOutcome::Ok
                | FetchOutcome::NotHtml
                | FetchOutcome::Redirect { .. }
                | FetchOutcome::BadRedirect { .. }
                | FetchOutcome::HttpError
                | FetchOutcome::TooLarge { .. }
                | FetchOutcome::Timeout { .. }
                | FetchOutcome::Connect { .. }
                | FetchOutcome::Body { .. }
                | FetchOutcome::Disallowed
                | FetchOutcome::Poison { .. }
                | FetchOutcome::RedirectLoop { .. }
                | FetchOutcome::TooManyRedirects { .. }
                | FetchOutcome::RobotsUnreachable { .. }
                | FetchOutcome::ParseBudget { .. }
                | FetchOutcome::Blocked { .. }
                | FetchOutcome::NotModified => {}
            }
        }
        all
    }

    #[test]
    fn kinds_lists_every_variants_kind_once() {
        let kinds: Vec<&str> = one_of_each().iter().map(FetchOutcome::kind).collect();
        assert_eq!(kinds, FetchOutcome::KINDS, "KINDS must list every kind() in declaration order");
    }
}
