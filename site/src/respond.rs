//! Answering one request: the state every listener shares, the single
//! handler behind every path and host, the injected latency, and the
//! request counters and timeline it keeps.

use crate::changes::{http_date, parse_http_date};
use crate::render::Peers;
use crate::rng::mix;
use crate::spec::SiteSpec;
use crate::timeline::{Request, Timeline};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Prefix of the admin paths (never linked from a page).
pub(crate) const ADMIN: &str = "/_site/";
const CSS: &str = "body{font-family:sans-serif}a{color:#036}\n";
const OFFSITE_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Friend site</title></head><body><p>Off-site.</p></body></html>\n";

/// State shared between the server thread's listeners and [`SiteServer`].
///
/// [`SiteServer`]: crate::SiteServer
pub(crate) struct Shared {
    pub(crate) spec: SiteSpec,
    /// Every host's origin (`http://127.0.0.1:P`), in host order.
    pub(crate) origins: Vec<String>,
    /// Every host's off-site origin (`http://localhost:P`).
    pub(crate) offsite_origins: Vec<String>,
    /// Mean injected latency per response (zero: none).
    pub(crate) latency: Duration,
    /// Latency jitter as a fraction of `latency`: uniform in
    /// `latency * (1 ± jitter)`.
    pub(crate) jitter: f64,
    /// Responses so far, the key of each one's jitter.
    pub(crate) served: AtomicU64,
    /// When the server started: the zero of the timeline.
    pub(crate) epoch: Instant,
    /// Per-host requests, when asked for.
    pub(crate) timeline: Option<Timeline>,
    pub(crate) hits: Vec<AtomicU32>,
    pub(crate) page_hits: AtomicU64,
    pub(crate) offsite_hits: AtomicU64,
    pub(crate) unknown_hits: AtomicU64,
    pub(crate) robots_hits: AtomicU64,
    /// The current generation of the [`ChangeSpec`](crate::ChangeSpec).
    pub(crate) generation: AtomicU32,
    /// Page requests carrying `If-None-Match` or `If-Modified-Since`.
    pub(crate) conditional_hits: AtomicU64,
    /// 304 answers.
    pub(crate) not_modified_hits: AtomicU64,
    /// 404/410 answers for deleted pages.
    pub(crate) gone_hits: AtomicU64,
}

/// What the handler of one listener knows: the shared state and which
/// host it serves.
#[derive(Clone)]
pub(crate) struct HostState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) host: usize,
}

/// What a request was, for the timeline.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// To the crawled host (a page, robots.txt, a 404...).
    OnSite { robots: bool },
    /// To the off-site name (`localhost`): not this host's traffic.
    OffSite,
}

