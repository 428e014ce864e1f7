//! The links-only path: when no `--extract` rule needs a document tree,
//! the page is only tokenized (html5ever's tokenizer, without its tree
//! builder and without a DOM), which finds the same `<base>`, meta robots,
//! canonical, links and title for about a third less CPU, and needs no
//! nesting guard (the quadratic steps are the tree builder's).
//!
//! The sink plays the tree builder's one part the tokenizer cannot do
//! alone: switching to raw text after `<script>`, `<style>`, `<title>`,
//! `<textarea>` and the like (outside SVG/MathML), so markup inside them
//! is text, as in a browser.

use super::Found;
use super::budget::{self, Budget, OverBudget};
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};

/// Tokenizes `html` and collects what [`Found`] holds, checking `budget`
/// between chunks.
pub(super) fn scan(html: &str, budget: &Budget) -> Result<Found<'static>, OverBudget> {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    for chunk in budget::chunks(html) {
        input.push_back(chunk.into());
        // The sink never asks to pause for a script: one feed drains it.
        let _ = tokenizer.feed(&input);
        budget.check()?;
    }
    tokenizer.end();
    let sink = tokenizer.sink;
    let mut found = sink.found.into_inner();
    if sink.in_title.get() {
        // A title never closed runs to the end of the document.
        found.title = Some(sink.title.into_inner());
    }
    Ok(found)
}

#[derive(Default)]
struct Sink {
    found: RefCell<Found<'static>>,
    /// Inside the first `<title>`, collecting its text.
    in_title: Cell<bool>,
    title: RefCell<String>,
    /// Open `<svg>`/`<math>` elements and HTML integration points inside
    /// them (`Html`): raw text exists only when the innermost is `Html` or
    /// there is none.
    ctx: RefCell<Vec<Frame>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Frame {
    Svg,
    Math,
    Html,
}

/// Start tags that end foreign content (HTML's "in foreign content"
/// breakout list; `font` only with `color`, `face` or `size`).
fn breaks_out(tag: &Tag) -> bool {
    matches!(
        &*tag.name,
        "b" | "big"
            | "blockquote"
            | "body"
            | "br"
            | "center"
            | "code"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "em"
            | "embed"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "hr"
            | "i"
            | "img"
            | "li"
            | "listing"
            | "menu"
            | "meta"
            | "nobr"
            | "ol"
            | "p"
            | "pre"
            | "ruby"
            | "s"
            | "small"
            | "span"
            | "strong"
            | "strike"
            | "sub"
            | "sup"
            | "table"
            | "tt"
            | "u"
            | "ul"
            | "var"
    ) || (&*tag.name == "font"
        && tag.attrs.iter().any(|a| matches!(&*a.name.local, "color" | "face" | "size")))
}

/// Elements inside SVG/MathML whose content is parsed as HTML.
fn integration_point(name: &str) -> bool {
    matches!(
        name,
        "foreignObject" | "foreignobject" | "desc" | "title" | "mi" | "mo" | "mn" | "ms" | "mtext"
    )
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => self.tag(&tag),
            Token::CharacterTokens(text) if self.in_title.get() => {
                self.title.borrow_mut().push_str(&text);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

impl Sink {
    /// Tracks foreign content; returns whether `tag` is read under HTML
    /// rules (where raw-text elements exist).
    fn enter(&self, tag: &Tag) -> bool {
        let mut ctx = self.ctx.borrow_mut();
        let foreign = matches!(ctx.last(), Some(Frame::Svg | Frame::Math));
        match tag.kind {
            TagKind::StartTag if foreign && breaks_out(tag) => {
                // Back to the nearest HTML context.
                while matches!(ctx.last(), Some(Frame::Svg | Frame::Math)) {
                    ctx.pop();
                }
                true
            }
            TagKind::StartTag if foreign && !tag.self_closing && integration_point(&tag.name) => {
                ctx.push(Frame::Html);
                false
            }
            TagKind::StartTag if matches!(&*tag.name, "svg" | "math") && !tag.self_closing => {
                ctx.push(if &*tag.name == "svg" { Frame::Svg } else { Frame::Math });
                !foreign
            }
            // Closes the innermost foreign root only if it has that name
            // (else the end tag is ignored).
            TagKind::EndTag if matches!(&*tag.name, "svg" | "math") => {
                let kind = if &*tag.name == "svg" { Frame::Svg } else { Frame::Math };
                if ctx.last() == Some(&kind) {
                    ctx.pop();
                }
                !foreign
            }
            TagKind::EndTag if !foreign && integration_point(&tag.name) => {
                if ctx.last() == Some(&Frame::Html) {
                    ctx.pop();
                }
                true
            }
            // `</br>` and `</p>` break out too.
            TagKind::EndTag if foreign && matches!(&*tag.name, "br" | "p") => {
                while matches!(ctx.last(), Some(Frame::Svg | Frame::Math)) {
                    ctx.pop();
                }
                true
            }
            _ => !foreign,
        }
    }

    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let html = self.enter(tag);
        let mut found = self.found.borrow_mut();
        if tag.kind == TagKind::StartTag {
            let attr =
                |name: &str| tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| &*a.value);
            found.element(&tag.name, attr, |v| Cow::Owned(v.to_owned()));
        }
        match (tag.kind, &*tag.name) {
            (TagKind::StartTag, "title") => {
                if found.title.is_none() && !self.in_title.get() {
                    self.in_title.set(true);
                }
                if html {
                    return TokenSinkResult::RawData(RawKind::Rcdata);
                }
            }
            (TagKind::EndTag, "title") if self.in_title.get() => {
                self.in_title.set(false);
                found.title = Some(self.title.take());
            }
            (TagKind::StartTag, "textarea") if html => {
                return TokenSinkResult::RawData(RawKind::Rcdata);
            }
            (TagKind::StartTag, "script") if html => {
                return TokenSinkResult::RawData(RawKind::ScriptData);
            }
            // `noscript` too: the parser runs with scripting on, as browsers do.
            (
                TagKind::StartTag,
                "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript",
            ) if html => {
                return TokenSinkResult::RawData(RawKind::Rawtext);
            }
            (TagKind::StartTag, "plaintext") if html => return TokenSinkResult::Plaintext,
            _ => {}
        }
        TokenSinkResult::Continue
    }
}
