//! One file per subcommand; each turns its arguments into library calls.

mod bench;
mod bench_site;
mod crawl;
mod demo;
mod export;
mod query;
mod remote;
mod report;

use crate::cli::Command;
use std::process::ExitCode;

pub(crate) fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Crawl(args) => crawl::run(args),
        Command::Query(args) => query::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Status(args) => remote::status(&args),
        Command::Scale(args) => remote::scale(&args),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(&args),
        Command::BenchSite(args) => bench_site::run(&args),
        Command::Worker => {
            trawl_worker::run()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
