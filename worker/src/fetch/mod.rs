//! Fetching one URL. [`Fetcher`] owns the worker's single pooled
//! `reqwest::Client`; [`Fetcher::fetch`] always returns a [`PageReport`]:
//! every way a fetch can go wrong is a [`FetchOutcome`] value.

mod client;
pub mod guard;
mod head;
mod outcome;
mod retry;

use crate::error::WorkerError;
use crate::extract::{self, Extracted, Rules};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use trawl_common::protocol::{
    FetchOutcome, FetchSettings, Lease, LeaseKind, PageReport, WorkerSettings,
};
use trawl_common::url::{ScopeMatcher, Url, resolve_link};

/// Redirects followed for robots.txt.
const ROBOTS_REDIRECTS: usize = 5;
/// robots.txt bytes kept (RFC 9309 asks parsers to handle >= 500 KiB).
const ROBOTS_MAX_BYTES: usize = 512 * 1024;

/// Fetches and extracts pages for one worker.
pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
    scope: Arc<ScopeMatcher>,
    rules: Arc<Rules>,
    /// Send complete bodies back (`--keep-bodies`).
    keep_bodies: bool,
    /// The request-forgery guard (also inside the client's resolver).
    guard: Arc<guard::Guard>,
}

/// The response's `Retry-After`, if present and parseable.
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    retry::parse_retry_after(v, SystemTime::now())
}

/// The wall clock in microseconds since the Unix epoch: read when a
/// request's answer (or failure) is back, so the server had it by then
/// (see [`PageReport::request_started_us`]).
fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A URL the guard refused: recorded, never requested.
fn blocked_outcome(blocked: &guard::Blocked, report: &mut PageReport) -> FetchOutcome {
    tracing::info!(url = %report.url, host = %blocked.host, addr = %blocked.addr, "blocked");
    FetchOutcome::Blocked { detail: blocked.to_string() }
}

/// A response header's value, if present and text.
fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// A body read under the size cap.
enum Body {
    /// The bytes and their xxh3-64, hashed as they streamed in.
    Complete(Vec<u8>, u64),
    TooLarge(u64),
    Failed(FetchOutcome, u64),
}

impl Fetcher {
    /// Builds the worker's client from its settings.
    pub fn new(settings: &WorkerSettings) -> Result<Self, WorkerError> {
        let guard = Arc::new(guard::Guard::new(&settings.fetch.network, &settings.scope.domains));
        Ok(Self {
            client: client::build(&settings.fetch, guard.clone())?,
            guard,
            settings: settings.fetch.clone(),
            scope: Arc::new(
                settings
                    .scope
                    .matcher()
                    .map_err(|e| WorkerError::Setup(format!("scope patterns: {e}")))?,
            ),
            rules: Arc::new({
                let mut rules = Rules::new(&settings.extract, settings.ignore_nofollow);
                rules.limits = extract::Limits {
                    max_attributes: usize::try_from(settings.fetch.max_attributes)
                        .unwrap_or(usize::MAX)
                        .max(1),
                    cpu_budget: settings.fetch.parse_cpu_budget,
                };
                rules
            }),
            keep_bodies: settings.keep_bodies,
        })
    }

    /// Fetches `lease.url`, parses it if it is HTML, and reports.
    pub async fn fetch(&self, lease: &Lease) -> PageReport {
        let started = Instant::now();
        let fetched_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut report = PageReport {
            lease: lease.id,
            url: lease.url.clone(),
            depth: lease.depth,
            status: None,
            content_type: None,
            bytes: 0,
            fetched_at_ms,
            request_started_us: None,
            elapsed_ms: 0,
            outcome: FetchOutcome::Ok,
            title: None,
            outlinks: 0,
            links: Vec::new(),
            text: None,
            sitemaps: Vec::new(),
            attempts: 0,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: std::collections::BTreeMap::new(),
            body: None,
            response: None,
            etag: None,
            last_modified: None,
            content_hash: None,
        };
        report.outcome = match lease.kind {
            LeaseKind::Page => self.fetch_into(lease, &mut report).await,
            LeaseKind::Robots => self.fetch_robots(lease, &mut report).await,
            LeaseKind::Sitemap => self.fetch_sitemap(lease, &mut report).await,
        };
        report.elapsed_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        report
    }

