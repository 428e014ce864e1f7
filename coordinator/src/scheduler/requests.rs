//! Control requests (API, signals) and what the scheduler does about them.

use super::Scheduler;
use crate::control::{ControlRequest, CrawlState};
use crate::store::StoreOp;
use std::time::Instant;

impl Scheduler<'_> {
    pub(super) fn on_control(&mut self, req: ControlRequest, now: Instant) {
        match req {
            ControlRequest::Status(reply) => {
                let _ = reply.send(self.status(now));
            }
            ControlRequest::Scale { workers, reply } => {
                let _ = reply.send(self.pool.scale(workers, now));
            }
            ControlRequest::Seeds { urls, reply } => {
                let seg =
                    self.segments.admit(&mut self.frontier, 0, urls.iter().map(String::as_str));
                let added = seg.as_ref().map_or(0, |s| s.urls.len());
                if let Some(seg) = seg
                    && self.writer.send(StoreOp::Enqueue(seg)).is_err()
                {
                    tracing::error!("store writer stopped: seeds not persisted");
                }
                let _ = reply.send(added);
            }
            ControlRequest::Stop { immediate } => {
                // The first signal drains, the second stops at once.
                let next = if immediate || self.state == CrawlState::Draining {
                    CrawlState::Stopping
                } else {
                    CrawlState::Draining
                };
                tracing::warn!(state = %next, in_flight = self.leases.len(), "stop requested");
                self.state = next;
            }
        }
    }
}
