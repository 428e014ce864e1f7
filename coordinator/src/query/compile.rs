//! Compiling [`QueryOptions`] once, before any page is read: every value
//! is parsed and every field name checked against the output schema, so a
//! typo is an error naming the parameter and listing what is valid, never
//! an empty answer.

use super::filter::{self, Filters, Predicate, StatusFilter};
use super::view::COLUMNS;
use super::{Format, QueryError, QueryOptions};
use trawl_common::protocol::FetchOutcome;

/// Group keys `--count-by` knows besides the output fields.
pub(crate) const DERIVED_KEYS: [&str; 2] = ["host", "status_class"];

/// A query ready to run.
#[derive(Debug)]
pub(crate) struct Query {
    /// URL prefixes to scan (one scan each; a prefix narrows sled's scan).
    pub(crate) prefixes: Vec<String>,
    pub(crate) filters: Filters,
    pub(crate) wheres: Vec<Predicate>,
    /// Projection, in the order asked.
    pub(crate) fields: Option<Vec<String>>,
    /// Sort field and whether descending.
    pub(crate) sort: Option<(String, bool)>,
    pub(crate) offset: usize,
    pub(crate) limit: usize,
    pub(crate) count_by: Option<String>,
    pub(crate) format: Format,
    /// `--history URL`: print that page's fetches instead of pages.
    pub(crate) history: Option<String>,
}

pub(crate) fn bad(param: &str, message: impl Into<String>) -> QueryError {
    QueryError::BadParam { param: param.to_owned(), message: message.into() }
}

/// Checks a field name against the output schema: one of [`COLUMNS`] or
/// `fields.NAME` (user fields are open-ended). `extra` are further names
/// the parameter accepts.
pub(crate) fn check_field(param: &str, name: &str, extra: &[&str]) -> Result<(), QueryError> {
    let user_field = name.strip_prefix("fields.").is_some_and(|f| !f.is_empty());
    if COLUMNS.contains(&name) || extra.contains(&name) || user_field {
        return Ok(());
    }
    let valid: Vec<&str> = COLUMNS.iter().chain(extra).copied().collect();
    Err(bad(
        param,
        format!("unknown field {name:?}; expected one of {}, or fields.NAME", valid.join(", ")),
    ))
}

impl QueryOptions {
    /// Checks every option without running the query (a live query is
    /// validated here before it is sent, so it fails like an offline one).
    pub fn validate(&self) -> Result<(), QueryError> {
        self.compile().map(drop)
    }

    pub(crate) fn compile(&self) -> Result<Query, QueryError> {
        let mut filters = Filters::default();
        if let Some(g) = &self.url_glob {
            filters.glob = Some(
                globset::GlobBuilder::new(g)
                    .literal_separator(false)
                    .build()
                    .map_err(|e| bad("url_glob", e.to_string()))?
                    .compile_matcher(),
            );
        }
        if let Some(r) = &self.url_regex {
            filters.regex =
                Some(regex::Regex::new(r).map_err(|e| bad("url_regex", e.to_string()))?);
        }
        filters.host = self.host.as_ref().map(|h| h.trim().to_ascii_lowercase());
        filters.status = self.status.as_deref().map(StatusFilter::parse).transpose()?;
        filters.content_type = self.content_type.as_ref().map(|c| c.trim().to_ascii_lowercase());
        filters.depth = self.depth.as_deref().map(filter::depth_range).transpose()?;
        if let Some(o) = &self.outcome {
            if !FetchOutcome::KINDS.contains(&o.as_str()) {
                return Err(bad(
                    "outcome",
                    format!("expected one of {}, got {o:?}", FetchOutcome::KINDS.join(", ")),
                ));
            }
            filters.outcome = Some(o.clone());
        }
        filters.since_ms =
            self.since.as_deref().map(|s| filter::time_ms("since", s)).transpose()?;
        filters.until_ms =
            self.until.as_deref().map(|s| filter::time_ms("until", s)).transpose()?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        filters.changed_since_ms = self
            .changed_since
            .as_deref()
            .map(|s| filter::time_or_ago_ms("changed_since", s, now_ms))
            .transpose()?;
        filters.gone = self.gone;
        if let Some(url) = &self.history {
            let ok = url::Url::parse(url.trim())
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(bad("history", format!("expected an http(s) URL, got {url:?}")));
            }
        }
        let wheres = self.wheres.iter().map(|w| Predicate::parse(w)).collect::<Result<_, _>>()?;
        let fields = match &self.fields {
            None => None,
            Some(f) => {
                let names: Vec<String> =
                    f.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                if names.is_empty() {
                    return Err(bad("fields", "no field names given"));
                }
                for n in &names {
                    check_field("fields", n, &[])?;
                }
                Some(names)
            }
        };
        let sort = match &self.sort {
            None => None,
            Some(s) => {
                let s = s.trim();
                let (field, desc) =
                    match (s.strip_prefix('-'), s.strip_suffix(":desc"), s.strip_suffix(":asc")) {
                        (Some(f), _, _) | (_, Some(f), _) => (f, true),
                        (_, _, Some(f)) => (f, false),
                        _ => (s, false),
                    };
                check_field("sort", field, &[])?;
                Some((field.to_owned(), desc))
            }
        };
        if let Some(by) = &self.count_by {
            check_field("count_by", by, &DERIVED_KEYS)?;
        }
        let prefixes = match (&self.url_prefix, &filters.host) {
            (Some(p), _) => vec![p.clone()],
            (None, Some(h)) => vec![format!("http://{h}/"), format!("https://{h}/")],
            (None, None) => vec![String::new()],
        };
        Ok(Query {
            prefixes,
            filters,
            wheres,
            fields,
            sort,
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(usize::MAX),
            count_by: self.count_by.clone(),
            format: self.format,
            history: self.history.as_ref().map(|u| u.trim().to_owned()),
        })
    }
}
