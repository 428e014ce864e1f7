//! Unit tests: the model (`reachable_paths`, `posts`, `title`) against the
//! rendered HTML, and the real server over TCP on 127.0.0.1.

use super::*;
use std::collections::{BTreeSet, VecDeque};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use url::Url;

const ORIGIN: &str = "http://127.0.0.1:4321";
const OFFSITE: &str = "http://localhost:4321";

/// Decodes the few entities the site uses.
fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("unterminated entity") + at;
        out.push_str(match &rest[at + 1..end] {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "#39" => "'",
            "laquo" => "«",
            "raquo" => "»",
            "copy" => "©",
            other => panic!("unexpected entity {other}"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Removes `<script>` and `<style>` contents (raw text, not markup).
fn strip_raw_text(html: &str) -> String {
    let mut out = html.to_owned();
    for tag in ["script", "style"] {
        while let Some(start) = out.find(&format!("<{tag}>")) {
            let end = out[start..].find(&format!("</{tag}>")).unwrap() + start;
            out.replace_range(start..end + tag.len() + 3, "");
        }
    }
    out
}

/// The attribute text of every `<name …>` start tag.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let body = &rest[at + open.len()..];
        let end = body.find('>').unwrap();
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

/// The value of attribute `name` (always double-quoted on this site).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    let len = tag[at..].find('"').unwrap();
    Some(&tag[at..at + len])
}

/// The URL relative links of page `i` resolve against, honouring `<base>`.
fn link_base(spec: &SiteSpec, i: u32, html: &str, honour_base: bool) -> Url {
    let doc = Url::parse(&format!("{ORIGIN}{}", spec.path(i))).unwrap();
    match tags(html, "base").first().and_then(|t| attr(t, "href")) {
        Some(href) if honour_base => doc.join(&decode(href)).unwrap(),
        _ => doc,
    }
}

/// The on-site paths page `i` links to (fragment stripped), as a crawler
/// scoped to `ORIGIN`'s host would see them; panics on query strings.
fn onsite_links(spec: &SiteSpec, i: u32, honour_base: bool) -> Vec<String> {
    let html = strip_raw_text(&spec.render(i, ORIGIN, OFFSITE));
    let base = link_base(spec, i, &html, honour_base);
    let mut out = Vec::new();
    for tag in tags(&html, "a") {
        let Some(href) = attr(tag, "href") else { continue };
        let mut url = base.join(&decode(href)).unwrap();
        if !matches!(url.scheme(), "http" | "https") || url.host_str() != Some("127.0.0.1") {
            continue;
        }
        assert_eq!(url.port(), Some(4321));
        assert_eq!(url.query(), None, "query string in {href:?} on page {i}");
        url.set_fragment(None);
        out.push(url.path().to_owned());
    }
    out
}

fn small_spec(pages: u32) -> SiteSpec {
    SiteSpec { pages, page_bytes: 6_000, ..SiteSpec::default() }
}

#[test]
fn reachable_paths_match_a_bfs_over_the_html() {
    for spec in [
        small_spec(300),
        small_spec(1),
        small_spec(2),
        SiteSpec { posts_per_page: 0, ..small_spec(40) },
    ] {
        let expected = spec.reachable_paths();
        assert_eq!(expected.len(), spec.pages as usize);
        let mut seen = BTreeSet::from(["/".to_owned()]);
        let mut queue = VecDeque::from([0u32]);
        while let Some(i) = queue.pop_front() {
            for path in onsite_links(&spec, i, true) {
                let page = spec.page_index(&path);
                assert!(page.is_some(), "page {i} links to non-page {path}");
                if seen.insert(path) {
                    queue.extend(page);
                }
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
    }
}

#[test]
fn base_href_matters() {
    let spec = small_spec(300);
    for i in [0, 7, 14] {
        let html = spec.render(i, ORIGIN, OFFSITE);
        assert!(html.contains("<base href=\""), "page {i} has no <base>");
    }
    assert!(!spec.render(5, ORIGIN, OFFSITE).contains("<base "));
    // Ignoring <base> on pages 0 and 7 produces dangling links.
    for i in [0, 7] {
        let links = onsite_links(&spec, i, false);
        assert!(links.iter().any(|p| spec.page_index(p).is_none()), "page {i}");
    }
}

#[test]
fn posts_match_the_html() {
    let spec = small_spec(300);
    let mut with_entity = 0;
    for i in 0..60 {
        let html = spec.render(i, ORIGIN, OFFSITE);
        let base = link_base(&spec, i, &html, true);
        let mut found = Vec::new();
        let mut rest = html.as_str();
        let open = "<a class=\"post-item-title\" href=\"";
        while let Some(at) = rest.find(open) {
            rest = &rest[at + open.len()..];
            let (href, after) = rest.split_once("\">").unwrap();
            let (text, after) = after.split_once("</a>").unwrap();
            with_entity += usize::from(text.contains("&amp;") || text.contains("&#39;"));
            let mut url = base.join(href).unwrap();
            url.set_fragment(None);
            assert_eq!(url.origin().ascii_serialization(), ORIGIN);
            found.push((url.path().to_owned(), decode(text)));
            rest = after;
        }
        assert_eq!(found.len(), spec.posts_per_page as usize);
        assert_eq!(found, spec.posts(i), "page {i}");
        if 2 * i + 2 < spec.pages {
            assert_eq!(found[0].0, spec.path(2 * i + 1));
            assert_eq!(found[1].0, spec.path(2 * i + 2));
        }
    }
    assert!(with_entity > 0);
}

#[test]
fn titles_match_the_html() {
    let spec = small_spec(100);
    let (mut amp, mut apos) = (0, 0);
    for i in 0..100 {
        let html = spec.render(i, ORIGIN, OFFSITE);
        let raw = html.split_once("<title>").unwrap().1.split_once("</title>").unwrap().0;
        amp += usize::from(raw.contains("&amp;"));
        apos += usize::from(raw.contains("&#39;"));
        let text = decode(raw).split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(text, spec.title(i));
    }
    assert!(amp > 0 && apos > 0);
}

#[test]
fn page_size_and_link_count() {
    let spec = SiteSpec::default();
    for i in (0..spec.pages).step_by(97) {
        let html = spec.render(i, ORIGIN, OFFSITE);
        let len = html.len() as f64;
        let target = spec.page_bytes as f64;
        assert!((len - target).abs() <= 0.15 * target, "page {i}: {len} bytes");
        let links = strip_raw_text(&html).matches("<a href=\"").count()
            + html.matches("<a class=\"post-item-title\" href=\"").count();
        assert!(links.abs_diff(spec.links_per_page as usize) <= 2, "page {i}: {links} links");
        assert_eq!(html.matches(&format!("{OFFSITE}/ext/")).count(), 3);
        assert!(html.contains("mailto:") && html.contains("javascript:void(0)"));
        assert_eq!(html, spec.render(i, ORIGIN, OFFSITE), "deterministic");
    }
    let small = SiteSpec { page_bytes: 12_000, ..SiteSpec::default() };
    let len = small.render(3, ORIGIN, OFFSITE).len();
    assert!(len.abs_diff(12_000) <= 1_800, "{len}");
    let other = SiteSpec { seed: 1, ..SiteSpec::default() };
    assert_ne!(other.render(3, ORIGIN, OFFSITE), SiteSpec::default().render(3, ORIGIN, OFFSITE));
}

#[test]
fn paths_round_trip() {
    let spec = small_spec(20);
    assert_eq!(spec.path(0), "/");
    assert_eq!(spec.path(17), "/page/17");
    for i in 0..20 {
        assert_eq!(spec.page_index(&spec.path(i)), Some(i));
    }
    for bad in ["/page/0", "/page/01", "/page/20", "/page/", "/page/1/", "/page/+1", "", "/x"] {
        assert_eq!(spec.page_index(bad), None, "{bad:?}");
    }
}

/// A minimal HTTP/1.1 exchange: (status, head, body).
fn http(addr: SocketAddr, method: &str, path: &str, host: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap().to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

#[test]
fn server_serves_pages_and_counts() {
    let server = SiteServer::start(SiteSpec::with_pages(50)).unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    let host = format!("127.0.0.1:{}", addr.port());
    assert_eq!(server.base_url(), format!("http://{host}/"));
    let origin = format!("http://{host}");
    let offsite = format!("http://localhost:{}", addr.port());

    let (status, head, body) = http(addr, "GET", "/", &host);
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/html; charset=utf-8"), "{head}");
    let page = server.spec().render(0, &origin, &offsite);
    assert!(head.contains(&format!("content-length: {}", page.len())), "{head}");
    assert_eq!(String::from_utf8(body).unwrap(), page);
    assert_eq!(server.hits(0), 1);

    let (status, head, body) = http(addr, "HEAD", "/page/7", &host);
    assert_eq!(status, 200);
    let len = server.spec().render(7, &origin, &offsite).len();
    assert!(head.contains(&format!("content-length: {len}")), "{head}");
    assert!(body.is_empty());
    assert_eq!(server.hits(7), 1);
    assert_eq!(server.page_hits(), 2);

    assert_eq!(http(addr, "GET", "/nope", &host).0, 404);
    assert_eq!(http(addr, "GET", "/page/50", &host).0, 404);
    assert_eq!(server.unknown_hits(), 2);
    assert_eq!(http(addr, "GET", "/robots.txt", &host).0, 404);
    assert_eq!(server.robots_hits(), 1);
    let (status, head, _) = http(addr, "GET", "/static/site.css", &host);
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/css"));
    assert_eq!(http(addr, "POST", "/", &host).0, 405);
    assert_eq!((server.page_hits(), server.unknown_hits(), server.offsite_hits()), (2, 2, 0));
    server.shutdown();
    assert!(TcpStream::connect(addr).is_err(), "still listening after shutdown");
}

#[test]
fn server_counts_offsite_requests() {
    let server = SiteServer::start(SiteSpec::with_pages(10)).unwrap();
    let addr = server.addr();
    let host = format!("127.0.0.1:{}", addr.port());
    assert_eq!(http(addr, "GET", "/ext/4", &host).0, 200);
    assert_eq!(server.offsite_hits(), 1);
    // A page path under the off-site host name is off-site too.
    assert_eq!(http(addr, "GET", "/", &format!("localhost:{}", addr.port())).0, 200);
    assert_eq!(server.offsite_hits(), 2);
    assert_eq!((server.page_hits(), server.hits(0), server.unknown_hits()), (0, 0, 0));
}

#[test]
fn many_hosts_link_across_hosts_with_latency_and_a_timeline() {
    let spec = SiteSpec {
        page_bytes: 5_000,
        posts_per_page: 5,
        links_per_page: 20,
        ..SiteSpec::with_pages(8)
    };
    let latency = Duration::from_millis(20);
    let options = ServeOptions { hosts: 3, latency, jitter: 0.5, timeline: true, port: 0 };
    let server = SiteServer::start_with(spec, options).unwrap();
    let urls = server.base_urls();
    assert_eq!(urls.len(), 3);
    assert_eq!(urls[0], server.base_url());
    let addrs: Vec<SocketAddr> =
        urls.iter().map(|u| Url::parse(u).unwrap().socket_addrs(|| None).unwrap()[0]).collect();
    assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    let names: Vec<String> = addrs.iter().map(ToString::to_string).collect();

    let t = std::time::Instant::now();
    let (status, _, body) = http(addrs[1], "GET", "/page/3", &names[1]);
    // The latency is a lower bound whatever the machine's load.
    assert!(t.elapsed() >= latency / 2, "{:?}", t.elapsed());
    assert_eq!(status, 200);
    let html = String::from_utf8(body).unwrap();
    assert!(html.len().abs_diff(5_000) < 1_500, "{}", html.len());
    // Every peer link goes to a page of another host.
    let peers = html.split_once("<ul class=\"peers\">").unwrap().1.split_once("</ul>").unwrap().0;
    let hrefs: Vec<Url> = tags(peers, "a")
        .iter()
        .map(|a| Url::parse(a.split('"').nth(1).unwrap()).unwrap())
        .collect();
    assert_eq!(hrefs.len(), PEER_LINKS as usize);
    for u in &hrefs {
        let port = u.port().unwrap();
        assert!(port != addrs[1].port() && addrs.iter().any(|a| a.port() == port), "{u}");
        assert!(server.spec().page_index(u.path()).is_some(), "{u}");
    }
    // One host's page is the same page under its own origin, plus peers.
    let alone = server.spec().render(
        3,
        &urls[1][..urls[1].len() - 1],
        &format!("http://localhost:{}", addrs[1].port()),
    );
    assert!(!alone.contains("class=\"peers\""));

    assert_eq!(http(addrs[0], "GET", "/robots.txt", &names[0]).0, 404);
    assert_eq!(http(addrs[0], "GET", "/", &names[0]).0, 200);
    assert_eq!(http(addrs[0], "GET", "/ext/1", &format!("localhost:{}", addrs[0].port())).0, 200);
    assert_eq!((server.page_hits(), server.robots_hits(), server.offsite_hits()), (2, 1, 1));

    let timeline = server.timeline();
    assert_eq!(
        timeline.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 1, 0],
        "off-site is not the host's"
    );
    assert!(timeline[0][0].robots && !timeline[0][1].robots);
    for r in timeline.iter().flatten() {
        assert!(r.end_us - r.start_us >= 10_000, "latency inside the recorded span: {r:?}");
    }
    let g = gaps(&timeline);
    assert_eq!(g.len(), 1);
    assert!(g[0].after_robots && g[0].host == 0 && g[0].idle_us >= 0, "{g:?}");
}

#[test]
fn shutdown_does_not_wait_for_idle_clients() {
    let server = SiteServer::start(SiteSpec::with_pages(5)).unwrap();
    let idle = TcpStream::connect(server.addr()).unwrap();
    let t = std::time::Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop(idle);
}

#[tokio::test]
async fn usable_from_async_code() {
    let server = SiteServer::start(SiteSpec::with_pages(5)).unwrap();
    let (addr, host) = (server.addr(), server.addr().to_string());
    let status =
        tokio::task::spawn_blocking(move || http(addr, "GET", "/page/3", &host).0).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(server.hits(3), 1);
    drop(server);
}

#[test]
fn render_speed() {
    let spec = SiteSpec::default();
    let n = 300;
    let t = std::time::Instant::now();
    let mut bytes = 0;
    for i in 0..n {
        bytes += spec.render(i, ORIGIN, OFFSITE).len();
    }
    let per_page = t.elapsed() / n;
    eprintln!("render: {per_page:?} per page ({} bytes avg)", bytes / n as usize);
}
