//! Crawling a real documentation tree (the Rust books shipped with the
//! toolchain) served by a stock web server (`python3 -m http.server`), and
//! checking the result against a breadth-first walk of the files on disk
//! that models what that server answers for each URL.
//!
//! The served directory is a temporary one holding symlinks to several
//! mdBook subtrees (about 2,300 reachable HTML pages), a hand-written
//! `index.html` that links to them in several spellings (no trailing slash
//! -> 301, query string, fragment, lowercase percent escapes), and an
//! `extras/` directory without `index.html` (a generated listing) holding
//! non-HTML files and names that need percent-encoding.

use crate::harness::*;
use scraper::{Html, Selector};
use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use url::Url;

/// The mdBook subtrees served. Together they link to each other (and to
/// `std`, which is not served: those links are 404s).
const SUBTREES: &[&str] = &[
    "book",
    "cargo",
    "reference",
    "rustc",
    "nomicon",
    "edition-guide",
    "rust-by-example",
    "unstable-book",
    "error_codes",
    "embedded-book",
    "rustdoc",
    "style-guide",
    "clippy",
];

/// `$(rustc --print sysroot)/share/doc/rust/html`, or `TRAWL_E2E_DOCS`.
fn docs_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TRAWL_E2E_DOCS") {
        return PathBuf::from(d);
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap_or_else(|e| panic!("running `{rustc} --print sysroot`: {e}"));
    assert!(out.status.success(), "`{rustc} --print sysroot` failed: {out:?}");
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot).join("share/doc/rust/html")
}

/// The directory python serves: symlinks to the subtrees plus the extras.
fn build_tree(root: &Path) {
    let docs = docs_dir();
    let missing: Vec<String> = SUBTREES
        .iter()
        .filter(|s| !docs.join(s).join("index.html").is_file())
        .map(|s| docs.join(s).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "this test crawls the Rust documentation shipped with the toolchain, but {} is \
         missing ({}); install it with `rustup component add rust-docs` or point \
         TRAWL_E2E_DOCS at a copy of share/doc/rust/html",
        docs.display(),
        missing.join(", ")
    );
    std::fs::create_dir_all(root).unwrap();
    for s in SUBTREES {
        std::os::unix::fs::symlink(docs.join(s), root.join(s)).unwrap();
    }
    let index = r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>  Local
   documentation </title></head>
<body>
<h1>Books</h1>
<ul>
<li><a href="book">The Book</a> (no trailing slash: the server answers 301)</li>
<li><a href="cargo/">Cargo</a></li>
<li><a href="./reference/index.html">Reference</a></li>
<li><a href="rustc/index.html?from=home">rustc</a> (a query string is a distinct URL)</li>
<li><a href="/nomicon/#intro">Nomicon</a></li>
<li><a href="http://127.0.0.1:PORT/edition-guide/">Edition guide</a></li>
<li><a href="rust-by-example/">Rust by Example</a></li>
<li><a href="unstable-book/index.html">Unstable book</a></li>
<li><a href="error_codes/">Error codes</a></li>
<li><a href="embedded-book/">Embedded book</a></li>
<li><a href="rustdoc/">rustdoc</a></li>
<li><a href="style-guide/">Style guide</a></li>
<li><a href="clippy/">Clippy</a></li>
<li><a href="extras/">Extras</a> (a directory listing)</li>
<li><a href="extras/caf%c3%a9.html">Café</a> (lowercase escapes)</li>
<li><a href="extras/notes%7ev2.txt">Notes</a> (an escaped unreserved character)</li>
<li><a href="missing.html">Missing</a> (404)</li>
<li>Spellings that normalize to URLs seen elsewhere:
<a href="HTTP://127.0.0.1:PORT/clippy/">scheme case</a>
<a href="  style-guide/  ">whitespace</a>
<a href="rustdoc/index.html#">empty fragment</a>
<a href="extras/%2e%2e/cargo/">escaped dot segment</a>
<a href="extras/sub dir/page.html">unescaped space</a>
<a href="extras/café.html">unescaped non-ASCII</a></li>
<li>Distinct URLs for the same file:
<a href="extras//style.css">double slash</a>
<a href="extras%2Fstyle.css">escaped slash</a>
<a href="book/index.html?q=%7ex%2fy&amp;r=1">query with escapes</a></li>
<li><a href="mailto:docs@example.com">Mail</a> <a href="javascript:void(0)">JS</a></li>
</ul></body></html>
"##;
    std::fs::write(root.join("index.html"), index).unwrap();
    let extras = root.join("extras");
    std::fs::create_dir_all(extras.join("sub dir")).unwrap();
    std::fs::write(extras.join("notes~v2.txt"), "plain text notes\n").unwrap();
    std::fs::write(extras.join("README.md"), "# Extras\n\nSee [the book](../book/).\n").unwrap();
    std::fs::write(extras.join("style.css"), "body { color: #333 }\n").unwrap();
    std::fs::write(
        extras.join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>\n",
    )
    .unwrap();
    std::fs::write(
        extras.join("café.html"),
        "<!DOCTYPE html><html><head><title>Café</title></head><body>\
         <a href=\"sub%20dir/page.html\">page</a> <a href=\"../book/ch01-00-getting-started.html\">ch1</a>\
         </body></html>\n",
    )
    .unwrap();
    std::fs::write(
        extras.join("sub dir").join("page.html"),
        "<!DOCTYPE html><html><head><base href=\"/extras/\"><title>Page in a sub dir</title></head>\
         <body><a href=\"style.css\">css</a> <a href=\"logo.svg\">logo</a> \
         <a href=\"sub dir/\">here</a> <a href=\"../cargo\">cargo, no slash</a></body></html>\n",
    )
    .unwrap();
}

