//! A trap site on 127.0.0.1 (ephemeral ports) and the real [`Fetcher`]
//! driven against it with short timeouts: every trap must end as the right
//! [`FetchOutcome`] within a bounded time, without crashing the worker.
//!
//! HTTP-level traps are axum routes; byte-level ones (trickling, resets,
//! garbage, bodies without a length) are raw TCP servers.

// Test support: a failed set-up step should panic loudly.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use trawl_common::ids::LeaseId;
use trawl_common::protocol::{
    ExtractRule, FetchOutcome, FetchSettings, FieldValue, Lease, LeaseKind, PageReport, Take,
    WorkerSettings,
};
use trawl_common::url::{Scope, ScopeKind, Url};
use trawl_worker::fetch::Fetcher;

const MIB: usize = 1024 * 1024;
/// The body cap used by every test.
const MAX_BYTES: u64 = MIB as u64;

// ---------------------------------------------------------------- the site

#[derive(Default)]
struct Counters {
    flaky: AtomicU32,
    flaky_hits: AtomicU32,
}

struct Site {
    base: Url,
    bomb: Arc<Vec<u8>>,
    counters: Arc<Counters>,
}

#[derive(Clone)]
struct AppState {
    bomb: Arc<Vec<u8>>,
    counters: Arc<Counters>,
}

fn html(body: impl Into<Vec<u8>>) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body.into()).into_response()
}

/// A gzip stream of `n` zero bytes: ~1000:1.
fn gzip_bomb(n: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; MIB];
    for _ in 0..n / MIB {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap()
}

