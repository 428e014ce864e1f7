//! Character references in the raw text and attribute values a streaming
//! rewriter hands over, decoded as html5ever's tokenizer decodes them
//! (plus its CR/LF normalization). The common references are decoded
//! inline; anything else goes through html5ever's own tokenizer, so the
//! rare cases (legacy names without `;`, C1 remaps, out-of-range numbers)
//! cannot drift from the DOM path.

use html5ever::tokenizer::states::{RawKind, State};
use html5ever::tokenizer::{
    BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::borrow::Cow;
use std::cell::RefCell;

/// Text (data or RCDATA) as the tokenizer yields it.
pub(super) fn text(raw: &str) -> Cow<'_, str> {
    decode(raw, false)
}

/// An attribute value as the tokenizer yields it.
pub(super) fn attribute(raw: &str) -> Cow<'_, str> {
    decode(raw, true)
}

/// [`attribute`] of a value the caller owns: kept as it is (no copy)
/// when it holds no reference or CR.
pub(super) fn attribute_owned(raw: String) -> String {
    match attribute(&raw) {
        Cow::Borrowed(_) => raw,
        Cow::Owned(decoded) => decoded,
    }
}

fn decode(raw: &str, attr: bool) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'&' || b == b'\r') {
        return Cow::Borrowed(raw);
    }
    match common(raw) {
        Some(s) => Cow::Owned(s),
        None => Cow::Owned(slow(raw, attr)),
    }
}

/// `raw` with only `&amp;`-style named references of the five XML
/// entities, `&nbsp;` and plain numeric references, or `None` if it
/// holds anything else.
fn common(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find(['&', '\r']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(r) = rest.strip_prefix('\r') {
            out.push('\n');
            rest = r.strip_prefix('\n').unwrap_or(r);
            continue;
        }
        let semi = rest[..rest.len().min(12)].find(';')?;
        let name = &rest[1..semi];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            _ => {
                let num = name.strip_prefix('#')?;
                let n = match num.strip_prefix(['x', 'X']) {
                    Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        u32::from_str_radix(hex, 16).ok()?
                    }
                    None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                        num.parse().ok()?
                    }
                    _ => return None,
                };
                // Printable code points only: the rest are remapped or
                // replaced, which the slow path does.
                match n {
                    0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfdcf | 0xfdf0..=0xfffd => {
                        char::from_u32(n)?
                    }
                    0x1_0000..=0x10_ffff if n & 0xfffe != 0xfffe => char::from_u32(n)?,
                    _ => return None,
                }
            }
        };
        out.push(c);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Decodes through html5ever's tokenizer: an attribute inside a synthetic
/// tag, text in the RCDATA state (which decodes as data does, and reads
/// no tags).
fn slow(raw: &str, attr: bool) -> String {
    let (input, opts) = if attr {
        let q = if raw.contains('"') { '\'' } else { '"' };
        (format!("<x a={q}{raw}{q}>"), TokenizerOpts::default())
    } else {
        let opts = TokenizerOpts {
            initial_state: Some(State::RawData(RawKind::Rcdata)),
            last_start_tag_name: Some("title".into()),
            ..TokenizerOpts::default()
        };
        (raw.to_owned(), opts)
    };
    let tokenizer = Tokenizer::new(Collect::default(), opts);
    let queue = BufferQueue::default();
    queue.push_back(input.as_str().into());
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.out.into_inner()
}

#[derive(Default)]
struct Collect {
    out: RefCell<String>,
}

impl TokenSink for Collect {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) => self.out.borrow_mut().push_str(&t),
            Token::TagToken(tag) => {
                if let Some(a) = tag.attrs.first() {
                    self.out.borrow_mut().push_str(&a.value);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_rare_references_decode_as_the_tokenizer_does() {
        for (raw, want) in [
            ("a &amp; b", "a & b"),
            ("&lt;x&gt; &quot;&#39;&#x41;&nbsp;", "<x> \"'A\u{a0}"),
            ("&eacute;t&eacute", "été"),
            ("&#128;&#0;&#xD800;", "\u{20ac}\u{fffd}\u{fffd}"),
            ("&notit; &copy", "¬it; ©"),
            ("a\r\nb\rc", "a\nb\nc"),
            ("plain", "plain"),
        ] {
            assert_eq!(text(raw), want, "{raw}");
        }
        // In attributes, a legacy name followed by `=` or an alphanumeric
        // stays as written.
        assert_eq!(attribute("?a=1&copy=2&amp;b"), "?a=1&copy=2&b");
        assert_eq!(text("?a=1&copy=2"), "?a=1©=2");
        assert_eq!(attribute("say \"hi\" &amp; go"), "say \"hi\" & go");
    }
}
