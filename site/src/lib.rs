//! A deterministic, generated blog-like website served on `127.0.0.1`, used
//! by trawl's demo, its end-to-end tests and its benchmarks.
//!
//! # Shape of the site
//!
//! * [`SiteSpec::pages`] pages. Page 0 lives at `/`, page `i > 0` at
//!   `/page/{i}` (decimal, no leading zeros). Nothing else is a page.
//! * Every page is a CMS-style listing: a nav bar (home, newer, older,
//!   latest), exactly [`SiteSpec::posts_per_page`] entries
//!   `<h2><a class="post-item-title" href=…>…</a></h2>` each followed by an
//!   excerpt, a "related" list, three off-site links, a footer, and filler
//!   prose up to about [`SiteSpec::page_bytes`] bytes of HTML.
//! * On-site links are written in a mix of forms that all resolve to real
//!   pages: root-relative (`/page/7`), absolute (`http://127.0.0.1:P/page/7`),
//!   protocol-relative (`//127.0.0.1:P/page/7`), relative (`7` or
//!   `page/7`, depending on the directory the link resolves against),
//!   dot-relative (`../page/7`, `../`, `./`) and with a fragment
//!   (`/page/7#comments`). No link carries a query string.
//! * Pages `i` with `i % 7 == 0` carry a `<base href>`: page 0 and pages
//!   with an even `i / 7` use `{origin}/page/`, the others `{origin}/`, and
//!   their relative links are written against that base (so a crawler that
//!   ignores `<base>` fetches 404s, counted in [`SiteServer::unknown_hits`]).
//! * Page `i` always links to pages `2i+1` and `2i+2` (when they exist) from
//!   its first posts, and to `i-1`/`i+1` from the nav bar, so every page is
//!   reachable from `/`.
//! * Non-crawlable links: `mailto:`, `javascript:void(0)`, `#top` (left out
//!   where the base would turn it into `/page/`), an `<a id>` without href,
//!   and a `<link rel="stylesheet" href="/static/site.css">`.
//! * Off-site links go to `http://localhost:P/ext/{k}`: the same server under
//!   another host name. A crawler scoped to `127.0.0.1:P` must never follow
//!   them; if it does, [`SiteServer::offsite_hits`] counts it.
//! * Some titles and post texts contain `&amp;` or `&#39;`; [`SiteSpec::title`]
//!   and [`SiteSpec::posts`] return the decoded text.
//!
//! All pseudo-randomness comes from a splitmix64 stream keyed by
//! [`SiteSpec::seed`] and the page number, so a page renders identically on
//! every request and in every process.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::future::IntoFuture as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// Shape of the generated site.
#[derive(Clone, Debug)]
pub struct SiteSpec {
    /// Number of pages (default 2000). 0 is treated as 1: `/` always exists.
    pub pages: u32,
    /// Approximate HTML size per page in bytes (default 44 000), reached by
    /// padding with deterministic prose.
    pub page_bytes: usize,
    /// Number of `a.post-item-title` entries per page (default 20).
    pub posts_per_page: u32,
    /// Approximate total number of `<a href>` per page (default 60),
    /// including posts, nav, footer and off-site links.
    pub links_per_page: u32,
    /// Seed of the deterministic pseudo-randomness.
    pub seed: u64,
}

impl Default for SiteSpec {
    fn default() -> Self {
        SiteSpec {
            pages: 2000,
            page_bytes: 44_000,
            posts_per_page: 20,
            links_per_page: 60,
            seed: 0x7472_6177_6c21,
        }
    }
}