/// Blog listing page `n` of 5: ten posts each, with relative links,
/// entities and whitespace to collapse; page 3 has a `<base href>`.
fn blog_page(n: u32) -> String {
    let mut s = String::from("<!doctype html><html><head><title>Blog</title>");
    if n == 3 {
        s.push_str(r#"<base href="/archive/">"#);
    }
    s.push_str("</head><body><nav><a href=\"/\">home</a></nav><main>");
    for i in 0..10 {
        let id = n * 10 + i;
        s.push_str(&format!(
            "<article class=\"post-item\"><h2><a class=\"post-item-title\" href=\"{}post-{id}.html\">\n  Post {id}: Q&amp;A &lt;{id}&gt;\n</a></h2><p>teaser <a href=\"/tag/x\">tag</a></p></article>",
            if n == 3 { "" } else { "/posts/" },
        ));
    }
    s.push_str("</main></body></html>");
    s
}

/// What [`blog_page`] page `n` must yield, resolved against the site.
fn blog_expected(base: &Url, n: u32) -> Vec<(String, String)> {
    (0..10)
        .map(|i| {
            let id = n * 10 + i;
            let dir = if n == 3 { "archive" } else { "posts" };
            (
                base.join(&format!("/{dir}/post-{id}.html")).unwrap().to_string(),
                format!("Post {id}: Q&A <{id}>"),
            )
        })
        .collect()
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/ok", get(|| async { html("<title>ok</title><a href=/a>a</a>") }))
        .route(
            "/slow-header",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                html("too late")
            }),
        )
        .route(
            "/hop/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    html("<title>landed</title>")
                } else {
                    // Relative Location, resolved by the fetcher.
                    (StatusCode::FOUND, [(header::LOCATION, format!("{}", n - 1))]).into_response()
                }
            }),
        )
        .route("/loop", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/loop")]) }))
        .route(
            "/big-cl",
            get(|| async {
                // 50 MiB with a Content-Length, rejected from the header.
                ([(header::CONTENT_TYPE, "text/html")], vec![b'a'; 50 * MIB]).into_response()
            }),
        )
        .route(
            "/bomb",
            get(|State(s): State<AppState>| async move {
                (
                    [(header::CONTENT_TYPE, "text/html"), (header::CONTENT_ENCODING, "gzip")],
                    s.bomb.as_ref().clone(),
                )
                    .into_response()
            }),
        )
        .route(
            "/binary",
            get(|| async {
                let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
                b.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
                ([(header::CONTENT_TYPE, "text/html")], b).into_response()
            }),
        )
        .route(
            "/latin1",
            get(|| async {
                let body = b"<html><head><meta charset=\"iso-8859-1\"><title>Caf\xe9 cr\xe8me \xbd</title></head>\
                    <body><h1>\xc0 la carte</h1><a href=\"/men\xfc\">menu</a></body></html>"
                    .to_vec();
                // No charset in the header: the meta prescan must find it.
                ([(header::CONTENT_TYPE, "text/html")], body).into_response()
            }),
        )
        .route(
            "/429",
            get(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "slow down") }),
        )
        .route(
            "/429-long",
            get(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "3600")], "come back later") }),
        )
        .route(
            "/503-date",
            get(|| async {
                let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(7200));
                (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, at)], "maintenance").into_response()
            }),
        )
        .route(
            "/flaky",
            get(|State(s): State<AppState>| async move {
                s.counters.flaky_hits.fetch_add(1, Ordering::SeqCst);
                if s.counters.flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                    (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response()
                } else {
                    html("<title>third time lucky</title>")
                }
            }),
        )
        .route("/404", get(|| async { (StatusCode::NOT_FOUND, "nope") }))
        .route(
            "/malformed",
            get(|| async {
                html("<html><title>bad</title><p><a href='x'>x<table><td><a href=y>y</div></span><<>><a href=\"z\" <b>")
            }),
        )
        .route(
            "/deep",
            get(|| async {
                let n = 100_000;
                html(format!("<title>deep</title>{}<a href=/bottom>b</a>{}", "<div>".repeat(n), "</div>".repeat(n)))
            }),
        )
        .route(
            "/robots",
            get(|| async {
                html(r#"<head><title>hidden</title><meta name="robots" content="noindex,nofollow">
                    <link rel="canonical" href="/canon?b=2#x"></head><body><h1>h</h1><a href="/a">a</a></body>"#)
            }),
        )
        .route(
            "/relnofollow",
            get(|| async { html(r#"<a href="/a" rel="nofollow">a</a><a href="/b">b</a><a href="/c" rel="external NOFOLLOW">c</a>"#) }),
        )
        .route("/blog/{n}", get(|Path(n): Path<u32>| async move { html(blog_page(n)) }))
        .with_state(state)
}

async fn site() -> Site {
    // 64 MiB of zeros in ~64 KiB of gzip.
    let bomb = Arc::new(gzip_bomb(64 * MIB));
    let counters = Arc::new(Counters::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(AppState { bomb: bomb.clone(), counters: counters.clone() });
    tokio::spawn(async move { axum::serve(listener, router).await });
    Site { base: Url::parse(&format!("http://{addr}/")).unwrap(), bomb, counters }
}

/// Reads a request head (up to a blank line), so replies are not racing it.
async fn read_head(s: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
}

/// A raw TCP server on its own port; `handle` runs for every connection.
async fn raw<F, Fut>(handle: F) -> Url
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(handle(s));
        }
    });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

// ---------------------------------------------------------------- helpers

fn settings(base: &Url, retries: u8) -> WorkerSettings {
    WorkerSettings {
        concurrency: 4,
        fetch: FetchSettings {
            user_agent: "trawl-traps/1".into(),
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_millis(500),
            total_timeout: Duration::from_secs(2),
            max_bytes: MAX_BYTES,
            retries,
            retry_base: Duration::from_millis(20),
            retry_max_wait: Duration::from_secs(2),
            ..FetchSettings::default()
        },
        scope: Scope::new(ScopeKind::Host, std::slice::from_ref(base)),
        extract: Vec::new(),
        keep_bodies: true,
        ignore_nofollow: false,
    }
}

fn lease(url: &str) -> Lease {
    Lease { id: LeaseId(1), url: url.to_owned(), depth: 0, kind: LeaseKind::Page, validators: None }
}

/// Fetches `path` on `base`; returns the report and the wall time.
async fn fetch(f: &Fetcher, base: &Url, path: &str) -> (PageReport, Duration) {
    let url = base.join(path).unwrap();
    let t = Instant::now();
    let r = f.fetch(&lease(url.as_str())).await;
    let took = t.elapsed();
    // With --keep-bodies, a kept body is exactly what was read.
    if let Some(body) = &r.body {
        assert_eq!(body.len() as u64, r.bytes, "{path}: kept body vs bytes");
    }
    eprintln!(
        "{path:<14} {:>6} ms  outcome={} status={:?} bytes={} attempts={}",
        took.as_millis(),
        r.outcome.kind(),
        r.status,
        r.bytes,
        r.attempts
    );
    (r, took)
}

fn fetcher(s: &WorkerSettings) -> Fetcher {
    Fetcher::new(s).unwrap()
}

/// Generous upper bound: the machine may be loaded, but a trap must never
/// hang a fetch for long.
fn within(took: Duration, max: Duration) {
    assert!(took <= max, "took {took:?}, bound {max:?}");
}

// ---------------------------------------------------------------- timeouts

#[tokio::test]
async fn slow_headers_time_out() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 2));
    let (r, took) = fetch(&f, &s.base, "slow-header").await;
    assert!(matches!(r.outcome, FetchOutcome::Timeout { .. }), "{:?}", r.outcome);
    assert_eq!(r.status, None);
    // A read timeout is not retried: one attempt, ~read_timeout.
    assert_eq!(r.attempts, 1);
    assert!(took >= Duration::from_millis(450));
    within(took, Duration::from_secs(2));
}

