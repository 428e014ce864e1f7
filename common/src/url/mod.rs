//! URLs as the crawler sees them: normalized (so equal pages compare
//! equal) and checked against the crawl's scope.

mod join;
mod normalize;
mod scope;

pub use join::join;
pub use normalize::{normalize, parse_crawl_url, resolve_link, resolve_link_str};
pub use scope::{Scope, ScopeKind, ScopeMatcher};

pub use ::url::Url;

/// The key politeness and scope use for a URL's server: `host[:port]`,
/// with the port only when it is not the scheme's default (a parsed
/// [`Url`] serializes without it), so it is [`authority`] of its text.
pub fn host_key(url: &Url) -> String {
    authority(url.as_str()).to_owned()
}

/// The authority (`host[:port]`, without userinfo) of a normalized
/// absolute URL's text: the one definition of a URL's host key, used on
/// strings where parsing each URL again would cost (frontier, query).
pub fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    auth.rsplit_once('@').map_or(auth, |(_, h)| h)
}

/// `scheme://authority` of a normalized absolute URL's text.
pub fn origin(url: &str) -> &str {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let end = url[scheme_end..].find(['/', '?', '#']).map_or(url.len(), |i| scheme_end + i);
    &url[..end]
}
