//! Running a compiled query over the store: scan, filter, then one of
//! four shapes. Whole records and projections (`--fields`) stream;
//! `--sort` keeps only the best `offset + limit` rows (projected); and
//! `--count-by` keeps one counter per group.

use super::compile::{Query, bad};
use super::filter::text;
use super::history::HistorySource;
use super::output::{RowWriter, write_records};
use super::view::{COLUMNS, PageView, lookup};
use super::{QueryError, QueryOptions};
use crate::store::{PageRecord, Store, StoreError};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::Write;

/// Prints what `opts` selects from `store` to `out`; returns how many rows.
pub fn run(store: &Store, opts: &QueryOptions, out: &mut dyn Write) -> Result<usize, QueryError> {
    let history = |url: &str| store.history(url);
    run_with_history(&|p| Box::new(store.pages_with_prefix(p)), Some(&history), opts, out)
}

/// The records whose URL starts with a prefix, in URL order.
pub type PageSource<'s> =
    dyn Fn(&str) -> Box<dyn Iterator<Item = Result<PageRecord, StoreError>> + 's> + 's;

/// [`run`] over any source of records (the store, or cluster mode's
/// PostgreSQL pages): the same filters, projections and writers.
pub fn run_over(
    source: &PageSource<'_>,
    opts: &QueryOptions,
    out: &mut dyn Write,
) -> Result<usize, QueryError> {
    run_with_history(source, None, opts, out)
}

/// [`run_over`] with the pages' fetch histories, which `--history` and
/// `--gone` need (without them those two are errors naming the flag).
pub fn run_with_history(
    source: &PageSource<'_>,
    history: Option<&HistorySource<'_>>,
    opts: &QueryOptions,
    out: &mut dyn Write,
) -> Result<usize, QueryError> {
    let q = opts.compile()?;
    if let Some(url) = &q.history {
        return super::history::write(&q, url, history, out);
    }
    let gone_history = match (q.filters.gone, history) {
        (false, _) => None,
        (true, Some(h)) => Some(h),
        (true, None) => return Err(bad("gone", "needs a store's fetch history (not here)")),
    };
    // `--count-by` on a column the record holds as is (outcome, status,
    // depth, host...) reads it from the record: building the JSON view of
    // every page (its fields included) was most of a count's time.
    let count_needs_view = q.count_by.as_deref().is_some_and(|by| direct_key_of(by).is_none());
    let needs_view =
        !q.wheres.is_empty() || q.fields.is_some() || q.sort.is_some() || count_needs_view;
    let mut matched = q.prefixes.iter().flat_map(|p| source(p)).filter_map(|r| {
        let r = match r {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        if !q.filters.matches(&r) {
            return None;
        }
        if let Some(h) = gone_history {
            match super::history::is_gone(&r.url, h) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let view = if needs_view { PageView::value(&r) } else { Value::Null };
        q.wheres.iter().all(|w| w.matches(&view)).then_some(Ok((r, view)))
    });
    let columns: Vec<String> = match (&q.count_by, &q.fields) {
        (Some(by), _) => vec![by.clone(), "count".to_owned()],
        (None, Some(f)) => f.clone(),
        (None, None) => COLUMNS.iter().map(|s| (*s).to_owned()).collect(),
    };

    if let Some(by) = &q.count_by {
        let rows = count(&mut matched, by, &q)?;
        let mut w = RowWriter::new(q.format, columns, out)?;
        for (key, n) in rows {
            w.row(&[key, Value::from(n)])?;
        }
        return w.finish();
    }
    if let Some((field, desc)) = &q.sort {
        let rows = top_k(&mut matched, field, *desc, &columns, &q)?;
        let mut w = RowWriter::new(q.format, columns, out)?;
        for cells in rows {
            w.row(&cells)?;
        }
        return w.finish();
    }
    let page = matched.skip(q.offset).take(q.limit);
    if q.fields.is_none() {
        // Whole records: nothing is held but the table's rows.
        return write_records(page.map(|r| r.map(|(r, _)| r)), q.format, out);
    }
    // A projection streams too: one row is projected, written and dropped.
    let mut w = RowWriter::new(q.format, columns.clone(), out)?;
    for item in page {
        w.row(&project(&item?.1, &columns))?;
    }
    w.finish()
}

/// The values of `columns` in a page's view, in that order.
fn project(view: &Value, columns: &[String]) -> Vec<Value> {
    columns.iter().map(|c| lookup(view, c).cloned().unwrap_or(Value::Null)).collect()
}

/// Orders two present values: numerically when both are numbers.
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => text(a).cmp(&text(b)),
    }
}

