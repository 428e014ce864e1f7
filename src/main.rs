//! The `trawl` binary: parse the command line, set up tracing, dispatch to
//! a subcommand, map the result to an exit code. Everything else lives in
//! the library crates.

mod cli;
mod cmd;

use clap::Parser;
use std::process::ExitCode;

/// One allocator for the coordinator, workers and site alike (they are
/// this binary). See the Cargo.toml note for why not the system one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let role = match cli.command {
        cli::Command::Worker => trawl_common::telemetry::ProcessRole::Worker,
        _ => trawl_common::telemetry::ProcessRole::Coordinator,
    };
    trawl_common::telemetry::init(role);
    match cmd::dispatch(cli.command) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`trawl query | head`) is not a failure.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("trawl: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
