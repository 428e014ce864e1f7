//! Control requests (API, signals) and what the scheduler does about them.
//!
//! Run controls ([`RunAction`]) move the crawl between states:
//!
//! | action \ state | running | paused | draining | stopping |
//! |---|---|---|---|---|
//! | pause  | paused  | paused  | refused  | refused  |
//! | resume | running | running | refused  | refused  |
//! | stop   | draining | draining | draining | stopping |
//!
//! A paused crawl hands out no leases (`assign` runs only while
//! running); what is in flight finishes and workers stay up. An API stop
//! is the first SIGINT and never escalates to the second.

use super::Scheduler;
use crate::control::{ControlRequest, CrawlState, RunAction, RunChange};
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
            ControlRequest::Run { action, reply } => {
                let result = transition(self.state, action).map(|next| {
                    if next != self.state {
                        tracing::info!(
                            from = %self.state,
                            to = %next,
                            in_flight = self.leases.len(),
                            "crawl {}",
                            next
                        );
                        self.state = next;
                    }
                    RunChange { state: next, in_flight: self.leases.len() as u64 }
                });
                let _ = reply.send(result);
            }
        }
    }
}

/// The state `action` leads to from `state` (the table in the module doc),
/// or why it does not apply.
fn transition(state: CrawlState, action: RunAction) -> Result<CrawlState, String> {
    use CrawlState::{Draining, Finished, Paused, Running, Stopping};
    match (action, state) {
        (RunAction::Pause, Running | Paused) => Ok(Paused),
        (RunAction::Resume, Running | Paused) => Ok(Running),
        (RunAction::Stop, Running | Paused | Draining) => Ok(Draining),
        (RunAction::Stop, Stopping | Finished) => Ok(state),
        (RunAction::Pause, Draining | Stopping | Finished) => {
            Err(format!("the crawl is {state}: it cannot be paused"))
        }
        (RunAction::Resume, Draining | Stopping | Finished) => {
            Err(format!("the crawl is {state}: it cannot be resumed"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_from_every_state() {
        use CrawlState::{Draining, Paused, Running, Stopping};
        let all = [Running, Paused, Draining, Stopping];
        let got: Vec<String> = [RunAction::Pause, RunAction::Resume, RunAction::Stop]
            .into_iter()
            .flat_map(|a| all.map(move |s| (a, s)))
            .map(|(a, s)| match transition(s, a) {
                Ok(next) => format!("{a:?} {s}: {next}"),
                Err(e) => format!("{a:?} {s}: {e}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                "Pause running: paused",
                "Pause paused: paused",
                "Pause draining: the crawl is draining: it cannot be paused",
                "Pause stopping: the crawl is stopping: it cannot be paused",
                "Resume running: running",
                "Resume paused: running",
                "Resume draining: the crawl is draining: it cannot be resumed",
                "Resume stopping: the crawl is stopping: it cannot be resumed",
                "Stop running: draining",
                "Stop paused: draining",
                "Stop draining: draining",
                "Stop stopping: stopping",
            ]
        );
    }
}
