//! Export of a whole store: jsonl and csv (through [`crate::query`]) and
//! WARC 1.1 (`.warc.gz`): one gzip member per record, a `warcinfo`
//! record first, then a `response` record for every page whose body was
//! kept (`--keep-bodies`). The HTTP header block of each response is
//! rebuilt from the stored status and content type.

use crate::store::{PageRecord, Store, StoreError};
use std::io::Write;
use thiserror::Error;
use warc::{RecordBuilder, RecordType, WarcHeader, WarcWriter};

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
    /// A WARC record could not be built.
    #[error("warc record for {url}: {reason}")]
    Warc {
        /// The page.
        url: String,
        /// Why.
        reason: String,
    },
}

/// What a WARC export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WarcStats {
    /// `response` records.
    pub responses: u64,
    /// Pages skipped because no body was kept for them.
    pub without_body: u64,
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// The `application/http;msgtype=response` block of a page.
fn http_block(r: &PageRecord, body: &[u8]) -> Vec<u8> {
    let status = r.status.unwrap_or(200);
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    if let Some(ct) = &r.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut block = head.into_bytes();
    block.extend_from_slice(body);
    block
}

fn gzip_member(
    out: &mut dyn Write,
    build: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    build(&mut gz)?;
    out.write_all(&gz.finish()?)
}

fn record_date(ms: u64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(0)).unwrap_or_default()
}

/// Writes the store as gzipped WARC 1.1 to `out`.
pub fn warc(store: &Store, out: &mut dyn Write) -> Result<WarcStats, ExportError> {
    let info = format!(
        "software: trawl/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let warcinfo = RecordBuilder::default()
        .version("1.1".to_owned())
        .warc_type(RecordType::WarcInfo)
        .header(WarcHeader::ContentType, "application/warc-fields")
        .body(info.into_bytes())
        .build()
        .map_err(|e| ExportError::Warc { url: "warcinfo".into(), reason: e.to_string() })?;
    gzip_member(out, |w| WarcWriter::new(w).write(&warcinfo).map(drop))?;
    let mut stats = WarcStats::default();
    for record in store.pages_with_prefix("") {
        let r = record?;
        let Some(body) = store.body(&r.url)? else {
            stats.without_body += 1;
            continue;
        };
        let rec = RecordBuilder::default()
            .version("1.1".to_owned())
            .warc_type(RecordType::Response)
            .date(record_date(r.fetched_at_ms))
            .header(WarcHeader::TargetURI, r.url.as_str())
            .header(WarcHeader::ContentType, "application/http;msgtype=response")
            .body(http_block(&r, &body))
            .build()
            .map_err(|e| ExportError::Warc { url: r.url.clone(), reason: e.to_string() })?;
        gzip_member(out, |w| WarcWriter::new(w).write(&rec).map(drop))?;
        stats.responses += 1;
    }
    out.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOp;
    use std::io::Read as _;
    use trawl_common::protocol::FetchOutcome;

    #[test]
    fn pages_with_bodies_become_response_records() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = s.writer().unwrap();
        let mut page =
            PageRecord::unfetched("http://h.test/a".into(), 0, 1_700_000_000_000, FetchOutcome::Ok);
        page.status = Some(200);
        page.content_type = Some("text/html".into());
        let mut other = page.clone();
        other.url = "http://h.test/b".into();
        w.send(StoreOp::Page {
            record: Box::new(page),
            retire: None,
            enqueue: None,
            body: Some(b"<p>hi</p>".to_vec()),
        })
        .unwrap();
        w.send(StoreOp::Page { record: Box::new(other), retire: None, enqueue: None, body: None })
            .unwrap();
        w.finish().unwrap();
        let mut out = Vec::new();
        let stats = warc(&s, &mut out).unwrap();
        assert_eq!(stats, WarcStats { responses: 1, without_body: 1 });
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&out[..]).read_to_string(&mut text).unwrap();
        assert!(text.starts_with("WARC/1.1\r\n"), "{text}");
        assert_eq!(text.matches("WARC/1.1\r\n").count(), 2);
        assert!(text.contains("warc-target-uri: http://h.test/a\r\n"));
        assert!(text.contains(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<p>hi</p>"
        ));
        assert!(text.contains("warc-date: 2023-11-14T22:13:20Z"));
    }
}
