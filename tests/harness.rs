//! Shared helpers: a builder around the real `trawl` binary, temporary
//! stores, run-to-completion with a deadline, `trawl query` as JSON, the
//! process table read from `/proc`, and set assertions with short diffs.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Default deadline for one `trawl` invocation.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Path of the binary under test.
pub fn trawl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_trawl")
}

/// A `trawl` command line.
pub struct Trawl {
    cmd: Command,
    line: String,
}

impl Trawl {
    /// `trawl SUBCOMMAND`, with logging quiet and no proxy settings.
    pub fn new(subcommand: &str) -> Self {
        let mut cmd = Command::new(trawl_bin());
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
    pub fn crawl(seed: &str, store: &Path) -> Self {
        Self::new("crawl").arg(seed).arg("--store").arg(store)
    }

    /// Appends one argument.
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.line.push(' ');
        self.line.push_str(&a.as_ref().to_string_lossy());
        self.cmd.arg(a);
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
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
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Runs to completion within [`RUN_TIMEOUT`].
    pub fn run(self) -> Output {
        self.run_within(RUN_TIMEOUT)
    }

    /// Runs to completion; kills it (and its children) and fails the test
    /// if it takes longer than `limit`.
    pub fn run_within(self, limit: Duration) -> Output {
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
    pub fn spawn(mut self) -> Running {
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
pub fn tail(s: &str, max: usize) -> &str {
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
pub struct Running {
    pub child: Child,
    pub line: String,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
}

impl Running {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for its exit within `limit`, or kills it and fails.
    pub fn wait_within(mut self, limit: Duration) -> Output {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let (stdout, stderr) = self.collect();
                let line = self.line.clone();
                return Output { line, status, stdout, stderr, elapsed: start.elapsed() };
            }
            assert!(
                start.elapsed() < limit,
                "`{}` did not finish within {limit:?} (it will be killed)",
                self.line
            );
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
pub struct Output {
    pub line: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// Fails with both streams unless the exit code was 0.
    #[track_caller]
    pub fn success(self) -> Self {
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
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// A temporary directory for one test; the store itself is a not yet
/// existing subdirectory, so tests can check whether it was created.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("trawl-e2e-").tempdir().expect("tempdir");
        TestDir { dir }
    }

    /// `<tmp>/store` (not created).
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// `<tmp>/name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `trawl query --store STORE --format jsonl EXTRA...`, parsed.
pub fn query_jsonl_with(store: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Trawl::new("query")
        .arg("--store")
        .arg(store)
        .args(["--format", "jsonl"])
        .args(extra)
        .run_within(Duration::from_secs(60))
        .success();
    parse_jsonl(&out.stdout)
}

/// Parses JSON lines, failing on a bad line with its number.
pub fn parse_jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("query line {} is not JSON ({e}): {l}", n + 1))
        })
        .collect()
}

/// Every stored page as JSON.
pub fn query_jsonl(store: &Path) -> Vec<serde_json::Value> {
    query_jsonl_with(store, &[])
}

/// A string field of a page record ("" if missing or null).
pub fn s<'a>(page: &'a serde_json::Value, key: &str) -> &'a str {
    page.get(key).and_then(serde_json::Value::as_str).unwrap_or("")
}

/// A number field of a page record.
pub fn n(page: &serde_json::Value, key: &str) -> Option<u64> {
    page.get(key).and_then(serde_json::Value::as_u64)
}

/// Joins a base URL ending in '/' and an absolute path ("/" -> the base).
pub fn join_url(base: &str, path: &str) -> String {
    assert!(base.ends_with('/'), "base {base:?} must end with '/'");
    assert!(path.starts_with('/'), "path {path:?} must start with '/'");
    format!("{}{}", base, &path[1..])
}

/// Fails listing the first few missing and unexpected entries.
#[track_caller]
pub fn assert_sets_eq<T: Ord + Display>(what: &str, expected: &BTreeSet<T>, actual: &BTreeSet<T>) {
    let missing: Vec<&T> = expected.difference(actual).collect();
    let extra: Vec<&T> = actual.difference(expected).collect();
    if missing.is_empty() && extra.is_empty() {
        return;
    }
    panic!(
        "{what}: expected {} entries, got {}\n{}\n{}",
        expected.len(),
        actual.len(),
        sample("missing", &missing),
        sample("unexpected", &extra)
    );
}

/// "LABEL (N): a, b, c, ... and K more".
pub fn sample<T: Display>(label: &str, items: &[T]) -> String {
    const SHOW: usize = 12;
    let mut s = format!("{label} ({}):", items.len());
    for it in items.iter().take(SHOW) {
        s.push_str("\n  ");
        s.push_str(&it.to_string());
    }
    if items.len() > SHOW {
        s.push_str(&format!("\n  ... and {} more", items.len() - SHOW));
    }
    s
}

// ---------------------------------------------------------------- /proc

/// One process as seen in `/proc/PID/stat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub state: char,
    pub ppid: u32,
    /// Start time in clock ticks since boot (tells a reused pid apart).
    pub start: u64,
}

