//! robots.txt path patterns (RFC 9309 §2.2.3): a prefix match where `*`
//! stands for any run of characters and a trailing `$` anchors the end.
//!
//! Matched by scanning, never compiled: a pattern costs its own bytes and
//! matching one is at most a few substring searches over the URL's path.
//! (A regex per rule cost ~20 KB each; 20,000 `$` rules in one robots.txt
//! took a coordinator to 395 MiB.)

/// [`normalize_into`] into a new string (the tests' shorthand).
#[cfg(test)]
pub(crate) fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    normalize_into(raw, &mut out);
    out
}

/// Normalizes a pattern as written in robots.txt, appending it to `out`
/// (the patterns of a host share one string): characters a URL cannot
/// hold raw (non-ASCII, controls, space, `"<>\``) are percent-encoded as
/// the URL normalizer encodes them, `%xx` escapes get upper-case hex, and
/// runs of `*` collapse to one (`a**b` = `a*b`).
pub(crate) fn normalize_into(raw: &str, out: &mut String) {
    let bytes = raw.as_bytes();
    let mut i = 0;
    let mut prev_star = false;
    while i < bytes.len() {
        let b = bytes[i];
        let star = b == b'*';
        if star && prev_star {
            i += 1;
            continue;
        }
        prev_star = star;
        match b {
            b'%' if bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit) =>
            {
                out.push('%');
                out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                i += 2;
            }
            0x21..=0x7e if !matches!(b, b'"' | b'<' | b'>' | b'`') => out.push(char::from(b)),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
        i += 1;
    }
}

/// Does `pattern` (normalized, without its trailing `$`; `anchored` says
/// whether it had one) match `path` (path and query of a URL)?
///
/// Pieces between `*`s are matched left to right, each at its leftmost
/// place after the previous one: the first piece must start the path, and
/// with `anchored` the last must end it. Leftmost placement leaves the most
/// room for what follows, so this finds a match whenever one exists.
pub(crate) fn matches(pattern: &str, anchored: bool, path: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return if anchored { path == pattern } else { path.starts_with(pattern) };
    };
    if !path.starts_with(first) {
        return false;
    }
    let mut pos = first.len();
    let (middle, last) = rest.rsplit_once('*').unwrap_or(("", rest));
    for piece in middle.split('*').filter(|p| !p.is_empty()) {
        match path.get(pos..).and_then(|tail| tail.find(piece)) {
            Some(at) => pos += at + piece.len(),
            None => return false,
        }
    }
    if anchored {
        path.len() >= pos + last.len() && path.ends_with(last)
    } else {
        path.get(pos..).is_some_and(|tail| tail.contains(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (pattern as written, path, matches?)
    pub(super) const TABLE: &[(&str, &str, bool)] = &[
        ("/", "/", true),
        ("/", "/anything?q=1", true),
        ("/fish", "/fish", true),
        ("/fish", "/fish.html", true),
        ("/fish", "/Fish.asp", false),
        ("/fish", "/catfish", false),
        ("/fish*", "/fishheads/yummy.html", true),
        ("/fish/", "/fish", false),
        ("/*.php", "/index.php", true),
        ("/*.php", "/folder/filename.php?parameters", true),
        ("/*.php", "/windows.PHP", false),
        ("/*.php$", "/filename.php", true),
        ("/*.php$", "/filename.php?parameters", false),
        ("/*.php$", "/filename.php/", false),
        ("/fish*.php", "/fishheads/catfish.php?parameters", true),
        ("/fish*.php", "/Fish.PHP", false),
        ("/a*b*c", "/abc", true),
        ("/a*b*c", "/a-b-c-d", true),
        ("/a*b*c", "/acb", false),
        ("/a*b*c$", "/abcbc", true),
        ("/a*b*c$", "/abcbcd", false),
        ("/a*a$", "/a", false),
        ("/a*a$", "/aa", true),
        ("/ab*ba$", "/aba", false),
        ("/ab*ba$", "/abba", true),
        ("/x***y", "/x-y", true),
        ("*", "/", true),
        ("*/x$", "/a/x", true),
        ("*/x$", "/a/xy", false),
        ("/$", "/", true),
        ("/$", "/a", false),
        ("/tmp*/x", "/tmp123/x", true),
        ("/tmp*/x", "/tmp/x", true),
        ("/tmp*/x", "/tmp123/y", false),
        ("/a*$", "/a/b", true),
        ("/%7euser", "/%7Euser/x", true),
        ("/ä", "/%C3%A4", true),
        ("/a b", "/a%20b", true),
        ("private", "/private", false),
    ];

    fn check(raw: &str, path: &str) -> bool {
        let anchored = raw.ends_with('$');
        let pat = normalize(raw.strip_suffix('$').unwrap_or(raw));
        matches(&pat, anchored, path)
    }

    #[test]
    fn table() {
        for &(raw, path, want) in TABLE {
            assert_eq!(check(raw, path), want, "{raw:?} on {path:?}");
        }
    }

    #[test]
    fn agrees_with_texting_robots() {
        // texting_robots compiles `$` rules to regexes: the reference we
        // replaced. Its `$` anywhere is an anchor; ours only at the end,
        // so the table has `$` only there. Its percent-encoding of
        // patterns leaves `%xx` case alone: compare upper-case only.
        for &(raw, path, _) in TABLE {
            if raw.contains("%7e") || !raw.starts_with('/') {
                continue;
            }
            let txt = format!("User-agent: *\nDisallow: {raw}\n");
            let robot = texting_robots::Robot::new("trawl", txt.as_bytes()).unwrap();
            assert_eq!(
                !robot.allowed(&format!("http://h.test{path}")),
                check(raw, path),
                "{raw:?} on {path:?}"
            );
        }
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("/a**b***"), "/a*b*");
        assert_eq!(normalize("/%7e%2f"), "/%7E%2F");
        assert_eq!(normalize("/ä b"), "/%C3%A4%20b");
        assert_eq!(normalize("/100%"), "/100%", "a stray % stays, as in URLs");
        assert_eq!(normalize("/%zz"), "/%zz");
    }

    #[test]
    fn long_paths_and_many_stars_stay_linear() {
        let path = format!("/{}", "a".repeat(100_000));
        let pat = normalize(&format!("/{}b", "a*".repeat(1000)));
        assert!(!matches(&pat, false, &path));
        assert!(!matches(&pat, true, &path));
        assert!(matches(&normalize("/a*a*a"), true, &path));
    }
}
