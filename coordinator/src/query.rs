//! Reading stored pages back: filters and output formats shared by
//! `trawl query` (and, later, the HTTP API). Streams from the store: only
//! the `table` format buffers rows, to align columns.

use crate::store::{PageRecord, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};
use thiserror::Error;
use trawl_common::protocol::FieldValue;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Aligned columns for people.
    Table,
}

/// Which pages to print.
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    /// Only URLs starting with this.
    pub url_prefix: Option<String>,
    /// Only this HTTP status.
    pub status: Option<u16>,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// How to print.
    pub format: Format,
}

/// Why a query failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed (e.g. a closed pipe).
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    /// CSV encoding failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}

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
    /// Worker id.
    pub worker: u32,
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
pub fn field_json(v: &FieldValue) -> serde_json::Value {
    use serde_json::Value;
    let pair = |(a, b): &(String, String)| Value::from(vec![a.clone(), b.clone()]);
    match v {
        FieldValue::One(s) => s.clone().map_or(Value::Null, Value::from),
        FieldValue::Many(v) => Value::from(v.clone()),
        FieldValue::Pair(p) => p.as_ref().map_or(Value::Null, pair),
        FieldValue::Pairs(v) => Value::Array(v.iter().map(pair).collect()),
    }
}

/// All of a record's fields as one JSON object.
pub fn fields_json(fields: &BTreeMap<String, FieldValue>) -> serde_json::Value {
    serde_json::Value::Object(fields.iter().map(|(k, v)| (k.clone(), field_json(v))).collect())
}

impl<'a> PageView<'a> {
    /// The printed view of a record (jsonl).
    pub fn of(r: &'a PageRecord) -> Self {
        PageView::with_fields(r, fields_json(&r.fields))
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
fn csv_view(r: &PageRecord) -> PageView<'_, String> {
    PageView::with_fields(r, fields_json(&r.fields).to_string())
}

impl QueryOptions {
    fn matches(&self, r: &PageRecord) -> bool {
        self.status.is_none_or(|s| r.status == Some(s))
    }
}

/// Prints the pages `opts` selects from `store` to `out`; returns how many.
pub fn run(store: &Store, opts: &QueryOptions, out: &mut dyn Write) -> Result<usize, QueryError> {
    let prefix = opts.url_prefix.as_deref().unwrap_or("");
    let limit = opts.limit.unwrap_or(usize::MAX);
    let rows = store
        .pages_with_prefix(prefix)
        .filter(|r| r.as_ref().map_or(true, |r| opts.matches(r)))
        .take(limit);
    let mut n = 0;
    match opts.format {
        Format::Jsonl => {
            for r in rows {
                let r = r?;
                serde_json::to_writer(&mut *out, &PageView::of(&r))
                    .map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                n += 1;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            for r in rows {
                let r = r?;
                w.serialize(csv_view(&r))?;
                n += 1;
            }
            if n == 0 {
                w.write_record(CSV_HEADER)?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut table = vec![TABLE_HEADER.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
            for r in rows {
                let r = r?;
                table.push(vec![
                    r.url.clone(),
                    r.status.map_or_else(|| "-".into(), |s| s.to_string()),
                    r.depth.to_string(),
                    r.outcome.kind().to_owned(),
                    r.bytes.to_string(),
                    r.outlinks.to_string(),
                    truncate(r.title.as_deref().unwrap_or(""), 60),
                ]);
                n += 1;
            }
            write_table(&table, out)?;
        }
    }
    out.flush()?;
    Ok(n)
}

const CSV_HEADER: [&str; 18] = [
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
const TABLE_HEADER: [&str; 7] = ["URL", "STATUS", "DEPTH", "OUTCOME", "BYTES", "LINKS", "TITLE"];

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn write_table(rows: &[Vec<String>], out: &mut dyn Write) -> std::io::Result<()> {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == cols {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[c] - cell.chars().count() + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_common::protocol::FetchOutcome;

    fn store_with(records: &[PageRecord]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = s.writer().unwrap();
        for r in records {
            w.put(r.clone()).unwrap();
        }
        w.finish().unwrap();
        (dir, s)
    }

    fn rec(url: &str, status: u16) -> PageRecord {
        PageRecord {
            url: url.into(),
            status: Some(status),
            content_type: Some("text/html".into()),
            depth: 0,
            title: Some(format!("T {url}")),
            bytes: 1,
            fetched_at_ms: 0,
            elapsed_ms: 1,
            outlinks: 0,
            outcome: if status == 200 { FetchOutcome::Ok } else { FetchOutcome::HttpError },
            worker: 0,
            attempts: 1,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: Default::default(),
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
        for key in
            ["url", "status", "content_type", "depth", "title", "bytes", "outlinks", "outcome"]
        {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["fetched_at"], "1970-01-01T00:00:00.000Z");

        let a =
            query(&s, QueryOptions { url_prefix: Some("http://a/".into()), ..Default::default() });
        assert_eq!(a.lines().count(), 2);
        let ok = query(&s, QueryOptions { status: Some(404), ..Default::default() });
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
        assert_eq!(header, CSV_HEADER);
        let row = rd.records().next().unwrap().unwrap();
        let fields: serde_json::Value = serde_json::from_str(&row[17]).unwrap();
        assert_eq!(fields, v["fields"]);

        let table = query(&s, QueryOptions { format: Format::Table, ..Default::default() });
        assert!(!table.contains("posts"));
    }

    #[test]
    fn empty_csv_still_has_header() {
        let (_d, s) = store_with(&[]);
        let csv = query(&s, QueryOptions { format: Format::Csv, ..Default::default() });
        assert_eq!(csv.trim(), CSV_HEADER.join(","));
    }
}
