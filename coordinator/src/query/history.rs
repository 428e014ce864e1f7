//! `--history URL`: one page's fetches, oldest first, in any output
//! format, and the history test behind `--gone`.
//!
//! The history lives in the store ([`HistoryEntry`], one per fetch); a
//! query over another source (cluster mode) has none and says so.

use super::QueryError;
use super::compile::{Query, bad};
use super::output::RowWriter;
use crate::store::{Change, HistoryEntry, StoreError};
use serde_json::Value;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

/// The columns of a history row, in output order.
pub const HISTORY_COLUMNS: [&str; 5] =
    ["fetched_at", "status", "change", "content_hash", "changed_fields"];

/// A page's fetch history, oldest first.
pub type HistorySource<'s> = dyn Fn(&str) -> Result<Vec<HistoryEntry>, StoreError> + 's;

/// One entry as output cells ([`HISTORY_COLUMNS`]): the time in RFC 3339,
/// the hash as 16 hex digits.
pub fn history_cells(e: &HistoryEntry) -> Vec<Value> {
    let at = UNIX_EPOCH + Duration::from_millis(e.fetched_at_ms);
    vec![
        Value::from(humantime::format_rfc3339_millis(at).to_string()),
        e.status.map_or(Value::Null, Value::from),
        Value::from(e.change.name()),
        e.content_hash.map_or(Value::Null, |h| Value::from(format!("{h:016x}"))),
        Value::from(e.changed_fields.clone()),
    ]
}

/// Writes the history of `url` (normalized as the crawl stores URLs when
/// it has no history under its own spelling).
pub(crate) fn write(
    q: &Query,
    url: &str,
    history: Option<&HistorySource<'_>>,
    out: &mut dyn Write,
) -> Result<usize, QueryError> {
    let history = history.ok_or_else(|| bad("history", "needs a store (no history here)"))?;
    let mut entries = history(url)?;
    if entries.is_empty()
        && let Ok(parsed) = url::Url::parse(url)
    {
        let normal = trawl_common::url::normalize(parsed);
        if normal.as_str() != url {
            entries = history(normal.as_str())?;
        }
    }
    let columns = HISTORY_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    let mut w = RowWriter::new(q.format, columns, out)?;
    for e in entries.iter().skip(q.offset).take(q.limit) {
        w.row(&history_cells(e))?;
    }
    w.finish()
}

/// Was this 404/410 page there before: has it a `Gone` fetch in its
/// history (a later fetch that found it still missing is `Unchanged`)?
pub(crate) fn is_gone(url: &str, history: &HistorySource<'_>) -> Result<bool, StoreError> {
    Ok(history(url)?.iter().any(|e| e.change == Change::Gone))
}
