//! Statistics of this run: pages per outcome, bytes, poison, the last few
//! failures and the outcomes over time (for the dashboard), and the status
//! report built from them.

use super::Scheduler;
use super::timeline::{self, Timeline};
use crate::control::{CrawlState, RecentError, StatusReport};
use crate::store::PageRecord;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use trawl_common::protocol::FetchOutcome;

/// Failed pages kept for the status report.
const RECENT_ERRORS: usize = 20;

/// Counters over the records this run stored.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Page records stored (or queued for the writer).
    pub(crate) pages: u64,
    /// Body bytes fetched.
    pub(crate) bytes: u64,
    /// URLs recorded as poison.
    pub(crate) poison: u64,
    /// Pages per outcome kind.
    pub(crate) outcomes: BTreeMap<&'static str, u64>,
    /// The last few pages that did not end `ok`, newest last.
    recent_errors: VecDeque<RecentError>,
    /// Pages per outcome over time.
    timeline: Timeline,
}

impl Stats {
    /// Counts one stored record.
    pub(crate) fn record(&mut self, record: &PageRecord) {
        *self.outcomes.entry(record.outcome.kind()).or_default() += 1;
        crate::api::metrics::observe(record);
        self.pages += 1;
        self.bytes += record.bytes;
        if matches!(record.outcome, FetchOutcome::Poison { .. }) {
            self.poison += 1;
        }
        if !matches!(record.outcome, FetchOutcome::Ok | FetchOutcome::Redirect { .. }) {
            if self.recent_errors.len() == RECENT_ERRORS {
                self.recent_errors.pop_front();
            }
            self.recent_errors.push_back(RecentError {
                url: record.url.clone(),
                outcome: record.outcome.kind().to_owned(),
                status: record.status,
                detail: record.outcome.detail(),
            });
        }
    }
}

impl Stats {
    /// Moves the timeline on to `elapsed` (every tick).
    pub(crate) fn roll(&mut self, elapsed: Duration) {
        self.timeline.roll(elapsed, &self.outcomes);
    }
}

impl Scheduler<'_> {
    /// `GET /api/status`, `trawl status`.
    pub(super) fn status(&self, now: Instant) -> StatusReport {
        let p = self.progress(now);
        let max_pages = self.config.max_pages;
        let eta_secs = max_pages.filter(|_| self.state == CrawlState::Running).and_then(|m| {
            let remaining = m.saturating_sub(self.stored_before + p.pages);
            timeline::eta_secs(remaining, self.stats.timeline.recent_rate(p.elapsed, p.pages))
        });
        StatusReport {
            pid: std::process::id(),
            state: self.state,
            pages: p.pages,
            pages_per_sec: p.pages_per_sec(),
            queued: p.queued,
            queued_on_disk: self.frontier.on_disk() as u64,
            in_flight: p.in_flight,
            discovered: self.frontier.seen() as u64,
            target_workers: self.pool.target(),
            restarts: self.pool.restarts(),
            hung_kills: self.pool.hung_kills(),
            poison: self.stats.poison,
            elapsed_secs: p.elapsed.as_secs_f64(),
            workers: self.pool.status(now),
            outcomes: self.stats.outcomes.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            bytes: self.stats.bytes,
            hosts: self.frontier.top_hosts(20).into_iter().map(|(h, n)| (h, n as u64)).collect(),
            recent_errors: self.stats.recent_errors.iter().cloned().collect(),
            max_pages,
            resumed_pages: self.stored_before,
            eta_secs,
            timeline: self.stats.timeline.report(p.elapsed, &self.stats.outcomes),
        }
    }
}
