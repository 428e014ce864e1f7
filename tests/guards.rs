//! Issue 13's guards end to end, with real worker processes and servers on
//! 127.0.0.0/8 only: the per-page parse budget, the request-forgery guard
//! (`--resolve`, `--allow-private`), a store whose filesystem fills up, and
//! the open-files limit.

use crate::harness::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

/// A server on any loopback address (`127.0.0.2` stands for a public
/// host): `handler(port, path)` answers each request, every path is kept.
struct Host {
    port: u16,
    paths: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Host {
    fn start(ip: &str, handler: impl Fn(u16, &str) -> String + Send + Sync + 'static) -> Self {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(ip.is_loopback(), "tests only listen on 127.0.0.0/8");
        let listener = TcpListener::bind((ip, 0)).expect("bind");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let (seen, stopping) = (paths.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (seen, handler) = (seen.clone(), handler.clone());
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
                    seen.lock().unwrap().push(path.clone());
                    let _ = conn.write_all(handler(port, &path).as_bytes());
                });
            }
        });
        Host { port, paths, stop, thread: Some(thread) }
    }

    fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn html(body: &str) -> String {
    http_response("200 OK", &[("Content-Type", "text/html")], body)
}

/// Outcome by URL, every URL stored once.
fn outcomes(store: &Path) -> BTreeMap<String, String> {
    records_by_url(&query_jsonl(store))
        .into_iter()
        .map(|(url, p)| (url, s(&p, "outcome").to_owned()))
        .collect()
}

/// A page far over a 5 ms parse budget is recorded `parse_budget`; its
/// small neighbours are `ok`, fetched by the same worker, which is never
/// replaced.
#[test]
fn an_expensive_page_is_recorded_parse_budget_and_the_worker_goes_on() {
    // ~2.4 MB of ordinary markup: 60,000 list items, tens of ms to parse.
    let big: String =
        (0..60_000).map(|i| format!("<li><a href=\"#i{i}\">item {i}</a></li>")).collect();
    let big = Arc::new(format!("<html><title>big</title><ul>{big}</ul></html>"));
    let server = Host::start("127.0.0.1", move |_, path| match path {
        "/" => html(
            "<title>home</title><a href=/a>a</a> <a href=/big>big</a> <a href=/b>b</a> <a href=/c>c</a>",
        ),
        "/big" => html(&big),
        "/a" | "/b" | "/c" => html(&format!("<title>{path}</title><a href=/>home</a>")),
        _ => http_response("404 Not Found", &[], ""),
    });
    let base = format!("http://127.0.0.1:{}/", server.port);
    let dir = TestDir::new();
    let store = dir.store();
    let out = Trawl::crawl(&base, &store)
        .args(["--workers", "1", "--parse-budget", "5ms"])
        .run()
        .success();
    let got = outcomes(&store);
    let want: BTreeMap<String, String> = [("", "ok"), ("a", "ok"), ("b", "ok"), ("c", "ok")]
        .iter()
        .map(|(p, o)| (format!("{base}{p}"), (*o).to_owned()))
        .chain([(format!("{base}big"), "parse_budget".to_owned())])
        .collect();
    assert_eq!(got, want, "stdout:\n{}", out.stdout);
    let big = query_jsonl(&store).into_iter().find(|p| s(p, "url").ends_with("/big")).unwrap();
    assert!(s(&big, "detail").contains("ms"), "the record says what was spent: {big}");
    assert_eq!(summary_restarts(&out.stdout), Some(0), "the worker survived:\n{}", out.stdout);
    assert_eq!(server.paths().iter().filter(|p| *p == "/big").count(), 1, "fetched once");
}

/// The public-looking site of the guard tests and the private server it
/// points into.
struct Forgery {
    public: Host,
    private: Host,
    seed: String,
}

/// `public.test` (really 127.0.0.2) links to a loopback IP, to a name that
/// resolves to loopback, and redirects to loopback; all three lead to the
/// private server on 127.0.0.1.
fn forgery_site() -> Forgery {
    let private =
        Host::start("127.0.0.1", |_, path| html(&format!("<title>secret {path}</title>")));
    let p2 = private.port;
    let public = Host::start("127.0.0.2", move |_, path| match path {
        "/" => html(&format!(
            "<title>public</title><a href=/page>page</a> <a href=/hop>hop</a>\
             <a href=http://127.0.0.1:{p2}/secret>ip</a>\
             <a href=http://sneaky.test:{p2}/dns-secret>dns</a>"
        )),
        "/page" => html("<title>page</title>"),
        "/hop" => {
            let to = format!("http://127.0.0.1:{p2}/redirected");
            http_response("302 Found", &[("Location", to.as_str())], "")
        }
        _ => http_response("404 Not Found", &[], ""),
    });
    let seed = format!("http://public.test:{}/", public.port);
    Forgery { public, private, seed }
}

