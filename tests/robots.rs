//! robots.txt (RFC 9309) as the crawler obeys it, checked at both ends:
//! the stored outcome of every URL (`ok` or `disallowed`, the latter with
//! no status) and the server's request log (a disallowed URL is never
//! requested; robots.txt is asked for once, before any page). Also
//! `--ignore-robots`, error statuses of robots.txt, `Crawl-delay`, and
//! sitemaps found through robots.txt.

use crate::harness::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A host answering `robots` for /robots.txt and a small HTML page for
/// every path in `pages` (exact match, query included); `/` links to all
/// of them.
fn robots_site(robots: Reply, pages: &[&str]) -> LogServer {
    let pages: Vec<String> = pages.iter().map(|p| (*p).to_owned()).collect();
    LogServer::start(1, move |_, path| {
        if path == "/robots.txt" {
            return robots.clone();
        }
        if path == "/" {
            let links: String =
                pages.iter().map(|p| format!("<a href=\"{p}\">{p}</a>\n")).collect();
            return Reply::html("root", &links);
        }
        if pages.iter().any(|p| p == path) {
            return Reply::html(path, "<p>a page</p>").hold(Duration::from_millis(10));
        }
        Reply::not_found()
    })
}

fn robots_txt(body: &str) -> Reply {
    Reply::text(200, body)
}

/// Crawls from `/` (plus `extra` args; 2 workers unless they say) and
/// returns the records by URL.
fn crawl(server: &LogServer, extra: &[&str]) -> BTreeMap<String, serde_json::Value> {
    let dir = TestDir::new();
    let store = dir.store();
    let workers: &[&str] = if extra.contains(&"--workers") { &[] } else { &["--workers", "2"] };
    Trawl::crawl(&server.base_url(0), &store)
        .args(workers)
        .args(extra)
        .run_within(Duration::from_secs(60))
        .success();
    records_by_url(&query_jsonl(&store))
}

/// Checks that exactly `allowed` and `disallowed` (paths) were stored,
/// the former fetched once and `ok`, the latter `disallowed` without a
/// status and never requested; and that robots.txt was requested once,
/// first, with our user agent.
#[track_caller]
fn check(
    server: &LogServer,
    pages: &BTreeMap<String, serde_json::Value>,
    allowed: &[&str],
    disallowed: &[&str],
) {
    let base = server.base_url(0);
    let url = |p: &str| join_url(&base, p);
    let expected: BTreeSet<String> = allowed.iter().chain(disallowed).map(|p| url(p)).collect();
    let stored: BTreeSet<String> = pages.keys().cloned().collect();
    assert_sets_eq("stored URLs", &expected, &stored);
    let hits = server.hits_on(server.ports[0]);
    let requested: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    let mut wrong = Vec::new();
    for p in allowed {
        let r = &pages[&url(p)];
        if s(r, "outcome") != "ok" || n(r, "status") != Some(200) {
            wrong.push(format!("{p}: want ok/200, got {} {:?}", s(r, "outcome"), r["status"]));
        }
        let times = requested.iter().filter(|q| *q == p).count();
        if times != 1 {
            wrong.push(format!("{p}: allowed, requested {times} times"));
        }
    }
    for p in disallowed {
        let r = &pages[&url(p)];
        if s(r, "outcome") != "disallowed" || !r["status"].is_null() {
            wrong.push(format!(
                "{p}: want disallowed/null, got {} {:?}",
                s(r, "outcome"),
                r["status"]
            ));
        }
        if requested.contains(p) {
            wrong.push(format!("{p}: disallowed but requested"));
        }
    }
    assert!(wrong.is_empty(), "{}\nrequests: {requested:?}", sample("wrong", &wrong));
    assert_eq!(requested.first(), Some(&"/robots.txt"), "robots.txt comes first: {requested:?}");
    assert_eq!(
        requested.iter().filter(|p| **p == "/robots.txt").count(),
        1,
        "robots.txt is fetched once per host: {requested:?}"
    );
    let ua = hits[0].header("user-agent").unwrap_or("");
    assert!(ua.starts_with("trawl"), "robots.txt requested with User-Agent {ua:?}");
}

#[test]
fn disallowed_paths_are_recorded_not_fetched() {
    let pages = ["/public/a", "/privateer", "/private/b", "/private/c/d"];
    let server = robots_site(robots_txt("User-agent: *\nDisallow: /private/\n"), &pages);
    let stored = crawl(&server, &[]);
    check(&server, &stored, &["/", "/public/a", "/privateer"], &["/private/b", "/private/c/d"]);
}

