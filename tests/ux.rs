//! Issue 14, what a new user runs into: closed pipes and signals never
//! hang a crawl, the hint after `--max-pages`, a dead crawl's leftover
//! API advert, exit codes, the `--json` summary, the Prometheus metrics,
//! and the conventional subcommands (`extract`, `serve-site`,
//! `completions`, `man`).

use crate::harness::*;
use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use trawl_site::{SiteServer, SiteSpec};

/// The `--json` summary of a finished `trawl crawl --json`.
#[track_caller]
fn summary(out: &Output) -> Value {
    let line = out.stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("`{}` stdout is not one JSON object ({e}):\n{}", out.line, tail(&out.stdout, 2000))
    })
}

/// Issue 14 bug 1: `RUST_LOG=debug trawl crawl ... 2>&1 | head -5` hung
/// for ever: tracing's write error report panicked inside a sled I/O
/// thread on the closed pipe and the store's final flush waited on it.
#[test]
fn closed_stdout_and_stderr_never_hang_a_crawl() {
    let server = SiteServer::start(SiteSpec::with_pages(300)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let mut child = Command::new(trawl_bin())
        .args(["crawl", &server.base_url(), "--store"])
        .arg(&store)
        .env("RUST_LOG", "debug,sled=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trawl");
    // Read a few log lines (as `head -5` does), then close both pipes.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    for _ in 0..5 {
        assert!(lines.next().is_some_and(|l| l.is_ok()), "fewer than 5 log lines");
    }
    drop(lines);
    drop(child.stdout.take());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            for k in children_of(child.id()) {
                kill9(k);
            }
            let _ = child.wait();
            panic!("the crawl with closed stdout/stderr did not exit within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    let expected = server.spec().reachable_paths().len();
    assert_eq!(query_jsonl(&store).len(), expected, "the crawl did not finish its work");
}

/// One SIGTERM drains and exits 0 with the work left queued; two stop at
/// once with 143. Either way the process ends within bounded time. A
/// crawl whose stdout is not a terminal prints a stats line every few
/// seconds on stderr.
#[test]
fn sigterm_always_ends_a_crawl() {
    // Every page is slow and links to more, so requests are always in flight.
    let server = LogServer::start(1, |_, path| {
        let n: u64 = path.trim_start_matches("/p").parse().unwrap_or(0);
        let links: String =
            (1..=20).map(|i| format!("<a href=\"/p{}\">x</a>", n * 20 + i)).collect();
        Reply::html("slow", &links).hold(Duration::from_millis(300))
    });
    let base = server.base_url(0);
    let dir = TestDir::new();
    let store = dir.store();
    let crawl = || {
        Trawl::crawl(&format!("{base}/p0"), &store)
            .args(["--workers", "1", "--concurrency", "4", "--json"])
            .arg("--ignore-robots")
    };

    let running = crawl().spawn();
    wait_api(&store, &running);
    // Long enough for a periodic stats line (every 5 s).
    std::thread::sleep(Duration::from_secs(7));
    assert!(signal(running.pid(), libc::SIGTERM), "kill(SIGTERM)");
    let out = running.wait_within(Duration::from_secs(30));
    assert_eq!(out.code(), Some(0), "one SIGTERM drains, exit 0\n{}", tail(&out.stderr, 3000));
    let s = summary(&out);
    assert_eq!(s["exit_reason"], "stopped", "{s}");
    assert!(s["left"].as_u64().is_some_and(|l| l > 0), "{s}");
    assert!(out.stderr.contains("finishing"), "no Ctrl-C notice:\n{}", tail(&out.stderr, 3000));
    assert!(
        out.stderr.contains("pages/s now"),
        "no periodic stats line with stdout not a terminal:\n{}",
        tail(&out.stderr, 3000)
    );

    let running = crawl().spawn();
    wait_api(&store, &running);
    std::thread::sleep(Duration::from_secs(1));
    assert!(signal(running.pid(), libc::SIGTERM), "kill(SIGTERM)");
    std::thread::sleep(Duration::from_millis(100));
    assert!(signal(running.pid(), libc::SIGTERM), "kill(SIGTERM) again");
    let out = running.wait_within(Duration::from_secs(15));
    assert_eq!(out.code(), Some(143), "two SIGTERMs stop at once\n{}", tail(&out.stderr, 3000));
    assert_eq!(summary(&out)["exit_reason"], "terminated");
}

/// Issue 14 bug 4: the hint after a `--max-pages` stop says what a rerun
/// does, and a rerun with a higher limit continues where it stopped.
#[test]
fn max_pages_hint_and_a_higher_limit_continues() {
    let server = SiteServer::start(SiteSpec::with_pages(200)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let base = server.base_url();
    let out =
        Trawl::crawl(&base, &store).args(["--workers", "1", "--max-pages", "20"]).run().success();
    assert!(
        out.stdout.contains("limit reached") && out.stdout.contains("higher --max-pages"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("rerun the same command"), "{}", out.stdout);
    let first = query_jsonl(&store).len();
    assert!((20..=21).contains(&first), "stored {first} pages with --max-pages 20");

    // The same limit again: nothing to do, and it says so.
    let out = Trawl::crawl(&base, &store)
        .args(["--workers", "1", "--max-pages", "20", "--json"])
        .run()
        .success();
    let s = summary(&out);
    assert_eq!(s["pages"], 0, "{s}");
    assert_eq!(s["exit_reason"], "max_pages", "{s}");

    let out = Trawl::crawl(&base, &store)
        .args(["--workers", "1", "--max-pages", "50", "--json"])
        .run()
        .success();
    let s = summary(&out);
    assert_eq!(s["exit_reason"], "max_pages", "{s}");
    assert_eq!(s["resumed_pages"].as_u64(), Some(first as u64), "{s}");
    assert!(s["pages"].as_u64().is_some_and(|p| p >= 25), "a higher limit continues: {s}");
    assert_eq!(query_jsonl(&store).len() as u64, first as u64 + s["pages"].as_u64().unwrap());
}

/// Issue 14 bug 5: after the coordinator is SIGKILLed, `status` and
/// `scale` say no crawl runs (naming the dead pid) and exit 1; `query`
/// reads the store.
#[test]
fn a_dead_crawls_advert_is_recognised() {
    let server = SiteServer::start(SiteSpec::with_pages(3000)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let running = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "1", "--concurrency", "1", "--delay", "0.01"])
        .spawn();
    wait_api(&store, &running);
    assert!(wait_until(Duration::from_secs(30), || server.page_hits() >= 5), "no progress");
    let pid = running.pid();
    let kids = children_of(pid);
    kill9(pid);
    for k in kids {
        kill9(k);
    }
    drop(running.wait_within(Duration::from_secs(10)));
    assert!(store.join("trawl-api.json").exists(), "the test needs the stale advert");

    let gone = format!("no crawl is running on {} (last one, pid {pid}, is gone)", store.display());
    for args in [&["status"][..], &["scale", "2"], &["status", "--json"]] {
        let out = Trawl::new(args[0]).args(&args[1..]).arg("--store").arg(&store).run();
        assert_eq!(out.code(), Some(1), "`{}`: {}", out.line, out.stderr);
        assert!(out.stderr.contains(&gone), "`{}` stderr:\n{}", out.line, out.stderr);
        assert!(!out.stderr.contains("reqwest"), "raw client error: {}", out.stderr);
    }
    let out = Trawl::new("query").arg("--store").arg(&store).run().success();
    assert!(!parse_jsonl(&out.stdout).is_empty(), "query read nothing from the store");
}

/// Issue 14 bug 2's last part: a crawl where no page succeeded says so and
/// exits 3 (the `--json` summary agrees).
#[test]
fn a_crawl_where_no_page_succeeded_exits_3() {
    let dir = TestDir::new();
    let store = dir.store();
    let port = free_port();
    let out = Trawl::crawl(&format!("http://127.0.0.1:{port}/"), &store)
        .args(["--json", "--retries", "0"])
        .run_within(Duration::from_secs(60));
    assert_eq!(out.code(), Some(3), "{}\n{}", out.stdout, out.stderr);
    let s = summary(&out);
    assert_eq!(s["exit_reason"], "no_page_succeeded", "{s}");
    assert_eq!(s["exit_code"], 3, "{s}");
    assert_eq!(s["succeeded"], 0, "{s}");
    assert!(out.stderr.contains("no page succeeded"), "{}", out.stderr);
}

/// The `--json` summary has every documented field, and the crawl's start
/// line names the dashboard.
#[test]
fn json_summary_is_complete_and_the_start_line_names_the_dashboard() {
    let server = SiteServer::start(SiteSpec::with_pages(30)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let out =
        Trawl::crawl(&server.base_url(), &store).args(["--workers", "2", "--json"]).run().success();
    let s = summary(&out);
    for key in [
        "exit_reason",
        "exit_code",
        "pages",
        "succeeded",
        "pages_per_sec",
        "elapsed_secs",
        "outcomes",
        "discovered",
        "left",
        "max_pages",
        "resumed_pages",
        "resumed_queue",
        "peak_on_disk",
        "worker_count",
        "workers",
        "restarts",
        "interrupted",
        "coordinator_cpu_secs",
        "worker_cpu_secs",
        "coordinator_peak_rss_bytes",
        "concurrency",
        "store",
    ] {
        assert!(s.get(key).is_some(), "summary lacks {key}: {s}");
    }
    assert_eq!(s["exit_reason"], "finished");
    assert_eq!(s["pages"], 30, "{s}");
    assert_eq!(s["outcomes"]["ok"], 30, "{s}");
    assert_eq!(s["worker_count"], 2, "{s}");
    assert_eq!(s["workers"].as_array().map(Vec::len), Some(2), "{s}");
    assert!(
        out.stderr.contains("dashboard http://127.0.0.1:"),
        "no start line naming the dashboard:\n{}",
        out.stderr
    );
}

/// `/metrics` of a live crawl follows the Prometheus conventions.
#[test]
fn metrics_follow_prometheus_conventions() {
    let live = SlowCrawl::start(1500, "0.02", &[]);
    live.wait_pages(10);
    let SlowCrawl { site: _site, dir: _dir, crawl, addr } = live;
    let text = get(&addr, "/metrics", None).text();
    let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let typed = |name: &str, kind: &str| {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} is not a {kind}:\n{text}"
        );
    };
    typed("trawl_pages_total", "counter");
    typed("trawl_bytes_total", "counter");
    typed("trawl_outcomes_total", "counter");
    typed("trawl_responses_total", "counter");
    typed("trawl_fetch_duration_seconds", "histogram");
    typed("trawl_build_info", "gauge");
    typed("process_cpu_seconds_total", "counter");
    typed("process_resident_memory_bytes", "gauge");
    typed("process_start_time_seconds", "gauge");
    assert!(!text.contains("pid=\""), "pid labels:\n{text}");
    assert!(!text.contains("per_second "), "speeds are rate()'s job:\n{text}");
    let count = metric(&samples, "trawl_fetch_duration_seconds_count");
    assert!(count >= 10.0, "histogram count {count}");
    let inf = samples
        .iter()
        .find(|s| {
            s.name == "trawl_fetch_duration_seconds_bucket"
                && s.labels.get("le").map(String::as_str) == Some("+Inf")
        })
        .expect("+Inf bucket");
    assert!((inf.value - count).abs() < f64::EPSILON, "+Inf bucket {} != count {count}", inf.value);
    let ok_2xx = samples
        .iter()
        .find(|s| {
            s.name == "trawl_responses_total"
                && s.labels.get("class").map(String::as_str) == Some("2xx")
        })
        .expect("2xx class");
    assert!(ok_2xx.value >= 10.0, "{ok_2xx:?}");
    assert!(metric(&samples, "process_resident_memory_bytes") > 1e6);
    sigint(crawl.pid());
    crawl.wait_within(Duration::from_secs(30)).success();
}

/// `trawl extract` runs the worker's rules on one page, fetched or read
/// from a file, and bad rules are usage errors.
#[test]
fn extract_runs_rules_on_one_page() {
    let server = SiteServer::start(SiteSpec::with_pages(50)).expect("site");
    let spec = server.spec().clone();
    let out = Trawl::new("extract")
        .arg(server.base_url())
        .args(["--extract", "posts=a.post-item-title@href+text*", "--extract", "h=h1"])
        .run()
        .success();
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["title"], spec.title(0), "{v}");
    let posts = v["fields"]["posts"].as_array().expect("posts is an array");
    assert_eq!(posts.len(), spec.posts(0).len(), "{v}");
    assert!(posts[0][0].as_str().is_some_and(|u| u.starts_with("http://127.0.0.1:")), "{v}");

    let dir = TestDir::new();
    let file = dir.path("page.html");
    std::fs::write(&file, "<title>T</title><h1> Hello </h1><a href=\"/x\">x</a>").unwrap();
    let out = Trawl::new("extract")
        .args(["--file"])
        .arg(&file)
        .args(["--base", "http://example.test/a/", "--extract", "h=h1", "--extract", "l=a@href"])
        .run()
        .success();
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["fields"]["h"], "Hello", "{v}");
    assert_eq!(v["fields"]["l"], "http://example.test/x", "{v}");

    let out = Trawl::new("extract").arg(server.base_url()).args(["--extract", "x=a[@href"]).run();
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    let out = Trawl::new("extract").args(["ftp://127.0.0.1/", "--extract", "h=h1"]).run();
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("ftp://127.0.0.1/"), "{}", out.stderr);
}

