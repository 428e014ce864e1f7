//! Reading stored pages back: filters, projection, sorting, grouping and
//! output formats shared by `trawl query` and the HTTP API.
//!
//! Pages stream from the store in URL order; a URL prefix (or a host)
//! narrows the scan itself. Only `--sort`, `--count-by` and the `table`
//! format hold rows in memory (the matching rows, or the groups).

mod filter;

use crate::store::{PageRecord, Store, StoreError};
use filter::{Filters, Predicate, StatusFilter};
use serde::Serialize;
use serde_json::Value;
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

/// Which pages to print, and how: the text form of every query option,
/// as given on the command line or in API parameters.
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    /// Only URLs starting with this.
    pub url_prefix: Option<String>,
    /// Only URLs matching this glob (`*` matches across `/`).
    pub url_glob: Option<String>,
    /// Only URLs matching this regex.
    pub url_regex: Option<String>,
    /// Only this host (`host[:port]`).
    pub host: Option<String>,
    /// Only this status (`404`) or class (`4xx`).
    pub status: Option<String>,
    /// Only content types starting with this (`text/html`).
    pub content_type: Option<String>,
    /// Only this depth (`2`) or range (`1..3`).
    pub depth: Option<String>,
    /// Only this outcome (`ok`, `timeout`, ...).
    pub outcome: Option<String>,
    /// Only pages fetched at or after this time (RFC 3339 or a date).
    pub since: Option<String>,
    /// Only pages fetched before this time.
    pub until: Option<String>,
    /// Predicates on output fields: `title~rust`, `bytes>1000`,
    /// `fields.posts exists`.
    pub wheres: Vec<String>,
    /// Output only these fields (comma-separated, dotted paths allowed).
    pub fields: Option<String>,
    /// Sort by this field; `-field` or `field:desc` for descending.
    pub sort: Option<String>,
    /// At most this many rows (after sorting).
    pub limit: Option<usize>,
    /// Skip this many rows first (pagination).
    pub offset: Option<usize>,
    /// Count pages per value of this field instead of listing them
    /// (`host`, `status`, `outcome`, `depth`, `content_type`, or any field).
    pub count_by: Option<String>,
    /// How to print.
    pub format: Format,
}

/// Compiled options.
struct Query {
    prefixes: Vec<String>,
    filters: Filters,
    wheres: Vec<Predicate>,
    fields: Option<Vec<String>>,
    sort: Option<(String, bool)>,
    offset: usize,
    limit: usize,
    count_by: Option<String>,
    format: Format,
}

impl QueryOptions {
    /// Checks every option without running the query (a live query is
    /// validated here before it is sent, so it fails like an offline one).
    pub fn validate(&self) -> Result<(), QueryError> {
        self.compile().map(drop)
    }

