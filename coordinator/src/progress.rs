//! Live counters the scheduler publishes on every tick, for the progress
//! bar and the periodic stats line of `trawl crawl`.

use std::collections::BTreeMap;
use std::time::Duration;

/// Outcomes that count as a page fetched; every other one is an error.
pub const SUCCESS_OUTCOMES: &[&str] = &["ok", "not_html", "redirect", "not_modified"];

/// A snapshot of the crawl.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Page records stored (or queued for the writer).
    pub pages: u64,
    /// URLs waiting in the frontier.
    pub queued: u64,
    /// Leases handed out and not yet reported.
    pub in_flight: u64,
    /// Worker processes alive.
    pub workers: u32,
    /// Workers restarted after dying.
    pub restarts: u32,
    /// Time since the crawl started.
    pub elapsed: Duration,
    /// Pages of this run whose outcome is not a success
    /// ([`SUCCESS_OUTCOMES`]).
    pub errors: u64,
    /// Pages stored by earlier runs on the store (they count towards
    /// `--max-pages`).
    pub resumed_pages: u64,
}

impl Progress {
    /// Average pages per second so far.
    pub fn pages_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.pages as f64 / secs } else { 0.0 }
    }

    /// Pages with an outcome other than a success, from pages per outcome.
    pub fn errors_in(outcomes: &BTreeMap<&'static str, u64>) -> u64 {
        outcomes.iter().filter(|(k, _)| !SUCCESS_OUTCOMES.contains(k)).map(|(_, v)| v).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_the_unsuccessful_outcomes() {
        let outcomes: BTreeMap<&'static str, u64> =
            [("ok", 5), ("redirect", 1), ("not_html", 1), ("http_error", 2), ("timeout", 1)].into();
        assert_eq!(Progress::errors_in(&outcomes), 3);
        assert_eq!(Progress::errors_in(&BTreeMap::new()), 0);
    }
}
