//! robots.txt (RFC 9309): what a fetch of it means, and its rules.
//!
//! [`interpret`] is the whole status policy, one row per case (the
//! README's table):
//!
//! | robots.txt fetch | rules |
//! |---|---|
//! | 2xx | the file's rules (the first 500 KiB) |
//! | 3xx | followed by the worker, up to 5 hops, to any host |
//! | 3xx that cannot be followed (more hops, a loop, no usable `Location`) | none: allow all |
//! | refused by the request-forgery guard (the host, or a redirect, is a private address) | none: allow all (each page meets the same guard and is recorded `blocked`) |
//! | 4xx except 429 | none: allow all |
//! | 429, 5xx, other status, no response (refused, timeout, reset) | disallow all; retry after 0.25 s, then 0.75 s; after 3 attempts give up: the host's URLs are recorded as `robots_unreachable` |
//!
//! [`parse`] reads a body into the rules of our user agent; [`pattern`]
//! matches their `*`/`$` patterns without compiling anything, so a host's
//! rules cost about the bytes of its robots.txt.

mod parse;
mod pattern;

pub use parse::{MAX_ROBOTS_BYTES, Parsed};

use std::time::Duration;
use trawl_common::protocol::{FetchOutcome, PageReport};

/// Fetch attempts for a host whose robots.txt keeps failing.
pub const MAX_ATTEMPTS: u32 = 3;
/// Wait before attempt 2, 3, ...: short, because a host that cannot serve
/// its robots.txt holds all its URLs (a seed on a dead port waited 3 s).
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(250), Duration::from_millis(750)];

/// A host's rules.
#[derive(Debug)]
pub enum Rules {
    /// No robots.txt (4xx), an unfollowable redirect, or robots ignored.
    AllowAll,
    /// robots.txt could not be had after [`MAX_ATTEMPTS`]: nothing is
    /// fetched, every URL is recorded `robots_unreachable`.
    Unreachable {
        /// Why, for the records.
        detail: String,
    },
    /// Parsed rules.
    Parsed(Box<Parsed>),
}

impl Rules {
    /// `None` if `url` (normalized, absolute) may be fetched, else the
    /// outcome to record instead.
    pub fn refusal(&self, url: &str) -> Option<FetchOutcome> {
        match self {
            Self::AllowAll => None,
            Self::Unreachable { detail } => {
                Some(FetchOutcome::RobotsUnreachable { detail: detail.clone() })
            }
            Self::Parsed(p) => (!p.allowed(&path_of(url))).then_some(FetchOutcome::Disallowed),
        }
    }

    /// May `url` be fetched?
    pub fn allowed(&self, url: &str) -> bool {
        self.refusal(url).is_none()
    }

    /// `Crawl-delay` for our agent, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Self::Parsed(p) => p.delay.filter(|d| !d.is_zero()),
            _ => None,
        }
    }

    /// Takes the `Sitemap:` URLs out (they are wanted once).
    pub fn take_sitemaps(&mut self) -> Vec<String> {
        match self {
            Self::Parsed(p) => std::mem::take(&mut p.sitemaps),
            _ => Vec::new(),
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Self::Parsed(p) => p.heap_bytes(),
            Self::Unreachable { detail } => detail.len(),
            Self::AllowAll => 0,
        }
    }
}

/// Path and query of a normalized absolute URL (the path `/` if empty).
fn path_of(url: &str) -> std::borrow::Cow<'_, str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find(['/', '?']).map_or("", |i| &rest[i..]);
    let path = path.split('#').next().unwrap_or("");
    if path.starts_with('/') { path.into() } else { format!("/{path}").into() }
}

/// How a robots.txt fetch ended, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotsFetch<'a> {
    /// A final response (redirects already followed) and its body.
    Response {
        /// Its status.
        status: u16,
        /// Its body (lossy UTF-8), cut at the worker's cap.
        body: &'a str,
    },
    /// Redirects that could not be followed: too many, a loop, or no
    /// usable `Location`.
    Unfollowable,
    /// No (complete) response: refused, timed out, reset.
    Unreachable {
        /// What went wrong.
        detail: String,
    },
}

impl<'a> RobotsFetch<'a> {
    /// Classifies a worker's report on a robots.txt lease.
    pub fn from_report(r: &'a PageReport) -> Self {
        match &r.outcome {
            FetchOutcome::Ok | FetchOutcome::HttpError => match (r.status, &r.text) {
                (Some(status), Some(body)) => Self::Response { status, body },
                (status, _) => Self::Unreachable { detail: format!("no body (status {status:?})") },
            },
            FetchOutcome::Redirect { .. }
            | FetchOutcome::BadRedirect { .. }
            | FetchOutcome::RedirectLoop { .. }
            | FetchOutcome::TooManyRedirects { .. }
            // Never requested: the pages' own fetches are refused by the
            // same guard and recorded `blocked`, not `robots_unreachable`.
            | FetchOutcome::Blocked { .. } => Self::Unfollowable,
            other => Self::Unreachable {
                detail: other
                    .detail()
                    .map_or_else(|| other.kind().to_owned(), |d| format!("{}: {d}", other.kind())),
            },
        }
    }
}

