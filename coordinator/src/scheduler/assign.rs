//! Handing out work, never beyond a worker's credits: robots.txt fetches
//! first, then sitemaps, then crash suspects (alone, to an idle worker),
//! then pages round-robin. URLs of hosts with a delay (and robots.txt
//! fetches, which count as requests to their host) go only into free
//! request slots, where they start at once, so the delay holds at the
//! server.

use super::Scheduler;
use super::lease_table::InFlight;
use super::report::unfetched_record;
use crate::control::CrawlState;
use crate::error::CoordinatorError;
use crate::frontier::{Feedback, Popped};
use std::time::Instant;
use trawl_common::ids::WorkerId;
use trawl_common::protocol::{Lease, ToWorker};

/// What one worker is sent this turn.
struct Plan {
    worker: WorkerId,
    /// Leases it already holds.
    held: usize,
    /// Leases it may still be sent.
    credits: usize,
    /// Leases to send.
    batch: Vec<Lease>,
    /// The batch is one crash suspect, to be held alone.
    solo: bool,
}

impl Plan {
    fn has_credit(&self) -> bool {
        self.batch.len() < self.credits
    }

    /// A request slot is free, so a lease sent now starts at once.
    fn free_slot(&self, concurrency: usize) -> bool {
        self.held + self.batch.len() < concurrency
    }
}

impl Scheduler<'_> {
    /// One assignment turn (see the module doc).
    pub(super) fn assign(&mut self, now: Instant) -> Result<(), CoordinatorError> {
        if self.state != CrawlState::Running {
            return Ok(());
        }
        let concurrency = self.config.concurrency as usize;
        let mut plans: Vec<Plan> = self
            .pool
            .accepting()
            .map(|(worker, s)| Plan {
                worker,
                held: s.leases.len(),
                credits: s.credits as usize,
                batch: Vec::new(),
                solo: false,
            })
            .collect();
        // Cluster mode: past the leases' local deadline, no request goes
        // out at all: robots.txt, sitemaps and crash suspects neither (a
        // link to a new host admitted from a late report asks for its
        // robots.txt; seen at the site 2.05 s after a network cut, past a
        // 2 s lease).
        // The deadline is a safety bound, so it is checked against the
        // clock read now, not the loop's `now` (an iteration slowed by a
        // large takeover event or a loaded machine must not hand out work
        // on a reading from before the deadline).
        let paused = self.cluster.as_ref().is_some_and(|c| c.paused(now.max(Instant::now())));
        for plan in &mut plans {
            if !paused {
                self.plan_special(plan, now, concurrency);
            }
        }
        // Pages round-robin, one lease per worker per round, so work spreads
        // over the pool instead of filling the first worker's buffer.
        // Cluster mode: past the leases' local deadline, no page goes out.
        let mut progress = !paused;
        while progress && !self.limit_reached() {
            progress = false;
            for plan in &mut plans {
                if plan.solo || !plan.has_credit() || self.limit_reached() {
                    continue;
                }
                match self.frontier.pop(now, plan.free_slot(concurrency))? {
                    // Cluster mode: a URL of a partition no longer held is
                    // dropped (its new owner has it queued).
                    Some(Popped::Fetch(q))
                        if self.cluster.as_mut().is_some_and(|c| !c.keep(&q)) =>
                    {
                        self.frontier.complete(&q.url, now, Feedback::default());
                        progress = true;
                    }
                    Some(Popped::Unfetched(q, _))
                        if self.cluster.as_mut().is_some_and(|c| !c.keep(&q)) =>
                    {
                        progress = true;
                    }
                    Some(Popped::Fetch(q)) => {
                        plan.batch.push(self.issue_page(q));
                        progress = true;
                    }
                    Some(Popped::Unfetched(q, outcome)) => {
                        self.store(unfetched_record(&q, outcome), Some(&q), None, None)?;
                        progress = true;
                    }
                    None => {}
                }
            }
        }
        for plan in plans {
            if plan.batch.is_empty() {
                continue;
            }
            let Some(slot) = self.pool.get_mut(plan.worker) else { continue };
            slot.credits -= u32::try_from(plan.batch.len()).unwrap_or(slot.credits);
            slot.solo = plan.solo;
            slot.leases.extend(plan.batch.iter().map(|l| l.id));
            // A failed send means the worker died; its Closed event re-queues.
            let _ = slot.link.send(ToWorker::Assign(plan.batch));
        }
        Ok(())
    }

    /// Robots.txt fetches, sitemaps, and a crash suspect for an idle worker.
    fn plan_special(&mut self, plan: &mut Plan, now: Instant, concurrency: usize) {
        while plan.has_credit() && plan.free_slot(concurrency) {
            let Some((host, url)) = self.frontier.robots_wanted(now) else { break };
            tracing::debug!(host = %host, "fetching robots.txt");
            plan.batch.push(self.leases.issue(InFlight::Robots { host, url }));
        }
        while plan.has_credit() {
            let Some(url) = self.sitemaps.next() else { break };
            tracing::debug!(url = %url, "fetching sitemap");
            plan.batch.push(self.leases.issue(InFlight::Sitemap { url }));
        }
        if plan.held == 0
            && plan.batch.is_empty()
            && !self.limit_reached()
            && let Some(q) = self.crashes.next_suspect()
            // A suspect of a partition lost meanwhile is its new owner's.
            && self.cluster.as_mut().is_none_or(|c| c.keep_url(&q.url))
        {
            plan.batch.push(self.issue_page(q));
            plan.solo = true;
        }
    }
}
