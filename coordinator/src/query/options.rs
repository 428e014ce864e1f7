//! The query options: one type that is the `trawl query` arguments (clap),
//! the `/api/pages` parameters and what a live query sends to a running
//! crawl. The doc comments are the `--help` text and the OpenAPI
//! descriptions; a parameter's name is its flag without the dashes, with
//! `_` for `-` (`--url-prefix` is `url_prefix`).
//!
//! API parameters are parsed by the same clap definition as the command
//! line ([`QueryOptions::from_pairs`]), so both accept exactly the same
//! values; only the name in error messages differs.

use super::QueryError;
use clap::builder::NonEmptyStringValueParser;
use clap::{Args, CommandFactory as _, FromArgMatches as _, ValueEnum};
use serde::Serialize;
use std::borrow::Cow;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Aligned columns for people.
    Table,
}

impl Format {
    /// Its name in flags and parameters.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Table => "table",
        }
    }

    /// The HTTP content type of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jsonl => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Table => "text/plain; charset=utf-8",
        }
    }
}

/// Which pages to print, and how: the text form of every query option.
/// Checked (and compiled) by [`super::run`] or [`QueryOptions::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Args, Serialize)]
pub struct QueryOptions {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Only URLs starting with this prefix (narrows the scan itself).
    #[arg(long, value_name = "PREFIX", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_prefix: Option<String>,
    /// Only URLs matching this glob, e.g. 'http://*/docs/*.html' (`*`
    /// matches across `/`).
    #[arg(long, value_name = "GLOB", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_glob: Option<String>,
    /// Only URLs matching this regex.
    #[arg(long, value_name = "REGEX", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_regex: Option<String>,
    /// Only this host: HOST or HOST:PORT.
    #[arg(long, value_name = "HOST", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Only this HTTP status (404) or class (4xx).
    #[arg(long, value_name = "CODE|Nxx", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only content types starting with this (text/html).
    #[arg(long, value_name = "TYPE", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Only this depth (2) or range (1..3, 2.., ..4; inclusive).
    #[arg(long, value_name = "N|LO..HI", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<String>,
    /// Only this outcome (ok, http_error, timeout, redirect, ...).
    #[arg(long, value_name = "OUTCOME", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Only pages fetched at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only pages fetched before this time.
    #[arg(long, value_name = "TIME", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Only pages whose content last changed at or after this time: RFC
    /// 3339, YYYY-MM-DD, or a duration ago (`90m`, `1h`, `2days`).
    #[arg(long, value_name = "TIME|AGO", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_since: Option<String>,
    /// Only pages gone on a revisit: their last fetch was a 404 or 410
    /// after an earlier fetch found them.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = false,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
    /// Print this page's fetch history instead of pages: one row per
    /// fetch (fetched_at, status, change, content_hash, changed_fields),
    /// oldest first; only --format, --limit and --offset apply.
    #[arg(long, value_name = "URL", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<String>,
    /// Predicate on an output field (repeatable): 'title~rust', 'bytes>10000',
    /// 'status!=200', 'fields.posts exists'. Operators: = != > >= < <= ~ !~
    /// (regex, case-insensitive), or `exists` / `missing`.
    #[arg(long = "where", value_name = "EXPR", value_parser = NonEmptyStringValueParser::new())]
    #[serde(rename = "where")]
    pub wheres: Vec<String>,
    /// Output only these fields, in this order, e.g. url,title,fields.posts.
    #[arg(long, value_name = "LIST", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// Sort by a field; -field or field:desc for descending.
    #[arg(
        long,
        value_name = "FIELD",
        allow_hyphen_values = true,
        value_parser = NonEmptyStringValueParser::new()
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Count pages per host, status, status_class, outcome, depth, ... (any
    /// output field) instead of listing them.
    #[arg(long, value_name = "FIELD", value_parser = NonEmptyStringValueParser::new())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_by: Option<String>,
    /// At most N rows.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Skip the first N rows.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
}

/// The API name of a flag (`url-prefix` -> `url_prefix`).
pub(crate) fn param_name(long: &str) -> String {
    long.replace('-', "_")
}

/// A standalone clap command holding only the query options.
#[derive(clap::Parser)]
#[command(name = "query", no_binary_name = true)]
struct Params {
    #[command(flatten)]
    options: QueryOptions,
}

/// One query parameter as the OpenAPI document describes it.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    /// Its name (`url_prefix`).
    pub name: String,
    /// Its description: the `--help` text.
    pub help: String,
    /// May be given more than once (`where`).
    pub repeated: bool,
    /// Takes a non-negative integer (`limit`, `offset`).
    pub integer: bool,
    /// The only values it takes, if it is an enumeration (`format`).
    pub values: Vec<String>,
    /// Its default, if any.
    pub default: Option<String>,
}

