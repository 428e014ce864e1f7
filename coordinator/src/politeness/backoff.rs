//! Host back-off after 429 Too Many Requests / 503 Service Unavailable.
//!
//! The rule (also in the README):
//! - A 429/503 backs its whole host off, for every worker. With a
//!   `Retry-After` of at most [`CAP`] (30 s, the longest a worker waits
//!   between its own retries too) the back-off is that `Retry-After`;
//!   without one it grows 0.5 s, 1 s, 2 s, ... up to [`CAP`].
//! - The page is then fetched again after the back-off, up to `--retries`
//!   times, before its 429/503 is recorded as `http_error`.
//! - A `Retry-After` longer than [`CAP`] is not waited for: the page is
//!   recorded at once (`http_error` with `retry_after_secs`), and the host
//!   is backed off by [`CAP`].
//! - Back-offs *set*, they never add up: the host's next request waits
//!   until the latest deadline any 429/503 asked for. The exponential
//!   step grows only when a 429/503 arrives after the previous back-off
//!   ended; answers to requests that were already in flight when the host
//!   was backed off (concurrent 429s) do not grow it.
//! - Any other response resets the step.

use std::time::{Duration, Instant};

/// First back-off without a `Retry-After`.
const BASE: Duration = Duration::from_millis(500);
/// Longest back-off, and longest `Retry-After` honoured.
pub const CAP: Duration = Duration::from_secs(30);

/// Does this status ask us to slow down for the whole host?
pub fn is_throttle(status: Option<u16>) -> bool {
    matches!(status, Some(429 | 503))
}

/// Is a throttled page worth fetching again, or is it recorded now? A
/// `Retry-After` over [`CAP`] is not waited for.
pub fn retry_throttled(status: Option<u16>, retry_after_secs: Option<u32>) -> bool {
    is_throttle(status) && retry_after_secs.is_none_or(|s| Duration::from_secs(u64::from(s)) <= CAP)
}

/// One host's back-off state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    /// The current exponential step (zero: none yet).
    step: Duration,
    /// When the current back-off ends.
    until: Option<Instant>,
}

impl Backoff {
    /// A 429/503 arrived at `now`, with this `Retry-After`. Returns the
    /// time before which the host must not be asked again.
    pub fn throttled(&mut self, now: Instant, retry_after: Option<Duration>) -> Instant {
        let active = self.until.is_some_and(|u| now < u);
        let wait = match retry_after {
            Some(ra) => ra.min(CAP),
            // Concurrent answers keep the step; a 429 after it grows it.
            None if active => self.step,
            None if self.step.is_zero() => BASE,
            None => (self.step * 2).min(CAP),
        };
        if retry_after.is_none() {
            self.step = wait;
        }
        let until = self.until.filter(|_| active).map_or(now + wait, |u| u.max(now + wait));
        self.until = Some(until);
        until
    }

    /// Any other response: the host is fine again.
    pub fn reset(&mut self) {
        self.step = Duration::ZERO;
    }

    /// The current exponential step.
    pub fn step(&self) -> Duration {
        self.step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn grows_only_after_each_back_off_ends_and_caps() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert_eq!(b.throttled(t0, None), t0 + BASE);
        // After it ended: doubles, up to the cap.
        let mut t = t0 + BASE;
        let mut want = BASE;
        for _ in 0..10 {
            want = (want * 2).min(CAP);
            assert_eq!(b.throttled(t, None), t + want);
            t += want;
        }
        assert_eq!(b.step(), CAP);
        b.reset();
        assert_eq!(b.throttled(t, None), t + BASE);
    }

    #[test]
    fn concurrent_throttles_set_not_add() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        let first = b.throttled(t0, None);
        // Fifteen more 429s for requests that were in flight: same step,
        // the deadline moves at most by how late they came.
        for i in 1..=15 {
            let until = b.throttled(t0 + MS(i), None);
            assert_eq!(until, t0 + MS(i) + BASE);
        }
        assert_eq!(b.step(), BASE, "no compounding");
        assert!(b.throttled(t0 + MS(20), None) < first + MS(30));
        // Retry-After values set the deadline to the latest asked for,
        // never the sum.
        let mut b = Backoff::default();
        assert_eq!(b.throttled(t0, Some(S(3))), t0 + S(3));
        assert_eq!(b.throttled(t0, Some(S(2))), t0 + S(3));
        assert_eq!(b.throttled(t0, Some(S(5))), t0 + S(5));
        assert_eq!(b.throttled(t0, None), t0 + S(5), "an exponential step inside it adds nothing");
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert_eq!(b.throttled(t0, Some(S(3))), t0 + S(3));
        assert_eq!(b.throttled(t0 + S(10), Some(S(3600))), t0 + S(10) + CAP);
        assert_eq!(b.throttled(t0 + S(100), Some(Duration::ZERO)), t0 + S(100));
    }

    #[test]
    fn which_throttled_pages_are_fetched_again() {
        assert!(is_throttle(Some(429)) && is_throttle(Some(503)));
        assert!(!is_throttle(Some(500)) && !is_throttle(None));
        assert!(retry_throttled(Some(429), None));
        assert!(retry_throttled(Some(503), Some(30)));
        assert!(!retry_throttled(Some(429), Some(31)), "longer than the cap: record now");
        assert!(!retry_throttled(Some(429), Some(3600)));
        assert!(!retry_throttled(Some(500), None));
    }
}
