//! The adaptive revisit interval (Nutch's AdaptiveFetchSchedule, reduced
//! to one multiplicative rule):
//!
//! - the page changed (or is gone): `interval = max(min, interval / 2)`;
//! - it did not (same hash, or a 304): `interval = min(max, interval * 3 / 2)`;
//! - a first fetch keeps the starting interval.
//!
//! The interval settles in proportion to a page's real change period `P`:
//! at equilibrium the halvings and the x1.5 growths cancel, which happens
//! when a fraction `f = ln 1.5 / (ln 1.5 + ln 2) ≈ 0.37` of the visits see
//! a change, so the interval oscillates around `0.37 P` (between about
//! `0.17 P` and `0.7 P`; see the test): a change is seen, on average,
//! about a third of a period after it happened, for ~2.7 fetches per
//! change. Never outside `[min, max]`.

use crate::store::Change;

/// The interval after a fetch that found `change`, in ms.
pub fn next_interval(interval_ms: u64, change: Change, min_ms: u64, max_ms: u64) -> u64 {
    let next = match change {
        Change::First => interval_ms,
        Change::Changed | Change::Gone => interval_ms / 2,
        Change::Unchanged | Change::NotModified => interval_ms.saturating_add(interval_ms / 2),
    };
    next.clamp(min_ms, max_ms.max(min_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_change_grows_on_no_change_within_bounds() {
        assert_eq!(next_interval(1000, Change::Changed, 100, 10_000), 500);
        assert_eq!(next_interval(1000, Change::Gone, 100, 10_000), 500);
        assert_eq!(next_interval(1000, Change::Unchanged, 100, 10_000), 1500);
        assert_eq!(next_interval(1000, Change::NotModified, 100, 10_000), 1500);
        assert_eq!(next_interval(1000, Change::First, 100, 10_000), 1000);
        assert_eq!(next_interval(150, Change::Changed, 100, 10_000), 100, "floored at min");
        assert_eq!(next_interval(9000, Change::Unchanged, 100, 10_000), 10_000, "capped at max");
        assert_eq!(next_interval(u64::MAX, Change::Unchanged, 1, u64::MAX), u64::MAX);
    }

    /// Simulates a page that changes every `period` ms, revisited with the
    /// adaptive rule from `start`: the intervals after it settled.
    fn settle(period: u64, start: u64, min: u64, max: u64) -> Vec<u64> {
        let (mut now, mut interval, mut seen_version) = (0u64, start, 0u64);
        let mut intervals = Vec::new();
        for _ in 0..200 {
            now += interval;
            let version = now / period;
            let change = if version == seen_version { Change::Unchanged } else { Change::Changed };
            seen_version = version;
            interval = next_interval(interval, change, min, max);
            intervals.push(interval);
        }
        intervals
    }

    #[test]
    fn converges_on_a_page_that_changes_every_n_base_intervals() {
        let base = 1_000;
        for n in [2, 5, 10, 40] {
            let period = n * base;
            for start in [base, 100 * base] {
                let tail = &settle(period, start, base / 10, 1_000 * base)[100..];
                let (lo, hi) = (tail.iter().min().unwrap(), tail.iter().max().unwrap());
                assert!(*lo >= period / 8 && *hi <= period, "n={n} start={start}: {lo}..{hi}");
                // Around 0.37 P, whatever the start (0.37 from the equilibrium).
                let mean = tail.iter().sum::<u64>() / tail.len() as u64;
                assert!(mean * 10 >= period * 3 && mean * 100 <= period * 45, "n={n}: mean {mean}");
            }
        }
        // Bounds win over the page's period.
        let tail = &settle(100 * base, base, base, 10 * base)[100..];
        assert!(tail.iter().all(|&i| (base..=10 * base).contains(&i)), "{tail:?}");
        assert!(tail.iter().filter(|&&i| i == 10 * base).count() > tail.len() / 2, "{tail:?}");
        let tail = &settle(base / 100, base, base, 10 * base)[100..];
        assert!(tail.iter().all(|&i| i == base), "{tail:?}");
    }
}
