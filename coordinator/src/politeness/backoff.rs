//! Host back-off after 429 Too Many Requests / 503 Service Unavailable:
//! honour `Retry-After` when the server gives one (capped), otherwise
//! back off exponentially; a success resets it.

use std::time::Duration;

/// First back-off without a `Retry-After`.
const BASE: Duration = Duration::from_millis(500);
/// Longest back-off we accept, even if a server asks for more.
pub const MAX: Duration = Duration::from_secs(60);

/// The next back-off for a host whose previous one was `prev`.
pub fn next(prev: Duration, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(ra) => ra.min(MAX),
        None if prev.is_zero() => BASE,
        None => (prev * 2).min(MAX),
    }
}

/// Does this status ask us to slow down for the whole host?
pub fn is_throttle(status: Option<u16>) -> bool {
    matches!(status, Some(429 | 503))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_honours_retry_after() {
        let a = next(Duration::ZERO, None);
        assert_eq!(a, BASE);
        assert_eq!(next(a, None), BASE * 2);
        assert_eq!(next(MAX, None), MAX);
        assert_eq!(next(a, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(next(a, Some(Duration::from_secs(3600))), MAX);
        assert!(is_throttle(Some(429)) && is_throttle(Some(503)) && !is_throttle(Some(500)));
    }
}
