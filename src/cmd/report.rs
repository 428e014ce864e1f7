//! Human and machine output of a crawl: the start line (dashboard and API
//! address), the live progress (a bar on a terminal, a periodic stats line
//! otherwise), and the final summary as text or as one JSON object.

use super::out::plural;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use trawl_common::config::CrawlConfig;
use trawl_coordinator::api::ApiAdvert;
use trawl_coordinator::progress::SUCCESS_OUTCOMES;
use trawl_coordinator::{CrawlSummary, Progress};

/// How often the stats line is printed when stdout is not a terminal.
const STATS_EVERY: Duration = Duration::from_secs(5);

/// Live display of a running crawl, on stderr.
pub(crate) struct ProgressLine {
    bar: Option<ProgressBar>,
    /// Print a stats line every [`STATS_EVERY`] (stdout is not a terminal).
    periodic: bool,
    last_stats: Option<(Instant, u64)>,
    /// Where to look for the API advert; cleared once announced.
    announce: Option<PathBuf>,
    /// The store is temporary: its path is not worth printing.
    temporary_store: bool,
}

impl ProgressLine {
    /// `quiet`: no display at all. `max_pages` bounds the crawl: a bar
    /// with total, % and ETA instead of a spinner.
    pub(crate) fn new(
        store: PathBuf,
        quiet: bool,
        max_pages: Option<u64>,
        temporary_store: bool,
    ) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let bar = (terminal && !quiet).then(|| {
            let bar = ProgressBar::with_draw_target(max_pages, ProgressDrawTarget::stdout());
            let template = if max_pages.is_some() {
                "{spinner} [{bar:30}] {pos}/{len} ({percent}%, ETA {eta}) {msg}"
            } else {
                "{spinner} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            periodic: !terminal && !quiet,
            last_stats: None,
            announce: (!quiet).then_some(store),
            temporary_store,
        }
    }

    pub(crate) fn update(&mut self, p: &Progress) {
        if let Some(store) = &self.announce {
            // The crawl advertises its API before the first progress call.
            if let Ok(Some(advert)) = ApiAdvert::read(store) {
                let base = advert.base_url();
                let into = if self.temporary_store {
                    "a temporary store".to_owned()
                } else {
                    store.display().to_string()
                };
                super::out::line_err(&format!(
                    "trawl: crawling into {into}; dashboard {base}/ (API {base}/api/status, metrics {base}/metrics)"
                ));
            }
            self.announce = None;
        }
        let restarts = if p.restarts > 0 {
            format!(" | {}", plural(u64::from(p.restarts), "restart", "restarts"))
        } else {
            String::new()
        };
        if let Some(bar) = &self.bar {
            if bar.length().is_some() {
                // The limit counts earlier runs' pages; the ETA only this run's.
                if bar.position() == 0 && p.resumed_pages > 0 {
                    bar.set_position(p.resumed_pages);
                    bar.reset_eta();
                }
                bar.set_position(p.resumed_pages + p.pages);
            }
            bar.set_message(format!(
                "{} | {:.0} pages/s | {} queued | {} in flight | {} | {}{restarts}",
                plural(p.pages, "page", "pages"),
                p.pages_per_sec(),
                p.queued,
                p.in_flight,
                plural(p.errors, "error", "errors"),
                plural(u64::from(p.workers), "worker", "workers"),
            ));
        }
        if self.periodic {
            let now = Instant::now();
            let (since, pages_then) = *self.last_stats.get_or_insert((now, 0));
            let secs = now.duration_since(since).as_secs_f64();
            if secs >= STATS_EVERY.as_secs_f64() {
                let recent = (p.pages - pages_then.min(p.pages)) as f64 / secs;
                super::out::line_err(&format!(
                    "trawl: {} ({recent:.0} pages/s now, {:.0} average), {} queued, {} in flight, {}, {}{restarts}",
                    plural(p.pages, "page", "pages"),
                    p.pages_per_sec(),
                    p.queued,
                    p.in_flight,
                    plural(p.errors, "error", "errors"),
                    plural(u64::from(p.workers), "worker", "workers"),
                ));
                self.last_stats = Some((now, p.pages));
            }
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Why the crawl ended, as the JSON summary's `exit_reason` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ExitReason {
    /// Nothing was left to fetch.
    Finished,
    /// `--max-pages` pages are stored (this run and earlier ones).
    MaxPages,
    /// The crawl ran but no page succeeded.
    NoPageSucceeded,
    /// One SIGINT/SIGTERM: in-flight requests finished and were stored.
    Stopped,
    /// A second SIGINT stopped it at once.
    Interrupted,
    /// A second SIGTERM stopped it at once.
    Terminated,
}

/// Pages of this run that succeeded.
pub(crate) fn succeeded(s: &CrawlSummary) -> u64 {
    s.outcomes.iter().filter(|(k, _)| SUCCESS_OUTCOMES.contains(k)).map(|(_, v)| v).sum()
}

/// Decides why the crawl ended; `signal` is the exit code of a signal that
/// stopped it, if one did.
pub(crate) fn exit_reason(
    s: &CrawlSummary,
    config: &CrawlConfig,
    signal: Option<u8>,
) -> ExitReason {
    match signal {
        Some(_) if !s.interrupted => ExitReason::Stopped,
        Some(super::exit::TERMINATED) => ExitReason::Terminated,
        Some(_) => ExitReason::Interrupted,
        None if s.pages > 0 && succeeded(s) == 0 => ExitReason::NoPageSucceeded,
        None if config.max_pages.is_some_and(|m| s.resumed_pages + s.pages >= m) => {
            ExitReason::MaxPages
        }
        None => ExitReason::Finished,
    }
}

impl ExitReason {
    pub(crate) fn exit_code(self) -> u8 {
        use super::exit;
        match self {
            Self::Finished | Self::MaxPages | Self::Stopped => exit::OK,
            Self::NoPageSucceeded => exit::NO_PAGE,
            Self::Interrupted => exit::INTERRUPTED,
            Self::Terminated => exit::TERMINATED,
        }
    }
}

/// One worker in the JSON summary.
#[derive(Serialize)]
struct JsonWorker {
    id: u32,
    pid: u32,
    pages: u64,
    peak_rss_bytes: u64,
    exit: String,
}

/// The `--json` summary; every field is documented in the README.
#[derive(Serialize)]
struct JsonSummary<'a> {
    exit_reason: ExitReason,
    exit_code: u8,
    pages: u64,
    succeeded: u64,
    pages_per_sec: f64,
    elapsed_secs: f64,
    outcomes: &'a BTreeMap<&'static str, u64>,
    changes: &'a BTreeMap<&'static str, u64>,
    discovered: u64,
    left: u64,
    max_pages: Option<u64>,
    resumed_pages: u64,
    resumed_queue: u64,
    peak_on_disk: u64,
    worker_count: usize,
    workers: Vec<JsonWorker>,
    restarts: u32,
    interrupted: bool,
    coordinator_cpu_secs: f64,
    worker_cpu_secs: f64,
    coordinator_peak_rss_bytes: u64,
    concurrency: u32,
    store: String,
}

/// Prints the summary as one JSON object (one line) on stdout.
pub(crate) fn print_json(
    s: &CrawlSummary,
    config: &CrawlConfig,
    reason: ExitReason,
) -> std::io::Result<()> {
    let json = JsonSummary {
        exit_reason: reason,
        exit_code: reason.exit_code(),
        pages: s.pages,
        succeeded: succeeded(s),
        pages_per_sec: s.pages_per_sec(),
        elapsed_secs: s.elapsed.as_secs_f64(),
        outcomes: &s.outcomes,
        changes: &s.changes,
        discovered: s.discovered,
        left: s.left,
        max_pages: config.max_pages,
        resumed_pages: s.resumed_pages,
        resumed_queue: s.resumed_queue,
        peak_on_disk: s.peak_on_disk,
        worker_count: s.workers.len(),
        workers: s
            .workers
            .iter()
            .map(|w| JsonWorker {
                id: w.id.0,
                pid: w.pid,
                pages: w.pages,
                peak_rss_bytes: w.peak_rss,
                exit: w.exit.clone(),
            })
            .collect(),
        restarts: s.restarts,
        interrupted: s.interrupted,
        coordinator_cpu_secs: s.coordinator_cpu_secs,
        worker_cpu_secs: s.worker_cpu_secs,
        coordinator_peak_rss_bytes: s.coordinator_peak_rss,
        concurrency: config.concurrency,
        store: config.store.display().to_string(),
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &json).map_err(std::io::Error::other)?;
    writeln!(out)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

/// Prints the end-of-crawl summary to stdout.
pub(crate) fn print_summary(
    s: &CrawlSummary,
    config: &CrawlConfig,
    reason: ExitReason,
    temporary_store: bool,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    // With autoscaling (or `trawl scale`) the pool size changed: say how
    // many worker processes ran rather than the starting size.
    let workers = match config.autoscale {
        Some((lo, hi)) => format!("{lo}..{hi} autoscaled workers ({} ran)", s.workers.len()),
        None => plural(u64::from(config.workers), "worker", "workers"),
    };
    writeln!(
        out,
        "crawled {} in {:.2} s ({:.0} pages/s) with {workers} x {} concurrent {}",
        plural(s.pages, "page", "pages"),
        s.elapsed.as_secs_f64(),
        s.pages_per_sec(),
        config.concurrency,
        if config.concurrency == 1 { "request" } else { "requests" },
    )?;
    let outcomes: Vec<String> = s.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(
        out,
        "  outcomes: {}",
        if outcomes.is_empty() { "none".into() } else { outcomes.join(", ") }
    )?;
    // Revisits (refresh, --revisit): what the fetches found.
    if s.changes.keys().any(|k| *k != "first") {
        let changes: Vec<String> = s.changes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "  changes: {}", changes.join(", "))?;
    }
    writeln!(
        out,
        "  discovered {} in scope; worker restarts: {}",
        plural(s.discovered, "URL", "URLs"),
        s.restarts
    )?;
    if s.resumed_pages > 0 || s.resumed_queue > 0 {
        writeln!(
            out,
            "  resumed: {} already stored, {} still queued",
            plural(s.resumed_pages, "page was", "pages were"),
            plural(s.resumed_queue, "URL was", "URLs were")
        )?;
    }
    if s.peak_on_disk > 0 {
        writeln!(
            out,
            "  frontier: up to {} queued URLs waited on disk (more than --frontier-memory {} were queued)",
            s.peak_on_disk, config.frontier_memory
        )?;
    }
    match reason {
        ExitReason::MaxPages => writeln!(
            out,
            "  limit reached: {} stored (--max-pages {}), {} still queued; rerun with a higher --max-pages to continue",
            plural(s.resumed_pages + s.pages, "page", "pages"),
            config.max_pages.unwrap_or(0),
            plural(s.left, "URL", "URLs"),
        )?,
        ExitReason::NoPageSucceeded => writeln!(
            out,
            "  no page succeeded: every fetch failed or was refused (see outcomes; `trawl query --store {} --format table` shows why)",
            config.store.display()
        )?,
        _ if s.left > 0 => writeln!(
            out,
            "  stopped with {} still queued: rerun the same command to continue",
            plural(s.left, "URL", "URLs")
        )?,
        _ => {}
    }
    let per_page_ms = |secs: f64| if s.pages > 0 { secs * 1000.0 / s.pages as f64 } else { 0.0 };
    writeln!(
        out,
        "  cpu: coordinator {:.2} s ({:.3} ms/page), workers {:.2} s ({:.3} ms/page); coordinator peak RSS {}",
        s.coordinator_cpu_secs,
        per_page_ms(s.coordinator_cpu_secs),
        s.worker_cpu_secs,
        per_page_ms(s.worker_cpu_secs),
        mb(s.coordinator_peak_rss),
    )?;
    writeln!(out, "  {:<6} {:>8} {:>8} {:>10}  exit", "worker", "pid", "pages", "peak RSS")?;
    for w in &s.workers {
        writeln!(
            out,
            "  {:<6} {:>8} {:>8} {:>10}  {}",
            w.id.to_string(),
            w.pid,
            w.pages,
            mb(w.peak_rss),
            w.exit
        )?;
    }
    if temporary_store {
        writeln!(out, "  store: temporary, deleted at exit (--store DIR keeps it)")?;
    } else {
        writeln!(out, "  store: {}", config.store.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::exit;

    fn config(max_pages: Option<u64>) -> CrawlConfig {
        use clap::Parser as _;
        let cli = crate::cli::Cli::try_parse_from(["trawl", "crawl", "http://127.0.0.1:1/"])
            .expect("parses");
        let crate::cli::Command::Crawl(args) = cli.command else { panic!("not crawl") };
        let target = trawl_common::config::TargetOptions {
            seeds: args.target.seeds,
            store: Some("/tmp/x".into()),
        };
        let mut options = args.options;
        options.limits.max_pages = max_pages;
        trawl_common::config::resolve(target, options).expect("valid config")
    }

    fn summary(outcomes: &[(&'static str, u64)], resumed: u64, left: u64) -> CrawlSummary {
        CrawlSummary {
            pages: outcomes.iter().map(|(_, n)| n).sum(),
            discovered: 0,
            elapsed: Duration::from_secs(1),
            workers: Vec::new(),
            outcomes: outcomes.iter().copied().collect(),
            restarts: 0,
            coordinator_cpu_secs: 0.0,
            worker_cpu_secs: 0.0,
            coordinator_peak_rss: 0,
            store_batches: 0,
            interrupted: false,
            resumed_pages: resumed,
            resumed_queue: 0,
            left,
            peak_on_disk: 0,
            changes: BTreeMap::new(),
        }
    }

    #[test]
    fn exit_reasons_and_codes() {
        let none = config(None);
        let done = summary(&[("ok", 3), ("http_error", 1)], 0, 0);
        assert_eq!(exit_reason(&done, &none, None), ExitReason::Finished);
        let failed = summary(&[("disallowed", 1)], 0, 0);
        assert_eq!(exit_reason(&failed, &none, None), ExitReason::NoPageSucceeded);
        assert_eq!(ExitReason::NoPageSucceeded.exit_code(), exit::NO_PAGE);
        // Nothing to do on a finished store is not a failure.
        assert_eq!(exit_reason(&summary(&[], 10, 0), &none, None), ExitReason::Finished);
        // The limit counts earlier runs' pages.
        let limited = config(Some(20));
        let rerun = summary(&[("ok", 5)], 15, 100);
        assert_eq!(exit_reason(&rerun, &limited, None), ExitReason::MaxPages);
        assert_eq!(exit_reason(&summary(&[("ok", 5)], 0, 0), &limited, None), ExitReason::Finished);
        // One signal drains cleanly (0); a second abandons leases (130/143).
        let stopped = summary(&[("ok", 5)], 0, 100);
        assert_eq!(exit_reason(&stopped, &none, Some(exit::INTERRUPTED)), ExitReason::Stopped);
        assert_eq!(ExitReason::Stopped.exit_code(), exit::OK);
        let cut = CrawlSummary { interrupted: true, ..stopped };
        assert_eq!(exit_reason(&cut, &none, Some(exit::TERMINATED)).exit_code(), exit::TERMINATED);
        assert_eq!(
            exit_reason(&cut, &none, Some(exit::INTERRUPTED)).exit_code(),
            exit::INTERRUPTED
        );
    }
}
