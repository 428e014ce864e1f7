//! Store write cost: one atomic batch of 512 page operations (the
//! writer's largest batch), each storing a record, retiring its queue
//! segment and enqueueing a segment of one new URL, as in a crawl of the generated site.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;
use trawl_common::protocol::FetchOutcome;
use trawl_coordinator::store::{PageRecord, Segment, Store, StoreOp};

const BATCH: u64 = 512;

fn ops(start: u64) -> Vec<StoreOp> {
    (start..start + BATCH)
        .map(|i| {
            let mut record = PageRecord::unfetched(
                format!("http://127.0.0.1:8080/page/{i}"),
                9,
                1_700_000_000_000 + i,
                FetchOutcome::Ok,
            );
            record.status = Some(200);
            record.content_type = Some("text/html; charset=utf-8".into());
            record.title = Some(format!("Quiet crawlers and patient queues, part {i}"));
            record.bytes = 44_000;
            record.elapsed_ms = 3;
            record.outlinks = 57;
            record.worker = Some(1);
            StoreOp::Page {
                record: Box::new(record),
                retire: Some((9, i)),
                enqueue: Some(Segment {
                    depth: 10,
                    first_seq: i + 1_000_000,
                    urls: vec![format!("http://127.0.0.1:8080/page/{}", i + 1)],
                }),
                body: None,
            }
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
