//! Frontier scale check: admits N URLs (default 1,000,000) across 1,000
//! hosts, persisting them through the store writer in page-sized groups of
//! 16 new URLs as a crawl does, with the crawl's default in-memory budget
//! (the rest wait on disk and are read back through the store, as in a
//! crawl), then pops them all. Prints rates and the process's peak RSS.
//!
//! `cargo run --release -p trawl-coordinator --example frontier_scale -- 1000000 [BUDGET]`

use std::time::Instant;
use trawl_common::config::DEFAULT_FRONTIER_MEMORY;
use trawl_coordinator::frontier::{Frontier, Popped};
use trawl_coordinator::politeness::PolitenessConfig;
use trawl_coordinator::store::{QueueReader, Segment, Store, StoreOp};

const GROUP: usize = 16;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let writer = store.writer()?;
    let budget: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(usize::try_from(DEFAULT_FRONTIER_MEMORY)?);
    let reader = QueueReader::new(store.clone(), writer.progress(), false);
    let mut f = Frontier::with_disk(
        PolitenessConfig { agent: "trawl".into(), ..Default::default() },
        budget,
        reader,
    );
    let rss0 = trawl_common::process::rss_bytes();

    let t = Instant::now();
    let mut group: Vec<String> = Vec::with_capacity(GROUP);
    for i in 0..n {
        group.push(format!(
            "http://127.0.0.{}:{}/articles/{}/some-longer-slug-{i}.html",
            i % 4 + 1,
            8000 + i % 250,
            i % 977
        ));
        if group.len() == GROUP || i + 1 == n {
            // One page's worth of new links: one segment, as the scheduler does.
            let depth = u32::try_from(i % 7)?;
            let first_seq = f.next_seq();
            let urls: Vec<String> =
                group.drain(..).filter(|u| f.push(u, depth, first_seq)).collect();
            if !urls.is_empty() {
                writer.send(StoreOp::Enqueue(Segment { depth, first_seq, urls }))?;
            }
        }
    }
    let push = t.elapsed();
    let rss_full = trawl_common::process::rss_bytes();
    println!(
        "queued {} URLs ({} on disk only, budget {budget}): RSS {:.1} MB",
        f.len(),
        f.on_disk(),
        rss_full as f64 / 1e6
    );

    let t = Instant::now();
    let now = Instant::now();
    let mut popped = 0u64;
    while let Some(p) = f.pop(now, true)? {
        if let Popped::Fetch(q) = p {
            f.complete(&q.url, now, Default::default());
        }
        popped += 1;
    }
    let pop = t.elapsed();
    let stats = writer.finish()?;
    println!(
        "RSS after the writer flushed: {:.1} MB",
        trawl_common::process::rss_bytes() as f64 / 1e6
    );
    drop(f);
    drop(store);
    let t = Instant::now();
    let reopened = Store::open(dir.path())?;
    let queued: usize = reopened.queue().map(|s| s.map_or(0, |s| s.urls.len())).sum();
    println!(
        "reopen + scan {queued} queued URLs: {:.2} s, RSS {:.1} MB",
        t.elapsed().as_secs_f64(),
        trawl_common::process::rss_bytes() as f64 / 1e6
    );
    println!(
        "urls {n}: push+persist {:.0}/s, pop {:.0}/s, popped {popped}, batches {}",
        n as f64 / push.as_secs_f64(),
        popped as f64 / pop.as_secs_f64(),
        stats.batches
    );
    println!(
        "RSS: before {:.1} MB, with {n} queued {:.1} MB, peak {:.1} MB",
        rss0 as f64 / 1e6,
        rss_full as f64 / 1e6,
        trawl_common::process::peak_rss_bytes() as f64 / 1e6
    );
    Ok(())
}
