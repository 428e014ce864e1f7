//! The option groups, one concept each. Every group is declared with
//! [`option_group!`](crate::option_group) and resolves its own fields.

mod api;
mod cluster;
mod fetch;
mod limits;
mod output;
mod politeness;
mod pool;
mod revisit;
mod scope;
mod target;

pub use api::ApiOptions;
pub use cluster::{ClusterConfig, ClusterOptions, DEFAULT_CLUSTER_LEASE, check_url};
pub use fetch::FetchOptions;
pub use limits::LimitOptions;
pub use output::OutputOptions;
pub use politeness::PolitenessOptions;
pub use pool::{MAX_CONCURRENCY, MAX_WORKERS, PoolOptions, Workers};
pub use revisit::{
    DEFAULT_REVISIT, DEFAULT_REVISIT_MAX, DEFAULT_REVISIT_MIN, RevisitConfig, RevisitOptions,
    RevisitRule, glob_matches,
};
pub use scope::ScopeOptions;
pub use target::TargetOptions;
