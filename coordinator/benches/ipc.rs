//! IPC cost of a realistic report batch: 32 `PageReport`s with 50 links
//! and 20 extracted (href, title) pairs each, the most a worker sends in one message. `send_recv`
//! sends and receives on one thread (serialization + syscalls, no
//! wake-ups); `round_trip` has another thread receive it and answer with a
//! credit, as the coordinator's reader thread and a worker do.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipc_channel::ipc;
use std::time::Duration;
use trawl_common::ids::LeaseId;
use trawl_common::protocol::{FetchOutcome, FieldValue, PageReport, ToCoordinator};

fn batch() -> Vec<PageReport> {
    (0..32u64)
        .map(|i| PageReport {
            lease: LeaseId(i),
            url: format!("http://127.0.0.1:8080/page/{}", 1000 + i),
            depth: 9,
            status: Some(200),
            content_type: Some("text/html; charset=utf-8".into()),
            bytes: 44_000,
            fetched_at_ms: 1_700_000_000_000 + i,
            request_started_us: None,
            elapsed_ms: 3,
            outcome: FetchOutcome::Ok,
            title: Some(format!("Quiet crawlers and patient queues, part {i}")),
            outlinks: 57,
            links: (0..50u64)
                .map(|k| format!("http://127.0.0.1:8080/page/{}", (i * 131 + k * 17) % 20_000))
                .collect(),
            text: None,
            sitemaps: Vec::new(),
            attempts: 1,
            retry_after_secs: None,
            noindex: false,
            nofollow: false,
            canonical: None,
            fields: [(
                "posts".to_owned(),
                FieldValue::Pairs(
                    (0..20u64)
                        .map(|k| (format!("http://127.0.0.1:8080/page/{k}"), format!("Post {k}")))
                        .collect(),
                ),
            )]
            .into(),
            body: None,
            response: None,
            etag: None,
            last_modified: None,
            content_hash: None,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let reports = batch();
    let mut g = c.benchmark_group("ipc");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    g.throughput(Throughput::Elements(reports.len() as u64));

    let (tx, rx) = ipc::channel::<ToCoordinator>().expect("channel");
    g.bench_function("send_recv_32_reports", |b| {
        b.iter(|| {
            tx.send(ToCoordinator::Reports { reports: reports.clone(), credit: 32 }).expect("send");
            rx.recv().expect("recv")
        });
    });

    let (tx, rx) = ipc::channel::<ToCoordinator>().expect("channel");
    let (ack_tx, ack_rx) = ipc::channel::<u32>().expect("channel");
    let echo = std::thread::spawn(move || {
        while let Ok(ToCoordinator::Reports { credit, .. }) = rx.recv() {
            if ack_tx.send(credit).is_err() {
                return;
            }
        }
    });
    g.bench_function("round_trip_32_reports", |b| {
        b.iter(|| {
            tx.send(ToCoordinator::Reports { reports: reports.clone(), credit: 32 }).expect("send");
            ack_rx.recv().expect("ack")
        });
    });
    g.finish();
    let _ = tx.send(ToCoordinator::Goodbye);
    let _ = echo.join();
}

criterion_group!(benches, bench);
criterion_main!(benches);
