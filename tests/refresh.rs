//! Continuous crawling end to end (issue 16): `trawl refresh` over a
//! stored crawl of a site whose pages change, with and without validators
//! (one host sends ETags, one Last-Modified, one neither), some deleted;
//! a refresh killed with SIGKILL and rerun; a `--revisit` crawl stopped
//! with SIGTERM. Counts are taken at the server; changes are read back
//! from the store's history.

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trawl_coordinator::store::{Change, Store};

/// Pages per host besides `/`.
const PAGES: u32 = 6;

/// How a host says what version it sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Validator {
    ETag,
    LastModified,
    Neither,
}

const HOSTS: [Validator; 3] = [Validator::ETag, Validator::LastModified, Validator::Neither];

/// The site's state: a version per page, deleted pages, and what was
/// asked and answered.
#[derive(Default)]
struct State {
    versions: BTreeMap<(u16, String), u32>,
    deleted: BTreeSet<(u16, String)>,
    /// (port, path, conditional request?, status answered)
    log: Vec<(u16, String, bool, u16)>,
}

/// Three hosts (ports) of `/` linking `/p0`..`/p5`.
struct ChangingSite {
    ports: Vec<u16>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

fn answer(state: &Mutex<State>, port: u16, kind: Validator, head: &str) -> Vec<u8> {
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let (inm, ims) = (header("if-none-match"), header("if-modified-since"));
    let mut st = state.lock().unwrap();
    let key = (port, path.clone());
    let page = path == "/"
        || (path.starts_with("/p") && path[2..].parse::<u32>().is_ok_and(|i| i < PAGES));
    let (status, headers, body) = if !page || st.deleted.contains(&key) {
        (404, String::new(), "not found".to_owned())
    } else {
        let v = *st.versions.entry(key).or_insert(1);
        let etag = format!("\"v{v}\"");
        let lm = format!("Wed, 02 Dec 2026 10:00:{v:02} GMT");
        let validators = match kind {
            Validator::ETag => format!("ETag: {etag}\r\n"),
            Validator::LastModified => format!("Last-Modified: {lm}\r\n"),
            Validator::Neither => String::new(),
        };
        let fresh = match kind {
            Validator::ETag => inm.as_deref() == Some(etag.as_str()),
            Validator::LastModified => ims.as_deref() == Some(lm.as_str()),
            Validator::Neither => false,
        };
        if fresh {
            (304, validators, String::new())
        } else {
            let links: String = if path == "/" {
                (0..PAGES).map(|i| format!("<a href=\"/p{i}\">p{i}</a>")).collect()
            } else {
                String::new()
            };
            let body =
                format!("<html><head><title>{path} v{v}</title></head><body>{links}</body></html>");
            (200, format!("{validators}Content-Type: text/html\r\n"), body)
        }
    };
    st.log.push((port, path, inm.is_some() || ims.is_some(), status));
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        _ => "Not Found",
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n{headers}");
    if status != 304 {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

impl ChangingSite {
    fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut ports = Vec::new();
        for kind in HOSTS {
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
            let port = listener.local_addr().unwrap().port();
            ports.push(port);
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(mut conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                        let mut head = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match conn.read(&mut buf) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        let reply = answer(&state, port, kind, &String::from_utf8_lossy(&head));
                        let _ = conn.write_all(&reply);
                    });
                }
            });
        }
        ChangingSite { ports, state, stop }
    }

    fn seeds(&self) -> Vec<String> {
        self.ports.iter().map(|p| format!("http://127.0.0.1:{p}/")).collect()
    }

    fn url(&self, host: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[host])
    }

    /// Page `path` of every host changes.
    fn change(&self, path: &str) {
        let mut st = self.state.lock().unwrap();
        for &p in &self.ports {
            *st.versions.entry((p, path.to_owned())).or_insert(1) += 1;
        }
    }

    /// Page `path` of every host is deleted.
    fn delete(&self, path: &str) {
        let mut st = self.state.lock().unwrap();
        for &p in &self.ports {
            st.deleted.insert((p, path.to_owned()));
        }
    }

    /// Requests since the log was last taken.
    fn take_log(&self) -> Vec<(u16, String, bool, u16)> {
        std::mem::take(&mut self.state.lock().unwrap().log)
    }

    fn requests(&self) -> usize {
        self.state.lock().unwrap().log.len()
    }
}

