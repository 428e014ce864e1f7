//! Configuration: a TOML `--config` file is read, flags override it, a
//! bad file fails before anything is fetched (exit 2, naming the key); and
//! the `--allow` / `--deny` scope filters select exactly the pages a
//! filtered breadth-first walk of the site reaches.

use crate::harness::*;
use std::collections::BTreeSet;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

fn site(pages: u32) -> SiteServer {
    SiteServer::start(SiteSpec::with_pages(pages)).expect("start the test site")
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    let server = site(300);
    let dir = TestDir::new();
    let file = dir.path("crawl.toml");
    std::fs::write(
        &file,
        format!(
            "version = 1\nseeds = [\"{}\"]\nworkers = 1\nconcurrency = 4\nmax_pages = 50\n",
            server.base_url()
        ),
    )
    .unwrap();

    // Seeds and the page limit come from the file.
    let store = dir.path("from-file");
    Trawl::new("crawl").arg("--config").arg(&file).arg("--store").arg(&store).run().success();
    let pages = records_by_url(&query_jsonl(&store));
    assert_eq!(pages.len(), 50, "max_pages = 50 in the file");
    assert!(pages.contains_key(&server.base_url()), "the file's seed was crawled");

    // A flag beats the file.
    let store = dir.path("flag-wins");
    Trawl::new("crawl")
        .arg("--config")
        .arg(&file)
        .arg("--store")
        .arg(&store)
        .args(["--max-pages", "20"])
        .run()
        .success();
    assert_eq!(query_jsonl(&store).len(), 20, "--max-pages 20 overrides max_pages = 50");
}

/// `trawl crawl --config FILE SEED --store DIR` with `toml` in FILE must
/// fail with exit 2, `invalid KEY:` for one of `keys`, nothing fetched and
/// no store created.
#[track_caller]
fn bad_config(toml: &str, keys: &[&str]) {
    let server = site(10);
    let dir = TestDir::new();
    let file = dir.path("bad.toml");
    std::fs::write(&file, toml).unwrap();
    let store = dir.store();
    let out = Trawl::crawl(&server.base_url(), &store)
        .arg("--config")
        .arg(&file)
        .run_within(Duration::from_secs(30));
    let ctx = format!("config {toml:?}\n--- stderr\n{}--- stdout\n{}", out.stderr, out.stdout);
    assert_eq!(out.code(), Some(2), "exit code: {ctx}");
    assert!(
        keys.iter().any(|k| out.stderr.contains(&format!("invalid {k}:"))),
        "stderr should name {keys:?} as `invalid KEY:`: {ctx}"
    );
    assert!(!out.stderr.contains("panicked"), "{ctx}");
    assert!(!store.exists(), "the store was created: {ctx}");
    assert_eq!(
        server.page_hits() + server.robots_hits() + server.unknown_hits(),
        0,
        "requests reached the site: {ctx}"
    );
    assert!(out.elapsed < Duration::from_secs(5), "took {:?}: {ctx}", out.elapsed);
}

#[test]
fn unknown_config_key_fails_before_any_request() {
    bad_config("version = 1\nworkers = 1\nmax_pagez = 5\n", &["max_pagez"]);
}

#[test]
fn bad_config_values_name_the_key() {
    // Values are checked like flags: the error may name the flag.
    bad_config("concurrency = 0\n", &["concurrency", "--concurrency"]);
    bad_config("delay_secs = -1.0\n", &["delay_secs", "--delay"]);
    bad_config("scope = \"planet\"\n", &["scope", "--scope"]);
    bad_config("version = 7\n", &["version"]);
}

/// A bad file names the key and where it is: `FILE:LINE:COLUMN`, for
/// every bad key at once.
#[test]
fn config_errors_give_file_line_and_column() {
    let server = site(5);
    let dir = TestDir::new();
    let file = dir.path("bad.toml");
    std::fs::write(
        &file,
        "version = 1\nworkers = 2\n\ndelay_secs = -1\nmax_bytes = \"lots\"\nwokers = 3\n",
    )
    .unwrap();
    let out = Trawl::crawl(&server.base_url(), &dir.store())
        .arg("--config")
        .arg(&file)
        .run_within(Duration::from_secs(30));
    let ctx = format!("--- stderr\n{}", out.stderr);
    assert_eq!(out.code(), Some(2), "{ctx}");
    let path = file.display().to_string();
    for want in [
        format!("invalid delay_secs: {path}:4:14: must not be negative"),
        format!("invalid max_bytes: {path}:5:13: "),
        format!("invalid wokers: {path}:6:1: unknown key (did you mean `workers`?)"),
    ] {
        assert!(out.stderr.contains(&want), "`{want}` missing: {ctx}");
    }
    assert!(!dir.store().exists(), "{ctx}");
}

