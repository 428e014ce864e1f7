//! Loopback test servers: [`RawServer`] for hand-made (or withheld)
//! answers, and [`LogServer`], one or more hosts that log every request
//! with its timing, for politeness and robots tests.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a [`RawServer`] handler answers: a full raw HTTP response, or
/// nothing (the connection is held open without an answer).
pub(crate) type Handler = dyn Fn(u16, &str) -> Option<String> + Send + Sync;

/// A tiny HTTP/1.0-style server on 127.0.0.1 for hand-made answers:
/// hanging responses, redirects. Records every request head.
pub(crate) struct RawServer {
    pub(crate) port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    /// Serves `handler(port, path)` for every request.
    pub(crate) fn start(
        handler: impl Fn(u16, &str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
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
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The request heads received so far.
    pub(crate) fn requests(&self) -> Vec<String> {
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
pub(crate) fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut r =
        format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

/// One request as a [`LogServer`] saw it. Times are offsets from the
/// server's start. `start` is taken when the request head has been read
/// (after the client sent it) and `end` just before the answer is written
/// (before the client can have it), so `[start, end]` lies inside the
/// client's own view of the request: overlaps seen here are real.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub(crate) port: u16,
    pub(crate) path: String,
    pub(crate) head: String,
    pub(crate) start: Duration,
    pub(crate) end: Duration,
}

impl Hit {
    /// A request header's value (case-insensitive name).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// What a [`LogServer`] answers: status, headers, body, and how long to
/// hold the answer back (so concurrent requests overlap visibly).
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) hold: Duration,
}

impl Reply {
    /// `status` with a plain-text body.
    pub(crate) fn text(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
            hold: Duration::ZERO,
        }
    }

    /// 200 with an HTML page titled `title` around `body`.
    pub(crate) fn html(title: &str, body: &str) -> Self {
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
    pub(crate) fn bytes(content_type: &str, body: Vec<u8>) -> Self {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            hold: Duration::ZERO,
        }
    }

    /// 404.
    pub(crate) fn not_found() -> Self {
        Self::text(404, "not found\n")
    }

    /// Adds a header.
    pub(crate) fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// Holds the answer back for `d`.
    pub(crate) fn hold(mut self, d: Duration) -> Self {
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
pub(crate) type LogHandler = dyn Fn(u16, &str) -> Reply + Send + Sync;

/// An HTTP server on one or more 127.0.0.1 ports (distinct ports are
/// distinct hosts to the crawler) that logs every request with its port,
/// path, head, start and end time. One thread per connection, blocking
/// accept, `Connection: close`.
pub(crate) struct LogServer {
    pub(crate) ports: Vec<u16>,
    log: std::sync::Arc<std::sync::Mutex<Vec<Hit>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl LogServer {
    /// Listens on `hosts` ephemeral ports and serves `handler` on all.
    pub(crate) fn start(
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
    pub(crate) fn base_url(&self, k: usize) -> String {
        format!("http://127.0.0.1:{}/", self.ports[k])
    }

    /// Every request answered so far, in the order the answers started.
    pub(crate) fn hits(&self) -> Vec<Hit> {
        self.log.lock().expect("lock").clone()
    }

    /// The requests to one port, by start time.
    pub(crate) fn hits_on(&self, port: u16) -> Vec<Hit> {
        let mut v: Vec<Hit> = self.hits().into_iter().filter(|h| h.port == port).collect();
        v.sort_by_key(|h| h.start);
        v
    }

    /// How many requests for `path` (any port).
    pub(crate) fn count(&self, path: &str) -> usize {
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
