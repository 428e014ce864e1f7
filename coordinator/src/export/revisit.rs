//! WARC `revisit` records (WARC 1.1 §6.7 and annex on revisit profiles)
//! for the fetches of a page after its last change, from the page's
//! fetch history:
//!
//! - a 304 answer (`not_modified`) is a revisit with the profile
//!   `http://netpreserve.org/warc/1.1/revisit/server-not-modified`, its
//!   block the 304's status line and the validators it answered;
//! - a fetch whose body hashed like the stored one (`unchanged`) uses
//!   `http://netpreserve.org/warc/1.1/revisit/identical-payload-digest`,
//!   with the `WARC-Payload-Digest` of the archived payload and the
//!   stored response head as its block (the payload left out).
//!
//! Both name the archived response with `WARC-Refers-To`,
//! `WARC-Refers-To-Target-URI` and `WARC-Refers-To-Date`. The response
//! record is the fetch of the page's last change (the body the store
//! keeps); fetches before it have no body left to refer to and are not
//! written.

use super::digest;
use super::warc::{Record, record_id, warc_date};
use crate::store::{Change, HistoryEntry, PageRecord};
use std::io::Write;
use trawl_common::protocol::ResponseHead;

/// The archived record revisits refer to.
pub(super) struct Refers {
    /// Its `WARC-Record-ID`.
    pub(super) id: String,
    /// When it was fetched (its `WARC-Date`).
    pub(super) at_ms: u64,
    /// Its `WARC-Payload-Digest` (the body's).
    pub(super) payload_digest: String,
}

/// Profile URI of a revisit whose server answered 304.
pub(crate) const SERVER_NOT_MODIFIED: &str =
    "http://netpreserve.org/warc/1.1/revisit/server-not-modified";
/// Profile URI of a revisit whose payload was identical.
pub(crate) const IDENTICAL_PAYLOAD_DIGEST: &str =
    "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";

/// When the archived response was fetched: the last fetch that changed
/// the page (its first fetch counts), else the record's own fetch time
/// (a store without history).
pub(crate) fn response_at(r: &PageRecord, history: &[HistoryEntry]) -> u64 {
    history.iter().rev().find(|e| e.change.is_change()).map_or(r.fetched_at_ms, |e| e.fetched_at_ms)
}

/// The fetches after `response_at_ms` that found the page unchanged, each
/// with its profile.
pub(crate) fn revisits(
    history: &[HistoryEntry],
    response_at_ms: u64,
) -> impl Iterator<Item = (&HistoryEntry, &'static str)> {
    history.iter().filter(move |e| e.fetched_at_ms > response_at_ms).filter_map(|e| {
        match e.change {
            Change::NotModified => Some((e, SERVER_NOT_MODIFIED)),
            Change::Unchanged => Some((e, IDENTICAL_PAYLOAD_DIGEST)),
            _ => None,
        }
    })
}

/// The block of a revisit: the HTTP response head without a payload.
/// For a 304, its status line and the stored validators; otherwise the
/// stored head (as in the response record, less the payload).
pub(crate) fn block(profile: &str, r: &PageRecord, head: Option<&ResponseHead>) -> Vec<u8> {
    let version = head.map_or("HTTP/1.1", |h| h.version.as_str());
    if profile == SERVER_NOT_MODIFIED {
        let mut b = format!("{version} 304 Not Modified\r\n");
        if let Some(tag) = &r.etag {
            b.push_str(&format!("etag: {tag}\r\n"));
        }
        if let Some(lm) = &r.last_modified {
            b.push_str(&format!("last-modified: {lm}\r\n"));
        }
        b.push_str("\r\n");
        return b.into_bytes();
    }
    let Some(head) = head else {
        return format!("{version} 200 OK\r\n\r\n").into_bytes();
    };
    let mut b = format!("{} {} {}\r\n", head.version, head.status, head.reason).into_bytes();
    for (name, value) in &head.headers {
        if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("content-length")
        {
            continue;
        }
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(b": ");
        b.extend_from_slice(value);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"\r\n");
    b
}

