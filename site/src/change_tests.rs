//! Unit tests of the change schedule (`changes.rs`) and of the server's
//! conditional answers over real TCP on 127.0.0.1.

use super::*;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

const ORIGIN: &str = "http://127.0.0.1:4321";
const OFFSITE: &str = "http://localhost:4321";

fn changing(pages: u32) -> SiteSpec {
    SiteSpec {
        page_bytes: 4_000,
        changes: ChangeSpec {
            every: 10,
            cosmetic_every: 4,
            delete_every: 7,
            delete_at: 2,
            ..ChangeSpec::default()
        },
        ..SiteSpec::with_pages(pages)
    }
}

fn html(spec: &SiteSpec, i: u32, g: u32) -> String {
    spec.render_at(i, ORIGIN, OFFSITE, Peers::default(), g)
}

#[test]
fn the_schedule_follows_its_formula() {
    let c = changing(100).changes;
    for i in 0..100 {
        for g in 0..40 {
            let expected = (1..=g).filter(|g2| (g2 + i) % 10 == 0).count() as u32;
            let last = (1..=g).rev().find(|g2| (g2 + i) % 10 == 0).unwrap_or(0);
            let s = c.state(i, g);
            assert_eq!((s.version, s.changed_at), (expected, last), "page {i} generation {g}");
            assert_eq!(s.cosmetic, i % 4 == 0);
            let gone = i > 0 && i % 7 == 0 && g >= 2;
            assert_eq!(s.gone.is_some(), gone, "page {i} generation {g}");
        }
    }
    assert_eq!(c.state(7, 2).gone, Some(410));
    assert_eq!(c.state(14, 2).gone, Some(404));
    // Default: nothing ever changes.
    let still = ChangeSpec::default();
    assert_eq!(still.state(5, 1000), PageState { version: 0, changed_at: 0, ..still.state(5, 0) });
    assert_eq!(still.state(7, 1000).gone, None);
}

