//! The coordinator's HTTP API (axum), bound to 127.0.0.1 by default:
//! status, scaling, adding seeds and live queries while a crawl runs. It
//! also turns SIGINT/SIGTERM into stop requests.
//!
//! The API owns no crawl state: every request is forwarded to the
//! scheduler on its event channel and answered from its reply, and page
//! queries read the store (a clone of the coordinator's own handle).

mod controls;
mod metrics;
mod openapi;
mod routes;
mod stream;

use crate::scheduler::Event;
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Name of the file in the store directory that tells other `trawl`
/// commands where the running crawl's API listens.
pub const API_FILE: &str = "trawl-api.json";

/// How long in-flight API requests may take once the crawl ends.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// What handlers share.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) control: SyncSender<Event>,
    pub(crate) store: Store,
    pub(crate) token: Option<String>,
    pub(crate) scope: std::sync::Arc<trawl_common::url::ScopeMatcher>,
}

/// The running API server; stops when [`ApiServer::stop`] is called.
pub struct ApiServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// Binds `addr` and serves on a dedicated thread with its own small
    /// runtime, so the scheduler's thread never runs async code.
    pub(crate) fn start(addr: SocketAddr, state: ApiState) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // Install the handlers before returning (the API is advertised
        // next): a signal that came before the forwarding task first ran
        // would otherwise take the default action and kill the crawl.
        let handlers = {
            let _in_runtime = rt.enter();
            use tokio::signal::unix::{SignalKind, signal};
            match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(int), Ok(term)) => Some((int, term)),
                _ => {
                    tracing::warn!("could not install signal handlers");
                    None
                }
            }
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("api".into()).spawn(move || {
            rt.block_on(async move {
                let signals = tokio::spawn(forward_signals(state.control.clone(), handlers));
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
                signals.abort();
            });
            // Dropping the runtime cancels whatever is left.
            drop(rt);
        })?;
        Ok(Self { addr, stop: Some(stop), thread: Some(thread) })
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
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// SIGINT/SIGTERM -> stop requests: the first drains, the second stops now.
async fn forward_signals(
    control: SyncSender<Event>,
    handlers: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
) {
    use crate::control::ControlRequest;
    let Some((mut int, mut term)) = handlers else { return };
    let mut count = 0u32;
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        count += 1;
        let ev = Event::Control(ControlRequest::Stop { immediate: count > 1 });
        let tx = control.clone();
        let _ = tokio::task::spawn_blocking(move || tx.send(ev)).await;
    }
}