#[rustfmt::skip]
const ADJ: &[&str] = &[
    "Quiet", "Rapid", "Gentle", "Curious", "Hidden", "Modern", "Simple", "Patient", "Bold", "Tiny",
    "Careful", "Lazy", "Async", "Sharded", "Frozen", "Wandering",
];
#[rustfmt::skip]
const NOUN: &[&str] = &[
    "crawlers", "queues", "gardens", "rivers", "parsers", "sockets", "lanterns", "archives",
    "workers", "maps", "indexes", "letters", "bridges", "kernels", "spiders", "caches",
];
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "a", "crawler", "walks", "through", "every", "page", "and", "notes", "what", "it",
    "finds", "while", "quiet", "workers", "hum", "in", "background", "of", "small", "server",
    "links", "lead", "to", "other", "places", "some", "near", "far", "away", "careful", "readers",
    "follow", "them", "slowly", "with", "patience", "queue", "grows", "shrinks", "again", "under",
    "evening", "light", "river", "archive", "index", "keeps", "each", "title", "safe", "for",
    "later", "morning", "garden", "lantern", "bridge", "letter", "map", "cache", "remembers", "old",
    "roads", "new", "ones", "appear", "as", "time", "passes", "by", "our", "little", "blog",
];
/// Number of `<a href>` per page that are neither posts nor "related" links
/// (nav 4, off-site 3, `javascript:` 1, footer 3, `mailto:` 1, `#top` 1).
const FIXED_LINKS: u32 = 13;
const OFFSITE_LINKS: u64 = 3;

/// splitmix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A tiny splitmix64 generator.
struct Rng(u64);

impl Rng {
    /// The stream `stream` of page `i` under `seed`.
    fn new(seed: u64, stream: u64, i: u32) -> Self {
        Rng(mix(seed ^ mix(stream.wrapping_mul(0x1_0000_0001) ^ mix(u64::from(i) + 1))))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u32) as usize]
    }
}

/// How an on-site link is written in the HTML.
#[derive(Clone, Copy, Debug)]
enum Style {
    Root,
    Abs,
    ProtoRel,
    Rel,
    DotRel,
    Frag,
}

const POST_STYLES: &[Style] = &[Style::Root, Style::Abs, Style::Rel, Style::DotRel];
const ALL_STYLES: &[Style] =
    &[Style::Root, Style::Abs, Style::ProtoRel, Style::Rel, Style::DotRel, Style::Frag];

/// An on-site link: target page and spelling.
#[derive(Clone, Copy, Debug)]
struct Link {
    to: u32,
    style: Style,
}

/// The `<base href>` of a page, which decides how relative links are spelt.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Base {
    /// No base: relative links resolve against `/page/` (only pages > 0).
    None,
    /// `<base href="{origin}/page/">`.
    Page,
    /// `<base href="{origin}/">`.
    Root,
}

/// The on-site links of one page, in document order.
struct Plan {
    nav: Vec<(Link, &'static str)>,
    posts: Vec<Link>,
    related: Vec<Link>,
    footer: [(Link, &'static str); 3],
}

impl Plan {
    fn targets(&self) -> impl Iterator<Item = u32> + '_ {
        let nav = self.nav.iter().map(|(l, _)| l.to);
        let footer = self.footer.iter().map(|(l, _)| l.to);
        nav.chain(self.posts.iter().map(|l| l.to))
            .chain(self.related.iter().map(|l| l.to))
            .chain(footer)
    }
}

/// Appends `s` with `&`, `<`, `>`, `"` and `'` escaped.
fn push_escaped(buf: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&#39;"),
            c => buf.push(c),
        }
    }
}

/// Appends one sentence of `min..max` words of prose.
fn push_sentence(buf: &mut String, r: &mut Rng, min: u32, max: u32) {
    let words = min + r.below(max - min);
    for k in 0..words {
        let w = r.pick(WORDS);
        if k == 0 {
            // Words are non-empty ASCII.
            buf.push(char::from(w.as_bytes()[0].to_ascii_uppercase()));
            buf.push_str(&w[1..]);
        } else {
            buf.push_str(if r.below(9) == 0 { ", " } else { " " });
            buf.push_str(w);
        }
    }
    buf.push_str(". ");
}

/// Number of pre-generated filler paragraphs pages draw from.
const PROSE_PARAGRAPHS: u32 = 256;

