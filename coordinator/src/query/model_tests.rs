//! Every filter, predicate, projection, sort, page and group checked
//! against a model: a generated temp store of varied records (hosts,
//! statuses, outcomes, types, depths, missing values, wide titles, user
//! fields), with every expectation computed from the full jsonl dump of
//! the same store, never hard-coded. In-process and in milliseconds; the
//! e2e tests keep only what crosses process boundaries. (Over 400 lines:
//! one table of cases per option family, all against the one model.)

use super::*;
use crate::store::{PageRecord, Store, StoreOp};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use trawl_common::protocol::{FetchOutcome, FieldValue};

const N: u64 = 240;
const T0: u64 = 1_700_000_000_000;

fn record(i: u64) -> PageRecord {
    let host = ["a.test", "b.test:8080", "c.test"][(i % 3) as usize];
    let scheme = if i.is_multiple_of(7) { "https" } else { "http" };
    let ext = ["", ".html", ".json", ".css", ".html"][(i % 5) as usize];
    let url = format!("{scheme}://{host}/s{}/page/{i}{ext}", i % 4);
    let kind = i % 12;
    let (status, outcome) = match kind {
        0 => (None, FetchOutcome::Timeout { detail: "read".into() }),
        1 => (Some(404), FetchOutcome::HttpError),
        2 => (Some(500), FetchOutcome::HttpError),
        3 => (Some(301), FetchOutcome::Redirect { location: format!("http://{host}/") }),
        4 => (None, FetchOutcome::Disallowed),
        5 => (Some(410), FetchOutcome::HttpError),
        _ if ext == ".json" || ext == ".css" => (Some(200), FetchOutcome::NotHtml),
        _ => (Some(200), FetchOutcome::Ok),
    };
    let mut r = PageRecord::unfetched(url, (i % 5) as u32, T0 + i * 1000 + i % 3, outcome);
    r.status = status;
    r.content_type = status.map(|_| match ext {
        ".json" => "application/json".to_owned(),
        ".css" => "TEXT/CSS".to_owned(),
        _ => "text/html; charset=utf-8".to_owned(),
    });
    r.bytes = if i.is_multiple_of(10) { i % 9 } else { (i * 7919) % 50_000 };
    r.outlinks = (i % 13) as u32;
    r.elapsed_ms = (i % 17) as u32;
    r.worker = Some((i % 2) as u32);
    r.noindex = i.is_multiple_of(23);
    r.canonical = (i.is_multiple_of(11)).then(|| format!("http://{host}/canonical/{i}"));
    if r.outcome == FetchOutcome::Ok && !r.noindex {
        r.title = Some(match i % 3 {
            0 => format!("Quiet page {i}"),
            1 => format!("Editor's pick {i}"),
            _ => format!("日本語のページ {i}"),
        });
        if i.is_multiple_of(2) {
            let posts = (0..i % 4).map(|p| (format!("/p/{i}/{p}"), format!("Post {p}")));
            r.fields.insert("posts".into(), FieldValue::Pairs(posts.collect()));
        }
    }
    r
}

struct Model {
    _dir: tempfile::TempDir,
    store: Store,
    /// The whole store as jsonl, in output order.
    all: Vec<Value>,
}

fn model() -> Model {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let w = store.writer().unwrap();
    for i in 0..N {
        let page =
            StoreOp::Page { record: Box::new(record(i)), retire: None, enqueue: None, body: None };
        w.send(page).unwrap();
    }
    w.finish().unwrap();
    let mut m = Model { _dir: dir, store, all: Vec::new() };
    m.all = m.q(&[]);
    assert_eq!(m.all.len() as u64, N);
    m
}

/// Options from API-style pairs (the same parser as the command line).
fn opts(pairs: &[(&str, &str)]) -> QueryOptions {
    QueryOptions::from_pairs(pairs.iter().map(|(k, v)| (Cow::from(*k), Cow::from(*v))))
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
}

fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

