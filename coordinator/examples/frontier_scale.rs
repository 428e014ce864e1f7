//! Frontier scale check: admits N URLs (default 1,000,000) across 1,000
//! hosts, persisting them through the store writer in page-sized groups of
//! 16 new URLs as a crawl does, then
//! pops them all. Prints rates and the process's peak RSS.
//!
//! `cargo run --release -p trawl-coordinator --example frontier_scale -- 1000000`

use std::time::Instant;
use trawl_coordinator::frontier::{Frontier, Popped};
use trawl_coordinator::politeness::PolitenessConfig;
use trawl_coordinator::store::{Segment, Store, StoreOp};

const GROUP: usize = 16;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let writer = store.writer()?;
    let mut f = Frontier::new(PolitenessConfig { agent: "trawl".into(), ..Default::default() });
    let rss0 = trawl_common::process::rss_bytes();

    let t = Instant::now();
    let mut group: Vec<String> = Vec::with_capacity(GROUP);
    let persist = std::env::var_os("NO_STORE").is_none();
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
            if persist && !urls.is_empty() {
                writer.send(StoreOp::Enqueue(Segment { depth, first_seq, urls }))?;
            }
        }
    }
    let push = t.elapsed();
    let rss_full = trawl_common::process::rss_bytes();

    let t = Instant::now();
    let now = Instant::now();
    let mut popped = 0u64;
    while let Some(p) = f.pop(now, true) {
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
