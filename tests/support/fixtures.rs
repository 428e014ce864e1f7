//! Fixtures: temp directories with a not-yet-created store, the store read
//! back through `trawl query`, page records, the crawl's advertised API,
//! and the expected URL and link sets of the generated site.

use super::command::{Running, Trawl};
use super::procfs::is_running;
use super::sets::sample;
use super::timing::wait_until;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A temporary directory for one test; the store itself is a not yet
/// existing subdirectory, so tests can check whether it was created.
pub(crate) struct TestDir {
    pub(crate) dir: tempfile::TempDir,
}

impl TestDir {
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("trawl-e2e-").tempdir().expect("tempdir");
        TestDir { dir }
    }

    /// `<tmp>/store` (not created).
    pub(crate) fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// `<tmp>/name`.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `trawl query --store STORE --format jsonl EXTRA...`, parsed.
pub(crate) fn query_jsonl_with(store: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Trawl::new("query")
        .arg("--store")
        .arg(store)
        .args(["--format", "jsonl"])
        .args(extra)
        .run_within(Duration::from_secs(60))
        .success();
    parse_jsonl(&out.stdout)
}

/// Parses JSON lines, failing on a bad line with its number.
pub(crate) fn parse_jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("query line {} is not JSON ({e}): {l}", n + 1))
        })
        .collect()
}

/// Every stored page as JSON.
pub(crate) fn query_jsonl(store: &Path) -> Vec<serde_json::Value> {
    query_jsonl_with(store, &[])
}

/// A string field of a page record ("" if missing or null).
pub(crate) fn s<'a>(page: &'a serde_json::Value, key: &str) -> &'a str {
    page.get(key).and_then(serde_json::Value::as_str).unwrap_or("")
}

/// A number field of a page record.
pub(crate) fn n(page: &serde_json::Value, key: &str) -> Option<u64> {
    page.get(key).and_then(serde_json::Value::as_u64)
}

/// Joins a base URL ending in '/' and an absolute path ("/" -> the base).
pub(crate) fn join_url(base: &str, path: &str) -> String {
    assert!(base.ends_with('/'), "base {base:?} must end with '/'");
    assert!(path.starts_with('/'), "path {path:?} must start with '/'");
    format!("{}{}", base, &path[1..])
}

/// The API address the crawl on `store` advertises, once it does.
pub(crate) fn api_addr(store: &Path) -> Option<String> {
    let text = std::fs::read_to_string(store.join("trawl-api.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("addr")?.as_str().map(str::to_owned)
}

/// Waits (up to 30 s) for the running crawl to advertise its API.
#[track_caller]
pub(crate) fn wait_api(store: &Path, running: &Running) -> String {
    let mut addr = None;
    let ok = wait_until(Duration::from_secs(30), || {
        addr = api_addr(store);
        addr.is_some() || !is_running(running.pid())
    });
    addr.filter(|_| ok).unwrap_or_else(|| {
        panic!("`{}` did not advertise its API in {}", running.line, store.display())
    })
}

/// `trawl status --store STORE --json`, parsed; `None` if it failed (the
/// crawl is not up yet, or finished).
pub(crate) fn status_json(store: &Path) -> Option<serde_json::Value> {
    let out = Trawl::new("status")
        .arg("--store")
        .arg(store)
        .arg("--json")
        .run_within(Duration::from_secs(30));
    if !out.status.success() {
        return None;
    }
    serde_json::from_str(out.stdout.trim()).ok()
}

/// Records by URL; fails if a URL was stored twice.
#[track_caller]
pub(crate) fn records_by_url(
    pages: &[serde_json::Value],
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut by_url = std::collections::BTreeMap::new();
    let mut dups = Vec::new();
    for p in pages {
        let url = s(p, "url").to_owned();
        assert!(!url.is_empty(), "record without url: {p}");
        if by_url.insert(url.clone(), p.clone()).is_some() {
            dups.push(url);
        }
    }
    assert!(dups.is_empty(), "{}", sample("URLs stored twice", &dups));
    by_url
}

/// The URLs of the generated site reachable from `/`.
pub(crate) fn site_urls(server: &trawl_site::SiteServer) -> BTreeSet<String> {
    let base = server.base_url();
    server.spec().reachable_paths().iter().map(|p| join_url(&base, p)).collect()
}

/// The on-site pages page `i` links to (`<a href>`, `<base href>`
/// honoured), as page numbers, from the rendered HTML.
pub(crate) fn site_links(server: &trawl_site::SiteServer, i: u32) -> BTreeSet<u32> {
    let base = server.base_url();
    let origin = base.trim_end_matches('/');
    let offsite = origin.replace("127.0.0.1", "localhost");
    let spec = server.spec();
    let html = spec.render(i, origin, &offsite);
    let page_url = url::Url::parse(&join_url(&base, &spec.path(i))).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let base_sel = scraper::Selector::parse("base[href]").unwrap();
    let a_sel = scraper::Selector::parse("a[href]").unwrap();
    let doc_base = doc
        .select(&base_sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| page_url.join(h).ok())
        .unwrap_or(page_url);
    let mut out = BTreeSet::new();
    for a in doc.select(&a_sel) {
        let Ok(u) = doc_base.join(a.value().attr("href").unwrap()) else { continue };
        if u.scheme() == "http"
            && u.host_str() == Some("127.0.0.1")
            && u.port() == Some(server.addr().port())
            && let Some(t) = spec.page_index(u.path())
        {
            out.insert(t);
        }
    }
    out
}
