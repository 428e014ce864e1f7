//! What a revisit found: [`classify`] compares a fetch's new record with
//! the stored one, [`merge`] builds the record to store, and both are pure.
//!
//! - No stored record: [`Change::First`].
//! - A 304 to the stored validators: [`Change::NotModified`]; the stored
//!   page stands (title, fields, hashes), only the fetch facts move on.
//! - A 404 or 410 where the page was there: [`Change::Gone`] (a page that
//!   was already 404/410 and still is, is unchanged).
//! - Both fetches read a body: the xxh3 body hashes decide; when they
//!   differ, the fields hash tells which extracted fields changed (none:
//!   only the markup did).
//! - Otherwise (no body on one side: errors, redirects, timeouts): the
//!   status and outcome decide.

use crate::store::{Change, PageRecord};
use std::collections::BTreeSet;
use trawl_common::protocol::FetchOutcome;

/// Is a status "gone"?
fn gone(status: Option<u16>) -> bool {
    matches!(status, Some(404 | 410))
}

/// The change a fetch found, and the fields (by name; `title` for the
/// title) whose values differ from the stored page.
pub fn classify(prev: Option<&PageRecord>, new: &PageRecord) -> (Change, Vec<String>) {
    let Some(prev) = prev else { return (Change::First, Vec::new()) };
    if new.outcome == FetchOutcome::NotModified {
        return (Change::NotModified, Vec::new());
    }
    if gone(new.status) {
        return if gone(prev.status) {
            (Change::Unchanged, Vec::new())
        } else {
            (Change::Gone, Vec::new())
        };
    }
    let same = match (prev.content_hash, new.content_hash) {
        (Some(a), Some(b)) => a == b && prev.status == new.status,
        _ => prev.status == new.status && prev.outcome == new.outcome,
    };
    if same {
        return (Change::Unchanged, Vec::new());
    }
    let fields = if prev.fields_hash.is_some() && prev.fields_hash == new.fields_hash {
        Vec::new()
    } else {
        changed_fields(prev, new)
    };
    (Change::Changed, fields)
}

/// The names of the fields (and `title`) whose values differ.
pub fn changed_fields(prev: &PageRecord, new: &PageRecord) -> Vec<String> {
    let mut out = Vec::new();
    if prev.title != new.title {
        out.push("title".to_owned());
    }
    let names: BTreeSet<&String> = prev.fields.keys().chain(new.fields.keys()).collect();
    for name in names {
        if prev.fields.get(name) != new.fields.get(name) {
            out.push(name.clone());
        }
    }
    out
}

