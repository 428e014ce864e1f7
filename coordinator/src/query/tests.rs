//! Unit tests of the query module over real temp stores.

use super::*;
use crate::store::{PageRecord, Store};
use serde_json::Value;
use trawl_common::protocol::FetchOutcome;
use trawl_common::protocol::FieldValue;

fn store_with(records: &[PageRecord]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let w = s.writer().unwrap();
    for r in records {
        w.send(crate::store::StoreOp::Page {
            record: Box::new(r.clone()),
            retire: None,
            enqueue: None,
            body: None,
        })
        .unwrap();
    }
    w.finish().unwrap();
    (dir, s)
}

fn rec(url: &str, status: u16) -> PageRecord {
    PageRecord {
        status: Some(status),
        depth: 0,
        title: Some(format!("T {url}")),
        bytes: 1,
        fetched_at_ms: 0,
        elapsed_ms: 1,
        outlinks: 0,
        outcome: if status == 200 { FetchOutcome::Ok } else { FetchOutcome::HttpError },
        worker: Some(0),
        ..crate::store::tests::rec(url)
    }
}

fn query(s: &Store, opts: QueryOptions) -> String {
    let mut out = Vec::new();
    run(s, &opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn filters_and_formats() {
    let (_d, s) =
        store_with(&[rec("http://a/1", 200), rec("http://a/2", 404), rec("http://b/1", 200)]);
    let all = query(&s, QueryOptions::default());
    assert_eq!(all.lines().count(), 3);
    let v: serde_json::Value = serde_json::from_str(all.lines().next().unwrap()).unwrap();
    for key in ["url", "status", "content_type", "depth", "title", "bytes", "outlinks", "outcome"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["fetched_at"], "1970-01-01T00:00:00.000Z");

    let a = query(&s, QueryOptions { url_prefix: Some("http://a/".into()), ..Default::default() });
    assert_eq!(a.lines().count(), 2);
    let ok = query(&s, QueryOptions { status: Some("404".into()), ..Default::default() });
    assert!(ok.contains("http://a/2") && ok.lines().count() == 1);
    let one = query(&s, QueryOptions { limit: Some(1), ..Default::default() });
    assert_eq!(one.lines().count(), 1);

    let csv = query(&s, QueryOptions { format: Format::Csv, ..Default::default() });
    assert!(csv.starts_with("url,status,content_type,depth,title"));
    assert_eq!(csv.lines().count(), 4);

    let table = query(&s, QueryOptions { format: Format::Table, ..Default::default() });
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("URL"));
    let col = lines[0].find("STATUS").unwrap();
    assert_eq!(&lines[1][col..col + 3], "200");
}

fn rec_at(url: &str, status: u16, depth: u32, bytes: u64, title: &str) -> PageRecord {
    PageRecord { depth, bytes, title: Some(title.into()), ..rec(url, status) }
}

fn sample() -> (tempfile::TempDir, Store) {
    store_with(&[
        rec_at("http://a.test/1", 200, 0, 300, "Rust async"),
        rec_at("http://a.test/2.html", 404, 1, 100, "Missing"),
        rec_at("http://b.test:81/x.html", 200, 1, 200, "Learning rust"),
        rec_at("https://b.test:81/y", 500, 2, 50, "Oops"),
    ])
}

fn urls(s: &Store, opts: QueryOptions) -> Vec<String> {
    query(s, QueryOptions { fields: Some("url".into()), ..opts })
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["url"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_filter() {
    let (_d, s) = sample();
    let d = QueryOptions::default;
    assert_eq!(
        urls(&s, QueryOptions { url_glob: Some("*.html".into()), ..d() }),
        ["http://a.test/2.html", "http://b.test:81/x.html"]
    );
    assert_eq!(
        urls(&s, QueryOptions { url_regex: Some("/[12]".into()), ..d() }),
        ["http://a.test/1", "http://a.test/2.html"]
    );
    assert_eq!(
        urls(&s, QueryOptions { host: Some("b.test:81".into()), ..d() }),
        ["http://b.test:81/x.html", "https://b.test:81/y"]
    );
    assert_eq!(
        urls(&s, QueryOptions { status: Some("5xx".into()), ..d() }),
        ["https://b.test:81/y"]
    );
    assert_eq!(urls(&s, QueryOptions { outcome: Some("http_error".into()), ..d() }).len(), 2);
    assert_eq!(urls(&s, QueryOptions { depth: Some("1..2".into()), ..d() }).len(), 3);
    assert_eq!(urls(&s, QueryOptions { content_type: Some("text/".into()), ..d() }).len(), 4);
    assert_eq!(
        urls(&s, QueryOptions { since: Some("2000-01-01".into()), ..d() }).len(),
        0,
        "fetched_at is 1970"
    );
    assert_eq!(urls(&s, QueryOptions { until: Some("2000-01-01".into()), ..d() }).len(), 4);
    assert_eq!(
        urls(&s, QueryOptions { wheres: vec!["title~rust".into(), "bytes>=200".into()], ..d() }),
        ["http://a.test/1", "http://b.test:81/x.html"]
    );
    assert_eq!(
        urls(&s, QueryOptions { wheres: vec!["fields.posts exists".into()], ..d() }).len(),
        0
    );
}

#[test]
fn projection_sort_offset_and_count() {
    let (_d, s) = sample();
    let d = QueryOptions::default;
    let sorted = urls(&s, QueryOptions { sort: Some("-bytes".into()), limit: Some(2), ..d() });
    assert_eq!(sorted, ["http://a.test/1", "http://b.test:81/x.html"]);
    let page2 = urls(
        &s,
        QueryOptions { sort: Some("bytes".into()), offset: Some(1), limit: Some(1), ..d() },
    );
    assert_eq!(page2, ["http://a.test/2.html"], "ascending bytes: y(50) is skipped");
    let proj = query(&s, QueryOptions { fields: Some("url,title".into()), limit: Some(1), ..d() });
    let v: Value = serde_json::from_str(proj.trim()).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 2);
    let csv =
        query(&s, QueryOptions { fields: Some("url,status".into()), format: Format::Csv, ..d() });
    assert!(csv.starts_with("url,status\n"));
    let counts = query(&s, QueryOptions { count_by: Some("host".into()), ..d() });
    let rows: Vec<Value> = counts.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["count"], 2);
    let classes = query(
        &s,
        QueryOptions { count_by: Some("status_class".into()), format: Format::Table, ..d() },
    );
    assert!(classes.lines().next().unwrap().starts_with("STATUS_CLASS"));
    assert!(classes.contains("2xx"));
}

#[test]
fn bad_options_name_the_parameter() {
    let (_d, s) = sample();
    let d = QueryOptions::default;
    for (opts, param) in [
        (QueryOptions { url_regex: Some("(".into()), ..d() }, "url_regex"),
        (QueryOptions { status: Some("abc".into()), ..d() }, "status"),
        (QueryOptions { outcome: Some("great".into()), ..d() }, "outcome"),
        (QueryOptions { wheres: vec!["nonsense".into()], ..d() }, "where"),
        (QueryOptions { since: Some("soon".into()), ..d() }, "since"),
    ] {
        let err = run(&s, &opts, &mut Vec::new()).unwrap_err();
        assert!(matches!(&err, QueryError::BadParam { param: p, .. } if p == param), "{err}");
    }
}

#[test]
fn pairs_round_trip() {
    let o = QueryOptions {
        host: Some("h".into()),
        wheres: vec!["a=1".into(), "b~x".into()],
        limit: Some(3),
        format: Format::Csv,
        ..Default::default()
    };
    let pairs = o.to_pairs();
    let back = QueryOptions::from_pairs(pairs.iter().map(|(k, v)| {
        (std::borrow::Cow::Borrowed(k.as_str()), std::borrow::Cow::Borrowed(v.as_str()))
    }))
    .unwrap();
    assert_eq!(back.to_pairs(), pairs);
    let err = QueryOptions::from_pairs([("nope".into(), "1".into())]).unwrap_err();
    assert!(err.to_string().contains("nope"));
}

#[test]
fn fields_and_new_columns() {
    let mut r = rec("http://a/1", 200);
    r.attempts = 3;
    r.canonical = Some("http://a/c".into());
    r.fields.insert("title".into(), FieldValue::One(Some("T".into())));
    r.fields.insert("none".into(), FieldValue::One(None));
    r.fields.insert("tags".into(), FieldValue::Many(vec!["x".into(), "y".into()]));
    r.fields.insert("first".into(), FieldValue::Pair(Some(("h".into(), "t".into()))));
    r.fields.insert("posts".into(), FieldValue::Pairs(vec![("/p".into(), "P \"q\"".into())]));
    let (_d, s) = store_with(&[r]);
    let line = query(&s, QueryOptions::default());
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["attempts"], 3);
    assert_eq!(v["canonical"], "http://a/c");
    assert_eq!(v["noindex"], false);
    assert_eq!(
        v["fields"],
        serde_json::json!({
            "title": "T", "none": null, "tags": ["x", "y"],
            "first": ["h", "t"], "posts": [["/p", "P \"q\""]]
        })
    );

    let csv = query(&s, QueryOptions { format: Format::Csv, ..Default::default() });
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, COLUMNS);
    let row = rd.records().next().unwrap().unwrap();
    let fields: serde_json::Value = serde_json::from_str(&row[17]).unwrap();
    assert_eq!(fields, v["fields"]);

    let table = query(&s, QueryOptions { format: Format::Table, ..Default::default() });
    assert!(!table.contains("posts"));

    let posts = query(
        &s,
        QueryOptions { wheres: vec!["fields.posts exists".into()], ..Default::default() },
    );
    assert_eq!(posts.lines().count(), 1, "--where reaches fields");
}

