//! `trawl export`: the whole store as jsonl, csv or WARC.

use crate::cli::{ExportArgs, ExportFormat};
use anyhow::Context as _;
use std::io::Write;
use std::process::ExitCode;
use trawl_coordinator::export::{self, WarcStats};
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
            eprintln!("exported {}", plural(n as u64, "page", "pages"));
        }
        None => {
            let stats = export::warc(&store, &mut out)?;
            eprintln!("{}", warc_summary(stats));
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `1 page`, `2 pages`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a WARC export wrote, with a warning that says how to get the
/// bodies it had to leave out.
fn warc_summary(s: WarcStats) -> String {
    let mut text =
        format!("exported {}", plural(s.responses, "response record", "response records"));
    if s.without_body > 0 {
        let (pages, verb) = if s.without_body == 1 { ("page", "has") } else { ("pages", "have") };
        text.push_str(&format!(
            "\nwarning: {} {pages} {verb} no kept body and {} left out of the WARC{}; \
             bodies are kept only by a crawl run with --keep-bodies (recrawl into a new \
             store with it to archive them)",
            s.without_body,
            if s.without_body == 1 { "is" } else { "are" },
            if s.responses == 0 { ", which holds only its warcinfo record" } else { "" },
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warc_summary_warns_and_says_how_to_get_bodies() {
        let s = warc_summary(WarcStats { responses: 0, without_body: 10 });
        assert!(s.contains("exported 0 response records"), "{s}");
        assert!(s.contains("warning: 10 pages have no kept body"), "{s}");
        assert!(s.contains("only its warcinfo") && s.contains("--keep-bodies"), "{s}");
        let s = warc_summary(WarcStats { responses: 1, without_body: 1 });
        assert!(s.starts_with("exported 1 response record\n"), "{s}");
        assert!(s.contains("1 page has no kept body and is left out"), "{s}");
        assert_eq!(
            warc_summary(WarcStats { responses: 3, without_body: 0 }),
            "exported 3 response records"
        );
    }
}
