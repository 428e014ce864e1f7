//! `trawl bench --pages N --slice S`: one long crawl, measured slice by
//! slice, to see whether the cost per page stays flat as the store grows.
//!
//! One cell (the first `--workers` and `--concurrency`, 1 x 64 by
//! default) crawls the generated site with the bench's extraction. Ten
//! times a second (the crawl's progress callback) the bench samples the
//! RSS of every process (the coordinator is this process; the workers are
//! its children; the site is the `bench-site` child); at every `S` pages it
//! snapshots the CPU time of each. Each slice then reports pages/s, CPU ms
//! per page of the coordinator, the workers and the site, and the peak RSS
//! each process reached during the slice. At the end: the store's size on
//! disk per page, and how long a fresh `trawl query` process takes to open
//! the finished store and answer `--count-by outcome` and a filtered query.

use super::site::{SiteProcess, SiteShape};
use super::{BENCH_EXTRACT, results};
use crate::cli::BenchArgs;
use anyhow::{Context as _, anyhow};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;
use trawl_common::config::{self, CrawlOptions, FieldRule, OutputOptions, PoolOptions};
use trawl_common::config::{TargetOptions, Workers};
use trawl_common::process;
use trawl_coordinator::WorkerLaunch;

/// CPU seconds and RSS of the processes at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    pages: u64,
    secs: f64,
    coordinator_cpu: f64,
    worker_cpu: f64,
    site_cpu: f64,
}

/// One slice of the crawl.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Slice {
    /// Pages stored at the end of the slice.
    pub(crate) pages: u64,
    pub(crate) pages_per_sec: f64,
    pub(crate) coordinator_cpu_ms_per_page: f64,
    pub(crate) worker_cpu_ms_per_page: f64,
    pub(crate) site_cpu_ms_per_page: f64,
    /// Highest RSS sampled during the slice, bytes.
    pub(crate) coordinator_peak_rss: u64,
    /// Highest RSS of any worker sampled during the slice, bytes.
    pub(crate) worker_peak_rss: u64,
    pub(crate) site_peak_rss: u64,
}

/// How long a fresh `trawl query` took on the finished store.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct QueryTime {
    /// The arguments after `trawl query --store DIR`.
    pub(crate) args: Vec<String>,
    pub(crate) secs: f64,
    /// Lines it printed.
    pub(crate) lines: usize,
}

/// The whole scale bench.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScaleReport {
    pub(crate) pages: u64,
    pub(crate) workers: u32,
    pub(crate) concurrency: u32,
    pub(crate) secs: f64,
    pub(crate) load_before: Option<[f64; 3]>,
    pub(crate) load_after: Option<[f64; 3]>,
    pub(crate) slices: Vec<Slice>,
    /// Store size on disk (allocated blocks) at the end, bytes.
    pub(crate) store_bytes: u64,
    pub(crate) store_bytes_per_page: f64,
    pub(crate) queries: Vec<QueryTime>,
    pub(crate) outcomes: std::collections::BTreeMap<&'static str, u64>,
}

/// Samples the processes as the crawl goes.
struct Sampler {
    site_pid: u32,
    slice: u64,
    started: Instant,
    cpu0: f64,
    last: Snapshot,
    peak: [u64; 3],
    slices: Vec<Slice>,
}

impl Sampler {
    fn new(site_pid: u32, slice: u64, cpu0: f64) -> Self {
        Self {
            site_pid,
            slice,
            started: Instant::now(),
            cpu0,
            last: Snapshot::default(),
            peak: [0; 3],
            slices: Vec::new(),
        }
    }

    fn site_cpu(&self) -> f64 {
        process::cpu_seconds_of_pid(self.site_pid).unwrap_or(0.0)
    }

    /// Called with the crawl's progress (about ten times a second).
    fn observe(&mut self, pages: u64) {
        if self.last.secs == 0.0 && self.last.site_cpu == 0.0 {
            self.last.site_cpu = self.site_cpu();
        }
        let workers = worker_pids(self.site_pid);
        let rss = [
            process::rss_bytes(),
            workers.iter().map(|&p| process::rss_of_pid(p)).max().unwrap_or(0),
            process::rss_of_pid(self.site_pid),
        ];
        for (p, r) in self.peak.iter_mut().zip(rss) {
            *p = (*p).max(r);
        }
        if pages >= self.last.pages + self.slice {
            let worker_cpu =
                workers.iter().filter_map(|&p| process::cpu_seconds_of_pid(p)).sum::<f64>();
            self.close(Snapshot {
                pages,
                secs: self.started.elapsed().as_secs_f64(),
                coordinator_cpu: process::cpu_seconds().unwrap_or(0.0) - self.cpu0,
                worker_cpu,
                site_cpu: self.site_cpu(),
            });
        }
    }

