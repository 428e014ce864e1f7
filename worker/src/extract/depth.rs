//! A guard against markup that makes html5ever superlinear, applied to
//! the text before any parsing:
//!
//! - **Depth.** html5ever has no nesting limit, and several
//!   tree-construction steps scan the stack of open elements, so 100k
//!   nested `<div>`s cost O(n^2). Browsers cap the tree depth (Blink at
//!   512); so do we: start tags beyond the cap and their end tags are
//!   dropped, text and the rest of the markup are kept.
//! - **Attributes.** The tokenizer checks each new attribute name against
//!   every earlier one of the same tag (O(n^2) in attributes per tag):
//!   attributes past the cap are cut from the tag.
//!
//! The scan is a cheap approximation of the tokenizer: it skips comments,
//! doctype and raw-text elements, respects quoted attribute values, ignores
//! void elements, and honours `/>` only inside SVG/MathML, as HTML does.
//! Elements whose end tag is optional do not count toward the depth only
//! where the tree builder really closes them implicitly: `rb`/`rt`/`rtc`/
//! `rp` inside a `<ruby>`, `optgroup` inside a `<select>` (outside them the
//! tree builder nests them and rescans the stack at each one: 200k nested
//! `<rt>` took minutes). It never fails: at worst a page keeps its deepest
//! tags flattened.

use super::budget::{Budget, OverBudget};
use super::lex::{Tag, attribute_cut, tag_at, tag_end};
use std::borrow::Cow;

/// Deepest element nesting kept.
pub const MAX_DEPTH: usize = 512;
/// Attributes kept per tag, by default.
pub const MAX_ATTRIBUTES: usize = 256;

/// What the guard keeps.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// Deepest element nesting kept (`usize::MAX`: no cap, for the
    /// tokenizer-only path, which builds no tree).
    pub depth: usize,
    /// Attributes kept per tag.
    pub attributes: usize,
}

/// Open elements that decide whether an optional-end-tag element nests:
/// a `<ruby>` closes `rt`s, a `<select>` closes `optgroup`s, unless a
/// scope boundary (table, template, SVG, ...) opened since hides it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Ctx {
    Ruby,
    Select,
    Boundary,
}

fn ctx_of(name: &str) -> Option<Ctx> {
    match name {
        "ruby" => Some(Ctx::Ruby),
        "select" => Some(Ctx::Select),
        "table" | "template" | "object" | "applet" | "marquee" | "svg" | "math" | "html" => {
            Some(Ctx::Boundary)
        }
        _ => None,
    }
}

/// Is `want` the innermost of `want` and a scope boundary?
fn inside(ctx: &[Ctx], want: Ctx) -> bool {
    ctx.iter().rev().find(|c| **c == want || **c == Ctx::Boundary) == Some(&want)
}

/// Does an element of this name nest where it appears? Void elements have
/// no content; most elements whose end tag is optional are closed
/// implicitly by the parser wherever they appear, so they do not nest
/// however many there are (`a` among them: the parser closes an open `a`
/// when another starts, so deep links are kept).
pub(super) fn nests(name: &str, ctx: &[Ctx]) -> bool {
    match name {
        // void
        "area" | "base" | "br" | "col" | "embed" | "hr" | "img" | "input" | "link" | "meta"
        | "source" | "track" | "wbr" | "param" | "keygen" | "frame"
        // end tag optional, closed implicitly everywhere
        | "a" | "p" | "li" | "dt" | "dd" | "option" | "tr" | "td" | "th"
        | "tbody" | "thead" | "tfoot" | "colgroup" | "caption" | "body" => false,
        // closed implicitly only inside their parent
        "rb" | "rt" | "rtc" | "rp" => !inside(ctx, Ctx::Ruby),
        "optgroup" => !inside(ctx, Ctx::Select),
        _ => true,
    }
}

/// Elements whose content is text up to their end tag.
fn raw_text(name: &str) -> bool {
    matches!(name, "script" | "style" | "textarea" | "title" | "xmp" | "noembed" | "plaintext")
}