#[tokio::test]
async fn trickling_body_hits_the_total_timeout() {
    // Headers at once, then 1 byte every 200 ms: never a 500 ms read gap.
    let base = raw(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n",
            )
            .await;
        loop {
            if s.write_all(b"<").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let f = fetcher(&settings(&base, 2));
    let (r, took) = fetch(&f, &base, "trickle").await;
    assert!(matches!(r.outcome, FetchOutcome::Timeout { .. }), "{:?}", r.outcome);
    assert_eq!(r.status, Some(200));
    assert!((5..=15).contains(&r.bytes), "{} bytes in 2 s", r.bytes);
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    within(took, Duration::from_secs(5));
}

// ---------------------------------------------------------------- connection failures

#[tokio::test]
async fn reset_connection_is_retried_then_connect() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let base = raw(move |s| {
        h.fetch_add(1, Ordering::SeqCst);
        async move {
            // RST instead of FIN: linger 0, then drop (a zero linger never
            // blocks, which is why tokio deprecated the general case).
            #[allow(deprecated)]
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
        }
    })
    .await;
    let f = fetcher(&settings(&base, 2));
    let (r, took) = fetch(&f, &base, "reset").await;
    assert!(matches!(r.outcome, FetchOutcome::Connect { .. }), "{:?}", r.outcome);
    assert_eq!(r.attempts, 3);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    within(took, Duration::from_secs(2));
}

#[tokio::test]
async fn garbage_instead_of_http_is_connect() {
    let base = raw(|mut s| async move {
        read_head(&mut s).await;
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 not http at all\r\n\r\n").await;
    })
    .await;
    let f = fetcher(&settings(&base, 0));
    let (r, took) = fetch(&f, &base, "garbage").await;
    assert!(matches!(r.outcome, FetchOutcome::Connect { .. }), "{:?}", r.outcome);
    assert_eq!(r.attempts, 1);
    within(took, Duration::from_secs(2));
}

#[tokio::test]
async fn refused_connection_is_connect() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = Url::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap();
    drop(l);
    let f = fetcher(&settings(&base, 1));
    let (r, took) = fetch(&f, &base, "x").await;
    assert!(matches!(r.outcome, FetchOutcome::Connect { .. }), "{:?}", r.outcome);
    assert_eq!(r.attempts, 2);
    within(took, Duration::from_secs(2));
}

// ---------------------------------------------------------------- size caps

#[tokio::test]
async fn fifty_mib_with_content_length_is_refused_from_the_header() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 2));
    let (r, took) = fetch(&f, &s.base, "big-cl").await;
    assert_eq!(r.outcome, FetchOutcome::TooLarge { limit: MAX_BYTES });
    assert_eq!((r.status, r.bytes, r.attempts), (Some(200), 0, 1));
    within(took, Duration::from_secs(2));
}

#[tokio::test]
async fn fifty_mib_without_length_is_cut_at_the_cap() {
    let base = raw(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n")
            .await;
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(50 * MIB / chunk.len()) {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    let f = fetcher(&settings(&base, 2));
    let (r, took) = fetch(&f, &base, "big-stream").await;
    assert_eq!(r.outcome, FetchOutcome::TooLarge { limit: MAX_BYTES });
    assert!(r.bytes <= MAX_BYTES && r.bytes > MAX_BYTES / 2, "{}", r.bytes);
    within(took, Duration::from_secs(2));
}

#[tokio::test]
async fn gzip_bomb_is_cut_after_decompression() {
    let s = site().await;
    let compressed = s.bomb.len();
    let f = fetcher(&settings(&s.base, 2));
    let (r, took) = fetch(&f, &s.base, "bomb").await;
    eprintln!(
        "gzip bomb: {compressed} B compressed (64 MiB inflated), cut after {} B in {} ms",
        r.bytes,
        took.as_millis()
    );
    assert_eq!(r.outcome, FetchOutcome::TooLarge { limit: MAX_BYTES });
    assert!(r.bytes <= MAX_BYTES, "{}", r.bytes);
    assert!(compressed < 200 * 1024, "the bomb is small on the wire: {compressed}");
    within(took, Duration::from_secs(2));
}

// ---------------------------------------------------------------- content

#[tokio::test]
async fn binary_labelled_html_is_not_parsed() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 2));
    let (r, _) = fetch(&f, &s.base, "binary").await;
    assert_eq!(r.outcome, FetchOutcome::NotHtml);
    assert_eq!(r.content_type.as_deref(), Some("text/html"));
    assert_eq!(r.bytes, 16 + 4096);
    assert_eq!((r.title, r.links.len()), (None, 0));
}

