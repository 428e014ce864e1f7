//! The response head kept with a body (`--keep-bodies`): status line,
//! header fields, peer address and the request fields sent, for the WARC
//! export's `request` and `response` records.

use trawl_common::protocol::ResponseHead;
use trawl_common::url::Url;

/// The status line, header fields and peer address of `resp`, and the
/// request fields this worker sends, kept with the body for WARC export.
pub(super) fn of(url: &Url, resp: &reqwest::Response, user_agent: &str) -> ResponseHead {
    let bytes = |v: &[u8]| serde_bytes::ByteBuf::from(v.to_vec());
    let status = resp.status();
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_owned());
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_owned(),
    };
    ResponseHead {
        version: format!("{:?}", resp.version()),
        status: status.as_u16(),
        reason,
        headers: resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), bytes(v.as_bytes())))
            .collect(),
        remote_ip: resp.remote_addr().map(|a| a.ip()),
        request_headers: vec![
            ("host".to_owned(), bytes(host.as_bytes())),
            ("user-agent".to_owned(), bytes(user_agent.as_bytes())),
            ("accept".to_owned(), bytes(b"*/*")),
        ],
    }
}
