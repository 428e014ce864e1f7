//! `GET /metrics`: Prometheus text format (version 0.0.4), following the
//! Prometheus naming conventions:
//! - counters end in `_total` and only grow (pages, bytes, outcomes,
//!   status classes, restarts): speeds are `rate()`'s job, not ours;
//! - a histogram of fetch durations (`trawl_fetch_duration_seconds`),
//!   observed from every record the coordinator stores ([`observe`]);
//! - `trawl_build_info` and the standard `process_*` metrics;
//! - no pid or worker-id labels: a restarted worker must not start a new
//!   series, so worker memory is one sum.
//!
//! The per-record counters are process-wide statics: a Prometheus counter
//! belongs to the process that exports it, and these start at zero with it.

use crate::control::StatusReport;
use crate::store::PageRecord;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the fetch-duration buckets, in milliseconds.
const BUCKETS_MS: [u64; 12] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

/// Per-record observations since the process started.
struct FetchStats {
    /// Cumulative counts per bucket of [`BUCKETS_MS`] (non-cumulative here;
    /// summed when rendered), plus +Inf.
    buckets: [AtomicU64; BUCKETS_MS.len() + 1],
    sum_ms: AtomicU64,
    count: AtomicU64,
    /// 1xx..5xx responses, and fetches without a status (index 0).
    status_classes: [AtomicU64; 6],
}

static STATS: FetchStats = FetchStats {
    buckets: [const { AtomicU64::new(0) }; BUCKETS_MS.len() + 1],
    sum_ms: AtomicU64::new(0),
    count: AtomicU64::new(0),
    status_classes: [const { AtomicU64::new(0) }; 6],
};

/// Records one stored page: its fetch duration and status class.
pub(crate) fn observe(record: &PageRecord) {
    let ms = u64::from(record.elapsed_ms);
    let i = BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(BUCKETS_MS.len());
    STATS.buckets[i].fetch_add(1, Ordering::Relaxed);
    STATS.sum_ms.fetch_add(ms, Ordering::Relaxed);
    STATS.count.fetch_add(1, Ordering::Relaxed);
    let class = record.status.map_or(0, |s| usize::from(s / 100).min(5));
    STATS.status_classes[class].fetch_add(1, Ordering::Relaxed);
}

/// Escapes a label value (`\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// This process's start, in seconds since the Unix epoch (from
/// `/proc/self/stat` and the boot time in `/proc/stat`).
fn process_start_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // starttime is field 22 overall, the 20th after the command name.
    let ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let btime: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // USER_HZ is 100 on every Linux target we run on.
    Some(btime + ticks / 100.0)
}

