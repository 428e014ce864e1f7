//! The frontier's side of robots.txt: which host's robots.txt to fetch
//! next, what its answer does to the host, and how much memory rules may
//! hold.
//!
//! Memory is bounded across hosts. A host's parsed rules cost about the
//! bytes of its robots.txt (500 KiB at most, plus 16 bytes a
//! rule), so 1,000 hosts with huge files could still hold most of a GiB.
//! Past [`RULES_BUDGET`] bytes held, the rules of idle hosts (nothing
//! queued, nothing in flight; oldest idle first) are dropped, and their
//! robots.txt is fetched again if URLs for them turn up later; if that is
//! not enough, no new robots.txt is fetched until hosts drain. Ordinary
//! robots.txt files (a few KiB) never come near the budget.
//!
//! In cluster mode a takeover hands over the answers the previous owners
//! fetched ([`Frontier::robots_known`]): a host with one is not fetched
//! again.

use super::host::{HostId, RobotsState};
use super::{Frontier, SegmentSource};
use crate::politeness::robots::{RobotsFetch, Rules, Verdict, interpret};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// Bytes of parsed robots.txt rules held at most (before one more host's
/// rules, at most 500 KiB and 16 bytes a rule, are added).
pub(crate) const RULES_BUDGET: usize = 32 * 1024 * 1024;

/// Rules held, and the hosts whose rules could be dropped.
#[derive(Debug)]
pub(super) struct RulesMemory {
    /// Heap bytes of all hosts' rules.
    held: usize,
    /// At most this many (see the module docs).
    budget: usize,
    /// Hosts that went idle holding rules, oldest first. An entry may be
    /// stale (the host got work again): it is checked when used.
    idle: VecDeque<HostId>,
    /// Most bytes ever held.
    peak: usize,
    /// Rules dropped so far.
    evictions: u64,
    /// Known answers of hosts not seen yet (cluster takeover), applied
    /// when the host gets its first URL.
    known: HashMap<String, Rules>,
}

impl Default for RulesMemory {
    fn default() -> Self {
        Self {
            held: 0,
            budget: RULES_BUDGET,
            idle: VecDeque::new(),
            peak: 0,
            evictions: 0,
            known: HashMap::new(),
        }
    }
}

impl RulesMemory {
    /// A known answer for a new host `key`, counted as held.
    pub(super) fn take_known(&mut self, key: &str) -> Option<Rules> {
        let rules = self.known.remove(key)?;
        self.held += rules.heap_bytes();
        self.peak = self.peak.max(self.held);
        Some(rules)
    }
}

impl<S: SegmentSource> Frontier<S> {
    /// Sets the byte budget for robots.txt rules (default [`RULES_BUDGET`]).
    pub fn set_rules_budget(&mut self, bytes: usize) {
        self.rules.budget = bytes;
    }

    /// (bytes of rules held now, most ever held, rules dropped so far).
    pub fn rules_memory(&self) -> (usize, usize, u64) {
        (self.rules.held, self.rules.peak, self.rules.evictions)
    }

    /// Host `id` gets a URL: if its rules were dropped, fetch them again.
    pub(super) fn rules_needed(&mut self, id: HostId) {
        let host = &mut self.hosts[id.index()];
        if matches!(host.robots, RobotsState::Evicted) {
            host.robots = RobotsState::Wanted { attempts: 0 };
            self.robots_wanted.push_back(id);
        }
    }

    /// Host `id` may have gone idle: remember it if it holds rules.
    pub(super) fn maybe_idle(&mut self, id: HostId) {
        let host = &mut self.hosts[id.index()];
        if host.len() == 0
            && host.in_flight == 0
            && !host.idle_listed
            && matches!(host.robots, RobotsState::Ready(Rules::Parsed(_)))
        {
            host.idle_listed = true;
            self.rules.idle.push_back(id);
        }
    }