/// The filler paragraphs (`<p>…</p>\n`), generated once from a fixed seed:
/// copying them keeps rendering cheap, while each page picks its own
/// pseudo-random sequence of them.
fn prose() -> &'static [String] {
    static PROSE: OnceLock<Vec<String>> = OnceLock::new();
    PROSE.get_or_init(|| {
        (0..PROSE_PARAGRAPHS)
            .map(|k| {
                let mut r = Rng::new(0x70726f7365, 0, k);
                let mut p = String::from("<p>");
                for _ in 0..5 {
                    push_sentence(&mut p, &mut r, 8, 18);
                }
                p.push_str("</p>\n");
                p
            })
            .collect()
    })
}

impl SiteSpec {
    /// The default spec with `pages` pages.
    pub fn with_pages(pages: u32) -> Self {
        SiteSpec { pages, ..Default::default() }
    }

    /// The effective number of pages (at least 1).
    fn n(&self) -> u32 {
        self.pages.max(1)
    }

    /// Path of page `i`: `/` for page 0, `/page/{i}` otherwise.
    pub fn path(&self, i: u32) -> String {
        let mut s = String::with_capacity(16);
        push_path(&mut s, i);
        s
    }

    /// The page served at `path`, if any (the inverse of [`SiteSpec::path`]).
    pub fn page_index(&self, path: &str) -> Option<u32> {
        if path == "/" {
            return Some(0);
        }
        let digits = path.strip_prefix("/page/")?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits.parse::<u32>().ok().filter(|&i| i < self.n())
    }

