//! The frontier: which URLs have been seen, which wait, and which host may
//! be asked next. Sync and free of I/O; the current time is passed in.
//!
//! URLs wait in per-host queues, breadth-first within a host (one FIFO per
//! depth). Across hosts, the host whose next URL is shallowest goes first,
//! among the hosts that politeness lets go now: under its concurrency cap,
//! past its delay and back-off, and with its robots.txt known. Hosts that
//! must wait sleep in a timer heap; hosts at their cap wake when a lease
//! completes.
//!
//! Every admitted URL gets a sequence number; (depth, seq) is also its key
//! in the store's persistent queue, so the frontier can be rebuilt exactly
//! on resume.
//!
//! Memory is bounded: past a budget of URLs, new ones wait only on disk
//! and are read back host by host as their turn comes ([`spill`]).

mod host;
mod robots;
mod seen;
mod spill;

pub use seen::{Seen, fingerprint};
pub use spill::{NoDisk, SegmentSource};

use crate::politeness::robots::Rules;
use crate::politeness::{HostPolicy, PolitenessConfig, backoff};
use host::{Host, HostId, RobotsState};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};
use trawl_common::protocol::FetchOutcome;

/// A URL waiting to be fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Normalized URL.
    pub url: String,
    /// Link distance from the seeds.
    pub depth: u32,
    /// Admission order.
    pub seq: u64,
    /// First seq of the persisted segment it belongs to; with `depth`,
    /// the segment's key in the store.
    pub seg: u64,
}

/// What [`Frontier::pop`] hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Popped {
    /// Fetch it.
    Fetch(Queued),
    /// Record it with this outcome, don't fetch: robots.txt forbids it
    /// (`disallowed`) or could not be had (`robots_unreachable`).
    Unfetched(Queued, FetchOutcome),
}

/// How a fetch went, as far as politeness cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct Feedback {
    /// HTTP status, if any.
    pub status: Option<u16>,
    /// Server's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// A time by which the lease's last request to the host had surely
    /// started at the server (the worker reads it when the answer is
    /// back; `None`: no request went out). The host's delay runs from it, so a request
    /// that started late after it was leased does not shorten the gap to
    /// the next one. A lease lost with its worker passes the time of the
    /// loss: its request, if any, started before that.
    pub started: Option<Instant>,
}

pub use trawl_common::url::{authority, origin};

/// The segment id of an entry no local segment holds (a cluster
/// partition's URL, queued in PostgreSQL): never spilled, since it could
/// not be read back.
pub const UNPERSISTED: u64 = u64::MAX;

/// Seen-set, per-host queues and politeness state; `S` reads spilled URLs
/// back from disk.
#[derive(Debug)]
pub struct Frontier<S: SegmentSource = NoDisk> {
    seen: Seen,
    next_seq: u64,
    hosts: Vec<Host>,
    host_ids: HashMap<String, HostId>,
    /// Hosts that may go now: (depth of their next URL, host). `free`
    /// hosts have no delay and no cap, so their URLs may wait in a worker's
    /// prefetch buffer; `timed` hosts must be fetched the moment they are
    /// leased (so the delay holds at the server, and a buffered lease does
    /// not hold a slot of the host's cap).
    free: BTreeSet<(u32, HostId)>,
    timed: BTreeSet<(u32, HostId)>,
    sleeping: BinaryHeap<Reverse<(Instant, HostId)>>,
    robots_wanted: VecDeque<HostId>,
    /// robots.txt rules held, and what may be held ([`robots`]).
    rules: robots::RulesMemory,
    /// URLs waiting, in memory and on disk.
    queued: usize,
    /// URLs waiting in memory.
    in_memory: usize,
    /// At most this many in memory (new ones past it wait on disk).
    budget: usize,
    /// Most URLs ever waiting on disk at once.
    peak_on_disk: usize,
    source: S,
    config: PolitenessConfig,
}

impl Frontier {
    /// An empty frontier with these politeness rules that keeps every URL
    /// in memory.
    pub fn new(config: PolitenessConfig) -> Self {
        Self::with_disk(config, usize::MAX, NoDisk)
    }
}

impl<S: SegmentSource> Frontier<S> {
    /// An empty frontier that keeps at most `budget` waiting URLs in
    /// memory; the others wait in their persisted segments and are read
    /// back through `source`.
    pub fn with_disk(config: PolitenessConfig, budget: usize, source: S) -> Self {
        Self {
            seen: Seen::default(),
            next_seq: 0,
            hosts: Vec::new(),
            host_ids: HashMap::new(),
            free: BTreeSet::new(),
            timed: BTreeSet::new(),
            sleeping: BinaryHeap::new(),
            robots_wanted: VecDeque::new(),
            rules: robots::RulesMemory::default(),
            queued: 0,
            in_memory: 0,
            budget,
            peak_on_disk: 0,
            source,
            config,
        }
    }