    /// Drops idle hosts' rules, oldest idle first, until within budget.
    fn evict_idle(&mut self) {
        while self.rules.held > self.rules.budget {
            let Some(id) = self.rules.idle.pop_front() else { return };
            let host = &mut self.hosts[id.index()];
            host.idle_listed = false;
            if host.len() > 0 || host.in_flight > 0 {
                continue;
            }
            if let RobotsState::Ready(rules @ Rules::Parsed(_)) = &host.robots {
                self.rules.held -= rules.heap_bytes();
                self.rules.evictions += 1;
                tracing::debug!(host = %host.key, bytes = rules.heap_bytes(), "robots.txt rules dropped (idle host, over budget)");
                host.robots = RobotsState::Evicted;
            }
        }
    }

    /// Is there room for one more host's rules?
    fn rules_room(&mut self) -> bool {
        if self.rules.held > self.rules.budget {
            self.evict_idle();
        }
        self.rules.held <= self.rules.budget
    }

    /// A host whose robots.txt must be fetched now: (host, robots.txt
    /// URL). Each is returned once per attempt, and not before the host's
    /// retry back-off has passed, nor while rules fill their budget. The
    /// fetch counts as a request to the host: the host's delay runs from
    /// it.
    pub fn robots_wanted(&mut self, now: Instant) -> Option<(String, String)> {
        if !self.robots_wanted.is_empty() && !self.rules_room() {
            return None;
        }
        for _ in 0..self.robots_wanted.len() {
            let id = self.robots_wanted.pop_front()?;
            let host = &mut self.hosts[id.index()];
            let RobotsState::Wanted { attempts } = host.robots else { continue };
            if host.next_at.is_some_and(|t| t > now) {
                self.robots_wanted.push_back(id);
                continue;
            }
            host.robots = RobotsState::Fetching { attempts: attempts + 1 };
            host.delay_from(now);
            return Some((host.key.clone(), format!("{}/robots.txt", host.origin)));
        }
        None
    }

    /// When the next robots.txt retry is due, if one waits.
    pub(super) fn next_robots_retry(&self) -> Option<Instant> {
        self.robots_wanted.iter().filter_map(|id| self.hosts[id.index()].next_at).min()
    }

    /// The robots.txt fetch for `host` ended; returns the `Sitemap:` URLs
    /// it listed (the first time only). `started`: when its request really
    /// started (`None`: none went out); the host's delay (with the
    /// `Crawl-delay` it may have just learned) runs from it, as for a page
    /// ([`Frontier::complete`]).
    pub fn robots_done(
        &mut self,
        host: &str,
        fetch: &RobotsFetch<'_>,
        started: Option<Instant>,
        now: Instant,
    ) -> Vec<String> {
        let Some(&id) = self.host_ids.get(host) else { return Vec::new() };
        let h = &mut self.hosts[id.index()];
        let RobotsState::Fetching { attempts } = h.robots else { return Vec::new() };
        let mut sitemaps = Vec::new();
        match interpret(&self.config.agent, fetch, attempts) {
            Verdict::Rules(mut rules) => {
                sitemaps = rules.take_sitemaps();
                if std::mem::replace(&mut h.sitemaps_given, true) {
                    sitemaps.clear();
                }
                if let Rules::Unreachable { detail } = &rules {
                    tracing::warn!(host, attempts, detail = %detail, "robots.txt unavailable: giving up on the host");
                }
                self.rules.held += rules.heap_bytes();
                self.rules.peak = self.rules.peak.max(self.rules.held);
                h.robots = RobotsState::Ready(rules);
            }
            Verdict::RetryLater(after) => {
                tracing::info!(
                    host,
                    attempts,
                    retry_ms = after.as_millis(),
                    "robots.txt unavailable"
                );
                h.robots = RobotsState::Wanted { attempts };
                h.not_before(now + after);
                self.robots_wanted.push_back(id);
            }
        }
        if let Some(t) = started {
            self.hosts[id.index()].delay_from(t);
        }
        self.maybe_idle(id);
        self.place(id, Some(now));
        sitemaps
    }