    /// Every path reachable from `/` by following on-site `<a href>` links,
    /// sorted (as strings). By construction this is every page.
    pub fn reachable_paths(&self) -> Vec<String> {
        let n = self.n() as usize;
        let mut seen = vec![false; n];
        seen[0] = true;
        let mut queue = vec![0u32];
        while let Some(i) = queue.pop() {
            for t in self.plan(i).targets() {
                if !seen[t as usize] {
                    seen[t as usize] = true;
                    queue.push(t);
                }
            }
        }
        let mut paths: Vec<String> = seen
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| self.path(i as u32))
            .collect();
        paths.sort_unstable();
        paths
    }

    /// The headline of page `t`, also used as the text of links to it.
    fn headline(&self, t: u32) -> String {
        let mut r = Rng::new(self.seed, 1, t);
        let (a, n1, n2) = (r.pick(ADJ), r.pick(NOUN), r.pick(NOUN));
        match t % 6 {
            2 => format!("{a} {n1} & {n2}"),
            4 => format!("Editor's pick: {a} {n1}"),
            _ => format!("{a} {n1} and their {n2}"),
        }
    }

    /// The decoded, whitespace-collapsed `<title>` text of page `i`.
    pub fn title(&self, i: u32) -> String {
        format!("{} | Trawl test blog, page {i}", self.headline(i))
    }

    /// The `(path, text)` of the `a.post-item-title` entries of page `i`, in
    /// document order, with the href resolved to an absolute path and the
    /// text decoded (`i` is clamped to the last page, as in `render`).
    pub fn posts(&self, i: u32) -> Vec<(String, String)> {
        self.plan(i).posts.iter().map(|l| (self.path(l.to), self.headline(l.to))).collect()
    }

    /// The `<base href>` kind of page `i`.
    fn base(&self, i: u32) -> Base {
        match (i % 7, i / 7 % 2) {
            (0, 0) => Base::Page,
            (0, _) => Base::Root,
            _ => Base::None,
        }
    }

    /// The on-site links of page `i`.
    fn plan(&self, i: u32) -> Plan {
        let n = self.n();
        let i = i.min(n - 1);
        let mut r = Rng::new(self.seed, 2, i);
        let mut tree =
            [2 * u64::from(i) + 1, 2 * u64::from(i) + 2].into_iter().filter(|&t| t < u64::from(n));
        let mut nav = vec![(Link { to: 0, style: Style::Root }, "Home")];
        if i > 0 {
            nav.push((Link { to: i - 1, style: Style::Rel }, "&laquo; Newer posts"));
        }
        if i + 1 < n {
            nav.push((Link { to: i + 1, style: Style::DotRel }, "Older posts &raquo;"));
        }
        nav.push((Link { to: 0, style: Style::Abs }, "Latest"));
        let posts_n = self.posts_per_page as usize;
        let mut posts = Vec::with_capacity(posts_n);
        for _ in 0..posts_n {
            let to = tree.next().map_or_else(|| r.below(n), |t| t as u32);
            posts.push(Link { to, style: r.pick(POST_STYLES) });
        }
        let related_n =
            self.links_per_page.saturating_sub(self.posts_per_page.saturating_add(FIXED_LINKS))
                as usize;
        let mut related: Vec<Link> =
            tree.map(|t| Link { to: t as u32, style: Style::Root }).collect();
        for _ in 0..related_n {
            related.push(Link { to: r.below(n), style: r.pick(ALL_STYLES) });
        }
        let footer = [
            (Link { to: 0, style: Style::ProtoRel }, "Home"),
            (Link { to: n - 1, style: Style::Frag }, "Archive"),
            (Link { to: 1 % n, style: Style::Rel }, "Start reading"),
        ];
        Plan { nav, posts, related, footer }
    }

    /// Appends the href of `link` as written on a page with base `base`.
    fn push_href(buf: &mut String, link: Link, base: Base, origin: &str) {
        let to = link.to;
        match link.style {
            Style::Root => push_path(buf, to),
            Style::Abs => {
                buf.push_str(origin);
                push_path(buf, to);
            }
            Style::ProtoRel => {
                buf.push_str(origin.strip_prefix("http:").unwrap_or(origin));
                push_path(buf, to);
            }
            Style::Rel => match (to, base) {
                (0, Base::Root) => buf.push_str("./"),
                (0, _) => buf.push_str("../"),
                (_, Base::Root) => {
                    let _ = write!(buf, "page/{to}");
                }
                _ => {
                    let _ = write!(buf, "{to}");
                }
            },
            Style::DotRel if to == 0 => buf.push_str("../"),
            Style::DotRel => {
                let _ = write!(buf, "../page/{to}");
            }
            Style::Frag => {
                push_path(buf, to);
                buf.push_str("#comments");
            }
        }
    }

    /// Appends `<a href="…">text</a>` for an on-site link.
    fn push_link(
        &self,
        buf: &mut String,
        link: Link,
        base: Base,
        origin: &str,
        class: &str,
        text: Option<&str>,
    ) {
        buf.push_str("<a ");
        buf.push_str(class);
        buf.push_str("href=\"");
        Self::push_href(buf, link, base, origin);
        buf.push_str("\">");
        match text {
            Some(t) => buf.push_str(t),
            None => push_escaped(buf, &self.headline(link.to)),
        }
        buf.push_str("</a>");
    }

    /// The HTML of page `i` (clamped to the last page), given the server's
    /// origin (`http://127.0.0.1:P`) and the off-site origin
    /// (`http://localhost:P`), both without a trailing slash.
    pub fn render(&self, i: u32, origin: &str, offsite_origin: &str) -> String {
        let i = i.min(self.n() - 1);
        let base = self.base(i);
        let plan = self.plan(i);
        let mut r = Rng::new(self.seed, 3, i);
        let mut b = String::with_capacity(self.page_bytes + 4096);
        b.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        match base {
            Base::Page => {
                let _ = writeln!(b, "<base href=\"{origin}/page/\">");
            }
            Base::Root => {
                let _ = writeln!(b, "<base href=\"{origin}/\">");
            }
            Base::None => {}
        }
        b.push_str("<title>\n    ");
        push_escaped(&mut b, &self.title(i));
        b.push_str("\n  </title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        b.push_str("<link rel=\"stylesheet\" href=\"/static/site.css\">\n");
        b.push_str("<style>body{font-family:sans-serif;max-width:48rem;margin:auto}.post-item-title{color:#036}</style>\n");
        b.push_str(
            "<script>document.documentElement.className = 'js';</script>\n</head>\n<body>\n",
        );
        b.push_str("<header id=\"top\"><nav class=\"site-nav\">\n");
        for &(link, text) in &plan.nav {
            self.push_link(&mut b, link, base, origin, "", Some(text));
            b.push('\n');
        }
        b.push_str("</nav></header>\n<main>\n<h1>");
        push_escaped(&mut b, &self.headline(i));
        b.push_str("</h1>\n<section class=\"posts\">\n");
        for &link in &plan.posts {
            b.push_str("<article class=\"post-item\"><h2>");
            self.push_link(&mut b, link, base, origin, "class=\"post-item-title\" ", None);
            b.push_str("</h2>\n<p class=\"excerpt\">");
            push_sentence(&mut b, &mut r, 12, 24);
            b.push_str("</p></article>\n");
        }
        b.push_str("</section>\n<aside>\n<h3>Related</h3>\n<ul>\n");
        for &link in &plan.related {
            b.push_str("<li>");
            self.push_link(&mut b, link, base, origin, "", None);
            b.push_str("</li>\n");
        }
        b.push_str("</ul>\n<h3>Elsewhere</h3>\n<ul>\n");
        for k in 0..OFFSITE_LINKS {
            let ext = u64::from(i) * OFFSITE_LINKS + k;
            let _ = writeln!(
                b,
                "<li><a href=\"{offsite_origin}/ext/{ext}\">Friend site {ext}</a></li>"
            );
        }
        b.push_str("<li><a href=\"javascript:void(0)\">Subscribe</a></li>\n</ul>\n</aside>\n");
        b.push_str("<a id=\"comments\">Comments are closed.</a>\n<div class=\"prose\">\n");

        let mut tail = String::with_capacity(1024);
        tail.push_str("</div>\n</main>\n<footer>\n");
        for &(link, text) in &plan.footer {
            self.push_link(&mut tail, link, base, origin, "", Some(text));
            tail.push('\n');
        }
        tail.push_str("<a href=\"mailto:editor@example.com\">Write to us</a>\n");
        if base != Base::Page {
            tail.push_str("<a href=\"#top\">Back to top</a>\n");
        }
        tail.push_str("<p>&copy; Trawl test blog</p>\n</footer>\n</body>\n</html>\n");

        let prose = prose();
        while b.len() + tail.len() < self.page_bytes {
            b.push_str(&prose[r.below(PROSE_PARAGRAPHS) as usize]);
        }
        b.push_str(&tail);
        b
    }
}

