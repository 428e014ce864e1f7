//! Which stored pages `trawl refresh` fetches: those the query filters
//! select (the very `trawl query` machinery: [`QueryOptions`] run with
//! `--fields url`), that are due ([`is_due`]).

use crate::query::{self, QueryError, QueryOptions};
use crate::store::{PageRecord, Store};

/// Is a stored page due for a refresh at `now_ms`? With `older_than_ms`,
/// when its last fetch is at least that old; without, when its schedule
/// says so (a page without one, from a one-shot crawl, is due). Poison
/// and blocked pages never are.
pub fn is_due(rec: &PageRecord, older_than_ms: Option<u64>, now_ms: u64) -> bool {
    use trawl_common::protocol::FetchOutcome;
    if matches!(rec.outcome, FetchOutcome::Poison { .. } | FetchOutcome::Blocked { .. }) {
        return false;
    }
    match older_than_ms {
        Some(age) => rec.fetched_at_ms.saturating_add(age) <= now_ms,
        None => rec.revisit.is_none_or(|r| r.due_at_ms <= now_ms),
    }
}

/// The URLs of the pages `filters` select that are due at `now_ms`, in the
/// query's order.
pub fn due_pages(
    store: &Store,
    filters: &QueryOptions,
    older_than_ms: Option<u64>,
    now_ms: u64,
) -> Result<Vec<String>, QueryError> {
    let opts = QueryOptions {
        format: query::Format::Jsonl,
        fields: Some("url".to_owned()),
        count_by: None,
        ..filters.clone()
    };
    let mut out = Vec::new();
    query::run(store, &opts, &mut out)?;
    let mut urls = Vec::new();
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let row: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| QueryError::Output(std::io::Error::other(e.to_string())))?;
        let Some(url) = row.get("url").and_then(|u| u.as_str()) else { continue };
        if let Some(rec) = store.page(url)?
            && is_due(&rec, older_than_ms, now_ms)
        {
            urls.push(url.to_owned());
        }
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Revisit, StoreOp};
    use trawl_common::protocol::FetchOutcome;

    #[test]
    fn due_by_schedule_or_by_age() {
        let mut r = crate::store::tests::rec("http://a/");
        r.fetched_at_ms = 1_000;
        assert!(is_due(&r, None, 1_000), "no schedule: due");
        r.revisit = Some(Revisit { interval_ms: 500, due_at_ms: 1_500 });
        assert!(!is_due(&r, None, 1_499));
        assert!(is_due(&r, None, 1_500));
        assert!(!is_due(&r, Some(2_000), 2_999), "--older-than ignores the schedule");
        assert!(is_due(&r, Some(2_000), 3_000));
        r.outcome = FetchOutcome::Poison { crashes: 3 };
        assert!(!is_due(&r, Some(0), 9_999));
    }

    #[test]
    fn filters_are_the_query_filters() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut ops = Vec::new();
        for (url, at) in [("http://a/1", 100), ("http://a/2", 5_000), ("http://b/1", 100)] {
            let mut r = crate::store::tests::rec(url);
            r.fetched_at_ms = at;
            ops.push(StoreOp::Page {
                record: Box::new(r),
                retire: None,
                enqueue: None,
                body: None,
            });
        }
        store.write_batch(ops).unwrap();
        let all = due_pages(&store, &QueryOptions::default(), None, 10_000).unwrap();
        assert_eq!(all, ["http://a/1", "http://a/2", "http://b/1"]);
        let host = QueryOptions { host: Some("a".into()), ..QueryOptions::default() };
        assert_eq!(due_pages(&store, &host, None, 10_000).unwrap(), ["http://a/1", "http://a/2"]);
        assert_eq!(due_pages(&store, &host, Some(1_000), 5_500).unwrap(), ["http://a/1"]);
        let bad = QueryOptions { status: Some("abc".into()), ..QueryOptions::default() };
        assert!(due_pages(&store, &bad, None, 0).is_err());
    }
}
