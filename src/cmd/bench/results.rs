//! Bench results: one [`Sample`] per crawl, summarised per cell
//! ([`CellSummary`]), printed as a table or JSON.

use super::hosts::GapStats;
use serde::Serialize;
use std::io::Write;

/// What one crawl of the site measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    /// Worker processes.
    pub(crate) workers: u32,
    /// Concurrent requests per worker.
    pub(crate) concurrency: u32,
    /// Hosts the site served (ports of 127.0.0.1).
    pub(crate) hosts: u32,
    /// Politeness delay per host passed to the crawl, ms (0: none).
    pub(crate) delay_ms: f64,
    /// Mean latency the site added to each response, ms.
    pub(crate) latency_ms: f64,
    /// Gaps between requests to one host at the server (with a delay).
    pub(crate) gaps: Option<GapStats>,
    /// Pages stored.
    pub(crate) pages: u64,
    /// Wall time of the crawl (coordinator start to finish), seconds.
    pub(crate) secs: f64,
    /// `pages / secs`.
    pub(crate) pages_per_sec: f64,
    /// CPU seconds of the coordinator (the bench process during the crawl).
    pub(crate) coordinator_cpu_secs: f64,
    /// CPU seconds of all worker processes.
    pub(crate) worker_cpu_secs: f64,
    /// CPU seconds of the site server process.
    pub(crate) site_cpu_secs: f64,
    /// Coordinator peak RSS during the crawl, bytes.
    pub(crate) coordinator_peak_rss: u64,
    /// Largest peak RSS any worker reported, bytes.
    pub(crate) worker_peak_rss: u64,
    /// Page requests the site served (equal to `pages` when no page is
    /// fetched twice).
    pub(crate) site_page_hits: u64,
    /// Off-site requests the site saw (must be 0).
    pub(crate) site_offsite_hits: u64,
    /// Pages stored per outcome (`ok`, `timeout`, `connect`...).
    pub(crate) outcomes: std::collections::BTreeMap<&'static str, u64>,
}

impl Sample {
    /// Coordinator plus worker CPU per page, milliseconds.
    pub(crate) fn cpu_ms_per_page(&self) -> f64 {
        per_page_ms(self.coordinator_cpu_secs + self.worker_cpu_secs, self.pages)
    }

    /// Coordinator share of coordinator plus worker CPU, percent.
    pub(crate) fn coordinator_share(&self) -> f64 {
        let total = self.coordinator_cpu_secs + self.worker_cpu_secs;
        if total > 0.0 { 100.0 * self.coordinator_cpu_secs / total } else { 0.0 }
    }
}

fn per_page_ms(secs: f64, pages: u64) -> f64 {
    if pages > 0 { secs * 1000.0 / pages as f64 } else { 0.0 }
}

/// Min, median and max of some samples.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub(crate) struct Spread {
    pub(crate) min: f64,
    pub(crate) median: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// The spread of `xs` (all zero when empty). The median of an even
    /// count is the mean of the middle two.
    pub(crate) fn of(xs: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = xs.into_iter().collect();
        v.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max)) = (v.first(), v.last()) else {
            return Self { min: 0.0, median: 0.0, max: 0.0 };
        };
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 { v[mid] } else { f64::midpoint(v[mid - 1], v[mid]) };
        Self { min, median, max }
    }
}

/// One cell of the matrix over all its runs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CellSummary {
    pub(crate) workers: u32,
    pub(crate) concurrency: u32,
    pub(crate) pages_per_sec: Spread,
    pub(crate) secs: Spread,
    /// Coordinator + worker CPU ms per page.
    pub(crate) cpu_ms_per_page: Spread,
    /// Coordinator share of coordinator + worker CPU, percent.
    pub(crate) coordinator_cpu_share: Spread,
    /// Site server CPU ms per page.
    pub(crate) site_cpu_ms_per_page: Spread,
    /// Highest coordinator peak RSS over the runs, bytes.
    pub(crate) coordinator_peak_rss: u64,
    /// Highest worker peak RSS over the runs, bytes.
    pub(crate) worker_peak_rss: u64,
    /// Median pages/s over the baseline cell's median.
    pub(crate) speedup: f64,
    /// Worker peak RSS growth per extra request in flight, KB: against
    /// the cell with the same workers and the least concurrency (`None`
    /// for that cell itself).
    pub(crate) worker_kb_per_request: Option<f64>,
    pub(crate) runs: Vec<Sample>,
}