#[test]
fn longer_allow_overrides_a_broader_disallow() {
    let pages = ["/docs/x", "/docs/public", "/docs/public/y", "/docs/public/z/w", "/other"];
    let server =
        robots_site(robots_txt("User-agent: *\nDisallow: /docs/\nAllow: /docs/public/\n"), &pages);
    let stored = crawl(&server, &[]);
    check(
        &server,
        &stored,
        &["/", "/docs/public/y", "/docs/public/z/w", "/other"],
        &["/docs/x", "/docs/public"],
    );
}

#[test]
fn wildcard_and_end_anchor() {
    let pages =
        ["/a/b.pdf", "/c/d/e.pdf", "/a/b.pdf?x=1", "/a/b.pdfx", "/tmp1/x", "/tmp/x", "/tmp1/y"];
    let server =
        robots_site(robots_txt("User-agent: *\nDisallow: /*.pdf$\nDisallow: /tmp*/x\n"), &pages);
    let stored = crawl(&server, &[]);
    check(
        &server,
        &stored,
        &["/", "/a/b.pdf?x=1", "/a/b.pdfx", "/tmp1/y"],
        &["/a/b.pdf", "/c/d/e.pdf", "/tmp1/x", "/tmp/x"],
    );
}

#[test]
fn our_group_is_preferred_and_other_bots_groups_do_not_apply() {
    // `*` forbids everything, otherbot may not see /yes; our group (shared
    // with somebot, spelt with a capital) only forbids /no.
    let txt = "User-agent: *\nDisallow: /\n\nUser-agent: otherbot\nDisallow: /yes\n\n\
               User-agent: somebot\nUser-agent: Trawl\nDisallow: /no\n";
    let pages = ["/yes", "/maybe", "/no", "/no/deeper"];
    let server = robots_site(robots_txt(txt), &pages);
    let stored = crawl(&server, &[]);
    check(&server, &stored, &["/", "/yes", "/maybe"], &["/no", "/no/deeper"]);

    // Only another bot's group: nothing applies to us.
    let server = robots_site(robots_txt("User-agent: otherbot\nDisallow: /\n"), &["/x", "/y"]);
    let stored = crawl(&server, &[]);
    check(&server, &stored, &["/", "/x", "/y"], &[]);
}

#[test]
fn crawl_delay_spaces_requests() {
    let pages = ["/d/1", "/d/2", "/d/3", "/d/4", "/d/5"];
    let server =
        robots_site(robots_txt("User-agent: *\nCrawl-delay: 0.4\nDisallow: /never\n"), &pages);
    let stored = crawl(&server, &["--workers", "3", "--concurrency", "1"]);
    check(&server, &stored, &["/", "/d/1", "/d/2", "/d/3", "/d/4", "/d/5"], &[]);
    let hits = server.hits_on(server.ports[0]);
    let page_hits: Vec<Hit> = hits.into_iter().filter(|h| h.path != "/robots.txt").collect();
    // Starts are measured at the server; allow 50 ms of scheduling jitter.
    let close =
        spacing_violations(&page_hits, Duration::from_millis(400), Duration::from_millis(50));
    assert!(close.is_empty(), "{}", sample("requests closer than Crawl-delay 0.4", &close));
}

#[test]
fn robots_404_allows_everything() {
    let pages = ["/a", "/b/c", "/private/d"];
    let server = robots_site(Reply::not_found(), &pages);
    let stored = crawl(&server, &[]);
    check(&server, &stored, &["/", "/a", "/b/c", "/private/d"], &[]);
}

#[test]
fn robots_5xx_retries_then_disallows_the_host() {
    let server = robots_site(Reply::text(500, "oops\n"), &["/a", "/b"]);
    let dir = TestDir::new();
    let store = dir.store();
    let seeds: Vec<String> =
        ["", "a", "b"].iter().map(|p| format!("{}{p}", server.base_url(0))).collect();
    let out = Trawl::new("crawl")
        .args(&seeds)
        .arg("--store")
        .arg(&store)
        .args(["--workers", "2"])
        .run_within(Duration::from_secs(60));
    // Every seed disallowed: no page succeeded, exit 3 (issue 14).
    assert_eq!(out.code(), Some(3), "{}", tail(&out.stderr, 3000));
    eprintln!("crawl behind a failing robots.txt took {:?}", out.elapsed);
    let pages = records_by_url(&query_jsonl(&store));
    let stored: BTreeSet<String> = pages.keys().cloned().collect();
    assert_sets_eq("stored seeds", &seeds.iter().cloned().collect(), &stored);
    for p in pages.values() {
        assert_eq!(s(p, "outcome"), "disallowed", "{p}");
        assert!(p["status"].is_null(), "{p}");
    }
    let hits = server.hits_on(server.ports[0]);
    let requested: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert!(requested.iter().all(|p| *p == "/robots.txt"), "pages were fetched: {requested:?}");
    assert_eq!(requested.len(), 3, "robots.txt attempts: {requested:?}");
    // Attempts are spaced by a back-off (0.5 s x 2^n), not fired at once.
    let gaps: Vec<Duration> = start_gaps(&hits).into_iter().map(|(g, _, _)| g).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(450)),
        "robots.txt retries came {gaps:?} apart: no back-off"
    );
}

