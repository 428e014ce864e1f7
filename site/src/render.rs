//! Page HTML: a page's link plan (from `spec.rs`) written out with its
//! head, posts, related links, off-site links, footer and filler prose up
//! to about [`SiteSpec::page_bytes`].

use crate::rng::Rng;
use crate::spec::{Base, Link, OFFSITE_LINKS, SiteSpec, Style, push_path};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// Links from a page to other hosts' pages when the site serves several.
pub const PEER_LINKS: u32 = 4;

/// The hosts a page's host shares the site with, for
/// [`SiteSpec::render_among`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Peers<'a> {
    /// Every host's origin (`http://127.0.0.1:P`, no trailing slash).
    pub origins: &'a [String],
    /// Index of the page's own host in `origins`.
    pub me: usize,
}

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "a", "crawler", "walks", "through", "every", "page", "and", "notes", "what", "it",
    "finds", "while", "quiet", "workers", "hum", "in", "background", "of", "small", "server",
    "links", "lead", "to", "other", "places", "some", "near", "far", "away", "careful", "readers",
    "follow", "them", "slowly", "with", "patience", "queue", "grows", "shrinks", "again", "under",
    "evening", "light", "river", "archive", "index", "keeps", "each", "title", "safe", "for",
    "later", "morning", "garden", "lantern", "bridge", "letter", "map", "cache", "remembers", "old",
    "roads", "new", "ones", "appear", "as", "time", "passes", "by", "our", "little", "blog",
];

/// Appends `s` with `&`, `<`, `>`, `"` and `'` escaped.
fn push_escaped(buf: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&#39;"),
            c => buf.push(c),
        }
    }
}

/// Appends one sentence of `min..max` words of prose.
fn push_sentence(buf: &mut String, r: &mut Rng, min: u32, max: u32) {
    let words = min + r.below(max - min);
    for k in 0..words {
        let w = r.pick(WORDS);
        if k == 0 {
            // Words are non-empty ASCII.
            buf.push(char::from(w.as_bytes()[0].to_ascii_uppercase()));
            buf.push_str(&w[1..]);
        } else {
            buf.push_str(if r.below(9) == 0 { ", " } else { " " });
            buf.push_str(w);
        }
    }
    buf.push_str(". ");
}

/// Number of pre-generated filler paragraphs pages draw from.
const PROSE_PARAGRAPHS: u32 = 256;

/// The filler paragraphs (`<p>…</p>\n`), generated once from a fixed seed:
/// copying them keeps rendering cheap, while each page picks its own
/// pseudo-random sequence of them.
fn prose() -> &'static [String] {
    static PROSE: OnceLock<Vec<String>> = OnceLock::new();
    PROSE.get_or_init(|| {
        (0..PROSE_PARAGRAPHS)
            .map(|k| {
                let mut r = Rng::new(0x70726f7365, 0, k);
                let mut p = String::from("<p>");
                for _ in 0..5 {
                    push_sentence(&mut p, &mut r, 8, 18);
                }
                p.push_str("</p>\n");
                p
            })
            .collect()
    })
}

impl SiteSpec {
    /// Appends the href of `link` as written on a page with base `base`.
    fn push_href(buf: &mut String, link: Link, base: Base, origin: &str) {
        let to = link.to;
        match link.style {
            Style::Root => push_path(buf, to),
            Style::Abs => {
                buf.push_str(origin);
                push_path(buf, to);
            }
            Style::ProtoRel => {
                buf.push_str(origin.strip_prefix("http:").unwrap_or(origin));
                push_path(buf, to);
            }
            Style::Rel => match (to, base) {
                (0, Base::Root) => buf.push_str("./"),
                (0, _) => buf.push_str("../"),
                (_, Base::Root) => {
                    let _ = write!(buf, "page/{to}");
                }
                _ => {
                    let _ = write!(buf, "{to}");
                }
            },
            Style::DotRel if to == 0 => buf.push_str("../"),
            Style::DotRel => {
                let _ = write!(buf, "../page/{to}");
            }
            Style::Frag => {
                push_path(buf, to);
                buf.push_str("#comments");
            }
        }
    }

    /// Appends the "Across the network" list: links to other hosts' pages.
    fn push_peer_links(&self, buf: &mut String, i: u32, peers: Peers<'_>) {
        let n = peers.origins.len();
        if n < 2 {
            return;
        }
        let mut r = Rng::new(self.seed ^ peers.me as u64, 4, i);
        buf.push_str("<h3>Across the network</h3>\n<ul class=\"peers\">\n");
        for _ in 0..PEER_LINKS {
            let other = (peers.me + 1 + r.below(n as u32 - 1) as usize) % n;
            let to = r.below(self.n());
            buf.push_str("<li><a href=\"");
            buf.push_str(&peers.origins[other]);
            push_path(buf, to);
            buf.push_str("\">");
            push_escaped(buf, &self.headline(to));
            buf.push_str("</a></li>\n");
        }
        buf.push_str("</ul>\n");
    }

    /// Appends `<a href="…">text</a>` for an on-site link.
    fn push_link(
        &self,
        buf: &mut String,
        link: Link,
        base: Base,
        origin: &str,
        class: &str,
        text: Option<&str>,
    ) {
        buf.push_str("<a ");
        buf.push_str(class);
        buf.push_str("href=\"");
        Self::push_href(buf, link, base, origin);
        buf.push_str("\">");
        match text {
            Some(t) => buf.push_str(t),
            None => push_escaped(buf, &self.headline(link.to)),
        }
        buf.push_str("</a>");
    }

