//! `trawl bench`: crawl the generated site with a matrix of worker counts
//! x per-worker concurrency and report throughput and cost per cell.
//!
//! Each crawl gets a fresh site process (`trawl bench-site`, so its CPU is
//! measured apart) and a fresh temporary store. The coordinator runs in
//! this process, so its CPU and peak RSS are this process's during the
//! crawl; worker CPU comes from the reaped worker processes. Runs are
//! interleaved (every cell once, then again) so a change in machine load
//! spreads over all cells instead of skewing one.
//!
//! `--hosts N` serves the site as N hosts linking to each other, `--delay`
//! makes the crawl polite to each (`--per-host 1`), `--latency` slows
//! every response down: how real crawls are bounded. The site records when
//! each host was asked, so the delay is checked at the server
//! (`hosts.rs`).

mod chart;
mod cluster;
mod frontier;
mod hosts;
mod refresh;
mod results;
mod scale;
mod site;

use crate::cli::BenchArgs;
use anyhow::{Context as _, anyhow};
use hosts::GapStats;
use results::{BenchReport, Sample};
use site::{SiteProcess, SiteShape};
use std::process::ExitCode;
use std::time::Duration;
use trawl_common::config::{
    self, CrawlOptions, FieldRule, OutputOptions, PolitenessOptions, PoolOptions, TargetOptions,
    Workers,
};

