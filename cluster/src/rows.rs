//! The rows a machine writes: page records, new URLs, crash counts (the
//! parts of a [`crate::Batch`]).

use crate::partition::PartitionId;
use std::collections::BTreeMap;
use trawl_common::protocol::{FetchOutcome, FieldValue};
use trawl_common::url::Url;

/// One crawled URL, as the cluster stores it (the columns of the store's
/// page record; see `deploy/cluster.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct PageRow {
    /// Normalized URL.
    pub url: String,
    /// Its host's partition.
    pub partition: PartitionId,
    /// Link distance from the seeds.
    pub depth: u32,
    /// Final HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
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
    /// Which worker (of this machine) fetched it; `None` if none did.
    pub worker: Option<u32>,
    /// Requests made (1 + retries).
    pub attempts: u8,
    /// `Retry-After` of a final 429/503, in seconds.
    pub retry_after_secs: Option<u32>,
    /// The page asked not to be indexed.
    pub noindex: bool,
    /// The page's meta robots says `nofollow`.
    pub nofollow: bool,
    /// `<link rel=canonical>`, resolved.
    pub canonical: Option<String>,
    /// User-defined fields (`--extract`).
    pub fields: BTreeMap<String, FieldValue>,
    /// The response body (`--keep-bodies` only).
    pub body: Option<Vec<u8>>,
}

/// A URL found on a page, for the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUrl {
    /// Normalized URL.
    pub url: String,
    /// Its host's partition.
    pub partition: PartitionId,
    /// Link distance from the seeds.
    pub depth: u32,
}

impl NewUrl {
    /// The queue entry for `url` at `depth`.
    pub fn new(url: &Url, depth: u32) -> Self {
        Self { url: url.as_str().to_owned(), partition: PartitionId::of_url(url), depth }
    }
}

/// Workers that died holding a URL since the last batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The URL.
    pub url: String,
    /// Its host's partition.
    pub partition: PartitionId,
    /// Deaths to add to its count.
    pub count: u32,
}
