//! `trawl bench --refresh N`: what a refresh of N stored pages costs when
//! a tenth of them changed, against a full re-crawl of the same site.
//!
//! 1. crawl the changing site (generation 0) into a fresh store;
//! 2. advance the site one generation: 10% of the pages change (the site
//!    says exactly which), a third of the pages carry an ETag, a third a
//!    Last-Modified, a third neither;
//! 3. `trawl refresh --store DIR --older-than 1ms` (every page is due);
//! 4. crawl the site again into a second fresh store (a full re-crawl).
//!
//! Crawls and the refresh run as child processes of this one (the site
//! serves from a thread here), so their CPU, workers included, is this
//! process's children's CPU across each step. The site counts the
//! requests: conditional ones, 304s, full pages. Store growth per page is
//! the history the refresh added (key + value bytes of the new entries,
//! read back from the store) plus the change of the store's size on disk.

use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use trawl_common::process::children_cpu_seconds;
use trawl_coordinator::store::Store;
use trawl_site::{ChangeSpec, SiteServer, SiteSpec};

/// One step: wall and CPU seconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Step {
    secs: f64,
    cpu_secs: f64,
}

/// Runs `trawl ARGS` to completion and times it.
fn step(args: &[&str]) -> anyhow::Result<Step> {
    let exe = std::env::current_exe().context("locating trawl")?;
    let cpu0 = children_cpu_seconds().unwrap_or(0.0);
    let t = Instant::now();
    let status = Command::new(exe)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running trawl {}", args.join(" ")))?;
    let secs = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!("trawl {} exited with {status}", args.join(" "));
    }
    Ok(Step { secs, cpu_secs: children_cpu_seconds().unwrap_or(0.0) - cpu0 })
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The refresh benchmark's numbers.
#[derive(Debug, serde::Serialize)]
struct RefreshReport {
    pages: u32,
    changed: usize,
    cosmetic: usize,
    unchanged: usize,
    load_before: Option<[f64; 3]>,
    load_after: Option<[f64; 3]>,
    crawl: Step,
    refresh: Step,
    recrawl: Step,
    refresh_requests: u64,
    conditional_requests: u64,
    not_modified: u64,
    /// The refresh's CPU per unchanged page, counting every changed page
    /// at the full re-crawl's CPU per page, over the re-crawl's CPU per
    /// page.
    unchanged_cpu_ratio: f64,
    /// The same for wall time.
    unchanged_wall_ratio: f64,
    /// The refresh's CPU per 304 (an unchanged page with validators),
    /// counting every page that got a whole answer (changed, or without
    /// validators: downloaded, hashed, parsed) at the re-crawl's CPU per
    /// page, over the re-crawl's CPU per page.
    not_modified_cpu_ratio: f64,
    /// The same for wall time.
    not_modified_wall_ratio: f64,
    history_bytes_per_unchanged_page: f64,
    disk_growth_bytes_per_page: f64,
}

