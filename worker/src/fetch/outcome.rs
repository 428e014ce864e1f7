//! Maps reqwest errors to recorded outcomes.

use std::error::Error as _;
use trawl_common::protocol::FetchOutcome;

/// Full error chain as one line; reqwest's top-level message is often just
/// "error sending request".
fn chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// An error before a response arrived: a timeout, or else the connection
/// failed (refused, reset, closed before a response, not HTTP), or the
/// request-forgery guard blocked every address of the host.
pub(crate) fn from_request_error(e: &reqwest::Error) -> FetchOutcome {
    if let Some(blocked) = super::guard::blocked_in(e) {
        FetchOutcome::Blocked { detail: blocked.to_string() }
    } else if e.is_timeout() {
        FetchOutcome::Timeout { detail: chain(e) }
    } else {
        FetchOutcome::Connect { detail: chain(e) }
    }
}

/// An error while reading the body.
pub(crate) fn from_body_error(e: &reqwest::Error) -> FetchOutcome {
    if e.is_timeout() {
        FetchOutcome::Timeout { detail: chain(e) }
    } else {
        FetchOutcome::Body { detail: chain(e) }
    }
}
