//! The request-forgery guard: a crawl must not be steered (by a link, a
//! redirect or a DNS answer) into loopback, private, link-local or other
//! non-global addresses it was not seeded with.
//!
//! Every address a request can connect to passes [`Guard::check`]:
//! - host names through [`GuardedResolver`], the client's only resolver,
//!   which drops blocked answers (so the address checked is the address
//!   connected to: DNS rebinding cannot slip between check and connect);
//! - IP-literal URLs before the request is built ([`Guard::check_url`]),
//!   because hyper's connector never asks the resolver for them.
//!
//! Allowed: every global address; non-global ones inside the policy's
//! `allowed` ranges, inside the range of an IP-literal seed (a crawl of
//! `http://127.0.0.1:8080/` may fetch loopback, of `http://10.1.2.3/` any
//! of 10.0.0.0/8), loopback for `localhost` seeds, and whatever a seed's
//! own host name resolves to. `allow_private` turns the guard off.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use trawl_common::protocol::NetworkPolicy;
use trawl_common::url::Url;

/// A request the guard refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host}: {addr} is {class}, outside the crawl's allowed ranges")]
pub struct Blocked {
    /// The host as requested.
    pub host: String,
    /// The address refused.
    pub addr: IpAddr,
    /// Why it is not global (`loopback`, `private`, ...).
    pub class: &'static str,
}

/// Why `ip` is not a global address, or `None` if it is one.
pub fn non_global(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_global_v4(v4),
        IpAddr::V6(v6) => non_global_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

/// IANA's IPv4 special-purpose registry, less the globally reachable entries.
fn non_global_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const TABLE: [([u8; 4], u32, &str); 14] = [
        ([0, 0, 0, 0], 8, "unspecified"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "shared (carrier-grade NAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "IETF protocol assignment"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "reserved (6to4 relay)"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 3, "multicast or reserved"),
    ];
    TABLE.iter().find(|(net, len, _)| in_v4(ip, *net, *len)).map(|(_, _, class)| *class)
}

/// IANA's IPv6 special-purpose registry; addresses that embed an IPv4
/// address (mapped, NAT64, 6to4) are judged by it.
fn non_global_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    let embedded = |hi: usize| {
        let o = ip.octets();
        Ipv4Addr::new(o[hi], o[hi + 1], o[hi + 2], o[hi + 3])
    };
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96)
        || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96)
    {
        return non_global_v4(embedded(12));
    }
    if seg[0] == 0x2002 {
        return non_global_v4(embedded(2));
    }
    const TABLE: [([u16; 8], u32, &str); 9] = [
        ([0, 0, 0, 0, 0, 0, 0, 0], 8, "reserved"),
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "private (local NAT64)"),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only"),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF protocol assignment"),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation"),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "private (unique local)"),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local"),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local"),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast"),
    ];
    TABLE.iter().find(|(net, len, _)| in_v6(ip, *net, *len)).map(|(_, _, class)| *class)
}

/// Is `ip` inside `net/prefix`? Families must match (an IPv4-mapped IPv6
/// address is compared as IPv4).
fn contains((net, prefix): (IpAddr, u8), ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => in_v4(a, n.octets(), u32::from(prefix.min(32))),
        (IpAddr::V6(n), IpAddr::V6(a)) => in_v6(a, n.segments(), u32::from(prefix.min(128))),
        _ => false,
    }
}

/// The range a non-global seed address opens: its whole private,
/// loopback or link-local block, else just itself.
fn seed_ranges(ip: IpAddr) -> Vec<(IpAddr, u8)> {
    const BLOCKS: [(IpAddr, u8); 10] = [
        (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
        (IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8),
        (IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 12),
        (IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16),
        (IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)), 16),
        (IpAddr::V4(Ipv4Addr::new(100, 64, 0, 0)), 10),
        (IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)), 7),
        (IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10),
        (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 32),
    ];
    if ip.is_loopback() || ip.to_canonical().is_loopback() {
        // Both families: `localhost` may answer either.
        return BLOCKS[..2].to_vec();
    }
    match BLOCKS.iter().find(|b| contains(**b, ip)) {
        Some(b) => vec![*b],
        None => vec![(ip, if ip.is_ipv4() { 32 } else { 128 })],
    }
}

/// The guard, built once per worker from its settings and seeds.
#[derive(Debug, Default)]
pub struct Guard {
    allow_private: bool,
    allowed: Vec<(IpAddr, u8)>,
    /// Seed host names: their answers are the crawl's own.
    seed_names: HashSet<String>,
    /// Fixed answers (`NetworkPolicy::resolve`), lowercased names.
    fixed: HashMap<String, IpAddr>,
}

