//! URLs as the crawler sees them: normalized (so equal pages compare
//! equal) and checked against the crawl's scope.

mod normalize;
mod scope;

pub use normalize::{normalize, parse_crawl_url, resolve_link};
pub use scope::{Scope, ScopeKind, ScopeMatcher};

pub use ::url::Url;

/// The key politeness and scope use for a URL's server: `host[:port]`,
/// with the port only when it is not the scheme's default.
pub fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    }
}
