//! The output schema: how one stored page is printed ([`PageView`]), its
//! column names ([`COLUMNS`], the vocabulary of `--fields`, `--sort`,
//! `--where` and `--count-by`), and field lookup by dotted path.

use crate::store::PageRecord;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};
use trawl_common::protocol::FieldValue;

/// The columns of [`PageView`], in output order (a test keeps them equal).
pub const COLUMNS: [&str; 18] = [
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
    "attempts",
    "retry_after_secs",
    "noindex",
    "nofollow",
    "canonical",
    "fields",
];

/// One page as printed: the stable output schema. `F` is how `fields` is
/// printed: a JSON object for jsonl, a JSON-encoded string for csv.
#[derive(Debug, Serialize)]
pub struct PageView<'a, F = serde_json::Value> {
    /// URL.
    pub url: &'a str,
    /// HTTP status.
    pub status: Option<u16>,
    /// Content type.
    pub content_type: Option<&'a str>,
    /// Depth.
    pub depth: u32,
    /// Title.
    pub title: Option<&'a str>,
    /// Body bytes.
    pub bytes: u64,
    /// Links on the page.
    pub outlinks: u32,
    /// Outcome kind.
    pub outcome: &'static str,
    /// Outcome detail.
    pub detail: Option<String>,
    /// Fetch start, RFC 3339.
    pub fetched_at: String,
    /// Fetch plus parse time in ms.
    pub elapsed_ms: u32,
    /// Worker id (`null` if no worker fetched it).
    pub worker: Option<u32>,
    /// Requests made (1 + retries).
    pub attempts: u8,
    /// `Retry-After` of a final 429/503, seconds.
    pub retry_after_secs: Option<u32>,
    /// meta robots `noindex` (title and fields not kept).
    pub noindex: bool,
    /// meta robots `nofollow`.
    pub nofollow: bool,
    /// `<link rel=canonical>`.
    pub canonical: Option<&'a str>,
    /// User-defined fields by name.
    pub fields: F,
}

/// A field value as JSON: a string or null (first match), an array of
/// strings (all matches), `[a, b]` or null (first pair), or an array of
/// `[a, b]` (all pairs).
pub fn field_json(v: &FieldValue) -> Value {
    let pair = |(a, b): &(String, String)| Value::from(vec![a.clone(), b.clone()]);
    match v {
        FieldValue::One(s) => s.clone().map_or(Value::Null, Value::from),
        FieldValue::Many(v) => Value::from(v.clone()),
        FieldValue::Pair(p) => p.as_ref().map_or(Value::Null, pair),
        FieldValue::Pairs(v) => Value::Array(v.iter().map(pair).collect()),
    }
}

/// All of a record's fields as one JSON object.
pub fn fields_json(fields: &BTreeMap<String, FieldValue>) -> Value {
    Value::Object(fields.iter().map(|(k, v)| (k.clone(), field_json(v))).collect())
}

impl<'a> PageView<'a> {
    /// The printed view of a record (jsonl).
    pub fn of(r: &'a PageRecord) -> Self {
        PageView::with_fields(r, fields_json(&r.fields))
    }

    /// The view as a JSON value, what `--where`, `--sort`, `--fields` and
    /// `--count-by` look into.
    pub(crate) fn value(r: &PageRecord) -> Value {
        serde_json::to_value(PageView::of(r)).unwrap_or(Value::Null)
    }
}

impl<'a, F> PageView<'a, F> {
    fn with_fields(r: &'a PageRecord, fields: F) -> Self {
        let at = UNIX_EPOCH + Duration::from_millis(r.fetched_at_ms);
        Self {
            url: &r.url,
            status: r.status,
            content_type: r.content_type.as_deref(),
            depth: r.depth,
            title: r.title.as_deref(),
            bytes: r.bytes,
            outlinks: r.outlinks,
            outcome: r.outcome.kind(),
            detail: r.outcome.detail(),
            fetched_at: humantime::format_rfc3339_millis(at).to_string(),
            elapsed_ms: r.elapsed_ms,
            worker: r.worker,
            attempts: r.attempts,
            retry_after_secs: r.retry_after_secs,
            noindex: r.noindex,
            nofollow: r.nofollow,
            canonical: r.canonical.as_deref(),
            fields,
        }
    }
}

/// The csv view: `fields` as a JSON-encoded string.
pub(crate) fn csv_view(r: &PageRecord) -> PageView<'_, String> {
    PageView::with_fields(r, fields_json(&r.fields).to_string())
}

/// The value a page has for a dotted field path (`None` when missing or
/// null).
pub(crate) fn lookup<'v>(view: &'v Value, field: &str) -> Option<&'v Value> {
    field.split('.').try_fold(view, |v, k| v.get(k)).filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `COLUMNS` is exactly the serialized view's keys, in order.
    #[test]
    fn columns_are_the_views_fields_in_order() {
        let r = crate::store::tests::rec("http://a.test/");
        let json = serde_json::to_string(&PageView::of(&r)).unwrap();
        let mut at = 0;
        for c in COLUMNS {
            let key = format!("\"{c}\":");
            let found = json[at..].find(&key).unwrap_or_else(|| panic!("{c} not next in {json}"));
            at += found + key.len();
        }
        let keys = PageView::value(&r).as_object().unwrap().len();
        assert_eq!(keys, COLUMNS.len());
    }
}
