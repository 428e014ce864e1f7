//! What is stored per page beyond the basics: extracted fields and bodies.

use crate::config::{CrawlConfig, FieldRule};
use crate::error::ConfigError;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

crate::option_group! {
    /// What is stored.
    #[command(next_help_heading = "Output")]
    pub struct OutputOptions {
        /// Extract a named field from every HTML page (repeatable) [default: none].
        /// SPEC is `SELECTOR[@WHAT[+WHAT]][*]`: WHAT is `text` (default), `html`
        /// or an attribute (`href`/`src` come back as absolute URLs), `+WHAT` makes
        /// pairs, a trailing `*` takes every match. E.g.
        /// `posts=a.post-item-title@href+text*`.
        #[arg(long = "extract", value_name = "NAME=SPEC", value_parser = FieldRule::parse_flag)]
        #[serde(deserialize_with = "table")]
        pub extract: Vec<(String, FieldRule)>,
        /// Store complete response bodies (for `trawl export --format warc`) [default: false].
        #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        pub keep_bodies: Option<bool>,
    }
}

/// The file's `[extract]` table, in name order.
fn table<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, FieldRule)>, D::Error> {
    Ok(BTreeMap::<String, FieldRule>::deserialize(d)?.into_iter().collect())
}

impl OutputOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        let mut seen = BTreeSet::new();
        for (name, rule) in &self.extract {
            if !seen.insert(name.as_str()) {
                errs.push(ConfigError::new("--extract", format!("field {name:?} is given twice")));
                continue;
            }
            match rule.resolve(name) {
                Ok(r) => c.extract.push(r),
                Err(e) => errs.push(e),
            }
        }
        c.extract.sort_by(|a, b| a.name.cmp(&b.name));
        c.keep_bodies = self.keep_bodies.unwrap_or(false);
    }
}
