//! The streaming extraction path against the DOM path: on the generated
//! site, hostile pages, tricky markup and generated documents, the same
//! rules give exactly the same `Extracted` (title, links in order,
//! outlinks, base, canonical, robots directives, fields) whichever path
//! runs; and without rules (links only), the streamed path gives exactly
//! what html5ever's tokenizer gives. Pages the fast path cannot vouch for fall back to the DOM path,
//! so this holds for every page; the test also checks that the fast path
//! really runs where it should (every generated site page), so it cannot
//! pass by always falling back.

// Test support.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use trawl_common::config::FieldRule;
use trawl_common::url::{Scope, ScopeKind, ScopeMatcher, Url};
use trawl_worker::extract::{self, Rules};

/// The bench's rule, and the issue's others (one rule set each, and all
/// at once). The last set has a combinator: routed to scraper.
const RULE_SETS: &[&[&str]] = &[
    &["posts=a.post-item-title@href+text*"],
    &["h=h1"],
    &["hrefs=a@href*"],
    &["d=meta[name=description]@content"],
    &["x=.x@text*", "id=#main@id", "ps=p@text+class*", "one=span[data-k]@data-k+text"],
    &[
        "posts=a.post-item-title@href+text*",
        "h=h1",
        "hrefs=a@href*",
        "d=meta[name=description]@content",
    ],
    &["spans=div.x > span@text*"],
];

fn rules(flags: &[&str]) -> Vec<trawl_common::protocol::ExtractRule> {
    flags
        .iter()
        .map(|f| {
            let (name, rule) = FieldRule::parse_flag(f).unwrap();
            rule.resolve(&name).unwrap()
        })
        .collect()
}

fn page() -> Url {
    Url::parse("http://127.0.0.1:8080/dir/p.html").unwrap()
}

fn scope() -> ScopeMatcher {
    Scope::new(ScopeKind::Host, &[page()]).matcher().unwrap()
}

/// Both paths on `html` with every rule set; returns how many sets took
/// the fast path.
fn agree(url: &Url, html: &str) -> usize {
    let mut fast = 0;
    for set in RULE_SETS {
        let r = rules(set);
        let (with, without) = (Rules::new(&r, false), Rules::new(&r, false).without_fast_path());
        let a = extract::extract(url, html, &scope(), &with);
        let b = extract::extract(url, html, &scope(), &without);
        let shown: String = html.chars().take(400).collect();
        assert_eq!(a, b, "rules {set:?} on {shown:?}");
        fast += usize::from(extract::takes_fast_path(html, &with));
    }
    // Links only: streamed (tree-trivial pages) against the tokenizer.
    let (streamed, tokens) = (Rules::new(&[], false), Rules::new(&[], false).without_fast_path());
    let a = extract::extract(url, html, &scope(), &streamed);
    let b = extract::extract(url, html, &scope(), &tokens);
    let shown: String = html.chars().take(400).collect();
    assert_eq!(a, b, "links only on {shown:?}");
    fast
}

#[test]
fn rule_sets_are_routed_once() {
    for set in &RULE_SETS[..RULE_SETS.len() - 1] {
        assert!(Rules::new(&rules(set), false).fast_path(), "{set:?}");
    }
    for set in [&["spans=div.x > span@text*"][..], &["h=h1@html"], &["p=p:first-child"]] {
        assert!(!Rules::new(&rules(set), false).fast_path(), "{set:?}");
    }
}

#[test]
fn the_generated_site_takes_the_fast_path_and_agrees() {
    let spec = trawl_site::SiteSpec::with_pages(20_000);
    let origin = "http://127.0.0.1:8080";
    for i in (0..20_000).step_by(97).chain(0..10) {
        let url = Url::parse(&format!("{origin}{}", spec.path(i))).unwrap();
        let html = spec.render(i, origin, "http://localhost:8080");
        assert_eq!(agree(&url, &html), RULE_SETS.len() - 1, "page {i} left the fast path");
        assert!(extract::takes_fast_path(&html, &Rules::new(&[], false)), "page {i}: links only");
        let bench = Rules::new(&rules(RULE_SETS[0]), false);
        let e = extract::extract(&url, &html, &scope(), &bench).unwrap();
        let extract::Extracted { fields, title, links, .. } = e;
        assert!(title.is_some() && links.len() > 20, "page {i}");
        assert!(
            matches!(&fields["posts"], trawl_common::protocol::FieldValue::Pairs(p) if p.len() == 20),
            "page {i}: {fields:?}"
        );
    }
}