impl Shared {
    /// Answers one request to host `host`.
    fn respond(
        &self,
        host: usize,
        method: &Method,
        headers: &HeaderMap,
        path: &str,
    ) -> (Response, Kind) {
        let on_site = Kind::OnSite { robots: false };
        if let Some(admin) = path.strip_prefix(ADMIN) {
            return (self.admin(method, admin), Kind::OffSite);
        }
        if method != Method::GET && method != Method::HEAD {
            let r = (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]);
            return (r.into_response(), on_site);
        }
        let name = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let (name, _port) = name.rsplit_once(':').unwrap_or((name, ""));
        if name.eq_ignore_ascii_case("localhost") || path.starts_with("/ext/") {
            self.offsite_hits.fetch_add(1, Ordering::Relaxed);
            let r = body_response("text/html; charset=utf-8", OFFSITE_PAGE.to_owned());
            return (r, Kind::OffSite);
        }
        if path == "/robots.txt" {
            self.robots_hits.fetch_add(1, Ordering::Relaxed);
            let r = (StatusCode::NOT_FOUND, "no robots.txt\n").into_response();
            return (r, Kind::OnSite { robots: true });
        }
        if path == "/static/site.css" {
            return (body_response("text/css; charset=utf-8", CSS.to_owned()), on_site);
        }
        let r = match self.spec.page_index(path) {
            Some(i) => {
                if let Some(h) = self.hits.get(i as usize) {
                    h.fetch_add(1, Ordering::Relaxed);
                }
                self.page_hits.fetch_add(1, Ordering::Relaxed);
                self.page(host, i, headers)
            }
            None => {
                self.unknown_hits.fetch_add(1, Ordering::Relaxed);
                (StatusCode::NOT_FOUND, "not found\n").into_response()
            }
        };
        (r, on_site)
    }

    /// Page `i` of host `host` at the current generation: the page, a
    /// 304 when a validator matches, or 404/410 once deleted.
    fn page(&self, host: usize, i: u32, headers: &HeaderMap) -> Response {
        let g = self.generation.load(Ordering::Relaxed);
        let state = self.spec.state(i, g);
        let inm = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
        let ims = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok());
        if inm.is_some() || ims.is_some() {
            self.conditional_hits.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(code) = state.gone {
            self.gone_hits.fetch_add(1, Ordering::Relaxed);
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::NOT_FOUND);
            return (status, "this page was deleted\n").into_response();
        }
        let validators = self.spec.changes.validators_of(host, i);
        let mut extra = HeaderMap::new();
        let etag = validators.etag().then(|| self.spec.etag(i, g));
        let modified = validators.last_modified().then(|| self.spec.last_modified(i, g));
        if let Some(tag) = &etag
            && let Ok(v) = HeaderValue::from_str(tag)
        {
            extra.insert(header::ETAG, v);
        }
        if let Some(secs) = modified
            && let Ok(v) = HeaderValue::from_str(&http_date(secs))
        {
            extra.insert(header::LAST_MODIFIED, v);
        }
        // RFC 9110 13.2.2: If-None-Match, when sent, decides alone.
        let not_modified = match (inm, ims) {
            (Some(inm), _) => etag.as_deref().is_some_and(|tag| etag_matches(inm, tag)),
            (None, Some(ims)) => {
                modified.is_some_and(|secs| parse_http_date(ims).is_some_and(|since| secs <= since))
            }
            (None, None) => false,
        };
        if not_modified {
            self.not_modified_hits.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::NOT_MODIFIED, extra).into_response();
        }
        let peers = Peers { origins: &self.origins, me: host };
        let html =
            self.spec.render_at(i, &self.origins[host], &self.offsite_origins[host], peers, g);
        (extra, body_response("text/html; charset=utf-8", html)).into_response()
    }

    /// `/_site/…`: `POST /_site/advance` (the next generation, answered
    /// with its number) and `GET /_site/stats` (the counters as JSON), for
    /// a site served by `trawl serve-site` or `trawl bench-site`.
    fn admin(&self, method: &Method, what: &str) -> Response {
        match (method.as_str(), what) {
            ("POST", "advance") => {
                let g = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
                format!("{g}\n").into_response()
            }
            ("GET", "stats") => {
                let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
                let json = format!(
                    "{{\"generation\":{},\"page_hits\":{},\"conditional\":{},\"not_modified\":{},\"gone\":{},\"unknown\":{},\"robots\":{},\"offsite\":{}}}\n",
                    self.generation.load(Ordering::Relaxed),
                    n(&self.page_hits),
                    n(&self.conditional_hits),
                    n(&self.not_modified_hits),
                    n(&self.gone_hits),
                    n(&self.unknown_hits),
                    n(&self.robots_hits),
                    n(&self.offsite_hits),
                );
                ([(header::CONTENT_TYPE, "application/json")], json).into_response()
            }
            _ => (StatusCode::NOT_FOUND, "unknown admin request\n").into_response(),
        }
    }

    /// The injected latency of the next response: `latency * (1 ± jitter)`,
    /// uniform, from a splitmix64 stream over the response count.
    fn next_latency(&self) -> Duration {
        if self.latency.is_zero() {
            return Duration::ZERO;
        }
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        let u = (mix(n ^ 0x006c_6174_656e_6379) >> 11) as f64 / (1u64 << 53) as f64;
        self.latency.mul_f64((1.0 + self.jitter * (2.0 * u - 1.0)).max(0.0))
    }

    fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// Whether an `If-None-Match` value matches `tag` (weak comparison, as
/// RFC 9110 13.1.2 asks; `*` matches any current page).
fn etag_matches(inm: &str, tag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    inm.split(',').any(|t| t.trim() == "*" || bare(t) == bare(tag))
}

/// A 200 response with an explicit Content-Length (axum drops the body of
/// HEAD responses but keeps the header).
fn body_response(content_type: &'static str, body: String) -> Response {
    let len = HeaderValue::from(body.len());
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_LENGTH, len),
    ];
    (StatusCode::OK, headers, body).into_response()
}

/// The single handler behind every path of every host: answer, wait out
/// the injected latency (a timer, no CPU), record the request.
pub(crate) async fn handle(
    State(state): State<HostState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let shared = &state.shared;
    let start_us = shared.micros();
    let (response, kind) = shared.respond(state.host, &method, &headers, uri.path());
    let wait = shared.next_latency();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    if let (Some(t), Kind::OnSite { robots }) = (&shared.timeline, kind) {
        t.record(state.host, Request { start_us, end_us: shared.micros(), robots });
    }
    response
}