fn n(r: &Value, k: &str) -> Option<u64> {
    r[k].as_u64()
}

fn lookup<'a>(r: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(r, |v, k| v.get(k)).filter(|v| !v.is_null())
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn authority(url: &str) -> &str {
    url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or("")
}

impl Model {
    fn text(&self, pairs: &[(&str, &str)]) -> String {
        let mut out = Vec::new();
        run(&self.store, &opts(pairs), &mut out).unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
        String::from_utf8(out).unwrap()
    }

    fn q(&self, pairs: &[(&str, &str)]) -> Vec<Value> {
        self.text(pairs).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn expect(&self, pred: impl Fn(&Value) -> bool) -> Vec<String> {
        self.all.iter().filter(|r| pred(r)).map(|r| s(r, "url").to_owned()).collect()
    }

    /// `pairs` selects exactly the records satisfying `pred`, in order and
    /// unchanged.
    #[track_caller]
    fn check(&self, pairs: &[(&str, &str)], pred: impl Fn(&Value) -> bool, nontrivial: bool) {
        let want = self.expect(&pred);
        let got = self.q(pairs);
        let urls: Vec<&str> = got.iter().map(|r| s(r, "url")).collect();
        assert_eq!(urls, want, "{pairs:?}");
        let by_url: BTreeMap<&str, &Value> = self.all.iter().map(|r| (s(r, "url"), r)).collect();
        for r in &got {
            assert_eq!(r, by_url[s(r, "url")], "{pairs:?}: record differs from the dump");
        }
        if nontrivial {
            assert!(
                !want.is_empty() && want.len() < self.all.len(),
                "{pairs:?} should select some but not all ({} of {})",
                want.len(),
                self.all.len()
            );
        }
    }
}

fn glob_match(pattern: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    go(&p, &s)
}

#[test]
fn url_prefix_glob_regex_and_host_filters() {
    let m = model();
    m.check(
        &[("url_prefix", "http://a.test/s1/")],
        |r| s(r, "url").starts_with("http://a.test/s1/"),
        true,
    );
    m.check(&[("url_prefix", "http://127.0.0.1:1/")], |_| false, false);
    for g in ["*/page/1?", "*.json", "https://*", "http://*:*/*s2*", "*/s3/page/*.css"] {
        m.check(&[("url_glob", g)], |r| glob_match(g, s(r, "url")), true);
    }
    m.check(
        &[("url_regex", r"/page/1[0-9]$")],
        |r| {
            let tail = s(r, "url").rsplit('/').next().unwrap_or("");
            tail.len() == 2 && tail.starts_with('1')
        },
        true,
    );
    m.check(
        &[("url_regex", r"\.(json|css)$")],
        |r| s(r, "url").ends_with(".json") || s(r, "url").ends_with(".css"),
        true,
    );
    m.check(&[("url_regex", "PAGE")], |_| false, false);
    for h in ["a.test", "b.test:8080", "B.TEST:8080"] {
        let lh = h.to_ascii_lowercase();
        m.check(&[("host", h)], |r| authority(s(r, "url")) == lh, true);
    }
    m.check(&[("host", "b.test")], |_| false, false);
    m.check(
        &[("host", "c.test"), ("url_glob", "*7*"), ("url_regex", "/s[12]/")],
        |r| {
            let u = s(r, "url");
            authority(u) == "c.test"
                && u.contains('7')
                && (u.contains("/s1/") || u.contains("/s2/"))
        },
        true,
    );
    m.check(&[("host", "a.test"), ("url_prefix", "http://b.test:8080/")], |_| false, false);
}

#[test]
fn status_content_type_depth_and_outcome_filters() {
    let m = model();
    let statuses: BTreeSet<u64> = m.all.iter().filter_map(|r| n(r, "status")).collect();
    assert!(statuses.len() >= 5, "{statuses:?}");
    for code in &statuses {
        m.check(&[("status", &code.to_string())], |r| n(r, "status") == Some(*code), true);
    }
    for class in 2..=5u64 {
        m.check(
            &[("status", &format!("{class}xx"))],
            |r| n(r, "status").is_some_and(|c| c / 100 == class),
            true,
        );
    }
    m.check(&[("status", "4XX")], |r| n(r, "status").is_some_and(|c| c / 100 == 4), true);
    m.check(&[("status", "1xx")], |_| false, false);
    for t in
        ["text/html", "text/", "application/json", "TEXT/CSS", "text/html; charset=utf-8", "image/"]
    {
        let lt = t.to_ascii_lowercase();
        m.check(
            &[("content_type", t)],
            |r| r["content_type"].as_str().is_some_and(|c| c.to_ascii_lowercase().starts_with(&lt)),
            false,
        );
    }
    for d in 0..5u64 {
        m.check(&[("depth", &d.to_string())], |r| n(r, "depth") == Some(d), true);
    }
    for (spec, lo, hi) in
        [("1..2", 1, 2), ("2..", 2, u64::MAX), ("..1", 0, 1), ("0..0", 0, 0), ("3..4", 3, 4)]
    {
        m.check(
            &[("depth", spec)],
            |r| n(r, "depth").is_some_and(|d| (lo..=hi).contains(&d)),
            true,
        );
    }
    let outcomes: BTreeSet<String> = m.all.iter().map(|r| s(r, "outcome").to_owned()).collect();
    assert!(outcomes.len() >= 6, "{outcomes:?}");
    for o in &outcomes {
        m.check(&[("outcome", o)], |r| s(r, "outcome") == o, true);
    }
    m.check(&[("outcome", "poison")], |_| false, false);
    m.check(
        &[
            ("status", "4xx"),
            ("content_type", "text/"),
            ("outcome", "http_error"),
            ("depth", "1..3"),
        ],
        |r| {
            n(r, "status").is_some_and(|c| c / 100 == 4)
                && r["content_type"]
                    .as_str()
                    .is_some_and(|c| c.to_ascii_lowercase().starts_with("text/"))
                && s(r, "outcome") == "http_error"
                && n(r, "depth").is_some_and(|d| (1..=3).contains(&d))
        },
        true,
    );
}

/// `fetched_at` of a dump record in ms (the dump prints RFC 3339 with ms).
fn at(r: &Value) -> u64 {
    super::filter::time_ms("since", s(r, "fetched_at")).unwrap()
}

#[test]
fn since_and_until_filter_on_fetched_at_in_any_utc_offset() {
    let m = model();
    let cut = T0 + (N / 2) * 1000 + 1;
    let z = humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(cut),
    )
    .to_string();
    m.check(&[("since", &z)], |r| at(r) >= cut, true);
    m.check(&[("until", &z)], |r| at(r) < cut, true);
    // The same instant written with other UTC offsets.
    let plus1 = chrono::DateTime::from_timestamp_millis(cut as i64)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap())
        .to_rfc3339();
    let minus5 = chrono::DateTime::from_timestamp_millis(cut as i64)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::west_opt(5 * 3600 + 1800).unwrap())
        .to_rfc3339();
    for t in [&plus1, &minus5] {
        assert_eq!(m.text(&[("since", t)]), m.text(&[("since", &z)]), "{t} vs {z}");
        assert_eq!(m.text(&[("until", t)]), m.text(&[("until", &z)]), "{t} vs {z}");
    }
    // Dates are midnight UTC.
    m.check(&[("since", "2023-11-14")], |_| true, false);
    m.check(&[("until", "2023-11-14")], |_| false, false);
    m.check(&[("since", "2999-12-31")], |_| false, false);
    m.check(
        &[("since", "2000-01-01T00:00:00Z"), ("until", "2000-01-02T00:00:00Z")],
        |_| false,
        false,
    );
}

