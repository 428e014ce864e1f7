//! Export of a whole store, offline (`trawl export`) or through a running
//! crawl's API (`/api/export`), the same bytes either way: jsonl and csv
//! are exactly `trawl query`'s output ([`crate::query`]), and WARC 1.1 is
//! written by [`warc`].

mod count;
mod digest;
mod revisit;
pub mod warc;

use crate::query::{self, QueryError, QueryOptions};
use crate::store::StoreError;
use std::io::Write;
use thiserror::Error;

pub use count::ExportCounter;
pub use warc::WarcStats;

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per page.
    Jsonl,
    /// A header row, then one row per page.
    Csv,
    /// Gzipped WARC 1.1, one gzip member per record.
    Warc,
}

impl Format {
    /// Every format's name, as `--format` and `/api/export?format=` take it.
    pub const NAMES: &[&str] = &["jsonl", "csv", "warc"];

    /// The format called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "jsonl" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            "warc" => Some(Self::Warc),
            _ => None,
        }
    }

    /// The HTTP `Content-Type` of an export in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jsonl => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Warc => "application/warc",
        }
    }
}

/// Why an export failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing failed.
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    /// The query behind a jsonl or csv export failed.
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl ExportError {
    /// Did writing fail because the reader went away (a closed pipe or an
    /// API client that disconnected)?
    pub fn is_broken_pipe(&self) -> bool {
        let io = match self {
            Self::Io(e) | Self::Query(QueryError::Output(e)) => e,
            _ => return false,
        };
        io.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportStats {
    /// jsonl or csv: pages written.
    Pages(u64),
    /// WARC: records written and pages left out.
    Warc(WarcStats),
}

/// Writes the whole store in `format` to `out`; `now_ms` (milliseconds
/// since the Unix epoch) dates the WARC's `warcinfo` record, the only part
/// of an export that depends on when it runs.
pub fn run(
    store: &crate::store::Store,
    format: Format,
    now_ms: u64,
    out: &mut dyn Write,
) -> Result<ExportStats, ExportError> {
    let query_format = match format {
        Format::Jsonl => query::Format::Jsonl,
        Format::Csv => query::Format::Csv,
        Format::Warc => return Ok(ExportStats::Warc(warc::write(store, now_ms, out)?)),
    };
    let n = query::run(store, &QueryOptions { format: query_format, ..Default::default() }, out)?;
    out.flush()?;
    Ok(ExportStats::Pages(n as u64))
}
