//! Decoding a body to text: BOM first, then the `Content-Type` charset,
//! then a `<meta charset>` in the first 1024 bytes, else UTF-8 (invalid
//! sequences replaced, never an error).

use encoding_rs::{Encoding, UTF_8};
use std::borrow::Cow;

/// Decodes `body` using the best-known encoding.
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let enc = Encoding::for_bom(body)
        .map(|(e, _)| e)
        .or_else(|| content_type.and_then(header_charset))
        .or_else(|| meta_charset(body))
        .unwrap_or(UTF_8);
    let (text, _, _) = enc.decode(body);
    text
}

/// Does the `Content-Type` declare UTF-16 (either byte order)?
pub(super) fn declares_utf16(content_type: Option<&str>) -> bool {
    content_type
        .and_then(header_charset)
        .is_some_and(|e| e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE)
}

fn header_charset(ct: &str) -> Option<&'static Encoding> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
        } else {
            None
        }
    })
}

fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(1024)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let pos = lower.windows(8).position(|w| w == b"charset=")?;
    let rest = &lower[pos + 8..];
    let rest = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")).unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'\'' | b' ' | b';' | b'>' | b'/'))
        .unwrap_or(rest.len());
    let enc = Encoding::for_label(&rest[..end])?;
    // A document that claims UTF-16 in ASCII-compatible bytes is really UTF-8
    // (HTML spec, "prescan a byte stream").
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        Some(UTF_8)
    } else {
        Some(enc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_wins_over_default() {
        assert_eq!(decode(b"caf\xe9", Some("text/html; charset=ISO-8859-1")), "café");
    }

    #[test]
    fn meta_charset_is_sniffed() {
        let body = b"<html><head><meta charset=\"latin1\"><title>caf\xe9</title>";
        assert!(decode(body, Some("text/html")).contains("café"));
        let body =
            b"<meta http-equiv=Content-Type content='text/html; charset=windows-1252'>\x93q\x94";
        assert!(decode(body, None).contains("\u{201c}q\u{201d}"));
    }

    #[test]
    fn bom_wins() {
        assert_eq!(decode(b"\xef\xbb\xbfhi", Some("text/html; charset=latin1")), "hi");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(decode(b"a\xffb", None), "a\u{fffd}b");
    }
}