/// What a robots.txt fetch means.
#[derive(Debug)]
pub enum Verdict {
    /// Use these rules.
    Rules(Rules),
    /// Unavailable for now: disallow, retry after this long.
    RetryLater(Duration),
}

/// The status policy (see the module table), for the `attempt`th fetch
/// (1-based).
pub fn interpret(agent: &str, fetch: &RobotsFetch<'_>, attempt: u32) -> Verdict {
    let failure = match fetch {
        RobotsFetch::Response { status: 200..=299, body } => {
            return Verdict::Rules(Rules::Parsed(Box::new(Parsed::new(agent, body.as_bytes()))));
        }
        RobotsFetch::Unfollowable => return Verdict::Rules(Rules::AllowAll),
        RobotsFetch::Response { status: 429, .. } => "HTTP 429".to_owned(),
        RobotsFetch::Response { status: s @ 400..=499, .. } => {
            tracing::debug!(status = s, "robots.txt missing: allow all");
            return Verdict::Rules(Rules::AllowAll);
        }
        RobotsFetch::Response { status, .. } => format!("HTTP {status}"),
        RobotsFetch::Unreachable { detail } => detail.clone(),
    };
    match RETRY_DELAYS.get(attempt.saturating_sub(1) as usize) {
        Some(d) if attempt < MAX_ATTEMPTS => Verdict::RetryLater(*d),
        _ => Verdict::Rules(Rules::Unreachable {
            detail: format!("robots.txt unavailable after {attempt} attempts: {failure}"),
        }),
    }
}

