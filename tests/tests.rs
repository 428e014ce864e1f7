//! End-to-end tests: the real `trawl` binary, its worker processes and real
//! HTTP servers on 127.0.0.1. One test binary (as ripgrep does), one module
//! per area.

// A failed unwrap in a test helper is a test failure with a backtrace, which
// is what we want (clippy's allow-unwrap-in-tests only covers #[test] fns).
#![allow(clippy::unwrap_used)]

// Helpers: the `trawl` command builder, temp stores, /proc, set diffs.
mod harness;
// Crawling the generated site: exact URL sets, titles, limits, query output.
mod crawl;
// Processes: workers die with their coordinator, replacement, busy stores.
mod process;
// The command line: bad flags fail fast and name the flag; misuse messages.
mod cli;
// A real documentation tree served by python's http.server, against a model.
mod docs;
