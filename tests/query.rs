//! `trawl query` against one known store: every filter, projection, sort,
//! pagination, grouping and format, with every expectation computed from
//! the full jsonl dump of the same store (never hard-coded), plus the
//! extraction of `a.post-item-title` pairs checked against the site model,
//! and live queries answered by a running crawl.
//!
//! The store is built once per test binary run: a 300-page generated site
//! plus a small hand-made site on another port whose pages cover every
//! status class and most outcomes (404/410/500, redirect, bad redirect,
//! non-HTML, binary, too large, truncated body, timeout, robots-disallowed,
//! noindex, canonical, a depth chain).

use crate::harness::*;
use crate::query_support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

/// Pages of the generated site in the shared store.
const SITE_PAGES: u32 = 300;

/// The shared store and what went into it.
struct Fixture {
    store: PathBuf,
    /// `http://127.0.0.1:P/` of the generated site.
    site: String,
    /// `http://127.0.0.1:Q/` of the hand-made site.
    raw: String,
    spec: SiteSpec,
    /// `trawl query --format jsonl` of the whole store, in output order.
    all: Vec<Value>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

/// Offline queries take the store's exclusive lock, so two at once on the
/// same store collide (see `concurrent_offline_queries_all_succeed`); the
/// tests sharing the fixture take turns.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The hand-made site: `(status line, content type, body)` per path, or
/// `None` for "never answer".
fn raw_site(port: u16, path: &str) -> Option<String> {
    let html = |title: &str, head: &str, body: &str| {
        http_response(
            "200 OK",
            &[("Content-Type", "text/html; charset=utf-8")],
            &format!(
                "<!DOCTYPE html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"
            ),
        )
    };
    let text =
        |status: &str, ct: &str, body: &str| http_response(status, &[("Content-Type", ct)], body);
    Some(match path {
        "/robots.txt" => text("200 OK", "text/plain", "User-agent: *\nDisallow: /private\n"),
        "/" => html(
            "welcome to the raw site",
            "",
            &format!(
                r#"<h2><a class="post-item-title" href="about">About &amp; more</a></h2>
<h2><a class="post-item-title" href="http://127.0.0.1:{port}/deep/1#x">Deep &#39;dive&#39;</a></h2>
<a href="/hidden">h</a> <a href="/missing">m</a> <a href="/gone">g</a> <a href="/boom">b</a>
<a href="/data.json">j</a> <a href="/style.css">c</a> <a href="/binary">x</a> <a href="/redir">r</a>
<a href="/nowhere">n</a> <a href="/big">B</a> <a href="/broken">k</a> <a href="/slow">s</a>
<a href="/private/secret">p</a>"#
            ),
        ),
        "/about" => html("about raw", r#"<link rel="canonical" href="/about-us">"#, "<p>about</p>"),
        "/hidden" => html(
            "Hidden page",
            r#"<meta name="robots" content="noindex">"#,
            r#"<a href="/never">never</a>"#,
        ),
        "/missing" => text(
            "404 Not Found",
            "text/html; charset=utf-8",
            "<html><head><title>Not here</title></head><body>no</body></html>",
        ),
        "/gone" => text("410 Gone", "text/plain", "gone\n"),
        "/boom" => text("500 Internal Server Error", "text/plain", "boom\n"),
        "/data.json" => text("200 OK", "application/json", "{\"a\": 1}\n"),
        "/style.css" => text("200 OK", "text/css", "body{}\n"),
        "/binary" => text("200 OK", "text/html", "\0\u{1}\u{2}\u{3}\0binary\0\0\0"),
        "/redir" => http_response("301 Moved Permanently", &[("Location", "/about")], ""),
        "/nowhere" => http_response("302 Found", &[], ""),
        "/big" => html("big", "", &"<p>big page</p>".repeat(10_000)),
        "/broken" => "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n<html><title>cut".to_owned(),
        "/slow" => return None,
        "/private/secret" => html("secret", "", ""),
        p if p.starts_with("/deep/") => {
            let k: u32 = p["/deep/".len()..].parse().unwrap_or(99);
            let next = if k < 4 { format!(r#"<a href="{}">next</a>"#, k + 1) } else { String::new() };
            html(&format!("Deep {k}"), "", &next)
        }
        _ => text("404 Not Found", "text/plain", "not found\n"),
    })
}

/// `(path, status, outcome)` the hand-made site must be stored as.
const RAW_EXPECTED: &[(&str, Option<u64>, &str)] = &[
    ("", Some(200), "ok"),
    ("about", Some(200), "ok"),
    ("hidden", Some(200), "ok"),
    ("missing", Some(404), "http_error"),
    ("gone", Some(410), "http_error"),
    ("boom", Some(500), "http_error"),
    ("data.json", Some(200), "not_html"),
    ("style.css", Some(200), "not_html"),
    ("binary", Some(200), "not_html"),
    ("redir", Some(301), "redirect"),
    ("nowhere", Some(302), "bad_redirect"),
    ("big", Some(200), "too_large"),
    ("broken", Some(200), "body"),
    ("slow", None, "timeout"),
    ("private/secret", None, "disallowed"),
    ("deep/1", Some(200), "ok"),
    ("deep/2", Some(200), "ok"),
    ("deep/3", Some(200), "ok"),
    ("deep/4", Some(200), "ok"),
    // Linked from the noindex page (noindex alone does not stop links).
    ("never", Some(404), "http_error"),
];

/// A directory under cargo's per-target tmp dir, named by pid; leftovers
/// of earlier runs whose process is gone are removed.
fn fixture_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&root).unwrap();
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("query-fixture-").and_then(|p| p.parse::<u32>().ok())
            && !running(pid)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let dir = root.join(format!("query-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let site = SiteServer::start(SiteSpec::with_pages(SITE_PAGES)).expect("site");
        let raw = RawServer::start(raw_site);
        let store = fixture_dir().join("store");
        let out = Trawl::crawl(&site.base_url(), &store)
            .arg(raw.base_url())
            .args(["--workers", "2", "--concurrency", "8", "--retries", "0", "--timeout", "2"])
            .args(["--max-bytes", "100000", "--extract", "posts=a.post-item-title@href+text*"])
            .run_within(Duration::from_secs(60))
            .success();
        eprintln!("query fixture: crawl took {:?}", out.elapsed);
        let all = query_jsonl(&store);
        Fixture {
            store,
            site: site.base_url(),
            raw: raw.base_url(),
            spec: site.spec().clone(),
            all,
        }
    })
}

impl Fixture {
    /// `trawl query --format jsonl ARGS`, parsed.
    fn q(&self, args: &[&str]) -> Vec<Value> {
        parse_jsonl(&self.text(&[&["--format", "jsonl"], args].concat()))
    }

    /// `trawl query ARGS` stdout (must succeed).
    fn text(&self, args: &[&str]) -> String {
        self.run(args).success().stdout
    }

    /// `trawl query ARGS`, whatever its exit status.
    fn run(&self, args: &[&str]) -> Output {
        let _turn = TURN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        query_args(&self.store, args)
    }

    /// URLs of the full dump whose record satisfies `pred`, in order.
    fn expect(&self, pred: impl Fn(&Value) -> bool) -> Vec<String> {
        self.all.iter().filter(|r| pred(r)).map(|r| s(r, "url").to_owned()).collect()
    }

    /// Checks that `args` selects exactly the records satisfying `pred`,
    /// in the same order and with the same content as the full dump.
    #[track_caller]
    fn check(&self, args: &[&str], pred: impl Fn(&Value) -> bool, nontrivial: bool) {
        let want = self.expect(&pred);
        let got = self.q(args);
        let got_urls = urls_of(&got);
        if got_urls != want {
            let w: BTreeSet<String> = want.iter().cloned().collect();
            let g: BTreeSet<String> = got_urls.iter().cloned().collect();
            assert_sets_eq(&format!("query {args:?}"), &w, &g);
            panic!("query {args:?}: right URLs in the wrong order");
        }
        let by_url: BTreeMap<&str, &Value> = self.all.iter().map(|r| (s(r, "url"), r)).collect();
        for r in &got {
            assert_eq!(&r, &by_url[s(r, "url")], "query {args:?}: record differs from the dump");
        }
        if nontrivial {
            assert!(
                !want.is_empty() && want.len() < self.all.len(),
                "query {args:?} should select some but not all of {} records (selects {})",
                self.all.len(),
                want.len()
            );
        }
    }

    fn site_authority(&self) -> String {
        authority(&self.site)
    }

    fn raw_authority(&self) -> String {
        authority(&self.raw)
    }
}

fn str_of<'a>(r: &'a Value, k: &str) -> Option<&'a str> {
    r.get(k).and_then(Value::as_str)
}

