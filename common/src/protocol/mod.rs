//! The IPC contract between the coordinator and its worker processes.
//!
//! Both sides are the same binary, so they always share these types; the
//! version check in [`Hello`] still guards against a stale binary on disk
//! being re-executed after an upgrade.
//!
//! Flow control is explicit: ipc-channel is unbounded, so the coordinator
//! never sends a worker more leases than the worker granted credits for
//! ([`ToCoordinator::Credit`], [`ToCoordinator::Reports`]).
//!
//! Message flow:
//! 1. worker -> [`ToCoordinator::Hello`] (carries the worker's control sender)
//! 2. coordinator -> [`ToWorker::Configure`]
//! 3. worker -> `Credit(n)`; coordinator -> `Assign(leases)` (at most n)
//! 4. worker -> `Reports { reports, credit }` as pages finish
//! 5. coordinator -> `Shutdown`: the worker finishes in-flight leases,
//!    reports them, sends `Goodbye` and exits.

mod extract;
mod report;
mod settings;

pub use extract::{ExtractRule, FieldValue, Take, URL_ATTRS};
pub use report::{FetchOutcome, PageReport, ResponseHead};
pub use settings::{
    DEFAULT_MAX_ATTRIBUTES, DEFAULT_PARSE_CPU_BUDGET, DEFAULT_RETRIES, FetchSettings,
    NetworkPolicy, WorkerSettings,
};

use crate::ids::{LeaseId, WorkerId};
use ipc_channel::ipc::IpcSender;
use serde::{Deserialize, Serialize};

/// Bumped on every change to any message type.
pub const PROTOCOL_VERSION: u32 = 6;

/// Environment variable that carries the one-shot server name to a worker.
pub const CONNECT_ENV: &str = "TRAWL_IPC_CONNECT";

/// Environment variable that carries the worker id to a worker.
pub const WORKER_ID_ENV: &str = "TRAWL_WORKER_ID";

/// What a lease asks the worker to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseKind {
    /// A page: fetch, parse if HTML, report links.
    Page,
    /// A host's robots.txt: follow up to 5 redirects, report the text.
    Robots,
    /// An XML sitemap (or sitemap index, possibly gzipped): report the
    /// page URLs in `links` and child sitemaps in `sitemaps`.
    Sitemap,
}

/// One URL handed to one worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Identifies this hand-out; echoed in the report.
    pub id: LeaseId,
    /// The normalized absolute URL to fetch.
    pub url: String,
    /// Link distance from the nearest seed.
    pub depth: u32,
    /// Page or robots.txt.
    pub kind: LeaseKind,
    /// A revisit's validators from the stored page: the worker makes a
    /// conditional request and a 304 becomes [`FetchOutcome::NotModified`].
    pub validators: Option<Validators>,
}

/// What a server said identifies the version of a page it sent, kept to
/// ask "has it changed?" on the next visit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// `ETag`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

impl Validators {
    /// `None` when there is nothing to send.
    pub fn new(etag: Option<String>, last_modified: Option<String>) -> Option<Self> {
        (etag.is_some() || last_modified.is_some()).then_some(Self { etag, last_modified })
    }
}

/// Messages from the coordinator to a worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// Sent once, right after the handshake.
    Configure(Box<WorkerSettings>),
    /// URLs to fetch; never more than the credits the worker granted.
    Assign(Vec<Lease>),
    /// Finish in-flight work, report it, say `Goodbye` and exit.
    Shutdown,
}

/// The first message a worker sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The id the coordinator gave this worker at spawn.
    pub worker_id: WorkerId,
    /// The worker's process id, checked against the spawned child.
    pub pid: u32,
    /// The coordinator's channel into this worker.
    pub control: IpcSender<ToWorker>,
}

/// Messages from a worker to the coordinator.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToCoordinator {
    /// Handshake; always the first message.
    Hello(Hello),
    /// The worker has this many more free slots.
    Credit(u32),
    /// Finished pages, plus the slots they freed.
    Reports {
        /// One report per finished lease.
        reports: Vec<PageReport>,
        /// Newly free slots.
        credit: u32,
    },
    /// The worker is alive; sent periodically.
    Heartbeat {
        /// Resident set size in bytes, if known.
        rss_bytes: u64,
    },
    /// Orderly exit after `Shutdown`; every lease has been reported.
    Goodbye,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_wire<T: Send + Serialize + serde::de::DeserializeOwned>() {}

    #[test]
    fn messages_are_wire_types() {
        assert_wire::<ToWorker>();
        assert_wire::<ToCoordinator>();
        assert_wire::<PageReport>();
    }

    #[test]
    fn messages_round_trip_over_a_real_channel() {
        let (tx, rx) = ipc_channel::ipc::channel::<ToCoordinator>().unwrap();
        let report = PageReport {
            lease: LeaseId(7),
            url: "http://127.0.0.1/a".into(),
            depth: 2,
            status: Some(200),
            content_type: Some("text/html".into()),
            bytes: 1234,
            fetched_at_ms: 1,
            request_started_us: Some(1_234),
            elapsed_ms: 3,
            outcome: FetchOutcome::Ok,
            title: Some("t".into()),
            outlinks: 9,
            links: vec!["http://127.0.0.1/b".into()],
            text: None,
            sitemaps: Vec::new(),
            attempts: 2,
            retry_after_secs: Some(3),
            noindex: false,
            nofollow: true,
            canonical: Some("http://127.0.0.1/c".into()),
            fields: [
                ("one".to_owned(), FieldValue::One(Some("x".into()))),
                ("none".to_owned(), FieldValue::One(None)),
                ("many".to_owned(), FieldValue::Many(vec!["a".into(), "b".into()])),
                ("pair".to_owned(), FieldValue::Pair(Some(("h".into(), "t".into())))),
                ("pairs".to_owned(), FieldValue::Pairs(vec![("h".into(), "t".into())])),
            ]
            .into(),
            body: Some(serde_bytes::ByteBuf::from(b"<html>".to_vec())),
            response: None,
            etag: Some("\"v1\"".into()),
            last_modified: Some("Wed, 02 Dec 2026 10:00:00 GMT".into()),
            content_hash: Some(0xfeed),
        };
        tx.send(ToCoordinator::Reports { reports: vec![report.clone()], credit: 1 }).unwrap();
        match rx.recv().unwrap() {
            ToCoordinator::Reports { reports, credit } => {
                assert_eq!(credit, 1);
                assert_eq!(reports, vec![report]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
