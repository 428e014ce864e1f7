//! The fast extraction path: a streaming rewriter (lol_html) instead of a
//! parsed document, for rule sets it can evaluate exactly, on pages whose
//! markup the tree builder would not rebuild ([`super::strict`]).
//!
//! Decided once per rule set ([`Plan::new`]): every rule's selector must
//! be one compound selector (type, class, id, attribute; no combinator,
//! no pseudo-class) that lol_html parses, and take text or attributes
//! (`@html` needs serialization: scraper). Per page, [`run`] returns
//! `None` (take the DOM path) when the markup is not tree-trivial, a
//! matched element is `html`/`head`/`body` (implied by the tree builder,
//! not by tags), an attribute a selector tests holds a character
//! reference or CR (lol_html matches raw values), or lol_html fails.
//! Text and attribute values arrive raw and are decoded as html5ever
//! decodes them ([`super::entities`]).

use super::budget::{self, Budget, OverBudget};
use super::depth::Caps;
use super::fields::TextValue;
use super::{Found, entities, strict};
use lol_html::html_content::{Element, EndTag, TextChunk, TextType};
use lol_html::{ElementContentHandlers, HtmlRewriter, Selector, Settings};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use trawl_common::protocol::{ExtractRule, Take};

/// The rule set compiled for the fast path.
#[derive(Debug)]
pub(super) struct Plan {
    /// One selector per rule, in rule order.
    selectors: Vec<Selector>,
    /// Attributes the selectors test (their raw values must be plain).
    tested: Vec<String>,
    /// Attribute names each rule takes (first, pair).
    takes: Vec<(Option<String>, Option<String>)>,
    /// Whether a rule needs its elements' text.
    texts: Vec<bool>,
    /// `a[href]`, `base[href]`, `meta`, `link`: what every page yields
    /// (with the title, which [`strict`] finds).
    fixed: Vec<Selector>,
}

/// Is `sel` one compound selector the rewriter matches as scraper does?
fn compound(sel: &str) -> bool {
    let mut depth = 0i32;
    for c in sel.trim().chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if depth == 0
                && (c.is_whitespace() || matches!(c, '>' | '+' | '~' | ':' | ',' | '|' | '(')) =>
            {
                return false;
            }
            '\\' => return false,
            _ => {}
        }
    }
    depth == 0 && !sel.trim().is_empty()
}

/// Attribute names a compound selector tests.
fn tested(sel: &str, into: &mut Vec<String>) {
    if sel.contains('.') {
        into.push("class".into());
    }
    if sel.contains('#') {
        into.push("id".into());
    }
    for part in sel.split('[').skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| {
                !matches!(c, '=' | '~' | '|' | '^' | '$' | '*' | ']') && !c.is_whitespace()
            })
            .collect();
        into.push(name.to_ascii_lowercase());
    }
}

impl Plan {
    /// The plan for `rules`, or `None` if some rule needs scraper.
    pub(super) fn new(rules: &[ExtractRule]) -> Option<Self> {
        let fixed = ["a[href]", "base[href]", "meta", "link"]
            .iter()
            .map(|s| s.parse::<Selector>().ok())
            .collect::<Option<Vec<_>>>()?;
        let mut plan = Plan {
            selectors: Vec::new(),
            tested: Vec::new(),
            takes: Vec::new(),
            texts: Vec::new(),
            fixed,
        };
        for r in rules {
            let takes = std::iter::once(&r.take).chain(&r.pair);
            if takes.clone().any(|t| matches!(t, Take::Html)) || !compound(&r.selector) {
                return None;
            }
            plan.selectors.push(r.selector.trim().parse::<Selector>().ok()?);
            tested(&r.selector, &mut plan.tested);
            let attr = |t: &Take| match t {
                Take::Attr(a) => Some(a.to_ascii_lowercase()),
                _ => None,
            };
            plan.takes.push((attr(&r.take), r.pair.as_ref().and_then(attr)));
            plan.texts.push(takes.clone().any(|t| matches!(t, Take::Text)));
        }
        Some(plan)
    }
}

