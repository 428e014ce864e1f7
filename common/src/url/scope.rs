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

/// The crawl's scope: a kind plus the seeds' hosts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The rule.
    pub kind: ScopeKind,
    /// `host[:port]` keys of the seeds (for [`ScopeKind::Host`]).
    pub hosts: Vec<String>,
    /// Bare host names of the seeds (for [`ScopeKind::Domain`]).
    pub domains: Vec<String>,
}

impl Scope {
    /// A scope of `kind` around `seeds`.
    pub fn new(kind: ScopeKind, seeds: &[Url]) -> Self {
        let mut hosts: Vec<String> = seeds.iter().map(host_key).collect();
        hosts.sort();
        hosts.dedup();
        let mut domains: Vec<String> =
            seeds.iter().filter_map(|u| u.host_str().map(str::to_owned)).collect();
        domains.sort();
        domains.dedup();
        Self { kind, hosts, domains }
    }

    /// Is `url` inside the scope?
    pub fn allows(&self, url: &Url) -> bool {
        match self.kind {
            ScopeKind::Any => true,
            ScopeKind::Host => {
                let key = host_key(url);
                self.hosts.contains(&key)
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
    fn host_scope_includes_port() {
        let s = Scope::new(ScopeKind::Host, &[u("http://127.0.0.1:8080/")]);
        assert!(s.allows(&u("http://127.0.0.1:8080/x")));
        assert!(!s.allows(&u("http://127.0.0.1:8081/x")));
        assert!(!s.allows(&u("http://localhost:8080/x")));
    }

    #[test]
    fn domain_scope_takes_subdomains_only() {
        let s = Scope::new(ScopeKind::Domain, &[u("https://example.com/")]);
        assert!(s.allows(&u("https://example.com/a")));
        assert!(s.allows(&u("http://www.example.com/a")));
        assert!(!s.allows(&u("http://badexample.com/a")));
        assert!(!s.allows(&u("http://example.org/a")));
    }

    #[test]
    fn any_scope_takes_all() {
        let s = Scope::new(ScopeKind::Any, &[u("https://example.com/")]);
        assert!(s.allows(&u("http://elsewhere.test/")));
    }
}
