//! Stored values. Each starts with a version byte so later releases can
//! read (and migrate) older records; the body is bincode 2 (`standard`).

use serde::{Deserialize, Serialize};
use trawl_common::protocol::{FetchOutcome, PageReport};

/// Version of [`PageRecord`]'s encoding.
pub const RECORD_VERSION: u8 = 1;

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
    /// Which worker fetched it.
    pub worker: u32,
}

impl PageRecord {
    /// Builds the record for a worker's report.
    pub fn from_report(r: PageReport, worker: u32) -> Self {
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
            worker,
        }
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
        match bytes.split_first() {
            Some((&RECORD_VERSION, body)) => {
                let cfg = bincode::config::standard().with_limit::<DECODE_LIMIT>();
                bincode::serde::decode_from_slice(body, cfg)
                    .map(|(r, _)| r)
                    .map_err(|e| e.to_string())
            }
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
}