/// The record to store after a fetch that found `change`: for a 304, the
/// stored page with the new fetch's facts (time, worker, attempts, any new
/// validators); otherwise the new record. `changed_at_ms` moves on when
/// the content changed.
pub fn merge(prev: Option<&PageRecord>, new: PageRecord, change: Change) -> PageRecord {
    let mut out = match (prev, change) {
        (Some(prev), Change::NotModified) => PageRecord {
            fetched_at_ms: new.fetched_at_ms,
            elapsed_ms: new.elapsed_ms,
            worker: new.worker,
            attempts: new.attempts,
            etag: new.etag.or_else(|| prev.etag.clone()),
            last_modified: new.last_modified.or_else(|| prev.last_modified.clone()),
            ..prev.clone()
        },
        _ => new,
    };
    out.changed_at_ms = if change.is_change() {
        Some(out.fetched_at_ms)
    } else {
        prev.and_then(|p| p.changed_at_ms.or(Some(p.fetched_at_ms)))
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_common::protocol::FieldValue;

    fn page(status: u16, hash: Option<u64>) -> PageRecord {
        let mut r = crate::store::tests::rec("http://a/");
        r.status = Some(status);
        r.content_hash = hash;
        r.fields_hash = hash.map(|_| crate::revisit::fields_hash(r.title.as_deref(), &r.fields));
        r
    }

    #[test]
    fn first_not_modified_and_gone() {
        let prev = page(200, Some(1));
        assert_eq!(classify(None, &prev).0, Change::First);
        let mut m = page(304, None);
        m.outcome = FetchOutcome::NotModified;
        assert_eq!(classify(Some(&prev), &m).0, Change::NotModified);
        assert_eq!(classify(Some(&prev), &page(404, Some(9))).0, Change::Gone);
        assert_eq!(classify(Some(&prev), &page(410, None)).0, Change::Gone);
        assert_eq!(classify(Some(&page(404, Some(9))), &page(404, Some(8))).0, Change::Unchanged);
        assert_eq!(classify(Some(&page(404, Some(9))), &page(200, Some(8))).0, Change::Changed);
    }

    #[test]
    fn body_hash_decides_and_fields_hash_names_what_changed() {
        let prev = page(200, Some(1));
        assert_eq!(classify(Some(&prev), &page(200, Some(1))), (Change::Unchanged, vec![]));
        // The markup changed, the data did not.
        assert_eq!(classify(Some(&prev), &page(200, Some(2))), (Change::Changed, vec![]));
        let mut new = page(200, Some(2));
        new.title = Some("New".into());
        new.fields.insert("price".into(), FieldValue::One(Some("9".into())));
        new.fields_hash = Some(crate::revisit::fields_hash(new.title.as_deref(), &new.fields));
        assert_eq!(
            classify(Some(&prev), &new),
            (Change::Changed, vec!["title".to_owned(), "price".to_owned()])
        );
        // Same body, other status: changed.
        assert_eq!(classify(Some(&prev), &page(500, Some(1))).0, Change::Changed);
    }

    #[test]
    fn without_bodies_status_and_outcome_decide() {
        let mut prev = page(301, None);
        prev.outcome = FetchOutcome::Redirect { location: "http://a/x".into() };
        let mut same = prev.clone();
        same.fetched_at_ms += 10;
        assert_eq!(classify(Some(&prev), &same).0, Change::Unchanged);
        let mut moved = prev.clone();
        moved.outcome = FetchOutcome::Redirect { location: "http://a/y".into() };
        assert_eq!(classify(Some(&prev), &moved).0, Change::Changed);
        let mut timeout = page(200, None);
        timeout.status = None;
        timeout.outcome = FetchOutcome::Timeout { detail: "read".into() };
        assert_eq!(classify(Some(&page(200, Some(1))), &timeout).0, Change::Changed);
    }

    #[test]
    fn merge_keeps_the_stored_page_on_304_and_moves_changed_at() {
        let mut prev = page(200, Some(1));
        prev.etag = Some("\"a\"".into());
        prev.fields.insert("f".into(), FieldValue::One(Some("v".into())));
        prev.changed_at_ms = Some(3);
        let mut m = PageRecord::unfetched("http://a/".into(), 1, 50, FetchOutcome::NotModified);
        m.status = Some(304);
        m.worker = Some(4);
        let out = merge(Some(&prev), m, Change::NotModified);
        assert_eq!(
            (out.status, out.outcome.clone(), out.fields.len()),
            (Some(200), FetchOutcome::Ok, 1)
        );
        assert_eq!(
            (out.fetched_at_ms, out.worker, out.etag.as_deref()),
            (50, Some(4), Some("\"a\""))
        );
        assert_eq!((out.content_hash, out.changed_at_ms), (Some(1), Some(3)));
        let mut changed = page(200, Some(2));
        changed.fetched_at_ms = 60;
        assert_eq!(merge(Some(&prev), changed, Change::Changed).changed_at_ms, Some(60));
        let first = merge(None, page(200, Some(2)), Change::First);
        assert_eq!(first.changed_at_ms, Some(first.fetched_at_ms));
        prev.changed_at_ms = None;
        let same = merge(Some(&prev), page(200, Some(1)), Change::Unchanged);
        assert_eq!(same.changed_at_ms, Some(prev.fetched_at_ms), "v3 records: the fetch time");
    }
}
