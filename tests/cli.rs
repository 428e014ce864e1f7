//! The command line: bad configuration fails fast, names the flag, starts
//! no process and creates no store; misuse of `query` and `worker` gives a
//! message, not a panic.

use crate::harness::*;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

/// Runs a `trawl crawl` that must be rejected: exit code 2, every field in
/// `fields` named as `invalid FIELD:` on stderr, nothing fetched, no store
/// created, finished in under 5 s.
#[track_caller]
fn rejected(args: &[&str], fields: &[&str]) {
    let server = SiteServer::start(SiteSpec::with_pages(10)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let args: Vec<String> =
        args.iter().map(|a| a.replace("SITE", server.base_url().trim_end_matches('/'))).collect();
    let out = Trawl::new("crawl")
        .args(&args)
        .arg("--store")
        .arg(&store)
        .run_within(Duration::from_secs(30));
    let ctx = format!("`{}`\n--- stderr\n{}--- stdout\n{}", out.line, out.stderr, out.stdout);
    assert_eq!(out.code(), Some(2), "exit code of {ctx}");
    for f in fields {
        assert!(out.stderr.contains(&format!("invalid {f}:")), "stderr should name {f}: {ctx}");
    }
    assert!(!out.stderr.contains("panicked"), "panic: {ctx}");
    assert!(!out.stdout.contains("crawled"), "a crawl ran: {ctx}");
    assert!(!store.exists(), "the store directory was created: {ctx}");
    assert!(out.elapsed < Duration::from_secs(5), "took {:?}: {ctx}", out.elapsed);
    assert_eq!(
        server.page_hits() + server.unknown_hits() + server.robots_hits(),
        0,
        "fetched: {ctx}"
    );
}

#[test]
fn no_seed_is_rejected() {
    rejected(&[], &["seed"]);
}

#[test]
fn zero_workers_is_rejected() {
    rejected(&["SITE/", "--workers", "0"], &["--workers"]);
}

#[test]
fn non_http_seed_is_rejected() {
    rejected(&["ftp://127.0.0.1/pub/"], &["seed"]);
}

#[test]
fn unparsable_seeds_are_rejected() {
    rejected(&["http://[bad"], &["seed"]);
    rejected(&["not a url"], &["seed"]);
    // One bad seed among good ones still fails the whole command.
    rejected(&["SITE/", "http://"], &["seed"]);
}

#[test]
fn unknown_scope_is_rejected() {
    rejected(&["SITE/", "--scope", "planet"], &["--scope"]);
}

#[test]
fn zero_limits_are_rejected() {
    rejected(
        &["SITE/", "--frontier-memory", "0", "--per-host", "0", "--crash-limit", "0"],
        &["--frontier-memory", "--per-host", "--crash-limit"],
    );
}

#[test]
fn every_bad_field_is_reported_at_once() {
    rejected(
        &["ftp://x/", "--workers", "0", "--scope", "planet"],
        &["seed", "--workers", "--scope"],
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let dir = TestDir::new();
    let out = Trawl::crawl("http://127.0.0.1:9/", &dir.store())
        .arg("--no-such-flag")
        .run_within(Duration::from_secs(30));
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
    assert!(!dir.store().exists());
}

#[test]
fn query_of_a_missing_store_fails_clearly() {
    let dir = TestDir::new();
    let missing = dir.path("nonexistent");
    let out = Trawl::new("query").arg("--store").arg(&missing).run_within(Duration::from_secs(30));
    assert_ne!(out.code(), Some(0), "query of a missing store succeeded: {out:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&missing.display().to_string()),
        "the message should name the store path: {}",
        out.stderr
    );
    assert!(!missing.exists(), "query created the missing store directory");
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);

    let out =
        Trawl::new("query").args(["--store", "/nonexistent"]).run_within(Duration::from_secs(30));
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.contains("/nonexistent") && !out.stderr.contains("panicked"),
        "{}",
        out.stderr
    );
}

#[test]
fn worker_run_by_hand_fails_with_a_message() {
    let out = Trawl::new("worker").run_within(Duration::from_secs(10));
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(
        out.stderr.contains("TRAWL_IPC_CONNECT") || out.stderr.contains("coordinator"),
        "the message should explain that workers are started by the coordinator: {}",
        out.stderr
    );

    // A bogus IPC name: still a message, no panic, no hang.
    let out = Trawl::new("worker")
        .env("TRAWL_IPC_CONNECT", "/nonexistent/ipc")
        .env("TRAWL_WORKER_ID", "1")
        .run_within(Duration::from_secs(10));
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(out.stderr.contains("error"), "{}", out.stderr);
}
