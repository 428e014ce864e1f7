//! User-defined fields (`--extract`): compiled once per worker, applied to
//! every parsed page.

use scraper::{ElementRef, Html, Selector};
use std::collections::BTreeMap;
use trawl_common::protocol::{ExtractRule, FieldValue, Take};
use trawl_common::url::Url;

/// Most values one field keeps per page (`all` rules); the rest are
/// dropped, so one huge page cannot flood the IPC link or the store.
pub const MAX_VALUES: usize = 1000;
/// Longest single value in bytes; longer ones are cut at a char boundary.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The worker's compiled rules plus the nofollow switch.
#[derive(Debug, Default)]
pub struct Rules {
    fields: Vec<(ExtractRule, Selector)>,
    /// The same rules for the streaming path, when it can evaluate them
    /// all (decided once, here).
    pub(super) fast: Option<super::fast::Plan>,
    /// Follow links despite nofollow directives.
    pub ignore_nofollow: bool,
    /// Per-page parse bounds.
    pub limits: super::Limits,
}

impl Rules {
    /// No fields to extract (links, title and robots need no tree).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl Rules {
    /// Compiles the rules. They were validated when the config was
    /// resolved; one that still does not parse is logged and skipped.
    pub fn new(rules: &[ExtractRule], ignore_nofollow: bool) -> Self {
        let fields = rules
            .iter()
            .filter_map(|r| match Selector::parse(&r.selector) {
                Ok(sel) => Some((r.clone(), sel)),
                Err(e) => {
                    tracing::warn!(field = %r.name, selector = %r.selector, error = %e, "skipping extract rule");
                    None
                }
            })
            .collect::<Vec<_>>();
        let kept: Vec<ExtractRule> = fields.iter().map(|(r, _)| r.clone()).collect();
        // With no rules, the plan streams links, title and robots alone.
        let fast = super::fast::Plan::new(&kept);
        tracing::debug!(rules = kept.len(), fast = fast.is_some(), "extract rules compiled");
        Self { fields, fast, ignore_nofollow, limits: super::Limits::default() }
    }

    /// Does the streaming path evaluate these rules (on pages whose
    /// markup it can vouch for)?
    pub fn fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// The same rules, always through scraper (differential tests and
    /// measurements).
    #[must_use]
    pub fn without_fast_path(mut self) -> Self {
        self.fast = None;
        self
    }

    /// Every field's value from the fast path's matches (document order),
    /// as [`Rules::apply`] gives them from a parsed document.
    pub(super) fn apply_matched(
        &self,
        matched: Vec<super::fast::Matched>,
        base: &Url,
    ) -> BTreeMap<String, FieldValue> {
        let mut per_rule: Vec<Vec<super::fast::Matched>> =
            self.fields.iter().map(|_| Vec::new()).collect();
        for m in matched {
            if let Some(v) = per_rule.get_mut(m.rule) {
                v.push(m);
            }
        }
        self.fields
            .iter()
            .zip(per_rule)
            .map(|((rule, _), ms)| {
                let items = ms.into_iter().map(|m| {
                    let text = m.text.into_string();
                    let one = |what: &Take, attr: Option<&str>| match what {
                        Take::Text => Some(truncate(text.clone())),
                        Take::Html => None,
                        Take::Attr(_) => attr.map(|v| truncate(attr_value(v, what, base))),
                    };
                    let first = one(&rule.take, m.attrs.0.as_deref());
                    let second = rule.pair.as_ref().and_then(|p| one(p, m.attrs.1.as_deref()));
                    (first, second)
                });
                let v = match (&rule.pair, rule.all) {
                    (None, false) => FieldValue::One(items.filter_map(|(a, _)| a).next()),
                    (None, true) => {
                        FieldValue::Many(items.filter_map(|(a, _)| a).take(MAX_VALUES).collect())
                    }
                    (Some(_), all) => {
                        let mut pairs = items.filter_map(|(a, b)| Some((a?, b?)));
                        if all {
                            FieldValue::Pairs(pairs.take(MAX_VALUES).collect())
                        } else {
                            FieldValue::Pair(pairs.next())
                        }
                    }
                };
                (rule.name.clone(), v)
            })
            .collect()
    }

    /// Every field's value on `doc`; URL attributes resolve against `base`.
    pub(crate) fn apply(&self, doc: &Html, base: &Url) -> BTreeMap<String, FieldValue> {
        self.fields
            .iter()
            .map(|(rule, sel)| {
                let value = |el: ElementRef<'_>| take(el, &rule.take, base);
                let matches = doc.select(sel);
                let v = match (&rule.pair, rule.all) {
                    (None, false) => FieldValue::One(matches.filter_map(value).next()),
                    (None, true) => {
                        FieldValue::Many(matches.filter_map(value).take(MAX_VALUES).collect())
                    }
                    (Some(second), all) => {
                        let mut pairs =
                            matches.filter_map(|el| Some((value(el)?, take(el, second, base)?)));
                        if all {
                            FieldValue::Pairs(pairs.take(MAX_VALUES).collect())
                        } else {
                            FieldValue::Pair(pairs.next())
                        }
                    }
                };
                (rule.name.clone(), v)
            })
            .collect()
    }
}

/// One value from one element; `None` when an attribute is missing.
fn take(el: ElementRef<'_>, what: &Take, base: &Url) -> Option<String> {
    let s = match what {
        Take::Text => super::collapse_ws(&el.text().collect::<String>()),
        Take::Html => el.inner_html(),
        Take::Attr(a) => attr_value(el.value().attr(a)?, what, base),
    };
    Some(truncate(s))
}