    async fn fetch_into(&self, lease: &Lease, report: &mut PageReport) -> FetchOutcome {
        let url = match Url::parse(&lease.url) {
            Ok(u) => u,
            Err(e) => return FetchOutcome::Connect { detail: format!("invalid url: {e}") },
        };
        if let Err(blocked) = self.guard.check_url(&url) {
            return blocked_outcome(&blocked, report);
        }
        let resp = match self.send_with_retries(&url, lease, report).await {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        let status = resp.status();
        report.status = Some(status.as_u16());
        report.etag = header(&resp, reqwest::header::ETAG);
        report.last_modified = header(&resp, reqwest::header::LAST_MODIFIED);
        if status == reqwest::StatusCode::NOT_MODIFIED && lease.validators.is_some() {
            // The stored page stands: no body to read, nothing to parse.
            return FetchOutcome::NotModified;
        }
        let head = self.keep_bodies.then(|| head::of(&url, &resp, &self.settings.user_agent));
        report.content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if matches!(status.as_u16(), 429 | 503) {
            report.retry_after_secs = retry_after(&resp).map(retry::as_report_secs);
        }

        if status.is_redirection() {
            let location =
                resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
            return match location.map(|l| resolve_link(&url, l)) {
                Some(Some(target)) => {
                    let location = target.to_string();
                    if self.scope.allows(&target) {
                        report.links.push(location.clone());
                    }
                    report.outlinks = 1;
                    FetchOutcome::Redirect { location }
                }
                Some(None) => FetchOutcome::BadRedirect { detail: "unusable Location".into() },
                None => FetchOutcome::BadRedirect { detail: "no Location header".into() },
            };
        }

        let body = match self.read_capped(resp).await {
            Body::Complete(b, hash) => {
                report.content_hash = Some(hash);
                b
            }
            Body::TooLarge(read) => {
                report.bytes = read;
                return FetchOutcome::TooLarge { limit: self.settings.max_bytes };
            }
            Body::Failed(outcome, read) => {
                report.bytes = read;
                return outcome;
            }
        };
        report.bytes = body.len() as u64;
        if self.keep_bodies {
            report.body = Some(serde_bytes::ByteBuf::from(body.clone()));
            report.response = head;
        }
        if !status.is_success() {
            return FetchOutcome::HttpError;
        }
        if extract::looks_binary(&body, report.content_type.as_deref()) {
            // Labelled HTML (or unlabelled) but not text: do not parse.
            return FetchOutcome::NotHtml;
        }
        if !extract::is_html(report.content_type.as_deref(), &body) {
            return FetchOutcome::NotHtml;
        }
        let content_type = report.content_type.clone();
        let scope = self.scope.clone();
        let rules = self.rules.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            let text = extract::decode(&body, content_type.as_deref());
            extract::extract(&url, &text, &scope, &rules)
        })
        .await;
        match parsed {
            Ok(Err(over)) => {
                tracing::warn!(
                    url = %lease.url,
                    cpu_ms = over.spent.as_millis(),
                    "parse budget exhausted"
                );
                FetchOutcome::ParseBudget {
                    cpu_ms: u64::try_from(over.spent.as_millis()).unwrap_or(u64::MAX),
                    limit_ms: u64::try_from(over.limit.as_millis()).unwrap_or(u64::MAX),
                }
            }
            Ok(Ok(Extracted { title, outlinks, links, noindex, nofollow, canonical, fields })) => {
                report.title = title;
                report.outlinks = outlinks;
                report.links = links;
                report.noindex = noindex;
                report.nofollow = nofollow;
                report.canonical = canonical;
                report.fields = fields;
                FetchOutcome::Ok
            }
            Err(e) => FetchOutcome::Body { detail: format!("parser failed: {e}") },
        }
    }

    /// Fetches a robots.txt into `report.text`.
    async fn fetch_robots(&self, lease: &Lease, report: &mut PageReport) -> FetchOutcome {
        match self.fetch_raw(lease, report, ROBOTS_MAX_BYTES).await {
            Ok((ok, body)) => {
                report.text = Some(String::from_utf8_lossy(&body).into_owned());
                if ok { FetchOutcome::Ok } else { FetchOutcome::HttpError }
            }
            Err(outcome) => outcome,
        }
    }

    /// Fetches a sitemap and reports its in-scope page URLs (normalized)
    /// in `links` and its child sitemaps in `sitemaps`.
    async fn fetch_sitemap(&self, lease: &Lease, report: &mut PageReport) -> FetchOutcome {
        let cap = usize::try_from(crate::sitemap::MAX_SITEMAP_BYTES).unwrap_or(usize::MAX);
        let body = match self.fetch_raw(lease, report, cap).await {
            Ok((true, body)) => body,
            Ok((false, _)) => return FetchOutcome::HttpError,
            Err(outcome) => return outcome,
        };
        let parsed = tokio::task::spawn_blocking(move || {
            let bytes = crate::sitemap::maybe_gunzip(body)?;
            crate::sitemap::parse(&String::from_utf8_lossy(&bytes))
        })
        .await;
        let base = Url::parse(&lease.url).ok();
        match parsed {
            Ok(Ok(map)) => {
                for page in map.pages {
                    if let Some(u) = base.as_ref().and_then(|b| resolve_link(b, &page))
                        && self.scope.allows(&u)
                    {
                        report.links.push(u.into());
                    }
                }
                report.outlinks = u32::try_from(report.links.len()).unwrap_or(u32::MAX);
                report.sitemaps = map.sitemaps;
                FetchOutcome::Ok
            }
            Ok(Err(e)) => FetchOutcome::Body { detail: format!("sitemap: {e}") },
            Err(e) => FetchOutcome::Body { detail: format!("sitemap parser failed: {e}") },
        }
    }

    /// GETs `lease.url`, following up to [`ROBOTS_REDIRECTS`] redirects
    /// (RFC 9309 §2.3.1.2), keeping at most `cap` body bytes. Returns
    /// whether the final status was 2xx, and the body.
    async fn fetch_raw(
        &self,
        lease: &Lease,
        report: &mut PageReport,
        cap: usize,
    ) -> Result<(bool, Vec<u8>), FetchOutcome> {
        let Ok(mut url) = Url::parse(&lease.url) else {
            return Err(FetchOutcome::Connect { detail: "invalid url".into() });
        };
        for _ in 0..=ROBOTS_REDIRECTS {
            if let Err(blocked) = self.guard.check_url(&url) {
                return Err(blocked_outcome(&blocked, report));
            }
            let sent = self.client.get(url.clone()).send().await;
            report.request_started_us = Some(now_us());
            let mut resp = match sent {
                Ok(r) => r,
                Err(e) => return Err(outcome::from_request_error(&e)),
            };
            let status = resp.status();
            report.status = Some(status.as_u16());
            if status.is_redirection() {
                let next = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| resolve_link(&url, l));
                match next {
                    Some(n) => {
                        url = n;
                        continue;
                    }
                    None => {
                        return Err(FetchOutcome::BadRedirect {
                            detail: "no usable Location".into(),
                        });
                    }
                }
            }
            let mut body = Vec::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = cap.saturating_sub(body.len());
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if body.len() >= cap {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(outcome::from_body_error(&e)),
                }
            }
            report.bytes = body.len() as u64;
            return Ok((status.is_success(), body));
        }
        // Too many redirects: RFC 9309 treats this like an unavailable file.
        report.status = None;
        Err(FetchOutcome::BadRedirect { detail: "too many redirects".into() })
    }

    /// Sends the request, retrying connection failures, 5xx and 429 with
    /// exponential backoff and jitter (or `Retry-After`, when it is no
    /// longer than `retry_max_wait`). Returns the last response, or the
    /// outcome of the last failed attempt; `report.attempts` counts them.
    /// A revisit's validators go out as `If-None-Match` and
    /// `If-Modified-Since`.
    async fn send_with_retries(
        &self,
        url: &Url,
        lease: &Lease,
        report: &mut PageReport,
    ) -> Result<reqwest::Response, FetchOutcome> {
        let s = &self.settings;
        let mut attempt: u8 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            report.attempts = attempt;
            let can_retry = attempt <= s.retries;
            let mut request = self.client.get(url.clone());
            if let Some(v) = &lease.validators {
                if let Some(etag) = &v.etag {
                    request = request.header(reqwest::header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &v.last_modified {
                    request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
                }
            }
            let sent = request.send().await;
            report.request_started_us = Some(now_us());
            let (delay, reason) = match sent {
                Err(e) => {
                    let outcome = outcome::from_request_error(&e);
                    if !(can_retry && retry::retryable_error(&e)) {
                        return Err(outcome);
                    }
                    let delay =
                        retry::backoff(attempt, s.retry_base, s.retry_max_wait, retry::jitter());
                    (delay, outcome.kind().to_owned())
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if !(can_retry && retry::retryable_status(status)) {
                        return Ok(resp);
                    }
                    let delay = match retry_after(&resp) {
                        // Longer than we may wait: report it, so the
                        // coordinator can back off the whole host.
                        Some(d) if d > s.retry_max_wait => return Ok(resp),
                        Some(d) => d,
                        None => {
                            retry::backoff(attempt, s.retry_base, s.retry_max_wait, retry::jitter())
                        }
                    };
                    (delay, status.to_string())
                }
            };
            tracing::debug!(
                url = %url,
                attempt,
                reason = %reason,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Reads the body, stopping at `max_bytes` (after decompression, so a
    /// compression bomb is cut off too).
    async fn read_capped(&self, mut resp: reqwest::Response) -> Body {
        let limit = self.settings.max_bytes;
        if resp.content_length().is_some_and(|cl| cl > limit) {
            return Body::TooLarge(0);
        }
        let cap = resp.content_length().unwrap_or(64 * 1024).min(limit);
        let mut out = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
        let mut hash = trawl_common::hash::Xxh3::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if out.len() as u64 + chunk.len() as u64 > limit {
                        return Body::TooLarge(out.len() as u64);
                    }
                    hash.update(&chunk);
                    out.extend_from_slice(&chunk);
                }
                Ok(None) => return Body::Complete(out, hash.digest()),
                Err(e) => return Body::Failed(outcome::from_body_error(&e), out.len() as u64),
            }
        }
    }
}
