//! trawl's shared vocabulary: everything both sides of the process boundary
//! must agree on, and nothing that needs a runtime or the network.
//!
//! # Layout
//! - [`protocol`]: the typed, versioned IPC contract between the coordinator
//!   and its worker processes (messages, leases, page reports, outcomes).
//! - [`url`]: URL normalization (RFC 3986) and crawl scope.
//! - [`config`]: the resolved, typed crawl configuration, built once.
//! - [`ids`]: newtypes for worker and lease identifiers.
//! - [`process`]: RSS and CPU time of processes, from `/proc`.
//! - [`telemetry`]: tracing subscriber set-up, called by the binary only.
//! - [`error`]: the error types of this crate.

pub mod config;
pub mod error;
pub mod hash;
pub mod ids;
pub mod process;
pub mod protocol;
pub mod telemetry;
pub mod url;

pub use error::{ConfigError, UrlError};
pub use ids::{LeaseId, WorkerId};
