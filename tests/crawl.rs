//! Crawling the generated site (`trawl-site`) and reading it back: the
//! stored set is exactly the reachable set, every page is fetched once,
//! limits hold, and the query filters and formats agree with each other.

use crate::harness::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

/// A site with `pages` pages, served on 127.0.0.1.
fn site(pages: u32) -> SiteServer {
    SiteServer::start(SiteSpec::with_pages(pages)).expect("start the test site")
}

/// Crawls the whole site with `workers` workers (and `extra` flags) and
/// checks everything the site can tell: the URL set, titles, status,
/// depth, hits per page. Returns the summary.
fn full_crawl(workers: u32, extra: &[&str]) -> String {
    let server = site(2000);
    let spec = server.spec().clone();
    let base = server.base_url();
    let dir = TestDir::new();
    let store = dir.store();

    let out = Trawl::crawl(&base, &store)
        .args(["--workers", &workers.to_string(), "--concurrency", "8"])
        .args(extra)
        .run()
        .success();
    assert!(
        out.stdout.starts_with("crawled "),
        "summary should start with `crawled N pages`: {}",
        tail(&out.stdout, 500)
    );
    eprintln!("{} workers: crawl took {:?}", workers, out.elapsed);

    let pages = query_jsonl(&store);
    let by_url = index_by_url(&pages);

    // The stored set is exactly the reachable pages.
    let expected: BTreeSet<String> =
        spec.reachable_paths().iter().map(|p| join_url(&base, p)).collect();
    assert_eq!(expected.len(), 2000, "the site model says every page is reachable");
    let actual: BTreeSet<String> = by_url.keys().cloned().collect();
    assert_sets_eq("stored URLs vs reachable pages", &expected, &actual);

    // Every page: status 200, outcome ok, the decoded title, a sane depth.
    let mut wrong = Vec::new();
    for i in 0..spec.pages {
        let url = join_url(&base, &spec.path(i));
        let p = by_url[&url];
        let title = spec.title(i);
        if n(p, "status") != Some(200) || s(p, "outcome") != "ok" || s(p, "title") != title {
            wrong.push(format!(
                "{url}: status {:?} outcome {:?} title {:?} (want {title:?}) detail {:?}",
                p["status"],
                s(p, "outcome"),
                s(p, "title"),
                p["detail"]
            ));
        }
        if i > 0 && n(p, "depth").is_none_or(|d| d == 0) {
            wrong.push(format!("{url}: depth {:?}, want >= 1", p["depth"]));
        }
        if n(p, "outlinks").is_none_or(|l| l == 0) {
            wrong.push(format!("{url}: outlinks {:?}, want > 0", p["outlinks"]));
        }
    }
    assert!(wrong.is_empty(), "{}", sample("pages with wrong fields", &wrong));

    let root = by_url[&base];
    assert_eq!(n(root, "depth"), Some(0), "depth of the seed: {root}");
    assert_eq!(server.offsite_hits(), 0, "a host-scoped crawl fetched off-site (localhost) URLs");
    assert_eq!(
        server.unknown_hits(),
        0,
        "the crawler requested paths that are not pages (<base href> ignored or bad resolution?)"
    );

    // Every page fetched exactly once.
    let not_once: Vec<String> = (0..spec.pages)
        .filter(|&i| server.hits(i) != 1)
        .map(|i| format!("{} requested {} times", spec.path(i), server.hits(i)))
        .collect();
    assert!(not_once.is_empty(), "{}", sample("pages not requested exactly once", &not_once));
    assert_eq!(server.page_hits(), u64::from(spec.pages));

    // With several workers, they all took part.
    let used: BTreeSet<u64> = pages.iter().filter_map(|p| n(p, "worker")).collect();
    assert!(
        used.len() as u32 >= workers.min(2),
        "only workers {used:?} stored pages with --workers {workers}"
    );
    out.stdout
}

/// Pages by URL; fails if a URL appears twice.
fn index_by_url(pages: &[Value]) -> BTreeMap<String, &Value> {
    let mut by_url = BTreeMap::new();
    let mut dups = Vec::new();
    for p in pages {
        let url = s(p, "url").to_owned();
        assert!(!url.is_empty(), "record without url: {p}");
        if by_url.insert(url.clone(), p).is_some() {
            dups.push(url);
        }
    }
    assert!(dups.is_empty(), "{}", sample("URLs stored twice", &dups));
    by_url
}

#[test]
fn whole_site_one_worker() {
    let out = full_crawl(1, &[]);
    assert!(!out.contains("waited on disk"), "2,000 URLs fit the default frontier memory: {out}");
}

