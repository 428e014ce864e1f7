//! `trawl export`: the whole store as jsonl, csv or WARC.

use crate::cli::{ExportArgs, ExportFormat};
use anyhow::Context as _;
use std::io::Write;
use std::process::ExitCode;
use trawl_coordinator::export;
use trawl_coordinator::query::{self, Format, QueryOptions};
use trawl_coordinator::store::Store;

pub(crate) fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open_existing(&args.store)?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let format = match args.format {
        ExportFormat::Jsonl => Some(Format::Jsonl),
        ExportFormat::Csv => Some(Format::Csv),
        ExportFormat::Warc => None,
    };
    match format {
        Some(format) => {
            let n = query::run(&store, &QueryOptions { format, ..Default::default() }, &mut out)?;
            eprintln!("exported {n} pages");
        }
        None => {
            let stats = export::warc(&store, &mut out)?;
            eprintln!("exported {} response records", stats.responses);
            if stats.without_body > 0 {
                eprintln!(
                    "{} pages had no kept body (crawl with --keep-bodies to archive them)",
                    stats.without_body
                );
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