/// Reads `/proc/PID/stat`; `None` if the process does not exist.
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ..."; comm may contain spaces and parens.
    let close = text.rfind(')')?;
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] = state (field 3), fields[1] = ppid (4), fields[19] = starttime (22)
    Some(ProcStat {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// The command line of a process (empty if gone).
pub fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Pids whose parent is `ppid`.
pub fn children_of(ppid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut kids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|s| s.ppid == ppid))
        .collect();
    kids.sort_unstable();
    kids
}

/// Children of `ppid` that are `trawl worker` processes.
pub fn worker_children(ppid: u32) -> Vec<ProcStat> {
    children_of(ppid)
        .into_iter()
        .filter(|&pid| cmdline(pid).iter().any(|a| a == "worker"))
        .filter_map(proc_stat)
        .filter(|s| s.state != 'Z' && s.state != 'X')
        .collect()
}

/// Is this exact process (same pid and start time) still running? A
/// zombie counts as gone.
pub fn is_alive(p: &ProcStat) -> bool {
    proc_stat(p.pid).is_some_and(|now| now.start == p.start && now.state != 'Z' && now.state != 'X')
}

/// SIGKILL, ignoring errors.
pub fn kill9(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a valid signal number has no memory effects.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

// ---------------------------------------------------------- raw HTTP server

/// What a [`RawServer`] handler answers: a full raw HTTP response, or
/// nothing (the connection is held open without an answer).
pub type Handler = dyn Fn(u16, &str) -> Option<String> + Send + Sync;

/// A tiny HTTP/1.0-style server on 127.0.0.1 for hand-made answers:
/// hanging responses, redirects. Records every request head.
pub struct RawServer {
    pub port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    /// Serves `handler(port, path)` for every request.
    pub fn start(handler: impl Fn(u16, &str) -> Option<String> + Send + Sync + 'static) -> Self {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handler: std::sync::Arc<Handler> = std::sync::Arc::new(handler);
        let (reqs, stopping) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (reqs, stopping, handler) = (reqs.clone(), stopping.clone(), handler.clone());
                std::thread::spawn(move || {
                    use std::io::{Read as _, Write as _};
                    let _ = conn.set_nonblocking(false);
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(k) => head.extend_from_slice(&buf[..k]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    reqs.lock().expect("lock").push(head);
                    match handler(port, &path) {
                        Some(resp) => {
                            let _ = conn.write_all(resp.as_bytes());
                        }
                        None => {
                            let start = Instant::now();
                            while !stopping.load(Ordering::Relaxed)
                                && start.elapsed() < Duration::from_secs(30)
                            {
                                std::thread::sleep(Duration::from_millis(20));
                            }
                        }
                    }
                });
            }
        });
        RawServer { port, requests, stop, thread: Some(thread) }
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The request heads received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A complete HTTP response with a body.
pub fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut r =
        format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}
