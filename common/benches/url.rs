//! URL normalization: parsing seeds, and resolving + normalizing the kinds
//! of hrefs a page holds (what the worker does for every link).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use trawl_common::url::{Url, normalize, parse_crawl_url, resolve_link};

/// One page's worth of hrefs in the forms the generated site uses.
const HREFS: &[&str] = &[
    "/page/7",
    "http://127.0.0.1:8080/page/12",
    "//127.0.0.1:8080/page/13",
    "14",
    "../page/15",
    "/page/16#comments",
    "./",
    "../",
    "http://localhost:8080/ext/1",
    "mailto:someone@example.com",
    "javascript:void(0)",
    "#top",
    "/docs/%7euser/a%2fb?q=%41",
    "HTTP://127.0.0.1:8080/a/./b/../c",
];

fn bench(c: &mut Criterion) {
    let base = Url::parse("http://127.0.0.1:8080/page/123").expect("base");
    let mut g = c.benchmark_group("url");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    g.throughput(Throughput::Elements(HREFS.len() as u64));
    g.bench_function("resolve_link", |b| {
        b.iter(|| {
            HREFS.iter().filter_map(|h| resolve_link(black_box(&base), black_box(h))).count()
        });
    });
    let absolute: Vec<String> =
        HREFS.iter().filter_map(|h| resolve_link(&base, h)).map(String::from).collect();
    g.throughput(Throughput::Elements(absolute.len() as u64));
    g.bench_function("parse_crawl_url", |b| {
        b.iter(|| absolute.iter().filter_map(|u| parse_crawl_url(black_box(u)).ok()).count());
    });
    let parsed: Vec<Url> = absolute.iter().filter_map(|u| Url::parse(u).ok()).collect();
    g.bench_function("normalize", |b| {
        b.iter(|| {
            for u in &parsed {
                black_box(normalize(black_box(u.clone())));
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
