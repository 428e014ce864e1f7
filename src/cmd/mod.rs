//! One file per subcommand; each turns its arguments into library calls.
//! [`exit`] holds the exit codes, [`out`] the pipe-safe printing helpers.

mod bench;
mod bench_site;
mod cluster_status;
mod completions;
mod crawl;
mod demo;
pub(crate) mod exit;
mod export;
mod extract;
pub(crate) mod out;
mod query;
mod refresh;
mod remote;
mod report;
pub(crate) mod serve_site;

use crate::cli::{Command, LogArgs};
use std::process::ExitCode;

pub(crate) fn dispatch(command: Command, log: &LogArgs) -> anyhow::Result<ExitCode> {
    let log = crate::log_options(log);
    match command {
        Command::Crawl(args) => crawl::run(args, log),
        Command::Query(args) => query::run(&args),
        Command::Refresh(args) => refresh::run(*args, log),
        Command::Export(args) => export::run(&args),
        Command::Status(args) => cluster_status::status(args),
        Command::Scale(args) => remote::scale(&args),
        Command::Demo(args) => demo::run(args, log),
        Command::Bench(args) => bench::run(&args),
        Command::BenchSite(args) => bench_site::run(&args),
        Command::ServeSite(args) => serve_site::run(&args),
        Command::Extract(args) => extract::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man => completions::man(),
        Command::Worker => {
            trawl_worker::run()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
