//! `trawl bench --hosts N --delay D`: politeness measured where it
//! matters, at the server. The site records when each host was asked;
//! this turns the gaps between consecutive requests to one host into the
//! numbers the bench reports (smallest, 1st percentile, how many fell
//! short of the delay and by how much), and prints them per cell.

use super::results::{BenchReport, Sample};
use serde::Serialize;
use std::io::Write;
use std::time::Duration;

/// The gaps between consecutive requests to one host, over all hosts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct GapStats {
    /// Gaps measured (requests minus hosts, for hosts asked at least once).
    pub(crate) gaps: u64,
    /// Smallest start-to-start gap, ms.
    pub(crate) min_ms: f64,
    /// 1st percentile of the start-to-start gaps, ms.
    pub(crate) p1_ms: f64,
    /// Median start-to-start gap, ms.
    pub(crate) median_ms: f64,
    /// Smallest gap from a response's end to the host's next request, ms.
    pub(crate) min_idle_ms: f64,
    /// Start-to-start gaps shorter than the delay.
    pub(crate) below_delay: u64,
    /// ... of which the earlier request was robots.txt.
    pub(crate) below_delay_after_robots: u64,
    /// Hosts with at least one gap shorter than the delay.
    pub(crate) hosts_below_delay: u64,
    /// The delay minus the smallest gap, ms (0 when none fell short).
    pub(crate) largest_shortfall_ms: f64,
}

impl GapStats {
    /// Summarises `[host, start-to-start µs, idle µs, after robots]`
    /// gaps against `delay`; `None` without gaps.
    pub(crate) fn of(gaps: &[(u32, u64, i64, bool)], delay: Duration) -> Option<Self> {
        let mut starts: Vec<u64> = gaps.iter().map(|g| g.1).collect();
        starts.sort_unstable();
        let (&min, _) = starts.split_first()?;
        let at = |q: f64| starts[((starts.len() - 1) as f64 * q).round() as usize];
        let delay_us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        let short: Vec<_> = gaps.iter().filter(|g| g.1 < delay_us).collect();
        let mut short_hosts: Vec<u32> = short.iter().map(|g| g.0).collect();
        short_hosts.sort_unstable();
        short_hosts.dedup();
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Self {
            gaps: starts.len() as u64,
            min_ms: ms(min),
            p1_ms: ms(at(0.01)),
            median_ms: ms(at(0.5)),
            min_idle_ms: gaps.iter().map(|g| g.2).min().unwrap_or(0) as f64 / 1000.0,
            below_delay: short.len() as u64,
            below_delay_after_robots: short.iter().filter(|g| g.3).count() as u64,
            hosts_below_delay: short_hosts.len() as u64,
            largest_shortfall_ms: ms(delay_us.saturating_sub(min)),
        })
    }
}

/// The throughput a crawl cannot beat: `hosts / delay` under politeness,
/// `workers x concurrency / latency` with a slow server; `None` when
/// neither applies.
pub(crate) fn bound(s: &Sample) -> Option<f64> {
    let politeness = (s.delay_ms > 0.0).then(|| f64::from(s.hosts) * 1000.0 / s.delay_ms);
    let in_flight =
        (s.latency_ms > 0.0).then(|| f64::from(s.workers * s.concurrency) * 1000.0 / s.latency_ms);
    match (politeness, in_flight) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The politeness and bounds table, printed under the main one when a
/// cell had a delay or latency.
pub(crate) fn write_table(report: &BenchReport, out: &mut dyn Write) -> std::io::Result<()> {
    let samples = || report.cells.iter().flat_map(|c| c.runs.iter());
    if !samples().any(|s| s.delay_ms > 0.0 || s.latency_ms > 0.0) {
        return Ok(());
    }
    writeln!(
        out,
        "\n{:>7} {:>5} {:>6} {:>8} {:>8} {:>9} {:>9} {:>8} | gaps at the server: {:>7} {:>9} {:>9} {:>9} {:>9} {:>16}",
        "workers",
        "conc",
        "hosts",
        "delay ms",
        "lat ms",
        "pages/s",
        "bound",
        "% bound",
        "gaps",
        "min ms",
        "p1 ms",
        "median",
        "min idle",
        "< delay (hosts)",
    )?;
    for s in samples() {
        let b = bound(s);
        let (hosts_bound, pct) = (
            b.map_or_else(|| "-".into(), |b| format!("{b:.0}")),
            b.map_or_else(|| "-".into(), |b| format!("{:.1}", 100.0 * s.pages_per_sec / b)),
        );
        let gaps = s.gaps.as_ref().map_or_else(
            || "-".to_owned(),
            |g| {
                format!(
                    "{:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9} ({})",
                    g.gaps,
                    g.min_ms,
                    g.p1_ms,
                    g.median_ms,
                    g.min_idle_ms,
                    g.below_delay,
                    g.hosts_below_delay
                )
            },
        );
        writeln!(
            out,
            "{:>7} {:>5} {:>6} {:>8.0} {:>8.0} {:>9.0} {:>9} {:>8} | {gaps}",
            s.workers,
            s.concurrency,
            s.hosts,
            s.delay_ms,
            s.latency_ms,
            s.pages_per_sec,
            hosts_bound,
            pct,
        )?;
    }
    writeln!(
        out,
        "bound: hosts / delay, or workers x concurrency / mean latency, whichever is lower; gaps are \
         start-to-start between consecutive requests to one host as the site saw them (robots.txt \
         included), min idle from a response's end to the next request."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_stats_count_what_fell_short() {
        let delay = Duration::from_secs(1);
        // 100 gaps: host 0 has one 950 ms gap after robots.txt, host 1 one
        // of 990 ms; the rest are 1,000-1,097 ms.
        let mut gaps: Vec<(u32, u64, i64, bool)> =
            (0..98).map(|k| (2 + k % 5, 1_000_000 + k as u64 * 1000, 900_000, false)).collect();
        gaps.push((0, 950_000, 850_000, true));
        gaps.push((1, 990_000, -5_000, false));
        let g = GapStats::of(&gaps, delay).unwrap();
        assert_eq!(g.gaps, 100);
        assert_eq!(g.min_ms, 950.0);
        assert_eq!(g.p1_ms, 990.0, "the 2nd smallest of 100 (index round(0.99))");
        assert_eq!(g.min_idle_ms, -5.0);
        assert_eq!((g.below_delay, g.below_delay_after_robots, g.hosts_below_delay), (2, 1, 2));
        assert_eq!(g.largest_shortfall_ms, 50.0);
        assert_eq!(GapStats::of(&[], delay), None);
        let fine = GapStats::of(&gaps[..98], delay).unwrap();
        assert_eq!((fine.below_delay, fine.largest_shortfall_ms), (0, 0.0));
    }
}