/// Writes one metric family: its help and type lines, then its samples
/// (`labels` is empty or `{k="v",...}`).
pub(crate) fn metric(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: &[(String, f64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, v) in samples {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

/// Renders `s` (and the process-wide counters) as Prometheus metrics.
pub(crate) fn render(s: &StatusReport) -> String {
    let mut out = String::with_capacity(4096);
    let one = |v: f64| vec![(String::new(), v)];
    metric(
        &mut out,
        "trawl_build_info",
        "gauge",
        "Always 1; the labels say which trawl this is.",
        &[(format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")), 1.0)],
    );
    metric(
        &mut out,
        "trawl_pages_total",
        "counter",
        "Pages stored by this run.",
        &one(s.pages as f64),
    );
    metric(
        &mut out,
        "trawl_bytes_total",
        "counter",
        "Body bytes fetched by this run.",
        &one(s.bytes as f64),
    );
    metric(
        &mut out,
        "trawl_queued_urls",
        "gauge",
        "URLs waiting in the frontier.",
        &one(s.queued as f64),
    );
    metric(
        &mut out,
        "trawl_queued_on_disk_urls",
        "gauge",
        "URLs waiting on disk only (past --frontier-memory).",
        &one(s.queued_on_disk as f64),
    );
    metric(
        &mut out,
        "trawl_in_flight",
        "gauge",
        "URLs leased to workers and not yet reported.",
        &one(s.in_flight as f64),
    );
    metric(
        &mut out,
        "trawl_discovered_urls",
        "gauge",
        "Distinct URLs discovered.",
        &one(s.discovered as f64),
    );
    metric(
        &mut out,
        "trawl_workers",
        "gauge",
        "Worker processes alive.",
        &one(s.workers.len() as f64),
    );
    metric(
        &mut out,
        "trawl_target_workers",
        "gauge",
        "Worker pool target size.",
        &one(f64::from(s.target_workers)),
    );
    metric(
        &mut out,
        "trawl_worker_restarts_total",
        "counter",
        "Workers respawned after dying.",
        &one(f64::from(s.restarts)),
    );
    metric(
        &mut out,
        "trawl_poison_pages_total",
        "counter",
        "URLs recorded as poison.",
        &one(s.poison as f64),
    );
    let outcomes: Vec<(String, f64)> = s
        .outcomes
        .iter()
        .map(|(k, v)| (format!("{{outcome=\"{}\"}}", label(k)), *v as f64))
        .collect();
    metric(&mut out, "trawl_outcomes_total", "counter", "Pages per outcome.", &outcomes);
    let classes: Vec<(String, f64)> = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"]
        .iter()
        .zip(&STATS.status_classes)
        .map(|(c, n)| (format!("{{class=\"{c}\"}}"), n.load(Ordering::Relaxed) as f64))
        .collect();
    metric(
        &mut out,
        "trawl_responses_total",
        "counter",
        "Stored pages per HTTP status class (none: no response).",
        &classes,
    );
    let mut cumulative = 0u64;
    let mut buckets: Vec<(String, f64)> = Vec::with_capacity(BUCKETS_MS.len() + 3);
    for (i, n) in STATS.buckets.iter().enumerate() {
        cumulative += n.load(Ordering::Relaxed);
        let le = BUCKETS_MS
            .get(i)
            .map_or_else(|| "+Inf".to_owned(), |ms| (*ms as f64 / 1000.0).to_string());
        buckets.push((format!("_bucket{{le=\"{le}\"}}"), cumulative as f64));
    }
    {
        let name = "trawl_fetch_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Fetch plus parse time of stored pages.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (suffix, v) in &buckets {
            let _ = writeln!(out, "{name}{suffix} {v}");
        }
        let sum = STATS.sum_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {}", STATS.count.load(Ordering::Relaxed));
    }
    let hosts: Vec<(String, f64)> =
        s.hosts.iter().map(|(h, n)| (format!("{{host=\"{}\"}}", label(h)), *n as f64)).collect();
    metric(
        &mut out,
        "trawl_host_queue_depth",
        "gauge",
        "Queued URLs per host (the 20 deepest).",
        &hosts,
    );
    let workers_rss: u64 = s.workers.iter().map(|w| w.rss_bytes).sum();
    metric(
        &mut out,
        "trawl_workers_resident_memory_bytes",
        "gauge",
        "Resident memory of all worker processes together.",
        &one(workers_rss as f64),
    );
    if let Some(cpu) = trawl_common::process::cpu_seconds() {
        metric(
            &mut out,
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time of the coordinator, in seconds.",
            &one(cpu),
        );
    }
    metric(
        &mut out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory of the coordinator, in bytes.",
        &one(trawl_common::process::rss_bytes() as f64),
    );
    if let Some(start) = process_start_time() {
        metric(
            &mut out,
            "process_start_time_seconds",
            "gauge",
            "Start of the coordinator process, in seconds since the Unix epoch.",
            &one(start),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let s = StatusReport {
            pid: 1,
            state: crate::control::CrawlState::Running,
            pages: 10,
            pages_per_sec: 2.5,
            queued: 3,
            queued_on_disk: 2,
            in_flight: 1,
            discovered: 14,
            target_workers: 2,
            restarts: 0,
            hung_kills: 0,
            poison: 0,
            elapsed_secs: 4.0,
            workers: Vec::new(),
            outcomes: [("ok".to_owned(), 9), ("http_error".to_owned(), 1)].into(),
            bytes: 1000,
            hosts: vec![("a\"b:1".into(), 3)],
            recent_errors: Vec::new(),
            max_pages: None,
            resumed_pages: 0,
            eta_secs: None,
            timeline: crate::control::OutcomeTimeline::default(),
        };
        let text = render(&s);
        assert!(text.contains("# TYPE trawl_pages_total counter\ntrawl_pages_total 10\n"));
        assert!(text.contains("trawl_outcomes_total{outcome=\"http_error\"} 1\n"));
        assert!(text.contains("trawl_host_queue_depth{host=\"a\\\"b:1\"} 3\n"));
        assert!(text.contains("# TYPE trawl_fetch_duration_seconds histogram\n"));
        assert!(text.contains("trawl_fetch_duration_seconds_bucket{le=\"+Inf\"}"));
        assert!(text.contains("trawl_build_info{version=\""));
        assert!(text.contains("# TYPE process_resident_memory_bytes gauge\n"));
        assert!(!text.contains("pid="), "no pid labels");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
        }
    }

    #[test]
    fn start_time_is_in_the_past() {
        let start = process_start_time().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(start > 1.0e9 && start <= now + 1.0, "{start} vs {now}");
    }
}