/// Writes one `revisit` record: the fetch at `at_ms` found the page as
/// archived in the record `refers`.
pub(super) fn write(
    out: &mut dyn Write,
    r: &PageRecord,
    at_ms: u64,
    profile: &'static str,
    head: Option<&ResponseHead>,
    refers: &Refers,
) -> std::io::Result<()> {
    let block = block(profile, r, head);
    let mut fields = vec![
        ("WARC-Type", "revisit".to_owned()),
        ("WARC-Record-ID", record_id(&["revisit", &r.url, &at_ms.to_string()])),
        ("WARC-Date", warc_date(at_ms)),
        ("WARC-Target-URI", r.url.clone()),
        ("WARC-Profile", profile.to_owned()),
        ("WARC-Refers-To", refers.id.clone()),
        ("WARC-Refers-To-Target-URI", r.url.clone()),
        ("WARC-Refers-To-Date", warc_date(refers.at_ms)),
        ("WARC-Block-Digest", digest::sha1_base32(&block)),
    ];
    if profile == IDENTICAL_PAYLOAD_DIGEST {
        fields.push(("WARC-Payload-Digest", refers.payload_digest.clone()));
    }
    fields.push(("Content-Type", "application/http;msgtype=response".to_owned()));
    Record { fields, block: &block }.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreOp, Visit};
    use std::io::Read as _;
    use trawl_common::protocol::FetchOutcome;

    fn field<'a>(rec: &'a str, name: &str) -> &'a str {
        rec.lines().find_map(|l| l.strip_prefix(name)).map_or("", str::trim)
    }

    /// First fetch (response), a 304 and an identical body: two revisit
    /// records referring to the response; a later change would start over.
    #[test]
    fn unchanged_fetches_become_revisits_of_the_last_change() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let w = s.writer().unwrap();
        let url = "http://h.test/p";
        let head = ResponseHead {
            version: "HTTP/1.1".into(),
            status: 200,
            reason: "OK".into(),
            headers: vec![("etag".into(), serde_bytes::ByteBuf::from(b"\"v1\"".to_vec()))],
            remote_ip: None,
            request_headers: vec![],
        };
        w.send(StoreOp::Head { url: url.into(), head: Box::new(head) }).unwrap();
        let (t0, t1, t2) = (1_700_000_000_000, 1_700_000_100_000, 1_700_000_200_000);
        for (at, status, change, body) in [
            (t0, 200, Change::First, Some(b"<p>v1</p>".to_vec())),
            (t1, 304, Change::NotModified, None),
            (t2, 200, Change::Unchanged, Some(b"<p>v1</p>".to_vec())),
        ] {
            let mut record = PageRecord::unfetched(url.into(), 0, at, FetchOutcome::Ok);
            record.status = Some(200);
            record.etag = Some("\"v1\"".into());
            record.changed_at_ms = Some(t0);
            let history = HistoryEntry {
                fetched_at_ms: at,
                status: Some(status),
                change,
                content_hash: body.as_ref().map(|_| 7),
                changed_fields: vec![],
            };
            let visit =
                Visit { record, history, unschedule: None, retire: None, enqueue: None, body };
            w.send(StoreOp::Visit(Box::new(visit))).unwrap();
        }
        w.finish().unwrap();
        let mut out = Vec::new();
        super::super::warc::write(&s, t2, &mut out).unwrap();
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&out[..]).read_to_string(&mut text).unwrap();
        let records: Vec<&str> = text.split("WARC/1.1\r\n").skip(1).collect();
        let types: Vec<&str> = records.iter().map(|r| field(r, "WARC-Type:")).collect();
        assert_eq!(types, ["warcinfo", "request", "response", "revisit", "revisit"], "{text}");
        let (resp, nm, same) = (records[2], records[3], records[4]);
        assert_eq!(field(resp, "WARC-Date:"), "2023-11-14T22:13:20Z", "dated at the change");
        for rv in [nm, same] {
            assert_eq!(field(rv, "WARC-Refers-To:"), field(resp, "WARC-Record-ID:"));
            assert_eq!(field(rv, "WARC-Refers-To-Target-URI:"), url);
            assert_eq!(field(rv, "WARC-Refers-To-Date:"), field(resp, "WARC-Date:"));
            assert_eq!(field(rv, "Content-Type:"), "application/http;msgtype=response");
        }
        assert_eq!(field(nm, "WARC-Profile:"), SERVER_NOT_MODIFIED);
        assert_eq!(field(nm, "WARC-Date:"), "2023-11-14T22:15:00Z");
        assert!(nm.contains("\r\n\r\nHTTP/1.1 304 Not Modified\r\netag: \"v1\"\r\n\r\n"), "{nm}");
        assert_eq!(field(nm, "WARC-Payload-Digest:"), "");
        assert_eq!(field(same, "WARC-Profile:"), IDENTICAL_PAYLOAD_DIGEST);
        assert_eq!(field(same, "WARC-Payload-Digest:"), field(resp, "WARC-Payload-Digest:"));
        assert!(same.contains("\r\n\r\nHTTP/1.1 200 OK\r\netag: \"v1\"\r\n\r\n"), "{same}");
        assert_eq!(
            field(same, "WARC-Block-Digest:"),
            super::super::digest::sha1_base32(b"HTTP/1.1 200 OK\r\netag: \"v1\"\r\n\r\n")
        );
    }
}
