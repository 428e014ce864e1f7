//! Unit tests of `--changed-since`, `--gone` and `--history` over a real
//! temp store holding fetch histories.

use super::*;
use crate::store::{Change, HistoryEntry, PageRecord, Store, StoreOp, Visit};
use std::borrow::Cow;

const T0: u64 = 1_000_000;
const T1: u64 = 2_000_000;

fn entry(at: u64, status: u16, change: Change, fields: &[&str]) -> HistoryEntry {
    HistoryEntry {
        fetched_at_ms: at,
        status: Some(status),
        change,
        content_hash: (status != 304).then_some(at ^ u64::from(status)),
        changed_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
    }
}

/// `(url, last status, changed_at, [history])` per page.
fn store_with(pages: &[(&str, u16, u64, Vec<HistoryEntry>)]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    let w = s.writer().unwrap();
    for (url, status, changed_at, history) in pages {
        for h in history {
            let record = PageRecord {
                status: Some(*status),
                fetched_at_ms: h.fetched_at_ms,
                changed_at_ms: Some(*changed_at),
                ..crate::store::tests::rec(url)
            };
            let visit = Visit {
                record,
                history: h.clone(),
                unschedule: None,
                retire: None,
                enqueue: None,
                body: None,
            };
            w.send(StoreOp::Visit(Box::new(visit))).unwrap();
        }
    }
    w.finish().unwrap();
    (dir, s)
}

fn sample() -> (tempfile::TempDir, Store) {
    store_with(&[
        (
            "http://h/changed",
            200,
            T1,
            vec![entry(T0, 200, Change::First, &[]), entry(T1, 200, Change::Changed, &["title"])],
        ),
        (
            "http://h/same",
            200,
            T0,
            vec![entry(T0, 200, Change::First, &[]), entry(T1, 304, Change::NotModified, &[])],
        ),
        (
            "http://h/gone",
            404,
            T1,
            vec![entry(T0, 200, Change::First, &[]), entry(T1, 404, Change::Gone, &[])],
        ),
        (
            "http://h/never",
            404,
            T0,
            vec![entry(T0, 404, Change::First, &[]), entry(T1, 404, Change::Unchanged, &[])],
        ),
    ])
}

fn run_text(s: &Store, pairs: &[(&str, &str)]) -> Result<String, QueryError> {
    let opts = QueryOptions::from_pairs(pairs.iter().map(|(k, v)| (Cow::from(*k), Cow::from(*v))))?;
    let mut out = Vec::new();
    run(s, &opts, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn urls(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["url"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn changed_since_and_gone_select_by_history() {
    let (_d, s) = sample();
    let between = "1970-01-01T00:25:00Z"; // 1,500,000 ms
    let changed = run_text(&s, &[("changed_since", between)]).unwrap();
    assert_eq!(urls(&changed), ["http://h/changed", "http://h/gone"]);
    let all = run_text(&s, &[("changed_since", "1970-01-01")]).unwrap();
    assert_eq!(urls(&all).len(), 4);
    // A 404 from the first fetch on is not gone; one that was there is.
    assert_eq!(urls(&run_text(&s, &[("gone", "true")]).unwrap()), ["http://h/gone"]);
    assert_eq!(urls(&run_text(&s, &[("gone", "false")]).unwrap()).len(), 4);
    let e = run_text(&s, &[("changed_since", "later")]).unwrap_err();
    assert_eq!(e.flag().as_deref(), Some("--changed-since"), "{e}");
}

#[test]
fn history_prints_one_row_per_fetch_in_every_format() {
    let (_d, s) = sample();
    let text = run_text(&s, &[("history", "http://h/changed")]).unwrap();
    let rows: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[0]["change"], "first");
    assert_eq!(rows[0]["fetched_at"], "1970-01-01T00:16:40.000Z");
    assert_eq!(rows[1]["change"], "changed");
    assert_eq!(rows[1]["changed_fields"], serde_json::json!(["title"]));
    assert_eq!(rows[1]["content_hash"].as_str().unwrap().len(), 16);
    let order = HISTORY_COLUMNS.map(|c| text.find(&format!("\"{c}\":")).unwrap());
    assert!(order.is_sorted(), "columns in order: {text}");
    let nm = run_text(&s, &[("history", "http://h/same"), ("format", "csv")]).unwrap();
    assert!(nm.starts_with("fetched_at,status,change,content_hash,changed_fields\n"), "{nm}");
    assert!(nm.contains(",304,not_modified,,"), "{nm}");
    let table = run_text(&s, &[("history", "http://h/gone"), ("format", "table")]).unwrap();
    assert!(table.contains("CHANGE") && table.contains("gone"), "{table}");
    let paged = run_text(&s, &[("history", "http://h/changed"), ("offset", "1")]).unwrap();
    assert_eq!(paged.lines().count(), 1);
    // Normalized like stored URLs; unknown pages have no rows.
    assert_eq!(run_text(&s, &[("history", "HTTP://H/changed")]).unwrap(), text);
    assert_eq!(run_text(&s, &[("history", "http://h/nothing")]).unwrap(), "");
    let e = run_text(&s, &[("history", "not a url")]).unwrap_err();
    assert_eq!(e.flag().as_deref(), Some("--history"), "{e}");
}

#[test]
fn without_a_history_source_history_and_gone_are_refused() {
    let (_d, s) = sample();
    for (k, v) in [("history", "http://h/changed"), ("gone", "true")] {
        let opts = QueryOptions::from_pairs([(Cow::from(k), Cow::from(v))]).unwrap();
        let e =
            run_over(&|p| Box::new(s.pages_with_prefix(p)), &opts, &mut Vec::new()).unwrap_err();
        assert!(matches!(&e, QueryError::BadParam { param, .. } if param == k), "{e}");
    }
}