/// `trawl serve-site` prints its URL, serves the site, and ends on SIGINT.
#[test]
fn serve_site_serves_until_interrupted() {
    let mut child = Command::new(trawl_bin())
        .args(["serve-site", "--pages", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("read");
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let page = get(addr, "/", None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<a "), "not the generated site");
    assert!(signal(child.id(), libc::SIGINT), "kill(SIGINT)");
    let ended = wait_until(Duration::from_secs(10), || child.try_wait().ok().flatten().is_some());
    if !ended {
        let _ = child.kill();
    }
    assert!(ended, "serve-site ignored SIGINT");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

/// Completions and the man page come from the same definition as --help;
/// `trawl crawl --help` documents the exit codes.
#[test]
fn completions_man_page_and_exit_codes_in_help() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Trawl::new("completions").arg(shell).run().success();
        assert!(out.stdout.contains("serve-site") && out.stdout.len() > 1000, "{shell}");
    }
    let out = Trawl::new("completions").arg("tcsh").run();
    assert_eq!(out.code(), Some(2));
    let out = Trawl::new("man").run().success();
    assert!(out.stdout.starts_with(".ie") || out.stdout.contains(".TH trawl"), "{}", out.stdout);
    let out = Trawl::new("crawl").arg("--help").run().success();
    for code in ["0 ", "1 ", "2 ", "3 ", "130 "] {
        assert!(out.stdout.lines().any(|l| l.trim_start().starts_with(code)), "{code}");
    }
    assert!(out.stdout.contains("143"), "{}", out.stdout);
    assert!(out.stdout.contains("Exit codes:"), "{}", out.stdout);
}

/// `trawl demo --serve` keeps the site, the store and the dashboard (the
/// finished crawl's status, live queries) up until Ctrl-C.
#[test]
fn demo_serve_keeps_the_dashboard_up_until_interrupted() {
    let dir = TestDir::new();
    let store = dir.store();
    let running = Trawl::new("demo")
        .args(["--pages", "30", "--workers", "1", "--serve", "--store"])
        .arg(&store)
        .spawn();
    let mut addr = None;
    let finished = wait_until(Duration::from_secs(60), || {
        addr = api_addr(&store);
        // The crawl's own API comes and goes first: tolerate refusals.
        addr.as_deref()
            .is_some_and(|a| raw_get(a, "/api/status").contains("\"state\":\"finished\""))
    });
    assert!(finished, "no finished crawl's API advertised");
    let addr = addr.unwrap();
    assert_eq!(get(&addr, "/api/status", None).json()["pages"], 30);
    let dashboard = get(&addr, "/", None);
    assert_eq!(dashboard.status, 200);
    // The store is held by the demo: a query goes through its API.
    let out = Trawl::new("query").arg("--store").arg(&store).run().success();
    assert_eq!(parse_jsonl(&out.stdout).len(), 30);
    assert!(signal(running.pid(), libc::SIGINT), "kill(SIGINT)");
    let out = running.wait_within(Duration::from_secs(20));
    assert_eq!(out.code(), Some(0), "{}", tail(&out.stderr, 2000));
    assert!(!store.join("trawl-api.json").exists(), "the advert outlived the demo");
    assert!(!out.stdout.contains("which must be"), "{}", out.stdout);
}

/// `GET target` on `addr`, the whole response as text; empty if the
/// connection fails (for polling an API that may be going away).
fn raw_get(addr: &str, target: &str) -> String {
    use std::io::{Read as _, Write as _};
    let Ok(mut conn) = std::net::TcpStream::connect(addr) else { return String::new() };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if conn.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = conn.read_to_string(&mut out);
    out
}
