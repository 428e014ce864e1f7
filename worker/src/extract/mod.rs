//! Sync, pure extraction: HTML text in, title and links out. No I/O, no
//! runtime; called on the blocking pool. `scraper::Html` never leaves
//! [`extract`], so nothing `!Send` can cross an `.await`.

mod charset;

pub use charset::decode;

use scraper::{Html, Selector};
use std::collections::HashSet;
use std::sync::LazyLock;
use trawl_common::url::{ScopeMatcher, Url, resolve_link};

#[allow(clippy::unwrap_used)] // constant selectors, checked by the tests below
static LINKS: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").unwrap());
#[allow(clippy::unwrap_used)]
static TITLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("title").unwrap());
#[allow(clippy::unwrap_used)]
static BASE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("base[href]").unwrap());

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
pub fn extract(page: &Url, html: &str, scope: &ScopeMatcher) -> Extracted {
    let doc = Html::parse_document(html);
    let title = doc
        .select(&TITLE)
        .next()
        .map(|t| collapse_ws(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let base = doc
        .select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| page.join(h.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let mut outlinks = 0u32;
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for a in doc.select(&LINKS) {
        let Some(href) = a.value().attr("href") else { continue };
        let Some(url) = resolve_link(&base, href) else { continue };
        outlinks = outlinks.saturating_add(1);
        if scope.allows(&url) {
            let s: String = url.into();
            if seen.insert(s.clone()) {
                links.push(s);
            }
        }
    }
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
    fn selectors_parse() {
        LazyLock::force(&LINKS);
        LazyLock::force(&TITLE);
        LazyLock::force(&BASE);
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
