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

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// When a request reported as started at `started_us` (microseconds since
/// the Unix epoch, a worker's wall clock on this machine) started, on the
/// monotonic clock. `wall_now` and `mono_now` are the two clocks read
/// together, the wall clock first: the result errs late, never early (so
/// a delay counted from it is never short), and is never after `mono_now`.
pub fn request_start(started_us: u64, wall_now: SystemTime, mono_now: Instant) -> Instant {
    // Rounded up to the next microsecond: the report truncated it.
    let started = UNIX_EPOCH + Duration::from_micros(started_us.saturating_add(1));
    match wall_now.duration_since(started) {
        Ok(ago) => mono_now.checked_sub(ago).unwrap_or(mono_now),
        // After `wall_now` (a clock step, or the rounding): no later than now.
        Err(_) => mono_now,
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
    fn request_start_maps_the_wall_clock_without_erring_early() {
        let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mono = Instant::now();
        let us = |d: Duration| {
            u64::try_from((wall - d).duration_since(UNIX_EPOCH).unwrap().as_micros()).unwrap()
        };
        // 250 ms ago, to the microsecond (rounded up by one).
        let at = request_start(us(Duration::from_millis(250)), wall, mono);
        assert_eq!(mono - at, Duration::from_millis(250) - Duration::from_micros(1));
        // Reported after the coordinator's wall clock: now, not later.
        assert_eq!(request_start(us(Duration::ZERO) + 5_000, wall, mono), mono);
        assert_eq!(request_start(us(Duration::ZERO), wall, mono), mono);
        // Absurdly long ago (clock step): no panic, as early as the clock goes.
        assert!(request_start(0, wall, mono) <= mono);
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
