//! Cluster mode (issue 12): the PostgreSQL database one crawl shares
//! across machines, this machine's name in it, and its lease length.
//! Absent `--cluster`, none of this is used and the crawl is sled-only.

use crate::config::CrawlConfig;
use crate::config::units::HumanDuration;
use crate::error::ConfigError;
use std::time::Duration;

/// Default partition lease: renewed every third of it.
pub const DEFAULT_CLUSTER_LEASE: Duration = Duration::from_secs(10);

crate::option_group! {
    /// Cluster mode.
    #[command(next_help_heading = "Cluster")]
    pub struct ClusterOptions {
        /// Join the crawl whose state is in this PostgreSQL database
        /// (postgres://user@host:port/db) [default: none, a local crawl].
        #[arg(long, value_name = "URL")]
        pub cluster: Option<String>,
        /// This machine's name in the cluster; two live machines must not
        /// share one [default: hostname:pid].
        #[arg(long, value_name = "NAME")]
        pub cluster_name: Option<String>,
        /// How long a partition lease lasts without renewal; a dead
        /// machine's partitions move after this [default: 10s].
        #[arg(long, value_name = "DURATION")]
        #[serde(rename = "cluster_lease_secs")]
        pub cluster_lease: Option<HumanDuration>,
    }
}

/// Resolved cluster options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The database URL.
    pub url: String,
    /// This machine's name, if given.
    pub name: Option<String>,
    /// Lease length.
    pub lease: Duration,
}

impl ClusterOptions {
    pub(crate) fn resolve(self, c: &mut CrawlConfig, errs: &mut Vec<ConfigError>) {
        let lease = match self.cluster_lease {
            None => DEFAULT_CLUSTER_LEASE,
            Some(HumanDuration(d)) if d >= Duration::from_secs(1) => d,
            Some(_) => {
                errs.push(ConfigError::new("--cluster-lease", "must be at least 1s"));
                DEFAULT_CLUSTER_LEASE
            }
        };
        if let Some(name) = &self.cluster_name
            && name.trim().is_empty()
        {
            errs.push(ConfigError::new("--cluster-name", "must not be empty"));
        }
        let Some(url) = self.cluster else {
            if self.cluster_name.is_some() || self.cluster_lease.is_some() {
                let flag =
                    if self.cluster_name.is_some() { "--cluster-name" } else { "--cluster-lease" };
                errs.push(ConfigError::new(flag, "needs --cluster"));
            }
            return;
        };
        if let Err(e) = check_url(&url) {
            errs.push(ConfigError::new("--cluster", e));
            return;
        }
        c.cluster = Some(ClusterConfig { url, name: self.cluster_name, lease });
    }
}

/// A PostgreSQL URL: `postgres://` or `postgresql://` with a host or a
/// `host=` parameter.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e}): {url}"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(format!("expected postgres://..., got scheme {:?}", parsed.scheme()));
    }
    let host_param = parsed.query_pairs().any(|(k, _)| k == "host");
    if parsed.host_str().is_none_or(str::is_empty) && !host_param {
        return Err(format!("no database host in {url}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(check_url("postgres://postgres@127.0.0.1:5432/trawl").is_ok());
        assert!(check_url("postgresql://u@h/db").is_ok());
        assert!(check_url("postgres:///db?host=/tmp").is_ok());
        assert!(check_url("http://127.0.0.1/").unwrap_err().contains("postgres://"));
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn the_config_file_takes_flat_cluster_keys() {
        let file = crate::config::ConfigFile::from_toml(
            "cluster = \"postgres://trawl@127.0.0.1/trawl\"\ncluster_name = \"m1\"\ncluster_lease_secs = \"3s\"\n",
        )
        .unwrap();
        let target = crate::config::TargetOptions {
            seeds: vec!["http://127.0.0.1:9/".into()],
            store: Some("s".into()),
        };
        let c = crate::config::resolve(target, file.options).unwrap();
        let cc = c.cluster.unwrap();
        assert_eq!(cc.url, "postgres://trawl@127.0.0.1/trawl");
        assert_eq!(cc.name.as_deref(), Some("m1"));
        assert_eq!(cc.lease, Duration::from_secs(3));
    }
}
