//! Human output of a crawl: the live progress line (only on a terminal)
//! and the final summary (always).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::Duration;
use trawl_common::config::CrawlConfig;
use trawl_coordinator::{CrawlSummary, Progress};

/// A one-line live display; silent when stdout is not a terminal.
pub(crate) struct ProgressLine {
    bar: Option<ProgressBar>,
}

impl ProgressLine {
    pub(crate) fn new() -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar }
    }

    pub(crate) fn update(&mut self, p: &Progress) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} pages | {:.0} pages/s | {} queued | {} in flight | {} workers{}",
                p.pages,
                p.pages_per_sec(),
                p.queued,
                p.in_flight,
                p.workers,
                if p.restarts > 0 { format!(" | {} restarts", p.restarts) } else { String::new() },
            ));
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

/// Prints the end-of-crawl summary to stdout.
pub(crate) fn print_summary(s: &CrawlSummary, config: &CrawlConfig) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    // With autoscaling (or `trawl scale`) the pool size changed: say how
    // many worker processes ran rather than the starting size.
    let workers = match config.autoscale {
        Some((lo, hi)) => format!("{lo}..{hi} autoscaled workers ({} ran)", s.workers.len()),
        None => format!("{} workers", config.workers),
    };
    writeln!(
        out,
        "crawled {} pages in {:.2} s ({:.0} pages/s) with {workers} x {} concurrent requests",
        s.pages,
        s.elapsed.as_secs_f64(),
        s.pages_per_sec(),
        config.concurrency,
    )?;
    let outcomes: Vec<String> = s.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(
        out,
        "  outcomes: {}",
        if outcomes.is_empty() { "none".into() } else { outcomes.join(", ") }
    )?;
    writeln!(out, "  discovered {} URLs in scope; worker restarts: {}", s.discovered, s.restarts)?;
    if s.resumed_pages > 0 || s.resumed_queue > 0 {
        writeln!(
            out,
            "  resumed: {} pages were already stored, {} URLs were still queued",
            s.resumed_pages, s.resumed_queue
        )?;
    }
    if s.peak_on_disk > 0 {
        writeln!(
            out,
            "  frontier: up to {} queued URLs waited on disk (more than --frontier-memory {} were queued)",
            s.peak_on_disk, config.frontier_memory
        )?;
    }
    if s.left > 0 {
        writeln!(
            out,
            "  stopped with {} URLs still queued: rerun the same command to continue",
            s.left
        )?;
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
    writeln!(out, "  store: {}", config.store.display())?;
    Ok(())
}