type Matched<'a> = dyn Iterator<Item = Result<(PageRecord, Value), StoreError>> + 'a;

/// The sorted page of projected rows. With a limit only the best
/// `offset + limit` rows are kept: memory is bounded by the page asked
/// for, not by the store. Missing values sort last in either direction.
fn top_k(
    matched: &mut Matched<'_>,
    field: &str,
    desc: bool,
    columns: &[String],
    q: &Query,
) -> Result<Vec<Vec<Value>>, QueryError> {
    let order =
        |a: &(Option<Value>, Vec<Value>), b: &(Option<Value>, Vec<Value>)| match (&a.0, &b.0) {
            (Some(x), Some(y)) => {
                let o = compare(x, y);
                if desc { o.reverse() } else { o }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
    let keep = q.offset.saturating_add(q.limit);
    let mut rows: Vec<(Option<Value>, Vec<Value>)> = Vec::new();
    for item in matched {
        let (_, view) = item?;
        rows.push((lookup(&view, field).cloned(), project(&view, columns)));
        if keep < usize::MAX / 4 && rows.len() >= keep.max(512) * 2 {
            // Stable sorts keep store (URL) order among equal keys.
            rows.sort_by(order);
            rows.truncate(keep);
        }
    }
    rows.sort_by(order);
    Ok(rows.into_iter().skip(q.offset).take(q.limit).map(|(_, cells)| cells).collect())
}

/// The group key of a page for `--count-by`: the field's JSON value
/// (numbers stay numbers), `host` as `host[:port]`, `status_class` as
/// `Nxx`; null when the page has no value.
fn group_key(r: &PageRecord, view: &Value, by: &str) -> Value {
    match direct_key_of(by) {
        Some(key) => key(r),
        None => lookup(view, by).cloned().unwrap_or(Value::Null),
    }
}

fn null_or(v: Option<Value>) -> Value {
    v.unwrap_or(Value::Null)
}

/// How to read a `--count-by` key straight from the record, for the keys
/// that need no view; each gives what the view's column holds (a test
/// checks they agree).
pub(super) fn direct_key_of(by: &str) -> Option<fn(&PageRecord) -> Value> {
    let key: fn(&PageRecord) -> Value = match by {
        "host" => |r| Value::from(crate::frontier::authority(&r.url)),
        "status_class" => |r| null_or(r.status.map(|s| Value::from(format!("{}xx", s / 100)))),
        "outcome" => |r| Value::from(r.outcome.kind()),
        "status" => |r| null_or(r.status.map(Value::from)),
        "depth" => |r| Value::from(r.depth),
        "worker" => |r| null_or(r.worker.map(Value::from)),
        "content_type" => |r| null_or(r.content_type.clone().map(Value::from)),
        _ => return None,
    };
    Some(key)
}

/// `(key, count)` per group, largest first, then by key; paged.
fn count(matched: &mut Matched<'_>, by: &str, q: &Query) -> Result<Vec<(Value, u64)>, QueryError> {
    // Keyed by the key's JSON text: `Value` is not `Ord`.
    let mut groups: BTreeMap<String, (Value, u64)> = BTreeMap::new();
    for item in matched {
        let (r, view) = item?;
        let key = group_key(&r, &view, by);
        groups.entry(key.to_string()).or_insert((key, 0)).1 += 1;
    }
    let mut rows: Vec<(Value, u64)> = groups.into_values().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| compare(&a.0, &b.0)));
    Ok(rows.into_iter().skip(q.offset).take(q.limit).collect())
}
