//! Resume: what a new scheduler takes over from its store. Stored pages
//! are marked seen (never fetched again), persisted queue segments go back
//! into the frontier (empty ones are retired), then the seeds are added.

use super::segments::Segments;
use crate::error::CoordinatorError;
use crate::frontier::Frontier;
use crate::politeness::PolitenessConfig;
use crate::politeness::robots::product_token;
use crate::store::{QueueReader, Store, StoreOp, StoreWriter};
use trawl_common::config::CrawlConfig;

/// The crawl state rebuilt from a store.
pub(crate) struct Resumed {
    pub(crate) frontier: Frontier<QueueReader>,
    pub(crate) segments: Segments,
    /// Pages stored by earlier runs on this store.
    pub(crate) stored_before: u64,
    /// URLs restored from the persistent queue.
    pub(crate) resumed_queue: u64,
}

/// Rebuilds the frontier from `store` and admits the seeds.
pub(crate) fn resume(
    config: &CrawlConfig,
    store: &Store,
    writer: &StoreWriter,
) -> Result<Resumed, CoordinatorError> {
    let politeness = PolitenessConfig {
        delay: config.delay,
        per_host: config.per_host,
        robots: config.robots,
        agent: product_token(&config.fetch.user_agent),
    };
    let resumed = store.page_urls().next().is_some();
    let reader = QueueReader::new(store.clone(), writer.progress(), resumed);
    let mut frontier = Frontier::with_disk(politeness, config.frontier_memory, reader);
    let mut stored_before = 0u64;
    for url in store.page_urls() {
        frontier.mark_seen(&url?);
        stored_before += 1;
    }
    let mut segments = Segments::default();
    let mut empty = Vec::new();
    for seg in store.queue() {
        if let Some(id) = segments.restore(&mut frontier, seg?) {
            empty.push(id);
        }
    }
    if !empty.is_empty() {
        writer.send(StoreOp::Retire(empty))?;
    }
    let resumed_queue = frontier.len() as u64;
    if stored_before + resumed_queue > 0 {
        tracing::info!(stored_before, resumed_queue, "resuming crawl");
    }
    if let Some(seg) = segments.admit(&mut frontier, 0, config.seeds.iter().map(|s| s.as_str())) {
        writer.send(StoreOp::Enqueue(seg))?;
    }
    Ok(Resumed { frontier, segments, stored_before, resumed_queue })
}
