//! Extraction rules as the user writes them: a TOML table
//! (`[extract] posts = { selector = "a.post", attr = "href", all = true }`)
//! or the compact `--extract NAME=SPEC` flag, and their validation into
//! [`ExtractRule`]s. Selectors are parsed here, at config time, so a bad
//! one stops the crawl before any worker starts.
//!
//! # SPEC syntax (`--extract NAME=SPEC`)
//!
//! ```text
//! SPEC := SELECTOR [ "@" WHAT [ "+" WHAT ] [ "*" ] ]
//! WHAT := "text" | "html" | ATTRIBUTE-NAME
//! ```
//!
//! - `SELECTOR` is a CSS selector: everything up to the first `@` that is
//!   not inside `[...]` or quotes.
//! - Without `@...` the field is the text of the first match.
//! - `@href` takes an attribute (URL attributes such as `href` and `src`
//!   are resolved to absolute URLs); `@text` the collapsed text; `@html`
//!   the inner HTML.
//! - `+WHAT` makes each match a pair, e.g. `@href+text`.
//! - A trailing `*` takes every match instead of the first.
//!
//! Examples: `title=h1`, `posts=a.post-item-title@href+text*`,
//! `images=img@src*`, `body=article@html`.

use crate::error::ConfigError;
use crate::protocol::{ExtractRule, Take};
use serde::{Deserialize, Serialize};

/// One extraction field as written (TOML `[extract]` entry or parsed SPEC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// CSS selector.
    pub selector: String,
    /// What to take: `text` (default), `html`, or an attribute name.
    #[serde(default)]
    pub take: Option<String>,
    /// Take this attribute (same as `take = NAME`, but always an attribute,
    /// even one called `text`).
    #[serde(default)]
    pub attr: Option<String>,
    /// Second value of a pair per match: `text`, `html` or an attribute.
    #[serde(default)]
    pub pair: Option<String>,
    /// Every match instead of the first.
    #[serde(default)]
    pub all: bool,
}

/// Index of the first `@` outside `[...]` and quotes.
fn split_at_sign(spec: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0u32, None::<char>);
    for (i, c) in spec.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '@') if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

impl FieldRule {
    /// Parses `NAME=SPEC` (see the module docs) into a name and a rule.
    /// Only the syntax is checked here; [`FieldRule::resolve`] validates.
    pub fn parse_flag(arg: &str) -> Result<(String, Self), String> {
        let (name, spec) =
            arg.split_once('=').ok_or_else(|| format!("expected NAME=SPEC, got {arg:?}"))?;
        let name = name.trim().to_owned();
        let (selector, what) = match split_at_sign(spec) {
            Some(i) => (&spec[..i], Some(&spec[i + 1..])),
            None => (spec, None),
        };
        let mut rule = Self { selector: selector.trim().to_owned(), ..Self::default() };
        if let Some(what) = what {
            let what = what.trim();
            let what = match what.strip_suffix('*') {
                Some(w) => {
                    rule.all = true;
                    w.trim_end()
                }
                None => what,
            };
            let mut parts = what.split('+').map(str::trim);
            rule.take = parts.next().map(str::to_owned);
            rule.pair = parts.next().map(str::to_owned);
            if parts.next().is_some() {
                return Err(format!("{arg:?}: at most two values per match (WHAT+WHAT)"));
            }
        }
        Ok((name, rule))
    }

    /// Validates the rule for field `name`. Errors are named
    /// `extract.NAME`.
    pub fn resolve(&self, name: &str) -> Result<ExtractRule, ConfigError> {
        let field = format!("extract.{name}");
        let err = |m: String| ConfigError::new(field.clone(), m);
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(err("field names are letters, digits, `_`, `-` and `.`".into()));
        }
        if self.selector.trim().is_empty() {
            return Err(err("empty selector".into()));
        }
        if let Err(e) = scraper::Selector::parse(&self.selector) {
            return Err(err(format!("bad selector {:?}: {e}", self.selector)));
        }
        let take = match (&self.take, &self.attr) {
            (Some(_), Some(_)) => return Err(err("give `take` or `attr`, not both".into())),
            (None, None) => Take::Text,
            (Some(t), None) => Take::parse(t).map_err(|m| err(format!("take: {m}")))?,
            (None, Some(a)) => match Take::parse(a) {
                Ok(Take::Attr(a)) => Take::Attr(a),
                Ok(t) => Take::Attr(t.to_string()),
                Err(m) => return Err(err(format!("attr: {m}"))),
            },
        };
        let pair = match &self.pair {
            None => None,
            Some(p) => Some(Take::parse(p).map_err(|m| err(format!("pair: {m}")))?),
        };
        Ok(ExtractRule {
            name: name.to_owned(),
            selector: self.selector.trim().to_owned(),
            take,
            pair,
            all: self.all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(s: &str) -> ExtractRule {
        let (name, rule) = FieldRule::parse_flag(s).unwrap();
        rule.resolve(&name).unwrap()
    }

    #[test]
    fn spec_syntax() {
        let r = flag("posts=a.post-item-title@href+text*");
        assert_eq!(r.name, "posts");
        assert_eq!(r.selector, "a.post-item-title");
        assert_eq!(r.take, Take::Attr("href".into()));
        assert_eq!(r.pair, Some(Take::Text));
        assert!(r.all);

        let r = flag("title=h1");
        assert_eq!((r.take, r.pair, r.all), (Take::Text, None, false));
        let r = flag("body = article > div@html");
        assert_eq!((r.selector.as_str(), r.take), ("article > div", Take::Html));
        let r = flag("imgs=img@SRC*");
        assert_eq!((r.take, r.all), (Take::Attr("src".into()), true));
        // `*` and `+` inside the selector are CSS, not SPEC syntax.
        let r = flag("x=h2 + p *");
        assert_eq!((r.selector.as_str(), r.all), ("h2 + p *", false));
        // `@` inside an attribute selector is part of the selector.
        let r = flag(r#"mail=a[href^="mailto:"][href*='@']@href*"#);
        assert_eq!(r.selector, r#"a[href^="mailto:"][href*='@']"#);
        assert!(r.all);
    }

    #[test]
    fn spec_errors() {
        assert!(FieldRule::parse_flag("no-equals").is_err());
        assert!(FieldRule::parse_flag("x=a@href+text+html").is_err());
        let (n, r) = FieldRule::parse_flag("posts=a[").unwrap();
        let e = r.resolve(&n).unwrap_err();
        assert_eq!(e.field, "extract.posts");
        assert!(e.to_string().starts_with("invalid extract.posts: bad selector"), "{e}");
        let (n, r) = FieldRule::parse_flag("=a").unwrap();
        assert!(r.resolve(&n).is_err());
        let (n, r) = FieldRule::parse_flag("x=a@").unwrap();
        assert!(r.resolve(&n).unwrap_err().message.contains("take"));
        let (n, r) = FieldRule::parse_flag("x=a@h ref").unwrap();
        assert!(r.resolve(&n).is_err());
    }

    #[test]
    fn table_form_and_attr_named_text() {
        let r = FieldRule { selector: "a".into(), attr: Some("text".into()), ..Default::default() };
        assert_eq!(r.resolve("t").unwrap().take, Take::Attr("text".into()));
        let r = FieldRule {
            selector: "a".into(),
            attr: Some("href".into()),
            take: Some("text".into()),
            ..Default::default()
        };
        assert!(r.resolve("t").unwrap_err().message.contains("not both"));
    }
}
