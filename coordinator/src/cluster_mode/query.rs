//! `trawl query --cluster`, `trawl export --cluster` and
//! `trawl status --cluster`: the query pipeline (`crate::query`) and the
//! export writers over the page rows in PostgreSQL instead of a store, so
//! every option works the same.
//!
//! Rows stream: each URL prefix is read in chunks by keyset pagination
//! over the primary key (`url > last ORDER BY url LIMIT n`, one index
//! range scan per chunk, in the byte order a store's export has), so a
//! reader holds one chunk however large the crawl. A crawl still writing
//! meanwhile may add pages behind the cursor: an export is not a snapshot
//! (stop the crawl, or let it finish, for one).

use super::rows;
use crate::export::warc::{self, Kept};
use crate::export::{ExportError, ExportStats, Format};
use crate::query::{self, QueryError, QueryOptions, run_over};
use crate::store::{PageRecord, StoreError};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use trawl_cluster::{Cluster, ClusterError, ClusterStatus, MachineId, PARTITIONS, PageRow};

/// Records per chunk without bodies.
const CHUNK: usize = 1_000;
/// Records per chunk with bodies (a WARC export): ~44 KB each.
const BODY_CHUNK: usize = 64;

/// A reader on the cluster's database, for a command that runs once.
struct Reader {
    rt: tokio::runtime::Runtime,
    cluster: Cluster,
}

impl Reader {
    /// Connects as `name` and checks the database answers (so a bad URL
    /// fails before anything is printed).
    fn open(url: &str, name: &str) -> Result<Self, ClusterError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClusterError::Config(format!("runtime: {e}")))?;
        let reader =
            MachineId::new(name).ok_or_else(|| ClusterError::Config("reader name".to_owned()))?;
        let cluster = Cluster::connect(url, reader)?;
        rt.block_on(cluster.page_count())?;
        Ok(Self { rt, cluster })
    }

    /// The rows whose URL starts with `prefix`, in URL order; a database
    /// error ends them and is left in `failed`.
    fn pages<'a>(
        &'a self,
        prefix: &str,
        bodies: bool,
        failed: &'a RefCell<Option<ClusterError>>,
    ) -> Pages<'a> {
        Pages {
            reader: self,
            prefix: prefix.to_owned(),
            after: None,
            chunk: VecDeque::new(),
            limit: if bodies { BODY_CHUNK } else { CHUNK },
            bodies,
            done: false,
            failed,
        }
    }
}

/// Page rows of one prefix, a chunk at a time.
struct Pages<'a> {
    reader: &'a Reader,
    prefix: String,
    /// The last URL read: the next chunk starts after it.
    after: Option<String>,
    chunk: VecDeque<PageRow>,
    limit: usize,
    bodies: bool,
    done: bool,
    failed: &'a RefCell<Option<ClusterError>>,
}

impl Iterator for Pages<'_> {
    type Item = PageRow;

    fn next(&mut self) -> Option<PageRow> {
        if self.chunk.is_empty() && !self.done {
            let read = self.reader.cluster.page_chunk(
                &self.prefix,
                self.after.as_deref(),
                self.limit,
                self.bodies,
            );
            match self.reader.rt.block_on(read) {
                Ok(rows) => {
                    self.done = rows.len() < self.limit;
                    self.after = rows.last().map(|r| r.url.clone()).or(self.after.take());
                    self.chunk = rows.into();
                }
                Err(e) => {
                    *self.failed.borrow_mut() = Some(e);
                    self.done = true;
                }
            }
        }
        self.chunk.pop_front()
    }
}

/// The query pipeline's source: the records of a prefix, streamed.
fn records<'a>(
    reader: &'a Reader,
    failed: &'a RefCell<Option<ClusterError>>,
) -> impl Fn(&str) -> Box<dyn Iterator<Item = Result<PageRecord, StoreError>> + 'a> + 'a {
    move |prefix| Box::new(reader.pages(prefix, false, failed).map(|r| Ok(rows::record(r))))
}

/// Prints what `opts` selects from the cluster's pages at `url` to `out`.
/// The outer error is the database's, the inner one the query's.
pub fn query(
    url: &str,
    opts: &QueryOptions,
    out: &mut dyn Write,
) -> Result<Result<usize, QueryError>, ClusterError> {
    let reader = Reader::open(url, "trawl-query")?;
    let failed = RefCell::new(None);
    let result = run_over(&records(&reader, &failed), opts, out);
    match failed.into_inner() {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

/// `trawl export --cluster`: the whole crawl in `format`, the same bytes a
/// store holding the same records exports (WARC: a `resource` record per
/// kept body, since the database keeps bodies without response heads).
/// The outer error is the database's.
pub fn export(
    url: &str,
    format: Format,
    now_ms: u64,
    out: &mut dyn Write,
) -> Result<Result<ExportStats, ExportError>, ClusterError> {
    let reader = Reader::open(url, "trawl-export")?;
    let failed = RefCell::new(None);
    let result = match format {
        Format::Jsonl | Format::Csv => {
            let format =
                if format == Format::Csv { query::Format::Csv } else { query::Format::Jsonl };
            let opts = QueryOptions { format, ..Default::default() };
            run_over(&records(&reader, &failed), &opts, out)
                .map(|n| ExportStats::Pages(n as u64))
                .map_err(ExportError::from)
                .and_then(|s| out.flush().map(|()| s).map_err(ExportError::from))
        }
        Format::Warc => {
            let pages = reader.pages("", true, &failed).map(|mut r| {
                let body = r.body.take();
                Ok(Kept { record: rows::record(r), body, head: None, history: Vec::new() })
            });
            warc::write_over(pages, now_ms, out).map(ExportStats::Warc)
        }
    };
    match failed.into_inner() {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

/// `trawl status --cluster`: the cluster as its database sees it.
pub fn status(url: &str) -> Result<ClusterStatus, ClusterError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Config(format!("runtime: {e}")))?;
    let reader = MachineId::new("trawl-status")
        .ok_or_else(|| ClusterError::Config("reader name".to_owned()))?;
    let cluster = Cluster::connect(url, reader)?;
    rt.block_on(cluster.status())
}

/// The JSON of a cluster's status: `trawl status --cluster --json` and
/// the API's `/api/cluster` (documented in deploy/cluster.md).
pub fn status_json(s: &ClusterStatus) -> serde_json::Value {
    let machines: Vec<serde_json::Value> = s
        .machines
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id, "address": m.address, "alive": m.alive,
                "partitions": m.partitions, "workers": m.workers,
                "pages_per_sec": m.pages_per_sec, "heartbeat_age_secs": m.heartbeat_age_secs,
                "pages": m.pages,
            })
        })
        .collect();
    let outcomes: serde_json::Map<String, serde_json::Value> =
        s.outcomes.iter().map(|(k, v)| (k.clone(), (*v).into())).collect();
    let progress = s.max_pages.filter(|m| *m > 0).map(|m| (s.pages as f64 / m as f64).min(1.0));
    serde_json::json!({
        "machines": machines,
        "alive": s.alive(),
        "pages": s.pages,
        "pages_per_sec": s.pages_per_sec(),
        "queued": s.queued,
        "urls": s.urls,
        "partitions": PARTITIONS,
        "partitions_held": s.partitions_held,
        "max_pages": s.max_pages,
        "progress": progress,
        "outcomes": outcomes,
    })
}
