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
    /// Open `<svg>`/`<math>` elements: inside them there is no raw text.
    foreign: Cell<u32>,
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
    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let html = self.foreign.get() == 0;
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
            (TagKind::StartTag, "svg" | "math") if !tag.self_closing => {
                self.foreign.set(self.foreign.get() + 1);
            }
            (TagKind::EndTag, "svg" | "math") => {
                self.foreign.set(self.foreign.get().saturating_sub(1))
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}
