//! The coordinator's HTTP API over real HTTP on loopback: status, pages
//! (the same answers as `trawl query`, live and offline), one page by URL,
//! errors naming the parameter, adding seeds, metrics in the Prometheus
//! text format, the OpenAPI document, bearer tokens, and the refusal to
//! bind a public address without one.
//!
//! Most tests run against a "quiet" crawl: every page of a small site is
//! stored and one URL on another host hangs, so the crawl keeps serving
//! its API over a store that does not change.

use crate::harness::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

const PAGES: u32 = 60;

#[test]
fn status_and_metrics_describe_the_crawl() {
    let mut q = QuietCrawl::start(PAGES, &[]);
    let st = get(&q.addr, "/api/status", None);
    assert_eq!(st.status, 200);
    assert!(st.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{st:?}");
    let st = st.json();
    assert_eq!(st["pid"], q.pid(), "{st}");
    assert_eq!(st["state"], "running", "{st}");
    assert_eq!(st["pages"], PAGES, "{st}");
    assert_eq!((st["queued"].as_u64(), st["in_flight"].as_u64()), (Some(0), Some(1)), "{st}");
    assert_eq!(st["queued_on_disk"].as_u64(), Some(0), "{st}");
    assert_eq!(st["discovered"], PAGES + 1, "site pages + the hanging URL: {st}");
    assert_eq!(st["target_workers"], 1, "{st}");
    assert_eq!(st["restarts"], 0, "{st}");
    assert_eq!(st["outcomes"], serde_json::json!({ "ok": PAGES }), "{st}");
    assert!(st["elapsed_secs"].as_f64().is_some_and(|e| e > 0.0), "{st}");
    assert!(st["pages_per_sec"].as_f64().is_some_and(|r| r > 0.0), "{st}");
    assert_eq!(st["recent_errors"], serde_json::json!([]), "{st}");
    let workers = st["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 1, "{st}");
    let w = &workers[0];
    let kids = worker_children(q.pid());
    assert_eq!(
        kids.iter().map(|k| k.pid).collect::<Vec<_>>(),
        vec![w["pid"].as_u64().unwrap() as u32],
        "the worker pid in /api/status is the crawl's worker child: {st}"
    );
    assert_eq!(w["pages"], PAGES, "{w}");
    assert_eq!(w["in_flight"], 1, "{w}");
    assert!(w["rss_bytes"].as_u64().is_some_and(|r| r > 1_000_000), "{w}");
    // Bytes: the sum over the stored pages.
    let pages = parse_jsonl(&get(&q.addr, "/api/pages", None).text());
    let bytes: u64 = pages.iter().filter_map(|p| n(p, "bytes")).sum();
    assert_eq!(st["bytes"], bytes, "{st}");

    // /metrics: valid Prometheus text agreeing with /api/status.
    let m = get(&q.addr, "/metrics", None);
    assert_eq!(m.status, 200);
    let ct = m.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain") && ct.contains("version=0.0.4"), "content type {ct:?}");
    let text = m.text();
    let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    check_families(&text, &samples);
    assert_eq!(metric(&samples, "trawl_pages_total"), f64::from(PAGES));
    assert_eq!(metric(&samples, "trawl_queued_urls"), 0.0);
    assert_eq!(metric(&samples, "trawl_queued_on_disk_urls"), 0.0);
    assert_eq!(metric(&samples, "trawl_in_flight"), 1.0);
    assert_eq!(metric(&samples, "trawl_discovered_urls"), f64::from(PAGES + 1));
    assert_eq!(metric(&samples, "trawl_workers"), 1.0);
    assert_eq!(metric(&samples, "trawl_target_workers"), 1.0);
    assert_eq!(metric(&samples, "trawl_bytes_total"), bytes as f64);
    // Speeds are rate()'s job: counters only, and a duration histogram.
    assert!(!text.contains("trawl_pages_per_second"), "{text}");
    assert_eq!(metric(&samples, "trawl_fetch_duration_seconds_count"), f64::from(PAGES));
    let outcomes: Vec<&Sample> =
        samples.iter().filter(|s| s.name == "trawl_outcomes_total").collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].labels.get("outcome").map(String::as_str), Some("ok"));
    assert_eq!(outcomes[0].value, f64::from(PAGES));
    // No pid labels: a restarted worker must not start a new series.
    assert!(!text.contains("pid=\""), "{text}");
    assert!(metric(&samples, "trawl_workers_resident_memory_bytes") > 1e6);

    q.finish();
}

