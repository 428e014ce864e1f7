//! The coordinator's HTTP API (axum), bound to 127.0.0.1 by default:
//! status, scaling, adding seeds and live queries while a crawl runs. It
//! also turns SIGINT/SIGTERM into stop requests ([`signals`]: the first
//! drains, the second stops now).
//!
//! The API owns no crawl state: every request is forwarded to the
//! scheduler on its event channel and answered from its reply, and page
//! queries read the store (a clone of the coordinator's own handle). With
//! `--cluster`, `/api/cluster` and `/metrics` also read the cluster's
//! database ([`cluster`]).

mod advert;
mod cluster;
mod controls;
mod export;
mod finished;
mod history;
pub(crate) mod metrics;
mod openapi;
mod routes;
pub mod signals;
mod stream;

pub use advert::{API_FILE, AdvertError, ApiAdvert};
pub use finished::FinishedApi;

use crate::scheduler::Event;
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// How long in-flight API requests may take once the crawl ends.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// What handlers share.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) control: SyncSender<Event>,
    pub(crate) store: Store,
    pub(crate) token: Option<String>,
    pub(crate) scope: std::sync::Arc<trawl_common::url::ScopeMatcher>,
    /// The cluster's database (`--cluster`): `/api/cluster` and the
    /// cluster's metrics.
    pub(crate) cluster: Option<trawl_cluster::Cluster>,
}

/// The running API server; stops when [`ApiServer::stop`] is called.
pub struct ApiServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Signals go to this crawl while it is held; dropped at stop, after
    /// which a signal ends the process ([`signals`]).
    signals: Option<signals::Registration>,
}

impl ApiServer {
    /// Binds `addr` and serves on a dedicated thread with its own small
    /// runtime, so the scheduler's thread never runs async code.
    pub(crate) fn start(addr: SocketAddr, state: ApiState) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // Register before returning (the API is advertised next): a signal
        // from then on becomes a stop request.
        let signals = {
            let control = state.control.clone();
            signals::register(move |r| {
                use crate::control::ControlRequest;
                let ev = Event::Control(ControlRequest::Stop { immediate: r.count > 1 });
                // Called on the signals thread, never the scheduler's.
                let _ = control.send(ev);
            })
        };
        let signals = match signals {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "could not install signal handlers");
                None
            }
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("api".into()).spawn(move || {
            rt.block_on(async move {
                let (drain, drained) = oneshot::channel::<()>();
                let server = tokio::spawn(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(listener, routes::router(state))
                        .with_graceful_shutdown(async {
                            let _ = drained.await;
                        })
                        .await
                });
                let _ = stopped.await;
                let _ = drain.send(());
                // Give requests in flight a moment, but never let a stuck
                // client keep the crawl from exiting.
                match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
                    Ok(Ok(Err(e))) => tracing::error!(error = %e, "api server failed"),
                    Err(_) => tracing::warn!("api clients still connected at exit: dropped"),
                    _ => {}
                }
            });
            // Dropping the runtime cancels whatever is left.
            drop(rt);
        })?;
        Ok(Self { addr, stop: Some(stop), thread: Some(thread), signals })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.signals = None;
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
