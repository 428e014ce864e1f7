//! End-to-end tests: the real `trawl` binary, its worker processes and real
//! HTTP servers on 127.0.0.1. One test binary (as ripgrep does), one module
//! per area.

// A failed unwrap in a test helper is a test failure with a backtrace, which
// is what we want (clippy's allow-unwrap-in-tests only covers #[test] fns).
#![allow(clippy::unwrap_used)]

// Helpers, one concept per file (see support/mod.rs).
mod support;
// The helpers under their historical module names.
mod harness;
mod query_support;
// Crawling the generated site: exact URL sets, titles, limits, query output.
mod crawl;
// Processes: workers die with their coordinator, replacement, busy stores.
mod process;
// The command line: bad flags fail fast and name the flag; misuse messages.
mod cli;
// A real documentation tree served by python's http.server, against a model.
mod docs;
// Politeness measured at the server: --delay, --per-host, 429 Retry-After.
mod politeness;
// robots.txt rules, statuses, Crawl-delay, --ignore-robots, sitemaps.
mod robots;
// Resume after repeated SIGKILLs of the coordinator.
mod resume;
// Supervision and control: worker chaos, poison pages, scaling, signals, API.
mod supervision;
// --config files (flags override, bad keys) and --allow/--deny filters.
mod config;
// Continuous crawling: trawl refresh (304s, changes, gone pages, kill -9), --revisit.
mod refresh;
// trawl query across processes: CLI errors and exit codes, formats end to end, live queries.
mod query;
// The HTTP API: status, pages, metrics, OpenAPI, seeds, scaling, tokens.
mod api;
// trawl export: jsonl/csv as query prints them, WARC read back with warcio.
mod export;
// The HTML dashboard rendered by headless Chromium during a crawl.
mod dashboard;
// `trawl bench`: the matrix and the frontier-at-scale mode.
mod bench;
// The OpenAPI document against the live server, by schemathesis.
mod schemathesis;
// Issue 14: closed pipes, signals, exit codes, --json, metrics, extract, packaging.
mod ux;
// Issue 13's guards: parse budget, request-forgery guard, a full disk.
mod guards;
// Cluster mode: trawl crawl --cluster processes on a real PostgreSQL.
mod cluster;
// Cluster mode through the database: crash counts, robots.txt, sitemaps;
// the deploy files.
mod cluster_db;
// Cluster mode for operators: export/status --cluster, /api/cluster, metrics.
mod cluster_ops;
// Issue 16: the changing site refreshed; --changed-since, --history, --gone, /api/history.
mod history;
// Cluster faults: politeness across a handover, PostgreSQL restarted, a
// machine cut off from the database (network namespace).
mod cluster_faults;
