//! The link fast paths against the `url` crate: [`join`] gives exactly
//! `Url::join`'s serialization whenever it answers, [`resolve_link_str`]
//! exactly `resolve_link`'s, and [`ScopeMatcher::allows_str`] exactly
//! `allows`, on generated links mixing the shapes pages use with the
//! characters and segments the parser treats specially. The fast path
//! must also answer for the plain shapes, so the test cannot pass by
//! always deferring to the parser.

// Test support.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use trawl_common::url::{Scope, ScopeKind, Url, join, resolve_link, resolve_link_str};

const BASES: &[&str] = &[
    "http://127.0.0.1:8080/page/12",
    "http://127.0.0.1:8080/",
    "https://h.test/a/b/c.html?q=1#frag",
    "http://h.test/a//b/",
    "http://www.h.test:81/x",
    "http://u:p@h.test/dir/",
    "http://[::1]:8080/v6/p",
];

/// Pieces of hrefs: origins, segments and separators, special characters.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "http://127.0.0.1:8080",
        "https://h.test",
        "//h.test",
        "//127.0.0.1:8080",
        "//www.h.test:81",
        "HTTP://h.test",
        "http://h.test:80",
        "mailto:",
        "/",
        "//",
        "page",
        "12",
        "a:b",
        ".",
        "..",
        "./",
        "../",
        "?",
        "#",
        "&",
        "=",
        "%2e",
        "%41",
        " ",
        "\t",
        "\\",
        "'",
        "\"",
        "é",
        "[",
        "@",
        "~",
        ";",
        "+",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn join_is_url_join(base in prop::sample::select(BASES), pieces in prop::collection::vec(piece(), 1..7)) {
        let base = Url::parse(base).unwrap();
        let href: String = pieces.concat();
        if let Some(fast) = join(&base, &href) {
            let parsed = base.join(&href).ok();
            prop_assert_eq!(Some(fast.as_str()), parsed.as_ref().map(Url::as_str));
        }
        prop_assert_eq!(
            resolve_link_str(&base, &href),
            resolve_link(&base, &href).map(String::from),
            "{} + {:?}", base, href
        );
        for kind in [ScopeKind::Host, ScopeKind::Domain, ScopeKind::Any] {
            let m = Scope::new(kind, std::slice::from_ref(&base)).matcher().unwrap();
            if let Some(u) = resolve_link(&base, &href) {
                prop_assert_eq!(m.allows_str(u.as_str()), m.allows(&u), "{:?} {}", kind, u);
            }
        }
    }
}

/// The shapes of the generated site's links take the fast path.
#[test]
fn plain_links_are_joined_without_parsing() {
    let base = Url::parse("http://127.0.0.1:8080/page/12").unwrap();
    for href in [
        "/page/7",
        "http://127.0.0.1:8080/page/12",
        "//127.0.0.1:8080/page/13",
        "14",
        "../page/15",
        "/page/16#comments",
        "./",
        "../",
    ] {
        let fast = join(&base, href);
        assert!(fast.is_some(), "{href}");
        assert_eq!(fast.as_deref(), Some(base.join(href).unwrap().as_str()));
    }
}