#[test]
fn where_predicates() {
    let m = model();
    let title = |r: &Value| r["title"].as_str().map(str::to_lowercase);
    let num = |r: &Value, k: &str| r[k].as_f64();
    type Pred = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(Vec<&str>, Pred)> = vec![
        (vec!["title~quiet"], Box::new(move |r| title(r).is_some_and(|t| t.contains("quiet")))),
        (vec!["title~QUIET"], Box::new(move |r| title(r).is_some_and(|t| t.contains("quiet")))),
        (vec!["title!~quiet"], Box::new(move |r| !title(r).is_some_and(|t| t.contains("quiet")))),
        (
            vec!["title~^editor's pick"],
            Box::new(move |r| title(r).is_some_and(|t| t.starts_with("editor's pick"))),
        ),
        (vec!["title~日本"], Box::new(move |r| title(r).is_some_and(|t| t.contains("日本")))),
        // Numbers compare as numbers: "44000" > "9" only numerically.
        (vec!["bytes>9"], Box::new(move |r| num(r, "bytes").is_some_and(|b| b > 9.0))),
        (vec!["bytes<=8"], Box::new(move |r| num(r, "bytes").is_some_and(|b| b <= 8.0))),
        (vec!["bytes>=44000"], Box::new(move |r| num(r, "bytes").is_some_and(|b| b >= 44000.0))),
        (vec!["status=404"], Box::new(|r| n(r, "status") == Some(404))),
        (vec!["status != 200"], Box::new(|r| n(r, "status") != Some(200))),
        (
            vec!["status>=400", "status<500"],
            Box::new(|r| n(r, "status").is_some_and(|c| (400..500).contains(&c))),
        ),
        (vec!["outcome!=ok"], Box::new(|r| s(r, "outcome") != "ok")),
        (vec!["noindex=true"], Box::new(|r| r["noindex"] == true)),
        (vec!["fields.posts exists"], Box::new(|r| lookup(r, "fields.posts").is_some())),
        (vec!["fields.posts missing"], Box::new(|r| lookup(r, "fields.posts").is_none())),
        (vec!["title missing"], Box::new(|r| r["title"].is_null())),
        (vec!["detail exists"], Box::new(|r| !r["detail"].is_null())),
        (vec!["canonical exists"], Box::new(|r| !r["canonical"].is_null())),
        (
            vec!["title~quiet", "bytes>20000", "depth=4"],
            Box::new(move |r| {
                title(r).is_some_and(|t| t.contains("quiet"))
                    && num(r, "bytes").is_some_and(|b| b > 20000.0)
                    && n(r, "depth") == Some(4)
            }),
        ),
    ];
    for (wheres, pred) in cases {
        let pairs: Vec<(&str, &str)> = wheres.iter().map(|w| ("where", *w)).collect();
        m.check(&pairs, pred, true);
    }
    m.check(&[("where", "fields.nothing exists")], |_| false, false);
    m.check(&[("where", "elapsed_ms>=0")], |_| true, false);
}

