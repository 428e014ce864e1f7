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

/// Pids whose parent is `pid`, from `/proc/PID/task/*/children` (much
/// faster than scanning `/proc`, for racing a just-forked child).
pub fn children_fast(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut kids = Vec::new();
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            kids.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
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
                    use std::io::Write as _;
                    let _ = conn.set_nonblocking(false);
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let Some((head, path)) = read_request(&mut conn) else { return };
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

/// Reads a request's head (up to the blank line) from `conn`: the head as
/// text and the request path. `None` if the client went away first.
fn read_request(conn: &mut std::net::TcpStream) -> Option<(String, String)> {
    use std::io::Read as _;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(k) => head.extend_from_slice(&buf[..k]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    Some((head, path))
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

// ------------------------------------------------------ logging HTTP server

/// One request as a [`LogServer`] saw it. Times are offsets from the
/// server's start. `start` is taken when the request head has been read
/// (after the client sent it) and `end` just before the answer is written
/// (before the client can have it), so `[start, end]` lies inside the
/// client's own view of the request: overlaps seen here are real.
#[derive(Clone, Debug)]
pub struct Hit {
    pub port: u16,
    pub path: String,
    pub head: String,
    pub start: Duration,
    pub end: Duration,
}

impl Hit {
    /// A request header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// What a [`LogServer`] answers: status, headers, body, and how long to
/// hold the answer back (so concurrent requests overlap visibly).
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub hold: Duration,
}

impl Reply {
    /// `status` with a plain-text body.
    pub fn text(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
            hold: Duration::ZERO,
        }
    }

    /// 200 with an HTML page titled `title` around `body`.
    pub fn html(title: &str, body: &str) -> Self {
        let page = format!(
            "<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
        );
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: page.into_bytes(),
            hold: Duration::ZERO,
        }
    }

    /// 200 with arbitrary bytes of `content_type`.
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Self {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            hold: Duration::ZERO,
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::text(404, "not found\n")
    }

    /// Adds a header.
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// Holds the answer back for `d`.
    pub fn hold(mut self, d: Duration) -> Self {
        self.hold = d;
        self
    }

    fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            301 => "Moved Permanently",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Whatever",
        };
        let mut r = format!(
            "HTTP/1.1 {} {reason}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.status,
            self.body.len()
        );
        for (k, v) in &self.headers {
            r.push_str(&format!("{k}: {v}\r\n"));
        }
        r.push_str("\r\n");
        let mut bytes = r.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A request handler of a [`LogServer`]: `(port, path) -> Reply`. It runs
/// on the connection's own thread, so it may block (bounded!).
pub type LogHandler = dyn Fn(u16, &str) -> Reply + Send + Sync;

/// An HTTP server on one or more 127.0.0.1 ports (distinct ports are
/// distinct hosts to the crawler) that logs every request with its port,
/// path, head, start and end time. One thread per connection, blocking
/// accept, `Connection: close`.
pub struct LogServer {
    pub ports: Vec<u16>,
    log: std::sync::Arc<std::sync::Mutex<Vec<Hit>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl LogServer {
    /// Listens on `hosts` ephemeral ports and serves `handler` on all.
    pub fn start(
        hosts: usize,
        handler: impl Fn(u16, &str) -> Reply + Send + Sync + 'static,
    ) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let epoch = Instant::now();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<LogHandler> = Arc::new(handler);
        let mut ports = Vec::new();
        let mut threads = Vec::new();
        for _ in 0..hosts {
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
            let port = listener.local_addr().expect("addr").port();
            ports.push(port);
            let (log, stop, handler) = (log.clone(), stop.clone(), handler.clone());
            threads.push(std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(mut conn) = conn else { continue };
                    let (log, handler) = (log.clone(), handler.clone());
                    std::thread::spawn(move || {
                        use std::io::Write as _;
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                        let Some((head, path)) = read_request(&mut conn) else { return };
                        let start = epoch.elapsed();
                        let reply = handler(port, &path);
                        std::thread::sleep(reply.hold);
                        let end = epoch.elapsed();
                        log.lock().expect("lock").push(Hit { port, path, head, start, end });
                        let _ = conn.write_all(&reply.to_bytes());
                        let _ = conn.flush();
                    });
                }
            }));
        }
        LogServer { ports, log, stop, threads }
    }

    /// `http://127.0.0.1:PORT/` of host `k`.
    pub fn base_url(&self, k: usize) -> String {
        format!("http://127.0.0.1:{}/", self.ports[k])
    }

    /// Every request answered so far, in the order the answers started.
    pub fn hits(&self) -> Vec<Hit> {
        self.log.lock().expect("lock").clone()
    }

    /// The requests to one port, by start time.
    pub fn hits_on(&self, port: u16) -> Vec<Hit> {
        let mut v: Vec<Hit> = self.hits().into_iter().filter(|h| h.port == port).collect();
        v.sort_by_key(|h| h.start);
        v
    }

    /// How many requests for `path` (any port).
    pub fn count(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }
}