/// Markup that exercises the tree builder, entities and raw text, shared
/// with the tokenizer's test in `src/extract/mod.rs`: one document per line.
const SHARED: &str = include_str!("data/tricky-markup.txt");

/// The shared documents.
fn shared() -> impl Iterator<Item = &'static str> {
    SHARED.lines().filter(|l| !l.is_empty() && !l.starts_with("# "))
}

/// More of it; most goes to the DOM path, the well-formed part stays fast.
const TRICKY: &[&str] = &[
    // Well-formed: these stay on the fast path.
    r#"<!doctype html><html><head><title> T &lt;1&gt; &eacute;t&eacute; &copy </title>
       <meta name="description" content="a &amp; b &quot;c&quot;&#x27;"><base href="/b/">
       <link rel="Canonical stylesheet" href="../canon?x=1&amp;y=2#f"></head>
       <body><h1>Head<span> line </span>&nbsp;x</h1>
       <h2><a class="post-item-title" href="p?a=1&amp;b=2&copy=3">One &amp; <em>two</em>
         <script>if (a<b) {}</script> &#128; &#0; end</a></h2>
       <div class="x"><span>s1</span><p class="x y">para <b>b</b></p></div>
       <A CLASS="post-item-title" HREF="/UP">Upper</A>
       <a class="post-item-title">no href</a><span data-k="v&amp;w">k</span>
       <p id="main">m</p></body></html>"#,
    "<title>t</title><a class=post-item-title href=a\r\nb>c\r\nd</a><meta name=description content=\"x\ry\">",
    "<title></title><h1></h1><h1>second</h1><meta name=description><meta name=description content=z>",
    "<p>a</p><p>b <a href=1 rel=nofollow>c</a></p><meta name=robots content=none>",
    // Attribute values a selector tests, with references: DOM path.
    r#"<a class="post-item-title&#32;z" href=1>e</a><meta name="descr&#105;ption" content=d>"#,
    // Nested anchors, misnesting, unclosed, stray end tags, CDATA.
    r#"<a class=post-item-title href=1>one<a class=post-item-title href=2>two</a></a>"#,
    r#"<p><a class=post-item-title href=1>x<div>y</a>z</div>"#,
    r#"<h1>open <span>a</h1>b</span><p>unclosed<p>again"#,
    r#"x</p></br><h1>a</h2><![CDATA[<a href=/cdata>]]><a href=/after>"#,
    r#"<div class=x><span>a<b>b</span></b></div><div class="x"><span>ok</span></div>"#,
    r#"<body><a href=1>1</a></body><a href=2>after body</a>"#,
    r#"<a href=1>1</a><body class=x><a href=2>2</a>"#,
    r#"<ul><li><a class=post-item-title href=1>1<li><a class=post-item-title href=2>2</ul>"#,
    r#"<form><form><h1>f</h1></form></form><select><option><a href=/s>s</a></select>"#,
    r#"<pre>
first line</pre><h1>t<br>x</h1><a class="post-item-title" href="x" title='a"b'>q</a>"#,
    "<h1>nul \0 here</h1><a href=x\0y>z</a>",
];

#[test]
fn tricky_markup_agrees() {
    assert_eq!(shared().count(), 13);
    let mut fast = 0;
    for html in shared().chain(TRICKY.iter().copied()) {
        fast += agree(&page(), html);
    }
    // The well-formed documents stay fast.
    assert!(fast >= 3 * (RULE_SETS.len() - 1), "only {fast} fast runs");
}

