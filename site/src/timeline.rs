//! When each host was asked for what: the server-side record a benchmark
//! needs to check a crawler's per-host delay where it matters, at the
//! server (a delay timed at the crawler's dispatch can be shorter here).
//!
//! Times are microseconds since the server started. A request *starts*
//! when its head has been read (the handler runs) and *ends* when the
//! response is handed back to hyper, after the injected latency; a 5 KB
//! body on loopback is written within microseconds of that.

use std::sync::{Mutex, PoisonError};

/// One request to one host, as the server saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Microseconds from the server's start to the handler's start.
    pub start_us: u64,
    /// Microseconds from the server's start to the response being ready.
    pub end_us: u64,
    /// It was a `/robots.txt` request.
    pub robots: bool,
}

/// Two consecutive requests to one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// Index of the host (in the server's host order).
    pub host: usize,
    /// From the earlier request's start to the later one's: what a
    /// "minimum delay between requests" promises.
    pub start_to_start_us: u64,
    /// From the earlier request's end to the later one's start (negative
    /// when they overlapped).
    pub idle_us: i64,
    /// The earlier request was for robots.txt.
    pub after_robots: bool,
}

/// Every host's requests, appended as they end. One mutex per host: a
/// host's requests are few and far apart under politeness, and without
/// politeness the lock is held for a push.
#[derive(Debug)]
pub(crate) struct Timeline {
    hosts: Vec<Mutex<Vec<Request>>>,
}

impl Timeline {
    /// An empty timeline for `hosts` hosts.
    pub(crate) fn new(hosts: usize) -> Self {
        Self { hosts: (0..hosts).map(|_| Mutex::new(Vec::new())).collect() }
    }

    /// Records one request to `host` (ignored for an unknown host).
    pub(crate) fn record(&self, host: usize, request: Request) {
        if let Some(h) = self.hosts.get(host) {
            h.lock().unwrap_or_else(PoisonError::into_inner).push(request);
        }
    }

    /// A copy of every host's requests, each host's sorted by start.
    pub(crate) fn snapshot(&self) -> Vec<Vec<Request>> {
        self.hosts
            .iter()
            .map(|h| {
                let mut v = h.lock().unwrap_or_else(PoisonError::into_inner).clone();
                v.sort_by_key(|r| r.start_us);
                v
            })
            .collect()
    }
}

/// The gaps between consecutive requests (by start) to each host, in host
/// order.
pub fn gaps(timeline: &[Vec<Request>]) -> Vec<Gap> {
    let mut out = Vec::new();
    for (host, requests) in timeline.iter().enumerate() {
        let mut sorted = requests.clone();
        sorted.sort_by_key(|r| r.start_us);
        out.extend(sorted.windows(2).map(|w| Gap {
            host,
            start_to_start_us: w[1].start_us - w[0].start_us,
            idle_us: w[1].start_us as i64 - w[0].end_us as i64,
            after_robots: w[0].robots,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(start_us: u64, end_us: u64) -> Request {
        Request { start_us, end_us, robots: false }
    }

    #[test]
    fn gaps_are_per_host_and_by_start() {
        let t = Timeline::new(2);
        // Recorded as they end: out of start order.
        t.record(0, req(1_000_000, 1_100_000));
        t.record(0, Request { start_us: 0, end_us: 50_000, robots: true });
        t.record(1, req(10, 20));
        t.record(1, req(15, 30));
        t.record(7, req(0, 1)); // no such host: dropped
        let snap = t.snapshot();
        assert_eq!(snap[0][0].start_us, 0);
        let g = gaps(&snap);
        assert_eq!(
            g,
            [
                Gap { host: 0, start_to_start_us: 1_000_000, idle_us: 950_000, after_robots: true },
                Gap { host: 1, start_to_start_us: 5, idle_us: -5, after_robots: false },
            ]
        );
    }

    #[test]
    fn one_request_has_no_gap() {
        assert!(gaps(&[vec![req(5, 6)], vec![]]).is_empty());
    }
}
