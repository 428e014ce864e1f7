//! spider-rs doing `trawl bench`'s work, for `bench/compare/run.sh`: crawl
//! one site at concurrency N (robots ignored, no delay), and for every page
//! write its title and every `a.post-item-title` (href, text) pair as one
//! tab-separated line per value to a file. Parsing runs on 2 threads fed
//! by spider's page subscription (the crawl runs on the tokio runtime).
//!
//! Usage: trawl-compare-spider URL CONCURRENCY OUT_FILE
//! Prints `pages=N lagged=N` (lagged: pages the subscription dropped).

use scraper::{Html, Selector};
use spider::website::Website;
use std::io::{BufWriter, Write as _};
use std::sync::{Arc, Mutex, mpsc};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, concurrency, out] = args.as_slice() else {
        eprintln!("usage: trawl-compare-spider URL CONCURRENCY OUT_FILE");
        std::process::exit(2);
    };
    let concurrency: usize = concurrency.parse().expect("CONCURRENCY is a number");
    let out = std::fs::File::create(out).expect("create OUT_FILE");
    let out = Arc::new(Mutex::new(BufWriter::new(out)));

    let mut website = Website::new(url);
    website
        .with_respect_robots_txt(false)
        .with_concurrency_limit(Some(concurrency))
        .with_delay(0);
    let mut rx = website.subscribe(16_384);

    let (tx, pages) = mpsc::sync_channel::<(String, String)>(4_096);
    let pages = Arc::new(Mutex::new(pages));
    let parsers: Vec<_> = (0..2)
        .map(|_| {
            let pages = Arc::clone(&pages);
            let out = Arc::clone(&out);
            std::thread::spawn(move || {
                let title = Selector::parse("title").expect("selector");
                let posts = Selector::parse("a.post-item-title").expect("selector");
                let mut n = 0u64;
                loop {
                    let next = pages.lock().expect("lock").recv();
                    let Ok((url, html)) = next else { break };
                    let doc = Html::parse_document(&html);
                    let mut lines = String::new();
                    let t: String = doc
                        .select(&title)
                        .next()
                        .map(|t| t.text().collect::<String>())
                        .unwrap_or_default();
                    lines.push_str(&format!("{url}\ttitle\t{}\n", t.trim()));
                    for a in doc.select(&posts) {
                        let href = a.value().attr("href").unwrap_or("");
                        let text = a.text().collect::<String>();
                        lines.push_str(&format!("{url}\tpost\t{href}\t{}\n", text.trim()));
                    }
                    out.lock().expect("lock").write_all(lines.as_bytes()).expect("write");
                    n += 1;
                }
                n
            })
        })
        .collect();

    let forward = tokio::spawn(async move {
        let mut lagged = 0u64;
        loop {
            match rx.recv().await {
                Ok(page) => {
                    let url = page.get_url().to_owned();
                    let html = page.get_html();
                    let tx = tx.clone();
                    // A full parse queue blocks this forwarder, not the crawl.
                    tokio::task::block_in_place(|| tx.send((url, html))).expect("parsers alive");
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => lagged += n,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
        lagged
    });

    website.crawl().await;
    website.unsubscribe();
    let lagged = forward.await.expect("forwarder");
    let pages: u64 = parsers.into_iter().map(|p| p.join().expect("parser")).sum();
    out.lock().expect("lock").flush().expect("flush");
    println!("pages={pages} lagged={lagged}");
}
