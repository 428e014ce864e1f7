//! The `trawl` binary: parse the command line, set up tracing, dispatch to
//! a subcommand, map the result to an exit code (see [`cmd::exit`]).
//! Everything else lives in the library crates.

mod cli;
mod cmd;

use clap::Parser;
use std::process::ExitCode;
use trawl_common::telemetry::{self, LogFormat, LogOptions, ProcessRole};

/// One allocator for the coordinator, workers and site alike (they are
/// this binary). See the Cargo.toml note for why not the system one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let role = match cli.command {
        cli::Command::Worker => ProcessRole::Worker,
        _ => ProcessRole::Coordinator,
    };
    telemetry::init(role, log_options(&cli.log));
    match cmd::dispatch(cli.command, &cli.log) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`trawl query | head`) is not a failure.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            cmd::out::error(&format!("{err:#}"));
            ExitCode::from(cmd::exit::FAILED)
        }
    }
}

/// The logging flags as the telemetry module takes them.
pub(crate) fn log_options(log: &cli::LogArgs) -> LogOptions {
    LogOptions {
        verbosity: if log.quiet { -1 } else { i8::try_from(log.verbose).unwrap_or(i8::MAX) },
        format: match log.log_format {
            cli::LogFormatArg::Text => LogFormat::Text,
            cli::LogFormatArg::Json => LogFormat::Json,
        },
    }
}