#[test]
fn whole_site_four_workers() {
    full_crawl(4, &[]);
}

/// With room for only 25 queued URLs in memory, almost the whole queue
/// waits on disk and is read back as each host's turn comes: the crawl
/// still stores exactly the reachable set, fetching every page once.
#[test]
fn whole_site_with_most_of_the_queue_on_disk() {
    let out = full_crawl(4, &["--frontier-memory", "25"]);
    let line = out.lines().find(|l| l.contains("waited on disk")).unwrap_or_else(|| {
        panic!("the summary should say how much of the queue waited on disk:\n{out}")
    });
    let peak: u64 = line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line:?}"));
    assert!(peak > 100, "only {peak} URLs ever waited on disk: {line}");
}

#[test]
fn max_pages_stops_at_the_limit() {
    let server = site(2000);
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "2", "--max-pages", "100"])
        .run()
        .success();
    let pages = query_jsonl(&store);
    let by_url = index_by_url(&pages);
    assert_eq!(pages.len(), 100, "--max-pages 100 stored {} pages", pages.len());
    assert!(by_url.contains_key(&server.base_url()), "the seed is among the stored pages");
    let not_pages: Vec<&String> = by_url
        .keys()
        .filter(|u| server.spec().page_index(&u[server.base_url().len() - 1..]).is_none())
        .collect();
    assert!(not_pages.is_empty(), "{}", sample("stored URLs that are not site pages", &not_pages));
    assert_eq!(server.offsite_hits(), 0);
}

/// The distinct on-site pages `<a href>`-linked from page `i`, as URLs
/// (see [`site_links`]; the site's own tests check it has no dangling links).
fn linked_from(server: &SiteServer, i: u32) -> BTreeSet<String> {
    let base = server.base_url();
    site_links(server, i).into_iter().map(|p| join_url(&base, &server.spec().path(p))).collect()
}

#[test]
fn max_depth_one_is_the_root_and_its_links() {
    let server = site(2000);
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "2", "--max-depth", "1"])
        .run()
        .success();
    let pages = query_jsonl(&store);
    let by_url = index_by_url(&pages);

    let mut expected = linked_from(&server, 0);
    expected.insert(server.base_url());
    assert!(expected.len() > 5, "page 0 should link to several pages: {expected:?}");
    let actual: BTreeSet<String> = by_url.keys().cloned().collect();
    assert_sets_eq("--max-depth 1: stored URLs vs root + its links", &expected, &actual);
    let deep: Vec<String> = pages
        .iter()
        .filter(|p| n(p, "depth").is_none_or(|d| d > 1))
        .map(|p| format!("{} depth {:?}", s(p, "url"), p["depth"]))
        .collect();
    assert!(deep.is_empty(), "{}", sample("pages deeper than 1", &deep));
    let depth0: Vec<&str> =
        pages.iter().filter(|p| n(p, "depth") == Some(0)).map(|p| s(p, "url")).collect();
    assert_eq!(depth0, vec![server.base_url().as_str()], "only the seed has depth 0");
    // Pages at depth 1 were not expanded: nothing beyond them was fetched.
    assert_eq!(server.page_hits(), expected.len() as u64, "pages requested");
}

