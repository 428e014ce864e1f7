//! The frontier: which URLs have been seen, and which wait to be fetched.
//!
//! Sync and free of I/O. Breadth-first: URLs wait in one FIFO queue per
//! depth, and the shallowest non-empty queue is served first, so depth
//! order holds even when reports arrive out of order. A URL is admitted
//! once; leases that come back (a worker died) go to the front of their
//! depth's queue.

use std::collections::{BTreeMap, HashSet, VecDeque};

/// A URL waiting to be fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Normalized URL.
    pub url: String,
    /// Link distance from the seeds.
    pub depth: u32,
}

/// Seen-set plus per-depth queues.
#[derive(Debug, Default)]
pub struct Frontier {
    seen: HashSet<String>,
    queues: BTreeMap<u32, VecDeque<String>>,
    queued: usize,
}

impl Frontier {
    /// An empty frontier.
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits `url` at `depth` unless it was seen before. Returns whether it
    /// was new.
    pub fn push(&mut self, url: &str, depth: u32) -> bool {
        if self.seen.contains(url) {
            return false;
        }
        self.seen.insert(url.to_owned());
        self.queues.entry(depth).or_default().push_back(url.to_owned());
        self.queued += 1;
        true
    }

    /// Marks `url` seen without queueing it (already stored elsewhere).
    pub fn mark_seen(&mut self, url: &str) {
        self.seen.insert(url.to_owned());
    }

    /// Puts back a URL whose lease was lost; it is fetched next.
    pub fn requeue(&mut self, q: Queued) {
        self.queues.entry(q.depth).or_default().push_front(q.url);
        self.queued += 1;
    }

    /// The next URL to fetch: shallowest depth first, FIFO within a depth.
    pub fn pop(&mut self) -> Option<Queued> {
        let mut entry = self.queues.first_entry()?;
        let depth = *entry.key();
        let url = entry.get_mut().pop_front();
        if entry.get().is_empty() {
            entry.remove();
        }
        let url = url?;
        self.queued -= 1;
        Some(Queued { url, depth })
    }

    /// URLs waiting.
    pub fn len(&self) -> usize {
        self.queued
    }

    /// Nothing waiting?
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// URLs ever admitted or marked.
    pub fn seen(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedups_and_serves_breadth_first() {
        let mut f = Frontier::new();
        assert!(f.push("a", 0));
        assert!(f.push("c", 2));
        assert!(f.push("b", 1));
        assert!(!f.push("a", 3));
        assert_eq!(f.len(), 3);
        let order: Vec<_> = std::iter::from_fn(|| f.pop()).map(|q| q.url).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert!(f.is_empty());
        assert!(!f.push("b", 0), "seen stays after pop");
    }

    #[test]
    fn requeued_goes_first_within_depth() {
        let mut f = Frontier::new();
        f.push("x", 1);
        f.push("y", 1);
        let x = f.pop().unwrap();
        f.requeue(Queued { url: "z".into(), depth: 0 });
        f.requeue(x);
        let order: Vec<_> = std::iter::from_fn(|| f.pop()).map(|q| q.url).collect();
        assert_eq!(order, ["z", "x", "y"]);
    }

    /// Model check against a trivially correct reference.
    #[test]
    fn matches_reference_model() {
        let mut f = Frontier::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut model: Vec<(u32, u64, String)> = Vec::new();
        let mut seq = 0u64;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(3) {
                let got = f.pop().map(|q| (q.depth, q.url));
                model.sort();
                let want = if model.is_empty() { None } else { Some(model.remove(0)) };
                assert_eq!(got, want.map(|(d, _, u)| (d, u)));
            } else {
                let url = format!("u{}", x % 700);
                let depth = u32::try_from(x % 5).unwrap();
                let new = f.push(&url, depth);
                assert_eq!(new, seen.insert(url.clone()));
                if new {
                    seq += 1;
                    model.push((depth, seq, url));
                }
            }
        }
    }
}
