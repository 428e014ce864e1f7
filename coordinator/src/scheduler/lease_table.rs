//! The lease table: every lease handed out and not yet answered, by id.
//! A lease is one of three kinds; only a page lease carries a queue entry
//! (robots.txt and sitemap fetches are not frontier URLs).

use crate::frontier::Queued;
use std::collections::HashMap;
use trawl_common::ids::LeaseId;
use trawl_common::protocol::{Lease, LeaseKind};

/// A lease handed out and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InFlight {
    /// A frontier URL.
    Page(Queued),
    /// The robots.txt of `host`.
    Robots {
        /// The host's authority, as the frontier keys it.
        host: String,
        /// The robots.txt URL.
        url: String,
    },
    /// A sitemap (`--sitemaps`).
    Sitemap {
        /// Its URL.
        url: String,
    },
}

impl InFlight {
    /// The URL fetched.
    pub(crate) fn url(&self) -> &str {
        match self {
            Self::Page(q) => &q.url,
            Self::Robots { url, .. } | Self::Sitemap { url } => url,
        }
    }

    /// The wire kind and depth of this lease.
    fn wire(&self) -> (LeaseKind, u32) {
        match self {
            Self::Page(q) => (LeaseKind::Page, q.depth),
            Self::Robots { .. } => (LeaseKind::Robots, 0),
            Self::Sitemap { .. } => (LeaseKind::Sitemap, 0),
        }
    }
}

/// Leases in flight, and the next lease id.
#[derive(Debug, Default)]
pub(crate) struct LeaseTable {
    in_flight: HashMap<LeaseId, InFlight>,
    next: u64,
}

impl LeaseTable {
    /// Records `what` under a fresh id and returns the lease to send.
    pub(crate) fn issue(&mut self, what: InFlight) -> Lease {
        let id = LeaseId(self.next);
        self.next += 1;
        let (kind, depth) = what.wire();
        let lease = Lease { id, url: what.url().to_owned(), depth, kind, validators: None };
        self.in_flight.insert(id, what);
        lease
    }

    /// The lease answered or lost: it leaves the table.
    pub(crate) fn take(&mut self, id: LeaseId) -> Option<InFlight> {
        self.in_flight.remove(&id)
    }

    /// Leases in flight.
    pub(crate) fn len(&self) -> usize {
        self.in_flight.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }
}
