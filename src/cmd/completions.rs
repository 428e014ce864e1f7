//! `trawl completions SHELL` and `trawl man`: shell completion scripts and
//! the roff man page, both generated from the clap definition so they can
//! never disagree with `--help`.

use crate::cli::{Cli, CompletionsArgs};
use clap::CommandFactory as _;
use std::process::ExitCode;

pub(crate) fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "trawl", &mut std::io::stdout().lock());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn man() -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