/// Every sample belongs to a family with `# HELP` and `# TYPE` lines
/// before its first sample; counters end in `_total`.
fn check_families(text: &str, samples: &[Sample]) {
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut seen_sample = BTreeSet::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["#", "TYPE", name, kind] => {
                assert!(!seen_sample.contains(*name), "TYPE of {name} after its samples");
                assert!(
                    typed.insert((*name).to_owned(), (*kind).to_owned()).is_none(),
                    "two TYPE lines for {name}"
                );
            }
            ["#", "HELP", name, ..] => {
                helped.insert((*name).to_owned());
            }
            _ if !line.starts_with('#') && !line.is_empty() => {
                let sample = line.split(['{', ' ']).next().unwrap();
                // A histogram's samples belong to the family without the suffix.
                let name = ["_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|suffix| sample.strip_suffix(suffix))
                    .find(|family| typed.get(*family).is_some_and(|k| k == "histogram"))
                    .unwrap_or(sample);
                seen_sample.insert(name.to_owned());
                assert!(typed.contains_key(name), "sample {name} without a TYPE line before it");
                assert!(helped.contains(name), "sample {name} without a HELP line");
            }
            _ => {}
        }
    }
    for (name, kind) in &typed {
        if kind == "counter" {
            assert!(name.ends_with("_total"), "counter {name} should end in _total");
        }
    }
    assert!(samples.len() >= 10, "only {} samples", samples.len());
}

#[test]
fn metrics_follow_a_running_crawl() {
    let live = SlowCrawl::start(1500, "0.02", &[]);
    live.wait_pages(20);
    let SlowCrawl { site: server, dir: _dir, crawl, addr } = live;
    let host = authority(&server.base_url());
    let mut totals = Vec::new();
    for _ in 0..3 {
        let before = get(&addr, "/api/status", None).json();
        let text = get(&addr, "/metrics", None).text();
        let after = get(&addr, "/api/status", None).json();
        let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        check_families(&text, &samples);
        let total = metric(&samples, "trawl_pages_total");
        assert!(
            before["pages"].as_f64().unwrap() <= total && total <= after["pages"].as_f64().unwrap(),
            "trawl_pages_total {total} outside /api/status pages {} .. {}",
            before["pages"],
            after["pages"]
        );
        let outcome_sum: f64 =
            samples.iter().filter(|s| s.name == "trawl_outcomes_total").map(|s| s.value).sum();
        assert_eq!(outcome_sum, total, "outcomes sum vs pages in one scrape");
        let queued = metric(&samples, "trawl_queued_urls");
        assert!(queued > 0.0, "a 1500-page crawl at 50 pages/s has a queue");
        let depth: Vec<&Sample> =
            samples.iter().filter(|s| s.name == "trawl_host_queue_depth").collect();
        assert_eq!(depth.len(), 1, "one host: {depth:?}");
        assert_eq!(depth[0].labels.get("host"), Some(&host), "{depth:?}");
        assert!(depth[0].value > 0.0 && depth[0].value <= queued, "{depth:?} vs queued {queued}");
        assert_eq!(metric(&samples, "trawl_workers"), 1.0);
        totals.push(total);
        std::thread::sleep(Duration::from_millis(1000));
    }
    assert!(totals.windows(2).all(|w| w[0] < w[1]), "trawl_pages_total did not grow: {totals:?}");
    sigint(crawl.pid());
    crawl.wait_within(Duration::from_secs(30)).success();
}

/// Option sets as API parameters (all restricted to the site, so the
/// hanging URL stored at the end does not matter).
fn option_sets(base: &str) -> Vec<Vec<(&'static str, String)>> {
    let b = base.to_owned();
    vec![
        vec![("url_prefix", format!("{b}page/1"))],
        vec![
            ("host", authority(&b)),
            ("where", "title~quiet".into()),
            ("fields", "url,title,depth".into()),
            ("sort", "-depth".into()),
        ],
        vec![("url_glob", "*/page/?".into()), ("format", "csv".into())],
        vec![("url_prefix", b.clone()), ("count_by", "depth".into()), ("format", "table".into())],
        vec![
            ("url_prefix", b.clone()),
            ("sort", "bytes".into()),
            ("limit", "5".into()),
            ("offset", "3".into()),
        ],
        vec![
            ("url_prefix", b.clone()),
            ("where", "bytes>44000".into()),
            ("where", "title~and".into()),
        ],
        vec![
            ("url_prefix", b.clone()),
            ("status", "2xx".into()),
            ("depth", "1..2".into()),
            ("outcome", "ok".into()),
            ("content_type", "text/html".into()),
            ("since", "2000-01-01".into()),
            ("until", "2999-01-01T00:00:00Z".into()),
            ("url_regex", "/page/[0-9]+$".into()),
            ("fields", "url,status,fields".into()),
            ("format", "csv".into()),
        ],
        vec![("url_prefix", b), ("count_by", "status_class".into())],
    ]
}