#[test]
fn hostile_pages_agree_within_bounds() {
    let n = 100_000;
    let pages = [
        format!("<title>deep</title>{}<a href=x>x</a>{}", "<div>".repeat(n), "</div>".repeat(n)),
        format!(
            "<title>deep spans</title>{}<a class=post-item-title href=x>x</a>{}",
            "<span>".repeat(n),
            "</span>".repeat(n)
        ),
        format!("<title>rt</title>{}", "<rt>".repeat(n)),
        {
            let attrs: String = (0..150_000).map(|i| format!(" a{i}=1")).collect();
            format!("<title>attrs</title><div{attrs}><a href=/after>a</a></div>")
        },
        format!("<title>many</title>{}", "<div><a href=/l>l</a></div>".repeat(20_000)),
        format!("<h1>{}</h1>", "é &amp; ".repeat(50_000)),
    ];
    for html in &pages {
        agree(&page(), html);
    }
}

/// Raw text inside a matched element (script, style) and references are
/// part of its text on both paths, with the page on the fast path.
#[test]
fn raw_text_inside_a_match_stays_fast_and_agrees() {
    let html = r#"<!doctype html><html><head><title>t &amp; u</title></head><body>
        <h2><a class="post-item-title" href="/p?a=1&amp;b=2">one <script>if (a<b) x = "&amp;";</script>
        <style>p{}</style> two &eacute; <b>three</b></a></h2><h1>x<span>y</span></h1></body></html>"#;
    assert_eq!(agree(&page(), html), RULE_SETS.len() - 1);
}

/// The CPU budget bounds the fast path too: a large well-formed page with
/// a zero budget stops with `OverBudget`.
#[test]
fn the_budget_bounds_the_fast_path() {
    let html = format!("<title>big</title>{}", "<p><a href=/l>l</a></p>".repeat(200_000));
    let mut r = Rules::new(&rules(RULE_SETS[0]), false);
    assert!(extract::takes_fast_path(&html, &r));
    r.limits.cpu_budget = std::time::Duration::ZERO;
    assert!(extract::extract(&page(), &html, &scope(), &r).is_err());
}

/// Well-formed documents (nested elements from a small vocabulary, with
/// classes, ids, attributes and text holding references) and arbitrary
/// tag soup.
fn element() -> impl Strategy<Value = String> {
    let text =
        "([a-z ]|&amp;|&lt;|&copy|&#[0-9]{1,4};|&#x[0-9a-f]{1,3};|&[a-z]{1,5};?|\r|\n| ){0,6}";
    let leaf = text.prop_map(|t| t.to_owned());
    leaf.prop_recursive(4, 40, 5, move |inner| {
        (
            "(div|span|p|a|h1|h2|em|b|section|article|ul|script|title|meta|img|link|base)",
            "( class=\"(x|y|post-item-title|x y)\"| id=main| href=\"[a-z/?=&;#]{0,8}\"| name=(description|robots)| content=\"[a-z &;#0-9]{0,6}\"| data-k=[a-z]{1,3}| rel=(nofollow|canonical)){0,4}",
            prop::collection::vec(inner, 0..4),
        )
            .prop_map(|(tag, attrs, kids)| {
                let void = matches!(tag.as_str(), "meta" | "img" | "link" | "base");
                if void {
                    format!("<{tag}{attrs}>")
                } else if matches!(tag.as_str(), "script" | "title") {
                    format!("<{tag}{attrs}>{}</{tag}>", kids.concat().replace('<', " "))
                } else {
                    format!("<{tag}{attrs}>{}</{tag}>", kids.concat())
                }
            })
    })
}

fn soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        element(),
        "<(a|p|div|h1|span|li|table|td|b|i|body|head|html|svg|select|pre|form)( class=(x|post-item-title))?( href=[a-z]{1,2})?>",
        "</(a|p|div|h1|span|li|table|td|b|i|body|head|html|svg|select|pre|form|br)>",
        "[a-z <>&;=\"'/]{0,5}",
        Just("<!--".to_owned()),
        Just("<!-- c -->".to_owned()),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn well_formed_documents_agree(kids in prop::collection::vec(element(), 0..6)) {
        let html = format!("<!doctype html><html><head><title>t</title></head><body>{}</body></html>", kids.concat());
        agree(&page(), &html);
    }

    #[test]
    fn tag_soup_agrees(html in soup()) {
        agree(&page(), &html);
    }
}