#[test]
fn projection_in_every_format_keeps_the_order_asked() {
    let m = model();
    let cols = ["url", "title", "fields.posts", "status", "fields.nope", "depth"];
    let list = cols.join(",");
    let jsonl = m.text(&[("fields", &list)]);
    for (line, full) in jsonl.lines().zip(&m.all) {
        let row: Value = serde_json::from_str(line).unwrap();
        let positions: Vec<usize> =
            cols.iter().map(|c| line.find(&format!("\"{c}\":")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "order of {line}");
        assert_eq!(row.as_object().unwrap().len(), cols.len());
        for c in cols {
            assert_eq!(row[c], lookup(full, c).cloned().unwrap_or(Value::Null), "{c} of {line}");
        }
    }
    let some = m.q(&[("fields", " url , outcome "), ("outcome", "http_error")]);
    let urls: Vec<&str> = some.iter().map(|r| s(r, "url")).collect();
    assert_eq!(urls, m.expect(|r| s(r, "outcome") == "http_error"));
    // CSV: the columns in order, text values, JSON for arrays, empty for null.
    let csv = m.text(&[("fields", &list), ("format", "csv")]);
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rd.headers().unwrap().iter().collect::<Vec<_>>(), cols);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), m.all.len());
    for (row, full) in rows.iter().zip(&m.all) {
        for (cell, c) in row.iter().zip(cols) {
            match lookup(full, c) {
                None => assert_eq!(cell, "", "{c}"),
                Some(v @ Value::Array(_)) => {
                    assert_eq!(&serde_json::from_str::<Value>(cell).unwrap(), v)
                }
                Some(v) => assert_eq!(cell, text(v), "{c}"),
            }
        }
    }
    // Table: upper-cased names, one line per row, "-" for missing.
    let table = m.text(&[("fields", "url,status,title"), ("format", "table")]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["URL", "STATUS", "TITLE"]);
    assert_eq!(lines.len(), m.all.len() + 1);
    for (line, full) in lines[1..].iter().zip(&m.all) {
        let status = n(full, "status").map_or("-".to_owned(), |c| c.to_string());
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((cells[0], cells[1]), (s(full, "url"), status.as_str()), "{line}");
        assert!(line.ends_with(full["title"].as_str().unwrap_or("-")), "{line}");
    }
}

