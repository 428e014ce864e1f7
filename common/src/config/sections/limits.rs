//! When a crawl stops, and how much of its frontier stays in memory.

use crate::config::CrawlConfig;
use crate::config::units::count;
use crate::error::ConfigError;

crate::option_group! {
    /// Limits.
    #[command(next_help_heading = "Limits")]
    pub struct LimitOptions {
        /// Stop after storing N pages [default: unlimited].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u64>)]
        pub max_pages: Option<u64>,
        /// Do not follow links deeper than N (seeds are depth 0) [default: unlimited].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u32>)]
        pub max_depth: Option<u32>,
        /// Queued URLs kept in memory; the rest wait on disk in the store and
        /// are read back as their hosts' turn comes [default: 100000].
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count::<u64>)]
        pub frontier_memory: Option<u64>,
    }
}

impl LimitOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        if self.max_pages == Some(0) {
            errs.push(ConfigError::new("--max-pages", "must be at least 1"));
        }
        c.max_pages = self.max_pages;
        c.max_depth = self.max_depth;
        if let Some(n) = self.frontier_memory {
            if n == 0 {
                errs.push(ConfigError::new("--frontier-memory", "must be at least 1"));
            }
            c.frontier_memory = usize::try_from(n).unwrap_or(usize::MAX);
        }
    }
}