/// Appends the path of page `i`.
fn push_path(buf: &mut String, i: u32) {
    if i == 0 {
        buf.push('/');
    } else {
        let _ = write!(buf, "/page/{i}");
    }
}

const CSS: &str = "body{font-family:sans-serif}a{color:#036}\n";
const OFFSITE_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Friend site</title></head><body><p>Off-site.</p></body></html>\n";
/// How long in-flight connections get to finish after a shutdown request.
const GRACE: Duration = Duration::from_secs(2);

/// State shared between the server thread and [`SiteServer`].
struct Shared {
    spec: SiteSpec,
    origin: String,
    offsite_origin: String,
    hits: Vec<AtomicU32>,
    page_hits: AtomicU64,
    offsite_hits: AtomicU64,
    unknown_hits: AtomicU64,
    robots_hits: AtomicU64,
}

impl Shared {
    /// Answers one request.
    fn respond(&self, method: &Method, headers: &HeaderMap, path: &str) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")])
                .into_response();
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let (name, _port) = host.rsplit_once(':').unwrap_or((host, ""));
        if name.eq_ignore_ascii_case("localhost") || path.starts_with("/ext/") {
            self.offsite_hits.fetch_add(1, Ordering::Relaxed);
            return body_response("text/html; charset=utf-8", OFFSITE_PAGE.to_owned());
        }
        if path == "/robots.txt" {
            self.robots_hits.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::NOT_FOUND, "no robots.txt\n").into_response();
        }
        if path == "/static/site.css" {
            return body_response("text/css; charset=utf-8", CSS.to_owned());
        }
        match self.spec.page_index(path) {
            Some(i) => {
                if let Some(h) = self.hits.get(i as usize) {
                    h.fetch_add(1, Ordering::Relaxed);
                }
                self.page_hits.fetch_add(1, Ordering::Relaxed);
                let html = self.spec.render(i, &self.origin, &self.offsite_origin);
                body_response("text/html; charset=utf-8", html)
            }
            None => {
                self.unknown_hits.fetch_add(1, Ordering::Relaxed);
                (StatusCode::NOT_FOUND, "not found\n").into_response()
            }
        }
    }
}

