//! Is a page's markup *tree-trivial*: does the HTML tree builder build
//! exactly the nesting its tags spell out? Then a streaming rewriter,
//! which sees only tags, selects the same elements with the same text as
//! the parsed document (the fast path, [`super::fast`]).
//!
//! A page qualifies when every non-void element is closed by its own end
//! tag at the top of the stack (no implicit closes, no stray end tags, no
//! adoption agency), when it uses none of the elements whose tree
//! construction is special (tables, forms in forms, `select`, `template`,
//! SVG/MathML, frames, `pre`'s dropped newline, the raw-text elements
//! beyond `script`/`style`/`title`), and when `html`/`head`/`body` start
//! tags come only where they create their element. The check is
//! conservative: anything it cannot vouch for sends the page to the DOM
//! path, which is always right, only slower. One linear scan; no
//! allocation beyond the stack.

use super::budget::Budget;
use super::depth::{self, Caps};
use super::elements::{closes_p, head_content, heading, raw, special, void};
use super::lex::{self, Name, Tag, is_space, tag_at};

/// Does the tokenizer read `tag` (a start or end tag's source) as this
/// scan does? Quotes only right after `=`, a name that ends at a space,
/// `/` or `>`.
fn plain_tag(b: &[u8], name_end: usize) -> bool {
    if !matches!(b.get(name_end), Some(&c) if is_space(c) || c == b'/' || c == b'>') {
        return false;
    }
    let mut last = b'=';
    let mut quote = None;
    for &c in &b[name_end..] {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') if last == b'=' => quote = Some(c),
            (None, b'"' | b'\'' | b'<' | b'`') => return false,
            (None, c) if !is_space(c) => last = c,
            _ => {}
        }
    }
    quote.is_none()
}

/// Where the name that starts at `from` ends.
fn name_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'_')))
        .map_or(b.len(), |p| from + p)
}

/// Is `html` tree-trivial (see the module docs)?
#[cfg(test)]
pub(super) fn tree_trivial(html: &str) -> bool {
    let unlimited = Budget::start(std::time::Duration::MAX);
    check(html, NO_CAPS, &unlimited).is_ok()
}

/// No caps: only tree-triviality is checked.
#[cfg(test)]
const NO_CAPS: Caps = Caps { depth: usize::MAX, attributes: usize::MAX };

/// The raw text of the first `<title>` when `html` is tree-trivial and
/// within `caps`, so that [`depth::guard`] would keep it as it is
/// (`Some(None)`: no title); else `None`, also when `budget` ran out on
/// the way (the caller checks it).
pub(super) fn title<'h>(html: &'h str, caps: Caps, budget: &Budget) -> Option<Option<&'h str>> {
    check(html, caps, budget).ok().map(|t| t.map(|r| &html[r]))
}

