//! Cluster mode's durable core: one crawl across many machines, its state
//! in PostgreSQL.
//!
//! Without `--cluster`, nothing here is built into the crawl path: the
//! coordinator keeps its embedded sled store. With it, each machine's
//! coordinator crawls the hosts of the partitions it leases and commits
//! its results here. See `deploy/cluster.md` for the design and the
//! tables.
//!
//! # Layout
//!
//! - [`partition`]: host key -> one of [`PARTITIONS`] partitions (pure).
//! - [`schema`]: versioned SQL migrations, applied at join.
//! - [`Cluster`] (`cluster.rs`): the pooled connection and the machine's
//!   row; `leases.rs`: acquire / renew / release with epochs on the
//!   database's clock; `rows.rs`: what a machine writes; `commit.rs`: the
//!   fenced batch commit; `queue.rs`:
//!   takeover loads and the inbox; `robots.rs`; `pages.rs`: reading
//!   records back; `counts.rs`: exact counts kept by the commits;
//!   `status.rs`: what `trawl status --cluster` shows.
//! - `test_pg` (feature `test-support`): a private PostgreSQL server for
//!   tests.
//!
//! This crate depends on `trawl-common` only, so the coordinator can take
//! it as an optional dependency and sled-only builds stay as they are.

mod cluster;
mod commit;
mod counts;
mod error;
mod leases;
mod pages;
pub mod partition;
mod queue;
mod robots;
mod rows;
pub mod schema;
mod status;
#[cfg(feature = "test-support")]
pub mod test_pg;

pub use cluster::{Cluster, MachineId};
pub use commit::{Batch, Committed};
pub use counts::Counts;
pub use error::ClusterError;
pub use leases::{Epoch, Lease};
pub use partition::{PARTITIONS, PartitionId, fair_share};
pub use queue::QueuedUrl;
pub use robots::RobotsRow;
pub use rows::{Crash, NewUrl, PageRow};
pub use status::{Beat, ClusterStatus, MachineStatus};
