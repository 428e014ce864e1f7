//! A page's fetch history: one [`HistoryEntry`] per fetch, stored under
//! `keys::history(url, fetched_at_ms)` in the same atomic batch as the
//! page record it goes with. The URL and the time are in the key only, so
//! an unchanged fetch's value is 15 bytes (bincode varints; its key is the
//! URL plus 10).
//!
//! Re-applying the batch of one fetch (a resume after kill -9 re-sends
//! nothing, but a retried batch would) overwrites the same key: one fetch
//! is never stored twice.

use serde::{Deserialize, Serialize};

/// Version byte of [`HistoryEntry`]'s encoding.
pub const HISTORY_VERSION: u8 = 1;

/// Upper bound on one decoded entry, against corrupt length prefixes.
const DECODE_LIMIT: usize = 1024 * 1024;

/// What one fetch found, compared with the stored page before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Change {
    /// The first fetch of the page.
    First,
    /// Fetched again; same body (or, without a body hash, same status).
    Unchanged,
    /// The server answered 304 to the stored validators.
    NotModified,
    /// The body, status or outcome differs from the stored page.
    Changed,
    /// A 404 or 410 on a revisit of a page that was there.
    Gone,
}

impl Change {
    /// Every value of [`Change::name`], in declaration order.
    pub const NAMES: &[&str] = &["first", "unchanged", "not_modified", "changed", "gone"];

    /// Short stable name (query output, JSON).
    pub fn name(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Unchanged => "unchanged",
            Self::NotModified => "not_modified",
            Self::Changed => "changed",
            Self::Gone => "gone",
        }
    }

    /// Did the content change at this fetch (the first fetch counts)?
    pub fn is_change(self) -> bool {
        matches!(self, Self::First | Self::Changed | Self::Gone)
    }
}

/// One fetch of one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Fetch start, ms since the Unix epoch. Stored in the key only (the
    /// value does not repeat it); [`HistoryEntry::decode`] takes it back.
    #[serde(skip)]
    pub fetched_at_ms: u64,
    /// HTTP status, if a response arrived (304 for `NotModified`).
    pub status: Option<u16>,
    /// Changed or not.
    pub change: Change,
    /// xxh3-64 of the body, if one was read.
    pub content_hash: Option<u64>,
    /// The extracted fields (and `title`) whose values changed; empty when
    /// the data did not change (even if the markup did).
    pub changed_fields: Vec<String>,
}

impl HistoryEntry {
    /// Version byte + bincode body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![HISTORY_VERSION];
        // Encoding owned serde data into a Vec cannot fail.
        if let Ok(body) = bincode::serde::encode_to_vec(self, bincode::config::standard()) {
            out.extend_from_slice(&body);
        }
        out
    }

    /// Decodes a stored value, whose key said it is the fetch at
    /// `fetched_at_ms`.
    pub fn decode(bytes: &[u8], fetched_at_ms: u64) -> Result<Self, String> {
        let cfg = bincode::config::standard().with_limit::<DECODE_LIMIT>();
        match bytes.split_first() {
            Some((&HISTORY_VERSION, body)) => bincode::serde::decode_from_slice(body, cfg)
                .map(|(e, _)| Self { fetched_at_ms, ..e })
                .map_err(|e| e.to_string()),
            Some((v, _)) => Err(format!("unknown history version {v}")),
            None => Err("empty history entry".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_fetch_is_a_few_bytes_and_round_trips() {
        let e = HistoryEntry {
            fetched_at_ms: 1_764_680_000_000,
            status: Some(200),
            change: Change::Unchanged,
            content_hash: Some(u64::MAX),
            changed_fields: Vec::new(),
        };
        let bytes = e.encode();
        // 1 version + 2 status + 1 change + 10 hash + 1 empty list.
        assert_eq!(bytes.len(), 15);
        assert_eq!(HistoryEntry::decode(&bytes, e.fetched_at_ms).unwrap(), e);
        let changed = HistoryEntry {
            change: Change::Changed,
            changed_fields: vec!["price".into(), "title".into()],
            ..e
        };
        assert_eq!(
            HistoryEntry::decode(&changed.encode(), changed.fetched_at_ms).unwrap(),
            changed
        );
        assert!(HistoryEntry::decode(&[9, 0], 0).unwrap_err().contains("version 9"));
        assert!(HistoryEntry::decode(&[], 0).is_err());
    }

    #[test]
    fn names_follow_declaration_order() {
        let all =
            [Change::First, Change::Unchanged, Change::NotModified, Change::Changed, Change::Gone];
        let names: Vec<_> = all.iter().map(|c| c.name()).collect();
        assert_eq!(names, Change::NAMES);
        assert_eq!(all.map(Change::is_change), [true, false, false, true, true]);
    }
}