#[tokio::test]
async fn latin1_page_with_meta_charset() {
    let s = site().await;
    let mut set = settings(&s.base, 0);
    set.extract = vec![ExtractRule {
        name: "h1".into(),
        selector: "h1".into(),
        take: Take::Text,
        pair: None,
        all: false,
    }];
    let f = fetcher(&set);
    let (r, _) = fetch(&f, &s.base, "latin1").await;
    assert_eq!(r.outcome, FetchOutcome::Ok);
    assert_eq!(r.title.as_deref(), Some("Café crème ½"));
    assert_eq!(r.fields["h1"], FieldValue::One(Some("À la carte".into())));
    assert_eq!(r.links, [s.base.join("/men%C3%BC").unwrap().to_string()]);
}

#[tokio::test]
async fn malformed_and_deeply_nested_html() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 0));
    let (r, _) = fetch(&f, &s.base, "malformed").await;
    assert_eq!(r.outcome, FetchOutcome::Ok);
    assert_eq!(r.links.len(), 3, "{:?}", r.links);
    let mut set = settings(&s.base, 0);
    set.extract = vec![ExtractRule {
        name: "inner".into(),
        selector: "body > div".into(),
        take: Take::Html,
        pair: None,
        all: false,
    }];
    // 100k nested divs are 1.1 MB.
    set.fetch.max_bytes = 4 * MAX_BYTES;
    let f = fetcher(&set);
    let (r, took) = fetch(&f, &s.base, "deep").await;
    assert_eq!(r.outcome, FetchOutcome::Ok);
    assert_eq!(r.title.as_deref(), Some("deep"));
    assert_eq!(r.links, [s.base.join("/bottom").unwrap().to_string()]);
    assert!(matches!(&r.fields["inner"], FieldValue::One(Some(h)) if h.starts_with("<div><div>")));
    within(took, Duration::from_secs(20));
}

// ---------------------------------------------------------------- redirects

#[tokio::test]
async fn ten_hop_redirect_chain_is_reported_hop_by_hop() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 0));
    let mut url = s.base.join("/hop/10").unwrap().to_string();
    let mut hops = 0;
    let started = Instant::now();
    loop {
        let r = f.fetch(&lease(&url)).await;
        match r.outcome {
            FetchOutcome::Redirect { location } => {
                hops += 1;
                assert_eq!(r.status, Some(302));
                let expected = s.base.join(&format!("/hop/{}", 10 - hops)).unwrap().to_string();
                assert_eq!(location, expected);
                // In scope: offered to the coordinator as the hop's only link.
                assert_eq!(r.links, [expected]);
                url = location;
            }
            FetchOutcome::Ok => {
                assert_eq!(r.title.as_deref(), Some("landed"));
                break;
            }
            other => panic!("hop {hops}: {other:?}"),
        }
        assert!(hops <= 10);
    }
    assert_eq!(hops, 10);
    within(started.elapsed(), Duration::from_secs(3));
    let (r, _) = fetch(&f, &s.base, "loop").await;
    assert_eq!(
        r.outcome,
        FetchOutcome::Redirect { location: s.base.join("/loop").unwrap().to_string() }
    );
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn five_hundred_twice_then_ok() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 2));
    let (r, took) = fetch(&f, &s.base, "flaky").await;
    assert_eq!(r.outcome, FetchOutcome::Ok);
    assert_eq!((r.status, r.attempts), (Some(200), 3));
    assert_eq!(r.title.as_deref(), Some("third time lucky"));
    assert_eq!(s.counters.flaky_hits.load(Ordering::SeqCst), 3);
    within(took, Duration::from_secs(2));

    // With one retry the page is still failing: recorded as the 500.
    s.counters.flaky.store(0, Ordering::SeqCst);
    let f = fetcher(&settings(&s.base, 1));
    let (r, _) = fetch(&f, &s.base, "flaky").await;
    assert_eq!((r.outcome, r.status, r.attempts), (FetchOutcome::HttpError, Some(500), 2));
    // A 404 is final at once.
    let (r, _) = fetch(&f, &s.base, "404").await;
    assert_eq!((r.outcome, r.status, r.attempts), (FetchOutcome::HttpError, Some(404), 1));
}

