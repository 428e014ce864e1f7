//! Frontier cost: admitting a page's links (mostly already seen, as in a
//! real crawl), and handing URLs out and completing them.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};
use trawl_coordinator::frontier::{Feedback, Frontier, Popped};
use trawl_coordinator::politeness::PolitenessConfig;

const URLS: u32 = 10_000;
const LINKS_PER_PAGE: u32 = 50;

fn config() -> PolitenessConfig {
    PolitenessConfig { robots: false, agent: "trawl".into(), ..Default::default() }
}

fn url(i: u32) -> String {
    format!("http://127.0.0.1:8080/page/{i}")
}

fn bench(c: &mut Criterion) {
    let urls: Vec<String> = (0..URLS).map(url).collect();
    let mut g = c.benchmark_group("frontier");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);

    // A page's links: ~50 URLs, most seen before.
    g.throughput(Throughput::Elements(u64::from(LINKS_PER_PAGE)));
    g.bench_function("push_page_links_mostly_seen", |b| {
        let mut f = Frontier::new(config());
        for u in &urls {
            f.push(u, 1, 0);
        }
        let mut next = URLS;
        b.iter(|| {
            // 49 seen links and one new one.
            for k in 0..LINKS_PER_PAGE - 1 {
                black_box(f.push(&urls[((next + k * 97) % URLS) as usize], 2, 0));
            }
            black_box(f.push(&url(next), 2, 0));
            next += 1;
        });
    });

    g.throughput(Throughput::Elements(u64::from(URLS)));
    g.bench_function("push_10k_new", |b| {
        b.iter_batched(
            || Frontier::new(config()),
            |mut f| {
                for u in &urls {
                    f.push(u, 1, 0);
                }
                f
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("pop_complete_10k", |b| {
        b.iter_batched(
            || {
                let mut f = Frontier::new(config());
                for u in &urls {
                    f.push(u, 1, 0);
                }
                f
            },
            |mut f| {
                let now = Instant::now();
                while let Some(Popped::Fetch(q) | Popped::Unfetched(q, _)) =
                    f.pop(now, false).unwrap_or_else(|never| match never {})
                {
                    f.complete(&q.url, now, Feedback { status: Some(200), ..Default::default() });
                }
                f
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