    fn host_id(&mut self, url: &str) -> HostId {
        let key = authority(url);
        if let Some(id) = self.host_ids.get(key) {
            return *id;
        }
        let id = HostId(u32::try_from(self.hosts.len()).unwrap_or(u32::MAX));
        let policy: HostPolicy = self.config.policy_for(key);
        let robots = if !self.config.robots {
            RobotsState::Ready(Rules::AllowAll)
        } else if let Some(rules) = self.rules.take_known(key) {
            // Fetched by another machine (cluster takeover).
            RobotsState::Ready(rules)
        } else {
            self.robots_wanted.push_back(id);
            RobotsState::Wanted { attempts: 0 }
        };
        self.hosts.push(Host::new(key.to_owned(), origin(url).to_owned(), policy, robots));
        self.host_ids.insert(key.to_owned(), id);
        id
    }

    /// The seq the next admitted URL will get: the id of a segment that
    /// starts now.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Admits `url` at `depth`, as part of segment `seg`, unless it was seen
    /// before; returns whether it was new. URLs admitted in a row get
    /// consecutive seqs, starting at [`Frontier::next_seq`].
    pub fn push(&mut self, url: &str, depth: u32, seg: u64) -> bool {
        if !self.seen.insert(url) {
            return false;
        }
        let q = Queued { url: url.to_owned(), depth, seq: self.next_seq, seg };
        self.next_seq += 1;
        self.enqueue(q, false);
        true
    }

    /// Was `url` admitted or marked seen?
    pub fn is_seen(&self, url: &str) -> bool {
        self.seen.contains(url)
    }

    /// Restores a persisted entry (resume). Its seq is kept.
    pub fn restore(&mut self, q: Queued) {
        self.seen.insert(&q.url);
        self.next_seq = self.next_seq.max(q.seq + 1);
        self.enqueue(q, false);
    }

