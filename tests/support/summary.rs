//! The crawl summary as tests read it: `trawl crawl --json` prints one JSON
//! object (`src/cmd/report.rs` `print_json`, fields in the README), so tests
//! assert on fields, not on the wording of the human summary.

use super::command::{Output, tail};
use serde_json::Value;

impl Output {
    /// The `--json` summary of a finished `trawl crawl --json`: the last
    /// stdout line that is a JSON object. Fails the test if there is none
    /// (the run lacked `--json`, or crashed before its summary).
    #[track_caller]
    pub(crate) fn summary(&self) -> Value {
        summary_json(&self.stdout).unwrap_or_else(|| {
            panic!(
                "`{}` printed no JSON summary (did it pass --json?)\n--- stdout (tail)\n{}",
                self.line,
                tail(&self.stdout, 2000)
            )
        })
    }

    /// `outcomes.KIND` of the JSON summary, 0 if that kind never occurred.
    #[track_caller]
    pub(crate) fn outcome_count(&self, kind: &str) -> u64 {
        self.summary()["outcomes"].get(kind).and_then(Value::as_u64).unwrap_or(0)
    }

    /// The `workers` of the JSON summary, one row per worker process that
    /// ran (replacements and recycled workers included).
    #[track_caller]
    pub(crate) fn summary_workers(&self) -> Vec<SummaryWorker> {
        workers_of(&self.summary())
    }
}

/// The last line of `stdout` that parses as a JSON object.
pub(crate) fn summary_json(stdout: &str) -> Option<Value> {
    stdout.lines().rev().find_map(|l| {
        let l = l.trim();
        (l.starts_with('{')).then(|| serde_json::from_str::<Value>(l).ok()).flatten()
    })
}

/// The `restarts` of a crawl summary: from the JSON summary when the run
/// had `--json`, else from the human summary's `worker restarts: N` (kept
/// so tests written against the prose still compile; prefer
/// [`Output::summary`]).
#[allow(dead_code)] // kept for tests on other branches; see above
pub(crate) fn summary_restarts(stdout: &str) -> Option<u64> {
    if let Some(v) = summary_json(stdout) {
        return v["restarts"].as_u64();
    }
    let at = stdout.find("worker restarts: ")? + "worker restarts: ".len();
    stdout[at..].split_whitespace().next()?.parse().ok()
}

/// One worker of a crawl summary.
#[derive(Debug, Clone)]
pub(crate) struct SummaryWorker {
    pub(crate) id: String,
    pub(crate) pid: u32,
    pub(crate) pages: u64,
    pub(crate) exit: String,
}

/// The workers of a crawl summary: the JSON summary's `workers` when the
/// run had `--json`, else the rows of the human summary's worker table
/// (after the `worker pid pages` header, up to the `store:` line).
#[allow(dead_code)] // kept for tests on other branches
pub(crate) fn summary_workers(stdout: &str) -> Vec<SummaryWorker> {
    if let Some(v) = summary_json(stdout) {
        return workers_of(&v);
    }
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in stdout.lines() {
        let t = line.trim();
        if t.starts_with("worker") && t.contains("pid") && t.contains("pages") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if t.starts_with("store:") || t.is_empty() {
            break;
        }
        // id pid pages RSS "MB" exit...
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.len() >= 6 {
            rows.push(SummaryWorker {
                id: f[0].to_owned(),
                pid: f[1].parse().unwrap_or(0),
                pages: f[2].parse().unwrap_or(0),
                exit: f[5..].join(" "),
            });
        }
    }
    rows
}

/// The `workers` array of a JSON summary as rows.
fn workers_of(summary: &Value) -> Vec<SummaryWorker> {
    let none = Vec::new();
    let workers = summary["workers"].as_array().unwrap_or(&none);
    workers
        .iter()
        .map(|w| SummaryWorker {
            id: w["id"].to_string(),
            pid: w["pid"].as_u64().and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
            pages: w["pages"].as_u64().unwrap_or(0),
            exit: w["exit"].as_str().unwrap_or("").to_owned(),
        })
        .collect()
}
