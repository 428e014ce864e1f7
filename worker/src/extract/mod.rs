//! Sync, pure extraction: HTML text in; title, links, robots directives,
//! canonical and user-defined fields out. No I/O, no runtime; called on
//! the blocking pool. `scraper::Html` never leaves [`extract`], so nothing
//! `!Send` can cross an `.await`.

mod budget;
mod charset;
mod depth;
mod entities;
mod fast;
mod fields;
mod strict;
mod tokens;

pub use budget::{OverBudget, thread_cpu};
pub use charset::decode;
use depth::guard;
pub use depth::{Caps, MAX_ATTRIBUTES, MAX_DEPTH, cap_nesting};
pub use fields::{MAX_VALUE_BYTES, MAX_VALUES, Rules};

use budget::Budget;
use html5ever::tendril::TendrilSink as _;
use scraper::{ElementRef, Html, HtmlTreeSink};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use trawl_common::protocol::FieldValue;
use trawl_common::url::{ScopeMatcher, Url, resolve_link};

/// What one page yields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted {
    /// `<title>` text, whitespace collapsed; `None` if absent or blank.
    pub title: Option<String>,
    /// Number of `a[href]` links that resolve to http(s) URLs.
    pub outlinks: u32,
    /// Distinct in-scope normalized links, in document order; without
    /// `nofollow` ones unless nofollow is ignored.
    pub links: Vec<String>,
    /// `<meta name=robots>` says `noindex` (or `none`): title and fields
    /// are left empty.
    pub noindex: bool,
    /// `<meta name=robots>` says `nofollow` (or `none`).
    pub nofollow: bool,
    /// `<link rel=canonical href>`, resolved and normalized.
    pub canonical: Option<String>,
    /// User-defined fields by name.
    pub fields: BTreeMap<String, FieldValue>,
}

/// Per-page bounds on parsing, whatever the page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Attributes kept per tag (the tokenizer is quadratic in them).
    pub max_attributes: usize,
    /// Thread CPU time for the markup guard, parsing and extraction; past it
    /// the page is recorded as `parse_budget`.
    pub cpu_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_attributes: MAX_ATTRIBUTES, cpu_budget: Duration::from_secs(2) }
    }
}

/// Does any token of a space- or comma-separated list equal `word`
/// (ASCII case-insensitive)?
fn has_token(list: &str, word: &str) -> bool {
    list.split(|c: char| c == ',' || c.is_ascii_whitespace()).any(|t| t.eq_ignore_ascii_case(word))
}

/// What a `<meta name=.. content=..>` adds to (noindex, nofollow): only
/// `name=robots` counts; `none` means both.
fn meta_robots(name: Option<&str>, content: Option<&str>) -> (bool, bool) {
    match (name, content) {
        (Some(n), Some(c)) if n.trim().eq_ignore_ascii_case("robots") => {
            let none = has_token(c, "none");
            (none || has_token(c, "noindex"), none || has_token(c, "nofollow"))
        }
        _ => (false, false),
    }
}

