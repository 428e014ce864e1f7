//! Counting what an export holds from its bytes, for the summary of an
//! export streamed through a running crawl's API (the bytes are all the
//! client gets): pages for jsonl and csv, records for WARC.

use super::{ExportStats, Format, WarcStats};
use std::io::Write;

/// A `Write` that counts the pages or records of an export in `format`
/// as its bytes pass through.
pub struct ExportCounter {
    format: Format,
    /// Newlines outside quotes (jsonl, csv).
    lines: u64,
    in_quotes: bool,
    /// WARC: the decompressed records, scanned for their `WARC-Type`.
    gunzip: Option<flate2::write::MultiGzDecoder<TypeScanner>>,
}

/// Finds the `WARC-Type` field that [`super::warc`] writes right after
/// each record's version line, in decompressed WARC text.
#[derive(Default)]
struct TypeScanner {
    /// The unfinished line.
    line: Vec<u8>,
    /// The last complete line was a version line.
    after_version: bool,
    stats: WarcStats,
}

impl Write for TypeScanner {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            if b != b'\n' {
                // Only a record's field lines matter; they are short.
                if self.line.len() < 64 {
                    self.line.push(b);
                }
                continue;
            }
            match (self.after_version, self.line.as_slice()) {
                (true, b"WARC-Type: response\r") => self.stats.responses += 1,
                (true, b"WARC-Type: resource\r") => self.stats.resources += 1,
                _ => {}
            }
            self.after_version = self.line == b"WARC/1.1\r";
            self.line.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ExportCounter {
    /// A counter for an export in `format`.
    pub fn new(format: Format) -> Self {
        let gunzip = (format == Format::Warc)
            .then(|| flate2::write::MultiGzDecoder::new(TypeScanner::default()));
        Self { format, lines: 0, in_quotes: false, gunzip }
    }

    /// What the bytes so far hold. A WARC's pages without a body are not
    /// in it: `without_body` is 0.
    pub fn stats(mut self) -> std::io::Result<ExportStats> {
        Ok(match self.gunzip.take() {
            Some(gz) => ExportStats::Warc(gz.finish()?.stats),
            None if self.format == Format::Csv => ExportStats::Pages(self.lines.saturating_sub(1)),
            None => ExportStats::Pages(self.lines),
        })
    }
}

impl Write for ExportCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(gz) = &mut self.gunzip {
            gz.write_all(buf)?;
            return Ok(buf.len());
        }
        let csv = self.format == Format::Csv;
        for &b in buf {
            match b {
                b'"' if csv => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => self.lines += 1,
                _ => {}
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PageRecord, Store, StoreOp};
    use trawl_common::protocol::FetchOutcome;

    /// Counting an export's bytes (in odd-sized pieces) gives what the
    /// export says it wrote, whatever the titles hold.
    #[test]
    fn counting_the_bytes_agrees_with_the_export() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = s.writer().unwrap();
        for i in 0..7u8 {
            let mut p = PageRecord::unfetched(format!("http://h.test/{i}"), 0, 5, FetchOutcome::Ok);
            p.title = Some(format!("a \"quoted\"\nmulti-line, title {i}\r\n"));
            let body = (i % 3 != 0).then(|| vec![i; 10]);
            w.send(StoreOp::Page { record: Box::new(p), retire: None, enqueue: None, body })
                .unwrap();
        }
        w.finish().unwrap();
        for format in [Format::Jsonl, Format::Csv, Format::Warc] {
            let mut out = Vec::new();
            let stats = super::super::run(&s, format, 1, &mut out).unwrap();
            let mut counter = ExportCounter::new(format);
            for piece in out.chunks(7) {
                counter.write_all(piece).unwrap();
            }
            let counted = counter.stats().unwrap();
            let want = match stats {
                ExportStats::Warc(w) => ExportStats::Warc(WarcStats { without_body: 0, ..w }),
                pages => pages,
            };
            assert_eq!(counted, want, "{format:?}");
        }
    }
}
