//! Sync, pure extraction: HTML text in, title and links out. No I/O, no
//! runtime; called on the blocking pool. `scraper::Html` never leaves
//! [`extract`], so nothing `!Send` can cross an `.await`.

mod charset;

pub use charset::decode;

use scraper::{ElementRef, Html};
use std::collections::HashSet;
use trawl_common::url::{ScopeMatcher, Url, resolve_link};

/// What one page yields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted {
    /// `<title>` text, whitespace collapsed; `None` if absent or blank.
    pub title: Option<String>,
    /// Number of `a[href]` links that resolve to http(s) URLs.
    pub outlinks: u32,
    /// Distinct in-scope normalized links, in document order.
    pub links: Vec<String>,
}

/// Is this response HTML? By `Content-Type`, or, when there is none, by
/// sniffing the start of the body.
pub fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    match content_type {
        Some(ct) => {
            let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mime == "text/html" || mime == "application/xhtml+xml"
        }
        None => {
            let start: Vec<u8> = body
                .iter()
                .skip_while(|b| b.is_ascii_whitespace())
                .take(16)
                .map(u8::to_ascii_lowercase)
                .collect();
            start.starts_with(b"<!doctype html") || start.starts_with(b"<html")
        }
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Extracts title and links from `html`, fetched from `page`. Links are
/// resolved against `<base href>` when present, normalized, deduplicated
/// and filtered by `scope`.
///
/// One walk over the parsed tree collects the first `<title>`, the first
/// `<base href>` and every `<a href>` (what the selectors `title`,
/// `base[href]` and `a[href]` would match, in document order): three
/// selector passes cost ~3% of a page's extraction.
pub fn extract(page: &Url, html: &str, scope: &ScopeMatcher) -> Extracted {
    let doc = Html::parse_document(html);
    let mut title = None;
    let mut base_href = None;
    let mut hrefs: Vec<&str> = Vec::with_capacity(64);
    for node in doc.root_element().descendants() {
        let Some(el) = node.value().as_element() else { continue };
        match el.name() {
            "a" => hrefs.extend(el.attr("href")),
            "title" if title.is_none() => {
                title = ElementRef::wrap(node).map(|t| collapse_ws(&t.text().collect::<String>()));
            }
            "base" if base_href.is_none() => base_href = el.attr("href"),
            _ => {}
        }
    }
    let title = title.filter(|t| !t.is_empty());
    let base = base_href.and_then(|h| page.join(h.trim()).ok()).unwrap_or_else(|| page.clone());
    let mut outlinks = 0u32;
    let mut found: Vec<String> = Vec::with_capacity(hrefs.len());
    for href in hrefs {
        let Some(url) = resolve_link(&base, href) else { continue };
        outlinks = outlinks.saturating_add(1);
        if scope.allows(&url) {
            found.push(url.into());
        }
    }
    // Keep the first of each, without cloning the strings.
    let mut seen = HashSet::with_capacity(found.len());
    let keep: Vec<bool> = found.iter().map(|s| seen.insert(s.as_str())).collect();
    drop(seen);
    let links = found.into_iter().zip(keep).filter_map(|(s, k)| k.then_some(s)).collect();
    Extracted { title, outlinks, links }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_common::url::{Scope, ScopeKind};

    fn page() -> Url {
        Url::parse("http://h.test/dir/p.html").unwrap()
    }

    fn scope() -> ScopeMatcher {
        Scope::new(ScopeKind::Host, &[page()]).matcher().unwrap()
    }

    #[test]
    fn first_title_and_first_base_win_and_order_is_kept() {
        let html = r#"<html><head><title>one</title><base href="/b1/"><base href="/b2/">
            </head><body><a href="z">z</a><svg><title>two</title></svg>
            <p><a href="y">y</a></p><a href="z">z again</a></body></html>"#;
        let e = extract(&page(), html, &scope());
        assert_eq!(e.title.as_deref(), Some("one"));
        assert_eq!(e.links, vec!["http://h.test/b1/z", "http://h.test/b1/y"]);
        assert_eq!(e.outlinks, 3);
    }

    #[test]
    fn matches_the_selectors_on_a_site_page() {
        // The walk must find what `title`, `base[href]` and `a[href]` find.
        let sel = |s: &str| scraper::Selector::parse(s).unwrap();
        for i in [1u32, 7, 14, 123] {
            let spec = trawl_site::SiteSpec::with_pages(500);
            let html = spec.render(i, "http://h.test", "http://localhost");
            let url = Url::parse(&format!("http://h.test{}", spec.path(i))).unwrap();
            let doc = Html::parse_document(&html);
            let hrefs: Vec<&str> =
                doc.select(&sel("a[href]")).filter_map(|a| a.value().attr("href")).collect();
            let base = doc
                .select(&sel("base[href]"))
                .next()
                .and_then(|b| b.value().attr("href"))
                .map_or_else(|| url.clone(), |h| url.join(h).unwrap());
            let mut want: Vec<String> = Vec::new();
            for h in hrefs {
                if let Some(u) = resolve_link(&base, h)
                    && scope().allows(&u)
                    && !want.contains(&u.to_string())
                {
                    want.push(u.into());
                }
            }
            let e = extract(&url, &html, &scope());
            assert_eq!(e.links, want, "page {i}");
            assert_eq!(e.title.as_deref(), Some(spec.title(i).as_str()), "page {i}");
        }
    }

    #[test]
    fn title_and_links() {
        let html = r##"<html><head><title>  A &amp;
            B </title></head><body>
            <a href="q.html">1</a><a href="/r#x">2</a><a href="q.html#y">dup</a>
            <a href="http://other.test/">off</a><a href="mailto:x@y">m</a><a href="#top">t</a>
            <a>no href</a></body></html>"##;
        let e = extract(&page(), html, &scope());
        assert_eq!(e.title.as_deref(), Some("A & B"));
        assert_eq!(e.links, vec!["http://h.test/dir/q.html", "http://h.test/r"]);
        assert_eq!(e.outlinks, 4);
    }

    #[test]
    fn base_href_is_honoured() {
        let html =
            r#"<html><head><base href="/other/"></head><body><a href="x">x</a></body></html>"#;
        let e = extract(&page(), html, &scope());
        assert_eq!(e.links, vec!["http://h.test/other/x"]);
    }

    #[test]
    fn malformed_html_still_yields_links() {
        let html = "<p>t<a href=a.html><div><table><a href='b.html'></td></span>";
        let e = extract(&page(), html, &scope());
        assert_eq!(e.links.len(), 2, "{e:?}");
    }

    #[test]
    fn html_detection() {
        assert!(is_html(Some("text/html; charset=utf-8"), b""));
        assert!(is_html(Some("TEXT/HTML"), b""));
        assert!(!is_html(Some("application/pdf"), b"<html>"));
        assert!(is_html(None, b"  <!DOCTYPE html><html>"));
        assert!(!is_html(None, b"\x89PNG"));
    }
}