#[test]
fn pages_answer_like_trawl_query_live_and_offline() {
    let mut q = QuietCrawl::start(PAGES, &[]);
    let base = q.site.base_url();
    let store = q.store();
    let mut answers = Vec::new();
    for set in option_sets(&base) {
        let pairs: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = get(&q.addr, &format!("/api/pages?{}", query_string(&pairs)), None);
        assert_eq!(resp.status, 200, "{pairs:?}: {}", resp.text());
        let format = pairs.iter().find(|p| p.0 == "format").map_or("jsonl", |p| p.1);
        let want_ct = match format {
            "csv" => "text/csv",
            "table" => "text/plain",
            _ => "application/x-ndjson",
        };
        let ct = resp.header("content-type").unwrap_or("");
        assert!(ct.starts_with(want_ct), "{pairs:?}: content type {ct:?}, want {want_ct}");
        let body = resp.text();
        assert!(!body.trim().is_empty(), "{pairs:?}: empty answer");
        // `trawl query` on the locked store is answered by the crawl.
        let cli = query_out(&store, &pairs_to_flags(&pairs)).success().stdout;
        assert_eq!(cli, body, "{pairs:?}: trawl query (live) vs GET /api/pages");
        answers.push((
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>(),
            body,
        ));
    }
    // The whole default listing is every stored page.
    let all = parse_jsonl(&get(&q.addr, "/api/pages", None).text());
    assert_eq!(all.len(), PAGES as usize);
    q.finish();
    // Offline, the same options give the same bytes.
    for (pairs, body) in answers {
        let pairs: Vec<(&str, &str)> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let offline = query_out(&store, &pairs_to_flags(&pairs)).success().stdout;
        assert_eq!(
            offline, body,
            "{pairs:?}: offline trawl query vs the API's answer during the crawl"
        );
    }
}

#[test]
fn one_page_by_percent_encoded_url() {
    let mut q = QuietCrawl::start(PAGES, &[]);
    let base = q.site.base_url();
    let all = parse_jsonl(&get(&q.addr, "/api/pages", None).text());
    let by_url = by_url(&all);
    for i in [0, 1, 7, 42, PAGES - 1] {
        let url = join_url(&base, &q.site.spec().path(i));
        let r = get(&q.addr, &format!("/api/pages/{}", percent_encode(&url)), None);
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")));
        assert_eq!(r.json(), by_url[&url], "{url}");
    }
    // Not stored: a URL never seen, another host, and the in-flight one.
    for url in [format!("{base}page/99999"), "http://127.0.0.1:1/".to_owned(), q.hang_url.clone()] {
        let r = get(&q.addr, &format!("/api/pages/{}", percent_encode(&url)), None);
        assert_eq!(r.status, 404, "{url}: {}", r.text());
        assert!(r.text().contains(&url), "the 404 names the URL: {}", r.text());
    }
    q.finish();
}