    fn close(&mut self, now: Snapshot) {
        let pages = now.pages.saturating_sub(self.last.pages);
        if pages == 0 {
            return;
        }
        let ms = |secs: f64| secs * 1000.0 / pages as f64;
        let slice = Slice {
            pages: now.pages,
            pages_per_sec: pages as f64 / (now.secs - self.last.secs).max(1e-9),
            coordinator_cpu_ms_per_page: ms(now.coordinator_cpu - self.last.coordinator_cpu),
            worker_cpu_ms_per_page: ms(now.worker_cpu - self.last.worker_cpu),
            site_cpu_ms_per_page: ms(now.site_cpu - self.last.site_cpu),
            coordinator_peak_rss: self.peak[0],
            worker_peak_rss: self.peak[1],
            site_peak_rss: self.peak[2],
        };
        eprintln!(
            "  {:>9} pages: {:>6.0} pages/s, cpu ms/page coordinator {:.3} workers {:.3} site {:.3}; \
             peak RSS coordinator {} workers {} site {}",
            slice.pages,
            slice.pages_per_sec,
            slice.coordinator_cpu_ms_per_page,
            slice.worker_cpu_ms_per_page,
            slice.site_cpu_ms_per_page,
            mb(slice.coordinator_peak_rss),
            mb(slice.worker_peak_rss),
            mb(slice.site_peak_rss),
        );
        self.slices.push(slice);
        self.last = now;
        self.peak = [0; 3];
    }
}

