//! Reading page records back (`trawl query --cluster`).

use crate::cluster::Cluster;
use crate::error::ClusterError;
use crate::partition::PartitionId;
use crate::rows::PageRow;
use trawl_common::protocol::FetchOutcome;

/// `not_html` -> `NotHtml`: a [`FetchOutcome::kind`] as its serde variant.
fn variant(kind: &str) -> String {
    kind.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Rebuilds an outcome from its `outcome` and `outcome_detail` columns.
pub(crate) fn outcome_from_columns(
    kind: &str,
    detail: Option<serde_json::Value>,
) -> Result<FetchOutcome, ClusterError> {
    let value = match detail {
        None => serde_json::Value::String(variant(kind)),
        Some(d) => serde_json::json!({ variant(kind): d }),
    };
    serde_json::from_value(value).map_err(|e| ClusterError::Corrupt(format!("outcome {kind}: {e}")))
}

impl Cluster {
    /// Stored pages in the whole crawl (from the counters: no scan).
    pub async fn page_count(&self) -> Result<u64, ClusterError> {
        Ok(self.pages_and_queued().await?.0)
    }

    /// The stored record for `url` (with its body, if kept), and the
    /// machine that stored it.
    pub async fn page(&self, url: &str) -> Result<Option<(PageRow, String)>, ClusterError> {
        let row =
            self.client().await?.query_opt(&format!("{SELECT} WHERE p.url = $1"), &[&url]).await?;
        row.map(|r| Ok((decode(&r)?, r.try_get(20)?))).transpose()
    }

    /// Up to `limit` stored records whose URL starts with `prefix`, in
    /// byte order of the URL, after `after` (none: from the first):
    /// keyset pagination over the primary key, so each call is one index
    /// range scan and a reader holds one chunk, however large the crawl.
    /// Bodies are read only if `bodies` (a WARC export).
    pub async fn page_chunk(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        bodies: bool,
    ) -> Result<Vec<PageRow>, ClusterError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let select = if bodies {
            SELECT.to_owned()
        } else {
            SELECT
                .replace("b.body", "NULL::bytea")
                .replace(" LEFT JOIN trawl.bodies b ON b.url = p.url", "")
        };
        // URLs are normalized ASCII, so every URL with the prefix sorts
        // below prefix + U+10FFFF: the bound that ends the index range.
        let upper = format!("{prefix}\u{10FFFF}");
        let after = after.unwrap_or("");
        let op = if after.is_empty() { ">=" } else { ">" };
        let from = if after.is_empty() { prefix } else { after };
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "{select} WHERE p.url {op} $1 AND p.url < $2 AND starts_with(p.url, $3)
                     ORDER BY p.url LIMIT $4"
                ),
                &[&from, &upper, &prefix, &limit],
            )
            .await?;
        rows.iter().map(decode).collect()
    }

    /// Every stored record whose URL starts with `prefix`, in URL order
    /// (bodies included if kept), streamed to `each` through a cursor in
    /// chunks: what `trawl query --cluster` reads.
    pub async fn pages_with_prefix(
        &self,
        prefix: &str,
        mut each: impl FnMut(PageRow),
    ) -> Result<u64, ClusterError> {
        let mut client = self.client().await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        let stmt = tx
            .prepare(&format!(
                "{SELECT} WHERE left(p.url, length($1)) = $1 ORDER BY p.url COLLATE \"C\""
            ))
            .await?;
        let portal = tx.bind(&stmt, &[&prefix]).await?;
        let mut n = 0;
        loop {
            let rows = tx.query_portal(&portal, 5_000).await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                each(decode(r)?);
                n += 1;
            }
        }
        tx.commit().await?;
        Ok(n)
    }
}

/// The page columns, in [`decode`]'s order; `machine` last (20).
const SELECT: &str = "SELECT p.url, p.partition, p.depth, p.status, p.content_type, p.title,
        p.bytes, (extract(epoch FROM p.fetched_at) * 1000)::int8, p.elapsed_ms, p.outlinks,
        p.outcome, p.outcome_detail, p.worker, p.attempts, p.retry_after_secs,
        p.noindex, p.nofollow, p.canonical, p.fields, b.body, p.machine
    FROM trawl.pages p LEFT JOIN trawl.bodies b ON b.url = p.url";

fn decode(r: &tokio_postgres::Row) -> Result<PageRow, ClusterError> {
    let url: String = r.try_get(0)?;
    let corrupt = |what: &str| ClusterError::Corrupt(format!("page {url}: {what}"));
    let partition: i32 = r.try_get(1)?;
    let fields: Option<serde_json::Value> = r.try_get(18)?;
    Ok(PageRow {
        partition: PartitionId::from_db(partition).ok_or_else(|| corrupt("partition"))?,
        depth: u32::try_from(r.try_get::<_, i32>(2)?).map_err(|_| corrupt("depth"))?,
        status: r.try_get::<_, Option<i16>>(3)?.and_then(|s| u16::try_from(s).ok()),
        content_type: r.try_get(4)?,
        title: r.try_get(5)?,
        bytes: u64::try_from(r.try_get::<_, i64>(6)?).unwrap_or(0),
        fetched_at_ms: u64::try_from(r.try_get::<_, i64>(7)?).unwrap_or(0),
        elapsed_ms: u32::try_from(r.try_get::<_, i32>(8)?).unwrap_or(0),
        outlinks: u32::try_from(r.try_get::<_, i32>(9)?).unwrap_or(0),
        outcome: outcome_from_columns(r.try_get(10)?, r.try_get(11)?)?,
        worker: r.try_get::<_, Option<i32>>(12)?.and_then(|w| u32::try_from(w).ok()),
        attempts: u8::try_from(r.try_get::<_, i16>(13)?).unwrap_or(0),
        retry_after_secs: r.try_get::<_, Option<i32>>(14)?.and_then(|s| u32::try_from(s).ok()),
        noindex: r.try_get(15)?,
        nofollow: r.try_get(16)?,
        canonical: r.try_get(17)?,
        fields: match fields {
            Some(v) => serde_json::from_value(v).map_err(|e| corrupt(&e.to_string()))?,
            None => Default::default(),
        },
        body: r.try_get(19)?,
        url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::outcome_detail as detail;

    #[test]
    fn every_outcome_survives_its_columns() {
        let all = [
            FetchOutcome::Ok,
            FetchOutcome::NotHtml,
            FetchOutcome::Redirect { location: "http://x/".into() },
            FetchOutcome::BadRedirect { detail: "d".into() },
            FetchOutcome::HttpError,
            FetchOutcome::TooLarge { limit: 9 },
            FetchOutcome::Timeout { detail: "read".into() },
            FetchOutcome::Connect { detail: "refused".into() },
            FetchOutcome::Body { detail: "reset".into() },
            FetchOutcome::Disallowed,
            FetchOutcome::Poison { crashes: 3 },
            FetchOutcome::RedirectLoop { chain: vec!["a".into(), "b".into()] },
            FetchOutcome::TooManyRedirects { chain: vec!["a".into()] },
        ];
        for o in all {
            assert_eq!(outcome_from_columns(o.kind(), detail(&o)).unwrap(), o);
        }
        assert!(outcome_from_columns("no_such", None).is_err());
    }
}
