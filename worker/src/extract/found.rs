//! What every crawl reads from a page besides the rules' fields:
//! `<base href>`, meta robots, canonical, links and title ([`Found`]),
//! from a parsed document, from tokens or from the streaming rewriter.

use scraper::{ElementRef, Html};
use std::borrow::Cow;

/// Does any token of a space- or comma-separated list equal `word`
/// (ASCII case-insensitive)?
pub(super) fn has_token(list: &str, word: &str) -> bool {
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

/// What a page holds for every crawl, in document order (five selector
/// passes' worth: `base[href]`, `meta[name=robots]`,
/// `link[rel~=canonical]`, `a[href]`, `title`), read from a parsed
/// document ([`Found::scan`]) or from tokens ([`tokens::scan`](super::tokens::scan)).
#[derive(Default)]
pub(super) struct Found<'a> {
    /// The first `<base href>`.
    pub(super) base: Option<Cow<'a, str>>,
    pub(super) noindex: bool,
    pub(super) nofollow: bool,
    /// The first `<link rel=canonical href>`.
    pub(super) canonical: Option<Cow<'a, str>>,
    /// Every `<a href>`: (href, has `rel=nofollow`).
    pub(super) anchors: Vec<(Cow<'a, str>, bool)>,
    /// The text of the first `<title>`.
    pub(super) title: Option<String>,
}

impl<'a> Found<'a> {
    /// One walk over a parsed document.
    pub(super) fn scan(doc: &'a Html) -> Self {
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
    pub(super) fn element<'t>(
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
}
