//! `trawl bench`: crawl the generated site with a matrix of worker counts
//! x per-worker concurrency and report throughput and cost per cell.
//!
//! Each crawl gets a fresh site process (`trawl bench-site`, so its CPU is
//! measured apart) and a fresh temporary store. The coordinator runs in
//! this process, so its CPU and peak RSS are this process's during the
//! crawl; worker CPU comes from the reaped worker processes. Runs are
//! interleaved (every cell once, then again) so a change in machine load
//! spreads over all cells instead of skewing one.

mod chart;
mod frontier;
mod results;
mod site;

use crate::cli::BenchArgs;
use anyhow::{Context as _, anyhow};
use results::{BenchReport, Sample};
use site::SiteProcess;
use std::process::ExitCode;
use trawl_common::config::{
    self, CrawlOptions, FieldRule, OutputOptions, PoolOptions, TargetOptions, Workers,
};

/// What every bench crawl extracts besides the title.
const BENCH_EXTRACT: &str = "posts=a.post-item-title@href+text*";
use trawl_common::process;
use trawl_coordinator::WorkerLaunch;

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let launch = WorkerLaunch::current_exe()?;
    if let Some(urls) = args.frontier {
        return frontier::run(urls, args.json, &launch);
    }
    let cells: Vec<(u32, u32)> =
        args.workers.iter().flat_map(|&w| args.concurrency.iter().map(move |&c| (w, c))).collect();
    eprintln!("trawl bench: {} pages, {} cells x {} run(s)", args.pages, cells.len(), args.runs);
    let load_before = results::load_average();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); cells.len()];
    for run in 1..=args.runs {
        for (i, &(workers, concurrency)) in cells.iter().enumerate() {
            let s = crawl_once(args.pages, workers, concurrency, &launch)
                .with_context(|| format!("cell {workers} workers x {concurrency}, run {run}"))?;
            eprintln!(
                "  run {run}: {workers} x {concurrency}: {} pages in {:.2} s = {:.0} pages/s, \
                 cpu {:.3} ms/page, coordinator {:.1}%",
                s.pages,
                s.secs,
                s.pages_per_sec,
                s.cpu_ms_per_page(),
                s.coordinator_share()
            );
            samples[i].push(s);
        }
    }
    let mut report = BenchReport::new(args.pages, args.runs, &cells, samples);
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

/// One crawl of a fresh site into a fresh store.
fn crawl_once(
    pages: u32,
    workers: u32,
    concurrency: u32,
    launch: &WorkerLaunch,
) -> anyhow::Result<Sample> {
    let site = SiteProcess::start(pages, trawl_site::SiteSpec::default().links_per_page)?;
    let tmp = tempfile::tempdir().context("creating a temporary store")?;
    let target = TargetOptions {
        seeds: vec![site.base_url().to_owned()],
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
    Ok(Sample {
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
    })
}