#[test]
fn empty_csv_still_has_header() {
    let (_d, s) = store_with(&[]);
    let csv = query(&s, QueryOptions { format: Format::Csv, ..Default::default() });
    assert_eq!(csv.trim(), COLUMNS.join(","));
}

/// Issue 14: typos are errors naming the parameter (API name) and listing
/// what is valid; `fields.*` stays open-ended.
#[test]
fn typos_are_errors_listing_the_valid_names() {
    let (_d, s) = sample();
    let d = QueryOptions::default;
    for (opts, param, lists) in [
        (QueryOptions { wheres: vec!["title=~x".into()], ..d() }, "where", "!~"),
        (QueryOptions { wheres: vec!["nosuch>3".into()], ..d() }, "where", "fetched_at"),
        (QueryOptions { depth: Some("3..1".into()), ..d() }, "depth", "LO"),
        (QueryOptions { fields: Some("url,nosuch".into()), ..d() }, "fields", "title"),
        (QueryOptions { sort: Some("-nosuch".into()), ..d() }, "sort", "bytes"),
        (QueryOptions { count_by: Some("nosuch".into()), ..d() }, "count_by", "status_class"),
        (QueryOptions { outcome: Some("nosuch".into()), ..d() }, "outcome", "redirect_loop"),
    ] {
        let err = run(&s, &opts, &mut Vec::new()).unwrap_err();
        let QueryError::BadParam { param: p, message } = &err else { panic!("{err}") };
        assert_eq!(p, param, "{err}");
        assert!(message.contains(lists), "{param}: {message:?} does not list {lists}");
        assert_eq!(err.flag().unwrap(), format!("--{}", param.replace('_', "-")));
        assert!(err.cli_message().starts_with(&format!("invalid --{}:", param.replace('_', "-"))));
    }
    for ok in [
        QueryOptions { fields: Some("url,fields.anything".into()), ..d() },
        QueryOptions { sort: Some("fields.x:desc".into()), ..d() },
        QueryOptions { count_by: Some("fields.x".into()), ..d() },
        QueryOptions { wheres: vec!["fields.x missing".into()], ..d() },
    ] {
        run(&s, &ok, &mut Vec::new()).unwrap();
    }
}

