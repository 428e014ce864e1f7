//! `trawl query --cluster`: the query pipeline (`crate::query`) over the
//! page rows in PostgreSQL instead of a store, so every option works the
//! same. Rows are read per URL prefix through a cursor; the records of one
//! prefix are held while they are filtered (a streaming source across the
//! runtime boundary is left for later).

use crate::query::{QueryError, QueryOptions, run_over};
use crate::store::{PageRecord, StoreError};
use std::io::Write;
use trawl_cluster::{Cluster, ClusterError, MachineId};

/// Prints what `opts` selects from the cluster's pages at `url` to `out`.
/// The outer error is the database's, the inner one the query's.
pub fn query(
    url: &str,
    opts: &QueryOptions,
    out: &mut dyn Write,
) -> Result<Result<usize, QueryError>, ClusterError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Config(format!("runtime: {e}")))?;
    let reader = MachineId::new("trawl-query")
        .ok_or_else(|| ClusterError::Config("reader name".to_owned()))?;
    let cluster = Cluster::connect(url, reader)?;
    // Fail on an unreachable database before printing anything.
    rt.block_on(cluster.page_count())?;
    let failed = std::cell::RefCell::new(None);
    let source = |prefix: &str| -> Box<dyn Iterator<Item = Result<PageRecord, StoreError>>> {
        let mut records = Vec::new();
        if let Err(e) = rt.block_on(
            cluster.pages_with_prefix(prefix, |row| records.push(super::rows::record(row))),
        ) {
            *failed.borrow_mut() = Some(e);
        }
        Box::new(records.into_iter().map(Ok))
    };
    let result = run_over(&source, opts, out);
    match failed.into_inner() {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

/// `trawl status --cluster`: the cluster as its database sees it.
pub fn status(url: &str) -> Result<trawl_cluster::ClusterStatus, ClusterError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Config(format!("runtime: {e}")))?;
    let reader = MachineId::new("trawl-status")
        .ok_or_else(|| ClusterError::Config("reader name".to_owned()))?;
    let cluster = Cluster::connect(url, reader)?;
    rt.block_on(cluster.status())
}
