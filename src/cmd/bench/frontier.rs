//! `trawl bench --frontier N`: the coordinator's memory with a large queue.
//!
//! The generated site gets 1,000 links per page over 50 million pages, so
//! every fetched page queues ~1,000 new URLs; the crawl stops (at
//! `--max-pages`) once about N are queued. Then the same crawl is resumed
//! on the same store, which restores the whole queue from disk. Both runs
//! are in this process, as a `trawl crawl` is, so the coordinator's peak
//! RSS is this process's (the resume's includes whatever the allocator
//! kept from the first run: it is an upper bound).

use super::site::{SiteProcess, SiteShape};
use anyhow::{Context as _, anyhow};
use std::process::ExitCode;
use trawl_common::config::{
    self, CrawlOptions, DEFAULT_FRONTIER_MEMORY, LimitOptions, PoolOptions, TargetOptions, Workers,
};
use trawl_common::process;
use trawl_coordinator::{CrawlSummary, WorkerLaunch};

const SITE_PAGES: u32 = 50_000_000;
const LINKS: u32 = 1000;
/// New URLs per fetched page, about (a few links repeat or were seen).
const NEW_PER_PAGE: u64 = 950;

pub(super) fn run(urls: u64, json: bool, launch: &WorkerLaunch) -> anyhow::Result<ExitCode> {
    let site = SiteProcess::start(&SiteShape::pages(SITE_PAGES, LINKS))?;
    let tmp = tempfile::tempdir().context("creating a temporary store")?;
    let store = tmp.path().join("store");
    let pages = urls / NEW_PER_PAGE + 1;
    eprintln!("trawl bench --frontier {urls}: fetching {pages} pages of {LINKS} links each");
    let fill = crawl(site.base_url(), &store, pages, launch)?;
    let resume = crawl(site.base_url(), &store, pages + 100, launch)?;
    site.finish()?;
    let row = |name: &str, s: &CrawlSummary| {
        serde_json::json!({
            "run": name,
            "pages": s.pages,
            "queued_at_end": s.left,
            "resumed_queue": s.resumed_queue,
            "peak_on_disk": s.peak_on_disk,
            "secs": s.elapsed.as_secs_f64(),
            "coordinator_cpu_secs": s.coordinator_cpu_secs,
            "coordinator_peak_rss_mb": s.coordinator_peak_rss as f64 / 1e6,
        })
    };
    let report = serde_json::json!({
        "frontier_memory": DEFAULT_FRONTIER_MEMORY,
        "runs": [row("fill", &fill), row("resume", &resume)],
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    let mut out: Box<dyn std::io::Write> =
        if json { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) };
    writeln!(
        out,
        "run      pages   queued at end   restored   on disk (peak)    secs  coord cpu s  coord peak RSS"
    )?;
    for (name, s) in [("fill", &fill), ("resume", &resume)] {
        writeln!(
            out,
            "{name:<6} {:>7} {:>15} {:>10} {:>16} {:>7.2} {:>12.2} {:>12.1} MB",
            s.pages,
            s.left,
            s.resumed_queue,
            s.peak_on_disk,
            s.elapsed.as_secs_f64(),
            s.coordinator_cpu_secs,
            s.coordinator_peak_rss as f64 / 1e6
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn crawl(
    seed: &str,
    store: &std::path::Path,
    max_pages: u64,
    launch: &WorkerLaunch,
) -> anyhow::Result<CrawlSummary> {
    let target = TargetOptions { seeds: vec![seed.to_owned()], store: Some(store.to_owned()) };
    let options = CrawlOptions {
        pool: PoolOptions { workers: Some(Workers::Count(2)), ..Default::default() },
        limits: LimitOptions { max_pages: Some(max_pages), ..Default::default() },
        ..Default::default()
    };
    let config = config::resolve(target, options).map_err(|e| anyhow!("{e}"))?;
    process::reset_peak_rss();
    Ok(trawl_coordinator::run(&config, launch, &mut |_| {})?)
}