// ------------------------------------------------------------ the fixture

#[test]
fn store_holds_the_site_and_every_status_class_and_outcome() {
    let fx = fixture();
    let by_url = records_by_url_here(&fx.all);
    // The generated site: every page, 200, ok, its title.
    for i in 0..fx.spec.pages {
        let url = join_url(&fx.site, &fx.spec.path(i));
        let r = by_url.get(url.as_str()).unwrap_or_else(|| panic!("{url} not stored"));
        assert_eq!((n(r, "status"), s(r, "outcome")), (Some(200), "ok"), "{r}");
        assert_eq!(s(r, "title"), fx.spec.title(i), "{r}");
    }
    // The hand-made site: exactly these URLs, statuses and outcomes.
    let mut wrong = Vec::new();
    for (path, status, outcome) in RAW_EXPECTED {
        let url = format!("{}{path}", fx.raw);
        match by_url.get(url.as_str()) {
            None => wrong.push(format!("{url}: not stored")),
            Some(r) => {
                if n(r, "status") != *status || s(r, "outcome") != *outcome {
                    wrong.push(format!(
                        "{url}: status {} outcome {} detail {}, want {status:?} {outcome}",
                        r["status"], r["outcome"], r["detail"]
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", sample("hand-made pages stored wrongly", &wrong));
    assert_eq!(
        fx.all.len(),
        SITE_PAGES as usize + RAW_EXPECTED.len(),
        "stored URLs: {:?}",
        urls_of(&fx.all).iter().filter(|u| u.starts_with(&fx.raw)).collect::<Vec<_>>()
    );
    let hidden = by_url[format!("{}hidden", fx.raw).as_str()];
    assert_eq!((&hidden["noindex"], &hidden["title"]), (&Value::Bool(true), &Value::Null));
    let about = by_url[format!("{}about", fx.raw).as_str()];
    assert_eq!(s(about, "canonical"), format!("{}about-us", fx.raw), "{about}");
    let redir = by_url[format!("{}redir", fx.raw).as_str()];
    assert_eq!(s(redir, "detail"), format!("{}about", fx.raw), "{redir}");
    // Every status class and "no status" occur.
    let classes: BTreeSet<String> = fx
        .all
        .iter()
        .map(|r| n(r, "status").map_or("none".to_owned(), |c| format!("{}xx", c / 100)))
        .collect();
    let want: BTreeSet<String> =
        ["2xx", "3xx", "4xx", "5xx", "none"].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(classes, want);
}

/// Records by URL (URLs unique).
fn records_by_url_here(all: &[Value]) -> BTreeMap<&str, &Value> {
    let mut m = BTreeMap::new();
    for r in all {
        assert!(m.insert(s(r, "url"), r).is_none(), "{} stored twice", s(r, "url"));
    }
    m
}

#[test]
fn extracted_posts_match_the_site_model() {
    let fx = fixture();
    let by_url = records_by_url_here(&fx.all);
    let mut wrong = Vec::new();
    for i in 0..fx.spec.pages {
        let url = join_url(&fx.site, &fx.spec.path(i));
        let want: Value = fx
            .spec
            .posts(i)
            .into_iter()
            .map(|(path, text)| Value::from(vec![join_url(&fx.site, &path), text]))
            .collect();
        let got = lookup(by_url[url.as_str()], "fields.posts").cloned().unwrap_or(Value::Null);
        if got != want {
            wrong.push(format!("{url}:\n    got  {got}\n    want {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", sample("pages whose fields.posts is wrong", &wrong));
    // The hand-made front page: relative and absolute hrefs resolved (a
    // fragment stays: it is part of the attribute), entities decoded.
    let root = by_url[fx.raw.as_str()];
    assert_eq!(
        root["fields"]["posts"],
        serde_json::json!([
            [format!("{}about", fx.raw), "About & more"],
            [format!("{}deep/1#x", fx.raw), "Deep 'dive'"]
        ]),
        "{root}"
    );
    // An HTML page without posts has an empty list, a noindex page none.
    let about = by_url[format!("{}about", fx.raw).as_str()];
    assert_eq!(about["fields"]["posts"], serde_json::json!([]), "{about}");
    // The projection of fields.posts is the same value.
    let proj = fx.q(&["--fields", "url,fields.posts", "--url-prefix", &fx.site]);
    assert_eq!(proj.len(), SITE_PAGES as usize);
    for p in &proj {
        assert_eq!(p["fields.posts"], by_url[s(p, "url")]["fields"]["posts"], "{p}");
    }
}

// --------------------------------------------------------------- filters

#[test]
fn url_prefix_glob_regex_and_host_filters() {
    let fx = fixture();
    let site_page1 = format!("{}page/1", fx.site);
    fx.check(&["--url-prefix", &site_page1], |r| s(r, "url").starts_with(&site_page1), true);
    fx.check(&["--url-prefix", &fx.raw], |r| s(r, "url").starts_with(&fx.raw), true);
    fx.check(&["--url-prefix", "http://127.0.0.1:1/"], |_| false, false);

    // Globs: `*` crosses `/`, `?` is one character.
    for g in [
        format!("{}page/1?", fx.site),
        "*/page/2*".to_owned(),
        "*/deep/*".to_owned(),
        "*.json".to_owned(),
        "http://*:*/*s*".to_owned(),
        format!("{}*", fx.raw),
    ] {
        fx.check(&["--url-glob", &g], |r| glob_match(&g, s(r, "url")), true);
    }

    // Regexes (unanchored, case-sensitive).
    fx.check(
        &["--url-regex", r"/page/1[0-9]$"],
        |r| {
            let u = s(r, "url");
            let tail = u.rsplit('/').next().unwrap_or("");
            u.contains("/page/") && tail.len() == 2 && tail.starts_with('1')
        },
        true,
    );
    fx.check(
        &["--url-regex", r"\.(json|css)$"],
        |r| {
            let u = s(r, "url");
            u.ends_with(".json") || u.ends_with(".css")
        },
        true,
    );
    fx.check(
        &["--url-regex", "deep|secret"],
        |r| {
            let u = s(r, "url");
            u.contains("deep") || u.contains("secret")
        },
        true,
    );
    fx.check(&["--url-regex", "PAGE"], |_| false, false);

    // Host: host:port of the URL.
    let (sa, ra) = (fx.site_authority(), fx.raw_authority());
    fx.check(&["--host", &sa], |r| authority(s(r, "url")) == sa, true);
    fx.check(&["--host", &ra], |r| authority(s(r, "url")) == ra, true);
    fx.check(&["--host", "127.0.0.1"], |_| false, false);
    // Filters combine (AND).
    fx.check(
        &["--host", &sa, "--url-glob", "*7*", "--url-regex", "/page/"],
        |r| {
            authority(s(r, "url")) == sa
                && s(r, "url").contains('7')
                && s(r, "url").contains("/page/")
        },
        true,
    );
    fx.check(&["--host", &ra, "--url-prefix", &fx.site], |_| false, false);
}

#[test]
fn status_content_type_depth_and_outcome_filters() {
    let fx = fixture();
    let statuses: BTreeSet<u64> = fx.all.iter().filter_map(|r| n(r, "status")).collect();
    assert!(statuses.len() >= 6, "statuses in the store: {statuses:?}");
    for code in &statuses {
        let c = code.to_string();
        fx.check(&["--status", &c], |r| n(r, "status") == Some(*code), false);
        assert!(!fx.expect(|r| n(r, "status") == Some(*code)).is_empty());
    }
    for class in 2..=5u64 {
        fx.check(
            &["--status", &format!("{class}xx")],
            |r| n(r, "status").is_some_and(|c| c / 100 == class),
            true,
        );
    }
    fx.check(&["--status", "4XX"], |r| n(r, "status").is_some_and(|c| c / 100 == 4), true);
    fx.check(&["--status", "1xx"], |_| false, false);
    fx.check(&["--status", "418"], |_| false, false);

    let types: BTreeSet<String> =
        fx.all.iter().filter_map(|r| str_of(r, "content_type")).map(str::to_owned).collect();
    for t in
        ["text/html", "text/", "application/json", "TEXT/CSS", "text/html; charset=utf-8", "image/"]
    {
        let lt = t.to_ascii_lowercase();
        fx.check(
            &["--content-type", t],
            |r| str_of(r, "content_type").is_some_and(|c| c.to_ascii_lowercase().starts_with(&lt)),
            false,
        );
    }
    assert!(types.len() >= 4, "content types: {types:?}");

    let depths: BTreeSet<u64> = fx.all.iter().filter_map(|r| n(r, "depth")).collect();
    assert!(depths.len() >= 4, "depths: {depths:?}");
    for d in &depths {
        fx.check(&["--depth", &d.to_string()], |r| n(r, "depth") == Some(*d), true);
    }
    for (spec, lo, hi) in
        [("1..2", 1, 2), ("2..", 2, u64::MAX), ("..1", 0, 1), ("0..0", 0, 0), ("3..4", 3, 4)]
    {
        fx.check(
            &["--depth", spec],
            |r| n(r, "depth").is_some_and(|d| (lo..=hi).contains(&d)),
            lo > 0 || hi < 9,
        );
    }

    let outcomes: BTreeSet<String> = fx.all.iter().map(|r| s(r, "outcome").to_owned()).collect();
    assert!(outcomes.len() >= 9, "outcomes: {outcomes:?}");
    for o in &outcomes {
        fx.check(&["--outcome", o], |r| s(r, "outcome") == o, true);
    }
    fx.check(&["--outcome", "poison"], |_| false, false);
    // Several at once.
    fx.check(
        &["--status", "4xx", "--content-type", "text/", "--outcome", "http_error", "--depth", "1"],
        |r| {
            n(r, "status").is_some_and(|c| c / 100 == 4)
                && str_of(r, "content_type").is_some_and(|c| c.starts_with("text/"))
                && s(r, "outcome") == "http_error"
                && n(r, "depth") == Some(1)
        },
        true,
    );
}

#[test]
fn since_and_until_filter_on_fetched_at() {
    let fx = fixture();
    let mut times: Vec<(i64, &str)> =
        fx.all.iter().map(|r| (rfc3339_ms(s(r, "fetched_at")), s(r, "fetched_at"))).collect();
    times.sort();
    let (first, last) = (times[0].0, times[times.len() - 1].0);
    assert!(last > first, "all pages fetched in the same millisecond?");
    // A cut inside the crawl, at a recorded fetch time.
    let cut = times.iter().map(|t| t.0).find(|&t| t > first + (last - first) / 2).unwrap();
    let cut_text = format_rfc3339(cut, 0, true);
    let at = |r: &Value| rfc3339_ms(s(r, "fetched_at"));
    fx.check(&["--since", &cut_text], |r| at(r) >= cut, true);
    fx.check(&["--until", &cut_text], |r| at(r) < cut, true);
    fx.check(
        &["--since", &cut_text, "--until", &format_rfc3339(cut + 1, 0, true)],
        |r| at(r) == cut,
        true,
    );
    // Whole seconds.
    let sec = cut - cut.rem_euclid(1000);
    let sec_text = format_rfc3339(sec, 0, true).replace(".000", "");
    fx.check(&["--since", &sec_text], |r| at(r) >= sec, false);
    // Dates: midnight UTC.
    let day = first - first.rem_euclid(86_400_000);
    let date = &format_rfc3339(day, 0, true)[..10];
    fx.check(&["--since", date], |_| true, false);
    fx.check(&["--until", date], |_| false, false);
    fx.check(&["--until", "2999-12-31"], |_| true, false);
    fx.check(&["--since", "2999-12-31"], |_| false, false);
    fx.check(
        &["--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z"],
        |_| false,
        false,
    );
}

/// RFC 3339 allows any UTC offset (`+01:00`, `-05:30`); the same instant
/// written with an offset must select the same pages.
#[test]
fn since_and_until_accept_rfc3339_utc_offsets() {
    let fx = fixture();
    let mut times: Vec<i64> = fx.all.iter().map(|r| rfc3339_ms(s(r, "fetched_at"))).collect();
    times.sort();
    let cut = times[times.len() / 2];
    let want_since = fx.text(&["--since", &format_rfc3339(cut, 0, true), "--fields", "url"]);
    let want_until = fx.text(&["--until", &format_rfc3339(cut, 0, true), "--fields", "url"]);
    let mut failures = Vec::new();
    for offset in [0, 60, -300] {
        let t = format_rfc3339(cut, offset, false);
        for (flag, want) in [("--since", &want_since), ("--until", &want_until)] {
            let out = fx.run(&[flag, &t, "--fields", "url"]);
            if !out.status.success() {
                failures.push(format!("{flag} {t}: exit {:?}: {}", out.code(), out.stderr.trim()));
            } else if &out.stdout != want {
                failures
                    .push(format!("{flag} {t}: selects other pages than the same instant in Z"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", sample("RFC 3339 times with offsets", &failures));
}

// ---------------------------------------------------------------- --where

#[test]
fn where_predicates() {
    let fx = fixture();
    let title = |r: &Value| str_of(r, "title").map(str::to_lowercase);
    let num = |r: &Value, k: &str| r.get(k).and_then(Value::as_f64);
    type Pred = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(Vec<&str>, Pred, bool)> = vec![
        (
            vec!["title~quiet"],
            Box::new(move |r| title(r).is_some_and(|t| t.contains("quiet"))),
            true,
        ),
        (
            vec!["title~QUIET"],
            Box::new(move |r| title(r).is_some_and(|t| t.contains("quiet"))),
            true,
        ),
        (
            vec!["title!~quiet"],
            Box::new(move |r| !title(r).is_some_and(|t| t.contains("quiet"))),
            true,
        ),
        (
            vec!["title~^editor's pick"],
            Box::new(move |r| title(r).is_some_and(|t| t.starts_with("editor's pick"))),
            true,
        ),
        (
            vec!["url~/page/1[0-9]$"],
            Box::new(|r| {
                let u = s(r, "url");
                let t = u.rsplit('/').next().unwrap_or("");
                u.contains("/page/") && t.len() == 2 && t.starts_with('1')
            }),
            true,
        ),
        // Numbers compare as numbers: "44000" > "9" only numerically.
        (vec!["bytes>9"], Box::new(move |r| num(r, "bytes").is_some_and(|b| b > 9.0)), true),
        (vec!["bytes<=100"], Box::new(move |r| num(r, "bytes").is_some_and(|b| b <= 100.0)), true),
        (
            vec!["bytes<44000"],
            Box::new(move |r| num(r, "bytes").is_some_and(|b| b < 44000.0)),
            true,
        ),
        (
            vec!["bytes>=44000"],
            Box::new(move |r| num(r, "bytes").is_some_and(|b| b >= 44000.0)),
            true,
        ),
        (vec!["status=404"], Box::new(|r| n(r, "status") == Some(404)), true),
        (vec!["status != 200"], Box::new(|r| n(r, "status") != Some(200)), true),
        (
            vec!["status>=400", "status<500"],
            Box::new(|r| n(r, "status").is_some_and(|c| (400..500).contains(&c))),
            true,
        ),
        (vec!["depth>=2"], Box::new(|r| n(r, "depth").is_some_and(|d| d >= 2)), true),
        (vec!["outcome=not_html"], Box::new(|r| s(r, "outcome") == "not_html"), true),
        (vec!["outcome!=ok"], Box::new(|r| s(r, "outcome") != "ok"), true),
        (vec!["title = about raw"], Box::new(|r| str_of(r, "title") == Some("about raw")), true),
        (vec!["noindex=true"], Box::new(|r| r["noindex"] == true), true),
        (
            vec!["fields.posts exists"],
            Box::new(|r| lookup(r, "fields.posts").is_some_and(|v| !v.is_null())),
            true,
        ),
        (
            vec!["fields.posts missing"],
            Box::new(|r| lookup(r, "fields.posts").is_none_or(Value::is_null)),
            true,
        ),
        (vec!["title missing"], Box::new(|r| r["title"].is_null()), true),
        (vec!["detail exists"], Box::new(|r| !r["detail"].is_null()), true),
        (vec!["canonical exists"], Box::new(|r| !r["canonical"].is_null()), true),
        (vec!["fields.nothing exists"], Box::new(|_| false), false),
        (vec!["elapsed_ms>=0"], Box::new(|_| true), false),
        (
            vec!["title~quiet", "bytes>44000", "depth=2"],
            Box::new(move |r| {
                title(r).is_some_and(|t| t.contains("quiet"))
                    && num(r, "bytes").is_some_and(|b| b > 44000.0)
                    && n(r, "depth") == Some(2)
            }),
            true,
        ),
    ];
    for (wheres, pred, nontrivial) in cases {
        let mut args = Vec::new();
        for w in &wheres {
            args.push("--where");
            args.push(w);
        }
        fx.check(&args, pred, nontrivial);
    }
}

// ------------------------------------------------------------ projection

#[test]
fn fields_projection_in_every_format() {
    let fx = fixture();
    let cols = ["url", "title", "fields.posts", "status", "fields.nope", "depth"];
    let list = cols.join(",");
    let rows = fx.q(&["--fields", &list]);
    assert_eq!(rows.len(), fx.all.len());
    for (row, full) in rows.iter().zip(&fx.all) {
        let obj = row.as_object().expect("object");
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys, cols.iter().copied().collect(), "keys of {row}");
        for c in cols {
            let want = lookup(full, c).cloned().unwrap_or(Value::Null);
            assert_eq!(row[c], want, "{c} of {}", s(full, "url"));
        }
    }
    // Spaces around names are ignored; projection composes with filters.
    let some = fx.q(&["--fields", " url , outcome ", "--outcome", "http_error"]);
    assert_eq!(urls_of(&some), fx.expect(|r| s(r, "outcome") == "http_error"));
    assert!(some.iter().all(|r| r.as_object().unwrap().len() == 2), "{some:?}");

    // CSV: the columns in the given order, values as text, JSON for
    // arrays, empty for null.
    let csv = parse_csv(&fx.text(&["--fields", &list, "--format", "csv"]));
    assert_eq!(csv[0], cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>(), "csv header");
    assert_eq!(csv.len(), fx.all.len() + 1, "csv rows");
    for (row, full) in csv[1..].iter().zip(&fx.all) {
        for (cell, c) in row.iter().zip(cols) {
            let want = lookup(full, c).filter(|v| !v.is_null()).map(text_of).unwrap_or_default();
            if c == "fields.posts" && !cell.is_empty() {
                let v: Value = serde_json::from_str(cell).expect("fields.posts cell is JSON");
                assert_eq!(Some(&v), lookup(full, c), "csv {c} of {}", s(full, "url"));
            } else {
                assert_eq!(cell, &want, "csv {c} of {}", s(full, "url"));
            }
        }
    }

    // Table: upper-cased names as the header, one line per row.
    let table =
        fx.text(&["--fields", "url,status,title", "--format", "table", "--url-prefix", &fx.raw]);
    let lines: Vec<&str> = table.lines().collect();
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(head, ["URL", "STATUS", "TITLE"], "table header {:?}", lines[0]);
    let raw_rows = fx.expect(|r| s(r, "url").starts_with(&fx.raw));
    assert_eq!(lines.len(), raw_rows.len() + 1, "table:\n{table}");
    let status_col = lines[0].find("STATUS").unwrap();
    let title_col = lines[0].find("TITLE").unwrap();
    let by_url = records_by_url_here(&fx.all);
    for (line, url) in lines[1..].iter().zip(&raw_rows) {
        let r = by_url[url.as_str()];
        assert_eq!(line[..status_col].trim_end(), url, "{line:?}");
        let status = n(r, "status").map_or("-".to_owned(), |c| c.to_string());
        assert_eq!(line.get(status_col..title_col).unwrap_or("").trim_end(), status, "{line:?}");
        let title = str_of(r, "title").unwrap_or("-");
        assert_eq!(line.get(title_col..).unwrap_or(""), title, "{line:?}");
    }
}

// ------------------------------------------------------------------ sort

/// The values of `field` down a list of projected rows.
fn column<'a>(rows: &'a [Value], field: &str) -> Vec<&'a Value> {
    rows.iter().map(|r| r.get(field).unwrap_or(&Value::Null)).collect()
}

#[test]
fn sort_ascending_descending_and_numeric() {
    let fx = fixture();
    let urls_all: BTreeSet<String> = urls_of(&fx.all).into_iter().collect();
    for (spec, field, desc) in [
        ("bytes", "bytes", false),
        ("-bytes", "bytes", true),
        ("bytes:desc", "bytes", true),
        ("bytes:asc", "bytes", false),
        ("depth", "depth", false),
        ("-outlinks", "outlinks", true),
        ("elapsed_ms", "elapsed_ms", false),
    ] {
        let rows = fx.q(&[&format!("--sort={spec}"), "--fields", &format!("url,{field}")]);
        let got: BTreeSet<String> = urls_of(&rows).into_iter().collect();
        assert_sets_eq(&format!("--sort {spec}: URLs"), &urls_all, &got);
        let keys: Vec<f64> = column(&rows, field)
            .iter()
            .map(|v| v.as_f64().unwrap_or_else(|| panic!("--sort {spec}: {field} {v}")))
            .collect();
        let mut want = keys.clone();
        want.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if desc {
            want.reverse();
        }
        assert_eq!(keys, want, "--sort {spec}: {field} values out of (numeric) order");
        assert!(want.first() != want.last(), "--sort {spec}: all keys equal, a useless check");
    }
    // -F and F:desc are the same order.
    assert_eq!(fx.text(&["--sort=-bytes"]), fx.text(&["--sort", "bytes:desc"]));

    // Status: numeric among the statuses, whatever the missing ones do.
    let rows = fx.q(&["--sort", "status", "--fields", "url,status"]);
    let codes: Vec<u64> = column(&rows, "status").iter().filter_map(|v| v.as_u64()).collect();
    assert!(codes.windows(2).all(|w| w[0] <= w[1]), "--sort status: {codes:?}");
    assert_eq!(codes.len(), fx.all.iter().filter(|r| n(r, "status").is_some()).count());

    // Strings sort by text; a dotted path works too.
    let rows = fx.q(&["--sort", "title", "--fields", "url,title", "--url-prefix", &fx.site]);
    let titles: Vec<&str> = column(&rows, "title").iter().map(|v| v.as_str().unwrap()).collect();
    assert!(titles.windows(2).all(|w| w[0] <= w[1]), "--sort title not in text order");
    let rows = fx.q(&["--sort=-fields.posts", "--fields", "url", "--url-prefix", &fx.site]);
    assert_eq!(rows.len(), SITE_PAGES as usize);

    // Sort composes with filters and projection: the filtered subset, sorted.
    let rows = fx.q(&["--sort=-depth", "--where", "title~quiet", "--fields", "url,depth,title"]);
    assert_eq!(
        urls_of(&rows).into_iter().collect::<BTreeSet<_>>(),
        fx.expect(|r| str_of(r, "title").is_some_and(|t| t.to_lowercase().contains("quiet")))
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
    let depths: Vec<u64> = column(&rows, "depth").iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(depths.windows(2).all(|w| w[0] >= w[1]), "--sort -depth: {depths:?}");
}

/// The documented spelling `--sort -FIELD` (two arguments, as in
/// `--sort -bytes`) sorts descending like `--sort=-FIELD`, `--sort
/// FIELD:desc` and the API's `sort=-FIELD`.
#[test]
fn sort_with_a_leading_dash_as_two_arguments() {
    let fx = fixture();
    let want = fx.text(&["--sort", "bytes:desc", "--fields", "url,bytes"]);
    let out = fx.run(&["--sort", "-bytes", "--fields", "url,bytes"]);
    assert!(
        out.status.success(),
        "`trawl query --sort -bytes` (documented: --sort FIELD|-FIELD|FIELD:desc) failed, exit {:?}:\n{}",
        out.code(),
        out.stderr
    );
    assert_eq!(out.stdout, want, "--sort -bytes vs --sort bytes:desc");
}

/// Pages without a value (no title: non-HTML, errors, noindex) must sort
/// together at one end, not wherever the text "null" would fall among the
/// titles.
#[test]
fn sort_keeps_missing_values_together() {
    let fx = fixture();
    for spec in ["title", "-title", "status", "-status", "content_type"] {
        let field = spec.trim_start_matches('-');
        let rows = fx.q(&[&format!("--sort={spec}"), "--fields", &format!("url,{field}")]);
        let nulls: Vec<bool> = column(&rows, field).iter().map(|v| v.is_null()).collect();
        let k = nulls.iter().filter(|&&x| x).count();
        assert!(k > 0 && k < nulls.len(), "--sort {spec}: want both missing and present values");
        let at_start = nulls[..k].iter().all(|&x| x);
        let at_end = nulls[nulls.len() - k..].iter().all(|&x| x);
        let order: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {}", r[field], s(r, "url")))
            .filter(|l| !l.contains("/page/"))
            .collect();
        assert!(
            at_start || at_end,
            "--sort {spec}: the {k} pages without {field} are interleaved with the others:\n  {}",
            order.join("\n  ")
        );
    }
}

// ------------------------------------------------------------ pagination

#[test]
fn offset_and_limit_paginate() {
    let fx = fixture();
    for base in [
        vec![],
        vec!["--sort=-bytes"],
        vec!["--where", "depth>=2", "--sort", "url:desc", "--fields", "url,title"],
    ] {
        let full = fx.text(&[base.as_slice(), &["--format", "jsonl"]].concat());
        let full_lines: Vec<&str> = full.lines().collect();
        assert!(full_lines.len() > 100, "{base:?}: {} rows", full_lines.len());
        // Pages of 1 (the first few), 64 and 200 rows.
        for (page, max_pages) in [(1usize, 3usize), (64, 100), (200, 100)] {
            let mut joined = Vec::new();
            for k in 0..max_pages {
                let (o, l) = ((k * page).to_string(), page.to_string());
                let chunk = fx.text(&[base.as_slice(), &["--offset", &o, "--limit", &l]].concat());
                let lines: Vec<String> = chunk.lines().map(str::to_owned).collect();
                assert!(lines.len() <= page, "{base:?} --limit {page} gave {}", lines.len());
                let last = lines.len() < page;
                joined.extend(lines);
                if last {
                    break;
                }
            }
            let n = joined.len();
            assert_eq!(
                joined,
                full_lines[..n].to_vec(),
                "{base:?}: pages of {page} do not concatenate to the full list"
            );
            assert_eq!(
                n,
                full_lines.len().min(page * max_pages),
                "{base:?}: pages of {page} miss rows"
            );
        }
        // Past the end: nothing; --limit 0: nothing; a lone --offset: the rest.
        let past = (full_lines.len() + 5).to_string();
        assert_eq!(fx.text(&[base.as_slice(), &["--offset", &past]].concat()), "");
        assert_eq!(fx.text(&[base.as_slice(), &["--limit", "0"]].concat()), "");
        let rest = fx.text(&[base.as_slice(), &["--offset", "10"]].concat());
        assert_eq!(
            rest.lines().collect::<Vec<_>>(),
            full_lines[10..].to_vec(),
            "{base:?} --offset 10"
        );
    }
}

// -------------------------------------------------------------- count-by

/// The `--count-by` key of a record, as documented: host is host:port,
/// status_class is Nxx, anything else the field's value as text; `None`
/// when the page has none (printed as JSON null).
fn group_key(r: &Value, by: &str) -> Option<String> {
    match by {
        "host" => Some(authority(s(r, "url"))),
        "status_class" => n(r, "status").map(|c| format!("{}xx", c / 100)),
        _ => lookup(r, by).filter(|v| !v.is_null()).map(text_of),
    }
}

/// `(key, count)` rows sorted by count desc, then key.
fn expected_counts(rows: &[&Value], by: &str, missing: &str) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        *m.entry(group_key(r, by).unwrap_or_else(|| missing.to_owned())).or_default() += 1;
    }
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn counts_of(rows: &[Value], by: &str) -> Vec<(String, u64)> {
    rows.iter()
        .map(|r| {
            assert_eq!(r.as_object().unwrap().len(), 2, "count row {r}");
            (text_of(&r[by]), r["count"].as_u64().unwrap_or_else(|| panic!("count in {r}")))
        })
        .collect()
}

#[test]
fn count_by_groups_and_sums_to_the_total() {
    let fx = fixture();
    let all: Vec<&Value> = fx.all.iter().collect();
    for by in [
        "host",
        "status",
        "status_class",
        "outcome",
        "depth",
        "content_type",
        "noindex",
        "fields.posts",
    ] {
        let got = counts_of(&fx.q(&["--count-by", by]), by);
        let total: u64 = got.iter().map(|g| g.1).sum();
        assert_eq!(total, fx.all.len() as u64, "--count-by {by}: counts sum");
        // The key used for "no value" is the tool's business; take the one
        // it prints for pages without a value, if any.
        let missing = got
            .iter()
            .map(|g| g.0.clone())
            .find(|k| k == "none" || k == "null")
            .unwrap_or_else(|| "none".to_owned());
        let want = expected_counts(&all, by, &missing);
        assert_eq!(got, want, "--count-by {by}");
        assert!(got.len() >= 2, "--count-by {by}: one group only");
    }
    // With filters: groups of the selected pages only.
    let raw: Vec<&Value> = fx.all.iter().filter(|r| s(r, "url").starts_with(&fx.raw)).collect();
    let got = counts_of(&fx.q(&["--count-by", "outcome", "--url-prefix", &fx.raw]), "outcome");
    assert_eq!(got, expected_counts(&raw, "outcome", "none"));
    let deep: Vec<&Value> =
        fx.all.iter().filter(|r| n(r, "depth").is_some_and(|d| d >= 2)).collect();
    let got = counts_of(&fx.q(&["--count-by", "host", "--where", "depth>=2"]), "host");
    assert_eq!(got, expected_counts(&deep, "host", "none"));
    // limit/offset page through the groups.
    let groups = counts_of(&fx.q(&["--count-by", "status"]), "status");
    let page =
        counts_of(&fx.q(&["--count-by", "status", "--offset", "1", "--limit", "2"]), "status");
    assert_eq!(page, groups[1..3].to_vec());

    // CSV and table.
    let csv = parse_csv(&fx.text(&["--count-by", "status_class", "--format", "csv"]));
    assert_eq!(csv[0], ["status_class", "count"]);
    // CSV prints a missing value (JSON null) as an empty cell; the group
    // is ordered as the null of jsonl is.
    let want: Vec<(String, u64)> = expected_counts(&all, "status_class", "null")
        .into_iter()
        .map(|(k, n)| (if k == "null" { String::new() } else { k }, n))
        .collect();
    let rows: Vec<(String, u64)> =
        csv[1..].iter().map(|r| (r[0].clone(), r[1].parse().unwrap())).collect();
    assert_eq!(rows, want, "csv --count-by status_class");
    let table = fx.text(&["--count-by", "outcome", "--format", "table"]);
    let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["OUTCOME", "COUNT"]);
    let want = expected_counts(&all, "outcome", "none");
    let rows: Vec<(String, u64)> =
        lines[1..].iter().map(|l| (l[0].to_owned(), l[1].parse().unwrap())).collect();
    assert_eq!(rows, want, "table --count-by outcome");
}

/// `--count-by status` and `--count-by status_class` must name the group
/// of pages without a status (timeouts, robots-disallowed) the same way.
#[test]
fn count_by_names_missing_values_consistently() {
    let fx = fixture();
    let class = counts_of(&fx.q(&["--count-by", "status_class"]), "status_class");
    let status = counts_of(&fx.q(&["--count-by", "status"]), "status");
    let nostatus = fx.all.iter().filter(|r| r["status"].is_null()).count() as u64;
    assert!(nostatus > 0);
    let class_key: Vec<&String> =
        class.iter().filter(|g| !g.0.ends_with("xx")).map(|g| &g.0).collect();
    let status_key: Vec<&String> =
        status.iter().filter(|g| g.0.parse::<u16>().is_err()).map(|g| &g.0).collect();
    assert_eq!(
        class_key, status_key,
        "the group of pages without a status: --count-by status_class calls it {class_key:?}, --count-by status {status_key:?}"
    );
}

// --------------------------------------------------------------- formats

#[test]
fn csv_and_table_carry_the_same_records_as_jsonl() {
    let fx = fixture();
    let csv = parse_csv(&fx.text(&["--format", "csv"]));
    let header = &csv[0];
    assert_eq!(header[0], "url");
    assert!(header.iter().any(|h| h == "fields"), "csv header {header:?}");
    assert_eq!(csv.len(), fx.all.len() + 1, "csv rows");
    for (row, full) in csv[1..].iter().zip(&fx.all) {
        assert_eq!(row.len(), header.len(), "csv row width for {}", s(full, "url"));
        let keys: BTreeSet<&str> = full.as_object().unwrap().keys().map(String::as_str).collect();
        let cols: BTreeSet<&str> = header.iter().map(String::as_str).collect();
        assert_eq!(cols, keys, "csv columns vs jsonl keys");
        for (cell, col) in row.iter().zip(header) {
            let v = &full[col.as_str()];
            if col == "fields" {
                let parsed: Value = serde_json::from_str(cell).expect("fields column is JSON");
                assert_eq!(&parsed, v, "fields of {}", s(full, "url"));
            } else {
                let want = if v.is_null() { String::new() } else { text_of(v) };
                assert_eq!(cell, &want, "csv {col} of {}", s(full, "url"));
            }
        }
    }

    // Table: URL STATUS DEPTH OUTCOME BYTES LINKS TITLE, aligned.
    let table = fx.text(&["--format", "table"]);
    let lines: Vec<&str> = table.lines().collect();
    let names = ["URL", "STATUS", "DEPTH", "OUTCOME", "BYTES", "LINKS", "TITLE"];
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), names, "table header");
    let starts: Vec<usize> = names.iter().map(|h| lines[0].find(h).unwrap()).collect();
    assert_eq!(lines.len(), fx.all.len() + 1);
    for (line, r) in lines[1..].iter().zip(&fx.all) {
        let chars: Vec<char> = line.chars().collect();
        let cell = |k: usize| -> String {
            let end =
                if k + 1 < starts.len() { starts[k + 1].min(chars.len()) } else { chars.len() };
            chars[starts[k].min(chars.len())..end].iter().collect::<String>().trim_end().to_owned()
        };
        let title = str_of(r, "title").unwrap_or("");
        let title = if title.chars().count() > 60 {
            format!("{}…", title.chars().take(59).collect::<String>())
        } else {
            title.to_owned()
        };
        let want = [
            s(r, "url").to_owned(),
            n(r, "status").map_or("-".to_owned(), |c| c.to_string()),
            r["depth"].to_string(),
            s(r, "outcome").to_owned(),
            r["bytes"].to_string(),
            r["outlinks"].to_string(),
            title,
        ];
        let got: Vec<String> = (0..names.len()).map(cell).collect();
        assert_eq!(got, want, "table line {line:?}");
    }
}

// ------------------------------------------------------------ bad options

#[test]
fn bad_options_exit_2_and_name_the_option() {
    let fx = fixture();
    for (flag, value) in [
        ("--url-regex", "("),
        ("--url-glob", "[a"),
        ("--status", "abc"),
        ("--status", "6xx"),
        ("--status", "xx"),
        ("--depth", "x"),
        ("--depth", "1..y"),
        ("--outcome", "great"),
        ("--since", "soon"),
        ("--until", "2026-13-45"),
        ("--where", "nonsense"),
        ("--where", "title~("),
        ("--where", "=x"),
        ("--fields", ","),
        // Issue 14: typos used to succeed with empty or null output.
        ("--where", "title=~x"),
        ("--where", "nosuch>3"),
        ("--depth", "3..1"),
        ("--fields", "url,nosuch"),
        ("--sort", "nosuch"),
        ("--count-by", "nosuch"),
        ("--outcome", "nosuch"),
    ] {
        let out = fx.run(&[flag, value]);
        let ctx = format!("`{}`: exit {:?}\nstderr: {}", out.line, out.code(), out.stderr);
        assert_eq!(out.code(), Some(2), "{ctx}");
        assert!(out.stderr.contains(&format!("trawl: error: invalid {flag}:")), "{ctx}");
        assert!(out.stdout.is_empty(), "{ctx}\nstdout: {}", out.stdout);
        assert!(!out.stderr.contains("panicked"), "{ctx}");
        // Unknown names come with the list of valid ones.
        if value.contains("nosuch") {
            let valid = if flag == "--outcome" { "too_many_redirects" } else { "fetched_at" };
            assert!(out.stderr.contains(valid), "{ctx}");
        }
    }
    // Malformed numbers and formats are usage errors too.
    for (flag, args) in [
        ("--limit", &["--limit", "abc"][..]),
        ("--offset", &["--offset=-1"][..]),
        ("--format", &["--format", "xml"][..]),
    ] {
        let out = fx.run(args);
        let ctx = format!("`{}`: exit {:?}\nstderr: {}", out.line, out.code(), out.stderr);
        assert_eq!(out.code(), Some(2), "{ctx}");
        assert!(out.stderr.contains(flag), "{ctx}");
        assert!(out.stdout.is_empty(), "{ctx}");
    }
}

/// Several `trawl query` processes reading one finished store at once (a
/// script and a person, a report generator fanning out): every one must
/// answer; none may fail with "in use by another trawl process (a crawl
/// is running)" when no crawl runs.
#[test]
fn concurrent_offline_queries_all_succeed() {
    let fx = fixture();
    // Only this test's own queries run meanwhile.
    let _turn = TURN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut failures = Vec::new();
    for round in 0..5 {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let store = fx.store.clone();
                std::thread::spawn(move || query_args(&store, &["--count-by", "outcome"]))
            })
            .collect();
        for h in handles {
            let out = h.join().unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "round {round}: exit {:?}: {}",
                    out.code(),
                    out.stderr.trim()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", sample("concurrent offline queries that failed", &failures));
}

// ------------------------------------------------------------------- live

/// Escapes a URL for a regex alternation.
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// While a crawl runs, `trawl query` on its (locked) store is answered by
/// the crawl: filtered answers are subsets of the final ones with
/// identical records, and for pages already stored every format gives the
/// same bytes live and offline.
#[test]
fn live_queries_agree_with_the_final_store() {
    let server = SiteServer::start(SiteSpec::with_pages(2000)).expect("site");
    let base = server.base_url();
    let dir = TestDir::new();
    let store = dir.store();
    let crawl = Trawl::crawl(&base, &store)
        .args(["--workers", "1", "--concurrency", "1", "--delay", "0.01"])
        .spawn();
    await_api(&store, &crawl);

    // Live --count-by outcome works and sees pages.
    let mut counted = 0;
    let ok = wait_until(Duration::from_secs(30), || {
        let out = query_args(&store, &["--count-by", "outcome"]);
        if out.status.success() {
            counted = counts_of(&parse_jsonl(&out.stdout), "outcome").iter().map(|g| g.1).sum();
        }
        counted >= 30 || !running(crawl.pid())
    });
    assert!(ok && counted >= 30, "live --count-by outcome never reported 30 pages ({counted})");

    let filter_sets: Vec<Vec<String>> = vec![
        vec![],
        vec!["--url-prefix".into(), format!("{base}page/1")],
        vec!["--where".into(), "title~quiet".into()],
        vec!["--depth".into(), "2..3".into(), "--status".into(), "2xx".into()],
        vec!["--url-glob".into(), "*7*".into(), "--outcome".into(), "ok".into()],
    ];
    let live: Vec<Vec<Value>> =
        filter_sets.iter().map(|f| parse_jsonl(&query_out(&store, f).success().stdout)).collect();
    let live_all = &live[0];
    assert!(live_all.len() >= 30);
    // A fixed set of already-stored pages, selected by a regex, in every
    // format and shape.
    let chosen: Vec<String> = urls_of(live_all).into_iter().step_by(3).take(40).collect();
    let re =
        format!("^({})$", chosen.iter().map(|u| regex_escape(u)).collect::<Vec<_>>().join("|"));
    let shapes: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--format", "csv"],
        vec!["--format", "table"],
        vec!["--fields", "url,title,depth,fields", "--sort=-depth"],
        vec!["--count-by", "depth", "--format", "csv"],
        vec!["--sort", "bytes", "--offset", "3", "--limit", "10", "--format", "table"],
    ];
    let fixed_args = |shape: &Vec<&str>| -> Vec<String> {
        let mut a = vec!["--url-regex".to_owned(), re.clone()];
        a.extend(shape.iter().map(|s| (*s).to_owned()));
        a
    };
    let live_fixed: Vec<String> =
        shapes.iter().map(|sh| query_out(&store, &fixed_args(sh)).success().stdout).collect();
    // All of that was answered by the running crawl.
    assert!(
        running(crawl.pid()),
        "the crawl ended before the live queries were done; slow it down"
    );
    let st = get(&advertised_api(&store).expect("api address"), "/api/status", None).json();
    assert_eq!(st["state"], "running", "{st}");
    assert!(st["queued"].as_u64().unwrap() > 0, "{st}");

    sigint(crawl.pid());
    crawl.wait_within(Duration::from_secs(30)).success();
    assert!(!store.join("trawl-api.json").exists(), "the API advertisement outlived the crawl");

    for (f, live_rows) in filter_sets.iter().zip(&live) {
        let offline = parse_jsonl(&query_out(&store, f).success().stdout);
        let by_url: BTreeMap<&str, &Value> = offline.iter().map(|r| (s(r, "url"), r)).collect();
        assert!(offline.len() >= live_rows.len(), "{f:?}: fewer pages after the crawl");
        for r in live_rows {
            match by_url.get(s(r, "url")) {
                None => {
                    panic!("{f:?}: live answer has {} which the final store does not", s(r, "url"))
                }
                Some(o) => assert_eq!(*o, r, "{f:?}: a stored record changed"),
            }
        }
        // Live answers keep the offline order.
        let live_urls = urls_of(live_rows);
        let offline_order: Vec<String> =
            urls_of(&offline).into_iter().filter(|u| live_urls.contains(u)).collect();
        assert_eq!(live_urls, offline_order, "{f:?}: order");
    }
    for (shape, live_out) in shapes.iter().zip(&live_fixed) {
        let offline = query_out(&store, &fixed_args(shape)).success().stdout;
        assert_eq!(&offline, live_out, "{shape:?}: live and offline answers differ");
        assert!(!offline.is_empty(), "{shape:?}: empty");
    }
}

/// A live query with a bad option fails exactly like an offline one: exit
/// code 2 and `trawl: error: invalid --<option>: ...`.
#[test]
fn live_bad_options_fail_like_offline_ones() {
    let mut quiet = QuietCrawl::start(20, &[]);
    let store = quiet.store();
    let mut wrong = Vec::new();
    for (flag, value) in
        [("--url-regex", "("), ("--status", "abc"), ("--where", "nonsense"), ("--depth", "x")]
    {
        let out = query_args(&store, &[flag, value]);
        let want = format!("trawl: error: invalid {flag}:");
        if out.code() != Some(2) || !out.stderr.starts_with(&want) {
            wrong.push(format!(
                "live `{flag} {value}`: exit {:?}, stderr {:?} (want exit 2 and {want:?})",
                out.code(),
                out.stderr.trim()
            ));
        }
    }
    quiet.finish();
    // Offline, the same options do fail that way.
    let out = query_args(&store, &["--url-regex", "("]);
    assert_eq!(out.code(), Some(2), "offline: {out:?}");
    assert!(wrong.is_empty(), "{}", sample("live bad options", &wrong));
}

/// From the moment a crawl advertises its API until its process exits,
/// `trawl query` on its store always answers: through the API while it
/// serves, from the store once it is released; never "the crawl's API did
/// not answer" or "in use by another trawl process" in between. (A race
/// at the end of the crawl: three short crawls are watched to catch it.)
#[test]
fn live_query_never_fails_while_the_crawl_winds_down() {
    let mut failures = Vec::new();
    let mut answered = 0;
    for round in 0..3 {
        let server = SiteServer::start(SiteSpec::with_pages(150)).expect("site");
        let dir = TestDir::new();
        let store = dir.store();
        let crawl = Trawl::crawl(&server.base_url(), &store)
            .args(["--workers", "1", "--concurrency", "2", "--delay", "0.005"])
            .spawn();
        await_api(&store, &crawl);
        while running(crawl.pid()) {
            let out = query_args(&store, &["--count-by", "outcome"]);
            if out.status.success() {
                answered += 1;
            } else {
                failures.push(format!("round {round}: {}", out.stderr.trim()));
            }
        }
        crawl.wait_within(Duration::from_secs(10)).success();
        // And right after it, offline.
        query_args(&store, &["--count-by", "outcome"]).success();
    }
    assert!(answered > 10, "only {answered} live queries ran; the crawls were too short");
    assert!(
        failures.is_empty(),
        "{}",
        sample("queries that failed while a crawl was up", &failures)
    );
}
