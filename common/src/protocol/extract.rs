//! User-defined extraction, as the worker applies it: named fields, each a
//! CSS selector plus what to take from the matching elements. The resolved
//! form of `[extract]` / `--extract` (see [`crate::config::FieldRule`]).
//!
//! Everything here crosses ipc-channel (postcard), so values are concrete
//! types, never `serde_json::Value` (postcard cannot `deserialize_any`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What to take from one matched element.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Take {
    /// Its text content, whitespace collapsed.
    Text,
    /// Its inner HTML, as serialized by the parser.
    Html,
    /// The value of this attribute; elements without it are skipped.
    /// URL-valued attributes ([`Take::is_url`]) are resolved to absolute URLs.
    Attr(String),
}

impl Take {
    /// Parses `text`, `html` or an attribute name (case-insensitive, as
    /// HTML attribute names are).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "" => Err("empty: expected text, html or an attribute name".into()),
            "text" => Ok(Self::Text),
            "html" => Ok(Self::Html),
            a if a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')) =>
            {
                Ok(Self::Attr(a.to_owned()))
            }
            _ => Err(format!("{s:?} is not text, html or an attribute name")),
        }
    }

    /// Does this take a URL-valued attribute (resolved against the page)?
    pub fn is_url(&self) -> bool {
        match self {
            Self::Attr(a) => URL_ATTRS.contains(&a.as_str()),
            Self::Text | Self::Html => false,
        }
    }
}

/// Attributes whose values are URLs and are returned resolved.
pub const URL_ATTRS: [&str; 7] = ["href", "src", "action", "cite", "poster", "data", "formaction"];

impl fmt::Display for Take {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text => f.write_str("text"),
            Self::Html => f.write_str("html"),
            Self::Attr(a) => f.write_str(a),
        }
    }
}

/// One named field, validated (its selector parses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractRule {
    /// The field name, the key in the page's `fields`.
    pub name: String,
    /// CSS selector (checked when the config was resolved).
    pub selector: String,
    /// What to take from each match.
    pub take: Take,
    /// When set, each match yields a pair (`take`, `pair`).
    pub pair: Option<Take>,
    /// Every match instead of the first.
    pub all: bool,
}

/// The value of one field on one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldValue {
    /// The first match (`None`: nothing matched).
    One(Option<String>),
    /// Every match, in document order.
    Many(Vec<String>),
    /// The first match as a pair.
    Pair(Option<(String, String)>),
    /// Every match as a pair, in document order.
    Pairs(Vec<(String, String)>),
}