    fn compile(&self) -> Result<Query, QueryError> {
        let bad =
            |param: &str, message: String| QueryError::BadParam { param: param.into(), message };
        let mut filters = Filters::default();
        if let Some(g) = &self.url_glob {
            filters.glob = Some(
                globset::GlobBuilder::new(g)
                    .literal_separator(false)
                    .build()
                    .map_err(|e| bad("--url-glob", e.to_string()))?
                    .compile_matcher(),
            );
        }
        if let Some(r) = &self.url_regex {
            filters.regex =
                Some(regex::Regex::new(r).map_err(|e| bad("--url-regex", e.to_string()))?);
        }
        filters.host = self.host.as_ref().map(|h| h.trim().to_ascii_lowercase());
        filters.status = self.status.as_deref().map(StatusFilter::parse).transpose()?;
        filters.content_type = self.content_type.as_ref().map(|c| c.trim().to_ascii_lowercase());
        filters.depth = self.depth.as_deref().map(filter::depth_range).transpose()?;
        if let Some(o) = &self.outcome {
            if !OUTCOMES.contains(&o.as_str()) {
                return Err(bad(
                    "--outcome",
                    format!("expected one of {}, got {o:?}", OUTCOMES.join(", ")),
                ));
            }
            filters.outcome = Some(o.clone());
        }
        filters.since_ms =
            self.since.as_deref().map(|s| filter::time_ms("--since", s)).transpose()?;
        filters.until_ms =
            self.until.as_deref().map(|s| filter::time_ms("--until", s)).transpose()?;
        let wheres = self.wheres.iter().map(|w| Predicate::parse(w)).collect::<Result<_, _>>()?;
        let fields = self.fields.as_ref().map(|f| {
            f.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>()
        });
        if fields.as_ref().is_some_and(Vec::is_empty) {
            return Err(bad("--fields", "no field names given".into()));
        }
        let sort = self.sort.as_ref().map(|s| {
            let s = s.trim();
            match (s.strip_prefix('-'), s.strip_suffix(":desc"), s.strip_suffix(":asc")) {
                (Some(f), _, _) | (_, Some(f), _) => (f.to_owned(), true),
                (_, _, Some(f)) => (f.to_owned(), false),
                _ => (s.to_owned(), false),
            }
        });
        let prefixes = match (&self.url_prefix, &filters.host) {
            (Some(p), _) => vec![p.clone()],
            (None, Some(h)) => vec![format!("http://{h}/"), format!("https://{h}/")],
            (None, None) => vec![String::new()],
        };
        Ok(Query {
            prefixes,
            filters,
            wheres,
            fields,
            sort,
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(usize::MAX),
            count_by: self.count_by.clone(),
            format: self.format,
        })
    }
}

impl QueryOptions {
    /// The options as `name=value` pairs (API parameters), the inverse of
    /// [`QueryOptions::from_pairs`].
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        let mut opt = |k: &'static str, val: &Option<String>| {
            if let Some(x) = val {
                v.push((k, x.clone()));
            }
        };
        opt("url_prefix", &self.url_prefix);
        opt("url_glob", &self.url_glob);
        opt("url_regex", &self.url_regex);
        opt("host", &self.host);
        opt("status", &self.status);
        opt("content_type", &self.content_type);
        opt("depth", &self.depth);
        opt("outcome", &self.outcome);
        opt("since", &self.since);
        opt("until", &self.until);
        opt("fields", &self.fields);
        opt("sort", &self.sort);
        opt("count_by", &self.count_by);
        for w in &self.wheres {
            v.push(("where", w.clone()));
        }
        if let Some(l) = self.limit {
            v.push(("limit", l.to_string()));
        }
        if let Some(o) = self.offset {
            v.push(("offset", o.to_string()));
        }
        v.push(("format", self.format.name().to_owned()));
        v
    }

    /// Builds options from `name=value` pairs; unknown names and bad
    /// numbers are errors naming the parameter.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<Self, QueryError> {
        let mut o = Self::default();
        for (k, v) in pairs {
            let v = v.into_owned();
            let num = |v: &str| {
                v.parse::<usize>().map_err(|_| QueryError::BadParam {
                    param: k.to_string(),
                    message: format!("expected a number, got {v:?}"),
                })
            };
            match &*k {
                "url_prefix" => o.url_prefix = Some(v),
                "url_glob" => o.url_glob = Some(v),
                "url_regex" => o.url_regex = Some(v),
                "host" => o.host = Some(v),
                "status" => o.status = Some(v),
                "content_type" => o.content_type = Some(v),
                "depth" => o.depth = Some(v),
                "outcome" => o.outcome = Some(v),
                "since" => o.since = Some(v),
                "until" => o.until = Some(v),
                "where" => o.wheres.push(v),
                "fields" => o.fields = Some(v),
                "sort" => o.sort = Some(v),
                "count_by" => o.count_by = Some(v),
                "limit" => o.limit = Some(num(&v)?),
                "offset" => o.offset = Some(num(&v)?),
                "format" => {
                    o.format = Format::parse(&v).ok_or_else(|| QueryError::BadParam {
                        param: "format".into(),
                        message: format!("expected jsonl, csv or table, got {v:?}"),
                    })?;
                }
                other => {
                    return Err(QueryError::BadParam {
                        param: other.to_owned(),
                        message: "unknown parameter".into(),
                    });
                }
            }
        }
        Ok(o)
    }
}

