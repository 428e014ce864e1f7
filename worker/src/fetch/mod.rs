//! Fetching one URL. [`Fetcher`] owns the worker's single pooled
//! `reqwest::Client`; [`Fetcher::fetch`] always returns a [`PageReport`]:
//! every way a fetch can go wrong is a [`FetchOutcome`] value.

mod client;
mod outcome;

use crate::error::WorkerError;
use crate::extract::{self, Extracted};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use trawl_common::protocol::{FetchOutcome, FetchSettings, Lease, PageReport, WorkerSettings};
use trawl_common::url::{Scope, Url, resolve_link};

/// Fetches and extracts pages for one worker.
pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchSettings,
    scope: Scope,
}

/// A body read under the size cap.
enum Body {
    Complete(Vec<u8>),
    TooLarge(u64),
    Failed(FetchOutcome, u64),
}

impl Fetcher {
    /// Builds the worker's client from its settings.
    pub fn new(settings: &WorkerSettings) -> Result<Self, WorkerError> {
        Ok(Self {
            client: client::build(&settings.fetch)?,
            settings: settings.fetch.clone(),
            scope: settings.scope.clone(),
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
            elapsed_ms: 0,
            outcome: FetchOutcome::Ok,
            title: None,
            outlinks: 0,
            links: Vec::new(),
            attempts: 1,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: std::collections::BTreeMap::new(),
        };
        report.outcome = self.fetch_into(lease, &mut report).await;
        report.elapsed_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        report
    }

    async fn fetch_into(&self, lease: &Lease, report: &mut PageReport) -> FetchOutcome {
        let url = match Url::parse(&lease.url) {
            Ok(u) => u,
            Err(e) => return FetchOutcome::Connect { detail: format!("invalid url: {e}") },
        };
        let resp = match self.client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => return outcome::from_request_error(&e),
        };
        let status = resp.status();
        report.status = Some(status.as_u16());
        report.content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);

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
            Body::Complete(b) => b,
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
        if !status.is_success() {
            return FetchOutcome::HttpError;
        }
        if !extract::is_html(report.content_type.as_deref(), &body) {
            return FetchOutcome::NotHtml;
        }
        let content_type = report.content_type.clone();
        let scope = self.scope.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            let text = extract::decode(&body, content_type.as_deref());
            extract::extract(&url, &text, &scope)
        })
        .await;
        match parsed {
            Ok(Extracted { title, outlinks, links }) => {
                report.title = title;
                report.outlinks = outlinks;
                report.links = links;
                FetchOutcome::Ok
            }
            Err(e) => FetchOutcome::Body { detail: format!("parser failed: {e}") },
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
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if out.len() as u64 + chunk.len() as u64 > limit {
                        return Body::TooLarge(out.len() as u64);
                    }
                    out.extend_from_slice(&chunk);
                }
                Ok(None) => return Body::Complete(out),
                Err(e) => return Body::Failed(outcome::from_body_error(&e), out.len() as u64),
            }
        }
    }
}
