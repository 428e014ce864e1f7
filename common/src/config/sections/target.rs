//! What to crawl and where to keep it: the seeds and the store.

use crate::config::CrawlConfig;
use crate::error::ConfigError;
use crate::url::parse_crawl_url;
use std::path::PathBuf;

crate::option_group! {
    /// Seeds and store (file keys `seeds`, `store`).
    pub struct TargetOptions {
        /// Start URLs (http or https). At least one, here or in the config file.
        #[arg(value_name = "SEED_URL")]
        pub seeds: Vec<String>,
        /// Store directory (created if missing). Rerunning on the same store
        /// resumes: stored pages are not fetched again. Required.
        #[arg(long, value_name = "DIR")]
        pub store: Option<PathBuf>,
    }
}

impl TargetOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        if self.seeds.is_empty() {
            errs.push(ConfigError::new("seed", "at least one seed URL is required"));
        }
        for s in &self.seeds {
            match parse_crawl_url(s) {
                Ok(u) => c.seeds.push(u),
                Err(e) => errs.push(ConfigError::new("seed", e.to_string())),
            }
        }
        match self.store.filter(|s| !s.as_os_str().is_empty()) {
            Some(store) => c.store = store,
            None => errs.push(ConfigError::new("--store", "a store directory is required")),
        }
    }
}
