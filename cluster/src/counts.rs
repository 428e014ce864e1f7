//! The crawl's counts without scanning it: counter rows added to in the
//! same fenced transaction that changes what they count, summed on read.
//!
//! `trawl.counts` holds one row per (machine, name): `pages` (page rows),
//! `urls` (URL rows) and `outcome:<kind>` (page rows per outcome). A
//! commit adds the rows it inserted (the `ON CONFLICT DO NOTHING` inserts
//! say how many) to its own machine's counters, so:
//!
//! - the counts are exact: they commit or roll back with the rows (a
//!   fenced batch counts nothing), which `--max-pages` and "the crawl is
//!   finished" (nothing queued anywhere) need; an estimate such as
//!   `pg_class.reltuples` would do for a dashboard, not for those;
//! - machines never wait on each other: each updates only its own rows
//!   (one machine's commits are serial), where one global row would be a
//!   lock every commit in the cluster queues on;
//! - reading them costs a few dozen rows (machines x names) whatever the
//!   size of the crawl, where `count(*)` over `pages` and an anti-join of
//!   `urls` against it grow with the crawl and ran every 300 ms on every
//!   machine.
//!
//! Every page row has a URL row (the commit inserts the one missing), so
//! queued URLs (URL rows without a page row) = `urls` - `pages`.

use crate::cluster::Cluster;
use crate::error::ClusterError;
use std::collections::BTreeMap;

/// The counter of page rows.
pub(crate) const PAGES: &str = "pages";
/// The counter of URL rows.
pub(crate) const URLS: &str = "urls";
/// Prefix of the per-outcome counters (`outcome:ok`).
const OUTCOME: &str = "outcome:";

/// What one transaction adds to its machine's counters.
#[derive(Debug, Default)]
pub(crate) struct Deltas(BTreeMap<String, i64>);

impl Deltas {
    /// Adds `n` to counter `name`.
    pub(crate) fn add(&mut self, name: &str, n: u64) {
        if n > 0 {
            *self.0.entry(name.to_owned()).or_default() += i64::try_from(n).unwrap_or(i64::MAX);
        }
    }

    /// Adds `n` page rows of outcome `kind`.
    pub(crate) fn add_outcome(&mut self, kind: &str, n: u64) {
        self.add(&format!("{OUTCOME}{kind}"), n);
    }

    /// Writes the deltas in `tx` (rows in name order, so two transactions
    /// of one machine lock them in the same order).
    pub(crate) async fn write(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        machine: &str,
    ) -> Result<(), ClusterError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        let values: Vec<i64> = self.0.values().copied().collect();
        let stmt = tx
            .prepare_cached(
                "INSERT INTO trawl.counts (machine, name, value)
                 SELECT $1, n, v FROM unnest($2::text[], $3::int8[]) AS t(n, v)
                 ON CONFLICT (machine, name) DO UPDATE SET value = trawl.counts.value + EXCLUDED.value",
            )
            .await?;
        tx.execute(&stmt, &[&machine, &names, &values]).await?;
        Ok(())
    }
}

/// The crawl's counts, summed over machines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Page rows.
    pub pages: u64,
    /// URL rows (queued or stored).
    pub urls: u64,
    /// Pages per outcome, most first.
    pub outcomes: Vec<(String, u64)>,
    /// Page rows per machine id that stored them.
    pub pages_by_machine: BTreeMap<String, u64>,
}

impl Counts {
    /// URL rows without a page row.
    pub fn queued(&self) -> u64 {
        self.urls.saturating_sub(self.pages)
    }
}

fn n(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Cluster {
    /// Every counter, summed: one read of a few rows per machine.
    pub async fn counts(&self) -> Result<Counts, ClusterError> {
        let rows = self
            .client()
            .await?
            .query("SELECT machine, name, value FROM trawl.counts", &[])
            .await?;
        let mut c = Counts::default();
        let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
        for r in &rows {
            let (machine, name): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let v = n(r.try_get(2)?);
            match name.as_str() {
                PAGES => {
                    c.pages += v;
                    *c.pages_by_machine.entry(machine).or_default() += v;
                }
                URLS => c.urls += v,
                other => {
                    if let Some(kind) = other.strip_prefix(OUTCOME) {
                        *outcomes.entry(kind.to_owned()).or_default() += v;
                    }
                }
            }
        }
        c.outcomes = outcomes.into_iter().filter(|(_, v)| *v > 0).collect();
        c.outcomes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(c)
    }

    /// (pages, queued) in one statement, so the two agree.
    pub(crate) async fn pages_and_queued(&self) -> Result<(u64, u64), ClusterError> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT coalesce(sum(value) FILTER (WHERE name = 'pages'), 0)::int8,
                        coalesce(sum(value) FILTER (WHERE name = 'urls'), 0)::int8
                 FROM trawl.counts",
                &[],
            )
            .await?;
        let (pages, urls) = (n(row.try_get(0)?), n(row.try_get(1)?));
        Ok((pages, urls.saturating_sub(pages)))
    }
}

/// Page rows in the whole crawl, read inside a transaction (the capped
/// commit, under its advisory lock).
pub(crate) async fn pages_in(tx: &deadpool_postgres::Transaction<'_>) -> Result<u64, ClusterError> {
    let v: i64 = tx
        .query_one(
            "SELECT coalesce(sum(value), 0)::int8 FROM trawl.counts WHERE name = 'pages'",
            &[],
        )
        .await?
        .try_get(0)?;
    Ok(n(v))
}