impl Drop for ChangingSite {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for &p in &self.ports {
            let _ = std::net::TcpStream::connect(("127.0.0.1", p));
        }
    }
}

/// A crawl of the whole site into `store`: 21 pages.
fn crawl(site: &ChangingSite, store: &Path) {
    let out = Trawl::new("crawl")
        .args(site.seeds())
        .args(["--store".as_ref(), store.as_os_str()])
        .args(["--ignore-robots", "--workers", "2", "--json"])
        .run()
        .success();
    assert_eq!(out.summary()["pages"], 21, "{}", out.stdout);
}

fn refresh(store: &Path, extra: &[&str]) -> Output {
    Trawl::new("refresh")
        .arg("--store")
        .arg(store)
        .args(["--ignore-robots", "--workers", "2", "--json"])
        .args(extra)
        .run()
        .success()
}

/// Every page's history as (url, [change]).
fn histories(store: &Path) -> BTreeMap<String, Vec<Change>> {
    let s = Store::open_existing(store).unwrap();
    let urls: Vec<String> = s.page_urls().map(Result::unwrap).collect();
    urls.into_iter()
        .map(|u| {
            let h = s.history(&u).unwrap().into_iter().map(|e| e.change).collect();
            (u, h)
        })
        .collect()
}

/// The site after its first crawl: `/p1` changed, `/p2` deleted.
fn mutate(site: &ChangingSite) {
    site.change("/p1");
    site.delete("/p2");
}

fn count(summary: &serde_json::Value, change: &str) -> u64 {
    summary["changes"][change].as_u64().unwrap_or(0)
}

