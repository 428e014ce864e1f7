//! Tracing set-up. Libraries only emit events; the binary calls [`init`]
//! once. Logs go to stderr so stdout stays clean for query output.
//!
//! Two rules keep logging from ever hurting a crawl:
//! - **A closed stderr is ignored.** `trawl crawl ... 2>&1 | head` closes
//!   the pipe early. tracing-subscriber's default reports a failed write
//!   with `eprintln!`, which *panics* on a closed stderr; inside one of
//!   sled's I/O threads that panic was caught by sled's pool and left a
//!   log buffer never written, so the store's final flush waited forever
//!   (issue 14, bug 1). [`QuietStderr`] swallows write errors and internal
//!   error reporting is off.
//! - **Dependencies stay quiet unless asked.** `RUST_LOG=debug` or `-vv`
//!   raise trawl's own crates; sled, hyper, reqwest and friends stay at
//!   `warn` unless the filter names them (`RUST_LOG=debug,sled=debug`).

use std::io::Write;
use tracing_subscriber::EnvFilter;

/// Which process is logging, shown in every line.
#[derive(Clone, Copy, Debug)]
pub enum ProcessRole {
    /// The CLI / coordinator process.
    Coordinator,
    /// A worker process.
    Worker,
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// What the command line asked of logging.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOptions {
    /// `-q` is -1 (errors only), nothing is 0 (warnings), `-v` is 1
    /// (crawl events), `-vv` 2 (debug), `-vvv` 3 (trace). `RUST_LOG`, when
    /// set, wins over it.
    pub verbosity: i8,
    /// Line format.
    pub format: LogFormat,
}

/// Crates whose debug output is about their internals, not the crawl.
const NOISY: &[&str] = &[
    "sled",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
    "tower",
    "axum",
    "mio",
    "html5ever",
    "selectors",
    "ipc_channel",
];

/// The filter directives for `opts` and an optional `RUST_LOG` value.
pub fn filter_directives(opts: LogOptions, rust_log: Option<&str>) -> String {
    let base = match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(env) => env.to_owned(),
        None => match opts.verbosity {
            i8::MIN..=-1 => "error",
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
        .to_owned(),
    };
    let mut out = base.clone();
    for krate in NOISY {
        if !base.contains(krate) {
            out.push_str(&format!(",{krate}=warn"));
        }
    }
    out
}

/// stderr whose write errors (a closed pipe) are dropped, never reported.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuietStderr;

impl Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Installs a stderr subscriber filtered by `RUST_LOG` or `opts`.
/// Safe to call once per process; a second call is ignored.
pub fn init(role: ProcessRole, opts: LogOptions) {
    let env = std::env::var("RUST_LOG").ok();
    let filter = EnvFilter::try_new(filter_directives(opts, env.as_deref()))
        .unwrap_or_else(|_| EnvFilter::new(filter_directives(opts, None)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| QuietStderr)
        .log_internal_errors(false)
        .with_target(matches!(role, ProcessRole::Coordinator));
    let _ = match opts.format {
        LogFormat::Text => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init()
        }
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_levels_and_dependencies_stay_quiet() {
        let v = |n| filter_directives(LogOptions { verbosity: n, ..Default::default() }, None);
        assert!(v(-1).starts_with("error,"));
        assert!(v(0).starts_with("warn,"));
        assert!(v(1).starts_with("info,"));
        assert!(v(2).starts_with("debug,"));
        assert!(v(2).contains(",sled=warn"));
        assert!(v(2).contains(",hyper=warn"));
    }

    #[test]
    fn rust_log_wins_and_can_ask_for_a_dependency() {
        let opts = LogOptions { verbosity: -1, ..Default::default() };
        let f = filter_directives(opts, Some("debug"));
        assert!(f.starts_with("debug,"), "{f}");
        assert!(f.contains("sled=warn"), "{f}");
        let f = filter_directives(opts, Some("debug,sled=trace"));
        assert!(!f.contains("sled=warn"), "{f}");
        assert!(EnvFilter::try_new(f).is_ok());
    }

    #[test]
    fn quiet_stderr_never_fails() {
        let mut w = QuietStderr;
        assert_eq!(w.write(b"").unwrap(), 0);
        assert!(w.flush().is_ok());
    }
}
