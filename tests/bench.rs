//! `trawl bench`: the matrix on a small site, and the frontier-at-scale
//! mode, both read back from their JSON.

use crate::harness::*;
use serde_json::Value;

#[test]
fn bench_matrix_crawls_the_whole_site_in_every_cell() {
    let out = Trawl::new("bench")
        .args(["--pages", "300", "--workers", "1,2", "--concurrency", "4", "--json"])
        .run()
        .success();
    let report: Value = serde_json::from_str(&out.stdout).expect("bench --json prints JSON");
    let cells = report["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2, "{report}");
    for cell in cells {
        for run in cell["runs"].as_array().expect("runs") {
            assert_eq!(run["pages"], 300, "every page stored once: {run}");
            assert_eq!(run["site_page_hits"], 300, "every page fetched once: {run}");
            assert_eq!(run["site_offsite_hits"], 0, "{run}");
            assert!(run["pages_per_sec"].as_f64().unwrap() > 0.0, "{run}");
            assert!(run["coordinator_peak_rss"].as_u64().unwrap() > 0, "{run}");
        }
    }
    assert!(out.stderr.contains("pages/s"), "the table goes to stderr: {}", out.stderr);
}

#[test]
fn bench_frontier_fills_and_resumes_the_queue() {
    let out = Trawl::new("bench").args(["--frontier", "3000", "--json"]).run().success();
    let report: Value = serde_json::from_str(&out.stdout).expect("bench --json prints JSON");
    let fill = &report["runs"][0];
    let resume = &report["runs"][1];
    let queued = fill["queued_at_end"].as_u64().unwrap();
    assert!(queued >= 2500, "about 3,000 URLs should be queued: {fill}");
    assert_eq!(fill["pages"], 4, "3000 / 950 + 1 pages: {fill}");
    assert_eq!(resume["resumed_queue"].as_u64(), Some(queued), "the resume restores it all");
    assert_eq!(resume["pages"], 100, "{resume}");
    for run in [fill, resume] {
        let mb = run["coordinator_peak_rss_mb"].as_f64().unwrap();
        assert!(mb > 1.0 && mb < 1000.0, "{run}");
    }
}

#[test]
fn bench_many_hosts_measures_gaps_at_the_server() {
    let out = Trawl::new("bench")
        .args(["--hosts", "5", "--delay", "200ms", "--latency", "20ms", "--pages", "25"])
        .args(["--workers", "1", "--concurrency", "8", "--json"])
        .run()
        .success();
    let report: Value = serde_json::from_str(&out.stdout).expect("bench --json prints JSON");
    assert_eq!(report["site_pages"], 25, "{report}");
    let run = &report["cells"][0]["runs"][0];
    assert_eq!((run["workers"].as_u64(), run["concurrency"].as_u64()), (Some(1), Some(8)));
    assert_eq!(run["hosts"], 5, "{run}");
    assert_eq!((run["delay_ms"].as_f64(), run["latency_ms"].as_f64()), (Some(200.0), Some(20.0)));
    // Every host was a seed and every page of every host stored once.
    assert_eq!(run["pages"], 25, "every page stored once: {run}");
    assert_eq!(run["site_page_hits"], 25, "every page fetched once: {run}");
    assert_eq!(run["site_offsite_hits"], 0, "{run}");
    // 5 requests per host plus its robots.txt: 5 gaps per host.
    let gaps = &run["gaps"];
    assert_eq!(gaps["gaps"], 25, "{gaps}");
    let (min, p1, median) = (
        gaps["min_ms"].as_f64().unwrap(),
        gaps["p1_ms"].as_f64().unwrap(),
        gaps["median_ms"].as_f64().unwrap(),
    );
    // Per-host 1: the earlier response (>= 10 ms of latency) ended before
    // the next request started.
    assert!(min >= 10.0 && min <= p1 && p1 <= median, "{gaps}");
    assert!(gaps["min_idle_ms"].as_f64().unwrap() >= 0.0, "per-host 1 never overlaps: {gaps}");
    let below = gaps["below_delay"].as_u64().unwrap();
    assert!(below <= 25 && gaps["hosts_below_delay"].as_u64().unwrap() <= below.min(5), "{gaps}");
    assert_eq!(below == 0, gaps["largest_shortfall_ms"].as_f64() == Some(0.0), "{gaps}");
    assert!(out.stderr.contains("gaps at the server"), "{}", out.stderr);
}

#[test]
fn bench_slow_server_reports_memory_per_request() {
    let out = Trawl::new("bench")
        .args(["--latency", "50ms", "--pages", "40", "--workers", "1", "--concurrency", "2,8"])
        .arg("--json")
        .run()
        .success();
    let report: Value = serde_json::from_str(&out.stdout).expect("bench --json prints JSON");
    let cells = report["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2, "{report}");
    assert!(cells[0]["worker_kb_per_request"].is_null(), "the lowest concurrency is the base");
    assert!(cells[1]["worker_kb_per_request"].as_f64().is_some(), "{}", cells[1]);
    for cell in cells {
        let run = &cell["runs"][0];
        assert_eq!(run["pages"], 40, "{run}");
        assert_eq!(run["site_page_hits"], 40, "{run}");
        assert!(run["gaps"].is_null(), "one host, no delay: no gaps reported: {run}");
        // Every response takes at least latency x (1 - jitter) = 25 ms, so
        // c requests in flight cannot beat c / 25 ms: the latency is real.
        let c = run["concurrency"].as_f64().unwrap();
        let pps = run["pages_per_sec"].as_f64().unwrap();
        assert!(pps > 0.0 && pps <= c / 0.025, "{pps} pages/s with {c} in flight: {run}");
    }
}

#[test]
fn bench_rejects_bad_mode_flags_before_starting() {
    for (args, named) in [
        (&["--hosts", "10", "--delay", "1"][..], "--delay"),
        (&["--latency", "fast"][..], "--latency"),
        (&["--jitter", "1.5"][..], "--jitter"),
        (&["--hosts", "0"][..], "--hosts"),
        (&["--frontier", "5000", "--hosts", "3"][..], "--hosts"),
        (&["--machines", "1,2", "--frontier", "5000"][..], "--machines"),
        (&["--machines", "17"][..], "--machines"),
    ] {
        let out = Trawl::new("bench").args(args.iter().copied()).run();
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(named), "{args:?} names {named}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "nothing ran: {}", out.stdout);
    }
}
