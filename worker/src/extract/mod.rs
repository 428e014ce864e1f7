//! Sync, pure extraction: HTML text in; title, links, robots directives,
//! canonical and user-defined fields out. No I/O, no runtime; called on
//! the blocking pool. `scraper::Html` never leaves [`extract`], so nothing
//! `!Send` can cross an `.await`.

mod budget;
mod charset;
mod depth;
mod elements;
mod entities;
mod fast;
mod fields;
mod found;
mod lex;
mod sniff;
mod strict;
mod tokens;

pub use budget::{OverBudget, thread_cpu};
pub use charset::decode;
use depth::guard;
pub use depth::{Caps, MAX_ATTRIBUTES, MAX_DEPTH, cap_nesting};
pub use fields::{MAX_VALUE_BYTES, MAX_VALUES, Rules};
use found::{Found, has_token};
pub use sniff::{is_html, looks_binary};

use budget::Budget;
use html5ever::tendril::TendrilSink as _;
use scraper::{Html, HtmlTreeSink};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use trawl_common::protocol::FieldValue;
use trawl_common::url::{ScopeMatcher, Url, resolve_link_str};

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
        // Nothing needs a tree: stream tree-trivial pages (within the
        // caps: the scan bounds its own work), tokenize the others.
        let caps = Caps { depth: MAX_DEPTH, attributes: rules.limits.max_attributes };
        if let Some(plan) = &rules.fast
            && let Some(title) = strict::title(html, caps, &budget)
            && let Some((found, _)) = fast::run(plan, html, title, &budget)?
        {
            return Ok(finish(page, scope, rules, found, |_| BTreeMap::new()));
        }
        budget.check()?;
        let caps = Caps { depth: usize::MAX, attributes: rules.limits.max_attributes };
        let found = tokens::scan(&guard(html, caps, &budget)?, &budget)?;
        return Ok(finish(page, scope, rules, found, |_| BTreeMap::new()));
    }
    let caps = Caps { depth: MAX_DEPTH, attributes: rules.limits.max_attributes };
    if let Some(plan) = &rules.fast {
        // One scan vouches for the markup and for the guard keeping it as
        // it is (the common case): no guard walk.
        if let Some(title) = strict::title(html, caps, &budget) {
            if let Some((found, matched)) = fast::run(plan, html, title, &budget)? {
                return Ok(finish(page, scope, rules, found, |b| rules.apply_matched(matched, b)));
            }
            return extract_dom(page, html, scope, rules, &budget);
        }
        budget.check()?;
    }
    let guarded = guard(html, caps, &budget)?;
    // Markup the guard cut may be tree-trivial now.
    if let (Some(plan), Cow::Owned(cut)) = (&rules.fast, &guarded)
        && let Some(title) = strict::title(cut, caps, &budget)
        && let Some((found, matched)) = fast::run(plan, cut, title, &budget)?
    {
        return Ok(finish(page, scope, rules, found, |b| rules.apply_matched(matched, b)));
    }
    budget.check()?;
    extract_dom(page, &guarded, scope, rules, &budget)
}

/// Would [`extract`] take the streaming path for this page (rules it can
/// evaluate, markup it can vouch for, as it is or once guarded)? For
/// tests and measurements.
pub fn takes_fast_path(html: &str, rules: &Rules) -> bool {
    let caps = Caps { depth: MAX_DEPTH, attributes: rules.limits.max_attributes };
    let unlimited = Budget::start(Duration::MAX);
    rules.fast.as_ref().is_some_and(|plan| {
        guard(html, caps, &unlimited)
            .is_ok_and(|html| fast::eligible(plan, &html, caps, &unlimited))
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
    let canonical = found.canonical.as_deref().and_then(|h| resolve_link_str(&base, h));
    let (noindex, nofollow) = (found.noindex, found.nofollow);
    let follow = rules.ignore_nofollow || !nofollow;
    let mut outlinks = 0u32;
    let mut kept = Vec::new();
    for (href, rel_nofollow) in &found.anchors {
        let Some(url) = resolve_link_str(&base, href) else { continue };
        outlinks = outlinks.saturating_add(1);
        if !follow || (*rel_nofollow && !rules.ignore_nofollow) || !scope.allows_str(&url) {
            continue;
        }
        kept.push(url);
    }
    let links = dedup(kept);
    let (title, fields) = if noindex {
        (None, BTreeMap::new())
    } else {
        let title = found.title.map(|t| collapse_ws(&t)).filter(|t| !t.is_empty());
        (title, fields(&base))
    };
    Extracted { title, outlinks, links, noindex, nofollow, canonical, fields }
}

/// `links` without repeats, first occurrences in order.
fn dedup(links: Vec<String>) -> Vec<String> {
    let first: Vec<bool> = {
        let mut seen = HashSet::with_capacity(links.len());
        links.iter().map(|l| seen.insert(l.as_str())).collect()
    };
    links.into_iter().zip(first).filter_map(|(l, f)| f.then_some(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_common::url::resolve_link;

    /// Tokenizing alone finds what the parsed document holds: the same
    /// links (as a set: the tree builder may move a misplaced link, e.g.
    /// out of a table), title, base, canonical and robots directives.
    #[test]
    fn tokens_agree_with_the_document() {
        let docs: Vec<&str> = include_str!("../../tests/data/tricky-markup.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("# "))
            .collect();
        assert_eq!(docs.len(), 13);
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
