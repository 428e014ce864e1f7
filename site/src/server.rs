//! The HTTP server: [`SiteServer`] serves a [`SiteSpec`] on
//! `127.0.0.1:<ephemeral port>` from a thread of its own and counts what it
//! was asked for.

use crate::spec::SiteSpec;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::future::IntoFuture as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

const CSS: &str = "body{font-family:sans-serif}a{color:#036}\n";
const OFFSITE_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Friend site</title></head><body><p>Off-site.</p></body></html>\n";
/// How long in-flight connections get to finish after a shutdown request.
const GRACE: Duration = Duration::from_secs(2);

/// State shared between the server thread and [`SiteServer`].
struct Shared {
    spec: SiteSpec,
    origin: String,
    offsite_origin: String,
    hits: Vec<AtomicU32>,
    page_hits: AtomicU64,
    offsite_hits: AtomicU64,
    unknown_hits: AtomicU64,
    robots_hits: AtomicU64,
}

impl Shared {
    /// Answers one request.
    fn respond(&self, method: &Method, headers: &HeaderMap, path: &str) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")])
                .into_response();
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let (name, _port) = host.rsplit_once(':').unwrap_or((host, ""));
        if name.eq_ignore_ascii_case("localhost") || path.starts_with("/ext/") {
            self.offsite_hits.fetch_add(1, Ordering::Relaxed);
            return body_response("text/html; charset=utf-8", OFFSITE_PAGE.to_owned());
        }
        if path == "/robots.txt" {
            self.robots_hits.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::NOT_FOUND, "no robots.txt\n").into_response();
        }
        if path == "/static/site.css" {
            return body_response("text/css; charset=utf-8", CSS.to_owned());
        }
        match self.spec.page_index(path) {
            Some(i) => {
                if let Some(h) = self.hits.get(i as usize) {
                    h.fetch_add(1, Ordering::Relaxed);
                }
                self.page_hits.fetch_add(1, Ordering::Relaxed);
                let html = self.spec.render(i, &self.origin, &self.offsite_origin);
                body_response("text/html; charset=utf-8", html)
            }
            None => {
                self.unknown_hits.fetch_add(1, Ordering::Relaxed);
                (StatusCode::NOT_FOUND, "not found\n").into_response()
            }
        }
    }
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

/// The single handler behind every path.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.respond(&method, &headers, uri.path())
}

/// The generated site, served on `127.0.0.1:<ephemeral port>` by a
/// background thread running its own single-threaded tokio runtime.
pub struct SiteServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SiteServer {
    /// Binds `127.0.0.1:0` and serves the site on a dedicated thread that
    /// owns its own tokio runtime, so it is usable from sync and async code.
    /// Returns once the listener is bound.
    pub fn start(spec: SiteSpec) -> std::io::Result<SiteServer> {
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let shared = Arc::new(Shared {
            hits: (0..spec.n()).map(|_| AtomicU32::new(0)).collect(),
            spec,
            origin: format!("http://127.0.0.1:{}", addr.port()),
            offsite_origin: format!("http://localhost:{}", addr.port()),
            page_hits: AtomicU64::new(0),
            offsite_hits: AtomicU64::new(0),
            unknown_hits: AtomicU64::new(0),
            robots_hits: AtomicU64::new(0),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new().name("trawl-site".into()).spawn(move || {
            rt.block_on(async move {
                let (grace_tx, grace_rx) = oneshot::channel::<()>();
                let server = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = grace_rx.await;
                    })
                    .into_future();
                tokio::pin!(server);
                tokio::select! {
                    _ = &mut server => return,
                    _ = stop_rx => {}
                }
                let _ = grace_tx.send(());
                let _ = tokio::time::timeout(GRACE, server).await;
            });
        })?;
        Ok(SiteServer { addr, shared, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The bound address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("{}/", self.shared.origin)
    }

    /// The spec being served.
    pub fn spec(&self) -> &SiteSpec {
        &self.shared.spec
    }

    /// How often page `i` was requested (GET or HEAD); 0 for non-pages.
    pub fn hits(&self, i: u32) -> u32 {
        self.shared.hits.get(i as usize).map_or(0, |h| h.load(Ordering::Relaxed))
    }

    /// Total requests for site pages.
    pub fn page_hits(&self) -> u64 {
        self.shared.page_hits.load(Ordering::Relaxed)
    }

    /// Requests with an off-site (`localhost`) Host header or for `/ext/`
    /// paths.
    pub fn offsite_hits(&self) -> u64 {
        self.shared.offsite_hits.load(Ordering::Relaxed)
    }

    /// Requests for paths that are not pages (404s), robots.txt excluded.
    pub fn unknown_hits(&self) -> u64 {
        self.shared.unknown_hits.load(Ordering::Relaxed)
    }

    /// `/robots.txt` requests.
    pub fn robots_hits(&self) -> u64 {
        self.shared.robots_hits.load(Ordering::Relaxed)
    }

    /// Stops the server and joins its thread (also done on drop).
    pub fn shutdown(self) {
        drop(self);
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for SiteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteServer")
            .field("addr", &self.addr)
            .field("spec", &self.shared.spec)
            .finish()
    }
}