/// [`title`], or the source line of the rule that failed and the byte
/// offset where the scan was. Besides tree-triviality it replays what the
/// guard counts, to vouch that the guard would change nothing: the
/// nesting depth the guard counts (never past `caps.depth`), attributes
/// per tag (never past `caps.attributes`), and the ends of doctypes and
/// bogus comments as the guard finds them.
fn check(
    html: &str,
    caps: Caps,
    budget: &Budget,
) -> Result<Option<std::ops::Range<usize>>, (u32, usize)> {
    // The depth the guard counts.
    let mut depth = 0usize;
    let mut seen = 0u32;
    let mut title = None;
    let b = html.as_bytes();
    if memchr::memchr(0, b).is_some() {
        return Err((line!(), 0));
    }
    let mut stack: Vec<Name> = Vec::new();
    // Non-space text or an element outside head content has been seen
    // (the body exists, implicitly or not); the body or html was closed.
    let (mut content, mut closed) = (false, false);
    // A start tag other than `html` was seen.
    let mut element = false;
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + off;
        seen = seen.wrapping_add(1);
        if seen.is_multiple_of(depth::CHECK_EVERY) && budget.check().is_err() {
            return Err((line!(), i));
        }
        // Text matters only before the body's content starts (it starts
        // it) and after the body or html closed (none may follow).
        if (!content || closed) && !b[i..lt].iter().all(|&c| is_space(c)) {
            if closed {
                return Err((line!(), i));
            }
            content = true;
        }
        match b.get(lt + 1) {
            Some(b'!') if b[lt..].starts_with(b"<!--") => {
                let body = &b[lt + 4..];
                if body.starts_with(b">") || body.starts_with(b"->") {
                    return Err((line!(), i));
                }
                let Some(e) = memchr::memmem::find(body, b"-->") else { return Err((line!(), i)) };
                if memchr::memmem::find(&body[..e], b"--!").is_some() {
                    return Err((line!(), i));
                }
                i = lt + 4 + e + 3;
                continue;
            }
            Some(b'!' | b'?') => {
                // Doctype, bogus comment: up to the first `>`.
                let Some(e) = memchr::memchr(b'>', &b[lt..]) else { return Err((line!(), i)) };
                // The guard skips quoted text here: it must end there too.
                if lex::tag_end(b, lt + 2) != lt + e + 1 {
                    return Err((line!(), i));
                }
                i = lt + e + 1;
                continue;
            }
            Some(b'/') if !b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) => {
                return Err((line!(), i));
            }
            Some(c) if !c.is_ascii_alphabetic() && *c != b'/' => {
                i = lt + 1;
                continue;
            }
            None => return Err((line!(), i)),
            _ => {}
        }
        match tag_at(html, lt) {
            Tag::Other { .. } => return Err((line!(), i)),
            Tag::End { name, end } => {
                let n = name.as_str();
                if n.is_empty() || !plain_tag(&b[..end], name_end(b, lt + 2)) {
                    return Err((line!(), i));
                }
                match stack.last() {
                    Some(top) if top.as_bytes() == n.as_bytes() => {
                        stack.pop();
                    }
                    _ => return Err((line!(), i)),
                }
                if matches!(n, "body" | "html") {
                    closed = true;
                }
                if depth::nests(n, &[]) {
                    depth = depth.saturating_sub(1);
                }
                i = end;
            }
            Tag::Start { name, name_end: ne, self_closing, end } => {
                let n = name.as_str();
                // The whole name is what `name_at` read (no quote or other
                // byte the tokenizer would take into the name).
                if n.is_empty()
                    || n.len() != ne - lt - 1
                    || closed
                    || special(n)
                    || !plain_tag(&b[..end], ne)
                {
                    return Err((line!(), i));
                }
                let open = |w: &str| stack.iter().any(|s| s.as_bytes() == w.as_bytes());
                let closes = (closes_p(n) && open("p"))
                    || (heading(n) && stack.last().is_some_and(|s| heading(s.as_str())));
                let ok = !closes
                    && match n {
                        "html" => stack.is_empty() && !content && !element,
                        "head" => {
                            stack.iter().all(|s| s.as_bytes() == b"html") && !content && !element
                        }
                        "body" => stack.iter().all(|s| s.as_bytes() == b"html") && !content,
                        "a" => !open("a"),
                        // Each closes an open one of its kind (or a sibling).
                        "li" | "button" | "form" => !open(n),
                        "dd" | "dt" => !open("dd") && !open("dt"),
                        _ => true,
                    };
                if !ok {
                    return Err((line!(), i));
                }
                // What the guard cuts: attributes past the cap (a tag
                // shorter than two bytes per attribute cannot have that
                // many), start tags past the depth cap.
                if end - ne >= caps.attributes.saturating_mul(2)
                    && lex::attribute_cut(b, ne, end, caps.attributes).is_some()
                {
                    return Err((line!(), i));
                }
                if !raw(n) && depth::nests(n, &[]) {
                    if depth >= caps.depth {
                        return Err((line!(), i));
                    }
                    depth += 1;
                }
                element |= n != "html";
                if !head_content(n) && !matches!(n, "html" | "head") {
                    content = true;
                }
                if n == "body" {
                    // Text after `</head>` was checked; the body starts here.
                    content = true;
                }
                if void(n) {
                    i = end;
                    continue;
                }
                if self_closing {
                    return Err((line!(), i));
                }
                stack.push(name);
                i = end;
                if raw(n) {
                    // Up to `</name` followed by a delimiter.
                    let close = format!("</{n}");
                    let Some(p) = b[i..]
                        .windows(close.len())
                        .position(|w| w.eq_ignore_ascii_case(close.as_bytes()))
                    else {
                        return Err((line!(), i));
                    };
                    let after = b.get(i + p + close.len()).copied();
                    if !after.is_some_and(|c| is_space(c) || c == b'/' || c == b'>')
                        || memchr::memmem::find(&b[i..i + p], b"<!--").is_some()
                    {
                        return Err((line!(), i));
                    }
                    if n == "title" && title.is_none() {
                        title = Some(i..i + p);
                    }
                    i += p;
                }
            }
        }
    }
    if closed && !b[i..].iter().all(|&c| is_space(c)) {
        return Err((line!(), i));
    }
    if stack.iter().all(|n| matches!(n.as_bytes(), b"html" | b"head" | b"body")) {
        Ok(title)
    } else {
        Err((line!(), i))
    }
}