fn forgery_crawl(f: &Forgery, store: &Path, extra: &[&str]) -> Output {
    Trawl::crawl(&f.seed, store)
        .args(["--workers", "1", "--scope", "any", "--delay", "0"])
        .args(["--resolve", "public.test:127.0.0.2", "--resolve", "sneaky.test:127.0.0.1"])
        .args(extra)
        .run()
}

/// A public seed: links, a redirect and a DNS answer into loopback are
/// recorded `blocked` and never reach the private server, while the seed's
/// own name (mapped to 127.0.0.2 by `--resolve`) is fetched.
#[test]
fn links_redirects_and_dns_answers_into_loopback_are_blocked() {
    let f = forgery_site();
    let dir = TestDir::new();
    let store = dir.store();
    let out = forgery_crawl(&f, &store, &[]).success();
    let p2 = f.private.port;
    let want: BTreeMap<String, String> = [
        (f.seed.clone(), "ok"),
        (format!("{}page", f.seed), "ok"),
        (format!("{}hop", f.seed), "redirect"),
        (format!("http://127.0.0.1:{p2}/secret"), "blocked"),
        (format!("http://127.0.0.1:{p2}/redirected"), "blocked"),
        (format!("http://sneaky.test:{p2}/dns-secret"), "blocked"),
    ]
    .into_iter()
    .map(|(u, o)| (u, o.to_owned()))
    .collect();
    assert_eq!(outcomes(&store), want, "stdout:\n{}", out.stdout);
    assert_eq!(f.private.paths(), Vec::<String>::new(), "requests reached the private server");
    assert!(f.public.paths().contains(&"/page".to_owned()));
    for p in query_jsonl(&store).iter().filter(|p| s(p, "outcome") == "blocked") {
        assert!(s(p, "detail").contains("127.0.0.1 is loopback"), "{p}");
    }
}

/// `--allow-private` turns the guard off: the same crawl fetches the
/// private pages.
#[test]
fn allow_private_fetches_what_the_guard_blocked() {
    let f = forgery_site();
    let dir = TestDir::new();
    let store = dir.store();
    let out = forgery_crawl(&f, &store, &["--allow-private"]).success();
    let p2 = f.private.port;
    let got = outcomes(&store);
    for url in [
        format!("http://127.0.0.1:{p2}/secret"),
        format!("http://127.0.0.1:{p2}/redirected"),
        format!("http://sneaky.test:{p2}/dns-secret"),
    ] {
        assert_eq!(got.get(&url).map(String::as_str), Some("ok"), "{url}: {got:?}\n{}", out.stdout);
    }
    let mut hit = f.private.paths();
    hit.retain(|p| p != "/robots.txt");
    hit.sort();
    assert_eq!(hit, ["/dns-secret", "/redirected", "/secret"]);
}

/// Bad guard values fail before anything starts, naming the flag.
#[test]
fn bad_guard_values_exit_2_naming_the_flag() {
    let dir = TestDir::new();
    for (args, says) in [
        (&["--resolve", "public.test"][..], "--resolve"),
        (&["--resolve", "public.test:999.1.1.1"], "not an IP address"),
        (&["--parse-budget", "0"], "--parse-budget"),
        (&["--max-attributes", "0"], "--max-attributes"),
        (&["--concurrency", "16385"], "1..=16384"),
    ] {
        let store = dir.path("never");
        let out = Trawl::crawl("http://127.0.0.1:9/", &store).args(args).run();
        assert_eq!(out.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(says), "{args:?} should say {says:?}: {}", out.stderr);
        assert!(std::fs::metadata(&store).is_err(), "{args:?}: the store was created");
    }
}

/// A tmpfs of `size` mounted on a new directory, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
    _parent: TestDir,
}