/// Live child processes of this one other than the site: the workers.
fn worker_pids(site_pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let mut pids: Vec<u32> = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| s.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .filter(|&p| p != site_pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

pub(super) fn run(args: &BenchArgs, slice: u64, launch: &WorkerLaunch) -> anyhow::Result<ExitCode> {
    let workers = args.workers.first().copied().unwrap_or(1);
    let concurrency = args.concurrency.first().copied().unwrap_or(64);
    let pages = args.pages;
    eprintln!(
        "trawl bench --slice {slice}: {pages} pages, {workers} worker(s) x {concurrency}, \
         with --extract {BENCH_EXTRACT}"
    );
    let load_before = results::load_average();
    let site = SiteProcess::start(&SiteShape::pages(
        pages,
        trawl_site::SiteSpec::default().links_per_page,
    ))?;
    let tmp = tempfile::tempdir().context("creating a temporary store")?;
    let store = tmp.path().join("store");
    let target =
        TargetOptions { seeds: vec![site.base_url().to_owned()], store: Some(store.clone()) };
    let options = CrawlOptions {
        pool: PoolOptions {
            workers: Some(Workers::Count(workers)),
            concurrency: Some(concurrency),
            ..Default::default()
        },
        output: OutputOptions {
            extract: vec![FieldRule::parse_flag(BENCH_EXTRACT).map_err(anyhow::Error::msg)?],
            ..Default::default()
        },
        ..Default::default()
    };
    let config = config::resolve(target, options).map_err(|e| anyhow!("{e}"))?;
    process::reset_peak_rss();
    let mut sampler = Sampler::new(site.pid(), slice, process::cpu_seconds().unwrap_or(0.0));
    let summary = trawl_coordinator::run(&config, launch, &mut |p| sampler.observe(p.pages))?;
    // The last (partial) slice ends with the summary's totals: the workers
    // have exited and been reaped by now.
    sampler.close(Snapshot {
        pages: summary.pages,
        secs: summary.elapsed.as_secs_f64(),
        coordinator_cpu: summary.coordinator_cpu_secs,
        worker_cpu: summary.worker_cpu_secs,
        site_cpu: sampler.site_cpu(),
    });
    site.finish()?;
    let store_bytes = disk_usage(&store);
    let queries = [
        vec!["--count-by", "outcome"],
        // The same scan through the JSON view of every page (how
        // `--count-by outcome` used to run): `detail` is not read directly.
        vec!["--count-by", "detail"],
        vec!["--outcome", "ok", "--where", "depth>=3", "--count-by", "depth"],
        vec!["--url-prefix", "http://127.0.0.1:1/nothing/", "--fields", "url"],
    ]
    .into_iter()
    .map(|a| time_query(&store, &a))
    .collect::<anyhow::Result<Vec<_>>>()?;
    let report = ScaleReport {
        pages: summary.pages,
        workers,
        concurrency,
        secs: summary.elapsed.as_secs_f64(),
        load_before,
        load_after: results::load_average(),
        slices: sampler.slices,
        store_bytes,
        store_bytes_per_page: store_bytes as f64 / summary.pages.max(1) as f64,
        queries,
        outcomes: summary.outcomes,
    };
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        write_table(&report, &mut std::io::stderr().lock())?;
    } else {
        write_table(&report, &mut std::io::stdout().lock())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `trawl query --store DIR ARGS` in a fresh process and times it.
fn time_query(store: &Path, args: &[&str]) -> anyhow::Result<QueryTime> {
    let exe = std::env::current_exe().context("locating the trawl executable")?;
    let started = Instant::now();
    let out = Command::new(exe)
        .arg("query")
        .arg("--store")
        .arg(store)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .context("running trawl query")?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(out.status.success(), "trawl query {args:?} failed: {}", out.status);
    let lines = out.stdout.iter().filter(|&&b| b == b'\n').count();
    eprintln!("  query {}: {secs:.2} s, {lines} line(s)", args.join(" "));
    Ok(QueryTime { args: args.iter().map(|&a| a.to_owned()).collect(), secs, lines })
}

/// Bytes allocated on disk under `dir` (recursive).
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_048_576.0)
}

fn write_table(r: &ScaleReport, out: &mut dyn Write) -> std::io::Result<()> {
    let load = |l: Option<[f64; 3]>| {
        l.map_or_else(|| "?".into(), |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"))
    };
    writeln!(
        out,
        "{} pages, {} worker(s) x {}, {:.1} s; load average before {} after {}",
        r.pages,
        r.workers,
        r.concurrency,
        r.secs,
        load(r.load_before),
        load(r.load_after)
    )?;
    writeln!(
        out,
        "{:>9} {:>8} | cpu ms/page: {:>6} {:>7} {:>6} | peak RSS: {:>6} {:>7} {:>6}",
        "pages", "pages/s", "coord", "workers", "site", "coord", "worker", "site"
    )?;
    for s in &r.slices {
        writeln!(
            out,
            "{:>9} {:>8.0} |              {:>6.3} {:>7.3} {:>6.3} |           {:>6} {:>7} {:>6}",
            s.pages,
            s.pages_per_sec,
            s.coordinator_cpu_ms_per_page,
            s.worker_cpu_ms_per_page,
            s.site_cpu_ms_per_page,
            mb(s.coordinator_peak_rss),
            mb(s.worker_peak_rss),
            mb(s.site_peak_rss),
        )?;
    }
    writeln!(
        out,
        "store: {} on disk, {:.0} bytes/page",
        mb(r.store_bytes),
        r.store_bytes_per_page
    )?;
    for q in &r.queries {
        writeln!(out, "query {}: {:.2} s ({} lines)", q.args.join(" "), q.secs, q.lines)?;
    }
    writeln!(
        out,
        "each row is the slice ending at that many pages; peak RSS is the highest sampled \
         (10/s) during the slice; queries are fresh `trawl query` processes on the finished store."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slice's rates are the differences between its two snapshots,
    /// and its peaks are only what was sampled during it.
    #[test]
    fn slices_are_differences_of_snapshots() {
        let mut s = Sampler::new(u32::MAX, 1000, 0.0);
        s.peak = [30 << 20, 10 << 20, 5 << 20];
        s.close(Snapshot {
            pages: 1000,
            secs: 2.0,
            coordinator_cpu: 0.1,
            worker_cpu: 0.4,
            site_cpu: 0.05,
        });
        s.peak = [20 << 20, 12 << 20, 5 << 20];
        s.close(Snapshot {
            pages: 3000,
            secs: 3.0,
            coordinator_cpu: 0.5,
            worker_cpu: 1.2,
            site_cpu: 0.15,
        });
        let [a, b] = &s.slices[..] else { panic!("{:?}", s.slices) };
        assert!((a.pages_per_sec - 500.0).abs() < 1e-9);
        assert!((a.coordinator_cpu_ms_per_page - 0.1).abs() < 1e-9);
        assert!((b.pages_per_sec - 2000.0).abs() < 1e-9);
        assert!((b.coordinator_cpu_ms_per_page - 0.2).abs() < 1e-9);
        assert!((b.worker_cpu_ms_per_page - 0.4).abs() < 1e-9);
        assert!((b.site_cpu_ms_per_page - 0.05).abs() < 1e-9);
        assert_eq!((a.coordinator_peak_rss, b.coordinator_peak_rss), (30 << 20, 20 << 20));
        // An empty slice (the crawl ended on a boundary) adds no row.
        s.close(Snapshot { pages: 3000, secs: 4.0, ..Snapshot::default() });
        assert_eq!(s.slices.len(), 2);
    }

    #[test]
    fn disk_usage_counts_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), vec![1u8; 10_000]).unwrap();
        std::fs::write(dir.path().join("sub/b"), vec![1u8; 10_000]).unwrap();
        let bytes = disk_usage(dir.path());
        assert!(bytes >= 20_000, "{bytes}");
    }
}