/// One element a rule matched, with what the rule takes from it.
#[derive(Debug, Default)]
pub(super) struct Matched {
    pub(super) rule: usize,
    /// The taken attributes, decoded (first, pair).
    pub(super) attrs: (Option<String>, Option<String>),
    pub(super) text: TextValue,
    open: bool,
}

#[derive(Default)]
struct State {
    found: Found<'static>,
    matched: Vec<Matched>,
    /// Indexes into `matched` still open and taking text.
    open: Vec<usize>,
    /// Raw text of the current text node, per rule's text handler: each
    /// sees the same chunks.
    pending: Vec<String>,
    /// Who gets the current text node, per text handler: indexes into
    /// `matched`.
    targets: Vec<Vec<usize>>,
    bail: bool,
}

/// The first value of attribute `name`, decoded.
fn attr(el: &Element<'_, '_>, name: &str) -> Option<String> {
    el.attributes().iter().find(|a| a.name() == name).map(|a| entities::attribute_owned(a.value()))
}

/// Can the fast path vouch for this markup, as it is (tree-trivial and
/// within `caps`: the guard would keep it)? It may still give up on a
/// page for what only the rewriter sees.
pub(super) fn eligible(plan: &Plan, html: &str, caps: Caps, budget: &Budget) -> bool {
    strict::title(html, caps, budget).is_some() && plain_values(html, &plan.tested)
}

/// What a page holds and the matches of every rule, in document order;
/// `None` when the page must take the DOM path. `title` is the raw text
/// of the first `<title>` that [`strict::title`] found (the rewriter's
/// text handlers do not see a title's RCDATA): the caller has vouched
/// for the markup.
pub(super) fn run(
    plan: &Plan,
    html: &str,
    title: Option<&str>,
    budget: &Budget,
) -> Result<Option<(Found<'static>, Vec<Matched>)>, OverBudget> {
    if !plain_values(html, &plan.tested) {
        return Ok(None);
    }
    let state = Rc::new(RefCell::new(State::default()));
    let mut elements: Vec<(Cow<'_, Selector>, ElementContentHandlers<'_>)> = Vec::new();
    for (sel, name) in plan.fixed.iter().zip(["a", "base", "meta", "link"]) {
        let s = Rc::clone(&state);
        let handler = move |el: &mut Element<'_, '_>| {
            // href, rel, name, content: the attributes `Found` reads.
            const NAMES: [&str; 4] = ["href", "rel", "name", "content"];
            let mut vals: [Option<String>; 4] = Default::default();
            for a in el.attributes() {
                let n = a.name();
                if let Some(k) = NAMES.iter().position(|&w| w == n)
                    && vals[k].is_none()
                {
                    vals[k] = Some(entities::attribute_owned(a.value()));
                }
            }
            let mut st = s.borrow_mut();
            if name == "a" {
                // The common case, without copying the href again.
                if let [Some(href), rel, ..] = &mut vals {
                    let nofollow = rel.as_deref().is_some_and(|r| super::has_token(r, "nofollow"));
                    st.found.anchors.push((Cow::Owned(std::mem::take(href)), nofollow));
                }
                return Ok(());
            }
            let get = |n: &str| NAMES.iter().position(|&w| w == n).and_then(|k| vals[k].as_deref());
            st.found.element(name, get, |v| Cow::Owned(v.to_owned()));
            Ok(())
        };
        elements.push((Cow::Borrowed(sel), ElementContentHandlers::default().element(handler)));
    }
    for (rule, sel) in plan.selectors.iter().enumerate() {
        let s = Rc::clone(&state);
        let (first, pair) = plan.takes[rule].clone();
        let wants_text = plan.texts[rule];
        let handler = move |el: &mut Element<'_, '_>| {
            let mut st = s.borrow_mut();
            if matches!(el.tag_name().as_str(), "html" | "head" | "body") {
                st.bail = true;
                return Ok(());
            }
            let attrs = (
                first.as_deref().and_then(|a| attr(el, a)),
                pair.as_deref().and_then(|a| attr(el, a)),
            );
            let at = st.matched.len();
            let open = wants_text && el.can_have_content();
            st.matched.push(Matched { rule, attrs, text: TextValue::default(), open });
            if open {
                st.open.push(at);
                drop(st);
                let s = Rc::clone(&s);
                el.on_end_tag(Box::new(move |_: &mut EndTag<'_>| {
                    let mut st = s.borrow_mut();
                    st.matched[at].open = false;
                    st.open.retain(|&i| i != at);
                    Ok(())
                }))?;
            }
            Ok(())
        };
        let mut handlers = ElementContentHandlers::default().element(handler);
        if wants_text {
            handlers = handlers.text(text_handler(&state, rule));
        }
        elements.push((Cow::Borrowed(sel), handlers));
    }
    {
        let mut st = state.borrow_mut();
        st.pending = vec![String::new(); plan.selectors.len()];
        st.targets = vec![Vec::new(); plan.selectors.len()];
    }
    let settings =
        elements.into_iter().fold(Settings::new(), Settings::append_element_content_handler);
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    for chunk in budget::chunks(html) {
        if rewriter.write(chunk.as_bytes()).is_err() {
            return Ok(None);
        }
        budget.check()?;
    }
    if rewriter.end().is_err() {
        return Ok(None);
    }
    let Ok(st) = Rc::try_unwrap(state).map(RefCell::into_inner) else { return Ok(None) };
    if st.bail || st.matched.iter().any(|m| m.open) {
        return Ok(None);
    }
    let mut found = st.found;
    found.title = title.map(|t| entities::text(t).into_owned());
    Ok(Some((found, st.matched)))
}

