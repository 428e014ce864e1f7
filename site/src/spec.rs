//! The site's shape: [`SiteSpec`], page paths, and the link graph of every
//! page (which pages it links to, and how each href is spelt). Turning a
//! page into HTML is `render.rs`'s job; serving it is `server.rs`'s.

use crate::changes::ChangeSpec;
use crate::rng::Rng;
use std::fmt::Write as _;

/// Shape of the generated site.
#[derive(Clone, Debug)]
pub struct SiteSpec {
    /// Number of pages (default 2000). 0 is treated as 1: `/` always exists.
    pub pages: u32,
    /// Approximate HTML size per page in bytes (default 44 000), reached by
    /// padding with deterministic prose.
    pub page_bytes: usize,
    /// Number of `a.post-item-title` entries per page (default 20).
    pub posts_per_page: u32,
    /// Approximate total number of `<a href>` per page (default 60),
    /// including posts, nav, footer and off-site links.
    pub links_per_page: u32,
    /// Seed of the deterministic pseudo-randomness.
    pub seed: u64,
    /// How pages change as the server's generation advances (default:
    /// never).
    pub changes: ChangeSpec,
}

impl Default for SiteSpec {
    fn default() -> Self {
        SiteSpec {
            pages: 2000,
            page_bytes: 44_000,
            posts_per_page: 20,
            links_per_page: 60,
            seed: 0x7472_6177_6c21,
            changes: ChangeSpec::default(),
        }
    }
}

#[rustfmt::skip]
const ADJ: &[&str] = &[
    "Quiet", "Rapid", "Gentle", "Curious", "Hidden", "Modern", "Simple", "Patient", "Bold", "Tiny",
    "Careful", "Lazy", "Async", "Sharded", "Frozen", "Wandering",
];
#[rustfmt::skip]
const NOUN: &[&str] = &[
    "crawlers", "queues", "gardens", "rivers", "parsers", "sockets", "lanterns", "archives",
    "workers", "maps", "indexes", "letters", "bridges", "kernels", "spiders", "caches",
];

/// Number of `<a href>` per page that are neither posts nor "related" links
/// (nav 4, off-site 3, `javascript:` 1, footer 3, `mailto:` 1, `#top` 1).
pub(crate) const FIXED_LINKS: u32 = 13;
pub(crate) const OFFSITE_LINKS: u64 = 3;

/// How an on-site link is written in the HTML.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Style {
    Root,
    Abs,
    ProtoRel,
    Rel,
    DotRel,
    Frag,
}

const POST_STYLES: &[Style] = &[Style::Root, Style::Abs, Style::Rel, Style::DotRel];
const ALL_STYLES: &[Style] =
    &[Style::Root, Style::Abs, Style::ProtoRel, Style::Rel, Style::DotRel, Style::Frag];

/// An on-site link: target page and spelling.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    pub(crate) to: u32,
    pub(crate) style: Style,
}

/// The `<base href>` of a page, which decides how relative links are spelt.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Base {
    /// No base: relative links resolve against `/page/` (only pages > 0).
    None,
    /// `<base href="{origin}/page/">`.
    Page,
    /// `<base href="{origin}/">`.
    Root,
}

