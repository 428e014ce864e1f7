//! Stored values. Each starts with a version byte so later releases can
//! read (and migrate) older records; the body is bincode 2 (`standard`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trawl_common::protocol::{FetchOutcome, FieldValue, PageReport};

/// Version of [`PageRecord`]'s encoding. Older records are still decoded:
/// version 3 (before validators, hashes and revisits), version 2 (worker
/// `u32::MAX` meant "none") and version 1 (before attempts, robots flags,
/// canonical and fields).
pub const RECORD_VERSION: u8 = 4;

/// The worker id versions 1 and 2 stored for "no worker".
const NO_WORKER_V2: u32 = u32::MAX;

/// Upper bound on one decoded record, against corrupt length prefixes.
const DECODE_LIMIT: usize = 16 * 1024 * 1024;

/// One crawled URL, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRecord {
    /// Normalized URL (also the key).
    pub url: String,
    /// Final HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// Link distance from the seeds.
    pub depth: u32,
    /// Page title.
    pub title: Option<String>,
    /// Body bytes read.
    pub bytes: u64,
    /// Fetch start, ms since the Unix epoch.
    pub fetched_at_ms: u64,
    /// Fetch plus parse time.
    pub elapsed_ms: u32,
    /// Number of http(s) links on the page.
    pub outlinks: u32,
    /// How the fetch ended.
    pub outcome: FetchOutcome,
    /// Which worker fetched it; `None` if none did (the coordinator
    /// recorded it unfetched: disallowed, robots unreachable, poison).
    pub worker: Option<u32>,
    /// Requests made (1 + retries).
    pub attempts: u8,
    /// `Retry-After` of a final 429/503, in seconds.
    pub retry_after_secs: Option<u32>,
    /// The page asked not to be indexed: title and fields were not kept.
    pub noindex: bool,
    /// The page's meta robots says `nofollow`.
    pub nofollow: bool,
    /// `<link rel=canonical>`, resolved.
    pub canonical: Option<String>,
    /// User-defined fields (`--extract`).
    pub fields: BTreeMap<String, FieldValue>,
    /// The response's `ETag`, sent back as `If-None-Match` on a revisit.
    pub etag: Option<String>,
    /// The response's `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// xxh3-64 of the body bytes (`None`: no body was read).
    pub content_hash: Option<u64>,
    /// xxh3-64 of title and extracted fields: tells "the markup changed,
    /// the data did not" ([`crate::revisit::fields_hash`]).
    pub fields_hash: Option<u64>,
    /// The last fetch at which the content changed (the first fetch
    /// counts), ms since the Unix epoch.
    pub changed_at_ms: Option<u64>,
    /// When to fetch it again; `None` when the crawl is not continuous
    /// (and for records that will not be revisited).
    pub revisit: Option<Revisit>,
}

/// A page's revisit schedule. The store keeps a due-index entry
/// (`keys::due(due_at_ms, url)`) for every record that has one, written
/// in the same batch as the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revisit {
    /// The current interval (adapted on every revisit).
    pub interval_ms: u64,
    /// When the page is due again, ms since the Unix epoch.
    pub due_at_ms: u64,
}

/// The version 3 layout (before validators, hashes and revisits).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct PageRecordV3 {
    url: String,
    status: Option<u16>,
    content_type: Option<String>,
    depth: u32,
    title: Option<String>,
    bytes: u64,
    fetched_at_ms: u64,
    elapsed_ms: u32,
    outlinks: u32,
    outcome: FetchOutcome,
    worker: Option<u32>,
    attempts: u8,
    retry_after_secs: Option<u32>,
    noindex: bool,
    nofollow: bool,
    canonical: Option<String>,
    fields: BTreeMap<String, FieldValue>,
}

impl From<PageRecordV3> for PageRecord {
    fn from(r: PageRecordV3) -> Self {
        Self {
            url: r.url,
            status: r.status,
            content_type: r.content_type,
            depth: r.depth,
            title: r.title,
            bytes: r.bytes,
            fetched_at_ms: r.fetched_at_ms,
            elapsed_ms: r.elapsed_ms,
            outlinks: r.outlinks,
            outcome: r.outcome,
            worker: r.worker,
            attempts: r.attempts,
            retry_after_secs: r.retry_after_secs,
            noindex: r.noindex,
            nofollow: r.nofollow,
            canonical: r.canonical,
            fields: r.fields,
            etag: None,
            last_modified: None,
            content_hash: None,
            fields_hash: None,
            changed_at_ms: None,
            revisit: None,
        }
    }
}