pub(super) fn run(pages: u32, json: bool) -> anyhow::Result<std::process::ExitCode> {
    let spec = SiteSpec {
        changes: ChangeSpec { every: 10, cosmetic_every: 3, ..ChangeSpec::default() },
        ..SiteSpec::with_pages(pages)
    };
    let server = SiteServer::start(spec).context("starting the site")?;
    let url = server.base_url();
    let dir = tempfile::tempdir().context("temporary directory")?;
    let (store, fresh) = (dir.path().join("refresh.store"), dir.path().join("recrawl.store"));
    let (store_s, fresh_s) = (store.to_string_lossy(), fresh.to_string_lossy());
    let load_before = super::results::load_average();
    let crawl_args = |s: &str| vec!["crawl".to_owned(), url.clone(), "--store".into(), s.into()];
    eprintln!("trawl bench --refresh: crawling {pages} pages of {url}");
    let crawl = step(&crawl_args(&store_s).iter().map(String::as_str).collect::<Vec<_>>())?;
    let before = dir_bytes(&store);
    let history_before = history_bytes(&store)?;
    server.advance();
    let diff = server.spec().changes_between(0, 1);
    let hits0 = server.page_hits();
    let (cond0, nm0) = (server.conditional_hits(), server.not_modified_hits());
    eprintln!(
        "  advanced: {} changed, {} markup only, {} unchanged; refreshing",
        diff.changed.len(),
        diff.cosmetic.len(),
        diff.unchanged.len()
    );
    let refresh = step(&["refresh", "--store", &store_s, "--older-than", "1ms"])?;
    let refresh_requests = server.page_hits() - hits0;
    let conditional_requests = server.conditional_hits() - cond0;
    let not_modified = server.not_modified_hits() - nm0;
    let after = dir_bytes(&store);
    let history_after = history_bytes(&store)?;
    eprintln!("  re-crawling from scratch");
    let recrawl = step(&crawl_args(&fresh_s).iter().map(String::as_str).collect::<Vec<_>>())?;
    let n = f64::from(pages.max(1));
    let changed = (diff.changed.len() + diff.cosmetic.len()) as f64;
    let unchanged = (diff.unchanged.len().max(1)) as f64;
    let per_page = |s: Step| (s.secs / n, s.cpu_secs / n);
    let (full_wall, full_cpu) = per_page(recrawl);
    let unchanged_cpu = (refresh.cpu_secs - changed * full_cpu).max(0.0) / unchanged;
    let unchanged_wall = (refresh.secs - changed * full_wall).max(0.0) / unchanged;
    let whole = refresh_requests.saturating_sub(not_modified) as f64;
    let nm = (not_modified.max(1)) as f64;
    let nm_cpu = (refresh.cpu_secs - whole * full_cpu).max(0.0) / nm;
    let nm_wall = (refresh.secs - whole * full_wall).max(0.0) / nm;
    let report = RefreshReport {
        pages,
        changed: diff.changed.len(),
        cosmetic: diff.cosmetic.len(),
        unchanged: diff.unchanged.len(),
        load_before,
        load_after: super::results::load_average(),
        crawl,
        refresh,
        recrawl,
        refresh_requests,
        conditional_requests,
        not_modified,
        unchanged_cpu_ratio: unchanged_cpu / full_cpu.max(f64::MIN_POSITIVE),
        unchanged_wall_ratio: unchanged_wall / full_wall.max(f64::MIN_POSITIVE),
        not_modified_cpu_ratio: nm_cpu / full_cpu.max(f64::MIN_POSITIVE),
        not_modified_wall_ratio: nm_wall / full_wall.max(f64::MIN_POSITIVE),
        history_bytes_per_unchanged_page: (history_after - history_before) as f64 / unchanged,
        disk_growth_bytes_per_page: (after as f64 - before as f64) / n,
    };
    print(&report, json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Key + value bytes of every history entry in the store at `dir`.
fn history_bytes(dir: &Path) -> anyhow::Result<u64> {
    let store = Store::open_existing(dir).context("opening the bench store")?;
    let mut total = 0u64;
    for page in store.pages_with_prefix("") {
        let page = page?;
        for e in store.history(&page.url)? {
            // Key: prefix byte, URL, separator, u64 time; value: encoded.
            total += page.url.len() as u64 + 10 + e.encode().len() as u64;
        }
    }
    Ok(total)
}

fn print(r: &RefreshReport, json: bool) -> anyhow::Result<()> {
    let per = |s: Step| format!("{:.1} s wall, {:.1} s CPU", s.secs, s.cpu_secs);
    eprintln!(
        "pages {}: changed {} (+{} markup only), unchanged {}\n\
         full crawl   {}\n\
         refresh      {}: {} requests, {} conditional, {} answered 304\n\
         full re-crawl {}\n\
         an unchanged page costs {:.1}% of a full fetch and parse in CPU ({:.1}% in wall time)\n\
         a 304 (unchanged, with validators) costs {:.1}% in CPU ({:.1}% in wall time)\n\
         history added per unchanged page: {:.0} bytes; store on disk grew {:.0} bytes per page\n\
         load average before {:?}, after {:?}",
        r.pages,
        r.changed,
        r.cosmetic,
        r.unchanged,
        per(r.crawl),
        per(r.refresh),
        r.refresh_requests,
        r.conditional_requests,
        r.not_modified,
        per(r.recrawl),
        r.unchanged_cpu_ratio * 100.0,
        r.unchanged_wall_ratio * 100.0,
        r.not_modified_cpu_ratio * 100.0,
        r.not_modified_wall_ratio * 100.0,
        r.history_bytes_per_unchanged_page,
        r.disk_growth_bytes_per_page,
        r.load_before,
        r.load_after,
    );
    if json {
        println!("{}", serde_json::to_string(r)?);
    }
    Ok(())
}
