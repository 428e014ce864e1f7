//! Extraction cost per page, on a page of the generated site (~44 KB,
//! ~60 links): the scraper parse alone (the floor), and the whole
//! `extract` (parse + title + link resolution, normalization, scope, and
//! the `a.post-item-title` (href, text) pairs).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use trawl_common::config::FieldRule;
use trawl_common::url::{Scope, ScopeKind, Url};
use trawl_site::SiteSpec;
use trawl_worker::extract;

const ORIGIN: &str = "http://127.0.0.1:8080";

fn bench(c: &mut Criterion) {
    let spec = SiteSpec::with_pages(20_000);
    // Page 7 carries a <base href>; 123 does not: bench both kinds.
    let pages: Vec<(Url, String)> = [123u32, 7]
        .iter()
        .map(|&i| {
            let url = Url::parse(&format!("{ORIGIN}{}", spec.path(i))).expect("page url");
            (url, spec.render(i, ORIGIN, "http://localhost:8080"))
        })
        .collect();
    let seed = Url::parse(&format!("{ORIGIN}/")).expect("seed");
    let scope = Scope::new(ScopeKind::Host, &[seed]).matcher().expect("scope");
    // The blog-listing extraction the benchmark crawls with: every post
    // link with its title.
    let (name, rule) = FieldRule::parse_flag("posts=a.post-item-title@href+text*").expect("rule");
    let rules = extract::Rules::new(&[rule.resolve(&name).expect("valid rule")], false);
    let mut g = c.benchmark_group("extract");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    for (url, html) in &pages {
        let name = url.path().trim_start_matches('/').replace('/', "-");
        g.throughput(Throughput::Bytes(html.len() as u64));
        g.bench_function(format!("parse_only/{name}"), |b| {
            b.iter(|| scraper::Html::parse_document(black_box(html)));
        });
        g.bench_function(format!("cap_nesting/{name}"), |b| {
            b.iter(|| extract::cap_nesting(black_box(html), extract::MAX_DEPTH).len());
        });
        g.bench_function(format!("extract/{name}"), |b| {
            b.iter(|| extract::extract(black_box(url), black_box(html), &scope, &rules).ok());
        });
        g.bench_function(format!("decode+extract/{name}"), |b| {
            b.iter(|| {
                let text =
                    extract::decode(black_box(html.as_bytes()), Some("text/html; charset=utf-8"));
                extract::extract(url, &text, &scope, &rules).ok()
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
