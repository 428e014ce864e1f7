//! Helpers for the query, API, export and dashboard tests (query.rs,
//! api.rs, export.rs, dashboard.rs): a small HTTP/1.1 client with headers,
//! a crawl held "live but quiet" by a hanging URL, a CSV reader, a glob
//! matcher, a Prometheus text parser and JSON helpers.

use crate::harness::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use trawl_site::{SiteServer, SiteSpec};

// ------------------------------------------------------------------ HTTP

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (fails the test if it is not).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", tail(&self.text(), 2000)))
    }
}

/// One HTTP/1.1 request to `addr` (`127.0.0.1:PORT` only) on a fresh
/// connection, `Connection: close`; handles Content-Length and chunked.
pub fn http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpResponse {
    use std::io::{Read as _, Write as _};
    assert!(addr.starts_with("127.0.0.1:"), "tests talk to 127.0.0.1 only, not {addr}");
    let mut conn =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = body.unwrap_or(b"");
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    conn.write_all(&bytes).unwrap();
    let mut raw = Vec::new();
    if let Err(e) = conn.read_to_end(&mut raw) {
        panic!("{method} {target} on {addr}: reading the response: {e}");
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {target}: no response head in {:?}", lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut resp = HttpResponse { status, headers, body: Vec::new() };
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    resp.body = if chunked {
        dechunk(rest)
    } else if let Some(len) = resp.header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        assert!(rest.len() >= len, "{method} {target}: body shorter than Content-Length");
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    resp
}

fn lossy(b: &[u8]) -> String {
    tail(&String::from_utf8_lossy(b), 500).to_owned()
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..eol]);
        let size = size.split(';').next().unwrap_or("").trim();
        let Ok(n) = usize::from_str_radix(size, 16) else { break };
        s = &s[eol + 2..];
        if n == 0 || s.len() < n {
            break;
        }
        out.extend_from_slice(&s[..n]);
        s = &s[n..];
        if s.starts_with(b"\r\n") {
            s = &s[2..];
        }
    }
    out
}

/// GET with an optional bearer token.
pub fn get(addr: &str, target: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> =
        auth.as_deref().map(|a| vec![("Authorization", a)]).unwrap_or_default();
    http(addr, "GET", target, &headers, None)
}

/// POST a JSON (or any) body with `Content-Type: application/json`.
pub fn post_json(addr: &str, target: &str, body: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    http(addr, "POST", target, &headers, Some(body.as_bytes()))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `name=value&...`, form-urlencoded.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// Turns API parameter pairs into the equivalent `trawl query` flags
/// (`--name=value`, so values may start with `-`).
pub fn pairs_to_flags(pairs: &[(&str, &str)]) -> Vec<String> {
    pairs.iter().map(|(k, v)| format!("--{}={v}", k.replace('_', "-"))).collect()
}

// ------------------------------------------------------------- the crawl

// The harness's helpers, under the names these tests use.
pub use crate::harness::{
    api_addr as advertised_api, is_running as running, records_by_url as by_url,
    wait_api as await_api,
};

/// SIGINT to `pid` (a process this test started).
pub fn sigint(pid: u32) {
    signal(pid, libc::SIGINT);
}

/// `trawl query --store STORE ARGS...`, whatever its exit status.
pub fn query_out(store: &Path, args: &[String]) -> Output {
    Trawl::new("query").arg("--store").arg(store).args(args).run_within(Duration::from_secs(60))
}

/// Same, with `&str` arguments.
pub fn query_args(store: &Path, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    query_out(store, &args)
}

/// A crawl of a generated site plus one URL on another host that never
/// answers: once every site page is stored, the crawl stays up (API
/// serving, store locked) with a fixed set of stored pages until the
/// hanging server is dropped.
pub struct QuietCrawl {
    pub site: SiteServer,
    hang: Option<RawServer>,
    pub hang_url: String,
    pub dir: TestDir,
    pub crawl: Option<Running>,
    pub addr: String,
    pub token: Option<String>,
}

impl QuietCrawl {
    /// Starts it and waits until all `pages` site pages are stored.
    pub fn start(pages: u32, extra: &[&str]) -> Self {
        let site = SiteServer::start(SiteSpec::with_pages(pages)).expect("site");
        let hang = RawServer::start(|_, path| match path {
            "/robots.txt" => Some(http_response("404 Not Found", &[], "")),
            _ => None,
        });
        let hang_url = format!("{}hang", hang.base_url());
        let dir = TestDir::new();
        let store = dir.store();
        let token = extra.iter().position(|a| *a == "--api-token").map(|i| extra[i + 1].to_owned());
        let crawl = Trawl::crawl(&site.base_url(), &store)
            .arg(&hang_url)
            .args(["--workers", "1", "--concurrency", "4", "--retries", "0", "--timeout", "60"])
            .args(extra)
            .spawn();
        let addr = await_api(&store, &crawl);
        let q =
            QuietCrawl { site, hang: Some(hang), hang_url, dir, crawl: Some(crawl), addr, token };
        let mut last = Value::Null;
        let quiet = wait_until(Duration::from_secs(30), || {
            let r = get(&q.addr, "/api/status", q.token.as_deref());
            if r.status != 200 {
                return false;
            }
            last = r.json();
            last["pages"] == u64::from(pages) && last["queued"] == 0 && last["in_flight"] == 1
        });
        assert!(quiet, "the crawl did not store all {pages} pages and go quiet: {last}");
        q
    }

    /// The store directory.
    pub fn store(&self) -> std::path::PathBuf {
        self.dir.store()
    }

    /// The crawl's pid.
    pub fn pid(&self) -> u32 {
        self.crawl.as_ref().expect("running").pid()
    }

    /// Releases the hanging URL and waits for the crawl to end.
    pub fn finish(&mut self) -> Output {
        drop(self.hang.take());
        self.crawl.take().expect("running").wait_within(Duration::from_secs(30)).success()
    }
}

// ------------------------------------------------------------------ JSON

/// The value at a dotted path (`fields.posts`), `None` if absent.
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// A value as query text: strings bare, everything else as JSON.
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The URLs of records, in order.
pub fn urls_of(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| s(r, "url").to_owned()).collect()
}