/// The whole bench.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchReport {
    pub(crate) site_pages: u32,
    pub(crate) runs: u32,
    pub(crate) cores: usize,
    /// `[workers, concurrency]` of the cell speed-ups are relative to.
    pub(crate) baseline: [u32; 2],
    /// 1, 5 and 15 minute load averages before and after.
    pub(crate) load_before: Option<[f64; 3]>,
    pub(crate) load_after: Option<[f64; 3]>,
    pub(crate) cells: Vec<CellSummary>,
}

impl BenchReport {
    /// Summarises `samples[i]`, the runs of cell `cells[i]`. Speed-ups are
    /// relative to the 1 worker x 1 request cell if it was measured, else
    /// to the first cell.
    pub(crate) fn new(
        site_pages: u32,
        runs: u32,
        cells: &[(u32, u32)],
        samples: Vec<Vec<Sample>>,
    ) -> Self {
        let mut out: Vec<CellSummary> = cells
            .iter()
            .zip(samples)
            .map(|(&(workers, concurrency), runs)| CellSummary {
                workers,
                concurrency,
                pages_per_sec: Spread::of(runs.iter().map(|s| s.pages_per_sec)),
                secs: Spread::of(runs.iter().map(|s| s.secs)),
                cpu_ms_per_page: Spread::of(runs.iter().map(Sample::cpu_ms_per_page)),
                coordinator_cpu_share: Spread::of(runs.iter().map(Sample::coordinator_share)),
                site_cpu_ms_per_page: Spread::of(
                    runs.iter().map(|s| per_page_ms(s.site_cpu_secs, s.pages)),
                ),
                coordinator_peak_rss: runs
                    .iter()
                    .map(|s| s.coordinator_peak_rss)
                    .max()
                    .unwrap_or(0),
                worker_peak_rss: runs.iter().map(|s| s.worker_peak_rss).max().unwrap_or(0),
                speedup: 1.0,
                worker_kb_per_request: None,
                runs,
            })
            .collect();
        let least: Vec<Option<(u32, u64)>> = out
            .iter()
            .map(|c| {
                out.iter()
                    .filter(|o| o.workers == c.workers && o.concurrency < c.concurrency)
                    .min_by_key(|o| o.concurrency)
                    .map(|o| (o.concurrency, o.worker_peak_rss))
            })
            .collect();
        for (c, least) in out.iter_mut().zip(least) {
            c.worker_kb_per_request = least.map(|(conc, rss)| {
                (c.worker_peak_rss as f64 - rss as f64)
                    / 1024.0
                    / f64::from(c.concurrency - conc)
                    / f64::from(c.workers)
            });
        }
        let base = out
            .iter()
            .find(|c| (c.workers, c.concurrency) == (1, 1))
            .or(out.first())
            .map(|c| ([c.workers, c.concurrency], c.pages_per_sec.median));
        let baseline = base.map_or([1, 1], |b| b.0);
        if let Some((_, pps)) = base
            && pps > 0.0
        {
            for c in &mut out {
                c.speedup = c.pages_per_sec.median / pps;
            }
        }
        Self {
            site_pages,
            runs,
            cores: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            baseline,
            load_before: None,
            load_after: None,
            cells: out,
        }
    }