#[tokio::test]
async fn too_many_requests_go_straight_to_the_coordinator() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 2));
    // 429/503 throttle the whole host: the worker does not wait them out
    // itself but reports at once, with Retry-After, so the coordinator
    // backs the host off for every worker and re-issues the URL later.
    let (r, took) = fetch(&f, &s.base, "429").await;
    assert_eq!((r.outcome, r.status, r.attempts), (FetchOutcome::HttpError, Some(429), 1));
    assert_eq!(r.retry_after_secs, Some(1));
    within(took, Duration::from_millis(900));

    let (r, took) = fetch(&f, &s.base, "429-long").await;
    assert_eq!((r.status, r.attempts, r.retry_after_secs), (Some(429), 1, Some(3600)));
    within(took, Duration::from_secs(1));
    let (r, _) = fetch(&f, &s.base, "503-date").await;
    assert_eq!((r.status, r.attempts), (Some(503), 1));
    assert!(
        r.retry_after_secs.is_some_and(|s| (7100..=7200).contains(&s)),
        "{:?}",
        r.retry_after_secs
    );
}

// ---------------------------------------------------------------- robots and extraction

#[tokio::test]
async fn robots_directives_and_canonical() {
    let s = site().await;
    let mut set = settings(&s.base, 0);
    set.extract = vec![ExtractRule {
        name: "h".into(),
        selector: "h1".into(),
        take: Take::Text,
        pair: None,
        all: false,
    }];
    let f = fetcher(&set);
    let (r, _) = fetch(&f, &s.base, "robots").await;
    assert_eq!(r.outcome, FetchOutcome::Ok);
    assert!(r.noindex && r.nofollow);
    assert_eq!((r.title.as_deref(), r.fields.len(), r.links.len()), (None, 0, 0));
    assert_eq!(r.outlinks, 1);
    assert_eq!(r.canonical.as_deref(), Some(s.base.join("/canon?b=2").unwrap().as_str()));
    let (r, _) = fetch(&f, &s.base, "relnofollow").await;
    assert_eq!(r.links, [s.base.join("/b").unwrap().to_string()]);

    set.ignore_nofollow = true;
    let f = fetcher(&set);
    let (r, _) = fetch(&f, &s.base, "robots").await;
    assert_eq!((r.noindex, r.title, r.links.len()), (true, None, 1));
    let (r, _) = fetch(&f, &s.base, "relnofollow").await;
    assert_eq!(r.links.len(), 3);
}

#[tokio::test]
async fn blog_listing_extraction_yields_every_pair() {
    let s = site().await;
    let mut set = settings(&s.base, 0);
    let (name, rule) =
        trawl_common::config::FieldRule::parse_flag("posts=a.post-item-title@href+text*").unwrap();
    set.extract = vec![rule.resolve(&name).unwrap()];
    let (name, rule) = trawl_common::config::FieldRule::parse_flag("first=article h2 a").unwrap();
    set.extract.push(rule.resolve(&name).unwrap());
    let f = fetcher(&set);
    for n in 1..=5 {
        let (r, _) = fetch(&f, &s.base, &format!("blog/{n}")).await;
        assert_eq!(r.outcome, FetchOutcome::Ok);
        let expected = blog_expected(&s.base, n);
        assert_eq!(r.fields["posts"], FieldValue::Pairs(expected.clone()), "page {n}");
        assert_eq!(r.fields["first"], FieldValue::One(Some(expected[0].1.clone())));
        // The post links are also crawlable links (plus nav and tag).
        for (href, _) in &expected {
            assert!(r.links.contains(href), "{href} not in {:?}", r.links);
        }
    }
}

#[tokio::test]
async fn plain_page_reports_one_attempt() {
    let s = site().await;
    let f = fetcher(&settings(&s.base, 2));
    let (r, _) = fetch(&f, &s.base, "ok").await;
    assert_eq!((r.outcome, r.attempts, r.retry_after_secs), (FetchOutcome::Ok, 1, None));
    assert!(!r.noindex && !r.nofollow && r.canonical.is_none() && r.fields.is_empty());
}
