//! The `trawl` command runner: a builder around the real binary, runs with
//! a deadline that kill the process and its children on expiry, and the
//! captured output of a finished run. Also a bounded runner for other
//! programs (Chromium, Python readers) that kills their whole process group.

use super::procfs::{children_of, kill9};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Default deadline for one `trawl` invocation.
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Path of the binary under test.
pub(crate) fn trawl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_trawl")
}

/// A `trawl` command line.
pub(crate) struct Trawl {
    cmd: Command,
    line: String,
}

impl Trawl {
    /// `trawl SUBCOMMAND`, with logging quiet and no proxy settings.
    pub(crate) fn new(subcommand: &str) -> Self {
        Self::run_by(Command::new(trawl_bin()), subcommand)
    }

    /// `trawl SUBCOMMAND` run by `cmd`, a command whose last argument is
    /// [`trawl_bin`] and which execs it (`ip netns exec NS trawl`), with
    /// the same environment as [`Trawl::new`].
    pub(crate) fn run_by(mut cmd: Command, subcommand: &str) -> Self {
        cmd.arg(subcommand)
            .env("RUST_LOG", "warn")
            .env_remove("TRAWL_IPC_CONNECT")
            .env_remove("TRAWL_WORKER_ID")
            .env_remove("TRAWL_API_TOKEN")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdin(Stdio::null());
        Trawl { cmd, line: format!("trawl {subcommand}") }
    }

    /// `trawl crawl SEED --store STORE`.
    pub(crate) fn crawl(seed: &str, store: &Path) -> Self {
        Self::new("crawl").arg(seed).arg("--store").arg(store)
    }

    /// Appends one argument.
    pub(crate) fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.line.push(' ');
        self.line.push_str(&a.as_ref().to_string_lossy());
        self.cmd.arg(a);
        self
    }

    /// Appends several arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Sets an environment variable.
    pub(crate) fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Runs to completion within [`RUN_TIMEOUT`].
    pub(crate) fn run(self) -> Output {
        self.run_within(RUN_TIMEOUT)
    }

    /// Runs to completion; kills it (and its children) and fails the test
    /// if it takes longer than `limit`.
    pub(crate) fn run_within(self, limit: Duration) -> Output {
        let line = self.line.clone();
        let mut running = self.spawn();
        let start = Instant::now();
        loop {
            if let Some(status) = running.child.try_wait().expect("try_wait") {
                let (stdout, stderr) = running.collect();
                return Output { line, status, stdout, stderr, elapsed: start.elapsed() };
            }
            if start.elapsed() > limit {
                let pid = running.pid();
                let kids = children_of(pid);
                let _ = running.child.kill();
                for k in kids {
                    kill9(k);
                }
                let _ = running.child.wait();
                let (stdout, stderr) = running.collect();
                panic!(
                    "`{line}` did not finish within {limit:?}; killed it\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
                    tail(&stdout, 2000),
                    tail(&stderr, 4000)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it with stdout and stderr captured in the background.
    pub(crate) fn spawn(mut self) -> Running {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            self.cmd.spawn().unwrap_or_else(|e| panic!("spawning `{}`: {e}", self.line));
        let out = child.stdout.take().map(drain);
        let err = child.stderr.take().map(drain);
        Running { child, line: self.line, out, err }
    }
}

fn drain(mut r: impl std::io::Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// The last `max` bytes of `s` (on a char boundary).
pub(crate) fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut at = s.len() - max;
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// A started `trawl` process. Dropping it kills the process (and the
/// children it still has) so a failing test leaks nothing.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) line: String,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
}

impl Running {
    /// Its pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for its exit within `limit`, or kills it and fails.
    pub(crate) fn wait_within(mut self, limit: Duration) -> Output {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let (stdout, stderr) = self.collect();
                let line = self.line.clone();
                return Output { line, status, stdout, stderr, elapsed: start.elapsed() };
            }
            if start.elapsed() >= limit {
                let kids = children_of(self.pid());
                let _ = self.child.kill();
                for k in kids {
                    kill9(k);
                }
                let _ = self.child.wait();
                let (_, stderr) = self.collect();
                panic!(
                    "`{}` did not finish within {limit:?}; killed it\n--- stderr (tail)\n{}",
                    self.line,
                    tail(&stderr, 4000)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stdout and stderr, once the process has exited.
    fn collect(&mut self) -> (String, String) {
        let out = self.out.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let err = self.err.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        (out, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let kids = children_of(self.pid());
            let _ = self.child.kill();
            for k in kids {
                kill9(k);
            }
            let _ = self.child.wait();
        }
    }
}

/// A finished `trawl` run.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) line: String,
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

impl Output {
    /// Fails with both streams unless the exit code was 0.
    #[track_caller]
    pub(crate) fn success(self) -> Self {
        assert!(
            self.status.success(),
            "`{}` failed ({}) after {:?}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
            self.line,
            self.status,
            self.elapsed,
            tail(&self.stdout, 2000),
            tail(&self.stderr, 4000)
        );
        self
    }

    /// The exit code (`None` if killed by a signal).
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// `trawl query --store STORE ARGS...`, whatever its exit status.
pub(crate) fn query_out(store: &Path, args: &[String]) -> Output {
    Trawl::new("query").arg("--store").arg(store).args(args).run_within(Duration::from_secs(60))
}

/// Same, with `&str` arguments.
pub(crate) fn query_args(store: &Path, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    query_out(store, &args)
}

/// Runs `cmd` with a deadline, killing its whole process group on expiry.
/// Returns `(exit success, stdout, stderr)`.
pub(crate) fn run_bounded(
    mut cmd: std::process::Command,
    limit: Duration,
) -> Result<(bool, Vec<u8>, String), String> {
    use std::io::Read as _;
    use std::os::unix::process::CommandExt as _;
    use std::process::Stdio;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("spawning {cmd:?}: {e}"))?;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    });
    let start = Instant::now();
    let pgid = child.id();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            // Leftover helpers of the group (renderers) go too.
            kill_group(pgid);
            let out = out_t.join().unwrap_or_default();
            let err = err_t.join().unwrap_or_default();
            return Ok((status.success(), out, err));
        }
        if start.elapsed() > limit {
            kill_group(pgid);
            let _ = child.wait();
            let err = err_t.join().unwrap_or_default();
            return Err(format!(
                "{cmd:?} did not finish within {limit:?}; killed its process group\n{}",
                tail(&err, 3000)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILL to the process group `pgid` (one this test created).
fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}