/// The file takes human units too, as strings, and numbers in the plain
/// unit: a 1 KiB body cap makes every page `too_large`.
#[test]
fn config_file_takes_human_units() {
    let server = site(20);
    let dir = TestDir::new();
    let file = dir.path("units.toml");
    std::fs::write(
        &file,
        "workers = 1\nmax_bytes = \"1KiB\"\ntimeout_secs = \"30s\"\n\
         connect_timeout_secs = 1.5\ndelay_secs = \"0ms\"\n",
    )
    .unwrap();
    let store = dir.store();
    let out = Trawl::crawl(&server.base_url(), &store).arg("--config").arg(&file).run();
    // Every page is too large: no page succeeded, which is exit code 3.
    assert_eq!(out.code(), Some(3), "{out:?}");
    let pages = query_jsonl(&store);
    assert!(!pages.is_empty());
    for p in &pages {
        assert_eq!(s(p, "outcome"), "too_large", "{p}");
    }
}

#[test]
fn config_value_of_the_wrong_type_names_the_key() {
    // Like every other configuration error: `invalid max_pages: ...`, not
    // a generic `invalid config:` that only quotes the line.
    bad_config("max_pages = \"lots\"\n", &["max_pages"]);
}

/// The page numbers reachable from page 0 through pages that `keep`
/// accepts (page 0 included), computed from the rendered HTML.
fn filtered_walk(server: &SiteServer, keep: impl Fn(u32) -> bool) -> BTreeSet<u32> {
    let mut seen = BTreeSet::from([0]);
    let mut queue = vec![0];
    while let Some(i) = queue.pop() {
        for t in site_links(server, i) {
            if keep(t) && seen.insert(t) {
                queue.push(t);
            }
        }
    }
    seen
}

/// Crawls with `filters` and checks the stored set is exactly `expected`
/// and that no other page was requested.
#[track_caller]
fn crawl_filtered(server: &SiteServer, filters: &[&str], expected: &BTreeSet<u32>) {
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&server.base_url(), &store).args(["--workers", "2"]).args(filters).run().success();
    let spec = server.spec();
    let want: BTreeSet<String> =
        expected.iter().map(|&i| join_url(&server.base_url(), &spec.path(i))).collect();
    let pages = records_by_url(&query_jsonl(&store));
    assert_sets_eq(
        &format!("stored URLs with {filters:?}"),
        &want,
        &pages.keys().cloned().collect(),
    );
    let stray: Vec<String> = (0..spec.pages)
        .filter(|i| !expected.contains(i) && server.hits(*i) > 0)
        .map(|i| spec.path(i))
        .collect();
    assert!(stray.is_empty(), "{}", sample("filtered-out pages requested", &stray));
}

#[test]
fn deny_excludes_matching_pages() {
    let server = site(300);
    // /page/1, /page/10..19, /page/100..199.
    let denied = |i: u32| i.to_string().starts_with('1') && i > 0;
    let expected = filtered_walk(&server, |i| !denied(i));
    assert!(expected.len() > 100, "the walk should reach most pages: {}", expected.len());
    crawl_filtered(&server, &["--deny", r"/page/1\d*$"], &expected);
}

#[test]
fn allow_restricts_to_matching_pages() {
    let server = site(300);
    // The root and /page/1..99 (any of the patterns may match).
    let expected = filtered_walk(&server, |i| i < 100);
    assert!(expected.len() > 50, "the walk should reach many pages: {}", expected.len());
    crawl_filtered(
        &server,
        &["--allow", r"/page/\d{1,2}$", "--allow", r"^http://[^/]+/$"],
        &expected,
    );
}