    /// The HTML of page `i` (clamped to the last page), given the server's
    /// origin (`http://127.0.0.1:P`) and the off-site origin
    /// (`http://localhost:P`), both without a trailing slash.
    pub fn render(&self, i: u32, origin: &str, offsite_origin: &str) -> String {
        self.render_among(i, origin, offsite_origin, Peers::default())
    }

    /// [`SiteSpec::render`] for page `i` of one host among several: with
    /// two or more `peers`, the page also links to [`PEER_LINKS`] pages of
    /// other hosts (absolute URLs, chosen pseudo-randomly per host and
    /// page). With fewer it is exactly [`SiteSpec::render`]'s page.
    pub fn render_among(
        &self,
        i: u32,
        origin: &str,
        offsite_origin: &str,
        peers: Peers<'_>,
    ) -> String {
        self.render_at(i, origin, offsite_origin, peers, 0)
    }

    /// [`SiteSpec::render_among`] at generation `generation` (see
    /// [`ChangeSpec`](crate::ChangeSpec)): a page that changed has a new
    /// title and an update paragraph, or, if its changes are cosmetic, a
    /// `data-revision` attribute and a comment. At generation 0, or for a
    /// page that never changed, it is exactly the original page.
    pub fn render_at(
        &self,
        i: u32,
        origin: &str,
        offsite_origin: &str,
        peers: Peers<'_>,
        generation: u32,
    ) -> String {
        let i = i.min(self.n() - 1);
        let state = self.state(i, generation);
        let base = self.base(i);
        let plan = self.plan(i);
        let mut r = Rng::new(self.seed, 3, i);
        let mut b = String::with_capacity(self.page_bytes + 4096);
        b.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        match base {
            Base::Page => {
                let _ = writeln!(b, "<base href=\"{origin}/page/\">");
            }
            Base::Root => {
                let _ = writeln!(b, "<base href=\"{origin}/\">");
            }
            Base::None => {}
        }
        b.push_str("<title>\n    ");
        push_escaped(&mut b, &self.title_at(i, generation));
        b.push_str("\n  </title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        b.push_str("<link rel=\"stylesheet\" href=\"/static/site.css\">\n");
        b.push_str("<style>body{font-family:sans-serif;max-width:48rem;margin:auto}.post-item-title{color:#036}</style>\n");
        b.push_str("<script>document.documentElement.className = 'js';</script>\n</head>\n");
        if state.version > 0 && state.cosmetic {
            let v = state.version;
            let _ = writeln!(b, "<body data-revision=\"{v}\">\n<!-- revision {v} -->");
        } else {
            b.push_str("<body>\n");
        }
        b.push_str("<header id=\"top\"><nav class=\"site-nav\">\n");
        for &(link, text) in &plan.nav {
            self.push_link(&mut b, link, base, origin, "", Some(text));
            b.push('\n');
        }
        b.push_str("</nav></header>\n<main>\n<h1>");
        push_escaped(&mut b, &self.headline(i));
        b.push_str("</h1>\n");
        if state.version > 0 && !state.cosmetic {
            let _ = writeln!(
                b,
                "<p class=\"update\">Update {}: this page changed at generation {}.</p>",
                state.version, state.changed_at
            );
        }
        b.push_str("<section class=\"posts\">\n");
        for &link in &plan.posts {
            b.push_str("<article class=\"post-item\"><h2>");
            self.push_link(&mut b, link, base, origin, "class=\"post-item-title\" ", None);
            b.push_str("</h2>\n<p class=\"excerpt\">");
            push_sentence(&mut b, &mut r, 12, 24);
            b.push_str("</p></article>\n");
        }
        b.push_str("</section>\n<aside>\n<h3>Related</h3>\n<ul>\n");
        for &link in &plan.related {
            b.push_str("<li>");
            self.push_link(&mut b, link, base, origin, "", None);
            b.push_str("</li>\n");
        }
        b.push_str("</ul>\n<h3>Elsewhere</h3>\n<ul>\n");
        for k in 0..OFFSITE_LINKS {
            let ext = u64::from(i) * OFFSITE_LINKS + k;
            let _ = writeln!(
                b,
                "<li><a href=\"{offsite_origin}/ext/{ext}\">Friend site {ext}</a></li>"
            );
        }
        b.push_str("<li><a href=\"javascript:void(0)\">Subscribe</a></li>\n</ul>\n");
        self.push_peer_links(&mut b, i, peers);
        b.push_str("</aside>\n");
        b.push_str("<a id=\"comments\">Comments are closed.</a>\n<div class=\"prose\">\n");

        let mut tail = String::with_capacity(1024);
        tail.push_str("</div>\n</main>\n<footer>\n");
        for &(link, text) in &plan.footer {
            self.push_link(&mut tail, link, base, origin, "", Some(text));
            tail.push('\n');
        }
        tail.push_str("<a href=\"mailto:editor@example.com\">Write to us</a>\n");
        if base != Base::Page {
            tail.push_str("<a href=\"#top\">Back to top</a>\n");
        }
        tail.push_str("<p>&copy; Trawl test blog</p>\n</footer>\n</body>\n</html>\n");

        let prose = prose();
        while b.len() + tail.len() < self.page_bytes {
            b.push_str(&prose[r.below(PROSE_PARAGRAPHS) as usize]);
        }
        b.push_str(&tail);
        b
    }
}