#[cfg(test)]
mod tests {
    use super::tree_trivial;

    #[test]
    fn generated_site_pages_qualify() {
        let spec = trawl_site::SiteSpec::with_pages(500);
        for i in [0, 1, 7, 123] {
            let html = spec.render(i, "http://h.test", "http://localhost");
            let unlimited = super::Budget::start(std::time::Duration::MAX);
            if let Err((line, at)) = super::check(&html, super::NO_CAPS, &unlimited) {
                let from = html.floor_char_boundary(at.saturating_sub(80));
                let to = html.floor_char_boundary((at + 80).min(html.len()));
                panic!("page {i}: rule at line {line}, near {:?}", &html[from..to]);
            }
        }
    }

    #[test]
    fn well_formed_pages_qualify() {
        for html in [
            "<!doctype html><html><head><title>a &amp; b</title></head><body><p>x <a href=1>y</a></p></body></html>",
            "<title>t</title><div class=x><span>a</span><img src=i></div>",
            "<!-- c --><p>text</p>\n",
            "<ul><li><a href=1>a</a></li><li>b<br>c<hr></li></ul><dl><dt>t</dt><dd>d</dd></dl>",
            r#"<script>if (a < b && "</div>") {}</script><h1>x</h1>"#,
        ] {
            assert!(tree_trivial(html), "{html}");
        }
    }

    #[test]
    fn what_the_tree_builder_rebuilds_does_not() {
        for html in [
            "<p>a<div>b</div></p>",
            "<p>a<li>b</li></p>",
            "<a href=1>x<a href=2>y</a></a>",
            "<b><i>x</b></i>",
            "<div><span>x</div>",
            "x</p>",
            "<table><a href=1>x</a></table>",
            "<ul><li>a<li>b</ul>",
            "<ul><li>a<ul><li>b</li></ul></li></ul>",
            "<dl><dt>a<dd>b</dd></dt></dl>",
            "<h1>x</h2>",
            "<p>unclosed",
            "<body><p>x</p></body><p>after</p>",
            "<p>x</p><body class=late></body>",
            "<div/>",
            "<a title=x\"y>z</a>",
            "<!--> <a href=1></a>",
            "</ <a href=1>",
            "<svg><a href=1></a></svg>",
            "<script><!--<script>x</script></script>",
            "<p>\0</p>",
            "<title>t</title><head></head>",
            "<html><head></head><head></head>",
        ] {
            assert!(!tree_trivial(html), "{html}");
        }
    }
}
