//! Issue 16's history side: a crawl of the changing site, one generation
//! advanced, `trawl refresh`, then `trawl query --changed-since`,
//! `--history URL` and `--gone`, and `/api/history`, checked against
//! exactly what the site says changed.

use crate::harness::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};
use trawl_site::{ChangeSpec, Changes, SiteServer, SiteSpec, Validators};

/// 70 small pages: a tenth change per generation (9, 19, ... at the
/// first), pages divisible by 3 only in markup, pages divisible by 8
/// deleted at generation 1 (404 and 410 alternately); validators cycle
/// ETag, Last-Modified, none by page.
fn changing_site() -> SiteServer {
    SiteServer::start(SiteSpec {
        page_bytes: 3_000,
        posts_per_page: 4,
        links_per_page: 12,
        changes: ChangeSpec {
            every: 10,
            cosmetic_every: 3,
            delete_every: 8,
            delete_at: 1,
            ..ChangeSpec::default()
        },
        ..SiteSpec::with_pages(70)
    })
    .expect("site")
}

fn urls(site: &SiteServer, pages: &[u32]) -> BTreeSet<String> {
    pages.iter().map(|&i| join_url(&site.base_url(), &site.spec().path(i))).collect()
}

fn query_urls(store: &Path, args: &[&str]) -> BTreeSet<String> {
    query_jsonl_with(store, args).iter().map(|p| s(p, "url").to_owned()).collect()
}

/// Crawls the site, advances it one generation, refreshes every page.
/// Returns what changed and a time between the crawl and the refresh.
fn crawl_advance_refresh(site: &SiteServer, store: &Path, extra: &[&str]) -> (Changes, String) {
    Trawl::crawl(&site.base_url(), store)
        .args(["--workers", "1", "--retries", "0"])
        .args(extra)
        .run_within(Duration::from_secs(90))
        .success();
    // Fetch times are milliseconds: step past the crawl's last one.
    std::thread::sleep(Duration::from_millis(20));
    let between = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(site.advance(), 1);
    Trawl::new("refresh")
        .arg("--store")
        .arg(store)
        .args(["--older-than", "1ms", "--workers", "1", "--retries", "0"])
        .run_within(Duration::from_secs(90))
        .success();
    (site.spec().changes_between(0, 1), between)
}