impl Format {
    /// Its name in flags and parameters.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Table => "table",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jsonl" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            "table" => Some(Self::Table),
            _ => None,
        }
    }

    /// The HTTP content type of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jsonl => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Table => "text/plain; charset=utf-8",
        }
    }
}

/// Every outcome kind, for validating `--outcome`.
const OUTCOMES: [&str; 14] = [
    "ok",
    "not_html",
    "redirect",
    "bad_redirect",
    "http_error",
    "too_large",
    "timeout",
    "connect",
    "body",
    "disallowed",
    "poison",
    "redirect_loop",
    "too_many_redirects",
    "robots_unreachable",
];

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
    /// A query option is invalid.
    #[error("invalid {param}: {message}")]
    BadParam {
        /// The option.
        param: String,
        /// What is wrong.
        message: String,
    },
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
pub fn field_json(v: &FieldValue) -> serde_json::Value {
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

/// The value a page has for `--count-by`/`--sort`/projection `field`
/// (`None` when missing or null).
fn lookup<'v>(view: &'v Value, field: &str) -> Option<&'v Value> {
    field.split('.').try_fold(view, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// The group key of a page for `--count-by`.
fn group_key(r: &PageRecord, view: &Value, by: &str) -> String {
    match by {
        "host" => crate::frontier::authority(&r.url).to_owned(),
        "status_class" => r.status.map_or_else(|| "none".into(), |s| format!("{}xx", s / 100)),
        _ => lookup(view, by).map_or_else(|| "none".into(), filter::text),
    }
}

fn project(view: &Value, fields: &[String]) -> Value {
    let mut out = serde_json::Map::new();
    for f in fields {
        out.insert(f.clone(), lookup(view, f).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// Orders two present values: numerically when both are numbers.
fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => filter::text(a).cmp(&filter::text(b)),
    }
}

/// Prints what `opts` selects from `store` to `out`; returns how many rows.
pub fn run(store: &Store, opts: &QueryOptions, out: &mut dyn Write) -> Result<usize, QueryError> {
    let q = opts.compile()?;
    let needs_view =
        !q.wheres.is_empty() || q.fields.is_some() || q.sort.is_some() || q.count_by.is_some();
    let mut matched = q.prefixes.iter().flat_map(|p| store.pages_with_prefix(p)).filter_map(|r| {
        let r = match r {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        if !q.filters.matches(&r) {
            return None;
        }
        let view = if needs_view {
            serde_json::to_value(PageView::of(&r)).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        q.wheres.iter().all(|w| w.matches(&view)).then_some(Ok((r, view)))
    });

    if let Some(by) = &q.count_by {
        let mut groups: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for item in matched {
            let (r, view) = item?;
            *groups.entry(group_key(&r, &view, by)).or_default() += 1;
        }
        let mut rows: Vec<(String, u64)> = groups.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rows: Vec<(String, u64)> = rows.into_iter().skip(q.offset).take(q.limit).collect();
        let values: Vec<Value> =
            rows.iter().map(|(k, n)| serde_json::json!({ by.as_str(): k, "count": n })).collect();
        let columns = vec![by.clone(), "count".to_owned()];
        return write_values(&values, &columns, q.format, out);
    }

    if q.sort.is_none() && q.fields.is_none() {
        // The common case streams: nothing is held but the table's rows.
        return write_records(matched.skip(q.offset).take(q.limit), q.format, out);
    }

    let mut rows: Vec<Value> = Vec::new();
    if let Some((field, desc)) = &q.sort {
        // Missing values sort last in either direction, together.
        let order = |a: &Value, b: &Value| match (lookup(a, field), lookup(b, field)) {
            (Some(x), Some(y)) => {
                let o = compare(x, y);
                if *desc { o.reverse() } else { o }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        // With a limit, only the best offset+limit rows are kept: memory
        // stays bounded by the page asked for, not by the store.
        let keep = q.offset.saturating_add(q.limit);
        let mut all: Vec<Value> = Vec::new();
        for item in matched {
            all.push(item?.1);
            if keep < usize::MAX / 4 && all.len() >= keep.max(512) * 2 {
                all.sort_by(order);
                all.truncate(keep);
            }
        }
        all.sort_by(order);
        rows = all.into_iter().skip(q.offset).take(q.limit).collect();
    } else {
        for item in matched.by_ref().skip(q.offset).take(q.limit) {
            rows.push(item?.1);
        }
    }
    let columns: Vec<String> = match &q.fields {
        Some(f) => f.clone(),
        None => CSV_HEADER.iter().map(|s| (*s).to_owned()).collect(),
    };
    let rows: Vec<Value> = rows.iter().map(|v| project(v, &columns)).collect();
    write_values(&rows, &columns, q.format, out)
}

/// Writes projected rows (JSON objects with `columns`).
fn write_values(
    rows: &[Value],
    columns: &[String],
    format: Format,
    out: &mut dyn Write,
) -> Result<usize, QueryError> {
    match format {
        Format::Jsonl => {
            for v in rows {
                serde_json::to_writer(&mut *out, v).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(columns)?;
            for v in rows {
                w.write_record(columns.iter().map(|c| {
                    v.get(c).map_or(String::new(), |x| {
                        if x.is_null() { String::new() } else { filter::text(x) }
                    })
                }))?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut table = vec![columns.iter().map(|c| c.to_uppercase()).collect::<Vec<_>>()];
            for v in rows {
                table.push(
                    columns
                        .iter()
                        .map(|c| {
                            v.get(c).map_or_else(
                                || "-".to_owned(),
                                |x| {
                                    if x.is_null() {
                                        "-".to_owned()
                                    } else {
                                        truncate(&filter::text(x), 60)
                                    }
                                },
                            )
                        })
                        .collect(),
                );
            }
            write_table(&table, out)?;
        }
    }
    out.flush()?;
    Ok(rows.len())
}

/// Writes whole records in the default schema, streaming.
fn write_records(
    rows: impl Iterator<Item = Result<(PageRecord, Value), StoreError>>,
    format: Format,
    out: &mut dyn Write,
) -> Result<usize, QueryError> {
    let mut n = 0;
    match format {
        Format::Jsonl => {
            for r in rows {
                let (r, _) = r?;
                serde_json::to_writer(&mut *out, &PageView::of(&r))
                    .map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                n += 1;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            for r in rows {
                let (r, _) = r?;
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
                let (r, _) = r?;
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
        for key in
            ["url", "status", "content_type", "depth", "title", "bytes", "outlinks", "outcome"]
        {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["fetched_at"], "1970-01-01T00:00:00.000Z");

        let a =
            query(&s, QueryOptions { url_prefix: Some("http://a/".into()), ..Default::default() });
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
            urls(
                &s,
                QueryOptions { wheres: vec!["title~rust".into(), "bytes>=200".into()], ..d() }
            ),
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
        let proj =
            query(&s, QueryOptions { fields: Some("url,title".into()), limit: Some(1), ..d() });
        let v: Value = serde_json::from_str(proj.trim()).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2);
        let csv = query(
            &s,
            QueryOptions { fields: Some("url,status".into()), format: Format::Csv, ..d() },
        );
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
            (QueryOptions { url_regex: Some("(".into()), ..d() }, "--url-regex"),
            (QueryOptions { status: Some("abc".into()), ..d() }, "--status"),
            (QueryOptions { outcome: Some("great".into()), ..d() }, "--outcome"),
            (QueryOptions { wheres: vec!["nonsense".into()], ..d() }, "--where"),
            (QueryOptions { since: Some("soon".into()), ..d() }, "--since"),
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
            (std::borrow::Cow::Borrowed(*k), std::borrow::Cow::Borrowed(v.as_str()))
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
        assert_eq!(header, CSV_HEADER);
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
        assert_eq!(csv.trim(), CSV_HEADER.join(","));
    }
}
