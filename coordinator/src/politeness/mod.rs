//! Politeness: how hard trawl may press one host. Sync and pure; the
//! frontier asks it what each host allows.
//!
//! - [`HostPolicy`]: minimum delay between requests and maximum concurrent
//!   requests, per host. Defaults are polite for public hosts (1 at a time,
//!   250 ms apart) and unlimited for loopback hosts (tests, benchmarks,
//!   local mirrors); explicit flags apply to every host.
//! - [`robots`]: robots.txt rules (RFC 9309) and what a robots.txt status
//!   code means.
//! - [`backoff`]: how long a host is left alone after 429/503.

pub mod backoff;
pub mod robots;

use std::time::Duration;

/// Default delay between requests to one public host.
pub const PUBLIC_DELAY: Duration = Duration::from_millis(250);
/// Default concurrent requests to one public host.
pub const PUBLIC_PER_HOST: u32 = 1;

/// Politeness settings as configured (explicit values override defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolitenessConfig {
    /// `--delay`, if given.
    pub delay: Option<Duration>,
    /// `--per-host`, if given.
    pub per_host: Option<u32>,
    /// Fetch and obey robots.txt.
    pub robots: bool,
    /// Our user agent's product token, matched against robots.txt groups.
    pub agent: String,
}

/// What one host allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPolicy {
    /// Minimum time between the starts of two requests.
    pub delay: Duration,
    /// Most requests at once (`u32::MAX` = unlimited).
    pub per_host: u32,
}

impl PolitenessConfig {
    /// The policy for `host` (`host[:port]`, as in URLs).
    pub fn policy_for(&self, host: &str) -> HostPolicy {
        let local = is_loopback(host);
        HostPolicy {
            delay: self.delay.unwrap_or(if local { Duration::ZERO } else { PUBLIC_DELAY }),
            per_host: self
                .per_host
                .unwrap_or(if local { u32::MAX } else { PUBLIC_PER_HOST })
                .max(1),
        }
    }
}

/// Is `host` (`host[:port]`) a loopback name or address?
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for h in ["127.0.0.1:8080", "127.3.2.1", "localhost:1", "[::1]:80"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:80", "[2001:db8::1]:80"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn defaults_are_polite_for_public_hosts_only() {
        let c = PolitenessConfig::default();
        assert_eq!(c.policy_for("example.com"), HostPolicy { delay: PUBLIC_DELAY, per_host: 1 });
        assert_eq!(
            c.policy_for("127.0.0.1:9"),
            HostPolicy { delay: Duration::ZERO, per_host: u32::MAX }
        );
        let c = PolitenessConfig {
            delay: Some(Duration::from_millis(100)),
            per_host: Some(2),
            ..Default::default()
        };
        assert_eq!(
            c.policy_for("127.0.0.1:9"),
            HostPolicy { delay: Duration::from_millis(100), per_host: 2 }
        );
    }
}
