//! Query scale check: writes N page records (default 100,000) through the
//! store writer, then times typical queries straight from sled and prints
//! the process's RSS, showing that queries stream instead of loading the
//! store.
//!
//! `cargo run --release -p trawl-coordinator --example query_scale -- 100000`
//!
//! With `--keep DIR` it only writes the store into DIR (every record with
//! a `posts` field of 20 pairs, like the demo site's) and exits, so that
//! `trawl query --store DIR ...` can be measured with `/usr/bin/time -v`.

use std::time::Instant;
use trawl_common::protocol::{FetchOutcome, FieldValue};
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::{PageRecord, Store, StoreOp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep = args.iter().position(|a| a == "--keep").and_then(|i| args.get(i + 1)).cloned();
    let n: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(keep.as_deref().map_or(dir.path(), std::path::Path::new))?;
    let writer = store.writer()?;
    let t = Instant::now();
    for i in 0..n {
        let host = i % 20;
        let mut r = PageRecord::unfetched(
            format!("http://site{host}.test/section/{}/page-{i}.html", i % 50),
            u32::try_from(i % 6)?,
            1_700_000_000_000 + i * 10,
            if i % 17 == 0 { FetchOutcome::HttpError } else { FetchOutcome::Ok },
        );
        r.status = Some(if i % 17 == 0 { 404 } else { 200 });
        r.content_type = Some("text/html; charset=utf-8".into());
        r.title = Some(format!("Page {i} about {}", if i % 3 == 0 { "rust" } else { "crawling" }));
        r.bytes = 40_000 + i % 8_000;
        r.outlinks = 60;
        if keep.is_some() {
            let posts =
                (0..20).map(|p| (format!("/post/{i}/{p}"), format!("Post {p} of page {i}")));
            r.fields.insert("posts".into(), FieldValue::Pairs(posts.collect()));
        }
        writer.send(StoreOp::Page {
            record: Box::new(r),
            retire: None,
            enqueue: None,
            body: None,
        })?;
    }
    writer.finish()?;
    println!("wrote {n} records in {:.2} s", t.elapsed().as_secs_f64());
    if keep.is_some() {
        drop(store);
        return Ok(());
    }
    let rss0 = trawl_common::process::rss_bytes();
    let cases: Vec<(&str, QueryOptions)> = vec![
        ("all, jsonl", QueryOptions::default()),
        (
            "url prefix (1 host)",
            QueryOptions { url_prefix: Some("http://site7.test/".into()), ..Default::default() },
        ),
        ("status 4xx", QueryOptions { status: Some("4xx".into()), ..Default::default() }),
        (
            "where title~rust, bytes>45000",
            QueryOptions {
                wheres: vec!["title~rust".into(), "bytes>45000".into()],
                ..Default::default()
            },
        ),
        ("count by host", QueryOptions { count_by: Some("host".into()), ..Default::default() }),
        (
            "sort -bytes limit 10",
            QueryOptions { sort: Some("-bytes".into()), limit: Some(10), ..Default::default() },
        ),
        ("limit 10", QueryOptions { limit: Some(10), format: Format::Csv, ..Default::default() }),
        (
            "fields url,title (streams)",
            QueryOptions { fields: Some("url,title".into()), ..Default::default() },
        ),
    ];
    for (name, opts) in cases {
        let t = Instant::now();
        let mut sink = std::io::sink();
        let rows = query::run(&store, &opts, &mut sink)?;
        println!(
            "{name:<32} {rows:>7} rows in {:>7.1} ms, RSS {:.0} MB",
            t.elapsed().as_secs_f64() * 1000.0,
            trawl_common::process::rss_bytes() as f64 / 1e6
        );
    }
    println!(
        "RSS before queries {:.0} MB, peak {:.0} MB",
        rss0 as f64 / 1e6,
        trawl_common::process::peak_rss_bytes() as f64 / 1e6
    );
    Ok(())
}