impl Drop for LogServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for &p in &self.ports {
            // Wake the blocking accept.
            let _ = std::net::TcpStream::connect(("127.0.0.1", p));
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The most requests in progress at once among `hits` (intervals
/// `[start, end]`; one ending exactly when another starts do not overlap).
pub fn max_overlap(hits: &[Hit]) -> usize {
    let mut events: Vec<(Duration, i32)> = Vec::new();
    for h in hits {
        events.push((h.start, 1));
        events.push((h.end, -1));
    }
    // Ends before starts at the same instant.
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as usize
}

/// Gaps between consecutive request starts, with the two paths.
pub fn start_gaps(hits: &[Hit]) -> Vec<(Duration, String, String)> {
    let mut v: Vec<&Hit> = hits.iter().collect();
    v.sort_by_key(|h| h.start);
    v.windows(2).map(|w| (w[1].start - w[0].start, w[0].path.clone(), w[1].path.clone())).collect()
}

/// Request starts in `hits` closer than `delay` (less `jitter`), as
/// messages. A start is measured at the server, so one request that a busy
/// worker started late makes the gap after it look short; such a gap is
/// forgiven when the two gaps around the late start add up to two delays
/// (the request before it and the one after it were spaced correctly), but
/// only for a quarter of the gaps at most: a crawler that sends requests
/// in bursts shows the same signature on every other gap.
pub fn spacing_violations(hits: &[Hit], delay: Duration, jitter: Duration) -> Vec<String> {
    let mut v: Vec<&Hit> = hits.iter().collect();
    v.sort_by_key(|h| h.start);
    let mut hard = Vec::new();
    let mut forgiven = Vec::new();
    for i in 1..v.len() {
        let gap = v[i].start - v[i - 1].start;
        if gap + jitter >= delay {
            continue;
        }
        let what = format!(
            "{} then {} started {:.1} ms apart",
            v[i - 1].path,
            v[i].path,
            gap.as_secs_f64() * 1000.0
        );
        if i >= 2 && v[i].start - v[i - 2].start + jitter >= delay * 2 {
            forgiven.push(what);
        } else {
            hard.push(what);
        }
    }
    if forgiven.len() > (v.len() / 4).max(1) {
        hard.extend(forgiven.into_iter().map(|f| format!("{f} (one of many late starts)")));
    } else if !forgiven.is_empty() {
        eprintln!("forgiven as late starts: {forgiven:?}");
    }
    hard
}

// ------------------------------------------------------------ small tools

/// A splitmix64 generator for randomized tests: seeded from
/// `TRAWL_E2E_SEED` if set, else the clock, and the seed is printed so a
/// failure can be replayed.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(test: &str) -> Self {
        let seed = std::env::var("TRAWL_E2E_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: random seed {seed} (replay with TRAWL_E2E_SEED={seed})");
        TestRng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Sends `sig` to `pid`; true if it was delivered.
pub fn signal(pid: u32, sig: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill(2) with a valid signal number has no memory effects.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, sig) };
    rc == 0
}

/// The gzip encoding of `data` (stored deflate blocks: valid, not small).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut chunks = data.chunks(65_535).peekable();
    if data.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// One HTTP/1.1 request to `addr` (`127.0.0.1:PORT`) over a fresh
/// connection: `(status, body)`.
pub fn http_call(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    assert!(addr.starts_with("127.0.0.1:"), "tests talk to 127.0.0.1 only, not {addr}");
    let mut conn =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    conn.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    conn.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    let _ = conn.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, rest) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked { dechunk(rest) } else { rest.to_owned() };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The API address the crawl on `store` advertises, once it does.
