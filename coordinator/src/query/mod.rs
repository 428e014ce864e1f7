//! Reading stored pages back: filters, projection, sorting, grouping and
//! output formats shared by `trawl query`, `trawl export` and the HTTP
//! API.
//!
//! Pages stream from the store in URL order; a URL prefix (or a host)
//! narrows the scan itself. Only `--sort` (the best `offset + limit`
//! rows), `--count-by` (one counter per group) and the `table` format
//! (its rows) hold anything in memory.
//!
//! # Layout
//! - [`options`]: [`QueryOptions`], the one definition of every option
//!   (clap arguments, API parameters, live queries).
//! - `compile`: options -> a checked query; field names against the schema.
//! - `filter`: typed filters and `--where` predicates.
//! - [`view`]: the output schema ([`PageView`], [`COLUMNS`]).
//! - `execute`: scan, filter, project / top-k / count.
//! - `output`, `table`: the jsonl, csv and table writers.
//! - `history`: `--history URL` (a page's fetches) and the `--gone` test.

mod compile;
mod execute;
mod filter;
mod history;
pub mod options;
mod output;
mod table;
pub mod view;

#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub(crate) use compile::DERIVED_KEYS;
pub use execute::{PageSource, run, run_over, run_with_history};
pub use history::{HISTORY_COLUMNS, HistorySource, history_cells};
pub use options::{Format, ParamSpec, QueryOptions};
pub use view::{COLUMNS, PageView, field_json, fields_json};

use crate::store::StoreError;
use thiserror::Error;

/// Why a query failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed (e.g. a closed pipe).
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    /// CSV encoding failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// A query option is invalid.
    #[error("invalid {param}: {message}")]
    BadParam {
        /// The parameter's API name (`where`, `url_prefix`); the flag is
        /// [`QueryError::flag`].
        param: String,
        /// What is wrong, listing the valid values where there is a list.
        message: String,
    },
}

impl QueryError {
    /// The command-line flag of a [`QueryError::BadParam`] (`--url-prefix`).
    pub fn flag(&self) -> Option<String> {
        match self {
            Self::BadParam { param, .. } => Some(format!("--{}", param.replace('_', "-"))),
            _ => None,
        }
    }

    /// The message as the command line prints it: naming the flag.
    pub fn cli_message(&self) -> String {
        match (self, self.flag()) {
            (Self::BadParam { message, .. }, Some(flag)) => format!("invalid {flag}: {message}"),
            _ => self.to_string(),
        }
    }
}