impl Tmpfs {
    /// `None` (with a message) where mounting is not allowed.
    fn mount(size: &str) -> Option<Self> {
        let parent = TestDir::new();
        let dir = parent.path("tmpfs");
        std::fs::create_dir(&dir).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", format!("size={size}").as_str(), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir, _parent: parent }),
            Ok(o) => {
                eprintln!("SKIPPED: cannot mount a tmpfs: {}", String::from_utf8_lossy(&o.stderr));
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The store's filesystem fills up mid-crawl: the crawl stops with exit 1
/// and an error naming the store and "no space left" (no panic, no hang);
/// what it stored is still there, and a rerun with room (the store copied
/// to a roomy directory) resumes without refetching a stored page and
/// ends with every page stored once.
#[test]
fn a_full_disk_stops_the_crawl_cleanly_and_a_rerun_resumes() {
    let Some(fs) = Tmpfs::mount("3m") else { return };
    let server = SiteServer::start(SiteSpec::with_pages(1500)).expect("site");
    let base = server.base_url();
    let store = fs.dir.join("store");
    let out = Trawl::crawl(&base, &store)
        .args(["--workers", "1", "--keep-bodies"])
        .run_within(Duration::from_secs(90));
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let store_name = store.display().to_string();
    let says = out
        .stderr
        .lines()
        .find(|l| l.contains("no space left"))
        .unwrap_or_else(|| panic!("no \"no space left\" error:\n{}", tail(&out.stderr, 4000)));
    assert!(says.contains(&store_name), "the error names the store: {says}");

    let dir = TestDir::new();
    let roomy = dir.path("store");
    copy_dir(&store, &roomy);
    drop(fs);
    let before = records_by_url(&query_jsonl(&roomy));
    assert!(!before.is_empty(), "nothing was stored before the disk filled up");
    let origin = base.trim_end_matches('/').to_owned();
    let index = |url: &str| server.spec().page_index(url.strip_prefix(&origin).unwrap_or(url));
    let hits_before: BTreeMap<u32, u32> =
        before.keys().filter_map(|u| index(u)).map(|i| (i, server.hits(i))).collect();

    Trawl::crawl(&base, &roomy).args(["--workers", "1", "--keep-bodies"]).run().success();
    let after = records_by_url(&query_jsonl(&roomy));
    let urls: std::collections::BTreeSet<String> = after.keys().cloned().collect();
    assert_sets_eq("stored after the rerun", &site_urls(&server), &urls);
    for url in before.keys() {
        assert!(after.contains_key(url), "{url} was lost");
    }
    let refetched: Vec<String> = hits_before
        .iter()
        .filter(|(i, n)| server.hits(**i) > **n)
        .map(|(i, _)| server.spec().path(*i))
        .collect();
    assert!(refetched.is_empty(), "{}", sample("stored pages fetched again", &refetched));
    eprintln!(
        "full disk: exit 1 after {:?} saying {says:?}; {} pages stored before, {} after the rerun",
        out.elapsed,
        before.len(),
        after.len()
    );
}

/// The soft open-files limit of `pid` and its hard limit, from
/// `/proc/PID/limits`.
fn open_files_limit(pid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let mut f = line["Max open files".len()..].split_whitespace();
    Some((f.next()?.to_owned(), f.next()?.to_owned()))
}

/// Started with a soft limit of 512 open files (by `prlimit`), the
/// coordinator and its workers raise it to the hard limit.
#[test]
fn coordinator_and_workers_raise_the_open_files_limit() {
    if std::process::Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no prlimit(1) to lower the limit with");
        return;
    }
    // The seed never answers, so the crawl stays up while it is looked at.
    let server = RawServer::start(|_, _| None);
    let dir = TestDir::new();
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(["--nofile=512:", "--", trawl_bin(), "crawl"])
        .arg(server.base_url())
        .arg("--store")
        .arg(dir.store())
        .args(["--workers", "2", "--ignore-robots"])
        .env("RUST_LOG", "warn")
        .env_remove("TRAWL_IPC_CONNECT")
        .env_remove("TRAWL_WORKER_ID")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("prlimit trawl crawl");
    let pid = child.id();
    let up = wait_until(Duration::from_secs(30), || worker_children(pid).len() == 2);
    let mut limits = vec![("coordinator".to_owned(), open_files_limit(pid))];
    for w in worker_children(pid) {
        limits.push((format!("worker {}", w.pid), open_files_limit(w.pid)));
    }
    let kids = children_of(pid);
    let _ = child.kill();
    for k in kids {
        kill9(k);
    }
    let _ = child.wait();
    assert!(up, "the workers did not start");
    for (who, limit) in limits {
        let (soft, hard) = limit.unwrap_or_else(|| panic!("{who}: no limits"));
        assert_ne!(soft, "512", "{who} kept the soft limit it was started with");
        assert_eq!(soft, hard, "{who}: soft limit not raised to the hard one");
    }
}
