//! robots.txt and crash counts through the database (issue 12): what
//! this machine learns about its partitions' hosts and URLs goes into its
//! fenced commits, and a machine that takes a partition over loads it
//! before the partition's queue, so a page that kills workers reaches
//! `--crash-limit` once for the cluster and robots.txt is fetched once per
//! host, not once per owner.
//!
//! - **robots.txt**: a fetch whose answer is final (2xx rules, a 4xx but
//!   429 "allow all", unfollowable redirects "allow all") is stored as
//!   status + body + fetch time with the next batch; a new owner applies
//!   the stored answer as if it had fetched it, unless it is older than
//!   [`ROBOTS_MAX_AGE`] (RFC 9309 §2.4: a cached robots.txt should not be
//!   used for more than 24 hours), in which case it fetches it again. An
//!   answer that is still being retried (5xx, 429, unreachable) is not
//!   stored: the next owner tries again itself.
//! - **crash counts**: a crash blamed on a URL is committed on its own, at
//!   once, and the URL is re-issued (alone) only after that commit (see
//!   the scheduler's `crashes.rs`), so the count holds even if this
//!   machine dies right after the crash: the next owner starts from it.

use crate::politeness::robots::RobotsFetch;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trawl_cluster::{Cluster, ClusterError, PartitionId, RobotsRow};

/// A stored robots.txt older than this is fetched again.
pub(crate) const ROBOTS_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// What a takeover loads besides the queue.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    /// Fresh robots.txt answers of the partitions' hosts.
    pub(crate) robots: Vec<RobotsRow>,
    /// Crash counts of the partitions' URLs.
    pub(crate) crashes: Vec<(String, u32)>,
}

/// Loads what `ids` carry (robots.txt fresh at `now_ms`, crash counts).
pub(super) async fn load(
    cluster: &Cluster,
    ids: &[PartitionId],
    now_ms: u64,
) -> Result<Carried, ClusterError> {
    let robots = cluster.robots_of(ids).await?.into_iter().filter(|r| fresh(r, now_ms)).collect();
    let crashes = cluster.crash_counts(ids).await?.into_iter().collect();
    Ok(Carried { robots, crashes })
}

/// Is a stored answer young enough to be used at `now_ms`?
fn fresh(row: &RobotsRow, now_ms: u64) -> bool {
    let max = u64::try_from(ROBOTS_MAX_AGE.as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_sub(row.fetched_at_ms) <= max
}

/// The row a robots.txt fetch of `host` is stored as, if its answer is
/// final (see the module doc); `None` for answers still being retried.
pub(crate) fn robots_row(host: &str, fetch: &RobotsFetch<'_>, now_ms: u64) -> Option<RobotsRow> {
    match fetch {
        RobotsFetch::Response { status, body }
            if (200..300).contains(status) || ((400..500).contains(status) && *status != 429) =>
        {
            Some(RobotsRow::new(host, Some(*status), (*body).to_owned(), now_ms))
        }
        RobotsFetch::Unfollowable => Some(RobotsRow::new(host, None, String::new(), now_ms)),
        RobotsFetch::Response { .. } | RobotsFetch::Unreachable { .. } => None,
    }
}

/// A stored row as the fetch it recorded.
pub(crate) fn as_fetch(row: &RobotsRow) -> RobotsFetch<'_> {
    match row.status {
        Some(status) => RobotsFetch::Response { status, body: &row.body },
        None => RobotsFetch::Unfollowable,
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_final_answers_are_stored_and_read_back_as_they_were() {
        let ok = RobotsFetch::Response { status: 200, body: "User-agent: *\nDisallow: /x\n" };
        let row = robots_row("a.test", &ok, 7).expect("2xx is final");
        assert_eq!((row.status, row.fetched_at_ms), (Some(200), 7));
        assert_eq!(as_fetch(&row), ok);
        let gone = RobotsFetch::Response { status: 404, body: "" };
        assert_eq!(as_fetch(&robots_row("a.test", &gone, 1).unwrap()), gone);
        let unf = robots_row("a.test", &RobotsFetch::Unfollowable, 1).unwrap();
        assert_eq!(as_fetch(&unf), RobotsFetch::Unfollowable);
        for retried in [
            RobotsFetch::Response { status: 429, body: "" },
            RobotsFetch::Response { status: 503, body: "" },
            RobotsFetch::Unreachable { detail: "refused".into() },
        ] {
            assert_eq!(robots_row("a.test", &retried, 1), None, "{retried:?}");
        }
    }

    #[test]
    fn stale_answers_are_not_used() {
        let row = RobotsRow::new("a.test", Some(200), String::new(), 1_000);
        let day = u64::try_from(ROBOTS_MAX_AGE.as_millis()).unwrap();
        assert!(fresh(&row, 1_000 + day));
        assert!(!fresh(&row, 1_001 + day));
        assert!(fresh(&row, 0), "a clock behind the writer's is not staleness");
    }
}
