//! The one mapping between a store's [`PageRecord`] and the cluster's
//! [`PageRow`] (the same columns, plus the partition and the body), in
//! both directions, so a field added to the record is added here once.

use crate::store::PageRecord;
use trawl_cluster::{PageRow, PartitionId};

/// The row a stored record becomes in `partition`, with its kept body.
pub(super) fn row(r: PageRecord, partition: PartitionId, body: Option<&[u8]>) -> PageRow {
    PageRow {
        url: r.url,
        partition,
        depth: r.depth,
        status: r.status,
        content_type: r.content_type,
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
        body: body.map(<[u8]>::to_vec),
    }
}

/// The record a page row reads back as.
pub(super) fn record(r: PageRow) -> PageRecord {
    PageRecord {
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
        // Cluster mode keeps no revisit state (yet).
        etag: None,
        last_modified: None,
        content_hash: None,
        fields_hash: None,
        changed_at_ms: None,
        revisit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record survives the trip to a row and back, whatever it holds.
    #[test]
    fn a_record_round_trips_through_its_row() {
        let mut r = crate::store::tests::rec("http://a.test/x");
        r.worker = Some(3);
        r.title = Some("t".into());
        r.canonical = Some("http://a.test/c".into());
        let partition = PartitionId::new(7).unwrap();
        let row = row(r.clone(), partition, Some(b"body"));
        assert_eq!((row.partition, row.body.as_deref()), (partition, Some(&b"body"[..])));
        assert_eq!(record(row), r);
    }
}