#[test]
fn query_filters_and_formats_agree() {
    let server = site(300);
    let base = server.base_url();
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&base, &store).args(["--workers", "2"]).run().success();
    let all = query_jsonl(&store);
    assert_eq!(all.len(), 300, "stored pages");
    // Every documented key is present.
    for key in [
        "url",
        "status",
        "content_type",
        "depth",
        "title",
        "bytes",
        "outlinks",
        "outcome",
        "detail",
        "fetched_at",
        "elapsed_ms",
        "worker",
    ] {
        assert!(all[0].get(key).is_some(), "jsonl record lacks {key:?}: {}", all[0]);
    }
    let urls: Vec<&str> = all.iter().map(|p| s(p, "url")).collect();

    let query = |extra: &[&str]| {
        Trawl::new("query")
            .arg("--store")
            .arg(&store)
            .args(extra)
            .run_within(Duration::from_secs(60))
            .success()
            .stdout
    };

    // CSV: a header and one row per page, URLs in the same order.
    let csv = query(&["--format", "csv"]);
    let mut lines = csv.lines();
    let header = lines.next().expect("csv header");
    assert!(header.starts_with("url,status,content_type,depth,title"), "csv header: {header}");
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), all.len(), "csv rows vs jsonl records");
    for (row, url) in rows.iter().zip(&urls) {
        // Titles may contain commas (quoted), URLs never do.
        assert!(row.starts_with(&format!("{url},200,")), "csv row {row:?} for {url}");
    }

    // Table: a header line, then one line per page starting with the URL.
    let table = query(&["--format", "table"]);
    let tlines: Vec<&str> = table.lines().collect();
    assert!(tlines[0].starts_with("URL"), "table header: {}", tlines[0]);
    assert!(tlines[0].contains("STATUS"), "table header: {}", tlines[0]);
    assert_eq!(tlines.len(), all.len() + 1, "table lines");
    for (line, url) in tlines[1..].iter().zip(&urls) {
        assert!(line.starts_with(&format!("{url} ")), "table line {line:?} for {url}");
    }

    // --url-prefix selects exactly the matching records.
    let prefix = format!("{base}page/1");
    let sel = query_jsonl_with(&store, &["--url-prefix", &prefix]);
    let want: Vec<&str> = urls.iter().copied().filter(|u| u.starts_with(&prefix)).collect();
    let got: Vec<&str> = sel.iter().map(|p| s(p, "url")).collect();
    assert_eq!(got, want, "--url-prefix {prefix}");
    assert!(want.len() > 50, "prefix should match many pages ({})", want.len());

    // --status: 200 is everything, 404 nothing (the crawl saw no 404).
    assert_eq!(query_jsonl_with(&store, &["--status", "200"]).len(), all.len());
    assert!(query_jsonl_with(&store, &["--status", "404"]).is_empty());

    // --limit takes the first N in order, and combines with the filters.
    let limited = query_jsonl_with(&store, &["--limit", "7"]);
    let got: Vec<&str> = limited.iter().map(|p| s(p, "url")).collect();
    assert_eq!(got, urls[..7].to_vec(), "--limit 7");
    let both = query_jsonl_with(&store, &["--limit", "3", "--url-prefix", &prefix]);
    let got: Vec<&str> = both.iter().map(|p| s(p, "url")).collect();
    assert_eq!(got, want[..3].to_vec(), "--limit 3 --url-prefix");
    let csv3 = query(&["--format", "csv", "--limit", "3"]);
    assert_eq!(csv3.lines().count(), 4, "csv with --limit 3: header + 3 rows\n{csv3}");
}

/// Crawls `seeds` into a fresh store and returns the records by URL.
fn crawl_records(seeds: &[String], extra: &[&str]) -> (TestDir, BTreeMap<String, Value>, Output) {
    let dir = TestDir::new();
    let store = dir.store();
    let out = Trawl::new("crawl")
        .args(seeds)
        .arg("--store")
        .arg(&store)
        .args(extra)
        .run_within(Duration::from_secs(60));
    let pages = query_jsonl(&store);
    // Exit 3 exactly when no page succeeded (issue 14).
    let succeeded = pages.iter().any(|p| ["ok", "not_html", "redirect"].contains(&s(p, "outcome")));
    let expected = if succeeded { 0 } else { 3 };
    assert_eq!(out.code(), Some(expected), "`{}`\n{}", out.line, tail(&out.stderr, 3000));
    let by_url: BTreeMap<String, Value> =
        index_by_url(&pages).into_iter().map(|(k, v)| (k, v.clone())).collect();
    (dir, by_url, out)
}

#[test]
fn oversized_page_is_recorded_as_too_large() {
    let server = site(50);
    let base = server.base_url();
    let (_dir, pages, _) =
        crawl_records(std::slice::from_ref(&base), &["--workers", "1", "--max-bytes", "1000"]);
    let root = &pages[&base];
    assert_eq!(s(root, "outcome"), "too_large", "{root}");
    assert!(s(root, "detail").contains("1000"), "detail should name the cap: {root}");
    assert!(n(root, "bytes").is_some_and(|b| b <= 1000), "read past the cap: {root}");
    assert_eq!(pages.len(), 1, "links of a truncated page are not followed: {:?}", pages.keys());
}

#[test]
fn non_html_and_error_pages_are_recorded() {
    let server = site(50);
    let base = server.base_url();
    let css = format!("{base}static/site.css");
    let missing = format!("{base}page/999999");
    let (_dir, pages, _) =
        crawl_records(&[css.clone(), missing.clone()], &["--workers", "1", "--max-depth", "0"]);
    assert_eq!(pages.len(), 2, "{:?}", pages.keys());
    let c = &pages[&css];
    assert_eq!((n(c, "status"), s(c, "outcome")), (Some(200), "not_html"), "{c}");
    assert!(s(c, "content_type").starts_with("text/css"), "{c}");
    let m = &pages[&missing];
    assert_eq!((n(m, "status"), s(m, "outcome")), (Some(404), "http_error"), "{m}");
    assert_eq!(server.page_hits(), 0, "no page was linked");
}