/// The version 2 layout (a plain worker id), decoded and upgraded on read.
#[derive(Deserialize)]
struct PageRecordV2 {
    url: String,
    status: Option<u16>,
    content_type: Option<String>,
    depth: u32,
    title: Option<String>,
    bytes: u64,
    fetched_at_ms: u64,
    elapsed_ms: u32,
    outlinks: u32,
    outcome: FetchOutcome,
    worker: u32,
    attempts: u8,
    retry_after_secs: Option<u32>,
    noindex: bool,
    nofollow: bool,
    canonical: Option<String>,
    fields: BTreeMap<String, FieldValue>,
}

impl From<PageRecordV2> for PageRecord {
    fn from(r: PageRecordV2) -> Self {
        PageRecordV3 {
            url: r.url,
            status: r.status,
            content_type: r.content_type,
            depth: r.depth,
            title: r.title,
            bytes: r.bytes,
            fetched_at_ms: r.fetched_at_ms,
            elapsed_ms: r.elapsed_ms,
            outlinks: r.outlinks,
            outcome: r.outcome,
            worker: (r.worker != NO_WORKER_V2).then_some(r.worker),
            attempts: r.attempts,
            retry_after_secs: r.retry_after_secs,
            noindex: r.noindex,
            nofollow: r.nofollow,
            canonical: r.canonical,
            fields: r.fields,
        }
        .into()
    }
}

/// The version 1 layout, decoded and upgraded on read.
#[derive(Deserialize)]
struct PageRecordV1 {
    url: String,
    status: Option<u16>,
    content_type: Option<String>,
    depth: u32,
    title: Option<String>,
    bytes: u64,
    fetched_at_ms: u64,
    elapsed_ms: u32,
    outlinks: u32,
    outcome: FetchOutcome,
    worker: u32,
}

impl From<PageRecordV1> for PageRecord {
    fn from(r: PageRecordV1) -> Self {
        Self {
            status: r.status,
            content_type: r.content_type,
            title: r.title,
            bytes: r.bytes,
            elapsed_ms: r.elapsed_ms,
            outlinks: r.outlinks,
            worker: (r.worker != NO_WORKER_V2).then_some(r.worker),
            // Version 1 workers made exactly one request.
            attempts: 1,
            ..Self::unfetched(r.url, r.depth, r.fetched_at_ms, r.outcome)
        }
    }
}

impl PageRecord {
    /// A record for a URL that no worker reported on (e.g. poison).
    pub fn unfetched(url: String, depth: u32, at_ms: u64, outcome: FetchOutcome) -> Self {
        Self {
            url,
            status: None,
            content_type: None,
            depth,
            title: None,
            bytes: 0,
            fetched_at_ms: at_ms,
            elapsed_ms: 0,
            outlinks: 0,
            outcome,
            worker: None,
            attempts: 0,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: BTreeMap::new(),
            etag: None,
            last_modified: None,
            content_hash: None,
            fields_hash: None,
            changed_at_ms: None,
            revisit: None,
        }
    }

    /// Builds the record for a worker's report (a first visit: the
    /// revisit path fills in `changed_at_ms` and `revisit`).
    pub fn from_report(r: PageReport, worker: u32) -> Self {
        let fields_hash = crate::revisit::fields_hash(r.title.as_deref(), &r.fields);
        Self {
            url: r.url,
            status: r.status,
            content_type: r.content_type,
            depth: r.depth,
            title: r.title,
            bytes: r.bytes,
            fetched_at_ms: r.fetched_at_ms,
            elapsed_ms: r.elapsed_ms,
            outlinks: r.outlinks,
            outcome: r.outcome,
            worker: Some(worker),
            attempts: r.attempts,
            retry_after_secs: r.retry_after_secs,
            noindex: r.noindex,
            nofollow: r.nofollow,
            canonical: r.canonical,
            fields: r.fields,
            etag: r.etag,
            last_modified: r.last_modified,
            content_hash: r.content_hash,
            fields_hash: r.content_hash.map(|_| fields_hash),
            changed_at_ms: None,
            revisit: None,
        }
    }

