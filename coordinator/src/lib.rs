//! trawl's coordinator: the one process that owns crawl state. It spawns
//! and supervises worker processes, decides what is fetched next, and is
//! the only writer of the sled store.
//!
//! # Layout
//! - [`crawl`]: `run(config, launch, observer)`: wires everything together
//!   and returns a [`CrawlSummary`].
//! - [`frontier`]: sync core: seen-set, per-host breadth-first queues,
//!   which host may go next.
//! - [`politeness`]: sync core: per-host delay and concurrency, robots.txt,
//!   429/503 back-off.
//! - [`scheduler`]: the single-owner event loop: credits -> leases, reports
//!   -> frontier and store, worker death -> re-queue.
//! - [`supervisor`]: worker processes: launch, handshake, IPC reader
//!   threads, exit status.
//! - [`store`]: the only sled user: typed page records, a batching writer.
//! - [`query`]: filters and output formats over stored pages.
//! - [`control`]: requests from outside the crawl (API, signals) and the
//!   status report.
//! - [`api`]: the HTTP API on 127.0.0.1: status, scale, seeds, live queries.
//! - [`export`]: the whole store as jsonl, csv or WARC 1.1.
//! - [`progress`]: live counters published by the scheduler.
//! - [`error`]: errors that stop a crawl.

pub mod api;
pub mod cluster_mode;
pub mod control;
mod crawl;
pub mod error;
pub mod export;
pub mod frontier;
pub mod politeness;
pub mod progress;
pub mod query;
pub mod revisit;
mod scheduler;
pub mod store;
pub mod supervisor;

pub use crawl::{CrawlSummary, refresh, run};
pub use error::CoordinatorError;
pub use progress::Progress;
pub use supervisor::WorkerLaunch;