/// The text handler of rule `rule`'s selector: the
/// rewriter calls it once per chunk inside any element the selector
/// matches, however deeply they nest. Chunks of one text node are joined,
/// decoded, then added to every open match of the rule.
fn text_handler(
    state: &Rc<RefCell<State>>,
    rule: usize,
) -> impl FnMut(&mut TextChunk<'_>) -> lol_html::HandlerResult + 'static {
    let s = Rc::clone(state);
    move |t: &mut TextChunk<'_>| {
        let mut st = s.borrow_mut();
        let st = &mut *st;
        let slot = rule;
        if st.pending[slot].is_empty() && st.targets[slot].is_empty() {
            // A new text node: who gets it is decided at its first chunk
            // (its last one may come after the element's end tag).
            let targets: Vec<usize> =
                st.open.iter().copied().filter(|&i| st.matched[i].rule == rule).collect();
            st.targets[slot] = targets;
        }
        if st.targets[slot].is_empty() {
            return Ok(());
        }
        st.pending[slot].push_str(t.as_str());
        if t.last_in_text_node() {
            let raw = std::mem::take(&mut st.pending[slot]);
            let targets = std::mem::take(&mut st.targets[slot]);
            let decoded = match t.text_type() {
                TextType::Data | TextType::RCData => entities::text(&raw),
                _ => Cow::Borrowed(raw.as_str()),
            };
            for i in targets {
                if let Some(m) = st.matched.get_mut(i) {
                    m.text.push(&decoded);
                }
            }
        }
        Ok(())
    }
}

/// Are the values of the `names` attributes free of character references
/// and CRs (which the rewriter would match undecoded)? Conservative: any
/// `name=` anywhere counts.
fn plain_values(html: &str, names: &[String]) -> bool {
    if names.is_empty() {
        return true;
    }
    let b = html.as_bytes();
    for eq in memchr::memchr_iter(b'=', b) {
        let mut end = eq;
        while end > 0 && super::lex::is_space(b[end - 1]) {
            end -= 1;
        }
        let start = b[..end]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':')))
            .map_or(0, |p| p + 1);
        let name = &b[start..end];
        if name.is_empty() || !names.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name)) {
            continue;
        }
        let mut v = eq + 1;
        while v < b.len() && super::lex::is_space(b[v]) {
            v += 1;
        }
        let value = match b.get(v) {
            Some(&q @ (b'"' | b'\'')) => {
                let rest = &b[v + 1..];
                &rest[..memchr::memchr(q, rest).unwrap_or(rest.len())]
            }
            _ => {
                let rest = &b[v..];
                let n = rest.iter().position(|&c| super::lex::is_space(c) || c == b'>');
                &rest[..n.unwrap_or(rest.len())]
            }
        };
        if value.iter().any(|&c| c == b'&' || c == b'\r') {
            return false;
        }
    }
    true
}