#[test]
fn sort_ascending_descending_numeric_and_missing_last() {
    let m = model();
    for (spec, field, desc) in [
        ("bytes", "bytes", false),
        ("-bytes", "bytes", true),
        ("bytes:desc", "bytes", true),
        ("bytes:asc", "bytes", false),
        ("-outlinks", "outlinks", true),
        ("elapsed_ms", "elapsed_ms", false),
    ] {
        let rows = m.q(&[("sort", spec), ("fields", &format!("url,{field}"))]);
        assert_eq!(rows.len(), m.all.len(), "--sort {spec}");
        let keys: Vec<f64> = rows.iter().map(|r| r[field].as_f64().unwrap()).collect();
        let mut want = keys.clone();
        want.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if desc {
            want.reverse();
        }
        assert_eq!(keys, want, "--sort {spec}");
        assert_ne!(want.first(), want.last(), "--sort {spec}: a useless check");
    }
    assert_eq!(m.text(&[("sort", "-bytes")]), m.text(&[("sort", "bytes:desc")]));
    // Missing values sort together, after the present ones, either way.
    for spec in ["title", "-title", "status", "-status", "content_type", "fields.posts"] {
        let field = spec.trim_start_matches('-');
        let rows = m.q(&[("sort", spec), ("fields", &format!("url,{field}"))]);
        let nulls: Vec<bool> = rows.iter().map(|r| r[field].is_null()).collect();
        let k = nulls.iter().filter(|&&x| x).count();
        assert!(k > 0 && k < nulls.len(), "--sort {spec}");
        assert!(nulls[nulls.len() - k..].iter().all(|&x| x), "--sort {spec}: nulls not last");
        let present: Vec<&Value> =
            rows.iter().map(|r| &r[field]).filter(|v| !v.is_null()).collect();
        let ordered = present.windows(2).all(|w| {
            let o = match (w[0].as_f64(), w[1].as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b).unwrap(),
                _ => text(w[0]).cmp(&text(w[1])),
            };
            if spec.starts_with('-') { o.is_ge() } else { o.is_le() }
        });
        assert!(ordered, "--sort {spec}");
    }
    // Sort composes with filters: the filtered subset, sorted.
    let rows = m.q(&[("sort", "-depth"), ("where", "title~quiet"), ("fields", "url,depth")]);
    let got: BTreeSet<&str> = rows.iter().map(|r| s(r, "url")).collect();
    let want = m.expect(|r| r["title"].as_str().is_some_and(|t| t.contains("Quiet")));
    assert_eq!(got, want.iter().map(String::as_str).collect());
}

