//! WARC 1.1 (`.warc.gz`), one gzip member per record, as archivists'
//! tools (warcio, pywb, the Wayback Machine's indexers) expect:
//!
//! - a `warcinfo` record first, the only record that depends on when the
//!   export ran (its date); every other byte is a function of the store,
//!   so an export through a running crawl equals an offline one;
//! - for each page whose body was kept (`--keep-bodies`) together with its
//!   response head: a `request` record and a `response` record, linked
//!   both ways by `WARC-Concurrent-To`, with the status line and header
//!   fields as received, `WARC-IP-Address` (the peer the response came
//!   from), `WARC-Block-Digest` and `WARC-Payload-Digest` (SHA-1, base32);
//! - for a page whose body was kept by an older trawl, which did not keep
//!   response heads: a `resource` record holding the body alone (its
//!   `Content-Type` the stored one), so nothing is invented; the
//!   `warcinfo` record says so.
//!
//! - for each later fetch of a page that found it unchanged (its fetch
//!   history, see `revisit.rs`): a `revisit` record referring to the
//!   response, with the `server-not-modified` profile for a 304 and
//!   `identical-payload-digest` for a body that hashed the same. The
//!   response is then dated at the page's last change, not its last
//!   fetch.
//!
//! The header block is what the server sent except where the stored
//! payload differs from the bytes on the wire: `Transfer-Encoding` is left
//! out (payloads are stored de-chunked) and `Content-Length` is the
//! payload's length (the client removed `Content-Encoding` when it decoded
//! a compressed body). Record ids are name-based UUIDs derived from the
//! URL, the fetch time and the record type: stable across exports.

use super::ExportError;
use super::digest;
use super::revisit;
use crate::store::{PageRecord, Store};
use std::io::Write;
use trawl_common::protocol::ResponseHead;

/// What a WARC export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WarcStats {
    /// `response` records (each with its `request` record).
    pub responses: u64,
    /// `resource` records: bodies kept without a response head.
    pub resources: u64,
    /// Pages left out because no body was kept for them.
    pub without_body: u64,
}

/// One WARC record: its named fields (in order) and its block.
pub(super) struct Record<'a> {
    pub(super) fields: Vec<(&'static str, String)>,
    pub(super) block: &'a [u8],
}

impl Record<'_> {
    /// Writes the record as its own gzip member.
    pub(super) fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"WARC/1.1\r\n")?;
        for (name, value) in &self.fields {
            write!(gz, "{name}: {value}\r\n")?;
        }
        write!(gz, "Content-Length: {}\r\n\r\n", self.block.len())?;
        gz.write_all(self.block)?;
        gz.write_all(b"\r\n\r\n")?;
        out.write_all(&gz.finish()?)
    }
}

