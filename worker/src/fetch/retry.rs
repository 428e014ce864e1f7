//! When and how long to wait before trying a URL again: pure functions, so
//! the policy is testable without a server.
//!
//! Retried: connection failures before a response (refused, reset, closed
//! early, connect timeout), and 5xx except 501, 503 and 505.
//! Not retried: errors that cannot change on a second try (a reply that is
//! not HTTP, an oversized or malformed header section, conflicting
//! `Content-Length`s, a URL that is not a valid URI, an address the
//! request-forgery guard blocks), read and total timeouts (a slow server
//! is not helped by more load), 4xx, anything after the body started;
//! 429 and 503 go to the coordinator, which backs the whole host off.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// Is this status worth another attempt by this worker? 429 and 503 are
/// not: they ask the whole *host* to slow down, so they go straight to the
/// coordinator, which backs the host off for every worker and re-issues
/// the URL later.
pub(crate) fn retryable_status(status: u16) -> bool {
    (500..=599).contains(&status) && !matches!(status, 501 | 503 | 505)
}

/// Is this `send()` error worth another attempt?
pub(crate) fn retryable_error(e: &reqwest::Error) -> bool {
    if e.is_builder()
        || e.is_redirect()
        || permanent_cause(e)
        || super::guard::blocked_in(e).is_some()
    {
        return false;
    }
    e.is_connect() || !e.is_timeout()
}

/// Does the error chain hold a cause a retry cannot change: the reply was
/// not parseable HTTP (hyper's parse errors cover a non-HTTP reply, a bad
/// status line, an oversized header section, too many headers, invalid or
/// conflicting `Content-Length`) or hyper refused the request itself?
pub(crate) fn permanent_cause(e: &reqwest::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = src {
        if let Some(h) = cause.downcast_ref::<hyper::Error>()
            && (h.is_parse() || h.is_parse_status() || h.is_user())
        {
            return true;
        }
        src = cause.source();
    }
    false
}

/// Exponential backoff with "equal jitter": before retry `n` (1-based) wait
/// between half and all of `base * 2^(n-1)`, capped at `cap`. `jitter` is in
/// `[0, 1)`.
pub(crate) fn backoff(n: u8, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << u32::from(n.saturating_sub(1)).min(20)).min(cap);
    let half = exp / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A number in `[0, 1)` from the std hasher's random keys (no RNG crate).
pub(crate) fn jitter() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    // 53 random bits -> an exactly representable fraction.
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses `Retry-After`: delay-seconds or an HTTP-date (relative to `now`;
/// a date in the past means "now").
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate rather than fail.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whole seconds for the report, rounded up.
pub(crate) fn as_report_secs(d: Duration) -> u32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for s in [500, 502, 504, 599] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 403, 404, 501, 505, 429, 503] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_cap() {
        let (b, cap) = (Duration::from_millis(100), Duration::from_secs(30));
        assert_eq!(backoff(1, b, cap, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(1, b, cap, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(3, b, cap, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(3, b, cap, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(40, b, cap, 1.0), cap);
        assert_eq!(backoff(255, Duration::MAX, cap, 0.5), Duration::from_millis(22_500));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        // RFC 850 and asctime forms are HTTP-dates too.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:37 1994", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in ["", "soon", "-5", "1.5"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
        assert_eq!(as_report_secs(Duration::from_millis(1500)), 2);
        assert_eq!(as_report_secs(Duration::from_secs(u64::MAX)), u32::MAX);
    }
}