/// A 200 response with an explicit Content-Length (axum drops the body of
/// HEAD responses but keeps the header).
fn body_response(content_type: &'static str, body: String) -> Response {
    let len = HeaderValue::from(body.len());
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_LENGTH, len),
    ];
    (StatusCode::OK, headers, body).into_response()
}

/// The single handler behind every path.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.respond(&method, &headers, uri.path())
}

/// The generated site, served on `127.0.0.1:<ephemeral port>` by a
/// background thread running its own single-threaded tokio runtime.
pub struct SiteServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SiteServer {
    /// Binds `127.0.0.1:0` and serves the site on a dedicated thread that
    /// owns its own tokio runtime, so it is usable from sync and async code.
    /// Returns once the listener is bound.
    pub fn start(spec: SiteSpec) -> std::io::Result<SiteServer> {
        Self::start_at(spec, 0)
    }

    /// [`SiteServer::start`] on `127.0.0.1:port` (0: an ephemeral port),
    /// for `trawl serve-site --port`.
    pub fn start_at(spec: SiteSpec, port: u16) -> std::io::Result<SiteServer> {
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let shared = Arc::new(Shared {
            hits: (0..spec.n()).map(|_| AtomicU32::new(0)).collect(),
            spec,
            origin: format!("http://127.0.0.1:{}", addr.port()),
            offsite_origin: format!("http://localhost:{}", addr.port()),
            page_hits: AtomicU64::new(0),
            offsite_hits: AtomicU64::new(0),
            unknown_hits: AtomicU64::new(0),
            robots_hits: AtomicU64::new(0),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new().name("trawl-site".into()).spawn(move || {
            rt.block_on(async move {
                let (grace_tx, grace_rx) = oneshot::channel::<()>();
                let server = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = grace_rx.await;
                    })
                    .into_future();
                tokio::pin!(server);
                tokio::select! {
                    _ = &mut server => return,
                    _ = stop_rx => {}
                }
                let _ = grace_tx.send(());
                let _ = tokio::time::timeout(GRACE, server).await;
            });
        })?;
        Ok(SiteServer { addr, shared, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The bound address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("{}/", self.shared.origin)
    }

    /// The spec being served.
    pub fn spec(&self) -> &SiteSpec {
        &self.shared.spec
    }

    /// How often page `i` was requested (GET or HEAD); 0 for non-pages.
    pub fn hits(&self, i: u32) -> u32 {
        self.shared.hits.get(i as usize).map_or(0, |h| h.load(Ordering::Relaxed))
    }

    /// Total requests for site pages.
    pub fn page_hits(&self) -> u64 {
        self.shared.page_hits.load(Ordering::Relaxed)
    }

    /// Requests with an off-site (`localhost`) Host header or for `/ext/`
    /// paths.
    pub fn offsite_hits(&self) -> u64 {
        self.shared.offsite_hits.load(Ordering::Relaxed)
    }

    /// Requests for paths that are not pages (404s), robots.txt excluded.
    pub fn unknown_hits(&self) -> u64 {
        self.shared.unknown_hits.load(Ordering::Relaxed)
    }

    /// `/robots.txt` requests.
    pub fn robots_hits(&self) -> u64 {
        self.shared.robots_hits.load(Ordering::Relaxed)
    }

    /// Stops the server and joins its thread (also done on drop).
    pub fn shutdown(self) {
        drop(self);
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for SiteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteServer")
            .field("addr", &self.addr)
            .field("spec", &self.shared.spec)
            .finish()
    }
}

#[cfg(test)]
mod tests;