#[test]
fn changed_since_history_and_gone_match_the_site() {
    let site = changing_site();
    let dir = TestDir::new();
    let store = dir.store();
    let (diff, between) = crawl_advance_refresh(&site, &store, &[]);
    assert!(!diff.changed.is_empty() && !diff.cosmetic.is_empty() && !diff.gone.is_empty());

    // --changed-since: every page whose content changed, markup-only
    // changes included (the body differs), deleted pages possibly (their
    // answer changed too), and no unchanged page.
    let changed = query_urls(&store, &["--changed-since", &between]);
    let must = urls(&site, &[diff.changed.clone(), diff.cosmetic.clone()].concat());
    let may: BTreeSet<String> = must.union(&urls(&site, &diff.gone)).cloned().collect();
    assert!(changed.is_superset(&must), "missing: {:?}", must.difference(&changed));
    assert!(changed.is_subset(&may), "unchanged pages listed: {:?}", changed.difference(&may));
    // A duration ago covers both fetches: every page.
    assert_eq!(query_urls(&store, &["--changed-since", "1h"]).len(), 70);

    // --gone: exactly the deleted pages.
    assert_eq!(query_urls(&store, &["--gone"]), urls(&site, &diff.gone));

    // --history: one row per fetch, oldest first, in every format.
    let history = |i: u32| -> Vec<Value> {
        let url = join_url(&site.base_url(), &site.spec().path(i));
        query_jsonl_with(&store, &["--history", &url])
    };
    let changes =
        |rows: &[Value]| rows.iter().map(|r| s(r, "change").to_owned()).collect::<Vec<_>>();
    let content = *diff.changed.first().unwrap();
    let rows = history(content);
    assert_eq!(changes(&rows), ["first", "changed"], "page {content}: {rows:?}");
    assert!(rows[1]["changed_fields"].as_array().unwrap().iter().any(|f| f == "title"));
    assert_ne!(rows[0]["content_hash"], rows[1]["content_hash"]);
    let cosmetic = *diff.cosmetic.first().unwrap();
    let rows = history(cosmetic);
    assert_eq!(changes(&rows), ["first", "changed"], "page {cosmetic}: {rows:?}");
    assert_eq!(rows[1]["changed_fields"], serde_json::json!([]), "markup only: {rows:?}");
    for &i in diff.unchanged.iter().take(12) {
        let v = site.spec().changes.validators_of(0, i);
        let want = if v == Validators::None { "unchanged" } else { "not_modified" };
        let rows = history(i);
        assert_eq!(changes(&rows), ["first", want], "page {i} ({v:?}): {rows:?}");
        if want == "not_modified" {
            assert_eq!(rows[1]["status"], 304);
        }
    }
    let gone = *diff.gone.first().unwrap();
    assert_eq!(changes(&history(gone)), ["first", "gone"]);
    let url = join_url(&site.base_url(), &site.spec().path(content));
    let table = query_args(&store, &["--history", &url, "--format", "table"]).success().stdout;
    assert!(table.contains("CHANGE") && table.contains("changed"), "{table}");
    let csv = query_args(&store, &["--history", &url, "--format", "csv"]).success().stdout;
    assert!(csv.starts_with("fetched_at,status,change,content_hash,changed_fields\n"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // A page never stored has no history.
    assert!(query_jsonl_with(&store, &["--history", "http://127.0.0.1:9/none"]).is_empty());
}

#[test]
fn bad_history_options_fail_before_anything_and_name_the_flag() {
    let dir = TestDir::new();
    // No store is needed to refuse them: they fail first, with exit 2.
    for (args, flag) in [
        (&["--changed-since", "soon"][..], "--changed-since"),
        (&["--changed-since", "2026-13-45"][..], "--changed-since"),
        (&["--history", "page/3"][..], "--history"),
        (&["--gone=maybe"][..], "--gone"),
    ] {
        let out = query_args(&dir.store(), args);
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(flag), "{args:?} should name {flag}: {}", out.stderr);
    }
}

#[test]
fn the_api_serves_history_and_changed_since() {
    let site = changing_site();
    let dir = TestDir::new();
    let store = dir.store();
    let (diff, _) = crawl_advance_refresh(&site, &store, &[]);
    // A running crawl of another site on the same store serves its API;
    // the refreshed pages are in the store it reads.
    let other = SiteServer::start(SiteSpec::with_pages(400)).expect("site");
    let running = Trawl::crawl(&other.base_url(), &store)
        .args(["--workers", "1", "--delay", "50ms", "--per-host", "1"])
        .spawn();
    let api = wait_api(&store, &running);
    let get = |path: &str| http_call(&api, "GET", path, &[], None);
    let content = *diff.changed.first().unwrap();
    let url = join_url(&site.base_url(), &site.spec().path(content));
    let (status, body) = get(&format!("/api/history?url={url}"));
    assert_eq!(status, 200, "{body}");
    let rows = parse_jsonl(&body);
    assert_eq!(rows.iter().map(|r| s(r, "change")).collect::<Vec<_>>(), ["first", "changed"]);
    let (status, body) = get("/api/history?url=nonsense");
    assert_eq!(status, 400);
    assert!(body.contains("\"param\":\"url\""), "{body}");
    assert_eq!(get("/api/history").0, 400);
    let (status, body) = get("/api/pages?changed_since=1h&gone=true&fields=url");
    assert_eq!(status, 200, "{body}");
    let gone: BTreeSet<String> =
        parse_jsonl(&body).iter().map(|p| s(p, "url").to_owned()).collect();
    assert_eq!(gone, urls(&site, &diff.gone));
    let (status, body) = get("/api/pages?changed_since=soon");
    assert_eq!(status, 400);
    assert!(body.contains("changed_since"), "{body}");
    sigint(running.pid());
    running.wait_within(Duration::from_secs(60));
}