/// Walks the markup; `emit(kept, range)` for every piece, where a dropped
/// piece is a tag past the depth cap or attributes past the attribute
/// cap. Returns whether anything was dropped. Checks `budget` every
/// [`CHECK_EVERY`] constructs (the scan is linear, but pages are large).
fn walk(
    html: &str,
    caps: Caps,
    budget: &Budget,
    mut emit: impl FnMut(bool, std::ops::Range<usize>),
) -> Result<bool, OverBudget> {
    let b = html.as_bytes();
    let (mut depth, mut dropped, mut foreign, mut any) = (0usize, 0usize, 0usize, false);
    // Open ruby/select/boundary elements (only counted, kept ones, so at
    // most `caps.depth` long).
    let mut ctx: Vec<Ctx> = Vec::new();
    let (mut i, mut seen) = (0, 0u32);
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        seen = seen.wrapping_add(1);
        if seen % CHECK_EVERY == 0 {
            budget.check()?;
        }
        let lt = i + off;
        emit(true, i..lt);
        match tag_at(html, lt) {
            Tag::Other { end } => {
                emit(true, lt..end);
                i = end;
            }
            Tag::End { name, end } => {
                let n = name.as_str();
                let counted = nests(n, &ctx);
                if matches!(n, "svg" | "math") {
                    foreign = foreign.saturating_sub(1);
                }
                if counted && dropped > 0 {
                    dropped -= 1;
                    emit(false, lt..end);
                } else {
                    if counted {
                        depth = depth.saturating_sub(1);
                        if let Some(kind) = ctx_of(n)
                            && let Some(at) = ctx.iter().rposition(|c| *c == kind)
                        {
                            ctx.truncate(at);
                        }
                    }
                    emit(true, lt..end);
                }
                i = end;
            }
            Tag::Start { name, name_end, self_closing, end } => {
                let n = name.as_str();
                let mut end = end;
                if raw_text(n) && foreign == 0 {
                    // Everything up to the matching end tag is text.
                    let close = format!("</{n}");
                    let lower_close = close.as_bytes();
                    end = b[end..]
                        .windows(lower_close.len())
                        .position(|w| w.eq_ignore_ascii_case(lower_close))
                        .map_or(b.len(), |p| end + p);
                    emit_start(b, lt, name_end, end, caps.attributes, &mut any, &mut emit);
                    i = end;
                    continue;
                }
                let closes_itself = self_closing && foreign > 0;
                let counted = nests(n, &ctx) && !closes_itself;
                if counted && depth >= caps.depth {
                    dropped += 1;
                    any = true;
                    emit(false, lt..end);
                } else {
                    if counted {
                        depth += 1;
                        if matches!(n, "svg" | "math") {
                            foreign += 1;
                        }
                        if let Some(kind) = ctx_of(n) {
                            ctx.push(kind);
                        }
                    }
                    emit_start(b, lt, name_end, end, caps.attributes, &mut any, &mut emit);
                }
                i = end;
            }
        }
    }
    emit(true, i..b.len());
    Ok(any)
}

/// Markup constructs scanned between two budget checks.
pub(super) const CHECK_EVERY: u32 = 4096;

/// Emits the start tag `b[lt..end]` (or, for raw-text elements, the tag
/// and its text), without the attributes past `max`.
fn emit_start(
    b: &[u8],
    lt: usize,
    name_end: usize,
    end: usize,
    max: usize,
    any: &mut bool,
    emit: &mut impl FnMut(bool, std::ops::Range<usize>),
) {
    let tag_end = tag_end(b, name_end.min(end)).min(end);
    match attribute_cut(b, name_end.min(tag_end), tag_end, max) {
        None => emit(true, lt..end),
        Some(cut) => {
            *any = true;
            emit(true, lt..cut);
            // Keep the closing `>` (and any `/` before it) if there is one.
            let close = if tag_end > cut && b[tag_end - 1] == b'>' {
                if tag_end - 1 > cut && b[tag_end - 2] == b'/' { tag_end - 2 } else { tag_end - 1 }
            } else {
                tag_end
            };
            emit(false, cut..close);
            emit(true, close..end);
        }
    }
}

/// `html` with element nesting and attributes per tag capped; borrowed
/// when nothing had to change (the common case costs one scan and no
/// copy). Stops with [`OverBudget`] once `budget` is spent.
pub(crate) fn guard<'h>(
    html: &'h str,
    caps: Caps,
    budget: &Budget,
) -> Result<Cow<'h, str>, OverBudget> {
    if !walk(html, caps, budget, |_, _| {})? {
        return Ok(Cow::Borrowed(html));
    }
    let mut out = String::with_capacity(html.len());
    walk(html, caps, budget, |kept, r| {
        if kept {
            out.push_str(&html[r]);
        }
    })?;
    tracing::debug!(
        bytes = html.len(),
        kept = out.len(),
        max_depth = caps.depth,
        max_attributes = caps.attributes,
        "markup capped"
    );
    Ok(Cow::Owned(out))
}

