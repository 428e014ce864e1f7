//! The markup constructs the nesting guard ([`super::depth`]) and the
//! strictness scan ([`super::strict`]) read: tags with their names and
//! ends, comments and the like, attributes. A cheap approximation of the
//! tokenizer, allocation-free; each reader decides what it trusts.

/// A tag name, lowercased, in a fixed buffer: the scan allocates nothing.
/// Names longer than the buffer match no list (all are shorter).
#[derive(Clone, Copy)]
pub(super) struct Name {
    buf: [u8; 16],
    len: usize,
}

impl Name {
    /// The name's bytes (no UTF-8 check: for comparisons in hot loops).
    pub(super) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    pub(super) fn as_str(&self) -> &str {
        // Only ASCII alphanumerics, '-', ':' and '_' are stored.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

pub(super) enum Tag {
    Start {
        name: Name,
        /// Just past the name in the source, where attributes start.
        name_end: usize,
        self_closing: bool,
        end: usize,
    },
    End {
        name: Name,
        end: usize,
    },
    /// Comment, doctype, processing instruction or a stray `<`.
    Other {
        end: usize,
    },
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Index just past the `>` that ends the tag starting at `from`, skipping
/// quoted attribute values.
pub(super) fn tag_end(b: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (i, &c) in b.iter().enumerate().skip(from) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    b.len()
}

fn name_at(b: &[u8], from: usize) -> Name {
    let mut name = Name { buf: [0; 16], len: 0 };
    for &c in b[from..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'_'))
    {
        if name.len == name.buf.len() {
            // Too long to be any name we look for.
            name.len = 0;
            return name;
        }
        name.buf[name.len] = c.to_ascii_lowercase();
        name.len += 1;
    }
    name
}

/// The markup construct at `i` (which holds a `<`).
pub(super) fn tag_at(html: &str, i: usize) -> Tag {
    let b = html.as_bytes();
    match b.get(i + 1) {
        Some(b'!') if b[i..].starts_with(b"<!--") => {
            Tag::Other { end: find(b, i + 4, b"-->").map_or(b.len(), |e| e + 3) }
        }
        Some(b'!' | b'?') => Tag::Other { end: tag_end(b, i + 2) },
        Some(b'/') if b.get(i + 2).is_some_and(u8::is_ascii_alphabetic) => {
            Tag::End { name: name_at(b, i + 2), end: tag_end(b, i + 2) }
        }
        Some(c) if c.is_ascii_alphabetic() => {
            let end = tag_end(b, i + 1);
            let self_closing = end >= 2 && b[end - 1] == b'>' && b[end - 2] == b'/';
            let name_end = b[i + 1..end]
                .iter()
                .position(|&c| is_space(c) || c == b'/' || c == b'>')
                .map_or(end, |p| i + 1 + p);
            Tag::Start { name: name_at(b, i + 1), name_end, self_closing, end }
        }
        _ => Tag::Other { end: i + 1 },
    }
}

pub(super) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Where to cut the start tag `b[from..end]` (from just past its name) so
/// that it keeps at most `max` attributes, or `None` if it has no more.
/// Follows the tokenizer's attribute states: names end at space, `/`,
/// `>` or `=`; values are quoted or run to a space or `>`.
pub(super) fn attribute_cut(b: &[u8], from: usize, end: usize, max: usize) -> Option<usize> {
    let b = &b[..end];
    let (mut i, mut count) = (from, 0usize);
    loop {
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'>' {
            return None;
        }
        if count == max {
            return Some(i);
        }
        count += 1;
        // The name (a leading '=' belongs to it).
        i += 1;
        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                i = b[i + 1..].iter().position(|&c| c == q).map_or(b.len(), |p| i + 2 + p);
            }
            _ => {
                while i < b.len() && !is_space(b[i]) && b[i] != b'>' {
                    i += 1;
                }
            }
        }
    }
}
