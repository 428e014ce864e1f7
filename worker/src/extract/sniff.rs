//! Is a response text, and is it HTML? Decided from the `Content-Type`
//! and the first bytes, before any decoding or parsing.

use super::charset;

/// Is this body binary rather than text, whatever it is labelled? True
/// when the first KiB has a NUL byte or more than 1 in 32 control bytes
/// that never appear in text (WHATWG "binary data bytes"); never for a
/// UTF-16 body, by BOM or by the `Content-Type` charset (its ASCII
/// characters hold NUL bytes).
pub fn looks_binary(body: &[u8], content_type: Option<&str>) -> bool {
    if body.starts_with(b"\xfe\xff") || body.starts_with(b"\xff\xfe") {
        return false;
    }
    if charset::declares_utf16(content_type) {
        return false;
    }
    let head = &body[..body.len().min(1024)];
    let binary =
        head.iter().filter(|&&b| matches!(b, 0..=8 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f)).count();
    head.contains(&0) || binary * 32 > head.len()
}

/// Is this response HTML? By `Content-Type`, or, when there is none, by
/// sniffing the start of the body.
pub fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    match content_type {
        Some(ct) => {
            let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mime == "text/html" || mime == "application/xhtml+xml"
        }
        None => {
            let start: Vec<u8> = body
                .iter()
                .skip_while(|b| b.is_ascii_whitespace())
                .take(16)
                .map(u8::to_ascii_lowercase)
                .collect();
            start.starts_with(b"<!doctype html") || start.starts_with(b"<html")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::decode;

    #[test]
    fn binary_sniffing() {
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None));
        assert!(looks_binary(b"<html>\0", Some("text/html")));
        assert!(!looks_binary(b"<html><body>caf\xc3\xa9\t\r\n</body></html>", None));
        assert!(!looks_binary(b"\xff\xfe<\0h\0", None));
        assert!(!looks_binary(b"", None));
        // UTF-16 without a BOM, declared in the header (issue 13 item 4).
        let utf16: Vec<u8> = "<title>t</title>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(looks_binary(&utf16, Some("text/html")));
        assert!(!looks_binary(&utf16, Some("text/html; charset=UTF-16LE")));
        assert_eq!(decode(&utf16, Some("text/html; charset=utf-16le")), "<title>t</title>");
        // A stray control byte in a long text page is not enough.
        let mut page = b"<p>".repeat(100);
        page.push(0x1b);
        assert!(!looks_binary(&page, None));
    }

    #[test]
    fn html_detection() {
        assert!(is_html(Some("text/html; charset=utf-8"), b""));
        assert!(is_html(Some("TEXT/HTML"), b""));
        assert!(!is_html(Some("application/pdf"), b"<html>"));
        assert!(is_html(None, b"  <!DOCTYPE html><html>"));
        assert!(!is_html(None, b"\x89PNG"));
    }
}