#[test]
fn hanging_server_times_out_and_user_agent_is_sent() {
    let server = RawServer::start(|_, path| match path {
        "/robots.txt" => Some(http_response("404 Not Found", &[], "")),
        _ => None, // never answer
    });
    let seed = format!("{}slow", server.base_url());
    let ua = "trawl-e2e/1.0 (+http://127.0.0.1/)";
    let (_dir, pages, out) = crawl_records(
        std::slice::from_ref(&seed),
        &["--workers", "1", "--timeout", "1", "--user-agent", ua],
    );
    let p = &pages[&seed];
    assert_eq!(s(p, "outcome"), "timeout", "{p}");
    assert!(out.elapsed < Duration::from_secs(20), "a 1 s timeout took {:?}", out.elapsed);
    let reqs = server.requests();
    let slow: Vec<&String> = reqs.iter().filter(|r| r.starts_with("GET /slow ")).collect();
    assert!(!slow.is_empty(), "no GET /slow among {reqs:?}");
    for r in slow {
        let sent = r.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("user-agent").then(|| v.trim().to_owned())
        });
        assert_eq!(sent.as_deref(), Some(ua), "User-Agent of {r:?}");
    }
}

#[test]
fn refused_connection_is_recorded() {
    let seed = format!("http://127.0.0.1:{}/", free_port());
    let (_dir, pages, _) = crawl_records(
        std::slice::from_ref(&seed),
        &["--workers", "1", "--ignore-robots", "--connect-timeout", "2"],
    );
    let p = &pages[&seed];
    assert_eq!(s(p, "outcome"), "connect", "{p}");
    assert_eq!(pages.len(), 1);
}

#[test]
fn redirects_are_recorded_and_followed_in_scope_only() {
    let server = RawServer::start(|port, path| {
        let html = |body: &str| {
            http_response(
                "200 OK",
                &[("Content-Type", "text/html; charset=utf-8")],
                &format!(
                    "<!DOCTYPE html><html><head><title>{path}</title></head><body>{body}</body></html>"
                ),
            )
        };
        Some(match path {
            "/" => html(r#"<a href="/a">a</a> <a href="b">b</a>"#),
            "/a" => http_response("301 Moved Permanently", &[("Location", "/c")], ""),
            "/b" => {
                let off = format!("http://localhost:{port}/d");
                http_response("302 Found", &[("Location", &off)], "")
            }
            "/c" => html(r#"<a href="./a">back</a>"#),
            _ => http_response("404 Not Found", &[], "no\n"),
        })
    });
    let base = server.base_url();
    let (_dir, pages, _) = crawl_records(std::slice::from_ref(&base), &["--workers", "1"]);
    let urls: BTreeSet<String> = pages.keys().cloned().collect();
    let want: BTreeSet<String> = ["", "a", "b", "c"].iter().map(|p| format!("{base}{p}")).collect();
    assert_sets_eq("stored URLs", &want, &urls);
    let a = &pages[&format!("{base}a")];
    assert_eq!((n(a, "status"), s(a, "outcome")), (Some(301), "redirect"), "{a}");
    assert_eq!(s(a, "detail"), format!("{base}c"), "redirect target: {a}");
    let b = &pages[&format!("{base}b")];
    assert_eq!((n(b, "status"), s(b, "outcome")), (Some(302), "redirect"), "{b}");
    let c = &pages[&format!("{base}c")];
    assert_eq!((s(c, "outcome"), s(c, "title")), ("ok", "/c"), "{c}");
    let offsite: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.lines().any(|l| l.to_ascii_lowercase().starts_with("host: localhost")))
        .collect();
    assert!(offsite.is_empty(), "followed an off-scope redirect: {offsite:?}");
}

#[test]
fn demo_crawls_the_generated_site() {
    let dir = TestDir::new();
    let store = dir.store();
    let out = Trawl::new("demo")
        .args(["--pages", "200", "--workers", "2", "--store"])
        .arg(&store)
        .run()
        .success();
    assert!(out.stdout.contains("crawled 200 pages"), "demo summary:\n{}", out.stdout);
    assert!(out.stdout.contains("(0 off-site"), "demo summary:\n{}", out.stdout);
    let pages = query_jsonl(&store);
    assert_eq!(pages.len(), 200, "pages stored by the demo");
    let bad: Vec<&str> =
        pages.iter().filter(|p| s(p, "outcome") != "ok").map(|p| s(p, "url")).collect();
    assert!(bad.is_empty(), "{}", sample("demo pages not ok", &bad));
}