/// `html` with element nesting capped at `max` (attributes capped at
/// [`MAX_ATTRIBUTES`]).
pub fn cap_nesting(html: &str, max: usize) -> Cow<'_, str> {
    let unlimited = Budget::start(std::time::Duration::MAX);
    let caps = Caps { depth: max, attributes: MAX_ATTRIBUTES };
    guard(html, caps, &unlimited).unwrap_or(Cow::Borrowed(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_pages_are_untouched() {
        let html = r#"<!doctype html><html><head><title>a < b</title><script>if (a<b) x = "</div>";</script>
            </head><body><!-- <div><div> --><p>one<p>two<ul><li>a<li>b</ul><br><img src=x>
            <svg><path d="M0"/><path/></svg><div title=">"><a href=x>x</a></div></body></html>"#;
        assert!(matches!(cap_nesting(html, 4), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_capped_and_balanced() {
        let html = format!(
            "<body>{}<a href=x>x</a>{}<p>after</p>",
            "<div>".repeat(10),
            "</div>".repeat(10)
        );
        let capped = cap_nesting(&html, 4);
        assert_eq!(
            capped,
            "<body><div><div><div><div><a href=x>x</a></div></div></div></div><p>after</p>"
        );
        // Text and links survive; tags past the cap are gone.
        let html = format!("{}deep{}", "<span class='a>b'>".repeat(1000), "</span>".repeat(1000));
        let capped = cap_nesting(&html, 512);
        assert_eq!(capped.matches("<span").count(), 512);
        assert_eq!(capped.matches("</span>").count(), 512);
        assert!(capped.contains("deep"));
    }

    #[test]
    fn self_closing_html_elements_still_nest() {
        // `<div/>` opens a div in HTML; only SVG/MathML honour `/>`.
        let html = "<div/>".repeat(10);
        assert_eq!(cap_nesting(&html, 3).matches("<div/>").count(), 3);
        let svg = format!("<svg>{}</svg>", "<path/>".repeat(10));
        assert!(matches!(cap_nesting(&svg, 3), Cow::Borrowed(_)));
    }

    #[test]
    fn optional_end_tags_nest_outside_their_parent() {
        // Outside <ruby>/<select> the tree builder nests them: capped.
        for tag in ["<rt>", "<rb>", "<rp>", "<rtc>", "<optgroup>"] {
            let html = tag.repeat(10);
            assert_eq!(cap_nesting(&html, 3).matches(tag).count(), 3, "{tag}");
        }
        // Inside their parent they close each other: untouched.
        let ruby = format!("<ruby>{}</ruby>", "<rb>x<rt>y<rp>z".repeat(10));
        assert!(matches!(cap_nesting(&ruby, 3), Cow::Borrowed(_)));
        let select = format!("<select>{}</select>", "<optgroup><option>o".repeat(10));
        assert!(matches!(cap_nesting(&select, 3), Cow::Borrowed(_)));
        // A table inside the ruby hides it: the rt nest again.
        let hidden = format!("<ruby><table><tr><td>{}", "<rt>".repeat(10));
        assert_eq!(cap_nesting(&hidden, 3).matches("<rt>").count(), 1);
        // Closing the ruby ends its context.
        let after = format!("<ruby><rt>a</ruby>{}", "<rt>".repeat(10));
        assert_eq!(cap_nesting(&after, 3).matches("<rt>").count(), 1 + 3);
        // Elements closed implicitly everywhere never count.
        for tag in ["<li>", "<p>", "<option>", "<dd>", "<a href=x>"] {
            assert!(matches!(cap_nesting(&tag.repeat(10), 3), Cow::Borrowed(_)), "{tag}");
        }
    }

    #[test]
    fn attributes_past_the_cap_are_cut() {
        let caps = Caps { depth: MAX_DEPTH, attributes: 3 };
        let b = Budget::start(std::time::Duration::MAX);
        let cut = |s: &str| guard(s, caps, &b).unwrap().into_owned();
        assert_eq!(cut("<a b=1 c='2 >' d e=\"x\" f=9>t</a>"), "<a b=1 c='2 >' d >t</a>");
        assert_eq!(cut("<br a b c d/><i a b c>"), "<br a b c /><i a b c>");
        assert_eq!(cut("<p a b c d e"), "<p a b c ");
        assert_eq!(
            cut("<script a b c d>if (a<b) x</script>"),
            "<script a b c >if (a<b) x</script>"
        );
        assert!(matches!(guard("<a b c d>", caps, &b).unwrap(), Cow::Borrowed(_)));
        let many: String = (0..10_000).map(|i| format!(" a{i}=\"v\"")).collect();
        let html = format!("<div{many}>text</div>");
        let kept = cut(&html);
        assert_eq!(kept, "<div a0=\"v\" a1=\"v\" a2=\"v\" >text</div>");
    }

    #[test]
    fn unterminated_constructs_do_not_panic() {
        for s in ["<", "<div", "<!--", "<script>", "</", "<a href='", "<<<>>>", "é<é>"] {
            let _ = cap_nesting(s, 1);
            let _ = cap_nesting(&s.repeat(3), 1);
        }
    }
}