/// What every bench crawl extracts besides the title.
const BENCH_EXTRACT: &str = "posts=a.post-item-title@href+text*";
use trawl_common::process;
use trawl_coordinator::WorkerLaunch;

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let launch = WorkerLaunch::current_exe()?;
    if let Some(pages) = args.refresh {
        return refresh::run(pages, args.json);
    }
    if let Some(urls) = args.frontier {
        return frontier::run(urls, args.json, &launch);
    }
    if let Some(slice) = args.slice {
        return scale::run(args, u64::from(slice), &launch);
    }
    let plan = Plan::of(args);
    if !args.machines.is_empty() {
        let workers = args.workers.first().copied().unwrap_or(1);
        return cluster::run(&plan, &args.machines, workers);
    }
    let many = args.hosts.is_some();
    let workers = if args.workers.is_empty() {
        if many { vec![2] } else { vec![1, 2, 4] }
    } else {
        args.workers.clone()
    };
    let concurrency = if args.concurrency.is_empty() {
        if many { vec![256] } else { vec![1, 16, 64] }
    } else {
        args.concurrency.clone()
    };
    let cells: Vec<(u32, u32)> =
        workers.iter().flat_map(|&w| concurrency.iter().map(move |&c| (w, c))).collect();
    eprintln!(
        "trawl bench: {} pages ({} host(s) x {}, {} bytes each), delay {:?}, latency {:?}; {} cells x {} run(s)",
        plan.total_pages(),
        plan.shape.hosts,
        plan.shape.pages,
        plan.shape.page_bytes,
        plan.delay.unwrap_or_default(),
        plan.shape.latency,
        cells.len(),
        args.runs
    );
    let load_before = results::load_average();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); cells.len()];
    for run in 1..=args.runs {
        for (i, &(workers, concurrency)) in cells.iter().enumerate() {
            let s = crawl_once(&plan, workers, concurrency, &launch)
                .with_context(|| format!("cell {workers} workers x {concurrency}, run {run}"))?;
            eprintln!(
                "  run {run}: {workers} x {concurrency}: {} pages in {:.2} s = {:.0} pages/s, \
                 cpu {:.3} ms/page, coordinator {:.1}%{}",
                s.pages,
                s.secs,
                s.pages_per_sec,
                s.cpu_ms_per_page(),
                s.coordinator_share(),
                s.gaps.as_ref().map_or_else(String::new, |g| format!(
                    ", smallest gap at the server {:.1} ms (p1 {:.1}), {} below the delay",
                    g.min_ms, g.p1_ms, g.below_delay
                ))
            );
            let failed: Vec<String> = s
                .outcomes
                .iter()
                .filter(|(k, _)| **k != "ok")
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            if !failed.is_empty() {
                eprintln!("    pages not ok: {}", failed.join(", "));
            }
            samples[i].push(s);
        }
    }
    let mut report = BenchReport::new(plan.total_pages(), args.runs, &cells, samples);
    report.load_before = load_before;
    report.load_after = results::load_average();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        // The table still goes to the terminal, out of the JSON's way.
        report.write_table(&mut std::io::stderr().lock())?;
    } else {
        report.write_table(&mut out)?;
    }
    if let Some(path) = &args.chart {
        std::fs::write(path, chart::svg(&report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("chart written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// What every crawl of one bench run serves and how politely it crawls.
struct Plan {
    shape: SiteShape,
    /// `--delay`: per-host politeness, with `--per-host 1`.
    delay: Option<Duration>,
}

impl Plan {
    fn of(args: &BenchArgs) -> Self {
        // `--machines` shares hosts among machines: 5 unless told.
        let cluster = !args.machines.is_empty();
        let hosts = args.hosts.unwrap_or(if cluster { 5 } else { 1 });
        let latency = args.latency.unwrap_or_default();
        let small = args.hosts.is_some() || cluster || !latency.is_zero();
        let mut shape = SiteShape::pages(
            args.pages.div_ceil(hosts),
            trawl_site::SiteSpec::default().links_per_page,
        );
        if small {
            // ~5 KB pages so CPU is not what bounds the crawl.
            (shape.page_bytes, shape.posts_per_page, shape.links_per_page) = (5_000, 5, 20);
        }
        if let Some(bytes) = args.page_bytes {
            shape.page_bytes = bytes;
        }
        shape.hosts = hosts;
        shape.latency = latency;
        shape.jitter = args.jitter;
        shape.timeline = args.delay.is_some() || hosts > 1;
        Self { shape, delay: args.delay }
    }

    /// Pages over all hosts.
    fn total_pages(&self) -> u32 {
        self.shape.pages.saturating_mul(self.shape.hosts)
    }
}

/// One crawl of a fresh site into a fresh store.
fn crawl_once(
    plan: &Plan,
    workers: u32,
    concurrency: u32,
    launch: &WorkerLaunch,
) -> anyhow::Result<Sample> {
    let pages = plan.total_pages();
    let site = SiteProcess::start(&plan.shape)?;
    let tmp = tempfile::tempdir().context("creating a temporary store")?;
    let target = TargetOptions {
        // Every host is a seed, so every host is in scope.
        seeds: site.base_urls().to_vec(),
        store: Some(tmp.path().join("store")),
    };
    let options = CrawlOptions {
        pool: PoolOptions {
            workers: Some(Workers::Count(workers)),
            concurrency: Some(concurrency),
            ..Default::default()
        },
        // Identical work to the reference crawlers: title plus every
        // `a.post-item-title` (href, text) pair, stored.
        output: OutputOptions {
            extract: vec![FieldRule::parse_flag(BENCH_EXTRACT).map_err(anyhow::Error::msg)?],
            ..Default::default()
        },
        politeness: PolitenessOptions {
            delay: plan.delay.map(config::units::HumanDuration),
            per_host: plan.delay.map(|_| 1),
            ..Default::default()
        },
        ..Default::default()
    };
    let config = config::resolve(target, options).map_err(|e| anyhow!("{e}"))?;
    // The peak of this crawl, not of the ones before it in this process.
    process::reset_peak_rss();
    let summary = trawl_coordinator::run(&config, launch, &mut |_| {})?;
    let site_cpu_secs = site.cpu_secs();
    let hits = site.finish()?;
    if summary.pages != u64::from(pages) || hits.offsite > 0 {
        tracing::warn!(
            stored = summary.pages,
            site_pages = pages,
            offsite = hits.offsite,
            unknown = hits.unknown,
            "the crawl did not store exactly the site's pages"
        );
    }
    let delay = plan.delay.unwrap_or_default();
    Ok(Sample {
        workers,
        concurrency,
        hosts: plan.shape.hosts,
        delay_ms: delay.as_secs_f64() * 1000.0,
        latency_ms: plan.shape.latency.as_secs_f64() * 1000.0,
        gaps: GapStats::of(&hits.gaps, delay),
        pages: summary.pages,
        secs: summary.elapsed.as_secs_f64(),
        pages_per_sec: summary.pages_per_sec(),
        coordinator_cpu_secs: summary.coordinator_cpu_secs,
        worker_cpu_secs: summary.worker_cpu_secs,
        site_cpu_secs,
        coordinator_peak_rss: summary.coordinator_peak_rss,
        worker_peak_rss: summary.workers.iter().map(|w| w.peak_rss).max().unwrap_or(0),
        site_page_hits: hits.pages,
        site_offsite_hits: hits.offsite,
        outcomes: summary.outcomes,
    })
}