/// The product token of a User-Agent string (`trawl/0.1 (+url)` -> `trawl`).
pub fn product_token(user_agent: &str) -> String {
    user_agent.split(['/', ' ']).next().unwrap_or(user_agent).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(txt: &str) -> Rules {
        match interpret("trawl", &RobotsFetch::Response { status: 200, body: txt }, 1) {
            Verdict::Rules(r) => r,
            Verdict::RetryLater(_) => panic!("expected rules"),
        }
    }

    const H: &str = "http://h.test";

    #[test]
    fn disallow_and_allow_longest_match() {
        let r = rules("User-agent: *\nDisallow: /private\nAllow: /private/open\n");
        assert!(!r.allowed(&format!("{H}/private/x")));
        assert!(r.allowed(&format!("{H}/private/open/x")));
        assert!(r.allowed(&format!("{H}/public")));
        assert_eq!(r.refusal(&format!("{H}/private")), Some(FetchOutcome::Disallowed));
    }

    #[test]
    fn wildcards_and_end_anchor() {
        let r = rules("User-agent: *\nDisallow: /*.pdf$\nDisallow: /tmp*/x\nDisallow: /q?a=1$\n");
        assert!(!r.allowed(&format!("{H}/a/b.pdf")));
        assert!(r.allowed(&format!("{H}/a/b.pdf?x=1")));
        assert!(!r.allowed(&format!("{H}/tmp123/x")));
        assert!(r.allowed(&format!("{H}/tmp123/y")));
        assert!(!r.allowed(&format!("{H}/q?a=1")), "the query is part of the path");
        assert!(r.allowed(&format!("{H}/q?a=12")));
        assert!(!rules("User-agent: *\nDisallow: /$\n").allowed(H), "an empty path is /");
    }

    #[test]
    fn our_group_wins_over_star() {
        let r = rules(
            "User-agent: *\nDisallow: /\n\nUser-agent: trawl\nDisallow: /no\nCrawl-delay: 2\n",
        );
        assert!(r.allowed(&format!("{H}/yes")));
        assert!(!r.allowed(&format!("{H}/no")));
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
        let other = rules("User-agent: otherbot\nDisallow: /\n");
        assert!(other.allowed(&format!("{H}/anything")));
    }

    #[test]
    fn sitemaps_are_taken_once() {
        let mut r = rules("Sitemap: http://h.test/sitemap.xml\nUser-agent: *\nAllow: /\n");
        assert_eq!(r.take_sitemaps(), ["http://h.test/sitemap.xml"]);
        assert!(r.take_sitemaps().is_empty());
    }

    /// One assertion per row of the module's (and the README's) table.
    #[test]
    fn status_table() {
        let at = |fetch: RobotsFetch<'_>, attempt| interpret("trawl", &fetch, attempt);
        let resp = |status| RobotsFetch::Response { status, body: "User-agent: *\nDisallow: /\n" };
        let down = || RobotsFetch::Unreachable { detail: "connect: refused".into() };
        // 2xx: the rules.
        assert!(matches!(at(resp(200), 1), Verdict::Rules(Rules::Parsed(_))));
        assert!(matches!(at(resp(204), 1), Verdict::Rules(Rules::Parsed(_))));
        // 3xx that could not be followed: allow all, at once.
        assert!(matches!(at(RobotsFetch::Unfollowable, 1), Verdict::Rules(Rules::AllowAll)));
        // 4xx: allow all, whatever the body says.
        for s in [400, 401, 403, 404, 410, 451] {
            assert!(matches!(at(resp(s), 1), Verdict::Rules(Rules::AllowAll)), "{s}");
        }
        // 429, 5xx, odd statuses, no response: retry with growing delays,
        // then give up with a detail naming the cause.
        for fetch in [resp(429), resp(500), resp(503), resp(599), resp(100), down()] {
            let Verdict::RetryLater(a) = at(fetch.clone(), 1) else { panic!("{fetch:?}") };
            let Verdict::RetryLater(b) = at(fetch.clone(), 2) else { panic!("{fetch:?}") };
            assert!(a < b && a + b <= Duration::from_secs(1), "{a:?} {b:?}");
            let Verdict::Rules(r @ Rules::Unreachable { .. }) = at(fetch.clone(), MAX_ATTEMPTS)
            else {
                panic!("{fetch:?} gives up after {MAX_ATTEMPTS}")
            };
            let Some(FetchOutcome::RobotsUnreachable { detail }) = r.refusal(H) else {
                panic!("{r:?}")
            };
            assert!(detail.contains("3 attempts"), "{detail}");
        }
        let Verdict::Rules(r) = at(down(), MAX_ATTEMPTS) else { panic!() };
        assert!(format!("{:?}", r.refusal(H)).contains("refused"));
    }

    #[test]
    fn reports_are_classified() {
        use trawl_common::ids::LeaseId;
        let report = |outcome, status: Option<u16>, text: Option<&str>| PageReport {
            lease: LeaseId(1),
            url: format!("{H}/robots.txt"),
            depth: 0,
            status,
            content_type: None,
            bytes: 0,
            fetched_at_ms: 0,
            request_started_us: None,
            elapsed_ms: 0,
            outcome,
            title: None,
            outlinks: 0,
            links: vec![],
            text: text.map(str::to_owned),
            sitemaps: vec![],
            attempts: 1,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: Default::default(),
            body: None,
            response: None,
            etag: None,
            last_modified: None,
            content_hash: None,
        };
        let ok = report(FetchOutcome::Ok, Some(200), Some("x"));
        assert_eq!(RobotsFetch::from_report(&ok), RobotsFetch::Response { status: 200, body: "x" });
        let err = report(FetchOutcome::HttpError, Some(503), Some(""));
        assert_eq!(RobotsFetch::from_report(&err), RobotsFetch::Response { status: 503, body: "" });
        // The worker's "too many redirects" has no status: still a 3xx row.
        for outcome in [
            FetchOutcome::BadRedirect { detail: "too many redirects".into() },
            FetchOutcome::TooManyRedirects { chain: vec![] },
            FetchOutcome::RedirectLoop { chain: vec![] },
            // Refused by the request-forgery guard: allow all, so each
            // page is recorded `blocked` rather than `robots_unreachable`.
            FetchOutcome::Blocked { detail: "127.0.0.1 is loopback".into() },
        ] {
            let r = report(outcome, None, None);
            assert_eq!(RobotsFetch::from_report(&r), RobotsFetch::Unfollowable);
        }
        let refused = report(FetchOutcome::Connect { detail: "refused".into() }, None, None);
        assert_eq!(
            RobotsFetch::from_report(&refused),
            RobotsFetch::Unreachable { detail: "connect: refused".into() }
        );
        let timeout = report(FetchOutcome::Timeout { detail: "read".into() }, Some(200), None);
        assert!(matches!(RobotsFetch::from_report(&timeout), RobotsFetch::Unreachable { .. }));
    }

    #[test]
    fn path_of_urls() {
        assert_eq!(path_of("http://h.test"), "/");
        assert_eq!(path_of("http://h.test/a/b?c=d"), "/a/b?c=d");
        assert_eq!(path_of("http://h.test?x"), "/?x");
        assert_eq!(path_of("https://h.test:8080/p#f"), "/p");
    }

    #[test]
    fn agent_token() {
        assert_eq!(product_token("trawl/0.1.0 (+https://x)"), "trawl");
        assert_eq!(product_token("MyBot"), "MyBot");
    }
}
