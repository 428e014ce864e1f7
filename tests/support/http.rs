//! The one HTTP/1.1 client of the tests: a fresh `Connection: close`
//! connection per request to 127.0.0.1 only, Content-Length and chunked
//! bodies, headers kept. Deliberately not reqwest, so the crawler's own
//! client is not also the one that checks it.

use super::command::tail;
use serde_json::Value;
use std::time::Duration;

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value (case-insensitive name).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (fails the test if it is not).
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", tail(&self.text(), 2000)))
    }
}

/// One HTTP/1.1 request to `addr` (`127.0.0.1:PORT` only) on a fresh
/// connection, `Connection: close`; handles Content-Length and chunked.
/// Fails the test if the server cannot be reached or sends no response.
#[track_caller]
pub(crate) fn http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpResponse {
    try_http(addr, method, target, headers, body)
        .unwrap_or_else(|e| panic!("{method} {target} on {addr}: {e}"))
}

/// [`http`] for callers that expect a server that may be going away: the
/// failure as text instead of a panic.
pub(crate) fn try_http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<HttpResponse, String> {
    use std::io::{Read as _, Write as _};
    assert!(addr.starts_with("127.0.0.1:"), "tests talk to 127.0.0.1 only, not {addr}");
    let mut conn = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(20))).map_err(|e| e.to_string())?;
    let body = body.unwrap_or(b"");
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    conn.write_all(&bytes).map_err(|e| format!("sending the request: {e}"))?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).map_err(|e| format!("reading the response: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head in {:?}", lossy(&raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut resp = HttpResponse { status, headers, body: Vec::new() };
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    resp.body = if chunked {
        dechunk(rest)
    } else if let Some(len) = resp.header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if rest.len() < len {
            return Err(format!("body shorter ({}) than Content-Length {len}", rest.len()));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(resp)
}

/// `(status, body as text)` of one request; status 0 (and an empty body)
/// if no response came, e.g. because the crawl was just stopping.
pub(crate) fn http_call(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    match try_http(addr, method, path, headers, body.map(str::as_bytes)) {
        Ok(r) => (r.status, r.text()),
        Err(_) => (0, String::new()),
    }
}

fn lossy(b: &[u8]) -> String {
    tail(&String::from_utf8_lossy(b), 500).to_owned()
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..eol]);
        let size = size.split(';').next().unwrap_or("").trim();
        let Ok(n) = usize::from_str_radix(size, 16) else { break };
        s = &s[eol + 2..];
        if n == 0 || s.len() < n {
            break;
        }
        out.extend_from_slice(&s[..n]);
        s = &s[n..];
        if s.starts_with(b"\r\n") {
            s = &s[2..];
        }
    }
    out
}

/// GET with an optional bearer token.
#[track_caller]
pub(crate) fn get(addr: &str, target: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> =
        auth.as_deref().map(|a| vec![("Authorization", a)]).unwrap_or_default();
    http(addr, "GET", target, &headers, None)
}

/// POST a JSON (or any) body with `Content-Type: application/json`.
#[track_caller]
pub(crate) fn post_json(addr: &str, target: &str, body: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    http(addr, "POST", target, &headers, Some(body.as_bytes()))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `name=value&...`, form-urlencoded.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// Turns API parameter pairs into the equivalent `trawl query` flags
/// (`--name=value`, so values may start with `-`).
pub(crate) fn pairs_to_flags(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs.iter().map(|(k, v)| format!("--{}={v}", k.replace('_', "-"))).collect()
}
