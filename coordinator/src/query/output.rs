//! The writers of the three formats. [`write_records`] prints whole
//! records in the default schema; [`RowWriter`] prints projected rows
//! (`--fields`, `--sort`, `--count-by`) with their columns in the order
//! asked. Both stream jsonl and csv row by row; only `table` holds its
//! rows (see [`super::table`]).

use super::filter::text;
use super::table::{MAX_CELL, Table, truncate};
use super::view::{COLUMNS, PageView, csv_view};
use super::{Format, QueryError};
use crate::store::{PageRecord, StoreError};
use serde_json::Value;
use std::io::Write;

/// Columns of the default table (the whole schema does not fit a screen).
const TABLE_HEADER: [&str; 7] = ["URL", "STATUS", "DEPTH", "OUTCOME", "BYTES", "LINKS", "TITLE"];

/// Writes rows of values under named columns.
pub(crate) enum RowWriter<'o> {
    Jsonl { out: &'o mut dyn Write, columns: Vec<String>, rows: usize },
    Csv { w: Box<csv::Writer<&'o mut dyn Write>>, rows: usize },
    Table { out: &'o mut dyn Write, table: Table },
}

impl<'o> RowWriter<'o> {
    /// Starts writing (csv writes its header now).
    pub(crate) fn new(
        format: Format,
        columns: Vec<String>,
        out: &'o mut dyn Write,
    ) -> Result<Self, QueryError> {
        Ok(match format {
            Format::Jsonl => Self::Jsonl { out, columns, rows: 0 },
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(&columns)?;
                Self::Csv { w: Box::new(w), rows: 0 }
            }
            Format::Table => {
                Self::Table { out, table: Table::new(columns.iter().map(|c| c.to_uppercase())) }
            }
        })
    }

    /// Writes one row: `cells[i]` is the value of column `i` (null when
    /// missing).
    pub(crate) fn row(&mut self, cells: &[Value]) -> Result<(), QueryError> {
        match self {
            Self::Jsonl { out, columns, rows } => {
                // Written by hand: a JSON map would reorder the columns.
                out.write_all(b"{")?;
                for (i, (c, v)) in columns.iter().zip(cells).enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut **out, c).map_err(std::io::Error::from)?;
                    out.write_all(b":")?;
                    serde_json::to_writer(&mut **out, v).map_err(std::io::Error::from)?;
                }
                out.write_all(b"}\n")?;
                *rows += 1;
            }
            Self::Csv { w, rows } => {
                w.write_record(
                    cells.iter().map(|v| if v.is_null() { String::new() } else { text(v) }),
                )?;
                *rows += 1;
            }
            Self::Table { table, .. } => {
                table.push(
                    cells.iter().map(|v| {
                        if v.is_null() { "-".into() } else { truncate(&text(v), MAX_CELL) }
                    }),
                );
            }
        }
        Ok(())
    }

    /// Flushes; returns how many rows were written.
    pub(crate) fn finish(self) -> Result<usize, QueryError> {
        match self {
            Self::Jsonl { out, rows, .. } => {
                out.flush()?;
                Ok(rows)
            }
            Self::Csv { mut w, rows } => {
                w.flush()?;
                Ok(rows)
            }
            Self::Table { out, table } => {
                table.write(out)?;
                out.flush()?;
                Ok(table.len())
            }
        }
    }
}

/// Writes whole records in the default schema, streaming.
pub(crate) fn write_records(
    rows: impl Iterator<Item = Result<PageRecord, StoreError>>,
    format: Format,
    out: &mut dyn Write,
) -> Result<usize, QueryError> {
    let mut n = 0;
    match format {
        Format::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut *out, &PageView::of(&r?))
                    .map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                n += 1;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            for r in rows {
                w.serialize(csv_view(&r?))?;
                n += 1;
            }
            if n == 0 {
                w.write_record(COLUMNS)?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut table = Table::new(TABLE_HEADER.iter().map(|s| (*s).to_owned()));
            for r in rows {
                let r = r?;
                table.push([
                    r.url.clone(),
                    r.status.map_or_else(|| "-".into(), |s| s.to_string()),
                    r.depth.to_string(),
                    r.outcome.kind().to_owned(),
                    r.bytes.to_string(),
                    r.outlinks.to_string(),
                    truncate(r.title.as_deref().unwrap_or(""), MAX_CELL),
                ]);
                n += 1;
            }
            table.write(out)?;
        }
    }
    out.flush()?;
    Ok(n)
}
