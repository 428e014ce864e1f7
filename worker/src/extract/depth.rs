//! A guard against pathologically deep HTML. html5ever has no nesting
//! limit, and several tree-construction steps scan the stack of open
//! elements, so 100k nested `<div>`s cost O(n^2) (minutes in a debug
//! build, seconds in release). Browsers cap the tree depth (Blink at 512);
//! so do we, before parsing: start tags beyond [`MAX_DEPTH`] and their end
//! tags are dropped, text and the rest of the markup are kept.
//!
//! The scan is a cheap approximation of the tokenizer: it skips comments,
//! doctype and raw-text elements, respects quoted attribute values, ignores
//! void elements and elements whose end tag is optional (they close
//! implicitly and do not nest), and honours `/>` only inside SVG/MathML,
//! as HTML does. It never fails: at worst a page keeps its deepest tags
//! flattened.

use std::borrow::Cow;

/// Deepest element nesting kept.
pub const MAX_DEPTH: usize = 512;

/// Does an element of this name nest? Void elements have no content;
/// elements whose end tag is optional are closed implicitly by the
/// parser, so they do not nest however many there are (`a` among them:
/// the parser closes an open `a` when another starts, so deep links are
/// kept).
fn nests(name: &str) -> bool {
    !matches!(
        name,
        // void
        "area" | "base" | "br" | "col" | "embed" | "hr" | "img" | "input" | "link" | "meta"
            | "source" | "track" | "wbr" | "param" | "keygen" | "frame"
            // end tag optional
            | "a" | "p" | "li" | "dt" | "dd" | "option" | "optgroup" | "tr" | "td" | "th"
            | "tbody" | "thead" | "tfoot" | "colgroup" | "caption" | "rb" | "rt" | "rtc"
            | "rp" | "html" | "body"
    )
}

/// Elements whose content is text up to their end tag.
fn raw_text(name: &str) -> bool {
    matches!(name, "script" | "style" | "textarea" | "title" | "xmp" | "noembed" | "plaintext")
}

/// A tag name, lowercased, in a fixed buffer: the scan allocates nothing.
/// Names longer than the buffer match no list (all are shorter).
#[derive(Clone, Copy)]
struct Name {
    buf: [u8; 16],
    len: usize,
}

impl Name {
    fn as_str(&self) -> &str {
        // Only ASCII alphanumerics, '-', ':' and '_' are stored.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

enum Tag {
    Start {
        name: Name,
        self_closing: bool,
        end: usize,
    },
    End {
        name: Name,
        end: usize,
    },
    /// Comment, doctype, processing instruction or a stray `<`.
    Other {
        end: usize,
    },
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Index just past the `>` that ends the tag starting at `from`, skipping
/// quoted attribute values.
fn tag_end(b: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (i, &c) in b.iter().enumerate().skip(from) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    b.len()
}

fn name_at(b: &[u8], from: usize) -> Name {
    let mut name = Name { buf: [0; 16], len: 0 };
    for &c in b[from..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'_'))
    {
        if name.len == name.buf.len() {
            // Too long to be any name we look for.
            name.len = 0;
            return name;
        }
        name.buf[name.len] = c.to_ascii_lowercase();
        name.len += 1;
    }
    name
}

/// The markup construct at `i` (which holds a `<`).
fn tag_at(html: &str, i: usize) -> Tag {
    let b = html.as_bytes();
    match b.get(i + 1) {
        Some(b'!') if b[i..].starts_with(b"<!--") => {
            Tag::Other { end: find(b, i + 4, b"-->").map_or(b.len(), |e| e + 3) }
        }
        Some(b'!' | b'?') => Tag::Other { end: tag_end(b, i + 2) },
        Some(b'/') if b.get(i + 2).is_some_and(u8::is_ascii_alphabetic) => {
            Tag::End { name: name_at(b, i + 2), end: tag_end(b, i + 2) }
        }
        Some(c) if c.is_ascii_alphabetic() => {
            let end = tag_end(b, i + 1);
            let self_closing = end >= 2 && b[end - 1] == b'>' && b[end - 2] == b'/';
            Tag::Start { name: name_at(b, i + 1), self_closing, end }
        }
        _ => Tag::Other { end: i + 1 },
    }
}

/// Walks the markup; `emit(kept, range)` for every piece, where a dropped
/// piece is a tag past the depth limit. Returns whether anything was
/// dropped.
fn walk(html: &str, max: usize, mut emit: impl FnMut(bool, std::ops::Range<usize>)) -> bool {
    let b = html.as_bytes();
    let (mut depth, mut dropped, mut foreign, mut any) = (0usize, 0usize, 0usize, false);
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + off;
        emit(true, i..lt);
        match tag_at(html, lt) {
            Tag::Other { end } => {
                emit(true, lt..end);
                i = end;
            }
            Tag::End { name, end } => {
                let counted = nests(name.as_str());
                if matches!(name.as_str(), "svg" | "math") {
                    foreign = foreign.saturating_sub(1);
                }
                if counted && dropped > 0 {
                    dropped -= 1;
                    emit(false, lt..end);
                } else {
                    if counted {
                        depth = depth.saturating_sub(1);
                    }
                    emit(true, lt..end);
                }
                i = end;
            }
            Tag::Start { name, self_closing, end } => {
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
                    emit(true, lt..end);
                    i = end;
                    continue;
                }
                let closes_itself = self_closing && foreign > 0;
                let counted = nests(n) && !closes_itself;
                if counted && depth >= max {
                    dropped += 1;
                    any = true;
                    emit(false, lt..end);
                } else {
                    if counted {
                        depth += 1;
                        if matches!(n, "svg" | "math") {
                            foreign += 1;
                        }
                    }
                    emit(true, lt..end);
                }
                i = end;
            }
        }
    }
    emit(true, i..b.len());
    any
}

/// `html` with element nesting capped at `max`; borrowed when nothing had
/// to change (the common case costs one scan and no copy).
pub fn cap_nesting(html: &str, max: usize) -> Cow<'_, str> {
    if !walk(html, max, |_, _| {}) {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    walk(html, max, |kept, r| {
        if kept {
            out.push_str(&html[r]);
        }
    });
    tracing::debug!(bytes = html.len(), kept = out.len(), max_depth = max, "deep nesting capped");
    Cow::Owned(out)
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
    fn unterminated_constructs_do_not_panic() {
        for s in ["<", "<div", "<!--", "<script>", "</", "<a href='", "<<<>>>", "é<é>"] {
            let _ = cap_nesting(s, 1);
            let _ = cap_nesting(&s.repeat(3), 1);
        }
    }
}
