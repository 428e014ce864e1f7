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

/// A value clap refuses (a negative number, a unit it does not know):
/// exit 2, the flag and `says` on stderr, nothing fetched, no store.
#[track_caller]
fn refused(flag: &str, value: &str, says: &str) {
    let server = SiteServer::start(SiteSpec::with_pages(5)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let out = Trawl::crawl(&server.base_url(), &store)
        .args([flag, value])
        .run_within(Duration::from_secs(30));
    let ctx = format!("`{}`\n--- stderr\n{}", out.line, out.stderr);
    assert_eq!(out.code(), Some(2), "exit code of {ctx}");
    assert!(out.stderr.contains(flag) && out.stderr.contains(says), "{ctx}");
    assert!(!out.stderr.contains("unexpected argument"), "{ctx}");
    assert!(!store.exists(), "the store directory was created: {ctx}");
    assert_eq!(server.page_hits() + server.robots_hits(), 0, "fetched: {ctx}");
}

#[test]
fn negative_values_are_refused_naming_the_flag() {
    for flag in
        ["--delay", "--timeout", "--connect-timeout", "--max-bytes", "--workers", "--max-pages"]
    {
        refused(flag, "-1", "must not be negative");
    }
    refused("--delay", "-250ms", "must not be negative");
    refused("--max-bytes", "-5MiB", "must not be negative");
}

#[test]
fn unknown_units_are_refused_with_examples() {
    refused("--timeout", "30 parsecs", "e.g. 30s");
    refused("--max-bytes", "10 XB", "e.g. 10MiB");
}

/// Human units reach the workers: a 1 KiB body cap makes the generated
/// site's pages (several KB each) `too_large`, whichever way it is written.
#[test]
fn human_units_reach_the_workers() {
    let server = SiteServer::start(SiteSpec::with_pages(20)).expect("site");
    let dir = TestDir::new();
    for (i, cap) in ["1KiB", "1024"].into_iter().enumerate() {
        let store = dir.path(&format!("s{i}"));
        let out = Trawl::crawl(&server.base_url(), &store)
            .args(["--workers", "1", "--max-bytes", cap, "--timeout", "30s"])
            .args(["--connect-timeout", "1.5s", "--delay", "0ms"])
            .run();
        // Every page is too large: no page succeeded, which is exit code 3.
        assert_eq!(out.code(), Some(3), "--max-bytes {cap}: {out:?}");
        let pages = query_jsonl(&store);
        assert!(!pages.is_empty(), "--max-bytes {cap}: nothing stored");
        for p in &pages {
            assert_eq!(s(p, "outcome"), "too_large", "--max-bytes {cap}: {p}");
        }
    }
}

/// Every option of `trawl crawl --help` shows its default, computed ones
/// included.
#[test]
fn help_shows_every_default() {
    let out = Trawl::new("crawl").arg("--help").run_within(Duration::from_secs(30));
    assert_eq!(out.code(), Some(0), "{out:?}");
    let options: Vec<&str> = out
        .stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("--") || l.starts_with("-h"))
        .collect();
    assert!(options.len() > 25, "few options in:\n{}", out.stdout);
    for line in options {
        // Switches of the command itself, not crawl options: off unless given.
        let exempt =
            ["--store", "--config", "-h, --help", "--json", "-v, --verbose", "-q, --quiet"]
                .iter()
                .any(|f| line.starts_with(f));
        assert!(exempt || line.contains("[default: "), "no default shown: {line}");
    }
    for shown in [
        "[default: 0.25s for public hosts, 0 for loopback]",
        "[default: 10MiB]",
        "[default: 30s]",
        "[default: 16]",
        "[default: 127.0.0.1:0]",
    ] {
        assert!(out.stdout.contains(shown), "`{shown}` missing:\n{}", out.stdout);
    }
}
