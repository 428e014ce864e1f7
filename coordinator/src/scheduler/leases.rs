//! Crash accounting. When a worker dies abnormally, every URL it held is a
//! suspect. Suspects are re-issued *alone* (a worker holding one gets
//! nothing else until it reports), so the next crash is attributed exactly.
//! A URL that has been held by `limit` crashed workers is poison: it is
//! recorded as such and never retried, so one bad page cannot cause a
//! crash loop.

use crate::frontier::Queued;
use std::collections::{HashMap, VecDeque};

/// Crash counts and the suspects waiting to be re-issued alone.
#[derive(Debug, Default)]
pub(crate) struct CrashLedger {
    counts: HashMap<String, u32>,
    suspects: VecDeque<Queued>,
    limit: u32,
}

/// What to do with a URL held by a crashed worker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Re-issue it alone.
    Retry,
    /// Record it as poison after this many crashes.
    Poison(u32),
}

impl CrashLedger {
    pub(crate) fn new(limit: u32) -> Self {
        Self { limit: limit.max(1), ..Self::default() }
    }

    /// Counts a crash against `q` and decides its fate.
    pub(crate) fn crashed(&mut self, q: Queued) -> Verdict {
        let n = self.counts.entry(q.url.clone()).or_default();
        *n += 1;
        if *n >= self.limit {
            let n = *n;
            self.counts.remove(&q.url);
            Verdict::Poison(n)
        } else {
            self.suspects.push_back(q);
            Verdict::Retry
        }
    }

    /// The next suspect to issue alone.
    pub(crate) fn next_suspect(&mut self) -> Option<Queued> {
        self.suspects.pop_front()
    }

    /// Suspects waiting.
    pub(crate) fn waiting(&self) -> usize {
        self.suspects.len()
    }

    /// A URL reported normally is cleared.
    pub(crate) fn cleared(&mut self, url: &str) {
        if !self.counts.is_empty() {
            self.counts.remove(url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(u: &str) -> Queued {
        Queued { url: u.into(), depth: 1, seq: 0, seg: 0 }
    }

    #[test]
    fn poison_after_limit() {
        let mut l = CrashLedger::new(3);
        assert_eq!(l.crashed(q("a")), Verdict::Retry);
        assert_eq!(l.next_suspect(), Some(q("a")));
        assert_eq!(l.crashed(q("a")), Verdict::Retry);
        assert_eq!(l.crashed(q("b")), Verdict::Retry);
        assert_eq!(l.waiting(), 2);
        assert_eq!(l.crashed(q("a")), Verdict::Poison(3));
        l.cleared("b");
        assert_eq!(l.crashed(q("b")), Verdict::Retry, "count restarted after success");
    }
}