    /// The validators to send on a revisit, if the server gave any.
    pub fn validators(&self) -> Option<trawl_common::protocol::Validators> {
        trawl_common::protocol::Validators::new(self.etag.clone(), self.last_modified.clone())
    }

    /// Version byte + bincode body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![RECORD_VERSION];
        // Encoding owned serde data into a Vec cannot fail.
        if let Ok(body) = bincode::serde::encode_to_vec(self, bincode::config::standard()) {
            out.extend_from_slice(&body);
        }
        out
    }

    /// Decodes a stored value.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let cfg = bincode::config::standard().with_limit::<DECODE_LIMIT>();
        match bytes.split_first() {
            Some((&RECORD_VERSION, body)) => bincode::serde::decode_from_slice(body, cfg)
                .map(|(r, _)| r)
                .map_err(|e| e.to_string()),
            Some((3, body)) => bincode::serde::decode_from_slice::<PageRecordV3, _>(body, cfg)
                .map(|(r, _)| r.into())
                .map_err(|e| format!("version 3 record: {e}")),
            Some((2, body)) => bincode::serde::decode_from_slice::<PageRecordV2, _>(body, cfg)
                .map(|(r, _)| r.into())
                .map_err(|e| format!("version 2 record: {e}")),
            Some((1, body)) => bincode::serde::decode_from_slice::<PageRecordV1, _>(body, cfg)
                .map(|(r, _)| r.into())
                .map_err(|e| format!("version 1 record: {e}")),
            Some((v, _)) => Err(format!("unknown record version {v}")),
            None => Err("empty record".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let r = crate::store::tests::rec("http://x/");
        let bytes = r.encode();
        assert_eq!(bytes[0], RECORD_VERSION);
        assert_eq!(PageRecord::decode(&bytes).unwrap(), r);
        let mut bad = bytes.clone();
        bad[0] = 99;
        assert!(PageRecord::decode(&bad).unwrap_err().contains("version 99"));
        assert!(PageRecord::decode(&[]).is_err());
    }

    #[test]
    fn new_fields_round_trip() {
        let mut r = crate::store::tests::rec("http://x/");
        r.attempts = 3;
        r.retry_after_secs = Some(7);
        r.noindex = true;
        r.canonical = Some("http://x/c".into());
        r.fields.insert("a".into(), FieldValue::Pairs(vec![("h".into(), "t".into())]));
        r.fields.insert("b".into(), FieldValue::One(None));
        assert_eq!(PageRecord::decode(&r.encode()).unwrap(), r);
    }

    /// The exact version 1 layout, as the previous release wrote it.
    #[derive(Serialize)]
    struct V1<'a> {
        url: &'a str,
        status: Option<u16>,
        content_type: Option<&'a str>,
        depth: u32,
        title: Option<&'a str>,
        bytes: u64,
        fetched_at_ms: u64,
        elapsed_ms: u32,
        outlinks: u32,
        outcome: FetchOutcome,
        worker: u32,
    }

    #[test]
    fn version_1_records_still_decode() {
        let v1 = V1 {
            url: "http://x/old",
            status: Some(301),
            content_type: None,
            depth: 4,
            title: Some("old"),
            bytes: 12,
            fetched_at_ms: 99,
            elapsed_ms: 5,
            outlinks: 1,
            outcome: FetchOutcome::Redirect { location: "http://x/new".into() },
            worker: 2,
        };
        let mut bytes = vec![1u8];
        bytes.extend(bincode::serde::encode_to_vec(&v1, bincode::config::standard()).unwrap());
        let r = PageRecord::decode(&bytes).unwrap();
        assert_eq!(r.url, "http://x/old");
        assert_eq!(
            (r.status, r.depth, r.title.as_deref(), r.worker),
            (Some(301), 4, Some("old"), Some(2))
        );
        assert_eq!(r.outcome, FetchOutcome::Redirect { location: "http://x/new".into() });
        assert_eq!((r.attempts, r.noindex, r.canonical, r.fields.len()), (1, false, None, 0));
        // A v1 body under the current tag does not decode.
        bytes[0] = RECORD_VERSION;
        assert!(PageRecord::decode(&bytes).is_err());
    }

    /// The exact version 2 layout: `worker: u32`, `u32::MAX` for none.
    #[derive(Serialize)]
    struct V2<'a> {
        url: &'a str,
        status: Option<u16>,
        content_type: Option<&'a str>,
        depth: u32,
        title: Option<&'a str>,
        bytes: u64,
        fetched_at_ms: u64,
        elapsed_ms: u32,
        outlinks: u32,
        outcome: FetchOutcome,
        worker: u32,
        attempts: u8,
        retry_after_secs: Option<u32>,
        noindex: bool,
        nofollow: bool,
        canonical: Option<&'a str>,
        fields: BTreeMap<String, FieldValue>,
    }

    #[test]
    fn version_2_records_still_decode_and_lose_the_sentinel_worker() {
        let v2 = |worker, outcome| {
            let rec = V2 {
                url: "http://x/v2",
                status: Some(200),
                content_type: Some("text/html"),
                depth: 2,
                title: Some("t"),
                bytes: 10,
                fetched_at_ms: 5,
                elapsed_ms: 1,
                outlinks: 3,
                outcome,
                worker,
                attempts: 2,
                retry_after_secs: Some(9),
                noindex: false,
                nofollow: true,
                canonical: Some("http://x/c"),
                fields: BTreeMap::from([("f".into(), FieldValue::One(Some("v".into())))]),
            };
            let mut bytes = vec![2u8];
            bytes.extend(bincode::serde::encode_to_vec(&rec, bincode::config::standard()).unwrap());
            PageRecord::decode(&bytes).unwrap()
        };
        let r = v2(1, FetchOutcome::Ok);
        assert_eq!(
            (r.worker, r.attempts, r.retry_after_secs, r.nofollow),
            (Some(1), 2, Some(9), true)
        );
        assert_eq!(
            (r.canonical.as_deref(), r.fields.len(), r.outlinks),
            (Some("http://x/c"), 1, 3)
        );
        let r = v2(u32::MAX, FetchOutcome::Disallowed);
        assert_eq!((r.worker, r.outcome), (None, FetchOutcome::Disallowed));
    }

    #[test]
    fn version_3_records_still_decode_without_revisit_state() {
        let v3 = PageRecordV3 {
            url: "http://x/v3".into(),
            status: Some(200),
            content_type: Some("text/html".into()),
            depth: 1,
            title: Some("t".into()),
            bytes: 10,
            fetched_at_ms: 5,
            elapsed_ms: 1,
            outlinks: 2,
            outcome: FetchOutcome::Ok,
            worker: Some(3),
            attempts: 1,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: BTreeMap::from([("f".into(), FieldValue::One(Some("v".into())))]),
        };
        let mut bytes = vec![3u8];
        bytes.extend(bincode::serde::encode_to_vec(&v3, bincode::config::standard()).unwrap());
        let r = PageRecord::decode(&bytes).unwrap();
        assert_eq!((r.url.as_str(), r.worker, r.fields.len()), ("http://x/v3", Some(3), 1));
        assert_eq!((r.etag, r.last_modified, r.content_hash), (None, None, None));
        assert_eq!((r.fields_hash, r.changed_at_ms, r.revisit), (None, None, None));
        // A v3 body under the current tag does not decode.
        bytes[0] = RECORD_VERSION;
        assert!(PageRecord::decode(&bytes).is_err());
    }

    #[test]
    fn revisit_state_round_trips() {
        let mut r = crate::store::tests::rec("http://x/");
        r.etag = Some("\"abc\"".into());
        r.last_modified = Some("Wed, 02 Dec 2026 10:00:00 GMT".into());
        r.content_hash = Some(u64::MAX);
        r.fields_hash = Some(7);
        r.changed_at_ms = Some(5);
        r.revisit = Some(Revisit { interval_ms: 60_000, due_at_ms: 60_005 });
        assert_eq!(PageRecord::decode(&r.encode()).unwrap(), r);
        let v = r.validators().unwrap();
        assert_eq!(v.etag.as_deref(), Some("\"abc\""));
        r.etag = None;
        r.last_modified = None;
        assert_eq!(r.validators(), None);
    }

    #[test]
    fn unfetched_records_have_no_worker() {
        let outcome = FetchOutcome::RobotsUnreachable { detail: "refused".into() };
        let r = PageRecord::unfetched("http://x/".into(), 0, 1, outcome.clone());
        assert_eq!(r.worker, None);
        let back = PageRecord::decode(&r.encode()).unwrap();
        assert_eq!((back.worker, back.outcome), (None, outcome));
    }
}
