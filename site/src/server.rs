//! The HTTP server: [`SiteServer`] serves a [`SiteSpec`] on one or more
//! `127.0.0.1:<ephemeral port>` listeners (one per host) from a thread of
//! its own, and counts what it was asked for.

use crate::respond::{HostState, Shared, handle};
use crate::spec::SiteSpec;
use crate::timeline::{Request, Timeline};
use axum::Router;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// Pending connections per listener (the kernel caps it at somaxconn).
const BACKLOG: u32 = 4096;
/// How long in-flight connections get to finish after a shutdown request.
const GRACE: Duration = Duration::from_secs(2);

/// How the site is served, apart from what it contains.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Hosts (listeners, each on its own port of 127.0.0.1), each serving
    /// every page of the spec; pages link across hosts when there are
    /// two or more. 0 means 1.
    pub hosts: u32,
    /// Mean latency added to every response (a timer: no CPU).
    pub latency: Duration,
    /// Jitter of that latency as a fraction: uniform in
    /// `latency * (1 ± jitter)`, clamped to `0..=1`.
    pub jitter: f64,
    /// Record every on-site request's start and end per host
    /// ([`SiteServer::timeline`]): 16 bytes a request.
    pub timeline: bool,
    /// Port of the first host's listener (0: an ephemeral port, as for
    /// every other host), for `trawl serve-site --port`.
    pub port: u16,
}

/// The generated site, served on `127.0.0.1:<ephemeral port>` (one per
/// host) by a background thread running its own single-threaded tokio
/// runtime.
pub struct SiteServer {
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SiteServer {
    /// Binds `127.0.0.1:0` and serves the site on a dedicated thread that
    /// owns its own tokio runtime, so it is usable from sync and async code.
    /// Returns once the listener is bound.
    pub fn start(spec: SiteSpec) -> std::io::Result<SiteServer> {
        Self::start_with(spec, ServeOptions::default())
    }

    /// [`SiteServer::start`] on `127.0.0.1:port` (0: an ephemeral port).
    pub fn start_at(spec: SiteSpec, port: u16) -> std::io::Result<SiteServer> {
        Self::start_with(spec, ServeOptions { port, ..ServeOptions::default() })
    }

    /// [`SiteServer::start`] with several hosts, latency or a timeline.
    /// Returns once every listener is bound.
    pub fn start_with(spec: SiteSpec, options: ServeOptions) -> std::io::Result<SiteServer> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
        let hosts = options.hosts.max(1) as usize;
        let mut listeners = Vec::with_capacity(hosts);
        let mut addrs = Vec::with_capacity(hosts);
        for i in 0..hosts {
            let _guard = rt.enter();
            let socket = tokio::net::TcpSocket::new_v4()?;
            let port = if i == 0 { options.port } else { 0 };
            socket.bind((Ipv4Addr::LOCALHOST, port).into())?;
            // Thousands of clients connecting at once overflow the usual
            // backlog of 128: their SYNs are dropped and retried a second
            // later, which looks like server latency.
            let listener = socket.listen(BACKLOG)?;
            addrs.push(listener.local_addr()?);
            listeners.push(listener);
        }
        let shared = Arc::new(Shared {
            hits: (0..spec.n()).map(|_| AtomicU32::new(0)).collect(),
            spec,
            origins: addrs.iter().map(|a| format!("http://127.0.0.1:{}", a.port())).collect(),
            offsite_origins: addrs
                .iter()
                .map(|a| format!("http://localhost:{}", a.port()))
                .collect(),
            latency: options.latency,
            jitter: options.jitter.clamp(0.0, 1.0),
            served: AtomicU64::new(0),
            epoch: Instant::now(),
            timeline: options.timeline.then(|| Timeline::new(hosts)),
            page_hits: AtomicU64::new(0),
            offsite_hits: AtomicU64::new(0),
            unknown_hits: AtomicU64::new(0),
            robots_hits: AtomicU64::new(0),
            generation: AtomicU32::new(0),
            conditional_hits: AtomicU64::new(0),
            not_modified_hits: AtomicU64::new(0),
            gone_hits: AtomicU64::new(0),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("trawl-site".into()).spawn(move || {
            rt.block_on(serve(listeners, state, stop_rx));
        })?;
        Ok(SiteServer { addrs, shared, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The bound address of the first host (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// `http://127.0.0.1:PORT/` of the first host.
    pub fn base_url(&self) -> String {
        format!("{}/", self.shared.origins[0])
    }

    /// `http://127.0.0.1:PORT/` of every host, in host order.
    pub fn base_urls(&self) -> Vec<String> {
        self.shared.origins.iter().map(|o| format!("{o}/")).collect()
    }

    /// The spec being served.
    pub fn spec(&self) -> &SiteSpec {
        &self.shared.spec
    }

    /// How often page `i` was requested (GET or HEAD), over all hosts; 0
    /// for non-pages.
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

    /// The current generation (0 at start; see
    /// [`ChangeSpec`](crate::ChangeSpec)).
    pub fn generation(&self) -> u32 {
        self.shared.generation.load(Ordering::Relaxed)
    }

    /// Moves the site to the next generation (pages change as its
    /// [`ChangeSpec`](crate::ChangeSpec) says) and returns it. `POST
    /// /_site/advance` does the same over HTTP.
    pub fn advance(&self) -> u32 {
        self.shared.generation.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Page requests carrying `If-None-Match` or `If-Modified-Since`.
    pub fn conditional_hits(&self) -> u64 {
        self.shared.conditional_hits.load(Ordering::Relaxed)
    }

    /// 304 Not Modified answers.
    pub fn not_modified_hits(&self) -> u64 {
        self.shared.not_modified_hits.load(Ordering::Relaxed)
    }

    /// 404/410 answers for pages deleted by the
    /// [`ChangeSpec`](crate::ChangeSpec).
    pub fn gone_hits(&self) -> u64 {
        self.shared.gone_hits.load(Ordering::Relaxed)
    }

    /// Every host's on-site requests so far, each host's sorted by start
    /// (empty unless [`ServeOptions::timeline`] was set). Feed it to
    /// [`gaps`](crate::gaps).
    pub fn timeline(&self) -> Vec<Vec<Request>> {
        self.shared.timeline.as_ref().map_or_else(Vec::new, Timeline::snapshot)
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

/// Serves every listener until `stop` fires (or its sender is dropped),
/// then gives open connections [`GRACE`] to finish.
async fn serve(
    listeners: Vec<tokio::net::TcpListener>,
    shared: Arc<Shared>,
    stop: oneshot::Receiver<()>,
) {
    let (grace_tx, grace_rx) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for (host, listener) in listeners.into_iter().enumerate() {
        let state = HostState { shared: Arc::clone(&shared), host };
        let app = Router::new().fallback(handle).with_state(state);
        let mut grace = grace_rx.clone();
        servers.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = grace.wait_for(|&stop| stop).await;
                })
                .await;
        });
    }
    let _ = stop.await;
    let _ = grace_tx.send(true);
    let _ =
        tokio::time::timeout(GRACE, async { while servers.join_next().await.is_some() {} }).await;
    // Servers still draining past the grace period are aborted here.
    servers.abort_all();
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for SiteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteServer")
            .field("addrs", &self.addrs)
            .field("spec", &self.shared.spec)
            .finish()
    }
}
