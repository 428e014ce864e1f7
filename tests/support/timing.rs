//! Time in tests: polling with a deadline, free ports, and the analysis of
//! request timings a [`super::LogServer`] recorded (overlaps, gaps, spacing
//! violations that forgive one late start), plus a seeded generator for
//! randomized timings that prints its seed for replay.

use super::servers::Hit;
use std::time::{Duration, Instant};

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub(crate) fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// The most requests in progress at once among `hits` (intervals
/// `[start, end]`; one ending exactly when another starts do not overlap).
pub(crate) fn max_overlap(hits: &[Hit]) -> usize {
    let mut events: Vec<(Duration, i32)> = Vec::new();
    for h in hits {
        events.push((h.start, 1));
        events.push((h.end, -1));
    }
    // Ends before starts at the same instant.
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as usize
}

/// Gaps between consecutive request starts, with the two paths.
pub(crate) fn start_gaps(hits: &[Hit]) -> Vec<(Duration, String, String)> {
    let mut v: Vec<&Hit> = hits.iter().collect();
    v.sort_by_key(|h| h.start);
    v.windows(2).map(|w| (w[1].start - w[0].start, w[0].path.clone(), w[1].path.clone())).collect()
}

/// Request starts in `hits` closer than `delay` (less `jitter`), as
/// messages. A start is measured at the server, so one request that a busy
/// worker started late makes the gap after it look short; such a gap is
/// forgiven when the two gaps around the late start add up to two delays
/// (the request before it and the one after it were spaced correctly), but
/// only for a quarter of the gaps at most: a crawler that sends requests
/// in bursts shows the same signature on every other gap.
pub(crate) fn spacing_violations(hits: &[Hit], delay: Duration, jitter: Duration) -> Vec<String> {
    let mut v: Vec<&Hit> = hits.iter().collect();
    v.sort_by_key(|h| h.start);
    let mut hard = Vec::new();
    let mut forgiven = Vec::new();
    for i in 1..v.len() {
        let gap = v[i].start - v[i - 1].start;
        if gap + jitter >= delay {
            continue;
        }
        let what = format!(
            "{} then {} started {:.1} ms apart",
            v[i - 1].path,
            v[i].path,
            gap.as_secs_f64() * 1000.0
        );
        if i >= 2 && v[i].start - v[i - 2].start + jitter >= delay * 2 {
            forgiven.push(what);
        } else {
            hard.push(what);
        }
    }
    if forgiven.len() > (v.len() / 4).max(1) {
        hard.extend(forgiven.into_iter().map(|f| format!("{f} (one of many late starts)")));
    } else if !forgiven.is_empty() {
        eprintln!("forgiven as late starts: {forgiven:?}");
    }
    hard
}

/// A splitmix64 generator for randomized tests: seeded from
/// `TRAWL_E2E_SEED` if set, else the clock, and the seed is printed so a
/// failure can be replayed.
pub(crate) struct TestRng(u64);

impl TestRng {
    pub(crate) fn new(test: &str) -> Self {
        let seed = std::env::var("TRAWL_E2E_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: random seed {seed} (replay with TRAWL_E2E_SEED={seed})");
        TestRng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` milliseconds.
    pub(crate) fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