/// The on-site links of one page, in document order.
pub(crate) struct Plan {
    pub(crate) nav: Vec<(Link, &'static str)>,
    pub(crate) posts: Vec<Link>,
    pub(crate) related: Vec<Link>,
    pub(crate) footer: [(Link, &'static str); 3],
}

impl Plan {
    fn targets(&self) -> impl Iterator<Item = u32> + '_ {
        let nav = self.nav.iter().map(|(l, _)| l.to);
        let footer = self.footer.iter().map(|(l, _)| l.to);
        nav.chain(self.posts.iter().map(|l| l.to))
            .chain(self.related.iter().map(|l| l.to))
            .chain(footer)
    }
}

impl SiteSpec {
    /// The default spec with `pages` pages.
    pub fn with_pages(pages: u32) -> Self {
        SiteSpec { pages, ..Default::default() }
    }

    /// The effective number of pages (at least 1).
    pub(crate) fn n(&self) -> u32 {
        self.pages.max(1)
    }

    /// Path of page `i`: `/` for page 0, `/page/{i}` otherwise.
    pub fn path(&self, i: u32) -> String {
        let mut s = String::with_capacity(16);
        push_path(&mut s, i);
        s
    }

    /// The page served at `path`, if any (the inverse of [`SiteSpec::path`]).
    pub fn page_index(&self, path: &str) -> Option<u32> {
        if path == "/" {
            return Some(0);
        }
        let digits = path.strip_prefix("/page/")?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits.parse::<u32>().ok().filter(|&i| i < self.n())
    }

    /// Every path reachable from `/` by following on-site `<a href>` links,
    /// sorted (as strings). By construction this is every page.
    pub fn reachable_paths(&self) -> Vec<String> {
        let n = self.n() as usize;
        let mut seen = vec![false; n];
        seen[0] = true;
        let mut queue = vec![0u32];
        while let Some(i) = queue.pop() {
            for t in self.plan(i).targets() {
                if !seen[t as usize] {
                    seen[t as usize] = true;
                    queue.push(t);
                }
            }
        }
        let mut paths: Vec<String> = seen
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| self.path(i as u32))
            .collect();
        paths.sort_unstable();
        paths
    }

    /// The headline of page `t`, also used as the text of links to it.
    pub(crate) fn headline(&self, t: u32) -> String {
        let mut r = Rng::new(self.seed, 1, t);
        let (a, n1, n2) = (r.pick(ADJ), r.pick(NOUN), r.pick(NOUN));
        match t % 6 {
            2 => format!("{a} {n1} & {n2}"),
            4 => format!("Editor's pick: {a} {n1}"),
            _ => format!("{a} {n1} and their {n2}"),
        }
    }

    /// The decoded, whitespace-collapsed `<title>` text of page `i`.
    pub fn title(&self, i: u32) -> String {
        format!("{} | Trawl test blog, page {i}", self.headline(i))
    }

    /// The `(path, text)` of the `a.post-item-title` entries of page `i`, in
    /// document order, with the href resolved to an absolute path and the
    /// text decoded (`i` is clamped to the last page, as in `render`).
    pub fn posts(&self, i: u32) -> Vec<(String, String)> {
        self.plan(i).posts.iter().map(|l| (self.path(l.to), self.headline(l.to))).collect()
    }

    /// The `<base href>` kind of page `i`.
    pub(crate) fn base(&self, i: u32) -> Base {
        match (i % 7, i / 7 % 2) {
            (0, 0) => Base::Page,
            (0, _) => Base::Root,
            _ => Base::None,
        }
    }

    /// The on-site links of page `i`.
    pub(crate) fn plan(&self, i: u32) -> Plan {
        let n = self.n();
        let i = i.min(n - 1);
        let mut r = Rng::new(self.seed, 2, i);
        let mut tree =
            [2 * u64::from(i) + 1, 2 * u64::from(i) + 2].into_iter().filter(|&t| t < u64::from(n));
        let mut nav = vec![(Link { to: 0, style: Style::Root }, "Home")];
        if i > 0 {
            nav.push((Link { to: i - 1, style: Style::Rel }, "&laquo; Newer posts"));
        }
        if i + 1 < n {
            nav.push((Link { to: i + 1, style: Style::DotRel }, "Older posts &raquo;"));
        }
        nav.push((Link { to: 0, style: Style::Abs }, "Latest"));
        let posts_n = self.posts_per_page as usize;
        let mut posts = Vec::with_capacity(posts_n);
        for _ in 0..posts_n {
            let to = tree.next().map_or_else(|| r.below(n), |t| t as u32);
            posts.push(Link { to, style: r.pick(POST_STYLES) });
        }
        let related_n =
            self.links_per_page.saturating_sub(self.posts_per_page.saturating_add(FIXED_LINKS))
                as usize;
        let mut related: Vec<Link> =
            tree.map(|t| Link { to: t as u32, style: Style::Root }).collect();
        for _ in 0..related_n {
            related.push(Link { to: r.below(n), style: r.pick(ALL_STYLES) });
        }
        let footer = [
            (Link { to: 0, style: Style::ProtoRel }, "Home"),
            (Link { to: n - 1, style: Style::Frag }, "Archive"),
            (Link { to: 1 % n, style: Style::Rel }, "Start reading"),
        ];
        Plan { nav, posts, related, footer }
    }
}

/// Appends the path of page `i`.
pub(crate) fn push_path(buf: &mut String, i: u32) {
    if i == 0 {
        buf.push('/');
    } else {
        let _ = write!(buf, "/page/{i}");
    }
}