pub fn api_addr(store: &Path) -> Option<String> {
    let text = std::fs::read_to_string(store.join("trawl-api.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("addr")?.as_str().map(str::to_owned)
}

/// Waits (up to 30 s) for the running crawl to advertise its API.
#[track_caller]
pub fn wait_api(store: &Path, running: &Running) -> String {
    let mut addr = None;
    let ok = wait_until(Duration::from_secs(30), || {
        addr = api_addr(store);
        addr.is_some() || !is_running(running.pid())
    });
    addr.filter(|_| ok).unwrap_or_else(|| {
        panic!("`{}` did not advertise its API in {}", running.line, store.display())
    })
}

/// Is the process still running (not exited, not a zombie)?
pub fn is_running(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|s| s.state != 'Z' && s.state != 'X')
}

/// `trawl status --store STORE --json`, parsed; `None` if it failed (the
/// crawl is not up yet, or finished).
pub fn status_json(store: &Path) -> Option<serde_json::Value> {
    let out = Trawl::new("status")
        .arg("--store")
        .arg(store)
        .arg("--json")
        .run_within(Duration::from_secs(30));
    if !out.status.success() {
        return None;
    }
    serde_json::from_str(out.stdout.trim()).ok()
}

/// The `worker restarts: N` of a crawl summary.
pub fn summary_restarts(stdout: &str) -> Option<u64> {
    let at = stdout.find("worker restarts: ")? + "worker restarts: ".len();
    stdout[at..].split_whitespace().next()?.parse().ok()
}

/// One row of the summary's worker table.
#[derive(Debug, Clone)]
pub struct SummaryWorker {
    pub id: String,
    pub pid: u32,
    pub pages: u64,
    pub exit: String,
}

/// The worker table of a crawl summary (rows after the `worker pid pages`
/// header, up to the `store:` line).
pub fn summary_workers(stdout: &str) -> Vec<SummaryWorker> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in stdout.lines() {
        let t = line.trim();
        if t.starts_with("worker") && t.contains("pid") && t.contains("pages") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if t.starts_with("store:") || t.is_empty() {
            break;
        }
        // id pid pages RSS "MB" exit...
        let f: Vec<&str> = t.split_whitespace().collect();
        if f.len() >= 6 {
            rows.push(SummaryWorker {
                id: f[0].to_owned(),
                pid: f[1].parse().unwrap_or(0),
                pages: f[2].parse().unwrap_or(0),
                exit: f[5..].join(" "),
            });
        }
    }
    rows
}

/// Records every live worker child of `pid` not seen before.
pub fn note_workers(pid: u32, seen: &mut Vec<ProcStat>) {
    for w in worker_children(pid) {
        if !seen.iter().any(|s| s.pid == w.pid && s.start == w.start) {
            seen.push(w);
        }
    }
}

/// Fails (after killing them) if any of `procs` is still alive `limit`
/// after the call.
#[track_caller]
pub fn assert_all_gone(procs: &[ProcStat], limit: Duration, when: &str) {
    let mut alive = Vec::new();
    wait_until(limit, || {
        alive = procs.iter().filter(|p| is_alive(p)).cloned().collect();
        alive.is_empty()
    });
    for p in &alive {
        kill9(p.pid);
    }
    let described: Vec<String> = alive
        .iter()
        .map(|p| {
            format!("pid {} state {} ppid {} cmd {:?}", p.pid, p.state, p.ppid, cmdline(p.pid))
        })
        .collect();
    assert!(
        alive.is_empty(),
        "{} worker(s) alive {when}:\n  {}",
        alive.len(),
        described.join("\n  ")
    );
}

/// Records by URL; fails if a URL was stored twice.
#[track_caller]
pub fn records_by_url(
    pages: &[serde_json::Value],
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut by_url = std::collections::BTreeMap::new();
    let mut dups = Vec::new();
    for p in pages {
        let url = s(p, "url").to_owned();
        assert!(!url.is_empty(), "record without url: {p}");
        if by_url.insert(url.clone(), p.clone()).is_some() {
            dups.push(url);
        }
    }
    assert!(dups.is_empty(), "{}", sample("URLs stored twice", &dups));
    by_url
}

/// The URLs of the generated site reachable from `/`.
pub fn site_urls(server: &trawl_site::SiteServer) -> BTreeSet<String> {
    let base = server.base_url();
    server.spec().reachable_paths().iter().map(|p| join_url(&base, p)).collect()
}

/// The on-site pages page `i` links to (`<a href>`, `<base href>`
/// honoured), as page numbers, from the rendered HTML.
pub fn site_links(server: &trawl_site::SiteServer, i: u32) -> BTreeSet<u32> {
    let base = server.base_url();
    let origin = base.trim_end_matches('/');
    let offsite = origin.replace("127.0.0.1", "localhost");
    let spec = server.spec();
    let html = spec.render(i, origin, &offsite);
    let page_url = url::Url::parse(&join_url(&base, &spec.path(i))).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let base_sel = scraper::Selector::parse("base[href]").unwrap();
    let a_sel = scraper::Selector::parse("a[href]").unwrap();
    let doc_base = doc
        .select(&base_sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| page_url.join(h).ok())
        .unwrap_or(page_url);
    let mut out = BTreeSet::new();
    for a in doc.select(&a_sel) {
        let Ok(u) = doc_base.join(a.value().attr("href").unwrap()) else { continue };
        if u.scheme() == "http"
            && u.host_str() == Some("127.0.0.1")
            && u.port() == Some(server.addr().port())
            && let Some(t) = spec.page_index(u.path())
        {
            out.insert(t);
        }
    }
    out
}
