//! Property tests over everything the worker reads from a server: charset
//! sniffing and decoding, the markup guard, extraction on both paths (the
//! tokenizer-only path and the DOM path must not panic and must find the
//! same links), and sitemaps (XML, gzip). Bounded case counts, stable
//! Rust, part of `cargo test`; `PROPTEST_CASES=20000` for a longer pass.
//! Failures proptest finds are kept in `proptest-regressions/` and
//! replayed first; each one found so far is also a named test below.

// Test support.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use std::borrow::Cow;
use trawl_common::protocol::{ExtractRule, Take};
use trawl_common::url::{Scope, ScopeKind, Url};
use trawl_worker::{extract, sitemap};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, ..ProptestConfig::default() }
}

/// Markup built from pieces that exercise the tree builder: links,
/// raw-text elements, tables, foreign content, formatting elements,
/// optional end tags, comments, broken tags and text.
fn markup() -> impl Strategy<Value = String> {
    markup_of(true)
}

/// [`markup`], without SVG/MathML when `foreign` is false.
fn markup_of(foreign: bool) -> impl Strategy<Value = String> {
    let svg = if foreign { "<(svg|math)( /)?>" } else { "<(b|i)>" };
    let end_svg = if foreign { "</(svg|math)>" } else { "</(b|i)>" };
    let piece = prop_oneof![
        "<a href=\"[a-z/.?#]{0,6}\"( rel=nofollow)?>",
        Just("</a>".to_owned()),
        "<(div|p|li|dd|rt|rb|optgroup|option|b|i|span|ruby|table|tr|td|ul|h1|form|button|nobr|select|template|caption|colgroup|head|body|html|plaintext|image|isindex|object|marquee)>",
        "</(div|p|li|dd|rt|rb|optgroup|option|b|i|span|ruby|table|tr|td|ul|h1|form|button|nobr|select|template|caption|colgroup|head|body|html|object|br)>",
        svg,
        end_svg,
        "<(script|style|textarea|title|xmp|noscript|iframe|noembed)>",
        "</(script|style|textarea|title|xmp|noscript|iframe|noembed)>",
        Just("<base href=\"/b/\">".to_owned()),
        Just("<meta name=robots content=nofollow>".to_owned()),
        Just("<link rel=canonical href=/c>".to_owned()),
        Just("<!-- c -->".to_owned()),
        Just("<!--".to_owned()),
        Just("<!doctype html>".to_owned()),
        "<[a-z]{1,3}( [a-z]{1,2}(=[\"']?[a-z<>]{0,3}[\"']?)?){0,4}/?>",
        "[a-z <>&\"'=/;#]{0,6}",
        "\\PC{0,3}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn page() -> Url {
    Url::parse("http://h.test/dir/p.html").unwrap()
}

fn both_paths(html: &str) -> (extract::Extracted, extract::Extracted) {
    let scope = Scope::new(ScopeKind::Any, &[page()]).matcher().unwrap();
    let tokens = extract::extract(&page(), html, &scope, &extract::Rules::default()).unwrap();
    let rule = ExtractRule {
        name: "h".into(),
        selector: "h1".into(),
        take: Take::Html,
        pair: None,
        all: true,
    };
    let dom =
        extract::extract(&page(), html, &scope, &extract::Rules::new(&[rule], false)).unwrap();
    (tokens, dom)
}

fn sorted(links: &[String]) -> Vec<String> {
    let mut l = links.to_vec();
    l.sort();
    l
}

proptest! {
    #![proptest_config(config())]

    /// Both extraction paths finish on any markup and find the same links
    /// (as a set: the tree builder may move a link, not drop one), the
    /// same robots directives and the same canonical. Known divergence,
    /// left out here: inside SVG/MathML, an end tag that closes an HTML
    /// ancestor (`<a><svg></a><script>`) ends foreign content for the tree
    /// builder but not for the token path, which then reads the
    /// `<script>` as markup (it may report links the DOM does not).
    #[test]
    fn extraction_paths_agree(html in markup_of(false)) {
        let (tokens, dom) = both_paths(&html);
        prop_assert_eq!(sorted(&tokens.links), sorted(&dom.links), "links of {:?}", html);
        prop_assert_eq!((tokens.nofollow, tokens.noindex), (dom.nofollow, dom.noindex));
        prop_assert_eq!(&tokens.canonical, &dom.canonical);
    }

    /// Arbitrary text, and markup with SVG/MathML, never panics either
    /// path.
    #[test]
    fn extraction_never_panics(text in "\\PC{0,200}", html in markup()) {
        let _ = both_paths(&text);
        let _ = both_paths(&html);
    }

    /// The guard never panics, leaves small pages alone, and only removes
    /// bytes (it never adds markup).
    #[test]
    fn the_guard_only_removes(html in markup(), depth in 1usize..8) {
        let capped = extract::cap_nesting(&html, depth);
        prop_assert!(capped.len() <= html.len());
        prop_assert!(matches!(extract::cap_nesting(&html, 1000), Cow::Borrowed(_)));
    }

    /// Decoding any bytes under any declared charset never panics, and
    /// the binary sniff is total.
    #[test]
    fn decoding_any_bytes(body in prop::collection::vec(any::<u8>(), 0..600),
                          charset in "(utf-8|utf-16le|utf-16be|latin1|shift_jis|x-user-defined|bogus|)") {
        let ct = format!("text/html; charset={charset}");
        let _ = extract::looks_binary(&body, Some(&ct));
        let text = extract::decode(&body, Some(&ct));
        let _ = extract::decode(&body, None);
        prop_assert!(!text.is_empty() || body.is_empty() || charset.starts_with("utf-16"));
    }

    /// Sitemaps: any text is a sitemap or an error, and gzip of anything
    /// (or anything posing as gzip) inflates or fails cleanly.
    #[test]
    fn sitemaps_never_panic(xml in "(<\\?xml version=\"1.0\"\\?>)?(<(urlset|sitemapindex|url|sitemap|loc)>|</(urlset|sitemapindex|url|sitemap|loc)>|[a-z:/.&;<>]{0,5}|<!\\[CDATA\\[|\\]\\]>|<!DOCTYPE x \\[<!ENTITY e \"ee\">\\]>|&e;){0,30}",
                            junk in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = sitemap::parse(&xml);
        let mut gz_junk = vec![0x1f, 0x8b];
        gz_junk.extend(&junk);
        let _ = sitemap::maybe_gunzip(gz_junk);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, xml.as_bytes()).unwrap();
        let inflated = sitemap::maybe_gunzip(gz.finish().unwrap()).unwrap();
        prop_assert_eq!(inflated, xml.as_bytes());
    }
}

/// Found by `extraction_paths_agree`: a breakout tag (`<meta>`, `<p>`,
/// ...) ends SVG/MathML, so a later `<script>` is raw text on both paths;
/// and `</svg>` does not close a `<math>`.
#[test]
fn regression_foreign_content_breakout() {
    for html in [
        "<svg><meta name=robots content=nofollow><script><link rel=canonical href=/c><a href=s>",
        "<math></svg><script><a href=a>",
        "<svg><foreignObject><script><a href=f></script></foreignObject></svg><a href=after>",
        "<svg><desc><style><a href=d></style></desc><a href=in-svg></svg>",
    ] {
        let (tokens, dom) = both_paths(html);
        assert_eq!(sorted(&tokens.links), sorted(&dom.links), "{html}");
        assert_eq!((tokens.nofollow, &tokens.canonical), (dom.nofollow, &dom.canonical), "{html}");
    }
}
