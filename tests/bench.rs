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
