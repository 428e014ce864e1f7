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

use super::{has_token, meta_robots};
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::{Cell, RefCell};

/// What the tokens of one page say (the DOM path's `Found`, owned).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Scanned {
    pub(super) base: Option<String>,
    pub(super) noindex: bool,
    pub(super) nofollow: bool,
    pub(super) canonical: Option<String>,
    /// Every `<a href>`: (href, has `rel=nofollow`), in source order.
    pub(super) anchors: Vec<(String, bool)>,
    /// The text of the first `<title>`, as it stands (not collapsed).
    pub(super) title: Option<String>,
}

/// Tokenizes `html` and collects what [`Scanned`] holds.
pub(super) fn scan(html: &str) -> Scanned {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(html.into());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let sink = tokenizer.sink;
    let mut scanned = sink.scanned.into_inner();
    if sink.in_title.get() {
        // A title never closed runs to the end of the document.
        scanned.title = Some(sink.title.into_inner());
    }
    scanned
}

#[derive(Default)]
struct Sink {
    scanned: RefCell<Scanned>,
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
        let attr =
            |name: &str| tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| &*a.value);
        let html = self.foreign.get() == 0;
        let mut s = self.scanned.borrow_mut();
        match (tag.kind, &*tag.name) {
            (TagKind::StartTag, "a") => {
                if let Some(href) = attr("href") {
                    let nofollow = attr("rel").is_some_and(|r| has_token(r, "nofollow"));
                    s.anchors.push((href.to_owned(), nofollow));
                }
            }
            (TagKind::StartTag, "base") if s.base.is_none() => {
                s.base = attr("href").map(str::to_owned)
            }
            (TagKind::StartTag, "meta") => {
                let (noindex, nofollow) = meta_robots(attr("name"), attr("content"));
                s.noindex |= noindex;
                s.nofollow |= nofollow;
            }
            (TagKind::StartTag, "link")
                if s.canonical.is_none()
                    && attr("rel").is_some_and(|r| has_token(r, "canonical")) =>
            {
                s.canonical = attr("href").map(str::to_owned);
            }
            (TagKind::StartTag, "title") => {
                if s.title.is_none() && !self.in_title.get() {
                    self.in_title.set(true);
                }
                if html {
                    return TokenSinkResult::RawData(RawKind::Rcdata);
                }
            }
            (TagKind::EndTag, "title") if self.in_title.get() => {
                self.in_title.set(false);
                s.title = Some(self.title.take());
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