/// A host as written in a URL, without IPv6 brackets.
fn bare(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

impl Guard {
    /// The guard for `policy` around the seeds' bare host names.
    pub fn new(policy: &NetworkPolicy, seed_hosts: &[String]) -> Self {
        let mut allowed = policy.allowed.clone();
        let mut seed_names = HashSet::new();
        for host in seed_hosts {
            let host = bare(host).to_ascii_lowercase();
            match host.parse::<IpAddr>() {
                Ok(ip) if non_global(ip).is_some() => allowed.extend(seed_ranges(ip)),
                Ok(_) => {}
                Err(_) if host == "localhost" || host.ends_with(".localhost") => {
                    allowed.extend(seed_ranges(IpAddr::V4(Ipv4Addr::LOCALHOST)));
                }
                Err(_) => {
                    seed_names.insert(host);
                }
            }
        }
        let fixed =
            policy.resolve.iter().map(|(name, ip)| (name.to_ascii_lowercase(), *ip)).collect();
        Self { allow_private: policy.allow_private, allowed, seed_names, fixed }
    }

    /// May a request for `host` connect to `ip`?
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Blocked> {
        let Some(class) = non_global(ip) else { return Ok(()) };
        if self.allow_private
            || self.allowed.iter().any(|r| contains(*r, ip))
            || self.seed_names.contains(&host.to_ascii_lowercase())
        {
            return Ok(());
        }
        Err(Blocked { host: host.to_owned(), addr: ip, class })
    }

    /// The check for IP-literal URLs, which never reach the resolver.
    pub fn check_url(&self, url: &Url) -> Result<(), Blocked> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(&ip.to_string(), IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }
}

/// The client's resolver: the system's (or a fixed answer), less every
/// address the guard blocks; nothing left is an error carrying [`Blocked`].
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver(pub(crate) Arc<Guard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let answers: Vec<IpAddr> = match guard.fixed.get(&host) {
                Some(ip) => vec![*ip],
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await?
                    .map(|sa: SocketAddr| sa.ip())
                    .collect(),
            };
            let mut first_blocked = None;
            let mut kept = Vec::new();
            for ip in answers {
                match guard.check(&host, ip) {
                    Ok(()) => kept.push(SocketAddr::new(ip, 0)),
                    Err(b) => {
                        tracing::debug!(host = %host, addr = %ip, class = b.class, "address blocked");
                        first_blocked.get_or_insert(b);
                    }
                }
            }
            match (kept.is_empty(), first_blocked) {
                (true, Some(b)) => Err(Box::new(b) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

/// The [`Blocked`] somewhere in a request error's chain, if any.
pub(crate) fn blocked_in(e: &reqwest::Error) -> Option<&Blocked> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = src {
        if let Some(b) = cause.downcast_ref::<Blocked>() {
            return Some(b);
        }
        src = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classification() {
        for (a, class) in [
            ("127.0.0.1", "loopback"),
            ("127.255.1.2", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("224.0.0.1", "multicast or reserved"),
            ("255.255.255.255", "multicast or reserved"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::a00:1", "private"),
            ("2002:c0a8:0101::1", "private"),
            ("fc00::1", "private (unique local)"),
            ("fd12:3456::1", "private (unique local)"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
        ] {
            assert_eq!(non_global(ip(a)), Some(class), "{a}");
        }
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "172.15.255.255",
            "192.169.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(non_global(ip(a)), None, "{a}");
        }
    }

    #[test]
    fn seeds_allow_their_own_range_only() {
        let policy = NetworkPolicy::default();
        let g = Guard::new(&policy, &["127.0.0.1".into(), "example.org".into()]);
        assert!(g.check("a", ip("127.0.0.2")).is_ok());
        assert!(g.check("a", ip("::1")).is_ok());
        assert!(g.check("a", ip("::ffff:127.0.0.9")).is_ok());
        assert!(g.check("a", ip("8.8.8.8")).is_ok());
        assert_eq!(g.check("a", ip("10.0.0.1")).unwrap_err().class, "private");
        assert_eq!(g.check("a", ip("169.254.169.254")).unwrap_err().class, "link-local");
        // A seed's own name may resolve anywhere; other names may not.
        assert!(g.check("EXAMPLE.org", ip("10.0.0.1")).is_ok());
        let g = Guard::new(&policy, &["10.9.8.7".into()]);
        assert!(g.check("x", ip("10.200.0.1")).is_ok());
        assert!(g.check("x", ip("127.0.0.1")).is_err());
        assert!(g.check("x", ip("192.168.0.1")).is_err());
        let g = Guard::new(&policy, &["[fd00::5]".into()]);
        assert!(g.check("x", ip("fd99::1")).is_ok());
        assert!(g.check("x", ip("fe80::1")).is_err());
        let g = Guard::new(&policy, &["localhost".into()]);
        assert!(g.check("x", ip("127.0.0.1")).is_ok() && g.check("x", ip("10.0.0.1")).is_err());
    }

    #[test]
    fn policy_ranges_and_the_override() {
        let policy = NetworkPolicy { allowed: vec![(ip("192.168.4.0"), 24)], ..Default::default() };
        let g = Guard::new(&policy, &["example.org".into()]);
        assert!(g.check("x", ip("192.168.4.200")).is_ok());
        assert!(g.check("x", ip("192.168.5.1")).is_err());
        let open = NetworkPolicy { allow_private: true, ..Default::default() };
        assert!(Guard::new(&open, &[]).check("x", ip("169.254.169.254")).is_ok());
    }

    #[test]
    fn ip_literal_urls_are_checked() {
        let g = Guard::new(&NetworkPolicy::default(), &["example.org".into()]);
        let blocked = |u: &str| g.check_url(&Url::parse(u).unwrap()).is_err();
        assert!(blocked("http://127.0.0.1:8080/"));
        assert!(blocked("http://[::1]/"));
        assert!(blocked("http://[::ffff:7f00:1]/"));
        assert!(blocked("http://2130706433/")); // 127.0.0.1 as one number
        assert!(blocked("http://0x7f.1/"));
        assert!(blocked("http://169.254.169.254/latest/meta-data/"));
        assert!(!blocked("http://8.8.8.8/"));
        // Names are the resolver's business.
        assert!(!blocked("http://localhost/"));
    }
}
