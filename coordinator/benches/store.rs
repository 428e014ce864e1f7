//! Store write cost: one atomic batch of 512 page operations (the
//! writer's largest batch), each storing a record, retiring its queue
//! entry and enqueueing one new URL, as in a crawl of the generated site.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;
use trawl_common::protocol::FetchOutcome;
use trawl_coordinator::store::{PageRecord, Store, StoreOp};

const BATCH: u64 = 512;

fn ops(start: u64) -> Vec<StoreOp> {
    (start..start + BATCH)
        .map(|i| StoreOp::Page {
            record: PageRecord {
                url: format!("http://127.0.0.1:8080/page/{i}"),
                status: Some(200),
                content_type: Some("text/html; charset=utf-8".into()),
                depth: 9,
                title: Some(format!("Quiet crawlers and patient queues, part {i}")),
                bytes: 44_000,
                fetched_at_ms: 1_700_000_000_000 + i,
                elapsed_ms: 3,
                outlinks: 57,
                outcome: FetchOutcome::Ok,
                worker: 1,
            },
            done: Some((9, i)),
            enqueue: vec![(10, i + 1_000_000, format!("http://127.0.0.1:8080/page/{}", i + 1))],
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    let mut g = c.benchmark_group("store");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    g.throughput(Throughput::Elements(BATCH));
    let mut next = 0;
    g.bench_function("write_batch_512_pages", |b| {
        b.iter_batched(
            || {
                next += BATCH;
                ops(next)
            },
            |ops| store.write_batch(ops).expect("write"),
            BatchSize::LargeInput,
        );
    });
    g.finish();
    store.flush().expect("flush");
}

criterion_group!(benches, bench);
criterion_main!(benches);