/// `host:port` of a URL.
pub fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or("").to_owned()
}

// ------------------------------------------------------------ small tools

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            c => field.push(c),
        }
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// One sample of the Prometheus text format.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text exposition format (0.0.4): `# HELP`/`# TYPE`
/// comments and `name{label="v",...} value` lines. Errors name the line.
pub fn parse_prometheus(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    for (no, line) in text.lines().enumerate() {
        let no = no + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let words: Vec<&str> = c.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                let ok = words.len() == 3
                    && name_ok(words[1])
                    && ["counter", "gauge", "histogram", "summary", "untyped"].contains(&words[2]);
                if !ok {
                    return Err(format!("line {no}: bad TYPE line {line:?}"));
                }
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or(format!("line {no}: no value: {line:?}"))?;
        let name = &line[..name_end];
        if !name_ok(name) {
            return Err(format!("line {no}: bad metric name {name:?}"));
        }
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(r) = rest.strip_prefix('{') {
            let mut r = r;
            loop {
                if let Some(after) = r.strip_prefix('}') {
                    r = after;
                    break;
                }
                let eq = r.find('=').ok_or(format!("line {no}: bad labels in {line:?}"))?;
                let key = r[..eq].trim_start_matches(',').trim();
                if !name_ok(key) {
                    return Err(format!("line {no}: bad label name {key:?}"));
                }
                let mut val = String::new();
                let mut chars = r[eq + 1..].char_indices();
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(format!("line {no}: unquoted label value in {line:?}"));
                }
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => val.push('\n'),
                            Some(c @ ('\\' | '"')) => val.push(c),
                            _ => return Err(format!("line {no}: bad escape in {line:?}")),
                        },
                        '"' => {
                            end = Some(eq + 1 + i + 1);
                            break;
                        }
                        c => val.push(c),
                    }
                }
                let end = end.ok_or(format!("line {no}: unterminated label in {line:?}"))?;
                labels.insert(key.to_owned(), val);
                r = r[end..].trim_start_matches(',');
            }
            rest = r;
        }
        let mut parts = rest.split_whitespace();
        let value = parts.next().ok_or(format!("line {no}: no value in {line:?}"))?;
        let value: f64 = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| format!("line {no}: bad value {v:?} in {line:?}"))?,
        };
        if let Some(ts) = parts.next()
            && ts.parse::<i64>().is_err()
        {
            return Err(format!("line {no}: bad timestamp in {line:?}"));
        }
        if parts.next().is_some() {
            return Err(format!("line {no}: trailing text in {line:?}"));
        }
        out.push(Sample { name: name.to_owned(), labels, value });
    }
    Ok(out)
}

/// The single unlabelled sample `name`.
#[track_caller]
pub fn metric(samples: &[Sample], name: &str) -> f64 {
    let found: Vec<&Sample> =
        samples.iter().filter(|s| s.name == name && s.labels.is_empty()).collect();
    assert_eq!(found.len(), 1, "exactly one unlabelled {name} sample: {found:?}");
    found[0].value
}

/// Runs `cmd` with a deadline, killing its whole process group on expiry.
/// Returns `(exit success, stdout, stderr)`.
pub fn run_bounded(
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