/// A name-based (version 5 layout) UUID from `parts`: the same page and
/// record type always get the same id.
pub(super) fn record_id(parts: &[&str]) -> String {
    let mut sum = digest::sha1(parts.join("\n").as_bytes());
    sum[6] = (sum[6] & 0x0f) | 0x50;
    sum[8] = (sum[8] & 0x3f) | 0x80;
    let h: String = sum[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("<urn:uuid:{}-{}-{}-{}-{}>", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// WARC-Date: UTC, second precision (readable by WARC 1.0 tools too).
pub(super) fn warc_date(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(0))
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The `warcinfo` payload.
fn info_fields() -> String {
    format!(
        "software: trawl/{}\r\n\
         format: WARC File Format 1.1\r\n\
         conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
         description: one request and one response record per page whose body and response head \
         were kept (--keep-bodies); response header blocks are as received except that \
         Transfer-Encoding is left out (payloads are stored de-chunked) and Content-Length is the \
         payload's length. Pages kept by an older trawl without their response head are resource \
         records holding the body alone, with the stored Content-Type.\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The `application/http;msgtype=response` block and the payload's offset
/// in it.
fn response_block(head: &ResponseHead, body: &[u8]) -> (Vec<u8>, usize) {
    let mut block = format!("{} {} {}\r\n", head.version, head.status, head.reason).into_bytes();
    for (name, value) in &head.headers {
        if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("content-length")
        {
            continue;
        }
        block.extend_from_slice(name.as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value);
        block.extend_from_slice(b"\r\n");
    }
    block.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    let offset = block.len();
    block.extend_from_slice(body);
    (block, offset)
}

/// The `application/http;msgtype=request` block: the GET the worker sent.
fn request_block(url: &str, head: &ResponseHead) -> Vec<u8> {
    let target = url::Url::parse(url).map_or_else(
        |_| "/".to_owned(),
        |u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
    );
    let version =
        if head.version.starts_with("HTTP/1") { head.version.as_str() } else { "HTTP/1.1" };
    let mut block = format!("GET {target} {version}\r\n").into_bytes();
    for (name, value) in &head.request_headers {
        block.extend_from_slice(name.as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value);
        block.extend_from_slice(b"\r\n");
    }
    block.extend_from_slice(b"\r\n");
    block
}

/// Writes the request and response records of one page.
fn write_exchange(
    out: &mut dyn Write,
    r: &PageRecord,
    at_ms: u64,
    head: &ResponseHead,
    body: &[u8],
) -> std::io::Result<()> {
    let stamp = at_ms.to_string();
    let request_id = record_id(&["request", &r.url, &stamp]);
    let response_id = record_id(&["response", &r.url, &stamp]);
    let date = warc_date(at_ms);
    let request = request_block(&r.url, head);
    let mut fields = vec![
        ("WARC-Type", "request".to_owned()),
        ("WARC-Record-ID", request_id.clone()),
        ("WARC-Date", date.clone()),
        ("WARC-Target-URI", r.url.clone()),
        ("WARC-Concurrent-To", response_id.clone()),
        ("WARC-Block-Digest", digest::sha1_base32(&request)),
        ("Content-Type", "application/http;msgtype=request".to_owned()),
    ];
    Record { fields, block: &request }.write(out)?;
    let (response, payload_at) = response_block(head, body);
    fields = vec![
        ("WARC-Type", "response".to_owned()),
        ("WARC-Record-ID", response_id),
        ("WARC-Date", date),
        ("WARC-Target-URI", r.url.clone()),
        ("WARC-Concurrent-To", request_id),
    ];
    if let Some(ip) = head.remote_ip {
        fields.push(("WARC-IP-Address", ip.to_string()));
    }
    fields.extend([
        ("WARC-Block-Digest", digest::sha1_base32(&response)),
        ("WARC-Payload-Digest", digest::sha1_base32(&response[payload_at..])),
        ("Content-Type", "application/http;msgtype=response".to_owned()),
    ]);
    Record { fields, block: &response }.write(out)
}

/// Writes a body kept without its response head as a `resource` record.
fn write_resource(
    out: &mut dyn Write,
    r: &PageRecord,
    at_ms: u64,
    body: &[u8],
) -> std::io::Result<()> {
    let stamp = at_ms.to_string();
    let digest = digest::sha1_base32(body);
    let fields = vec![
        ("WARC-Type", "resource".to_owned()),
        ("WARC-Record-ID", record_id(&["resource", &r.url, &stamp])),
        ("WARC-Date", warc_date(at_ms)),
        ("WARC-Target-URI", r.url.clone()),
        ("WARC-Block-Digest", digest.clone()),
        ("WARC-Payload-Digest", digest),
        (
            "Content-Type",
            r.content_type.clone().unwrap_or_else(|| "application/octet-stream".to_owned()),
        ),
    ];
    Record { fields, block: body }.write(out)
}

/// Writes the store as gzipped WARC 1.1 to `out`; `now_ms` dates the
/// `warcinfo` record.
pub fn write(store: &Store, now_ms: u64, out: &mut dyn Write) -> Result<WarcStats, ExportError> {
    let pages = store.pages_with_prefix("").map(|record| {
        let record = record?;
        let body = store.body(&record.url)?;
        let (head, history) = match body {
            Some(_) => (store.response_head(&record.url)?, store.history(&record.url)?),
            None => (None, Vec::new()),
        };
        Ok(Kept { record, body, head, history })
    });
    write_over(pages, now_ms, out)
}

/// A stored page with what was kept of its response.
#[derive(Debug)]
pub struct Kept {
    /// The record.
    pub record: PageRecord,
    /// Its body (`--keep-bodies`).
    pub body: Option<Vec<u8>>,
    /// Its response head, kept with the body.
    pub head: Option<ResponseHead>,
    /// Its fetch history (revisits become `revisit` records); empty where
    /// none is kept (cluster mode).
    pub history: Vec<crate::store::HistoryEntry>,
}

/// [`write()`] over any source of pages (a store, or cluster mode's
/// PostgreSQL rows), in the order given.
pub fn write_over(
    pages: impl Iterator<Item = Result<Kept, ExportError>>,
    now_ms: u64,
    out: &mut dyn Write,
) -> Result<WarcStats, ExportError> {
    let info = info_fields();
    let stamp = now_ms.to_string();
    Record {
        fields: vec![
            ("WARC-Type", "warcinfo".to_owned()),
            ("WARC-Record-ID", record_id(&["warcinfo", &stamp])),
            ("WARC-Date", warc_date(now_ms)),
            ("Content-Type", "application/warc-fields".to_owned()),
        ],
        block: info.as_bytes(),
    }
    .write(out)?;
    let mut stats = WarcStats::default();
    for page in pages {
        let Kept { record: r, body, head, history } = page?;
        let Some(body) = body else {
            stats.without_body += 1;
            continue;
        };
        let at_ms = revisit::response_at(&r, &history);
        let kind = match &head {
            Some(head) => {
                write_exchange(out, &r, at_ms, head, &body)?;
                stats.responses += 1;
                "response"
            }
            None => {
                write_resource(out, &r, at_ms, &body)?;
                stats.resources += 1;
                "resource"
            }
        };
        let refers = revisit::Refers {
            id: record_id(&[kind, &r.url, &at_ms.to_string()]),
            at_ms,
            payload_digest: digest::sha1_base32(&body),
        };
        for (entry, profile) in revisit::revisits(&history, at_ms) {
            revisit::write(out, &r, entry.fetched_at_ms, profile, head.as_ref(), &refers)?;
        }
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

    fn page(url: &str) -> PageRecord {
        let mut p = PageRecord::unfetched(url.into(), 0, 1_700_000_000_000, FetchOutcome::Ok);
        p.status = Some(200);
        p.content_type = Some("text/html".into());
        p
    }

    fn head() -> ResponseHead {
        let b = |s: &str| serde_bytes::ByteBuf::from(s.as_bytes().to_vec());
        ResponseHead {
            version: "HTTP/1.1".into(),
            status: 200,
            reason: "Fine".into(),
            headers: vec![
                ("content-type".into(), b("text/html")),
                ("transfer-encoding".into(), b("chunked")),
                ("x-b".into(), b("2")),
                ("x-a".into(), b("1")),
            ],
            remote_ip: Some([127, 0, 0, 9].into()),
            request_headers: vec![("host".into(), b("h.test")), ("user-agent".into(), b("ua"))],
        }
    }

    fn export(s: &Store, now_ms: u64) -> (WarcStats, Vec<u8>, String) {
        let mut out = Vec::new();
        let stats = write(s, now_ms, &mut out).unwrap();
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&out[..]).read_to_string(&mut text).unwrap();
        (stats, out, text)
    }

    /// A page with body and head is a request + response pair; one with
    /// a body but no head (an older store) is a resource record; one
    /// without a body is left out and counted.
    #[test]
    fn exchanges_resources_and_pages_without_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = s.writer().unwrap();
        let body = |b: &[u8]| Some(b.to_vec());
        w.send(StoreOp::Head { url: "http://h.test/a?q=1".into(), head: Box::new(head()) })
            .unwrap();
        for (url, b) in [("http://h.test/a?q=1", body(b"<p>hi</p>")), ("http://h.test/b", None)] {
            w.send(StoreOp::Page {
                record: Box::new(page(url)),
                retire: None,
                enqueue: None,
                body: b,
            })
            .unwrap();
        }
        w.send(StoreOp::Page {
            record: Box::new(page("http://h.test/old")),
            retire: None,
            enqueue: None,
            body: body(b"old"),
        })
        .unwrap();
        w.finish().unwrap();
        let (stats, bytes, text) = export(&s, 1_800_000_000_000);
        assert_eq!(stats, WarcStats { responses: 1, resources: 1, without_body: 1 });
        let records: Vec<&str> = text.split("WARC/1.1\r\n").skip(1).collect();
        assert_eq!(records.len(), 4, "{text}");
        assert!(records[0].starts_with("WARC-Type: warcinfo\r\n"), "{}", records[0]);
        assert!(records[0].contains("WARC-Date: 2027-01-15T08:00:00Z\r\n"));
        let (req, resp, res) = (records[1], records[2], records[3]);
        assert!(req.starts_with("WARC-Type: request\r\n"), "{req}");
        assert!(
            req.contains("\r\n\r\nGET /a?q=1 HTTP/1.1\r\nhost: h.test\r\nuser-agent: ua\r\n\r\n")
        );
        assert!(resp.starts_with("WARC-Type: response\r\n"), "{resp}");
        assert!(resp.contains("WARC-IP-Address: 127.0.0.9\r\n"));
        assert!(resp.contains("WARC-Date: 2023-11-14T22:13:20Z\r\n"));
        assert!(resp.contains(
            "\r\n\r\nHTTP/1.1 200 Fine\r\ncontent-type: text/html\r\nx-b: 2\r\nx-a: 1\r\ncontent-length: 9\r\n\r\n<p>hi</p>\r\n\r\n"
        ), "{resp}");
        let field = |rec: &str, name: &str| {
            rec.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap()
        };
        assert_eq!(field(req, "WARC-Concurrent-To:"), field(resp, "WARC-Record-ID:"));
        assert_eq!(field(resp, "WARC-Concurrent-To:"), field(req, "WARC-Record-ID:"));
        assert_eq!(field(resp, "WARC-Payload-Digest:"), digest::sha1_base32(b"<p>hi</p>"));
        assert!(res.starts_with("WARC-Type: resource\r\n"), "{res}");
        assert!(res.contains("WARC-Target-URI: http://h.test/old\r\n"));
        assert!(res.contains("Content-Type: text/html\r\nContent-Length: 3\r\n\r\nold\r\n\r\n"));
        // Only the warcinfo record depends on when the export ran.
        let (_, again, _) = export(&s, 1_900_000_000_000);
        let after_first = |b: &[u8]| {
            let mut d = flate2::bufread::GzDecoder::new(b);
            std::io::copy(&mut d, &mut std::io::sink()).unwrap();
            d.into_inner().to_vec()
        };
        assert_ne!(bytes, again);
        assert_eq!(after_first(&bytes), after_first(&again));
    }

    #[test]
    fn record_ids_are_uuids_that_depend_on_every_part() {
        let a = record_id(&["response", "http://h/", "1"]);
        assert_eq!(a.len(), "<urn:uuid:>".len() + 36, "{a}");
        assert_eq!(&a[24..25], "5", "{a}");
        assert_ne!(a, record_id(&["request", "http://h/", "1"]));
        assert_ne!(a, record_id(&["response", "http://h/", "2"]));
        assert_eq!(a, record_id(&["response", "http://h/", "1"]));
    }
}