/// API parameters are parsed by the CLI's own definition; errors name the
/// parameter, not the flag.
#[test]
fn api_parameter_errors_name_the_parameter() {
    use std::borrow::Cow;
    for (k, v) in [("limit", "abc"), ("offset", "-1"), ("format", "xml"), ("host", "")] {
        let err = QueryOptions::from_pairs([(Cow::from(k), Cow::from(v))]).unwrap_err();
        let QueryError::BadParam { param, message } = &err else { panic!("{err}") };
        assert_eq!(param, k, "{err}");
        assert!(!message.contains("--"), "{k}={v}: {message}");
    }
    let err = QueryOptions::from_pairs([(Cow::from("format"), Cow::from("xml"))]).unwrap_err();
    assert!(err.to_string().contains("jsonl, csv, table"), "{err}");
    let o = QueryOptions::from_pairs([
        (Cow::from("where"), Cow::from("a>1")),
        (Cow::from("where"), Cow::from("b~x")),
        (Cow::from("sort"), Cow::from("-bytes")),
    ])
    .unwrap();
    assert_eq!(o.wheres, ["a>1", "b~x"]);
    assert_eq!(o.sort.as_deref(), Some("-bytes"));
}

/// Issue 14: `--fields` keeps the order asked, in every format, streaming
/// or sorted; `--count-by depth` keys are numbers.
#[test]
fn fields_keep_their_order_and_counts_keep_their_type() {
    let mut r = rec_at("http://a.test/p", 200, 2, 10, "T");
    r.fields.insert("posts".into(), FieldValue::Pairs(vec![("/a".into(), "A".into())]));
    let (_d, s) = store_with(&[r, rec_at("http://a.test/q", 200, 1, 20, "U")]);
    let d = QueryOptions::default;
    for sort in [None, Some("-bytes".to_owned())] {
        let fields = Some("url,fields.posts,title,bytes".into());
        let jsonl = query(&s, QueryOptions { fields: fields.clone(), sort: sort.clone(), ..d() });
        let first = jsonl.lines().find(|l| l.contains("/p\"")).unwrap();
        let keys: Vec<usize> = ["\"url\"", "\"fields.posts\"", "\"title\"", "\"bytes\""]
            .iter()
            .map(|k| first.find(k).unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{sort:?}: {first}");
        let v: Value = serde_json::from_str(first).unwrap();
        assert_eq!(v["fields.posts"], serde_json::json!([["/a", "A"]]));
        let csv = query(&s, QueryOptions { fields, sort, format: Format::Csv, ..d() });
        assert!(csv.starts_with("url,fields.posts,title,bytes\n"), "{csv}");
    }
    let counts = query(&s, QueryOptions { count_by: Some("depth".into()), ..d() });
    let rows: Vec<Value> = counts.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[0], serde_json::json!({"depth": 1, "count": 1}));
    assert!(counts.starts_with("{\"depth\":"), "the group column comes first: {counts}");
    let none = query(&s, QueryOptions { count_by: Some("fields.nosuch".into()), ..d() });
    assert_eq!(none.trim(), "{\"fields.nosuch\":null,\"count\":2}");
}

