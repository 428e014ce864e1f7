//! The API of a crawl that has ended, for `trawl demo --serve`: the
//! dashboard, `/api/status` (a frozen report, state `finished`), live page
//! queries and `/metrics` stay up until the caller stops it. The same
//! routes as a running crawl's; a small thread answers the control
//! requests the scheduler would (scaling and seeds are refused).

use super::{ApiAdvert, ApiServer, ApiState};
use crate::control::{ControlRequest, StatusReport};
use crate::scheduler::Event;
use crate::store::Store;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use trawl_common::url::{Scope, ScopeKind, Url};

/// A finished crawl's API; stopped (and unadvertised) on drop.
pub struct FinishedApi {
    server: Option<ApiServer>,
    responder: Option<JoinHandle<()>>,
    store: std::path::PathBuf,
}

impl FinishedApi {
    /// Serves `store` on `addr` with `report` as its status, and
    /// advertises it in the store like a running crawl.
    pub fn start(
        addr: SocketAddr,
        store: Store,
        seeds: &[Url],
        mut report: StatusReport,
    ) -> std::io::Result<Self> {
        report.state = crate::control::CrawlState::Finished;
        report.pid = std::process::id();
        let (control, events) = std::sync::mpsc::sync_channel::<Event>(16);
        // Owned by FinishedApi; ends when the server (the last sender) is
        // dropped.
        let responder =
            std::thread::Builder::new().name("finished-api".into()).spawn(move || {
                while let Ok(ev) = events.recv() {
                    let Event::Control(req) = ev else { continue };
                    match req {
                        ControlRequest::Status(reply) => {
                            let _ = reply.send(report.clone());
                        }
                        ControlRequest::Scale { reply, .. } => {
                            let _ = reply.send(Err("the crawl has finished".into()));
                        }
                        ControlRequest::Seeds { reply, .. } => {
                            let _ = reply.send(0);
                        }
                        ControlRequest::Run { reply, .. } => {
                            let _ = reply.send(Err("the crawl has finished".into()));
                        }
                        ControlRequest::Stop { .. } => {}
                    }
                }
            })?;
        let path = store.path().to_owned();
        let scope = Scope::new(ScopeKind::Host, seeds).matcher().map_err(std::io::Error::other)?;
        let server = ApiServer::start(
            addr,
            ApiState {
                control,
                store,
                token: None,
                scope: std::sync::Arc::new(scope),
                cluster: None,
            },
        )?;
        ApiAdvert::this_process(server.addr()).write(&path)?;
        Ok(Self { server: Some(server), responder: Some(responder), store: path })
    }

    /// Where it listens.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(ApiServer::addr)
    }
}

impl Drop for FinishedApi {
    fn drop(&mut self) {
        ApiAdvert::remove(&self.store);
        drop(self.server.take());
        if let Some(t) = self.responder.take() {
            let _ = t.join();
        }
    }
}
