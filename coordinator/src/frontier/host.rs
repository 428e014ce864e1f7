//! One host's queue and politeness state.

use super::Queued;
use super::spill::Spilled;
use crate::politeness::HostPolicy;
use crate::politeness::backoff::Backoff;
use crate::politeness::robots::Rules;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use trawl_common::protocol::FetchOutcome;

impl Host {
    /// Pushes the earliest next start to at least `t`.
    pub(super) fn not_before(&mut self, t: Instant) {
        self.next_at = Some(self.next_at.map_or(t, |n| n.max(t)));
    }

    /// A request to the host started at `t` (or will, at the earliest):
    /// the next may start no sooner than the host's delay after it.
    pub(super) fn delay_from(&mut self, t: Instant) {
        let delay = self.effective_delay();
        if !delay.is_zero() {
            self.not_before(t + delay);
        }
    }
}

/// Index of a host in the frontier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct HostId(pub(super) u32);

impl HostId {
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a host's robots.txt stands.
#[derive(Debug)]
pub(super) enum RobotsState {
    /// Must be fetched before any URL of the host goes out.
    Wanted { attempts: u32 },
    /// A fetch is out.
    Fetching { attempts: u32 },
    /// Known.
    Ready(Rules),
    /// Known once, dropped while the host was idle (memory budget): must
    /// be fetched again before the host's next URL goes out.
    Evicted,
}

#[derive(Debug)]
pub(super) struct Host {
    pub(super) key: String,
    pub(super) origin: String,
    /// URLs in memory, one FIFO per depth.
    queues: BTreeMap<u32, VecDeque<Queued>>,
    len: usize,
    /// URLs waiting on disk (see [`super::spill`]).
    pub(super) spilled: Spilled,
    policy: HostPolicy,
    pub(super) robots: RobotsState,
    pub(super) in_flight: u32,
    /// Earliest time the next request may start (None: any time).
    pub(super) next_at: Option<Instant>,
    /// 429/503 back-off.
    pub(super) backoff: Backoff,
    /// Depth under which it sits in a ready set, if it does.
    pub(super) placed: Option<u32>,
    /// Has an entry in the sleeping heap.
    pub(super) sleeping: bool,
    /// Has an entry in the idle list of hosts holding rules.
    pub(super) idle_listed: bool,
    /// Its robots.txt sitemaps were handed out.
    pub(super) sitemaps_given: bool,
}

impl Host {
    pub(super) fn new(
        key: String,
        origin: String,
        policy: HostPolicy,
        robots: RobotsState,
    ) -> Self {
        Self {
            key,
            origin,
            queues: BTreeMap::new(),
            len: 0,
            spilled: Spilled::default(),
            policy,
            robots,
            in_flight: 0,
            next_at: None,
            backoff: Backoff::default(),
            placed: None,
            sleeping: false,
            idle_listed: false,
            sitemaps_given: false,
        }
    }

    pub(super) fn push(&mut self, q: Queued, front: bool) {
        let queue = self.queues.entry(q.depth).or_default();
        if front {
            queue.push_front(q);
        } else {
            queue.push_back(q);
        }
        self.len += 1;
    }

    pub(super) fn pop(&mut self) -> Option<Queued> {
        let mut entry = self.queues.first_entry()?;
        let q = entry.get_mut().pop_front();
        if entry.get().is_empty() {
            entry.remove();
        }
        if q.is_some() {
            self.len -= 1;
        }
        q
    }

    /// Depth of the next URL in memory.
    pub(super) fn memory_head(&self) -> Option<u32> {
        self.queues.first_key_value().map(|(d, _)| *d)
    }

    /// Depth of the next URL, in memory or on disk.
    pub(super) fn head_depth(&self) -> Option<u32> {
        match (self.memory_head(), self.spilled.head_depth()) {
            (Some(m), Some(s)) => Some(m.min(s)),
            (m, s) => m.or(s),
        }
    }

    /// Should the next URL come from disk? (Memory holds none, or only
    /// deeper ones; at equal depth memory's are older.)
    pub(super) fn next_on_disk(&self) -> bool {
        match (self.memory_head(), self.spilled.head_depth()) {
            (Some(m), Some(s)) => s < m,
            (None, Some(_)) => true,
            (_, None) => false,
        }
    }

    /// URLs waiting, in memory and on disk.
    pub(super) fn len(&self) -> usize {
        self.len + self.spilled.len()
    }

    /// robots.txt known and under the concurrency cap.
    pub(super) fn can_send(&self) -> bool {
        matches!(self.robots, RobotsState::Ready(_)) && self.in_flight < self.policy.per_host
    }

    /// `None` if `url` may be fetched, else the outcome to record.
    pub(super) fn refusal(&self, url: &str) -> Option<FetchOutcome> {
        match &self.robots {
            RobotsState::Ready(r) => r.refusal(url),
            _ => Some(FetchOutcome::Disallowed),
        }
    }

    /// No delay and no concurrency cap: its URLs may wait in buffers.
    pub(super) fn unrestricted(&self) -> bool {
        self.policy.per_host == u32::MAX && self.effective_delay().is_zero()
    }

    /// The configured delay, or the robots.txt `Crawl-delay` if longer.
    pub(super) fn effective_delay(&self) -> Duration {
        let crawl_delay = match &self.robots {
            RobotsState::Ready(r) => r.crawl_delay().unwrap_or_default(),
            _ => Duration::ZERO,
        };
        self.policy.delay.max(crawl_delay)
    }
}
