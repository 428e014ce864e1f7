//! Crash accounting. When a worker dies abnormally, every URL it held is a
//! suspect. Suspects are re-issued *alone* (a worker holding one gets
//! nothing else until it reports), so the next crash is attributed exactly.
//! A URL that has been held by `limit` crashed workers is poison: it is
//! recorded as such and never retried, so one bad page cannot cause a
//! crash loop.
//!
//! Only deaths a page can cause count ([`blame`]). The rule:
//! - **counts**: a crash signal (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE,
//!   or any other signal but the two below), a non-zero exit (a panic), a
//!   clean exit nobody asked for, a hang the coordinator itself killed,
//!   and a SIGKILL while the worker's last reported RSS was at least half
//!   of the memory budget (the OOM killer's signature);
//! - **does not count**: SIGKILL or SIGTERM sent from outside (not by the
//!   coordinator's hung-kill) while the worker was well within memory
//!   (last RSS below half the budget). Its URLs are re-queued as if the
//!   worker had drained.
//! - An unknown status (reaping failed) counts, to stay safe.
//!
//! In cluster mode the counts are the cluster's: a takeover preloads the
//! partitions' counts ([`CrashLedger::preload`]), and a suspect is parked
//! until its crash is committed to the database ([`CrashLedger::crashed_parked`],
//! [`CrashLedger::settled`]), so the count survives this machine dying
//! right after the crash and the limit holds across machines.

use crate::frontier::Queued;
use std::collections::{HashMap, VecDeque};
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;

/// Linux signal numbers of the two deaths that come from outside.
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

/// Who is to blame for a worker's death.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blame {
    /// Something it was doing: its URLs are crash suspects.
    Pages,
    /// Someone else (an outside kill): its URLs are re-queued, uncounted.
    Outside,
}

/// What is known about a death when the worker's channel closes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Death {
    /// Its exit status, if it could be collected.
    pub(crate) status: Option<ExitStatus>,
    /// The coordinator killed it for missing heartbeats.
    pub(crate) hung_kill: bool,
    /// Its last reported resident set size, bytes.
    pub(crate) last_rss: u64,
    /// Memory a worker may use (machine or cgroup), if known.
    pub(crate) budget: Option<u64>,
}

/// The rule of the module doc: does this death count against the URLs the
/// worker held?
pub(crate) fn blame(d: Death) -> Blame {
    if d.hung_kill {
        return Blame::Pages;
    }
    let Some(signal) = d.status.and_then(|s| s.signal()) else { return Blame::Pages };
    let within_memory = d.budget.is_some_and(|b| d.last_rss < b / 2);
    match signal {
        SIGTERM if within_memory => Blame::Outside,
        SIGKILL if within_memory => Blame::Outside,
        _ => Blame::Pages,
    }
}

/// Crash counts and the suspects waiting to be re-issued alone.
#[derive(Debug, Default)]
pub(crate) struct CrashLedger {
    counts: HashMap<String, u32>,
    suspects: VecDeque<Queued>,
    /// Suspects whose crash is not yet durable (cluster mode).
    parked: HashMap<String, Queued>,
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

    /// [`crashed`](Self::crashed), but a suspect waits (parked) until
    /// [`settled`](Self::settled) says its crash is durable.
    pub(crate) fn crashed_parked(&mut self, q: Queued) -> Verdict {
        let verdict = self.crashed(q);
        if verdict == Verdict::Retry
            && let Some(q) = self.suspects.pop_back()
        {
            self.parked.insert(q.url.clone(), q);
        }
        verdict
    }

    /// The crash of `url` was committed (`durable`: its suspect may go
    /// out) or fenced (its partition is lost: the suspect is forgotten
    /// here, the new owner has it queued).
    pub(crate) fn settled(&mut self, url: &str, durable: bool) {
        if let Some(q) = self.parked.remove(url) {
            if durable {
                self.suspects.push_back(q);
            } else {
                self.counts.remove(url);
            }
        }
    }

    /// Counts carried over from the database (a takeover): the larger of
    /// the two wins.
    pub(crate) fn preload(&mut self, counts: impl IntoIterator<Item = (String, u32)>) {
        for (url, n) in counts {
            let c = self.counts.entry(url).or_default();
            *c = (*c).max(n);
        }
    }

    /// The next suspect to issue alone.
    pub(crate) fn next_suspect(&mut self) -> Option<Queued> {
        self.suspects.pop_front()
    }

    /// Suspects waiting.
    pub(crate) fn waiting(&self) -> usize {
        self.suspects.len() + self.parked.len()
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

    fn death(raw: i32, hung_kill: bool, last_rss: u64) -> Death {
        Death {
            status: Some(ExitStatus::from_raw(raw)),
            hung_kill,
            last_rss,
            budget: Some(1 << 30),
        }
    }

    #[test]
    fn outside_kills_within_memory_are_not_the_pages_fault() {
        assert_eq!(blame(death(SIGKILL, false, 50 << 20)), Blame::Outside);
        assert_eq!(blame(death(SIGTERM, false, 50 << 20)), Blame::Outside);
    }

    #[test]
    fn crashes_hangs_and_oom_are_the_pages_fault() {
        for sig in [4, 6, 7, 8, 11] {
            assert_eq!(blame(death(sig, false, 50 << 20)), Blame::Pages, "signal {sig}");
        }
        assert_eq!(blame(death(1 << 8, false, 0)), Blame::Pages, "exit 1 (panic)");
        assert_eq!(blame(death(0, false, 0)), Blame::Pages, "unasked clean exit");
        assert_eq!(blame(death(SIGKILL, true, 0)), Blame::Pages, "hung, killed by us");
        assert_eq!(blame(death(SIGKILL, false, 600 << 20)), Blame::Pages, "near the budget");
        let unknown_budget = Death { budget: None, ..death(SIGKILL, false, 0) };
        assert_eq!(blame(unknown_budget), Blame::Pages);
        let unknown_status = Death { status: None, ..death(0, false, 0) };
        assert_eq!(blame(unknown_status), Blame::Pages);
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

    #[test]
    fn parked_suspects_wait_for_their_crash_to_be_durable() {
        let mut l = CrashLedger::new(3);
        assert_eq!(l.crashed_parked(q("a")), Verdict::Retry);
        assert_eq!(l.next_suspect(), None, "not before the count is committed");
        assert_eq!(l.waiting(), 1, "a parked suspect is work left");
        l.settled("a", true);
        assert_eq!(l.next_suspect(), Some(q("a")));
        assert_eq!(l.crashed_parked(q("b")), Verdict::Retry);
        l.settled("b", false);
        assert_eq!((l.next_suspect(), l.waiting()), (None, 0), "fenced: forgotten");
    }

    #[test]
    fn preloaded_counts_carry_on_toward_the_limit() {
        let mut l = CrashLedger::new(3);
        l.preload([("a".to_owned(), 2)]);
        assert_eq!(l.crashed_parked(q("a")), Verdict::Poison(3), "2 elsewhere + 1 here");
        l.crashed(q("b"));
        l.preload([("b".to_owned(), 1)]);
        assert_eq!(l.crashed(q("b")), Verdict::Retry, "the larger count wins, not the sum");
    }
}