/// Is this body binary rather than text, whatever it is labelled? True
/// when the first KiB has a NUL byte or more than 1 in 32 control bytes
/// that never appear in text (WHATWG "binary data bytes"); never for a
/// UTF-16 body, by BOM or by the `Content-Type` charset (its ASCII
/// characters hold NUL bytes).
pub fn looks_binary(body: &[u8], content_type: Option<&str>) -> bool {
    if body.starts_with(b"\xfe\xff") || body.starts_with(b"\xff\xfe") {
        return false;
    }
    if charset::declares_utf16(content_type) {
        return false;
    }
    let head = &body[..body.len().min(1024)];
    let binary =
        head.iter().filter(|&&b| matches!(b, 0..=8 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f)).count();
    head.contains(&0) || binary * 32 > head.len()
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

/// Extracts everything from `html`, fetched from `page`. Links are
/// resolved against `<base href>` when present, normalized, deduplicated
/// and filtered by `scope`; robots directives and `rules` are applied.
/// Nesting deeper than [`MAX_DEPTH`] and attributes past
/// `rules.limits.max_attributes` are cut first (see [`guard`]); past
/// `rules.limits.cpu_budget` of this thread's CPU, parsing stops with
/// [`OverBudget`].
pub fn extract(
    page: &Url,
    html: &str,
    scope: &ScopeMatcher,
    rules: &Rules,
) -> Result<Extracted, OverBudget> {
    let budget = Budget::start(rules.limits.cpu_budget);
    if rules.is_empty() {
        // Nothing needs a tree: tokenize only.
        let caps = Caps { depth: usize::MAX, attributes: rules.limits.max_attributes };
        let found = tokens::scan(&guard(html, caps, &budget)?, &budget)?;
        return Ok(finish(page, scope, rules, found, |_| BTreeMap::new()));
    }
    let caps = Caps { depth: MAX_DEPTH, attributes: rules.limits.max_attributes };
    let html = guard(html, caps, &budget)?;
    if let Some(plan) = &rules.fast
        && let Some((found, matched)) = fast::run(plan, &html, &budget)?
    {
        return Ok(finish(page, scope, rules, found, |base| rules.apply_matched(matched, base)));
    }
    extract_dom(page, &html, scope, rules, &budget)
}

/// Would [`extract`] take the streaming path for this page (rules it can
/// evaluate, markup it can vouch for)? For tests and measurements.
pub fn takes_fast_path(html: &str, rules: &Rules) -> bool {
    let caps = Caps { depth: MAX_DEPTH, attributes: rules.limits.max_attributes };
    let unlimited = Budget::start(Duration::MAX);
    rules.fast.as_ref().is_some_and(|plan| {
        guard(html, caps, &unlimited).is_ok_and(|html| fast::eligible(plan, &html))
    })
}

/// [`extract`] through a parsed document (what extraction rules need), on
/// markup already guarded.
fn extract_dom(
    page: &Url,
    html: &str,
    scope: &ScopeMatcher,
    rules: &Rules,
    budget: &Budget,
) -> Result<Extracted, OverBudget> {
    let doc = parse(html, budget)?;
    let found = Found::scan(&doc);
    budget.check()?;
    let extracted = finish(page, scope, rules, found, |base| rules.apply(&doc, base));
    budget.check()?;
    Ok(extracted)
}

/// `Html::parse_document`, fed in chunks with a budget check after each.
fn parse(html: &str, budget: &Budget) -> Result<Html, OverBudget> {
    let mut parser = html5ever::driver::parse_document(
        HtmlTreeSink::new(Html::new_document()),
        Default::default(),
    );
    for chunk in budget::chunks(html) {
        parser.process(chunk.into());
        budget.check()?;
    }
    Ok(parser.finish())
}

/// Resolves, filters and dedups what a page holds; `fields` runs the
/// extraction rules against the resolved base unless the page is noindex.
fn finish(
    page: &Url,
    scope: &ScopeMatcher,
    rules: &Rules,
    found: Found<'_>,
    fields: impl FnOnce(&Url) -> BTreeMap<String, FieldValue>,
) -> Extracted {
    let base = found
        .base
        .as_deref()
        .and_then(|h| page.join(h.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let canonical =
        found.canonical.as_deref().and_then(|h| resolve_link(&base, h)).map(String::from);
    let (noindex, nofollow) = (found.noindex, found.nofollow);
    let follow = rules.ignore_nofollow || !nofollow;
    let mut outlinks = 0u32;
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for (href, rel_nofollow) in &found.anchors {
        let Some(url) = resolve_link(&base, href) else { continue };
        outlinks = outlinks.saturating_add(1);
        if !follow || (*rel_nofollow && !rules.ignore_nofollow) || !scope.allows(&url) {
            continue;
        }
        let s: String = url.into();
        if seen.insert(s.clone()) {
            links.push(s);
        }
    }
    let (title, fields) = if noindex {
        (None, BTreeMap::new())
    } else {
        let title = found.title.map(|t| collapse_ws(&t)).filter(|t| !t.is_empty());
        (title, fields(&base))
    };
    Extracted { title, outlinks, links, noindex, nofollow, canonical, fields }
}

/// What a page holds for every crawl, in document order (five selector
/// passes' worth: `base[href]`, `meta[name=robots]`,
/// `link[rel~=canonical]`, `a[href]`, `title`), read from a parsed
/// document ([`Found::scan`]) or from tokens ([`tokens::scan`]).
#[derive(Default)]
struct Found<'a> {
    /// The first `<base href>`.
    base: Option<Cow<'a, str>>,
    noindex: bool,
    nofollow: bool,
    /// The first `<link rel=canonical href>`.
    canonical: Option<Cow<'a, str>>,
    /// Every `<a href>`: (href, has `rel=nofollow`).
    anchors: Vec<(Cow<'a, str>, bool)>,
    /// The text of the first `<title>`.
    title: Option<String>,
}

impl<'a> Found<'a> {
    /// One walk over a parsed document.
    fn scan(doc: &'a Html) -> Self {
        let mut f = Found::default();
        for node in doc.root_element().descendants() {
            let Some(el) = node.value().as_element() else { continue };
            if el.name() == "title" && f.title.is_none() {
                f.title = ElementRef::wrap(node).map(|t| t.text().collect());
            }
            f.element(el.name(), |a| el.attr(a), Cow::Borrowed);
        }
        f
    }

    /// What element `name` adds by its attributes (`a`, `base`, `meta`,
    /// `link`; a title's text comes from its children or tokens). `keep`
    /// turns an attribute value into what is kept: borrowed from a
    /// document, copied from a token.
    fn element<'t>(
        &mut self,
        name: &str,
        attr: impl Fn(&str) -> Option<&'t str>,
        keep: impl Fn(&'t str) -> Cow<'a, str>,
    ) {
        match name {
            "a" => {
                if let Some(href) = attr("href") {
                    let nofollow = attr("rel").is_some_and(|r| has_token(r, "nofollow"));
                    self.anchors.push((keep(href), nofollow));
                }
            }
            "base" if self.base.is_none() => self.base = attr("href").map(keep),
            "meta" => {
                let (noindex, nofollow) = meta_robots(attr("name"), attr("content"));
                self.noindex |= noindex;
                self.nofollow |= nofollow;
            }
            "link"
                if self.canonical.is_none()
                    && attr("rel").is_some_and(|r| has_token(r, "canonical")) =>
            {
                self.canonical = attr("href").map(keep);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Selector;

    /// Tokenizing alone finds what the parsed document holds: the same
    /// links (as a set: the tree builder may move a misplaced link, e.g.
    /// out of a table), title, base, canonical and robots directives.
    #[test]
    fn tokens_agree_with_the_document() {
        let docs = [
            r#"<title>A &amp; <b>B</b></title><a href="/x?a=1&amp;b=2">x</a>"#,
            r#"<script>document.write('<a href="/script-link">no</a>')</script><a href=/real>r</a>"#,
            r#"<style>a[href="/style"]{}</style><textarea><a href=/ta>no</a></textarea><a href=/y>y</a>"#,
            r#"<!-- <a href=/comment>no</a> --><xmp><a href=/xmp></xmp><noembed><a href=/ne></noembed>"#,
            r#"<svg><title>svg title</title><a href=/svg-link>s</a><style><a href=/svg-style></style></svg>"#,
            r#"<iframe><a href=/in-iframe></iframe><noscript><a href=/ns>ns</a></noscript>"#,
            r#"<template><a href=/tpl>t</a></template><TABLE><A HREF="/fostered">f</A><tr><td><a href=/td>"#,
            r#"<META NAME="Robots" CONTENT="noindex, NOFOLLOW"><title>hidden</title><a href=/z rel="NoFollow">"#,
            r#"<base href="/sub/"><base href="/other/"><link rel="alternate canonical" href="c"><a href="rel">"#,
            r#"<title>never closed <a href=/in-title>"#,
            r##"<a href="javascript:alert(1)">js</a><a href="mailto:x@y">m</a><a href="#frag">f</a><a href="">e</a>"##,
            r#"<plaintext><a href=/plain>"#,
            r#"<a href=/dup href=/second>d</a><math><a href=/m /></math><a href=/after-math>"#,
        ];
        let page = page();
        let scope = Scope::new(ScopeKind::Any, std::slice::from_ref(&page)).matcher().unwrap();
        let rules = Rules::default();
        let spec = trawl_site::SiteSpec::with_pages(500);
        let site: Vec<(Url, String)> = (0..40u32)
            .map(|i| {
                let url = Url::parse(&format!("http://127.0.0.1:8080{}", spec.path(i))).unwrap();
                let html = spec.render(i, "http://127.0.0.1:8080", "http://localhost:8080");
                (url, html)
            })
            .collect();
        let cases = docs
            .iter()
            .map(|d| (page.clone(), (*d).to_owned()))
            .chain(site.iter().cloned())
            .enumerate();
        for (n, (url, html)) in cases {
            let fast = super::extract(&url, &html, &scope, &rules).unwrap();
            let budget = Budget::start(Duration::from_secs(60));
            let dom = super::extract_dom(&url, &html, &scope, &rules, &budget).unwrap();
            if n >= docs.len() {
                assert_eq!(fast, dom, "generated page {url}");
                assert!(fast.links.len() > 20 && fast.title.is_some(), "{url}");
                continue;
            }
            let sorted = |e: &Extracted| {
                let mut l = e.links.clone();
                l.sort();
                l
            };
            assert_eq!(sorted(&fast), sorted(&dom), "links of {html}");
            assert_eq!(
                (&fast.title, fast.outlinks, fast.noindex, fast.nofollow, &fast.canonical),
                (&dom.title, dom.outlinks, dom.noindex, dom.nofollow, &dom.canonical),
                "{html}"
            );
        }
    }

    /// The walk finds what the five CSS selectors it replaces select.
    #[test]
    fn one_walk_finds_what_the_selectors_do() {
        let docs = [
            r#"<base target=x><base href="/b/"><base href="/c/"><title> T </title><title>2</title>
               <link rel=stylesheet href=s.css><link rel=canonical><link rel="x Canonical" href=/c>
               <meta name=robots><meta name=ROBOTS content="noindex"><a>no href</a>
               <a href=1 rel="nofollow noopener">1</a><svg><a href=2>2</a><title>svg</title></svg>
               <table><a href=3>foster-parented</a><tr><td><a href=4>4</a></table>"#,
            "<p>nothing here",
            r#"<meta name="robots" content="nofollow"><a href=a><a href=b><a href=a></a>"#,
        ];
        let sel = |s: &str| Selector::parse(s).unwrap();
        for html in docs {
            let doc = Html::parse_document(html);
            let f = Found::scan(&doc);
            let first_attr =
                |s: &str, a: &str| doc.select(&sel(s)).next().and_then(|e| e.value().attr(a));
            assert_eq!(f.base.as_deref(), first_attr("base[href]", "href"), "{html}");
            let canonical = doc
                .select(&sel("link[rel][href]"))
                .find(|l| has_token(l.value().attr("rel").unwrap(), "canonical"))
                .and_then(|l| l.value().attr("href"));
            assert_eq!(f.canonical.as_deref(), canonical, "{html}");
            let anchors: Vec<(&str, bool)> = doc
                .select(&sel("a[href]"))
                .map(|a| {
                    let v = a.value();
                    (
                        v.attr("href").unwrap(),
                        v.attr("rel").is_some_and(|r| has_token(r, "nofollow")),
                    )
                })
                .collect();
            let found: Vec<(&str, bool)> = f.anchors.iter().map(|(h, n)| (&**h, *n)).collect();
            assert_eq!(found, anchors, "{html}");
            let title = doc.select(&sel("title")).next().map(|t| t.text().collect::<String>());
            assert_eq!(f.title, title, "{html}");
            let robots: Vec<&str> = doc
                .select(&sel("meta[name][content]"))
                .filter(|m| m.value().attr("name").unwrap().eq_ignore_ascii_case("robots"))
                .map(|m| m.value().attr("content").unwrap())
                .collect();
            assert_eq!(f.noindex, robots.iter().any(|c| has_token(c, "noindex")), "{html}");
            assert_eq!(f.nofollow, robots.iter().any(|c| has_token(c, "nofollow")), "{html}");
        }
    }
    use trawl_common::url::{Scope, ScopeKind};

    fn page() -> Url {
        Url::parse("http://h.test/dir/p.html").unwrap()
    }

    fn scope() -> ScopeMatcher {
        Scope::new(ScopeKind::Host, &[page()]).matcher().unwrap()
    }

    fn extract(page: &Url, html: &str, scope: &ScopeMatcher) -> Extracted {
        super::extract(page, html, scope, &Rules::default()).unwrap()
    }

    #[test]
    fn meta_robots_noindex_drops_content_keeps_links() {
        let html = r#"<html><head><title>Secret</title>
            <META NAME="Robots" CONTENT="NoIndex, follow"></head>
            <body><h1>x</h1><a href="a">a</a></body></html>"#;
        let rules = Rules::new(&[rule("h", "h1")], false);
        let e = super::extract(&page(), html, &scope(), &rules).unwrap();
        assert!(e.noindex && !e.nofollow);
        assert_eq!((e.title, e.fields.len()), (None, 0));
        assert_eq!(e.links, ["http://h.test/dir/a"]);
        // `none` is noindex + nofollow; other meta names do not count.
        let html = r#"<meta name="robots" content="none"><meta name="description" content="noindex">
            <a href="a">a</a>"#;
        let e = extract(&page(), html, &scope());
        assert!(e.noindex && e.nofollow && e.links.is_empty());
        assert_eq!(e.outlinks, 1);
        let e = extract(
            &page(),
            r#"<meta name="googlebot" content="noindex"><title>t</title>"#,
            &scope(),
        );
        assert!(!e.noindex && e.title.is_some());
    }

    #[test]
    fn nofollow_meta_and_rel() {
        let html = r#"<meta name="robots" content="nofollow"><a href="a">a</a><a href="b">b</a>"#;
        let e = extract(&page(), html, &scope());
        assert!(e.nofollow && !e.noindex);
        assert!(e.links.is_empty());
        assert_eq!(e.outlinks, 2);
        let e = super::extract(&page(), html, &scope(), &Rules::new(&[], true)).unwrap();
        assert_eq!(e.links.len(), 2);
        assert!(e.nofollow, "the directive is still recorded");

        let html = r#"<a href="a" rel="ugc NoFollow">a</a><a href="b" rel="noopener">b</a>"#;
        let e = extract(&page(), html, &scope());
        assert_eq!(e.links, ["http://h.test/dir/b"]);
        assert_eq!(e.outlinks, 2);
        assert!(!e.nofollow);
        let e = super::extract(&page(), html, &scope(), &Rules::new(&[], true)).unwrap();
        assert_eq!(e.links.len(), 2);
    }

    #[test]
    fn canonical_is_resolved() {
        let html = r#"<head><base href="/b/"><link rel="stylesheet" href="s.css">
            <link rel="Canonical" href="../Page?x=1#frag"></head>"#;
        let e = extract(&page(), html, &scope());
        assert_eq!(e.canonical.as_deref(), Some("http://h.test/Page?x=1"));
        let e = extract(&page(), r#"<link rel="canonical" href="javascript:x">"#, &scope());
        assert_eq!(e.canonical, None);
    }

    #[test]
    fn binary_sniffing() {
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None));
        assert!(looks_binary(b"<html>\0", Some("text/html")));
        assert!(!looks_binary(b"<html><body>caf\xc3\xa9\t\r\n</body></html>", None));
        assert!(!looks_binary(b"\xff\xfe<\0h\0", None));
        assert!(!looks_binary(b"", None));
        // UTF-16 without a BOM, declared in the header (issue 13 item 4).
        let utf16: Vec<u8> = "<title>t</title>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(looks_binary(&utf16, Some("text/html")));
        assert!(!looks_binary(&utf16, Some("text/html; charset=UTF-16LE")));
        assert_eq!(decode(&utf16, Some("text/html; charset=utf-16le")), "<title>t</title>");
        // A stray control byte in a long text page is not enough.
        let mut page = b"<p>".repeat(100);
        page.push(0x1b);
        assert!(!looks_binary(&page, None));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let n = 100_000;
        let html = format!(
            "<title>deep</title>{}<a href=x>x</a>{}",
            "<div>".repeat(n),
            "</div>".repeat(n)
        );
        let rules = Rules::new(&[rule("d", "div div a"), rule_html("h", "div")], false);
        // Run where extraction runs: a thread with tokio's default 2 MiB stack.
        let e = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || super::extract(&page(), &html, &scope(), &rules).unwrap())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(e.title.as_deref(), Some("deep"));
        assert_eq!(e.links, ["http://h.test/dir/x"]);
        assert_eq!(e.fields["d"], FieldValue::One(Some("x".into())));
        assert!(matches!(&e.fields["h"], FieldValue::One(Some(h)) if h.len() <= MAX_VALUE_BYTES));
    }

    fn rule(name: &str, sel: &str) -> trawl_common::protocol::ExtractRule {
        trawl_common::protocol::ExtractRule {
            name: name.into(),
            selector: sel.into(),
            take: trawl_common::protocol::Take::Text,
            pair: None,
            all: false,
        }
    }

    fn rule_html(name: &str, sel: &str) -> trawl_common::protocol::ExtractRule {
        trawl_common::protocol::ExtractRule {
            take: trawl_common::protocol::Take::Html,
            ..rule(name, sel)
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
}
