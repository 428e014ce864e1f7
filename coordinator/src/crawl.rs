//! One crawl, start to finish: open the store, start the writer, run the
//! scheduler (which owns the workers), flush, summarise.

use crate::api::{ApiAdvert, ApiServer, ApiState};
use crate::cluster_mode::ClusterNode;
use crate::error::CoordinatorError;
use crate::progress::Progress;
pub(crate) use crate::scheduler::WorkerSummary;
use crate::scheduler::{ProcessLauncher, Scheduler, Tuning};
use crate::store::Store;
use crate::supervisor::{self, WorkerLaunch};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use trawl_common::config::CrawlConfig;
use trawl_common::process;

/// What a finished crawl did.
#[derive(Clone, Debug)]
pub struct CrawlSummary {
    /// Page records stored by this run.
    pub pages: u64,
    /// Distinct URLs discovered (in scope, within depth).
    pub discovered: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Every worker process that ran, in id order.
    pub workers: Vec<WorkerSummary>,
    /// Pages per outcome kind.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Workers respawned after dying.
    pub restarts: u32,
    /// CPU seconds used by the coordinator process.
    pub coordinator_cpu_secs: f64,
    /// CPU seconds used by all worker processes.
    pub worker_cpu_secs: f64,
    /// Coordinator peak RSS in bytes.
    pub coordinator_peak_rss: u64,
    /// Store writer batches.
    pub store_batches: u64,
    /// Stopped by a second signal with leases outstanding.
    pub interrupted: bool,
    /// Pages already stored when this run started (resume).
    pub resumed_pages: u64,
    /// URLs restored from the persistent queue (resume).
    pub resumed_queue: u64,
    /// URLs still queued at the end; a rerun on the same store continues.
    pub left: u64,
    /// Most queued URLs that waited on disk only at once (past
    /// `--frontier-memory`).
    pub peak_on_disk: u64,
    /// Fetches per change kind (`first`, `unchanged`, `not_modified`,
    /// `changed`, `gone`): what revisits found.
    pub changes: BTreeMap<&'static str, u64>,
}

impl CrawlSummary {
    /// Pages per second of wall time.
    pub fn pages_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.pages as f64 / s } else { 0.0 }
    }
}

/// Runs a crawl described by `config`, starting workers with `launch`, and
/// calling `observe` with progress about ten times a second. A store whose
/// filesystem fills up stops the crawl with [`CoordinatorError::StoreFull`].
pub fn run(
    config: &CrawlConfig,
    launch: &WorkerLaunch,
    observe: &mut dyn FnMut(&Progress),
) -> Result<CrawlSummary, CoordinatorError> {
    // One IPC channel (several descriptors) per worker, the store's files
    // and the API's connections; workers inherit the raised limit.
    process::raise_open_files_limit();
    crawl(config, launch, None, observe).map_err(|e| e.or_store_full(&config.store))
}

/// `trawl refresh`: fetches these stored pages of `config.store` again,
/// once (links are not followed), comparing each with its stored record,
/// keeping its history and writing its next due time. Otherwise a crawl
/// like [`run`]: same workers, politeness, store writer and summary.
pub fn refresh(
    config: &CrawlConfig,
    launch: &WorkerLaunch,
    urls: &[String],
    observe: &mut dyn FnMut(&Progress),
) -> Result<CrawlSummary, CoordinatorError> {
    process::raise_open_files_limit();
    crawl(config, launch, Some(urls), observe).map_err(|e| e.or_store_full(&config.store))
}