#[test]
fn ignore_robots_fetches_everything_and_never_asks() {
    let pages = ["/a", "/private/b"];
    let server = robots_site(robots_txt("User-agent: *\nDisallow: /\n"), &pages);
    let stored = crawl(&server, &["--ignore-robots"]);
    let base = server.base_url(0);
    let want: BTreeSet<String> =
        ["/", "/a", "/private/b"].iter().map(|p| join_url(&base, p)).collect();
    assert_sets_eq("stored", &want, &stored.keys().cloned().collect());
    for p in stored.values() {
        assert_eq!(s(p, "outcome"), "ok", "{p}");
    }
    assert_eq!(server.count("/robots.txt"), 0, "robots.txt requested with --ignore-robots");
}

/// A host whose robots.txt lists a sitemap index, which lists a gzipped
/// sitemap, which lists `/orphan` (linked from nowhere) and `/`.
/// `/orphan` links to `/orphan/child`.
fn sitemap_site() -> LogServer {
    let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let p = port.clone();
    let server = LogServer::start(1, move |_, path| {
        let origin = format!("http://127.0.0.1:{}", p.get().expect("port"));
        match path {
            "/robots.txt" => robots_txt(&format!(
                "User-agent: *\nDisallow: /private\n\nSitemap: {origin}/sitemap_index.xml\n"
            )),
            "/sitemap_index.xml" => Reply::bytes(
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex \
                     xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n  \
                     <sitemap><loc>{origin}/maps/pages.xml.gz</loc></sitemap>\n</sitemapindex>\n"
                )
                .into_bytes(),
            ),
            "/maps/pages.xml.gz" => Reply::bytes(
                "application/x-gzip",
                gzip(
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset \
                         xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n  \
                         <url><loc>{origin}/</loc></url>\n  \
                         <url><loc>{origin}/orphan</loc></url>\n</urlset>\n"
                    )
                    .as_bytes(),
                ),
            ),
            "/" => Reply::html("root", "<a href=\"/a\">a</a>"),
            "/a" => Reply::html("a", "<a href=\"/\">home</a>"),
            "/orphan" => Reply::html("orphan", "<a href=\"/orphan/child\">child</a>"),
            "/orphan/child" => Reply::html("child", "<p>deep</p>"),
            _ => Reply::not_found(),
        }
    });
    port.set(server.ports[0]).unwrap();
    server
}

#[test]
fn sitemaps_seed_orphan_pages_only_with_the_flag() {
    let server = sitemap_site();
    let base = server.base_url(0);
    let stored = crawl(&server, &["--sitemaps"]);
    let want: BTreeSet<String> =
        ["/", "/a", "/orphan", "/orphan/child"].iter().map(|p| join_url(&base, p)).collect();
    assert_sets_eq("stored with --sitemaps", &want, &stored.keys().cloned().collect());
    for p in stored.values() {
        assert_eq!(s(p, "outcome"), "ok", "{p}");
    }
    let orphan = &stored[&join_url(&base, "/orphan")];
    assert_eq!(n(orphan, "depth"), Some(0), "sitemap pages are seeds: {orphan}");
    assert_eq!(server.count("/maps/pages.xml.gz"), 1, "the gzipped sitemap is fetched once");
    assert_eq!(server.count("/"), 1, "/ is listed and linked but fetched once");

    let server = sitemap_site();
    let base = server.base_url(0);
    let stored = crawl(&server, &[]);
    let want: BTreeSet<String> = ["/", "/a"].iter().map(|p| join_url(&base, p)).collect();
    assert_sets_eq("stored without --sitemaps", &want, &stored.keys().cloned().collect());
    assert_eq!(
        server.count("/sitemap_index.xml") + server.count("/maps/pages.xml.gz"),
        0,
        "sitemaps fetched without --sitemaps"
    );
}
