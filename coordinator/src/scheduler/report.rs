//! How a lease ends: its worker's report (robots.txt rules, sitemap URLs,
//! or a page record with its new links), or the worker's death (the lease
//! is re-issued, alone or not, or the URL becomes poison; see
//! `crashes.rs`). Also the one place records reach the store writer.

use super::Scheduler;
use super::crashes::{Blame, Verdict};
use super::lease_table::InFlight;
use crate::control::CrawlState;
use crate::error::CoordinatorError;
use crate::frontier::{Feedback, Queued};
use crate::store::{PageRecord, Segment, StoreOp};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use trawl_common::ids::WorkerId;
use trawl_common::protocol::{FetchOutcome, PageReport, ToCoordinator};

impl Scheduler<'_> {
    pub(super) fn on_message(
        &mut self,
        id: WorkerId,
        msg: ToCoordinator,
        now: Instant,
    ) -> Result<(), CoordinatorError> {
        let Some(slot) = self.pool.get_mut(id) else { return Ok(()) };
        slot.seen(now);
        match msg {
            ToCoordinator::Credit(n) => slot.credits = slot.credits.saturating_add(n),
            ToCoordinator::Reports { reports, credit } => {
                slot.credits = slot.credits.saturating_add(credit);
                for r in reports {
                    self.on_report(id, r, now)?;
                }
                self.pool.recycle_if_due(id, now);
            }
            ToCoordinator::Heartbeat { rss_bytes } => slot.note_rss(rss_bytes),
            ToCoordinator::Goodbye => tracing::debug!(worker_id = %id, "worker said goodbye"),
            ToCoordinator::Hello(_) => tracing::warn!(worker_id = %id, "unexpected second hello"),
        }
        Ok(())
    }

    fn on_report(
        &mut self,
        id: WorkerId,
        r: PageReport,
        now: Instant,
    ) -> Result<(), CoordinatorError> {
        let Some(lease) = self.leases.take(r.lease) else {
            tracing::warn!(worker_id = %id, lease_id = %r.lease, "report for unknown lease");
            return Ok(());
        };
        if let Some(slot) = self.pool.get_mut(id) {
            slot.leases.remove(&r.lease);
            if slot.leases.is_empty() {
                slot.solo = false;
            }
        }
        match lease {
            InFlight::Page(q) => self.on_page(id, q, r, now),
            InFlight::Robots { host, .. } => {
                let fetch = crate::politeness::robots::RobotsFetch::from_report(&r);
                tracing::info!(host = %host, status = ?r.status, outcome = r.outcome.kind(), "robots.txt");
                let started = request_start(&r);
                let sitemaps = self.frontier.robots_done(&host, &fetch, started, now);
                if self.config.sitemaps {
                    self.sitemaps.want(sitemaps, &self.config.scope);
                }
                Ok(())
            }
            InFlight::Sitemap { url } => {
                tracing::debug!(url = %url, pages = r.links.len(), outcome = r.outcome.kind(), "sitemap");
                if let Some(seg) =
                    self.segments.admit(&mut self.frontier, 0, r.links.iter().map(String::as_str))
                {
                    self.writer.send(StoreOp::Enqueue(seg))?;
                }
                self.sitemaps.want(r.sitemaps, &self.config.scope);
                Ok(())
            }
        }
    }

    fn on_page(
        &mut self,
        id: WorkerId,
        q: Queued,
        mut r: PageReport,
        now: Instant,
    ) -> Result<(), CoordinatorError> {
        if let Some(slot) = self.pool.get_mut(id) {
            slot.pages += 1;
        }
        self.frontier.complete(
            &q.url,
            now,
            Feedback {
                status: r.status,
                retry_after: r.retry_after_secs.map(|s| Duration::from_secs(u64::from(s))),
                started: request_start(&r),
            },
        );
        self.crashes.cleared(&q.url);
        if crate::politeness::backoff::retry_throttled(r.status, r.retry_after_secs) {
            // The host asked us to slow down: it is backed off (above) for
            // every worker, and the URL is tried again after the back-off,
            // up to --retries times, before its 429/503 is stored (at once
            // if its Retry-After is longer than politeness::backoff::CAP).
            let tries = self.throttled.entry(q.url.clone()).or_default();
            if *tries < self.config.fetch.retries {
                *tries += 1;
                tracing::debug!(url = %q.url, tries = *tries, "throttled: re-queued");
                self.frontier.requeue(q);
                return Ok(());
            }
        }
        // Requests made = the worker's attempts plus earlier throttled tries.
        let throttled = self.throttled.remove(&q.url).unwrap_or(0);
        r.attempts = r.attempts.saturating_add(throttled);
        if !self.redirects.on_report(&q.url, &mut r.outcome, &r.links) {
            r.links.clear();
        }
        // A redirect hop is not a link level: its target keeps the depth.
        let child_depth = match r.outcome {
            FetchOutcome::Redirect { .. } => q.depth,
            _ => q.depth + 1,
        };
        let enqueue = if self.config.max_depth.is_none_or(|m| child_depth <= m) {
            if let Some(c) = &mut self.cluster {
                c.split_links(&mut r.links, child_depth);
            }
            self.segments.admit(&mut self.frontier, child_depth, r.links.iter().map(String::as_str))
        } else {
            None
        };
        tracing::trace!(worker_id = %id, url = %r.url, outcome = r.outcome.kind(), "page");
        let body = r.body.take().map(serde_bytes::ByteBuf::into_vec);
        // The response head goes just before its body (a crash between
        // the two leaves a harmless head without a page).
        if let (Some(_), Some(head)) = (&body, r.response.take()) {
            self.writer.send(StoreOp::Head { url: r.url.clone(), head: Box::new(head) })?;
        }
        self.store(PageRecord::from_report(r, id.0), Some(&q), enqueue, body)
    }

    /// A worker's channel closed: every lease it still held comes back.
    /// Robots.txt and sitemap fetches are simply wanted again. Pages go
    /// back to the frontier if the worker drained cleanly, the crawl is
    /// stopping, or its death was not their fault; otherwise each is a
    /// crash suspect (re-issued alone) or, after `crash_limit`, poison.
    pub(super) fn on_closed(&mut self, id: WorkerId, now: Instant) -> Result<(), CoordinatorError> {
        let Some(closed) = self.pool.on_closed(id, now) else { return Ok(()) };
        let innocent =
            closed.clean || closed.blame == Blame::Outside || self.state == CrawlState::Stopping;
        for lease_id in closed.leases {
            let Some(lease) = self.leases.take(lease_id) else { continue };
            let q = match lease {
                InFlight::Page(q) => q,
                InFlight::Robots { host, .. } => {
                    self.frontier.robots_lost(&host, now);
                    continue;
                }
                InFlight::Sitemap { url } => {
                    self.sitemaps.lost(url);
                    continue;
                }
            };
            // Its request, if any, started before now.
            self.frontier.complete(
                &q.url,
                now,
                Feedback { started: Some(now), ..Feedback::default() },
            );
            if innocent {
                self.frontier.requeue(q);
                continue;
            }
            if let Verdict::Poison(crashes) = self.crashes.crashed(q.clone()) {
                tracing::warn!(url = %q.url, crashes, "poison page: not retried");
                self.store(
                    unfetched_record(&q, FetchOutcome::Poison { crashes }),
                    Some(&q),
                    None,
                    None,
                )?;
            }
        }
        Ok(())
    }

    /// Stores a page record, retiring its queue entry and adding the URLs
    /// it led to in the same atomic batch.
    pub(super) fn store(
        &mut self,
        record: PageRecord,
        done: Option<&Queued>,
        enqueue: Option<Segment>,
        body: Option<Vec<u8>>,
    ) -> Result<(), CoordinatorError> {
        self.stats.record(&record);
        let retire = done.and_then(|q| self.segments.stored(q));
        if let Some(c) = &mut self.cluster {
            c.page(&record, enqueue.as_ref(), body.as_deref());
        }
        self.writer.send(StoreOp::Page { record: Box::new(record), retire, enqueue, body })?;
        Ok(())
    }
}

/// When the report's last request started, on this process's monotonic
/// clock (the clocks are read now, wall clock first: see
/// [`crate::politeness::request_start`]).
fn request_start(r: &PageReport) -> Option<Instant> {
    let wall = SystemTime::now();
    r.request_started_us.map(|us| crate::politeness::request_start(us, wall, Instant::now()))
}

/// A record for a URL the coordinator decided about without a fetch.
pub(super) fn unfetched_record(q: &Queued, outcome: FetchOutcome) -> PageRecord {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    PageRecord::unfetched(q.url.clone(), q.depth, now, outcome)
}
