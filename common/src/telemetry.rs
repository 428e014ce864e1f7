//! Tracing set-up. Libraries only emit events; the binary calls [`init`]
//! once. Logs go to stderr so stdout stays clean for query output.

use tracing_subscriber::EnvFilter;

/// Which process is logging, shown in every line.
#[derive(Clone, Copy, Debug)]
pub enum ProcessRole {
    /// The CLI / coordinator process.
    Coordinator,
    /// A worker process.
    Worker,
}

/// Installs a stderr subscriber filtered by `RUST_LOG` (default: `warn`).
/// Safe to call once per process; a second call is ignored.
pub fn init(role: ProcessRole) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(matches!(role, ProcessRole::Coordinator));
    let _ = builder.try_init();
}