/// Issue 14: table columns pad by display width (CJK titles align).
#[test]
fn tables_align_wide_titles() {
    let (_d, s) = store_with(&[
        rec_at("http://a.test/1", 200, 0, 1, "日本語のタイトル"),
        rec_at("http://a.test/2", 200, 0, 1, "ascii"),
    ]);
    for fields in [None, Some("title,url".to_owned())] {
        let t = query(
            &s,
            QueryOptions { fields: fields.clone(), format: Format::Table, ..Default::default() },
        );
        let col = |l: &str| {
            let i = l.find("http").unwrap_or_else(|| l.find("URL").unwrap());
            unicode_width::UnicodeWidthStr::width(&l[..i])
        };
        let cols: Vec<usize> = t.lines().map(col).collect();
        if fields.is_some() {
            assert!(cols.windows(2).all(|w| w[0] == w[1]), "{t}");
        }
        assert!(t.contains("日本語のタイトル"), "{t}");
    }
}

/// `--count-by` reads outcome, status, depth... from the record instead of
/// the JSON view: both must give the same key for every kind of record.
#[test]
fn count_by_keys_read_from_the_record_agree_with_the_view() {
    let mut records = vec![
        rec("http://a.test/1", 200),
        rec("http://b.test:81/x", 404),
        PageRecord {
            status: None,
            content_type: None,
            worker: None,
            depth: 7,
            outcome: FetchOutcome::Timeout { detail: "read".into() },
            ..rec("http://c.test/t", 200)
        },
    ];
    records[0].content_type = Some("text/html; charset=utf-8".into());
    let mut checked = 0;
    for by in crate::query::DERIVED_KEYS.iter().chain(crate::query::COLUMNS.iter()) {
        let Some(key) = super::execute::direct_key_of(by) else { continue };
        for r in &records {
            let view = crate::query::PageView::value(r);
            let from_view = match *by {
                "host" => Value::from(crate::frontier::authority(&r.url)),
                "status_class" => {
                    r.status.map_or(Value::Null, |s| Value::from(format!("{}xx", s / 100)))
                }
                _ => view.get(*by).cloned().unwrap_or(Value::Null),
            };
            assert_eq!(key(r), from_view, "{by} of {}", r.url);
            checked += 1;
        }
    }
    assert!(checked >= 7 * records.len(), "every direct key was checked: {checked}");
    // And through a whole query: counts by outcome over the store.
    let (_d, s) = store_with(&records);
    let counts =
        query(&s, QueryOptions { count_by: Some("outcome".into()), ..QueryOptions::default() });
    let rows: Vec<Value> = counts.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3, "{counts}");
    assert!(rows.iter().any(|r| r["outcome"] == "timeout" && r["count"] == 1), "{counts}");
}