    /// Keeps seqs unique after a resume that restored nothing from `seq`.
    pub fn reserve_seq(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// Marks `url` as seen without queueing it (it is already stored).
    pub fn mark_seen(&mut self, url: &str) {
        self.seen.insert(url);
    }

    /// Puts back a URL whose lease was lost; it goes first in its host.
    pub fn requeue(&mut self, q: Queued) {
        self.enqueue(q, true);
    }

    fn enqueue(&mut self, q: Queued, front: bool) {
        let id = self.host_id(&q.url);
        self.rules_needed(id);
        let host = &mut self.hosts[id.index()];
        // A re-queued URL was in memory a moment ago; a new one spills when
        // memory is full, or when its host already spills (to keep the
        // host's order). One with no persisted segment (queued elsewhere:
        // a cluster partition's queue in PostgreSQL) could not be read
        // back, so it stays in memory, ahead of its host's spilled URLs.
        let spill =
            q.seg != UNPERSISTED && (!host.spilled.is_empty() || self.in_memory >= self.budget);
        if !front && spill {
            host.spilled.push(&q);
            self.peak_on_disk = self.peak_on_disk.max(self.on_disk() + 1);
        } else {
            host.push(q, front);
            self.in_memory += 1;
        }
        self.queued += 1;
        self.place(id, None);
    }

    /// Reads host `id`'s URLs back from disk while its next one is there.
    fn fill(&mut self, id: HostId) -> Result<(), S::Error> {
        let host = &mut self.hosts[id.index()];
        while host.next_on_disk() {
            let Some((depth, run)) = host.spilled.take() else { break };
            let loaded = spill::load(&mut self.source, &host.key, depth, run)?;
            // URLs stored since they were spilled (resume) are gone.
            self.queued -= (run.count as usize).saturating_sub(loaded.len());
            self.in_memory += loaded.len();
            for q in loaded {
                host.push(q, false);
            }
        }
        Ok(())
    }

    /// Re-files host `id` among the ready, sleeping or blocked hosts.
    fn place(&mut self, id: HostId, now: Option<Instant>) {
        let host = &mut self.hosts[id.index()];
        if let Some(d) = host.placed.take() {
            self.free.remove(&(d, id));
            self.timed.remove(&(d, id));
        }
        let Some(depth) = host.head_depth() else { return };
        if !host.can_send() {
            return;
        }
        let now = now.unwrap_or_else(Instant::now);
        if let Some(at) = host.next_at
            && at > now
        {
            if !host.sleeping {
                host.sleeping = true;
                self.sleeping.push(Reverse((at, id)));
            }
            return;
        }
        host.placed = Some(depth);
        if host.unrestricted() {
            self.free.insert((depth, id));
        } else {
            self.timed.insert((depth, id));
        }
    }

    fn wake(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.sleeping.peek().copied() {
            if at > now {
                break;
            }
            self.sleeping.pop();
            let host = &mut self.hosts[id.index()];
            host.sleeping = false;
            if let Some(next) = host.next_at
                && next > now
            {
                // Pushed back again since this entry was made.
                host.sleeping = true;
                self.sleeping.push(Reverse((next, id)));
            } else {
                self.place(id, Some(now));
            }
        }
    }

    /// The next URL to hand out, if any host may be asked now. With
    /// `immediate` false, only hosts without a delay qualify (their URLs
    /// may wait in a worker's buffer without breaking the delay). Fails
    /// only if spilled URLs cannot be read back.
    pub fn pop(&mut self, now: Instant, immediate: bool) -> Result<Option<Popped>, S::Error> {
        self.wake(now);
        loop {
            let free = self.free.first().copied();
            let timed = if immediate { self.timed.first().copied() } else { None };
            let (_, id) = match (free, timed) {
                (Some(f), Some(t)) => f.min(t),
                (Some(f), None) => f,
                (None, Some(t)) => t,
                (None, None) => return Ok(None),
            };
            self.fill(id)?;
            let host = &mut self.hosts[id.index()];
            let Some(q) = host.pop() else {
                // All it had on disk was stored meanwhile (resume).
                self.place(id, Some(now));
                continue;
            };
            self.queued -= 1;
            self.in_memory -= 1;
            let refusal = host.refusal(&q.url);
            if refusal.is_none() {
                host.in_flight += 1;
                // The request starts at `now` at the earliest; when it
                // really started is known at completion ([`Feedback`]).
                host.delay_from(now);
            }
            self.maybe_idle(id);
            self.place(id, Some(now));
            return Ok(Some(match refusal {
                None => Popped::Fetch(q),
                Some(outcome) => Popped::Unfetched(q, outcome),
            }));
        }
    }

    /// A lease of `url` ended (reported, or its worker died). The host's
    /// next request may start no sooner than its delay after this one
    /// really started (`fb.started`), whatever the dispatch latency: with
    /// one request at a time per host, the next is leased only after this
    /// report, so the delay holds between request starts at the server.
    pub fn complete(&mut self, url: &str, now: Instant, fb: Feedback) {
        let Some(&id) = self.host_ids.get(authority(url)) else { return };
        let host = &mut self.hosts[id.index()];
        host.in_flight = host.in_flight.saturating_sub(1);
        if let Some(started) = fb.started {
            host.delay_from(started);
        }
        if backoff::is_throttle(fb.status) {
            let until = host.backoff.throttled(now, fb.retry_after);
            host.not_before(until);
            tracing::info!(
                host = %host.key,
                backoff_ms = until.saturating_duration_since(now).as_millis(),
                "host throttled us: backing off"
            );
        } else if fb.status.is_some() {
            host.backoff.reset();
        }
        self.maybe_idle(id);
        self.place(id, Some(now));
    }

    /// A request to `url`'s host may have started at `started` elsewhere
    /// (cluster mode: another machine owned the host until then); its
    /// next request here waits the host's delay from it. A host not known
    /// here is left alone.
    pub fn delay_host_from(&mut self, url: &str, started: Instant) {
        let Some(&id) = self.host_ids.get(authority(url)) else { return };
        self.hosts[id.index()].delay_from(started);
        self.place(id, None);
    }

    /// When the next sleeping host wakes (or robots.txt retry is due).
    pub fn next_wake(&self) -> Option<Instant> {
        let sleeper = self.sleeping.peek().map(|Reverse((at, _))| *at);
        match (sleeper, self.next_robots_retry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Hosts known.
    pub fn hosts(&self) -> usize {
        self.hosts.len()
    }

    /// URLs waiting.
    pub fn len(&self) -> usize {
        self.queued
    }

    /// Nothing waiting?
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// URLs waiting on disk only (the rest of [`Frontier::len`] is in
    /// memory).
    pub fn on_disk(&self) -> usize {
        self.queued - self.in_memory
    }

    /// Most URLs that ever waited on disk at once.
    pub fn peak_on_disk(&self) -> usize {
        self.peak_on_disk
    }

    /// URLs ever admitted or marked.
    pub fn seen(&self) -> usize {
        self.seen.len()
    }

    /// Per-host queue depth, deepest first, at most `n` hosts.
    pub fn top_hosts(&self, n: usize) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> =
            self.hosts.iter().filter(|h| h.len() > 0).map(|h| (h.key.clone(), h.len())).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod delay_tests;
#[cfg(test)]
mod tests;
