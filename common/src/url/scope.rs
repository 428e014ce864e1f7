//! Which URLs belong to a crawl. Pure and cheap: the worker applies it to
//! every link so out-of-scope links never cross the process boundary, and
//! the coordinator applies it again to seeds and redirects.

use super::host_key;
use serde::{Deserialize, Serialize};
use url::Url;

/// How far from the seeds a crawl may wander.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    /// Same host and port as one of the seeds.
    Host,
    /// The seed's host or any subdomain of it.
    Domain,
    /// Anything http(s).
    Any,
}

/// The crawl's scope: a kind plus the seeds' hosts, narrowed by optional
/// URL patterns. This is the wire form; [`Scope::matcher`] compiles it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The rule.
    pub kind: ScopeKind,
    /// `host[:port]` keys of the seeds (for [`ScopeKind::Host`]).
    pub hosts: Vec<String>,
    /// Bare host names of the seeds (for [`ScopeKind::Domain`]).
    pub domains: Vec<String>,
    /// If any are given, a URL must match one of these regexes.
    pub allow: Vec<String>,
    /// A URL matching any of these regexes is out of scope.
    pub deny: Vec<String>,
}

/// A compiled [`Scope`], cheap to apply to every link.
#[derive(Clone, Debug)]
pub struct ScopeMatcher {
    scope: Scope,
    allow: regex::RegexSet,
    deny: regex::RegexSet,
}

impl ScopeMatcher {
    /// Is `url` inside the scope?
    pub fn allows(&self, url: &Url) -> bool {
        self.scope.allows_host(url)
            && (self.scope.allow.is_empty() || self.allow.is_match(url.as_str()))
            && !self.deny.is_match(url.as_str())
    }
}

impl ScopeMatcher {
    /// [`ScopeMatcher::allows`] on a normalized URL's text (what
    /// [`super::resolve_link_str`] gives), without parsing it.
    pub fn allows_str(&self, url: &str) -> bool {
        self.scope.allows_host_str(url)
            && (self.scope.allow.is_empty() || self.allow.is_match(url))
            && !self.deny.is_match(url)
    }
}

impl Scope {
    /// [`Scope::allows_host`] on a normalized URL's text: its
    /// [`super::authority`] is its host key.
    fn allows_host_str(&self, url: &str) -> bool {
        let authority = super::authority(url);
        match self.kind {
            ScopeKind::Any => true,
            ScopeKind::Host => self.hosts.iter().any(|k| k == authority),
            ScopeKind::Domain => {
                // The host without the port (an IPv6 host keeps its brackets).
                let host = match authority.rsplit_once(':') {
                    Some((h, port))
                        if !port.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        h
                    }
                    _ => authority,
                };
                self.domains.iter().any(|d| {
                    host == d
                        || (host.len() > d.len()
                            && host.ends_with(d.as_str())
                            && host.as_bytes()[host.len() - d.len() - 1] == b'.')
                })
            }
        }
    }

    /// A scope of `kind` around `seeds`.
    pub fn new(kind: ScopeKind, seeds: &[Url]) -> Self {
        let mut hosts: Vec<String> = seeds.iter().map(host_key).collect();
        hosts.sort();
        hosts.dedup();
        let mut domains: Vec<String> =
            seeds.iter().filter_map(|u| u.host_str().map(str::to_owned)).collect();
        domains.sort();
        domains.dedup();
        Self { kind, hosts, domains, allow: Vec::new(), deny: Vec::new() }
    }

    /// Compiles the patterns.
    pub fn matcher(&self) -> Result<ScopeMatcher, regex::Error> {
        Ok(ScopeMatcher {
            scope: self.clone(),
            allow: regex::RegexSet::new(&self.allow)?,
            deny: regex::RegexSet::new(&self.deny)?,
        })
    }

    /// Is `url` inside the scope, by host alone (patterns aside)?
    pub fn allows_host(&self, url: &Url) -> bool {
        match self.kind {
            ScopeKind::Any => true,
            // Compares against `host_key(url)` without building it: this
            // runs for every link of every page.
            ScopeKind::Host => {
                let Some(host) = url.host_str() else { return self.hosts.contains(&String::new()) };
                self.hosts.iter().any(|k| match url.port() {
                    None => k == host,
                    Some(port) => k
                        .strip_prefix(host)
                        .and_then(|rest| rest.strip_prefix(':'))
                        .is_some_and(|p| p.parse::<u16>() == Ok(port)),
                })
            }
            ScopeKind::Domain => {
                let Some(host) = url.host_str() else { return false };
                self.domains.iter().any(|d| {
                    host == d
                        || (host.len() > d.len()
                            && host.ends_with(d.as_str())
                            && host.as_bytes()[host.len() - d.len() - 1] == b'.')
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn patterns_narrow_the_scope() {
        let mut s = Scope::new(ScopeKind::Host, &[u("http://h.test/")]);
        s.allow = vec!["^http://h\\.test/docs/".into()];
        s.deny = vec!["\\.pdf$".into()];
        let m = s.matcher().unwrap();
        assert!(m.allows(&u("http://h.test/docs/a")));
        assert!(!m.allows(&u("http://h.test/blog/a")));
        assert!(!m.allows(&u("http://h.test/docs/a.pdf")));
        assert!(!m.allows(&u("http://other.test/docs/a")));
        s.allow = vec!["(".into()];
        assert!(s.matcher().is_err());
    }

    #[test]
    fn host_scope_includes_port() {
        let s = Scope::new(ScopeKind::Host, &[u("http://127.0.0.1:8080/")]);
        assert!(s.allows_host(&u("http://127.0.0.1:8080/x")));
        assert!(!s.allows_host(&u("http://127.0.0.1:8081/x")));
        assert!(!s.allows_host(&u("http://localhost:8080/x")));
        assert!(!s.allows_host(&u("http://127.0.0.1/x")));
        assert!(!s.allows_host(&u("http://127.0.0.10:8080/x")));
        let s = Scope::new(ScopeKind::Host, &[u("https://h.test/"), u("http://[::1]:81/")]);
        assert!(s.allows_host(&u("https://h.test:443/a")), "default port is no port");
        assert!(!s.allows_host(&u("https://h.test:8443/a")));
        assert!(s.allows_host(&u("http://[::1]:81/a")));
        for url in ["http://h.test:1/", "https://h.test/", "http://[::1]:81/"] {
            let url = u(url);
            assert_eq!(s.allows_host(&url), s.hosts.contains(&host_key(&url)), "{url}");
        }
    }

    #[test]
    fn domain_scope_takes_subdomains_only() {
        let s = Scope::new(ScopeKind::Domain, &[u("https://example.com/")]);
        assert!(s.allows_host(&u("https://example.com/a")));
        assert!(s.allows_host(&u("http://www.example.com/a")));
        assert!(!s.allows_host(&u("http://badexample.com/a")));
        assert!(!s.allows_host(&u("http://example.org/a")));
    }

    #[test]
    fn any_scope_takes_all() {
        let s = Scope::new(ScopeKind::Any, &[u("https://example.com/")]);
        assert!(s.allows_host(&u("http://elsewhere.test/")));
    }
}