#[test]
fn changes_between_is_exact_and_matches_the_html() {
    let spec = changing(200);
    let one = spec.changes_between(0, 1);
    // A tenth change at each generation; nothing is deleted before 2.
    assert_eq!(one.changed.len() + one.cosmetic.len(), 20);
    assert!(one.gone.is_empty());
    assert_eq!(one.changed.len() + one.cosmetic.len() + one.unchanged.len(), 200);
    let two = spec.changes_between(1, 2);
    assert_eq!(two.gone, (1..200).filter(|i| i % 7 == 0).collect::<Vec<_>>());
    for (from, to) in [(0, 1), (1, 2), (0, 3), (2, 12)] {
        let c = spec.changes_between(from, to);
        for &i in &c.unchanged {
            assert_eq!(html(&spec, i, from), html(&spec, i, to), "page {i} {from}->{to}");
            assert_eq!(spec.etag(i, from), spec.etag(i, to));
            assert_eq!(spec.last_modified(i, from), spec.last_modified(i, to));
        }
        for &i in c.changed.iter().chain(&c.cosmetic) {
            assert_ne!(html(&spec, i, from), html(&spec, i, to), "page {i} {from}->{to}");
            assert_ne!(spec.etag(i, from), spec.etag(i, to));
            assert!(spec.last_modified(i, from) < spec.last_modified(i, to));
        }
        for &i in &c.changed {
            assert_ne!(spec.title_at(i, from), spec.title_at(i, to));
            assert!(html(&spec, i, to).contains("<p class=\"update\">"));
        }
        for &i in &c.cosmetic {
            // Markup differs; the title and the posts (the fields) do not.
            assert_eq!(spec.title_at(i, from), spec.title_at(i, to));
            let (a, b) = (html(&spec, i, from), html(&spec, i, to));
            assert!(!b.contains("class=\"update\""));
            let strip = |s: &str| {
                s.lines()
                    .filter(|l| !l.starts_with("<body") && !l.starts_with("<!-- revision"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(strip(&a), strip(&b), "page {i}");
        }
    }
    // Generation 0 is the site as it always was.
    assert_eq!(html(&spec, 5, 0), spec.render(5, ORIGIN, OFFSITE));
}

#[test]
fn validators_cycle_over_pages_or_hosts() {
    let mut c = ChangeSpec::default();
    let kinds: Vec<Validators> = (0..6).map(|i| c.validators_of(0, i)).collect();
    use Validators::*;
    assert_eq!(kinds, [ETag, LastModified, None, ETag, LastModified, None]);
    c.validators_by = ValidatorsBy::Host;
    assert_eq!(
        (c.validators_of(0, 1), c.validators_of(1, 0), c.validators_of(2, 0)),
        (ETag, LastModified, None)
    );
    c.validators.clear();
    assert_eq!(c.validators_of(0, 0), None);
}

#[test]
fn http_dates_round_trip() {
    assert_eq!(http_date(LAST_MODIFIED_EPOCH), "Thu, 01 Jan 2026 00:00:00 GMT");
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    for secs in [0, 951_782_400, LAST_MODIFIED_EPOCH + 12_345_678, 4_102_444_799] {
        assert_eq!(parse_http_date(&http_date(secs)), Some(secs), "{}", http_date(secs));
    }
    for bad in [
        "",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 32 Nov 1994 08:49:37 GMT",
    ] {
        assert_eq!(parse_http_date(bad), Option::None, "{bad:?}");
    }
}

/// One HTTP/1.1 request with extra header lines: (status, head, body
/// length).
fn ask(addr: SocketAddr, method: &str, path: &str, extra: &str) -> (u16, String, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    (head[9..12].parse().unwrap(), head, raw.len() - split - 4)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

#[test]
fn the_server_answers_conditional_requests_and_advances() {
    let server = SiteServer::start(changing(30)).unwrap();
    let addr = server.addr();
    // Page 3: ETag (3 % 3 == 0); page 10: Last-Modified; page 5: neither.
    let (status, head, _) = ask(addr, "GET", "/page/3", "");
    assert_eq!(status, 200);
    let tag = header(&head, "etag").unwrap().to_owned();
    assert!(header(&head, "last-modified").is_none());
    let inm = format!("If-None-Match: {tag}\r\n");
    assert_eq!(ask(addr, "GET", "/page/3", &inm).0, 304);
    assert_eq!(ask(addr, "GET", "/page/3", "If-None-Match: W/\"other\"\r\n").0, 200);

    let (_, head, _) = ask(addr, "GET", "/page/10", "");
    assert!(header(&head, "etag").is_none());
    let lm = header(&head, "last-modified").unwrap().to_owned();
    let ims = format!("If-Modified-Since: {lm}\r\n");
    let (status, _, body) = ask(addr, "GET", "/page/10", &ims);
    assert_eq!((status, body), (304, 0));

    let (_, head, _) = ask(addr, "GET", "/page/5", "");
    assert!(header(&head, "etag").is_none() && header(&head, "last-modified").is_none());
    assert_eq!(ask(addr, "GET", "/page/5", &ims).0, 200);
    assert_eq!((server.conditional_hits(), server.not_modified_hits()), (4, 2));

    // Generation 7: page 3 changes ((7 + 3) % 10 == 0), page 10 does not (until 10).
    for _ in 0..6 {
        server.advance();
    }
    let (status, _, _) = ask(addr, "POST", "/_site/advance", "");
    assert_eq!((status, server.generation()), (200, 7));
    assert_eq!(server.spec().changes_between(6, 7).changed, [3, 13, 23]);
    let (status, head, _) = ask(addr, "GET", "/page/3", &inm);
    assert_eq!(status, 200);
    assert_ne!(header(&head, "etag").unwrap(), tag);
    assert_eq!(ask(addr, "GET", "/page/10", &ims).0, 304);
    // Deleted pages: 410 for 7, 404 for 14, whatever the validators.
    assert_eq!(ask(addr, "GET", "/page/7", &inm).0, 410);
    assert_eq!(ask(addr, "GET", "/page/14", "").0, 404);
    assert_eq!(server.gone_hits(), 2);
    let (status, _, _) = ask(addr, "GET", "/_site/stats", "");
    assert_eq!(status, 200);
    assert_eq!(ask(addr, "GET", "/_site/nope", "").0, 404);
    // Admin requests are not page requests.
    assert_eq!(server.page_hits(), 11);
    assert_eq!(server.unknown_hits(), 0);
}
