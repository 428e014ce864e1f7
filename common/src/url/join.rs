//! `Url::join` without parsing, for the shapes links usually have.
//!
//! Parsing every link of every page with the `url` crate was the largest
//! single cost of extraction after the HTML itself (one `Url` per link,
//! its host re-parsed, its serialization rebuilt). Most links are plain:
//! a path under the page's directory, a path from the root, or an
//! absolute URL to the page's own origin, in characters the parser copies
//! as they are. For those, [`join`] builds the serialization `Url::join`
//! would give directly from the base's text; for anything else (dot
//! segments, percent signs, characters the parser would encode or strip,
//! other origins, schemes, IPv6) it returns `None` and the caller parses.
//! A property test holds it to `Url::join` on generated links.

use url::{Position, Url};

/// Bytes the parser copies verbatim into an http(s) URL's path, query and
/// fragment (none is in the path, special-query or fragment
/// percent-encode sets, none is stripped or treated as a separator other
/// than `/`, `?` and `#`, which [`join`] splits on itself).
fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'#'
        )
}

/// Is there a `.` or `..` segment in `path` (which the parser would
/// resolve)?
fn dot_segment(path: &str) -> bool {
    path.as_bytes().split(|&b| b == b'/').any(|s| s == b"." || s == b"..")
}

/// The directory of `base_path` (up to its last `/`) with the leading
/// `.` and `..` segments of the relative `path` applied, and the rest of
/// `path`: `../page/3` against `/page/12` is (`/`, `page/3`).
fn leading_dots<'a>(base_path: &'a str, path: &'a str) -> (&'a str, &'a str) {
    let mut dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
    let mut rest = path;
    loop {
        let (seg, after) = match rest.split_once('/') {
            Some((s, a)) => (s, Some(a)),
            None => (rest, None),
        };
        match seg {
            "." => {}
            ".." => {
                // Up one directory; the root stays.
                let parent = dir.strip_suffix('/').unwrap_or(dir);
                if let Some(i) = parent.rfind('/') {
                    dir = &dir[..=i];
                }
            }
            _ => return (dir, rest),
        }
        match after {
            Some(a) => rest = a,
            None => return (dir, ""),
        }
    }
}

/// `base.join(href)` as a string when `href` has one of the plain shapes
/// (see the module docs); `None` means "not handled here", never "not a
/// URL": call `Url::join` then.
pub fn join(base: &Url, href: &str) -> Option<String> {
    let scheme = base.scheme();
    if !matches!(scheme, "http" | "https")
        || base.host_str().is_none()
        || !base.username().is_empty()
        || base.password().is_some()
        || href.is_empty()
        || !href.bytes().all(plain)
    {
        return None;
    }
    let text = base.as_str();
    // `scheme://host[:port]`
    let origin = &text[..base[..Position::BeforePath].len()];
    let (before_frag, fragment) = match href.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (href, None),
    };
    let (path, query) = match before_frag.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_frag, None),
    };
    let mut out = String::with_capacity(origin.len() + href.len() + base.path().len());
    out.push_str(origin);
    if let Some(rest) = href
        .strip_prefix("//")
        .or_else(|| href.strip_prefix(scheme).and_then(|r| r.strip_prefix("://")))
    {
        // Absolute or scheme-relative, to the base's own authority only.
        let authority = &origin[scheme.len() + 3..];
        let after = rest.strip_prefix(authority)?;
        if !(after.is_empty() || after.starts_with(['/', '?', '#'])) {
            return None;
        }
        let path = &after[..after.find(['?', '#']).unwrap_or(after.len())];
        if dot_segment(path) {
            return None;
        }
        out.push_str(if path.is_empty() { "/" } else { path });
    } else if path.starts_with('/') {
        if dot_segment(path) {
            return None;
        }
        out.push_str(path);
    } else if path.is_empty() {
        // `?query` or `#fragment`: the base's path (and, for a fragment
        // alone, its query).
        out.push_str(base.path());
        if query.is_none()
            && let Some(q) = base.query()
        {
            out.push('?');
            out.push_str(q);
        }
    } else {
        // A path relative to the base's directory; a colon before the
        // first slash may make it a scheme.
        if path.split('/').next().is_some_and(|first| first.contains(':')) {
            return None;
        }
        let (dir, rest) = leading_dots(base.path(), path);
        if dot_segment(rest) {
            return None;
        }
        out.push_str(dir);
        out.push_str(rest);
    }
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_shapes_are_joined_as_the_parser_does() {
        let bases = [
            "http://127.0.0.1:8080/page/12",
            "http://h.test/dir/p.html?x=1#f",
            "http://h.test/a//b/c",
            "https://h.test/",
            "http://h.test/a/b/",
        ];
        let hrefs = [
            "13",
            "sub/x.html?q=1&r=2",
            "/abs",
            "/",
            "//h.test/x",
            "//127.0.0.1:8080",
            "http://127.0.0.1:8080/page/3",
            "http://127.0.0.1:8080?q",
            "https://h.test#top",
            "?q=1",
            "#frag",
            "x#y#z",
            "a/b//c?d?e#f?g",
            "../up",
            "./x",
            "..",
            ".",
            "./",
            "../../../x?y",
            "./../a/",
        ];
        let mut fast = 0;
        for b in bases {
            let base = Url::parse(b).unwrap();
            for h in hrefs {
                if let Some(s) = join(&base, h) {
                    fast += 1;
                    assert_eq!(s, base.join(h).unwrap().as_str(), "{b} + {h}");
                }
            }
        }
        assert!(fast > 30, "{fast}");
    }

    #[test]
    fn other_shapes_are_left_to_the_parser() {
        let base = Url::parse("http://h.test/dir/p").unwrap();
        for h in [
            "a/./b",
            "a/../b",
            "/a/..",
            "//h.test/./x",
            "x%20y",
            "a b",
            "\tx",
            "a\\b",
            "mailto:x@y",
            "javascript:x",
            "HTTP://h.test/",
            "http://H.test/",
            "http://other.test/",
            "http://h.test:80/",
            "http://h.test.evil/",
            "//[::1]/",
            "caf\u{e9}",
            "it's",
            "",
        ] {
            assert_eq!(join(&base, h), None, "{h}");
        }
        let user = Url::parse("http://u:p@h.test/").unwrap();
        assert_eq!(join(&user, "x"), None);
        let ftp = Url::parse("ftp://h.test/").unwrap();
        assert_eq!(join(&ftp, "x"), None);
    }
}