    /// The aligned table.
    pub(crate) fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let many = self.runs > 1;
        writeln!(
            out,
            "site: {} pages; {} run(s) per cell; {} cores; load average before {} after {}",
            self.site_pages,
            self.runs,
            self.cores,
            load(self.load_before),
            load(self.load_after),
        )?;
        let pps_head = if many { "pages/s min/med/max" } else { "pages/s" };
        writeln!(
            out,
            "{:>7} {:>5} {:>6} {:>7} {:>20} {:>11} {:>9} {:>9} {:>10} {:>12} {:>8} {:>10}",
            "workers",
            "conc",
            "pages",
            "secs",
            pps_head,
            "cpu ms/page",
            "coord cpu",
            "coord RSS",
            "worker RSS",
            "site ms/page",
            "speed-up",
            "KB/request",
        )?;
        for c in &self.cells {
            let pps = if many {
                format!(
                    "{:.0}/{:.0}/{:.0}",
                    c.pages_per_sec.min, c.pages_per_sec.median, c.pages_per_sec.max
                )
            } else {
                format!("{:.0}", c.pages_per_sec.median)
            };
            let pages = c.runs.iter().map(|s| s.pages).max().unwrap_or(0);
            writeln!(
                out,
                "{:>7} {:>5} {:>6} {:>7.2} {:>20} {:>11.3} {:>8.1}% {:>9} {:>10} {:>12.3} {:>7.2}x {:>10}",
                c.workers,
                c.concurrency,
                pages,
                c.secs.median,
                pps,
                c.cpu_ms_per_page.median,
                c.coordinator_cpu_share.median,
                mb(c.coordinator_peak_rss),
                mb(c.worker_peak_rss),
                c.site_cpu_ms_per_page.median,
                c.speedup,
                c.worker_kb_per_request.map_or_else(|| "-".into(), |kb| format!("{kb:.1}")),
            )?;
        }
        writeln!(
            out,
            "secs, cpu ms/page (coordinator + workers), coord cpu (coordinator share of that) and site ms/page \
             (the site server's own process) are medians; RSS is the highest peak; speed-up is median pages/s \
             over the {}x{} cell; KB/request is worker peak RSS growth per extra request in flight \
             over the same workers' lowest concurrency.",
            self.baseline[0], self.baseline[1]
        )?;
        super::hosts::write_table(self, out)
    }
}

fn load(l: Option<[f64; 3]>) -> String {
    l.map_or_else(|| "?".into(), |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"))
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_048_576.0)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
pub(crate) fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(str::parse::<f64>);
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(pps: f64) -> Sample {
        Sample {
            workers: 1,
            concurrency: 1,
            hosts: 1,
            delay_ms: 0.0,
            latency_ms: 0.0,
            gaps: None,
            pages: 1000,
            secs: 1000.0 / pps,
            pages_per_sec: pps,
            coordinator_cpu_secs: 0.1,
            worker_cpu_secs: 0.4,
            site_cpu_secs: 0.2,
            coordinator_peak_rss: 30 << 20,
            worker_peak_rss: 20 << 20,
            site_page_hits: 1000,
            site_offsite_hits: 0,
            outcomes: [("ok", 1000)].into(),
        }
    }

    #[test]
    fn spread_min_median_max() {
        assert_eq!(Spread::of([3.0, 1.0, 2.0]), Spread { min: 1.0, median: 2.0, max: 3.0 });
        assert_eq!(Spread::of([4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Spread::of([]), Spread { min: 0.0, median: 0.0, max: 0.0 });
    }

    #[test]
    fn speedup_is_relative_to_one_by_one() {
        let cells = [(2, 16), (1, 1)];
        let r = BenchReport::new(
            1000,
            3,
            &cells,
            vec![
                vec![sample(900.0), sample(1000.0), sample(1100.0)],
                vec![sample(200.0), sample(250.0), sample(300.0)],
            ],
        );
        assert_eq!(r.baseline, [1, 1]);
        assert!((r.cells[0].speedup - 4.0).abs() < 1e-9);
        assert!((r.cells[0].cpu_ms_per_page.median - 0.5).abs() < 1e-9);
        assert!((r.cells[0].coordinator_cpu_share.median - 20.0).abs() < 1e-9);
        let mut table = Vec::new();
        r.write_table(&mut table).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(table.contains("900/1000/1100"), "{table}");
        assert!(table.contains("4.00x"), "{table}");
    }

    #[test]
    fn memory_per_request_is_against_the_least_concurrency() {
        let at = |rss_mb: u64| Sample { worker_peak_rss: rss_mb << 20, ..sample(100.0) };
        let cells = [(1, 64), (1, 1064), (2, 64)];
        let r = BenchReport::new(1000, 1, &cells, vec![vec![at(20)], vec![at(60)], vec![at(30)]]);
        assert_eq!(r.cells[0].worker_kb_per_request, None);
        assert_eq!(r.cells[2].worker_kb_per_request, None, "no lower concurrency with 2 workers");
        let kb = r.cells[1].worker_kb_per_request.unwrap();
        assert!((kb - 40.0 * 1024.0 / 1000.0).abs() < 1e-9, "{kb}");
    }
}