#[test]
fn offset_and_limit_paginate() {
    let m = model();
    for base in [
        vec![],
        vec![("sort", "-bytes")],
        vec![("where", "depth>=2"), ("sort", "url:desc"), ("fields", "url,title")],
    ] {
        let full = m.text(&base);
        let full: Vec<&str> = full.lines().collect();
        assert!(full.len() > 50, "{base:?}");
        // Pages of 1 (the first few only), 7 and 64 rows.
        for (page, max_pages) in [(1usize, 5usize), (7, 100), (64, 100)] {
            let mut joined = Vec::new();
            for k in 0..max_pages {
                let (o, l) = ((k * page).to_string(), page.to_string());
                let chunk = m.text(&[base.as_slice(), &[("offset", &o), ("limit", &l)]].concat());
                let lines: Vec<String> = chunk.lines().map(str::to_owned).collect();
                assert!(lines.len() <= page);
                let last = lines.len() < page;
                joined.extend(lines);
                if last {
                    break;
                }
            }
            assert_eq!(joined.len(), full.len().min(page * max_pages), "{base:?}: pages of {page}");
            assert_eq!(joined, full[..joined.len()], "{base:?}: pages of {page}");
        }
        let past = (full.len() + 5).to_string();
        assert_eq!(m.text(&[base.as_slice(), &[("offset", &past)]].concat()), "");
        assert_eq!(m.text(&[base.as_slice(), &[("limit", "0")]].concat()), "");
    }
}

#[test]
fn count_by_groups_sum_to_the_total_and_keep_their_type() {
    let m = model();
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
        let rows = m.q(&[("count_by", by)]);
        let key = |r: &Value| -> Value {
            match by {
                "host" => Value::from(authority(s(r, "url"))),
                "status_class" => {
                    n(r, "status").map_or(Value::Null, |c| Value::from(format!("{}xx", c / 100)))
                }
                _ => lookup(r, by).cloned().unwrap_or(Value::Null),
            }
        };
        let mut want: BTreeMap<String, (Value, u64)> = BTreeMap::new();
        for r in &m.all {
            let k = key(r);
            want.entry(k.to_string()).or_insert((k, 0)).1 += 1;
        }
        let got: BTreeMap<String, (Value, u64)> = rows
            .iter()
            .map(|r| {
                assert_eq!(r.as_object().unwrap().len(), 2, "{r}");
                (r[by].to_string(), (r[by].clone(), r["count"].as_u64().unwrap()))
            })
            .collect();
        assert_eq!(got, want, "--count-by {by}");
        assert!(
            rows.windows(2).all(|w| w[0]["count"].as_u64() >= w[1]["count"].as_u64()),
            "{by}: largest first"
        );
        assert!(got.len() >= 2, "--count-by {by}: one group only");
    }
    // Numbers stay numbers; no value is null, for status and status_class alike.
    let depth = m.q(&[("count_by", "depth")]);
    assert!(depth.iter().all(|r| r["depth"].is_u64()), "{depth:?}");
    for by in ["status", "status_class"] {
        assert!(m.q(&[("count_by", by)]).iter().any(|r| r[by].is_null()), "{by}");
    }
    // Filters first; limit/offset page through the groups.
    let groups = m.q(&[("count_by", "status")]);
    assert_eq!(
        m.q(&[("count_by", "status"), ("offset", "1"), ("limit", "2")]),
        groups[1..3].to_vec()
    );
    let deep = m.q(&[("count_by", "host"), ("where", "depth>=2")]);
    let total: u64 = deep.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, m.expect(|r| n(r, "depth").is_some_and(|d| d >= 2)).len());
    // csv and table carry the same groups.
    let csv = m.text(&[("count_by", "status_class"), ("format", "csv")]);
    assert!(csv.starts_with("status_class,count\n"), "{csv}");
    assert_eq!(csv.lines().count(), m.q(&[("count_by", "status_class")]).len() + 1);
    let table = m.text(&[("count_by", "outcome"), ("format", "table")]);
    assert_eq!(
        table.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["OUTCOME", "COUNT"]
    );
}
