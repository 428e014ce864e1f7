//! `GET /metrics`: the status report in the Prometheus text format
//! (version 0.0.4).

use crate::control::StatusReport;
use std::fmt::Write as _;

/// Escapes a label value (`\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Renders `s` as Prometheus metrics.
pub(crate) fn render(s: &StatusReport) -> String {
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    metric("trawl_pages_total", "counter", "Pages stored by this run.", &one(s.pages as f64));
    metric("trawl_bytes_total", "counter", "Body bytes fetched by this run.", &one(s.bytes as f64));
    metric(
        "trawl_pages_per_second",
        "gauge",
        "Average pages per second since the start.",
        &one(s.pages_per_sec),
    );
    metric("trawl_queued_urls", "gauge", "URLs waiting in the frontier.", &one(s.queued as f64));
    metric(
        "trawl_queued_on_disk_urls",
        "gauge",
        "URLs waiting on disk only (past --frontier-memory).",
        &one(s.queued_on_disk as f64),
    );
    metric(
        "trawl_in_flight",
        "gauge",
        "URLs leased to workers and not yet reported.",
        &one(s.in_flight as f64),
    );
    metric(
        "trawl_discovered_urls",
        "gauge",
        "Distinct URLs discovered.",
        &one(s.discovered as f64),
    );
    metric("trawl_workers", "gauge", "Worker processes alive.", &one(s.workers.len() as f64));
    metric(
        "trawl_target_workers",
        "gauge",
        "Worker pool target size.",
        &one(f64::from(s.target_workers)),
    );
    metric(
        "trawl_worker_restarts_total",
        "counter",
        "Workers respawned after dying.",
        &one(f64::from(s.restarts)),
    );
    metric(
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
    metric("trawl_outcomes_total", "counter", "Pages per outcome.", &outcomes);
    let hosts: Vec<(String, f64)> =
        s.hosts.iter().map(|(h, n)| (format!("{{host=\"{}\"}}", label(h)), *n as f64)).collect();
    metric("trawl_host_queue_depth", "gauge", "Queued URLs per host (the 20 deepest).", &hosts);
    let rss: Vec<(String, f64)> = s
        .workers
        .iter()
        .map(|w| (format!("{{worker=\"{}\",pid=\"{}\"}}", w.id, w.pid), w.rss_bytes as f64))
        .collect();
    metric("trawl_worker_rss_bytes", "gauge", "Resident memory per worker.", &rss);
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
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
        }
    }
}