    /// Another machine fetched `host`'s robots.txt (cluster takeover):
    /// its answer applies as if fetched here, unless the host's own fetch
    /// is already out or done. Returns the `Sitemap:` URLs it lists.
    pub fn robots_known(
        &mut self,
        host: &str,
        fetch: &RobotsFetch<'_>,
        now: Instant,
    ) -> Vec<String> {
        let Verdict::Rules(mut rules) = interpret(&self.config.agent, fetch, 1) else {
            return Vec::new();
        };
        let sitemaps = rules.take_sitemaps();
        let Some(&id) = self.host_ids.get(host) else {
            self.rules.known.insert(host.to_owned(), rules);
            return sitemaps;
        };
        let h = &mut self.hosts[id.index()];
        if !matches!(h.robots, RobotsState::Wanted { .. } | RobotsState::Evicted) {
            return Vec::new();
        }
        self.rules.held += rules.heap_bytes();
        self.rules.peak = self.rules.peak.max(self.rules.held);
        h.robots = RobotsState::Ready(rules);
        h.sitemaps_given = true;
        self.maybe_idle(id);
        self.place(id, Some(now));
        sitemaps
    }

    /// A robots.txt fetch was lost with its worker at `now`: ask again,
    /// a delay after `now` (its request, if any, started before).
    pub fn robots_lost(&mut self, host: &str, now: Instant) {
        let Some(&id) = self.host_ids.get(host) else { return };
        let h = &mut self.hosts[id.index()];
        if let RobotsState::Fetching { attempts } = h.robots {
            h.delay_from(now);
            h.robots = RobotsState::Wanted { attempts: attempts.saturating_sub(1) };
            self.robots_wanted.push_back(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontier::{Feedback, Popped};
    use crate::politeness::PolitenessConfig;
    use trawl_common::protocol::FetchOutcome;

    /// ~1,000 `$` rules (about 22 KB held) and a sitemap.
    fn big_robots() -> String {
        let mut txt = String::from("Sitemap: http://s.test/map.xml\nUser-agent: *\n");
        for i in 0..1000 {
            txt.push_str(&format!("Disallow: /x{i}*.php$\n"));
        }
        txt
    }

    fn fetched(f: &mut Frontier, now: Instant) -> Vec<(String, bool)> {
        std::iter::from_fn(|| f.pop(now, true).unwrap())
            .map(|p| match p {
                Popped::Fetch(q) => (q.url, true),
                Popped::Unfetched(q, o) => {
                    assert_eq!(o, FetchOutcome::Disallowed);
                    (q.url, false)
                }
            })
            .collect()
    }

    #[test]
    fn rules_memory_is_bounded_by_dropping_idle_hosts_rules() {
        let mut f = Frontier::new(PolitenessConfig {
            robots: true,
            agent: "trawl".into(),
            delay: Some(std::time::Duration::ZERO),
            ..Default::default()
        });
        f.set_rules_budget(10_000);
        let now = Instant::now();
        let body = big_robots();
        let done = |f: &mut Frontier, host: &str| {
            f.robots_done(host, &RobotsFetch::Response { status: 200, body: &body }, None, now)
        };
        f.push("http://a.test/1", 0, 0);
        f.push("http://b.test/1", 0, 0);
        let (a, _) = f.robots_wanted(now).unwrap();
        assert_eq!(done(&mut f, &a), ["http://s.test/map.xml"]);
        let (held, _, _) = f.rules_memory();
        assert!(held > 10_000 && held < 40_000, "{held}");
        assert!(f.robots_wanted(now).is_none(), "over budget, and a.test is busy");
        assert_eq!(fetched(&mut f, now), [("http://a.test/1".to_owned(), true)]);
        assert!(f.robots_wanted(now).is_none(), "a.test still has a fetch in flight");
        f.complete("http://a.test/1", now, Feedback { status: Some(200), ..Default::default() });
        let (b, _) = f.robots_wanted(now).expect("a.test idle: its rules go, b.test's come");
        assert_eq!(b, "b.test");
        assert_eq!(f.rules_memory().0, 0);
        assert_eq!(f.rules_memory().2, 1, "one host's rules dropped");
        done(&mut f, &b);
        // A new URL for a.test: its robots.txt is fetched again (once
        // b.test is idle), applied again, and its sitemaps not re-listed.
        f.push("http://a.test/x1.php", 1, 0);
        f.push("http://a.test/2", 1, 0);
        assert!(f.robots_wanted(now).is_none());
        assert_eq!(fetched(&mut f, now), [("http://b.test/1".to_owned(), true)]);
        f.complete("http://b.test/1", now, Feedback::default());
        let (again, _) = f.robots_wanted(now).expect("a.test's rules wanted again");
        assert_eq!(again, "a.test");
        assert!(done(&mut f, &again).is_empty(), "sitemaps are handed out once per host");
        let got = fetched(&mut f, now);
        assert_eq!(
            got,
            [("http://a.test/x1.php".to_owned(), false), ("http://a.test/2".to_owned(), true)]
        );
        let (_, peak, evictions) = f.rules_memory();
        assert!(peak < 2 * 40_000, "never two hosts' rules at once: {peak}");
        assert_eq!(evictions, 2);
    }

    #[test]
    fn known_answers_are_used_without_a_fetch() {
        let mut f = Frontier::new(PolitenessConfig {
            robots: true,
            agent: "trawl".into(),
            delay: Some(std::time::Duration::ZERO),
            ..Default::default()
        });
        let now = Instant::now();
        let body = "User-agent: *\nDisallow: /private\nSitemap: http://a.test/map.xml\n";
        let known = RobotsFetch::Response { status: 200, body };
        // Before the host has a URL, and after (its fetch not yet out).
        assert_eq!(f.robots_known("a.test", &known, now), ["http://a.test/map.xml"]);
        f.push("http://b.test/1", 0, 0);
        f.robots_known("b.test", &RobotsFetch::Response { status: 404, body: "" }, now);
        f.push("http://a.test/private/1", 0, 0);
        f.push("http://a.test/2", 0, 0);
        assert!(f.robots_wanted(now).is_none(), "no robots.txt fetched for either host");
        let mut got = fetched(&mut f, now);
        got.sort();
        assert_eq!(
            got,
            [
                ("http://a.test/2".to_owned(), true),
                ("http://a.test/private/1".to_owned(), false),
                ("http://b.test/1".to_owned(), true),
            ]
        );
        assert!(f.rules_memory().0 > 0, "the known rules are counted as held");
        // A host whose own fetch is out keeps its own answer.
        f.push("http://c.test/1", 0, 0);
        let (c, _) = f.robots_wanted(now).unwrap();
        let refuse = RobotsFetch::Response { status: 200, body: "User-agent: *\nDisallow: /\n" };
        assert!(f.robots_known(&c, &refuse, now).is_empty());
        f.robots_done(&c, &RobotsFetch::Response { status: 404, body: "" }, None, now);
        assert_eq!(fetched(&mut f, now), [("http://c.test/1".to_owned(), true)]);
    }

    #[test]
    fn ordinary_robots_files_are_never_dropped() {
        let mut f = Frontier::new(PolitenessConfig {
            robots: true,
            agent: "trawl".into(),
            delay: Some(std::time::Duration::ZERO),
            ..Default::default()
        });
        let now = Instant::now();
        for i in 0..100 {
            f.push(&format!("http://h{i}.test/"), 0, 0);
        }
        while let Some((host, _)) = f.robots_wanted(now) {
            let body = "User-agent: *\nDisallow: /private\n";
            f.robots_done(&host, &RobotsFetch::Response { status: 200, body }, None, now);
        }
        assert_eq!(fetched(&mut f, now).len(), 100);
        let (held, _, evictions) = f.rules_memory();
        assert!(held > 0 && held < 100 * 100, "{held}");
        assert_eq!(evictions, 0);
    }
}
