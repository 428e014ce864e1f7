//! `trawl query` against one crawled store, for what crosses process
//! boundaries: what the crawl stored (every status class and outcome, the
//! extracted `a.post-item-title` pairs against the site model), command-
//! line parsing and exit codes, the three formats end to end, concurrent
//! offline queries and live queries answered by a running crawl. Filters,
//! predicates, projection, sort, pagination and count-by are checked
//! against a model in-process: `coordinator/src/query/model_tests.rs`.
//!
//! The store is built once per test binary run: a 300-page generated site
//! plus a small hand-made site on another port whose pages cover every
//! status class and most outcomes (404/410/500, redirect, bad redirect,
//! non-HTML, binary, too large, truncated body, timeout, robots-disallowed,
//! noindex, canonical, a depth chain).

use crate::harness::*;
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

// ------------------------------------------------------ the command line

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
            counted = parse_jsonl(&out.stdout).iter().filter_map(|g| g["count"].as_u64()).sum();
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
    for (flag, value) in [
        ("--url-regex", "("),
        ("--status", "abc"),
        ("--where", "nonsense"),
        ("--depth", "x"),
        // Issue 14: typos of names and operators.
        ("--where", "title=~x"),
        ("--depth", "3..1"),
        ("--fields", "url,nosuch"),
        ("--count-by", "nosuch"),
    ] {
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