fn crawl(
    config: &CrawlConfig,
    launch: &WorkerLaunch,
    refresh: Option<&[String]>,
    observe: &mut dyn FnMut(&Progress),
) -> Result<CrawlSummary, CoordinatorError> {
    let started = Instant::now();
    let cpu0 = process::cpu_seconds().unwrap_or(0.0);
    let children0 = process::children_cpu_seconds().unwrap_or(0.0);
    let store_dir = |source| CoordinatorError::StoreDir { path: config.store.clone(), source };
    if config.store.exists() && !config.store.is_dir() {
        return Err(store_dir(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "it exists and is not a directory",
        )));
    }
    std::fs::create_dir_all(&config.store).map_err(store_dir)?;
    let store = Store::open(&config.store)?;
    let writer = store.writer()?;
    // Cluster mode: join first (a bad database fails before any worker
    // starts); the seeds become URL rows, and this machine's frontier is
    // filled from its partitions' rows, so the scheduler gets none itself.
    let mut node = match &config.cluster {
        Some(cc) => Some(ClusterNode::join(config, cc)?),
        None => None,
    };
    let local_config;
    let config = if node.is_some() {
        local_config = CrawlConfig { seeds: Vec::new(), ..config.clone() };
        &local_config
    } else {
        config
    };
    let tuning = Tuning { memory_budget: supervisor::memory_budget(), ..Tuning::default() };
    let launcher = ProcessLauncher::new(launch.clone(), tuning.handshake_timeout);
    let mut scheduler =
        Scheduler::new(config, Box::new(launcher), tuning, &store, &writer, Instant::now())?;
    if let Some(node) = &mut node {
        scheduler.set_cluster(node.start(scheduler.control()));
    }
    if let Some(urls) = refresh {
        scheduler.refresh(urls)?;
    }
    let api = ApiServer::start(
        config.api,
        ApiState {
            control: scheduler.control(),
            store: store.clone(),
            token: config.api_token.clone(),
            scope: std::sync::Arc::new(
                config.scope.matcher().map_err(|e| CoordinatorError::ApiScope(e.to_string()))?,
            ),
            cluster: node.as_ref().and_then(ClusterNode::reader),
        },
    )
    .map_err(|source| CoordinatorError::ApiBind { addr: config.api, source })?;
    if let Err(e) = ApiAdvert::this_process(api.addr()).write(&config.store) {
        tracing::warn!(error = %e, "could not write {}", ApiAdvert::path(&config.store).display());
    }
    let result = scheduler.run(observe);
    if let Some(node) = node {
        node.finish();
    }
    // Unadvertise first: a `trawl query` that no longer finds the API waits
    // for the store's lock to be released instead of calling a closing API.
    ApiAdvert::remove(&config.store);
    api.stop();
    // Flush what was written even if the crawl failed, then report.
    let finished = writer.finish();
    if let Err(e) = &finished
        && e.is_no_space()
    {
        // The last handle's drop would flush once more and may never
        // return on a full disk (see `Store::abandon`).
        store.abandon();
    }
    let writer_stats = finished?;
    let out = result?;
    Ok(CrawlSummary {
        pages: out.pages,
        discovered: out.discovered,
        elapsed: started.elapsed(),
        workers: out.workers,
        outcomes: out.outcomes,
        restarts: out.restarts,
        coordinator_cpu_secs: process::cpu_seconds().unwrap_or(0.0) - cpu0,
        worker_cpu_secs: process::children_cpu_seconds().unwrap_or(0.0) - children0,
        coordinator_peak_rss: process::peak_rss_bytes(),
        store_batches: writer_stats.batches,
        interrupted: out.interrupted,
        resumed_pages: out.resumed_pages,
        resumed_queue: out.resumed_queue,
        left: out.left,
        peak_on_disk: out.peak_on_disk,
        changes: out.changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_common::config::{CrawlOptions, TargetOptions, resolve};

    #[test]
    fn a_store_path_that_is_a_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("store");
        std::fs::write(&file, "not a store").unwrap();
        let target =
            TargetOptions { seeds: vec!["http://127.0.0.1:9/".into()], store: Some(file.clone()) };
        let config = resolve(target, CrawlOptions::default()).unwrap();
        let launch = WorkerLaunch { program: "/nonexistent".into(), args: Vec::new() };
        let err = run(&config, &launch, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, CoordinatorError::StoreDir { path, .. } if *path == file),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("is not a directory") && msg.contains("store"), "{msg}");
    }
}
