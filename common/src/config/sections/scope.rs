//! Which links are followed: the scope around the seeds and the
//! allow/deny regexes.

use crate::config::CrawlConfig;
use crate::error::ConfigError;
use crate::url::{Scope, ScopeKind};

crate::option_group! {
    /// Scope.
    #[command(next_help_heading = "Scope")]
    pub struct ScopeOptions {
        /// Which links to follow: the seeds' hosts, their domains, or anything [default: host].
        #[arg(long, value_name = "host|domain|any")]
        pub scope: Option<String>,
        /// Only follow URLs matching this regex (repeatable: any may match) [default: none].
        #[arg(long, value_name = "REGEX")]
        pub allow: Vec<String>,
        /// Never follow URLs matching this regex (repeatable) [default: none].
        #[arg(long, value_name = "REGEX")]
        pub deny: Vec<String>,
    }
}

impl ScopeOptions {
    /// Needs the seeds resolved first (the scope is built around them).
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        let kind = match self.scope.as_deref().unwrap_or("host") {
            "host" => ScopeKind::Host,
            "domain" => ScopeKind::Domain,
            "any" => ScopeKind::Any,
            other => {
                errs.push(ConfigError::new(
                    "--scope",
                    format!("expected host, domain or any, got {other:?}"),
                ));
                ScopeKind::Host
            }
        };
        for (field, pats) in [("--allow", &self.allow), ("--deny", &self.deny)] {
            for p in pats {
                if let Err(e) = regex::Regex::new(p) {
                    errs.push(ConfigError::new(field, format!("bad regex {p:?}: {e}")));
                }
            }
        }
        c.scope = Scope::new(kind, &c.seeds);
        c.scope.allow = self.allow;
        c.scope.deny = self.deny;
    }
}
