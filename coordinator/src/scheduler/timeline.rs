//! Outcomes over time, for the dashboard's chart: page records per outcome
//! kind in 5-second buckets of the crawl's elapsed time (the last five
//! minutes), and the recent rate that gives an ETA toward `--max-pages`.
//!
//! Sync and pure: the scheduler passes the elapsed time and its cumulative
//! outcome counts; a bucket's counts are the difference between the totals
//! when it closed and when it opened.

use crate::control::{OutcomeTimeline, TimelineBucket};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Width of a bucket.
pub(crate) const BUCKET_SECS: u64 = 5;
/// Buckets reported (5 minutes).
const KEEP: u64 = 60;
/// Complete buckets the recent rate is taken over (30 s).
const RATE_WINDOW: u64 = 6;

type Counts = BTreeMap<&'static str, u64>;

/// The closed buckets and the one filling now.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    /// Closed buckets that had pages, oldest first: (index, counts).
    closed: VecDeque<(u64, Counts)>,
    /// Index of the bucket filling now.
    open: u64,
    /// Cumulative counts when the open bucket began.
    mark: Counts,
}

fn index(elapsed: Duration) -> u64 {
    elapsed.as_secs() / BUCKET_SECS
}

/// `now - then`, per kind, leaving out kinds that did not move.
fn diff(now: &Counts, then: &Counts) -> Counts {
    now.iter()
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(then.get(k).copied().unwrap_or(0));
            (d > 0).then_some((*k, d))
        })
        .collect()
}

impl Timeline {
    /// Closes the open bucket once `elapsed` has left it; `totals` are the
    /// cumulative counts now. Called every scheduler tick, so a page lands
    /// at most a tick late.
    pub(crate) fn roll(&mut self, elapsed: Duration, totals: &Counts) {
        let now = index(elapsed);
        if now <= self.open {
            return;
        }
        let counts = diff(totals, &self.mark);
        if !counts.is_empty() {
            self.closed.push_back((self.open, counts));
        }
        self.open = now;
        self.mark = totals.clone();
        while self.closed.front().is_some_and(|(i, _)| i + KEEP <= now) {
            self.closed.pop_front();
        }
    }

    /// The last [`KEEP`] buckets up to `elapsed`, empty ones included.
    pub(crate) fn report(&self, elapsed: Duration, totals: &Counts) -> OutcomeTimeline {
        let last = index(elapsed).max(self.open);
        let first = (last + 1).saturating_sub(KEEP);
        let open = diff(totals, &self.mark);
        let buckets = (first..=last)
            .map(|i| {
                let counts = if i == self.open {
                    Some(&open)
                } else {
                    self.closed.iter().find(|(j, _)| *j == i).map(|(_, c)| c)
                };
                TimelineBucket {
                    start_secs: i * BUCKET_SECS,
                    outcomes: counts
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| ((*k).to_owned(), *v))
                        .collect(),
                }
            })
            .collect();
        OutcomeTimeline { bucket_secs: BUCKET_SECS, buckets }
    }

    /// Pages per second over the last [`RATE_WINDOW`] complete buckets;
    /// before the first bucket closes, the average so far (`pages` in
    /// `elapsed`).
    pub(crate) fn recent_rate(&self, elapsed: Duration, pages: u64) -> f64 {
        let window = self.open.min(RATE_WINDOW);
        if window == 0 {
            let secs = elapsed.as_secs_f64();
            return if secs > 0.0 { pages as f64 / secs } else { 0.0 };
        }
        let since = self.open - window;
        let n: u64 =
            self.closed.iter().filter(|(i, _)| *i >= since).flat_map(|(_, c)| c.values()).sum();
        n as f64 / (window * BUCKET_SECS) as f64
    }
}

/// Seconds to go through `remaining` pages at `rate`, if it moves at all.
pub(crate) fn eta_secs(remaining: u64, rate: f64) -> Option<f64> {
    if remaining == 0 {
        Some(0.0)
    } else if rate > 0.0 {
        Some(remaining as f64 / rate)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn counts(ok: u64, err: u64) -> Counts {
        [("ok", ok), ("http_error", err)].into_iter().filter(|(_, v)| *v > 0).collect()
    }

    #[test]
    fn buckets_hold_the_pages_of_their_five_seconds() {
        let mut t = Timeline::default();
        t.roll(secs(1), &counts(3, 0));
        t.roll(secs(6), &counts(5, 1)); // bucket 0 closes with 5 ok, 1 error
        t.roll(secs(17), &counts(9, 1)); // bucket 1: 4 ok; bucket 2 empty
        let r = t.report(secs(18), &counts(10, 2));
        assert_eq!(r.bucket_secs, 5);
        let got: Vec<(u64, Vec<(&str, u64)>)> = r
            .buckets
            .iter()
            .map(|b| (b.start_secs, b.outcomes.iter().map(|(k, v)| (k.as_str(), *v)).collect()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, vec![("http_error", 1), ("ok", 5)]),
                (5, vec![("ok", 4)]),
                (10, vec![]),
                (15, vec![("http_error", 1), ("ok", 1)]),
            ]
        );
    }

    #[test]
    fn only_the_last_five_minutes_are_kept() {
        let mut t = Timeline::default();
        for s in 0..=400 {
            t.roll(secs(s), &counts(s, 0));
        }
        let r = t.report(secs(400), &counts(400, 0));
        assert_eq!(r.buckets.len(), 60);
        assert_eq!(r.buckets[0].start_secs, 105);
        assert_eq!(r.buckets[59].start_secs, 400);
        assert!(t.closed.len() <= 60, "{}", t.closed.len());
        assert!(r.buckets[..59].iter().all(|b| b.outcomes["ok"] == 5), "{r:?}");
    }

    #[test]
    fn the_rate_is_recent_and_falls_to_zero_when_pages_stop() {
        let mut t = Timeline::default();
        assert!((t.recent_rate(secs(2), 10) - 5.0).abs() < 1e-9, "average before a bucket closes");
        // 100 pages per bucket (20/s) for a minute, then nothing.
        for b in 1..=12 {
            t.roll(secs(b * 5), &counts(b * 100, 0));
        }
        assert!((t.recent_rate(secs(60), 1200) - 20.0).abs() < 1e-9);
        t.roll(secs(95), &counts(1200, 0));
        assert_eq!(t.recent_rate(secs(95), 1200), 0.0);
        assert_eq!(eta_secs(100, 0.0), None);
        assert_eq!(eta_secs(100, 20.0), Some(5.0));
        assert_eq!(eta_secs(0, 0.0), Some(0.0));
    }
}