#[test]
fn bad_requests_are_400_naming_the_problem() {
    let mut q = QuietCrawl::start(20, &[]);
    let base = q.site.base_url();
    for (query, param) in [
        ("url_regex=(", "url_regex"),
        ("url_glob=%5Ba", "url_glob"),
        ("status=abc", "status"),
        ("status=6xx", "status"),
        ("depth=x", "depth"),
        ("outcome=great", "outcome"),
        ("since=soon", "since"),
        ("until=2026-13-45", "until"),
        ("where=nonsense", "where"),
        ("where=title~(", "where"),
        ("fields=,", "fields"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("format=xml", "format"),
        ("colour=red", "colour"),
        ("url-prefix=http", "url-prefix"),
        ("limit=5&bogus=1", "bogus"),
        // Issue 14: typos name the parameter and list what is valid.
        ("where=title%3D~x", "where"),
        ("where=nosuch%3E3", "where"),
        ("depth=3..1", "depth"),
        ("fields=url,nosuch", "fields"),
        ("sort=nosuch", "sort"),
        ("count_by=nosuch", "count_by"),
        ("outcome=nosuch", "outcome"),
        // Empty values are refused (the schema says minLength 1).
        ("host=", "host"),
        ("where=", "where"),
    ] {
        let r = get(&q.addr, &format!("/api/pages?{query}"), None);
        assert_eq!(r.status, 400, "/api/pages?{query}: {}", r.text());
        assert!(
            r.header("content-type").is_some_and(|c| c.starts_with("application/json")),
            "{r:?}"
        );
        let body = r.json();
        assert_eq!(body["param"], param, "/api/pages?{query}: {body}");
        let msg = body["error"].as_str().unwrap_or_default();
        assert!(msg.contains(param), "/api/pages?{query}: {msg:?} should name {param}");
        assert!(!msg.contains("--"), "/api/pages?{query}: a CLI flag in {msg:?}");
    }
    let r = get(&q.addr, "/api/pages?where=nosuch%3E3", None).json();
    assert!(r["error"].as_str().unwrap().contains("fetched_at"), "lists the fields: {r}");
    // POST /api/workers: malformed, wrong type, out of range, unknown key.
    for body in [
        "not json",
        "",
        "{}",
        "[]",
        r#"{"workers":"two"}"#,
        r#"{"workers":-1}"#,
        r#"{"workers":0}"#,
        r#"{"workers":100000}"#,
        r#"{"workers":1,"extra":true}"#,
    ] {
        let r = post_json(&q.addr, "/api/workers", body, None);
        assert_eq!(r.status, 400, "POST /api/workers {body:?}: {}", r.text());
        assert!(!r.text().trim().is_empty(), "POST /api/workers {body:?}: empty message");
    }
    let r = http(&q.addr, "POST", "/api/workers", &[], Some(br#"{"workers":1}"#));
    assert!(r.status == 400 || r.status == 415, "no content type: {} {}", r.status, r.text());
    // POST /api/seeds: off-scope, not http, unparsable, wrong shape.
    let port = q.site.addr().port();
    for (body, word) in [
        (format!(r#"{{"urls":["http://localhost:{port}/"]}}"#), "scope"),
        (r#"{"urls":["http://127.0.0.1:1/"]}"#.to_owned(), "scope"),
        (format!(r#"{{"urls":["{base}page/3","http://example.invalid/"]}}"#), "scope"),
        (r#"{"urls":["ftp://127.0.0.1/"]}"#.to_owned(), ""),
        (r#"{"urls":["http://[bad"]}"#.to_owned(), ""),
        (r#"{"urls":"http://127.0.0.1/"}"#.to_owned(), ""),
        (r#"{"url":["http://127.0.0.1/"]}"#.to_owned(), ""),
    ] {
        let r = post_json(&q.addr, "/api/seeds", &body, None);
        assert_eq!(r.status, 400, "POST /api/seeds {body}: {}", r.text());
        assert!(
            r.text().contains(word) && !r.text().trim().is_empty(),
            "POST /api/seeds {body}: {}",
            r.text()
        );
    }
    // Nothing of a rejected batch was added.
    let st = get(&q.addr, "/api/status", None).json();
    assert_eq!(st["discovered"], 21, "{st}");
    // Unknown routes and methods.
    assert_eq!(get(&q.addr, "/api/nothing", None).status, 404);
    assert_eq!(get(&q.addr, "/api/workers", None).status, 405);
    assert_eq!(http(&q.addr, "DELETE", "/api/pages", &[], None).status, 405);
    q.finish();
}

#[test]
fn seeds_and_scaling_through_the_api() {
    let mut q = QuietCrawl::start(20, &[]);
    let base = q.site.base_url();
    let new = format!("{base}page/99999");
    let r =
        post_json(&q.addr, "/api/seeds", &format!(r#"{{"urls":["{new}","{base}page/3"]}}"#), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({ "added": 1 }), "page/3 is known, page/99999 new");
    // The new seed is fetched and stored (a 404 at depth 0).
    let mut rec = Value::Null;
    let stored = wait_until(Duration::from_secs(20), || {
        let r = get(&q.addr, &format!("/api/pages/{}", percent_encode(&new)), None);
        if r.status == 200 {
            rec = r.json();
        }
        r.status == 200
    });
    assert!(stored, "the added seed {new} was not stored");
    assert_eq!(
        (n(&rec, "status"), s(&rec, "outcome"), n(&rec, "depth")),
        (Some(404), "http_error", Some(0)),
        "{rec}"
    );
    // Scaling: target follows.
    let r = post_json(&q.addr, "/api/workers", r#"{"workers":2}"#, None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({ "target_workers": 2 }));
    let st = get(&q.addr, "/api/status", None).json();
    assert_eq!(st["target_workers"], 2, "{st}");
    q.finish();
}

#[test]
fn openapi_document_lists_the_routes() {
    let mut q = QuietCrawl::start(5, &[]);
    let r = get(&q.addr, "/api/openapi.json", None);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    let doc = r.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/status",
        "/api/pages",
        "/api/pages/{url}",
        "/api/seeds",
        "/api/workers",
        "/metrics",
        "/",
    ] {
        assert!(paths.contains_key(p), "openapi.json does not list {p}");
    }
    assert!(doc["paths"]["/api/pages"]["get"]["parameters"].is_array());
    q.finish();
}

/// `/api/pages` takes the same options as `trawl query`; its OpenAPI
/// description must list all of them (clients are generated from it).
#[test]
fn openapi_documents_every_pages_parameter() {
    let mut q = QuietCrawl::start(5, &[]);
    let doc = get(&q.addr, "/api/openapi.json", None).json();
    let documented: BTreeSet<String> = doc["paths"]["/api/pages"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    // Every documented parameter is accepted...
    for p in &documented {
        let r = get(&q.addr, &format!("/api/pages?{p}=1"), None);
        assert!(!r.text().contains("unknown parameter"), "documented {p} is unknown to the server");
    }
    let pages = &doc["paths"]["/api/pages"]["get"]["parameters"];
    for p in pages.as_array().unwrap() {
        let schema =
            if p["schema"]["type"] == "array" { &p["schema"]["items"] } else { &p["schema"] };
        if schema["type"] == "string" && schema["enum"].is_null() {
            assert_eq!(schema["minLength"], 1, "{p}: the server refuses empty values");
        }
    }
    // ...and every accepted one is documented: an unknown name is refused
    // with the list of the names the server takes.
    let r = get(&q.addr, "/api/pages?nosuch=1", None).json();
    q.finish();
    let msg = r["error"].as_str().expect("error message");
    let list = msg.rsplit_once("expected one of ").expect("a list of names").1;
    let accepted: BTreeSet<String> = list.split(", ").map(str::to_owned).collect();
    assert_eq!(accepted.len(), 20, "the server accepts these: {accepted:?}");
    let missing: Vec<&String> = accepted.difference(&documented).collect();
    assert!(missing.is_empty(), "/api/pages parameters missing from openapi.json: {missing:?}");
}

#[test]
fn token_guards_the_api_but_not_the_dashboard() {
    let token = "s3cret-token";
    let mut q = QuietCrawl::start(10, &["--api-token", token]);
    let url = percent_encode(&q.site.base_url());
    let gets = [
        "/api/status",
        "/api/pages",
        "/api/pages?count_by=outcome",
        &format!("/api/pages/{url}"),
        "/metrics",
    ];
    for path in gets {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some(token),
            Some("bearer s3cret-token-x"),
            Some("Basic czNjcmV0"),
        ] {
            let headers: Vec<(&str, &str)> =
                auth.map(|a| vec![("Authorization", a)]).unwrap_or_default();
            let r = http(&q.addr, "GET", path, &headers, None);
            assert_eq!(r.status, 401, "GET {path} with Authorization {auth:?}: {}", r.text());
        }
        let r = get(&q.addr, path, Some(token));
        assert_eq!(r.status, 200, "GET {path} with the bearer token: {}", r.text());
    }
    for (path, body) in [("/api/workers", r#"{"workers":1}"#), ("/api/seeds", r#"{"urls":[]}"#)] {
        assert_eq!(post_json(&q.addr, path, body, None).status, 401, "POST {path} without token");
        assert_eq!(
            post_json(&q.addr, path, body, Some(token)).status,
            200,
            "POST {path} with token"
        );
    }
    // The dashboard page and the API description are public.
    assert_eq!(get(&q.addr, "/", None).status, 200);
    assert_eq!(get(&q.addr, "/api/openapi.json", None).status, 200);
    // trawl query / status on the locked store need the token too.
    let store = q.store();
    let out = query_args(&store, &["--count-by", "outcome"]);
    assert!(!out.status.success(), "live query without the token succeeded: {out:?}");
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    let with = query_args(&store, &["--count-by", "outcome", "--api-token", token]).success();
    assert_eq!(with.stdout, get(&q.addr, "/api/pages?count_by=outcome", Some(token)).text());
    let env = Trawl::new("query")
        .arg("--store")
        .arg(&store)
        .args(["--count-by", "outcome"])
        .env("TRAWL_API_TOKEN", token)
        .run_within(Duration::from_secs(30))
        .success();
    assert_eq!(env.stdout, with.stdout);
    q.finish();
}

#[test]
fn public_api_address_needs_a_token_before_anything_starts() {
    let server = SiteServer::start(SiteSpec::with_pages(10)).expect("site");
    for (args, what) in [
        (vec!["--api", "0.0.0.0:0"], "a public address without a token"),
        (vec!["--api", "0.0.0.0:0", "--api-token", ""], "a public address with an empty token"),
        (vec!["--api", "nonsense"], "not an address"),
        (vec!["--api", "127.0.0.1:70000"], "a port out of range"),
    ] {
        let dir = TestDir::new();
        let store = dir.store();
        let out = Trawl::crawl(&server.base_url(), &store)
            .args(&args)
            .run_within(Duration::from_secs(30));
        let ctx = format!("{what}: `{}`: exit {:?}\n{}", out.line, out.code(), out.stderr);
        assert_eq!(out.code(), Some(2), "{ctx}");
        assert!(out.stderr.contains("invalid --api:"), "{ctx}");
        assert!(!store.exists(), "{ctx}: the store was created");
        assert!(out.elapsed < Duration::from_secs(5), "{ctx}: took {:?}", out.elapsed);
    }
    assert_eq!(
        server.page_hits() + server.unknown_hits() + server.robots_hits(),
        0,
        "a request reached the site"
    );
}

/// Starts a crawl of `pages` pages slow enough (about 1 s) to connect to
/// its API, and a client that sends half a request head and then stays
/// silent (a stuck or slow client, a half-open connection).
fn crawl_with_a_stuck_api_client(
    pages: u32,
) -> (SiteServer, TestDir, Running, std::net::TcpStream) {
    use std::io::Write as _;
    let server = SiteServer::start(SiteSpec::with_pages(pages)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let crawl = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "1", "--concurrency", "2", "--delay", "0.01", "--json"])
        .spawn();
    let addr = await_api(&store, &crawl);
    let mut stuck = std::net::TcpStream::connect(&addr).expect("connect to the API");
    stuck.write_all(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    assert!(running(crawl.pid()), "the crawl ended before the client connected; make it slower");
    (server, dir, crawl, stuck)
}

/// A crawl that has finished its work exits, whatever its API clients do:
/// one that sent half a request and went quiet must not keep the
/// coordinator alive (the store locked, the summary never printed).
#[test]
fn crawl_exits_while_an_api_client_is_stuck() {
    let (server, _dir, crawl, stuck) = crawl_with_a_stuck_api_client(100);
    let pid = crawl.pid();
    let done = wait_until(Duration::from_secs(20), || server.page_hits() >= 100);
    assert!(done, "the crawl did not fetch the site");
    let exited = wait_until(Duration::from_secs(8), || !running(pid));
    let summary_printed = !running(pid);
    drop(stuck);
    if !exited {
        // Closing the stuck connection lets it go: the wait was on it.
        let freed = wait_until(Duration::from_secs(10), || !running(pid));
        panic!(
            "all 100 pages were fetched but the crawl had not exited 8 s later while an API \
             client held a half-sent request open (it {} once that connection was closed)",
            if freed { "exited" } else { "did not exit even" }
        );
    }
    let out = crawl.wait_within(Duration::from_secs(10)).success();
    assert!(summary_printed && out.summary()["pages"] == 100, "{}", out.stdout);
}

/// "A second SIGINT stops at once", even with a stuck API client.
#[test]
fn second_sigint_stops_a_crawl_with_a_stuck_api_client() {
    let (_server, _dir, crawl, stuck) = crawl_with_a_stuck_api_client(2000);
    let pid = crawl.pid();
    sigint(pid);
    std::thread::sleep(Duration::from_millis(500));
    sigint(pid);
    let stopped = wait_until(Duration::from_secs(6), || !running(pid));
    drop(stuck);
    assert!(
        stopped,
        "the crawl was still running 6 s after a second SIGINT (an API client was stuck)"
    );
    let out = crawl.wait_within(Duration::from_secs(10));
    assert!(out.code().is_some(), "exit: {:?}", out.status);
}
