//! The cluster view of a crawl run with `--cluster`: `GET /api/cluster`
//! (the JSON `trawl status --cluster --json` prints, which the dashboard
//! polls) and the `trawl_cluster_*` metrics appended to `/metrics`. Both
//! read the cluster's database (the machines table, partitions and the
//! counters: nothing that grows with the crawl) through the API's own
//! connection pool.

use super::ApiState;
use super::routes::authorize;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use trawl_cluster::ClusterStatus;

/// `GET /api/cluster`: 404 unless the crawl runs with `--cluster`, 503 if
/// the database does not answer.
pub(super) async fn cluster(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, (StatusCode, String)> {
    authorize(&state, &headers)?;
    let Some(cluster) = &state.cluster else {
        return Err((StatusCode::NOT_FOUND, "this crawl does not run with --cluster".into()));
    };
    match cluster.status().await {
        Ok(s) => Ok(Json(crate::cluster_mode::status_json(&s)).into_response()),
        Err(e) => Err((StatusCode::SERVICE_UNAVAILABLE, format!("cluster database: {e}"))),
    }
}

/// The cluster's metrics for `/metrics`, if the crawl runs with
/// `--cluster` (`trawl_cluster_up 0` if the database does not answer).
pub(super) async fn metrics(state: &ApiState) -> String {
    let Some(cluster) = &state.cluster else { return String::new() };
    match cluster.status().await {
        Ok(s) => render(Some(&s)),
        Err(e) => {
            tracing::warn!(error = %e, "cluster status for /metrics failed");
            render(None)
        }
    }
}

/// Escapes a label value (`\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Prometheus text of a cluster's status (`None`: the database did not
/// answer). Counters end in `_total`; per-machine series are labelled by
/// machine id (`--cluster-name` keeps it stable across restarts).
fn render(s: Option<&ClusterStatus>) -> String {
    use super::metrics::metric;
    let mut out = String::with_capacity(2048);
    let one = |v: f64| vec![(String::new(), v)];
    metric(
        &mut out,
        "trawl_cluster_up",
        "gauge",
        "1 if the cluster's database answered this scrape.",
        &one(if s.is_some() { 1.0 } else { 0.0 }),
    );
    let Some(s) = s else { return out };
    metric(
        &mut out,
        "trawl_cluster_machines",
        "gauge",
        "Machines alive (heartbeat younger than their lease).",
        &one(s.alive() as f64),
    );
    let outcomes: Vec<(String, f64)> = s
        .outcomes
        .iter()
        .map(|(k, v)| (format!("{{outcome=\"{}\"}}", label(k)), *v as f64))
        .collect();
    metric(
        &mut out,
        "trawl_cluster_pages_total",
        "counter",
        "Pages stored by the whole cluster, per outcome.",
        &outcomes,
    );
    metric(
        &mut out,
        "trawl_cluster_urls_total",
        "counter",
        "URLs discovered by the whole cluster (queued or stored).",
        &one(s.urls as f64),
    );
    metric(
        &mut out,
        "trawl_cluster_queued_urls",
        "gauge",
        "URLs queued in the whole cluster (no page row yet).",
        &one(s.queued as f64),
    );
    metric(
        &mut out,
        "trawl_cluster_pages_per_second",
        "gauge",
        "Pages per second the live machines reported in their last heartbeat, summed.",
        &one(s.pages_per_sec()),
    );
    if let Some(max) = s.max_pages {
        metric(
            &mut out,
            "trawl_cluster_max_pages",
            "gauge",
            "The crawl's --max-pages.",
            &one(max as f64),
        );
    }
    let per = |f: &dyn Fn(&trawl_cluster::MachineStatus) -> f64| -> Vec<(String, f64)> {
        s.machines.iter().map(|m| (format!("{{machine=\"{}\"}}", label(&m.id)), f(m))).collect()
    };
    metric(
        &mut out,
        "trawl_cluster_machine_up",
        "gauge",
        "1 if the machine's heartbeat is younger than its lease.",
        &per(&|m| if m.alive { 1.0 } else { 0.0 }),
    );
    metric(
        &mut out,
        "trawl_cluster_partitions",
        "gauge",
        "Partitions the machine holds.",
        &per(&|m| m.partitions as f64),
    );
    metric(
        &mut out,
        "trawl_cluster_workers",
        "gauge",
        "Worker processes of the machine, as of its last heartbeat.",
        &per(&|m| f64::from(m.workers)),
    );
    metric(
        &mut out,
        "trawl_cluster_machine_pages_total",
        "counter",
        "Pages the machine stored in the cluster.",
        &per(&|m| m.pages as f64),
    );
    metric(
        &mut out,
        "trawl_cluster_heartbeat_age_seconds",
        "gauge",
        "Seconds since the machine's last heartbeat (the database's clock).",
        &per(&|m| m.heartbeat_age_secs),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_cluster::MachineStatus;

    #[test]
    fn renders_the_cluster_view() {
        let m = |id: &str, alive| MachineStatus {
            id: id.into(),
            address: "h".into(),
            partitions: if alive { 1024 } else { 0 },
            workers: 3,
            pages_per_sec: 12.5,
            heartbeat_age_secs: 0.5,
            alive,
            pages: 40,
        };
        let s = ClusterStatus {
            machines: vec![m("a", true), m("b\"x", false)],
            pages: 80,
            queued: 5,
            urls: 85,
            outcomes: vec![("ok".into(), 79), ("http_error".into(), 1)],
            partitions_held: 1024,
            max_pages: Some(100),
        };
        let text = render(Some(&s));
        assert!(text.contains("trawl_cluster_up 1\n"), "{text}");
        assert!(text.contains("# TYPE trawl_cluster_machines gauge\ntrawl_cluster_machines 1\n"));
        assert!(text.contains("trawl_cluster_pages_total{outcome=\"http_error\"} 1\n"));
        assert!(text.contains("trawl_cluster_queued_urls 5\n"));
        assert!(text.contains("trawl_cluster_pages_per_second 12.5\n"));
        assert!(text.contains("trawl_cluster_partitions{machine=\"a\"} 1024\n"));
        assert!(text.contains("trawl_cluster_partitions{machine=\"b\\\"x\"} 0\n"));
        assert!(text.contains("trawl_cluster_machine_up{machine=\"b\\\"x\"} 0\n"));
        assert!(text.contains("trawl_cluster_max_pages 100\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
        }
        assert_eq!(
            render(None),
            "# HELP trawl_cluster_up 1 if the cluster's database answered this scrape.\n# TYPE trawl_cluster_up gauge\ntrawl_cluster_up 0\n"
        );
    }
}
