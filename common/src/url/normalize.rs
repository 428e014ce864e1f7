//! URL normalization (RFC 3986 §6.2.2 syntax-based, plus fragment removal).
//!
//! The `url` crate already lowercases scheme and host, drops default ports,
//! removes dot segments and gives http(s) an empty path of `/`. On top of
//! that we drop the fragment, upper-case percent-encoding hex digits and
//! decode percent-encoded unreserved characters, so that `%7e`, `%7E` and
//! `~` all name the same page.

use crate::error::UrlError;
use url::Url;

/// Parses a user-supplied URL (a seed) and normalizes it, rejecting
/// non-http(s) schemes and host-less URLs.
pub fn parse_crawl_url(input: &str) -> Result<Url, UrlError> {
    let url = Url::parse(input.trim())
        .map_err(|e| UrlError::Parse { url: input.to_owned(), reason: e.to_string() })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme { url: input.to_owned(), scheme: url.scheme().to_owned() });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost { url: input.to_owned() });
    }
    Ok(normalize(url))
}

/// Resolves `href` against `base` and normalizes it. Returns `None` for
/// links that are not crawlable (other schemes, unparsable, no host).
pub fn resolve_link(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let url = base.join(href).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(normalize(url))
}

/// [`resolve_link`] as the normalized URL's text, without parsing the
/// link when it has a plain shape ([`super::join()`]): the same string
/// `resolve_link(base, href).map(String::from)` gives.
pub fn resolve_link_str(base: &Url, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let Some(mut s) = super::join(base, href) else {
        return resolve_link(base, href).map(String::from);
    };
    // What `normalize` does to a plain join (no `%` anywhere): drop the
    // fragment and an empty query.
    if let Some(i) = s.find('#') {
        s.truncate(i);
    }
    if s.find('?') == Some(s.len() - 1) {
        s.pop();
    }
    Some(s)
}

/// Normalizes an already parsed URL.
pub fn normalize(mut url: Url) -> Url {
    url.set_fragment(None);
    let path = url.path();
    if path.contains('%') {
        let fixed = fix_percent_encoding(path);
        url.set_path(&fixed);
    }
    if let Some(q) = url.query() {
        if q.is_empty() {
            url.set_query(None);
        } else if q.contains('%') {
            let fixed = fix_percent_encoding(q);
            url.set_query(Some(&fixed));
        }
    }
    url
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Upper-cases `%xx` triplets and decodes those that encode unreserved
/// characters. Malformed triplets are left as they are.
fn fix_percent_encoding(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = &s[i + 1..i + 3];
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                if is_unreserved(v) {
                    out.push(char::from(v));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        // Byte-wise copy is fine: we only ever split at ASCII '%'.
        let ch_len = utf8_len(bytes[i]);
        out.push_str(&s[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_table() {
        let cases = [
            ("HTTP://Example.COM/a/./b/../c", "http://example.com/a/c"),
            ("http://example.com:80/", "http://example.com/"),
            ("https://example.com:443/x", "https://example.com/x"),
            ("http://example.com:8080", "http://example.com:8080/"),
            ("http://example.com/a#frag", "http://example.com/a"),
            ("http://example.com/%7euser", "http://example.com/~user"),
            ("http://example.com/%7Euser", "http://example.com/~user"),
            ("http://example.com/a%2fb", "http://example.com/a%2Fb"),
            ("http://example.com/a%2Fb", "http://example.com/a%2Fb"),
            ("http://example.com/?q=%41%3d", "http://example.com/?q=A%3D"),
            ("http://example.com/?", "http://example.com/"),
            ("http://example.com/a%zz", "http://example.com/a%zz"),
            ("http://example.com/caf%C3%A9", "http://example.com/caf%C3%A9"),
            ("http://example.com/a%", "http://example.com/a%"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_crawl_url(input).unwrap().as_str(), want, "input {input}");
        }
    }

    #[test]
    fn seeds_must_be_http() {
        assert!(matches!(parse_crawl_url("ftp://x.org/"), Err(UrlError::Scheme { .. })));
        assert!(matches!(parse_crawl_url("not a url"), Err(UrlError::Parse { .. })));
        assert!(matches!(parse_crawl_url("file:///etc/passwd"), Err(UrlError::Scheme { .. })));
    }

    #[test]
    fn links_resolve_against_base() {
        let base = Url::parse("http://h.test/dir/page.html").unwrap();
        let r = |h| resolve_link(&base, h).map(|u| u.to_string());
        assert_eq!(r("other.html").as_deref(), Some("http://h.test/dir/other.html"));
        assert_eq!(r("../up").as_deref(), Some("http://h.test/up"));
        assert_eq!(r("/abs#x").as_deref(), Some("http://h.test/abs"));
        assert_eq!(r("//o.test/p").as_deref(), Some("http://o.test/p"));
        assert_eq!(r("#top"), None);
        assert_eq!(r("mailto:a@b.c"), None);
        assert_eq!(r("javascript:void(0)"), None);
        assert_eq!(r("  spaced.html "), Some("http://h.test/dir/spaced.html".into()));
    }
}