#[test]
fn refresh_costs_one_304_per_unchanged_page_and_finds_changes_exactly() {
    let site = ChangingSite::start();
    let dir = TestDir::new();
    let store = dir.store();
    crawl(&site, &store);
    site.take_log();
    mutate(&site);

    let out = refresh(&store, &[]);
    let summary = out.summary();
    let log = site.take_log();
    assert_eq!(log.len(), 21, "one request per stored page: {log:?}");
    // Validator hosts: every request is conditional; 5 unchanged pages
    // each answered 304 (no body, no parse), the changed one 200.
    for (host, kind) in HOSTS.iter().enumerate() {
        let on: Vec<_> = log.iter().filter(|h| h.0 == site.ports[host]).collect();
        let conditional = on.iter().filter(|h| h.2).count();
        let not_modified = on.iter().filter(|h| h.3 == 304).count();
        let want = if *kind == Validator::Neither { (0, 0) } else { (7, 5) };
        assert_eq!((conditional, not_modified), want, "{kind:?}: {on:?}");
    }
    assert_eq!(summary["outcomes"]["not_modified"], 10, "{summary}");
    assert_eq!(
        (count(&summary, "not_modified"), count(&summary, "unchanged")),
        (10, 5),
        "{summary}"
    );
    assert_eq!((count(&summary, "changed"), count(&summary, "gone")), (3, 3), "{summary}");

    // Exactly: per URL, from the store's history.
    let h = histories(&store);
    for (host, kind) in HOSTS.iter().enumerate() {
        for i in 0..PAGES {
            let path = format!("/p{i}");
            let want = match (i, kind) {
                (1, _) => Change::Changed,
                (2, _) => Change::Gone,
                (_, Validator::Neither) => Change::Unchanged,
                _ => Change::NotModified,
            };
            assert_eq!(h[&site.url(host, &path)], [Change::First, want], "{kind:?} {path}");
        }
    }

    // Nothing is due now: a second refresh fetches nothing.
    let again = refresh(&store, &[]);
    assert_eq!(again.summary()["pages"], 0, "{}", again.stdout);
    assert!(site.take_log().is_empty());

    // --older-than: only pages whose last fetch is that old. Refresh one
    // host's pages later than the others, then pick the others by age.
    std::thread::sleep(Duration::from_millis(3000));
    let host0 = format!("127.0.0.1:{}", site.ports[0]);
    let out = refresh(&store, &["--older-than", "2s", "--host", &host0]);
    assert_eq!(out.summary()["pages"], 7, "{}", out.stdout);
    site.take_log();
    let s = Store::open_existing(&store).unwrap();
    let fetched: Vec<(String, u64)> =
        s.pages_with_prefix("").map(|r| r.unwrap()).map(|r| (r.url, r.fetched_at_ms)).collect();
    drop(s);
    let recent = fetched.iter().filter(|(u, _)| u.contains(&host0)).map(|f| f.1).min().unwrap();
    let older = fetched.iter().filter(|(u, _)| !u.contains(&host0)).map(|f| f.1).max().unwrap();
    assert!(recent > older + 2_000, "{recent} vs {older}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let cut = (recent + older) / 2;
    let age = format!("{}ms", u64::try_from(now.as_millis()).unwrap() - cut);
    let out = refresh(&store, &["--older-than", &age]);
    let log = site.take_log();
    assert_eq!(out.summary()["pages"], 14, "{}", out.stdout);
    assert!(log.iter().all(|h| h.0 != site.ports[0]), "the recent host is not due: {log:?}");
}

#[test]
fn a_refresh_killed_midway_and_rerun_finds_what_an_uninterrupted_one_does() {
    let site = ChangingSite::start();
    let dir = TestDir::new();
    let (a, b) = (dir.path("a"), dir.path("b"));
    crawl(&site, &a);
    crawl(&site, &b);
    mutate(&site);
    refresh(&a, &[]);
    site.take_log();

    // Slowed by --delay so it can be killed halfway.
    let running = Trawl::new("refresh")
        .arg("--store")
        .arg(&b)
        .args(["--ignore-robots", "--workers", "1", "--delay", "300ms", "--per-host", "1"])
        .spawn();
    assert!(wait_until(Duration::from_secs(60), || site.requests() >= 6), "refresh did not start");
    let pid = running.pid();
    let workers = children_of(pid);
    kill9(pid);
    for w in workers {
        kill9(w);
    }
    let killed = running.wait_within(Duration::from_secs(30));
    assert_eq!(killed.code(), None, "killed by a signal");
    let before = site.take_log().len();
    assert!(before < 21, "killed before the end ({before} requests)");
    let out = refresh(&b, &[]);
    let after = site.take_log().len();
    // What was left, plus what was fetched but not yet durable at the kill
    // (sled flushes every 500 ms): those come due again, once.
    assert!(after >= 21 - before && after <= 21, "{before} then {after}");
    assert!(out.summary()["pages"].as_u64().unwrap() > 0);

    let (ha, hb) = (histories(&a), histories(&b));
    assert_eq!(ha, hb, "the same changes, each page refreshed once");
    assert!(hb.values().all(|h| h.len() == 2), "one entry per fetch: {hb:?}");
}

#[test]
fn a_revisit_crawl_fetches_pages_again_until_sigterm() {
    let site = ChangingSite::start();
    let dir = TestDir::new();
    let store = dir.store();
    let running = Trawl::new("crawl")
        .arg(&site.seeds()[0])
        .args(["--store".as_ref(), store.as_os_str()])
        .args(["--ignore-robots", "--workers", "1", "--json", "--revisit", "1s"])
        .spawn();
    let conditional = |site: &ChangingSite| {
        site.state.lock().unwrap().log.iter().filter(|h| h.2 && h.1 == "/p1").count()
    };
    assert!(wait_until(Duration::from_secs(60), || conditional(&site) >= 1), "no revisit of /p1");
    site.change("/p1");
    assert!(
        wait_until(Duration::from_secs(60), || {
            site.state.lock().unwrap().log.iter().filter(|h| h.1 == "/p1" && h.3 == 200).count()
                >= 2
        }),
        "the change was not fetched"
    );
    assert!(running.child.id() > 0 && is_running(running.pid()), "still running");
    signal(running.pid(), libc::SIGTERM);
    let out = running.wait_within(Duration::from_secs(60));
    // Drained cleanly: exit 0, reason "stopped".
    assert_eq!(out.code(), Some(0), "stopped by SIGTERM: {}", out.stderr);
    let summary = out.summary();
    assert_eq!(summary["exit_reason"], "stopped", "{summary}");
    assert!(count(&summary, "not_modified") >= 1 && count(&summary, "changed") >= 1, "{summary}");
    let h = histories(&store);
    assert!(h[&site.url(0, "/p1")].contains(&Change::Changed), "{h:?}");
    // Every page keeps exactly one due entry, across the stop.
    let s = Store::open_existing(&store).unwrap();
    let due: Vec<String> = s.due_until(u64::MAX).map(|d| d.unwrap().1).collect();
    assert_eq!(due.len(), 7, "{due:?}");
    assert_eq!(due.iter().collect::<BTreeSet<_>>().len(), 7);
}