/// `python3 -m http.server` on 127.0.0.1; killed on drop.
struct PyServer {
    child: Child,
    port: u16,
}

impl PyServer {
    fn start(dir: &Path) -> PyServer {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new("python3")
                .args(["-m", "http.server", "--bind", "127.0.0.1"])
                .arg(port.to_string())
                .arg("--directory")
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("this test needs python3 (`python3 -m http.server`): {e}")
                });
            let mut server = PyServer { child, port };
            let up = wait_until(Duration::from_secs(15), || {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
                    || server.child.try_wait().ok().flatten().is_some()
            });
            match server.child.try_wait() {
                Ok(None) if up => return server,
                Ok(None) => last = format!("python3 did not accept connections on port {port}"),
                status => last = format!("python3 http.server on port {port} exited: {status:?}"),
            }
            drop(server);
        }
        panic!("could not start python3 -m http.server: {last}");
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the server answers for a URL, per the model of http.server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// 200 text/html: a file (or directory index), with its title.
    Html { title: Option<String> },
    /// 200 text/html: a generated directory listing.
    Listing { title: String },
    /// 200 with another content type.
    Other,
    /// 301 to this URL.
    Redirect(String),
    /// 404.
    NotFound,
}

/// Percent-decodes `s` (bytes), as Python's `unquote` does.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// RFC 3986 normalization of the percent-encoding in path and query:
/// escapes of unreserved characters decoded, hex digits uppercased. (The
/// `url` crate already did case, default port, dot segments.)
fn normalize(mut u: Url) -> String {
    fn norm(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
            {
                let c = (h * 16 + l) as char;
                if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                    out.push(c);
                } else {
                    out.push('%');
                    out.push((b[i + 1] as char).to_ascii_uppercase());
                    out.push((b[i + 2] as char).to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
            out.push(b[i] as char);
            i += 1;
        }
        out
    }
    u.set_fragment(None);
    let path = norm(u.path());
    u.set_path(&path);
    if let Some(q) = u.query().map(norm) {
        u.set_query(Some(&q));
    }
    u.into()
}

/// `SimpleHTTPRequestHandler.translate_path`: the file a URL path names.
fn translate(root: &Path, url_path: &str) -> (PathBuf, bool) {
    let trailing = url_path.ends_with('/');
    let decoded = unquote(url_path);
    let mut p = root.to_path_buf();
    for w in decoded.split('/').filter(|w| !w.is_empty() && *w != "." && *w != "..") {
        p.push(w);
    }
    (p, trailing)
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The answer for `url` and the links a crawler finds in it (absolute,
/// unnormalized; fragments still on).
fn answer(root: &Path, url: &Url) -> (Answer, Vec<Url>) {
    let (path, trailing) = translate(root, url.path());
    if path.is_dir() {
        if !trailing {
            let mut to = url.clone();
            to.set_path(&format!("{}/", url.path()));
            return (Answer::Redirect(normalize(to.clone())), vec![to]);
        }
        for index in ["index.html", "index.htm"] {
            let f = path.join(index);
            if f.is_file() {
                return html_file(&f, url);
            }
        }
        // list_directory: entries sorted case-insensitively, quoted hrefs.
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort_by_key(|n| n.to_lowercase());
        let links = names
            .iter()
            .map(|n| {
                let link = if path.join(n).is_dir() { format!("{n}/") } else { n.clone() };
                url.join(&python_quote(&link)).unwrap()
            })
            .collect();
        let title = format!("Directory listing for {}", unquote(url.path()));
        return (Answer::Listing { title }, links);
    }
    if trailing || !path.is_file() {
        return (Answer::NotFound, Vec::new());
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext == "html" || ext == "htm" { html_file(&path, url) } else { (Answer::Other, Vec::new()) }
}

/// `urllib.parse.quote(s)` (safe = "/", plus the always-safe `_.-~`).
fn python_quote(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Title and `a[href]` links of an HTML file served at `url`, resolved
/// against `<base href>` when there is one.
fn html_file(file: &Path, url: &Url) -> (Answer, Vec<Url>) {
    let bytes = std::fs::read(file).unwrap();
    let doc = Html::parse_document(&String::from_utf8_lossy(&bytes));
    let sel = |s: &str| Selector::parse(s).unwrap();
    let title = doc
        .select(&sel("title"))
        .next()
        .map(|t| collapse_ws(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let base = doc
        .select(&sel("base[href]"))
        .next()
        .and_then(|b| url.join(b.value().attr("href").unwrap().trim()).ok())
        .unwrap_or_else(|| url.clone());
    let links = doc
        .select(&sel("a[href]"))
        .filter_map(|a| base.join(a.value().attr("href").unwrap()).ok())
        .collect();
    (Answer::Html { title }, links)
}

/// Breadth-first walk from `seeds` over what the server would answer,
/// staying on the seeds' host:port. Keys are normalized URLs. Each level
/// is parsed on a few threads (parsing ~80 MB of HTML in a debug build is
/// the slow part).
fn model_crawl(root: &Path, seeds: &[Url]) -> BTreeMap<String, Answer> {
    let origin = seeds[0].origin();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let mut out = BTreeMap::new();
    let mut level: Vec<Url> = Vec::new();
    for s in seeds {
        if out.insert(normalize(s.clone()), Answer::NotFound).is_none() {
            level.push(s.clone());
        }
    }
    while !level.is_empty() {
        let chunk = level.len().div_ceil(threads);
        let answered: Vec<(Url, Answer, Vec<Url>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = level
                .chunks(chunk)
                .map(|urls| {
                    scope.spawn(move || {
                        urls.iter()
                            .map(|u| {
                                let (a, links) = answer(root, u);
                                (u.clone(), a, links)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let mut next = Vec::new();
        for (url, ans, links) in answered {
            for l in links {
                if l.origin() != origin {
                    continue;
                }
                let key = normalize(l);
                if !out.contains_key(&key) {
                    out.insert(key.clone(), Answer::NotFound);
                    next.push(Url::parse(&key).unwrap());
                }
            }
            out.insert(normalize(url), ans);
        }
        level = next;
    }
    out
}

#[test]
fn rust_docs_served_by_python_http_server() {
    let dir = TestDir::new();
    let root = dir.path("www");
    build_tree(&root);
    let server = PyServer::start(&root);
    // The hand-written index links to the server's own origin once.
    let index = std::fs::read_to_string(root.join("index.html")).unwrap();
    std::fs::write(root.join("index.html"), index.replace("PORT", &server.port.to_string()))
        .unwrap();
    let origin = format!("http://127.0.0.1:{}/", server.port);
    let seeds = [origin.clone(), format!("{origin}book/")];
    let store = dir.store();

    // The crawl runs in its own processes while the model walks the disk.
    let running = Trawl::new("crawl")
        .args(&seeds)
        .arg("--store")
        .arg(&store)
        .args(["--scope", "host", "--workers", "2", "--concurrency", "8"])
        .spawn();
    let t0 = Instant::now();
    let seed_urls: Vec<Url> = seeds.iter().map(|s| Url::parse(s).unwrap()).collect();
    let model = model_crawl(&root, &seed_urls);
    eprintln!("model walk: {} URLs in {:?}", model.len(), t0.elapsed());
    let out = running.wait_within(Duration::from_secs(240)).success();
    eprintln!("crawl: {:?}\n{}", out.elapsed, out.stdout);

    let html_pages = model.values().filter(|a| matches!(a, Answer::Html { .. })).count();
    assert!(
        (1500..=6000).contains(&html_pages),
        "the served tree should have a few thousand reachable HTML pages, has {html_pages}"
    );

    let pages = query_jsonl(&store);
    let mut stored: BTreeMap<String, &serde_json::Value> = BTreeMap::new();
    let mut dups = Vec::new();
    for p in &pages {
        if stored.insert(s(p, "url").to_owned(), p).is_some() {
            dups.push(s(p, "url").to_owned());
        }
    }
    assert!(dups.is_empty(), "{}", sample("URLs stored twice", &dups));

    // Record by record against the model.
    let mut missing_html = Vec::new();
    let mut wrong = Vec::new();
    for (url, ans) in &model {
        let Some(p) = stored.get(url) else {
            if matches!(ans, Answer::Html { .. } | Answer::Listing { .. }) {
                missing_html.push(url.clone());
            } else {
                wrong.push(format!("{url}: not stored (expected {ans:?})"));
            }
            continue;
        };
        let (status, outcome, title) = (n(p, "status"), s(p, "outcome"), p["title"].as_str());
        let ok = match ans {
            Answer::Html { title: t } => {
                // A `noindex` page (mdBook's print.html) is recorded
                // without its title, by design.
                let noindex = p["noindex"].as_bool() == Some(true);
                status == Some(200)
                    && outcome == "ok"
                    && (title == t.as_deref() || (noindex && title.is_none()))
            }
            Answer::Listing { title: t } => {
                status == Some(200) && outcome == "ok" && title == Some(t.as_str())
            }
            Answer::Other => status == Some(200) && outcome == "not_html",
            Answer::Redirect(_) => (status == Some(301)) && outcome == "redirect",
            Answer::NotFound => status == Some(404) && outcome == "http_error",
        };
        if !ok {
            wrong.push(format!(
                "{url}: expected {ans:?}, stored status {status:?} outcome {outcome:?} title {title:?} detail {:?}",
                p["detail"]
            ));
        }
    }
    // Pages the crawler reports that the model does not know of.
    let unexpected: Vec<String> = stored
        .iter()
        .filter(|(u, _)| !model.contains_key(*u))
        .map(|(u, p)| format!("{u} (status {:?}, outcome {})", p["status"], s(p, "outcome")))
        .collect();
    // Status 200 claimed for something that is not on disk.
    let phantom: Vec<String> = stored
        .iter()
        .filter(|(_, p)| n(p, "status") == Some(200))
        .filter(|(u, _)| {
            let path = Url::parse(u).map(|u| u.path().to_owned()).unwrap_or_default();
            !translate(&root, &path).0.exists()
        })
        .map(|(u, _)| u.clone())
        .collect();

    let mut report = Vec::new();
    if !missing_html.is_empty() {
        report.push(sample("reachable HTML pages not stored", &missing_html));
    }
    if !wrong.is_empty() {
        report.push(sample("records that differ from what the server answers", &wrong));
    }
    if !unexpected.is_empty() {
        report.push(sample("stored URLs the walk of the disk does not reach", &unexpected));
    }
    if !phantom.is_empty() {
        report.push(sample("status 200 for files not on disk", &phantom));
    }
    assert!(
        report.is_empty(),
        "model: {} URLs ({html_pages} HTML pages), stored: {}\n{}",
        model.len(),
        stored.len(),
        report.join("\n")
    );

    // The spellings in the hand-written index all landed where expected.
    for (url, want) in [
        (format!("{origin}book"), "redirect"),
        (format!("{origin}book/"), "ok"),
        (format!("{origin}rustc/index.html?from=home"), "ok"),
        (format!("{origin}nomicon/"), "ok"),
        (format!("{origin}extras/"), "ok"),
        (format!("{origin}extras/caf%C3%A9.html"), "ok"),
        (format!("{origin}extras/notes~v2.txt"), "not_html"),
        (format!("{origin}extras/sub%20dir/page.html"), "ok"),
        (format!("{origin}extras/style.css"), "not_html"),
        (format!("{origin}cargo"), "redirect"),
        (format!("{origin}missing.html"), "http_error"),
        (format!("{origin}extras//style.css"), "not_html"),
        (format!("{origin}extras%2Fstyle.css"), "not_html"),
        (format!("{origin}book/index.html?q=~x%2Fy&r=1"), "ok"),
    ] {
        let got = stored.get(&url).map(|p| s(p, "outcome"));
        assert_eq!(got, Some(want), "{url}");
    }
}