impl QueryOptions {
    /// Every parameter, from the clap definition: the source of the
    /// OpenAPI `/api/pages` parameters.
    pub fn params() -> Vec<ParamSpec> {
        let usize_parser: clap::builder::ValueParser = clap::value_parser!(usize).into();
        Params::command()
            .get_arguments()
            .filter_map(|a| {
                let long = a.get_long()?;
                let ty = a.get_value_parser().type_id();
                Some(ParamSpec {
                    name: param_name(long),
                    help: a.get_help().map(ToString::to_string).unwrap_or_default(),
                    repeated: matches!(a.get_action(), clap::ArgAction::Append),
                    integer: ty == usize_parser.type_id(),
                    values: a
                        .get_possible_values()
                        .iter()
                        .map(|v| v.get_name().to_owned())
                        .collect(),
                    default: a
                        .get_default_values()
                        .first()
                        .map(|v| v.to_string_lossy().into_owned()),
                })
            })
            .collect()
    }

    /// The options as `name=value` pairs (API parameters), the inverse of
    /// [`QueryOptions::from_pairs`]: what a live query sends.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) else {
            unreachable!("QueryOptions serializes to an object")
        };
        let mut pairs = Vec::new();
        for (name, value) in map {
            let values = match value {
                serde_json::Value::Array(v) => v,
                other => vec![other],
            };
            for v in values {
                pairs.push((name.clone(), super::filter::text(&v)));
            }
        }
        pairs
    }

    /// Builds options from `name=value` pairs (a query string), through
    /// the same clap definition as `trawl query`. Errors name the
    /// parameter (`where`, not `--where`).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    ) -> Result<Self, QueryError> {
        let known = Self::params();
        let mut argv = Vec::new();
        for (k, v) in pairs {
            if !known.iter().any(|p| p.name == k) {
                let names: Vec<&str> = known.iter().map(|p| p.name.as_str()).collect();
                return Err(QueryError::BadParam {
                    param: k.into_owned(),
                    message: format!("unknown parameter; expected one of {}", names.join(", ")),
                });
            }
            argv.push(format!("--{}={v}", k.replace('_', "-")));
        }
        let matches = Params::command().try_get_matches_from(argv).map_err(from_clap)?;
        Params::from_arg_matches(&matches).map(|p| p.options).map_err(from_clap)
    }
}

/// A clap error as a parameter error: which parameter, and what was wrong
/// with its value, in the API's words.
fn from_clap(e: clap::Error) -> QueryError {
    use clap::error::{ContextKind, ContextValue};
    let text = |k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join(", ")),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg).unwrap_or_default();
    let long = arg.trim_start_matches('-').split([' ', '=']).next().unwrap_or_default();
    let mut message = match text(ContextKind::InvalidValue) {
        Some(v) if v.is_empty() => "must not be empty".to_owned(),
        Some(v) => format!("invalid value {v:?}"),
        None => e.kind().as_str().unwrap_or("invalid").to_owned(),
    };
    if let Some(valid) = text(ContextKind::ValidValue) {
        message.push_str(&format!("; expected one of {valid}"));
    } else if let Some(source) = std::error::Error::source(&e) {
        message.push_str(&format!(": {source}"));
    }
    QueryError::BadParam { param: param_name(long), message }
}