/// An attribute's value as a field holds it: URL attributes resolved
/// against `base`.
fn attr_value(v: &str, what: &Take, base: &Url) -> String {
    if what.is_url() {
        let v = v.trim();
        trawl_common::url::join(base, v)
            .unwrap_or_else(|| base.join(v).map_or_else(|_| v.to_owned(), String::from))
    } else {
        v.to_owned()
    }
}

/// An element's text as it arrives in pieces, whitespace collapsed on the
/// way (what `collapse_ws` gives for the whole) and kept only to just
/// past [`MAX_VALUE_BYTES`] (what [`truncate`] keeps).
#[derive(Debug, Default)]
pub(crate) struct TextValue {
    s: String,
    space: bool,
}

impl TextValue {
    pub(crate) fn push(&mut self, piece: &str) {
        for c in piece.chars() {
            if self.s.len() > MAX_VALUE_BYTES {
                return;
            }
            if c.is_whitespace() {
                self.space = !self.s.is_empty();
            } else {
                if self.space {
                    self.s.push(' ');
                    self.space = false;
                }
                self.s.push(c);
            }
        }
    }

    pub(crate) fn into_string(self) -> String {
        self.s
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_VALUE_BYTES {
        let mut end = MAX_VALUE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, sel: &str, take: Take, pair: Option<Take>, all: bool) -> ExtractRule {
        ExtractRule { name: name.into(), selector: sel.into(), take, pair, all }
    }

    const PAGE: &str = r#"<html><head><base href="/blog/"></head><body>
        <article><h2><a class="t" href="p/1?a=1&amp;b=2" data-id="1">First &amp; best</a></h2></article>
        <article><h2><a class="t" href="https://other.test/x" data-id="2">  Second
            post </a></h2></article>
        <article><h2><a class="t">No href</a></h2><div class="body"><p>Hi <b>there</b></p></div></article>
        <img src="/i.png"><a class="t" href="mailto:x@y.z">mail</a>
    </body></html>"#;

    fn apply(rules: &[ExtractRule]) -> BTreeMap<String, FieldValue> {
        let doc = Html::parse_document(PAGE);
        let page = Url::parse("http://h.test/index.html").unwrap();
        let base = page.join("/blog/").unwrap();
        Rules::new(rules, false).apply(&doc, &base)
    }

    #[test]
    fn takes_text_attrs_html_pairs() {
        let f = apply(&[
            rule("first", "a.t", Take::Text, None, false),
            rule("hrefs", "a.t", Take::Attr("href".into()), None, true),
            rule("ids", "a.t", Take::Attr("data-id".into()), None, true),
            rule("posts", "a.t", Take::Attr("href".into()), Some(Take::Text), true),
            rule("one", "a.t", Take::Text, Some(Take::Attr("data-id".into())), false),
            rule("body", "div.body", Take::Html, None, false),
            rule("img", "img", Take::Attr("src".into()), None, false),
            rule("missing", "table", Take::Text, None, false),
            rule("nopair", "table", Take::Text, Some(Take::Text), false),
            rule("none", "table", Take::Text, None, true),
        ]);
        assert_eq!(f["first"], FieldValue::One(Some("First & best".into())));
        assert_eq!(
            f["hrefs"],
            FieldValue::Many(vec![
                "http://h.test/blog/p/1?a=1&b=2".into(),
                "https://other.test/x".into(),
                "mailto:x@y.z".into(),
            ])
        );
        assert_eq!(f["ids"], FieldValue::Many(vec!["1".into(), "2".into()]));
        assert_eq!(
            f["posts"],
            FieldValue::Pairs(vec![
                ("http://h.test/blog/p/1?a=1&b=2".into(), "First & best".into()),
                ("https://other.test/x".into(), "Second post".into()),
                ("mailto:x@y.z".into(), "mail".into()),
            ])
        );
        assert_eq!(f["one"], FieldValue::Pair(Some(("First & best".into(), "1".into()))));
        assert_eq!(f["body"], FieldValue::One(Some("<p>Hi <b>there</b></p>".into())));
        assert_eq!(f["img"], FieldValue::One(Some("http://h.test/i.png".into())));
        assert_eq!(f["missing"], FieldValue::One(None));
        assert_eq!(f["nopair"], FieldValue::Pair(None));
        assert_eq!(f["none"], FieldValue::Many(vec![]));
    }

    #[test]
    fn caps_values_and_lengths() {
        let big = format!("<p>{}</p>", "é".repeat(MAX_VALUE_BYTES));
        let many = "<i>x</i>".repeat(MAX_VALUES + 5);
        let doc = Html::parse_document(&format!("{big}{many}"));
        let base = Url::parse("http://h.test/").unwrap();
        let rules = Rules::new(
            &[rule("p", "p", Take::Text, None, false), rule("i", "i", Take::Text, None, true)],
            false,
        );
        let f = rules.apply(&doc, &base);
        let FieldValue::One(Some(p)) = &f["p"] else { panic!("{:?}", f["p"]) };
        assert!(p.len() <= MAX_VALUE_BYTES && p.len() > MAX_VALUE_BYTES - 2);
        let FieldValue::Many(i) = &f["i"] else { panic!() };
        assert_eq!(i.len(), MAX_VALUES);
    }

    #[test]
    fn unparsable_rule_is_skipped() {
        let r = Rules::new(&[rule("bad", "a[", Take::Text, None, false)], false);
        assert!(r.fields.is_empty());
    }
}
