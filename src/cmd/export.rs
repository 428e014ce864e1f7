//! `trawl export`: the whole store as jsonl, csv or WARC; from the store,
//! or, while a crawl holds it, streamed through the crawl's API
//! (`/api/export`), in the same bytes; with `--cluster URL`, the whole
//! cluster's crawl from PostgreSQL.

use super::remote::{ApiRefused, Remote};
use crate::cli::{ExportArgs, ExportFormat};
use anyhow::Context as _;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use trawl_coordinator::control::StatusReport;
use trawl_coordinator::export::{self, ExportCounter, ExportStats, Format, WarcStats};
use trawl_coordinator::store::{Store, StoreError};

/// How long an export waits for a store another process holds without
/// advertising an API (a crawl starting or finishing, or a query).
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub(crate) fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Warc => Format::Warc,
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    if let Some(url) = &args.cluster {
        return cluster(url, format, &mut out);
    }
    let Some(store_dir) = &args.store else {
        eprintln!("trawl: error: --store DIR or --cluster URL");
        return Ok(ExitCode::from(2));
    };
    let deadline = Instant::now() + LOCK_WAIT;
    let stats = loop {
        match Store::open_existing(store_dir) {
            Ok(store) => break export::run(&store, format, now_ms(), &mut out)?,
            // A running crawl holds the store: it exports for us.
            Err(StoreError::Locked { path }) => {
                if let Some(remote) = Remote::find(store_dir, args.api_token.clone())? {
                    let mut tee = Tee { out: &mut out, counter: ExportCounter::new(format), n: 0 };
                    match live(&remote, format, &mut tee) {
                        Ok(pages_before) => {
                            let stats = with_pages_before(tee.counter.stats()?, pages_before);
                            out.flush()?;
                            eprintln!("{} (through the running crawl)", summary(stats));
                            return Ok(ExitCode::SUCCESS);
                        }
                        Err(e) => match e.downcast::<ApiRefused>() {
                            Ok(refused) => return Err(refused.into()),
                            // The crawl may have finished between the
                            // lookup and the request: read the store, as
                            // long as nothing was written yet.
                            Err(e) if tee.n == 0 && Instant::now() < deadline => {
                                tracing::debug!(error = %e, "live export failed; retrying");
                            }
                            Err(e) => return Err(e),
                        },
                    }
                } else if Instant::now() >= deadline {
                    return Err(StoreError::Locked { path }.into());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    };
    out.flush()?;
    eprintln!("{}", summary(stats));
    Ok(ExitCode::SUCCESS)
}

/// `trawl export --cluster URL`: the cluster's pages, streamed from the
/// database.
fn cluster(url: &str, format: Format, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if let Err(e) = trawl_common::config::sections::check_url(url) {
        eprintln!("trawl: error: --cluster: {e}");
        return Ok(ExitCode::from(2));
    }
    let stats = trawl_coordinator::cluster_mode::export(url, format, now_ms(), out)
        .context("cluster database")??;
    out.flush()?;
    eprintln!("{}", cluster_summary(stats));
    Ok(ExitCode::SUCCESS)
}

/// What an export from the cluster wrote: its WARC holds `resource`
/// records (the database keeps bodies without response heads).
fn cluster_summary(stats: ExportStats) -> String {
    let ExportStats::Warc(w) = stats else { return summary(stats) };
    let mut text = format!(
        "exported {} (bodies with their content type: the cluster keeps no response heads)",
        plural(w.resources + w.responses, "resource record", "resource records")
    );
    if w.without_body > 0 {
        text.push_str(&format!(
            "\nwarning: {} without a kept body left out of the WARC; bodies are kept only by a \
             crawl run with --keep-bodies",
            plural(w.without_body, "page", "pages")
        ));
    }
    text
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Streams the export from the crawl's API into `out`; returns how many
/// pages the crawl had stored when it began.
fn live(remote: &Remote, format: Format, out: &mut Tee<'_>) -> anyhow::Result<u64> {
    let status: StatusReport =
        serde_json::from_str(&remote.get("/api/status")?).context("parsing the crawl's status")?;
    let name = Format::NAMES
        .iter()
        .copied()
        .find(|n| Format::from_name(n) == Some(format))
        .unwrap_or("jsonl");
    remote.get_into(&format!("/api/export?format={name}"), out)?;
    Ok(status.pages)
}

/// A WARC streamed by the crawl does not say which pages it left out:
/// those stored when the export began, less the records it holds, were
/// without a body (pages stored later may be missing from both counts).
fn with_pages_before(stats: ExportStats, pages_before: u64) -> ExportStats {
    match stats {
        ExportStats::Warc(mut w) => {
            w.without_body = pages_before.saturating_sub(w.responses + w.resources);
            ExportStats::Warc(w)
        }
        pages => pages,
    }
}

/// Writes to the output and counts what passes.
struct Tee<'a> {
    out: &'a mut dyn Write,
    counter: ExportCounter,
    /// Bytes written.
    n: u64,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write_all(buf)?;
        self.counter.write_all(buf)?;
        self.n += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn summary(stats: ExportStats) -> String {
    match stats {
        ExportStats::Pages(n) => format!("exported {}", plural(n, "page", "pages")),
        ExportStats::Warc(w) => warc_summary(w),
    }
}

/// `1 page`, `2 pages`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a WARC export wrote, with a warning that says how to get the
/// bodies it had to leave out.
fn warc_summary(s: WarcStats) -> String {
    let mut text = format!(
        "exported {} (each with its request record)",
        plural(s.responses, "response record", "response records")
    );
    if s.resources > 0 {
        text.push_str(&format!(
            " and {} (bodies kept by an older trawl without their response headers)",
            plural(s.resources, "resource record", "resource records")
        ));
    }
    if s.without_body > 0 {
        let (pages, verb) = if s.without_body == 1 { ("page", "has") } else { ("pages", "have") };
        text.push_str(&format!(
            "\nwarning: {} {pages} {verb} no kept body and {} left out of the WARC{}; \
             bodies are kept only by a crawl run with --keep-bodies (recrawl into a new \
             store with it to archive them)",
            s.without_body,
            if s.without_body == 1 { "is" } else { "are" },
            if s.responses + s.resources == 0 {
                ", which holds only its warcinfo record"
            } else {
                ""
            },
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warc_summary_warns_and_says_how_to_get_bodies() {
        let w =
            |responses, resources, without_body| WarcStats { responses, resources, without_body };
        let s = warc_summary(w(0, 0, 10));
        assert!(s.contains("exported 0 response records"), "{s}");
        assert!(s.contains("warning: 10 pages have no kept body"), "{s}");
        assert!(s.contains("only its warcinfo") && s.contains("--keep-bodies"), "{s}");
        let s = warc_summary(w(1, 0, 1));
        assert!(
            s.starts_with("exported 1 response record (each with its request record)\n"),
            "{s}"
        );
        assert!(s.contains("1 page has no kept body and is left out"), "{s}");
        assert_eq!(
            warc_summary(w(3, 0, 0)),
            "exported 3 response records (each with its request record)"
        );
        let s = warc_summary(w(0, 2, 0));
        assert!(s.contains("and 2 resource records (bodies kept by an older trawl"), "{s}");
        assert!(!s.contains("warning"), "{s}");
    }

    #[test]
    fn a_streamed_warc_counts_stored_pages_without_records_as_without_body() {
        let w = WarcStats { responses: 3, resources: 1, without_body: 0 };
        assert_eq!(
            with_pages_before(ExportStats::Warc(w), 10),
            ExportStats::Warc(WarcStats { without_body: 6, ..w })
        );
        assert_eq!(with_pages_before(ExportStats::Pages(4), 10), ExportStats::Pages(4));
    }
}
