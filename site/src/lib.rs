//! A deterministic, generated blog-like website served on `127.0.0.1`, used
//! by trawl's demo, its end-to-end tests and its benchmarks.
//!
//! # Shape of the site
//!
//! * [`SiteSpec::pages`] pages. Page 0 lives at `/`, page `i > 0` at
//!   `/page/{i}` (decimal, no leading zeros). Nothing else is a page.
//! * Every page is a CMS-style listing: a nav bar (home, newer, older,
//!   latest), exactly [`SiteSpec::posts_per_page`] entries
//!   `<h2><a class="post-item-title" href=…>…</a></h2>` each followed by an
//!   excerpt, a "related" list, three off-site links, a footer, and filler
//!   prose up to about [`SiteSpec::page_bytes`] bytes of HTML.
//! * On-site links are written in a mix of forms that all resolve to real
//!   pages: root-relative (`/page/7`), absolute (`http://127.0.0.1:P/page/7`),
//!   protocol-relative (`//127.0.0.1:P/page/7`), relative (`7` or
//!   `page/7`, depending on the directory the link resolves against),
//!   dot-relative (`../page/7`, `../`, `./`) and with a fragment
//!   (`/page/7#comments`). No link carries a query string.
//! * Pages `i` with `i % 7 == 0` carry a `<base href>`: page 0 and pages
//!   with an even `i / 7` use `{origin}/page/`, the others `{origin}/`, and
//!   their relative links are written against that base (so a crawler that
//!   ignores `<base>` fetches 404s, counted in [`SiteServer::unknown_hits`]).
//! * Page `i` always links to pages `2i+1` and `2i+2` (when they exist) from
//!   its first posts, and to `i-1`/`i+1` from the nav bar, so every page is
//!   reachable from `/`.
//! * Non-crawlable links: `mailto:`, `javascript:void(0)`, `#top` (left out
//!   where the base would turn it into `/page/`), an `<a id>` without href,
//!   and a `<link rel="stylesheet" href="/static/site.css">`.
//! * Off-site links go to `http://localhost:P/ext/{k}`: the same server under
//!   another host name. A crawler scoped to `127.0.0.1:P` must never follow
//!   them; if it does, [`SiteServer::offsite_hits`] counts it.
//! * Some titles and post texts contain `&amp;` or `&#39;`; [`SiteSpec::title`]
//!   and [`SiteSpec::posts`] return the decoded text.
//!
//! All pseudo-randomness comes from a splitmix64 stream keyed by
//! [`SiteSpec::seed`] and the page number, so a page renders identically on
//! every request and in every process.
//!
//! # Layout
//!
//! * `spec.rs`: [`SiteSpec`], paths and every page's link plan;
//! * `render.rs`: a page's HTML;
//! * `rng.rs`: the splitmix64 stream behind every choice;
//! * `server.rs`: [`SiteServer`], its listeners (one per host) and its
//!   lifecycle; [`ServeOptions`];
//! * `respond.rs`: the handler: answers, injected latency, counters;
//! * `timeline.rs`: per-host request times and the [`gaps`] between them;
//! * `changes.rs`: [`ChangeSpec`], the schedule of changes over
//!   generations, validators and HTTP dates.
//!
//! # Many hosts
//!
//! With [`ServeOptions::hosts`] N > 1 the server listens on N ports of
//! 127.0.0.1, each a host (`127.0.0.1:P` is a host of its own to a
//! crawler) serving every page of the spec; each page also links to
//! [`PEER_LINKS`] pages of other hosts. [`ServeOptions::latency`] delays
//! every response (jittered), and [`ServeOptions::timeline`] records when
//! each host was asked, so a crawler's per-host delay can be checked at
//! the server.
//!
//! # Changing pages
//!
//! [`SiteSpec::changes`] makes the site change as a *generation* counter
//! advances ([`SiteServer::advance`], or `POST /_site/advance` on any
//! host; `GET /_site/stats` returns the counters as JSON; no page links to
//! `/_site/`). Which pages changed between two generations, which changed
//! only in markup and which were deleted is a pure function of the spec
//! ([`SiteSpec::changes_between`]); pages answer conditional requests
//! with 304 according to their [`Validators`], and the server counts
//! conditional requests, 304s and answers for deleted pages. Generation 0
//! is the site as it always was.

mod changes;
mod render;
mod respond;
mod rng;
mod server;
mod spec;
mod timeline;

pub use changes::{
    ChangeSpec, Changes, LAST_MODIFIED_EPOCH, PageState, Validators, ValidatorsBy, http_date,
    parse_http_date,
};
pub use render::{PEER_LINKS, Peers};
pub use server::{ServeOptions, SiteServer};
pub use spec::SiteSpec;
pub use timeline::{Gap, Request, gaps};

#[cfg(test)]
mod change_tests;
#[cfg(test)]
mod tests;
