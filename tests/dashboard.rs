//! The live HTML dashboard (`GET /`), rendered by headless Chromium: its
//! script polls `/api/status` and fills the counters, tables, the outcome
//! chart and the progress bar, so a DOM dumped twice during a crawl shows
//! the page count growing, the worker and host tables filled, and with
//! `--api-token` it works only when the page is opened with `?token=`.
//! Its pause button is pressed through `?press=pause` (the same code the
//! button runs); the run controls (`POST /api/pause`, `/api/resume`,
//! `/api/stop`) are checked over HTTP too.

use crate::harness::*;
use scraper::{Html, Selector};
use std::path::Path;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The DOM of `url` after Chromium ran its scripts for ~3 s of virtual
/// time; the browser is killed (its whole process group) after 45 s.
fn dump_dom(url: &str) -> Html {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing; the dashboard test needs Debian's chromium: apt-get install chromium"
    );
    assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
    let profile = tempfile::Builder::new().prefix("trawl-chromium-").tempdir().unwrap();
    let mut cmd = std::process::Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-proxy-server",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(["--virtual-time-budget=3000", "--dump-dom", url])
    .env_remove("http_proxy")
    .env_remove("HTTP_PROXY")
    .env_remove("all_proxy")
    .env_remove("ALL_PROXY");
    let (ok, out, err) =
        run_bounded(cmd, Duration::from_secs(45)).unwrap_or_else(|e| panic!("{e}"));
    let dom = String::from_utf8_lossy(&out).into_owned();
    assert!(
        ok && dom.contains("</html>"),
        "chromium failed on {url}:\n{}\n{dom}",
        tail(&err, 3000)
    );
    Html::parse_document(&dom)
}

fn text(dom: &Html, css: &str) -> String {
    let sel = Selector::parse(css).unwrap();
    dom.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .unwrap_or_default()
}

/// Rows of a table's body, as cell texts.
fn rows(dom: &Html, table: &str) -> Vec<Vec<String>> {
    let tr = Selector::parse(&format!("#{table} tbody tr")).unwrap();
    let td = Selector::parse("td").unwrap();
    dom.select(&tr)
        .map(|r| r.select(&td).map(|c| c.text().collect::<String>().trim().to_owned()).collect())
        .collect()
}

/// An attribute of the first element matching `css`.
fn attr(dom: &Html, css: &str, name: &str) -> Option<String> {
    let sel = Selector::parse(css).unwrap();
    dom.select(&sel).next().and_then(|e| e.value().attr(name)).map(str::to_owned)
}

/// The chart's bars: (outcome, count) per stacked segment.
fn chart(dom: &Html) -> Vec<(String, u64)> {
    let sel = Selector::parse("#timeline rect[data-outcome]").unwrap();
    dom.select(&sel)
        .map(|r| {
            let kind = r.value().attr("data-outcome").unwrap_or_default().to_owned();
            let n = r.value().attr("data-count").and_then(|c| c.parse().ok()).unwrap_or(0);
            (kind, n)
        })
        .collect()
}

fn pages_in(dom: &Html) -> u64 {
    let t = text(dom, "#pages");
    t.parse().unwrap_or_else(|_| panic!("#pages is {t:?}, state {:?}", text(dom, "#state")))
}

#[test]
fn dashboard_shows_a_running_crawl() {
    let live = SlowCrawl::start(2000, "0.02", &[]);
    live.wait_pages(10);
    let SlowCrawl { site: server, dir: _dir, crawl, addr } = live;
    let status_pages = || api_pages(&addr);

    let before = status_pages();
    let first = dump_dom(&format!("http://{addr}/"));
    let p1 = pages_in(&first);
    std::thread::sleep(Duration::from_secs(2));
    let second = dump_dom(&format!("http://{addr}/"));
    let after = status_pages();
    let p2 = pages_in(&second);
    assert!(running(crawl.pid()), "the crawl ended during the test; slow it down");
    assert!(
        before <= p1 && p1 < p2 && p2 <= after,
        "#pages {p1} then {p2}; /api/status said {before} before and {after} after"
    );

    for dom in [&first, &second] {
        assert_eq!(text(dom, "#state"), "running");
        assert_eq!(text(dom, "#workers"), "1 / 1");
        let queued: u64 = text(dom, "#queued").parse().expect("#queued");
        assert!(queued > 0, "#queued {queued}");
        assert!(text(dom, "#rate").parse::<f64>().is_ok(), "#rate {:?}", text(dom, "#rate"));
        assert!(
            text(dom, "#inflight").parse::<u64>().is_ok(),
            "#inflight {:?}",
            text(dom, "#inflight")
        );
        let workers = rows(dom, "worker-table");
        let kids: Vec<String> =
            worker_children(crawl.pid()).iter().map(|k| k.pid.to_string()).collect();
        assert_eq!(workers.len(), 1, "worker table: {workers:?}");
        assert_eq!(workers[0].len(), 7, "worker row: {:?}", workers[0]);
        assert_eq!(
            vec![workers[0][1].clone()],
            kids,
            "worker pid in the table vs the crawl's worker"
        );
        let wpages: u64 = workers[0][2].parse().expect("worker pages");
        assert!(wpages > 0 && wpages <= p2, "worker pages {wpages}");
        assert_eq!(workers[0][6], "running");
        let hosts = rows(dom, "host-table");
        assert_eq!(hosts.len(), 1, "host table: {hosts:?}");
        assert_eq!(hosts[0][0], authority(&server.base_url()));
        assert!(hosts[0][1].parse::<u64>().is_ok_and(|q| q > 0), "host row {:?}", hosts[0]);
        assert!(rows(dom, "error-table").is_empty(), "no errors on the generated site");
        // The outcome chart: stacked bars of `ok` pages, no more than stored.
        let bars = chart(dom);
        let charted: u64 = bars.iter().map(|(_, n)| n).sum();
        assert!(
            bars.iter().all(|(k, n)| k == "ok" && *n > 0) && charted > 0 && charted <= after,
            "chart {bars:?}, {after} pages"
        );
        assert!(text(dom, "#legend").starts_with("ok "), "legend {:?}", text(dom, "#legend"));
        // Without --max-pages there is no bar, and the text says why.
        assert_eq!(attr(dom, "#progress", "class").as_deref(), Some("none"));
        assert!(
            text(dom, "#progress-text").starts_with("no --max-pages limit"),
            "{:?}",
            text(dom, "#progress-text")
        );
        assert_eq!(text(dom, "#eta"), "");
    }
    sigint(crawl.pid());
    crawl.wait_within(Duration::from_secs(30)).success();
}

#[test]
fn dashboard_uses_the_token_from_its_url() {
    let token = "dash-token-42";
    let mut q = QuietCrawl::start(30, &["--api-token", token]);
    let with = dump_dom(&format!("http://{}/?token={token}", q.addr));
    assert_eq!(text(&with, "#state"), "running");
    assert_eq!(pages_in(&with), 30);
    assert_eq!(text(&with, "#inflight"), "1");
    assert_eq!(rows(&with, "worker-table").len(), 1);
    // Without the token the data requests are refused and the page says so.
    let without = dump_dom(&format!("http://{}/", q.addr));
    assert_eq!(text(&without, "#state"), "finished or unreachable");
    assert_eq!(pages_in(&without), 0);
    assert!(rows(&without, "worker-table").is_empty());
    let wrong = dump_dom(&format!("http://{}/?token=nope", q.addr));
    assert_eq!(text(&wrong, "#state"), "finished or unreachable");
    q.finish();
}

/// A second run on a store: `--max-pages` counts the first run's pages
/// too, and the bar says so.
#[test]
fn dashboard_shows_progress_toward_max_pages_with_an_eta() {
    let server = SiteServer::start(SiteSpec::with_pages(2000)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "1", "--max-pages", "20"])
        .run_within(Duration::from_secs(60))
        .success();
    let missing = format!("{}no-such-page", server.base_url());
    let crawl = Trawl::crawl(&server.base_url(), &store)
        .arg(&missing)
        .args(["--workers", "1", "--concurrency", "2", "--delay", "0.03", "--max-pages", "1500"])
        .spawn();
    let addr = await_api(&store, &crawl);
    let status = || get(&addr, "/api/status", None).json();
    assert!(
        wait_until(Duration::from_secs(30), || status()["pages"].as_u64().unwrap_or(0) >= 10),
        "no progress"
    );
    let before = status();
    assert_eq!(before["max_pages"], 1500);
    let earlier = before["resumed_pages"].as_u64().unwrap();
    assert!(earlier >= 20, "pages of the first run: {before}");
    let dom = dump_dom(&format!("http://{addr}/"));
    let after = status()["pages"].as_u64().unwrap();
    assert!(running(crawl.pid()), "the crawl ended during the test; slow it down");

    assert_eq!(attr(&dom, "#progress", "class").as_deref(), Some(""), "the bar shows");
    let shown = pages_in(&dom);
    let line = text(&dom, "#progress-text");
    let done = shown + earlier;
    let pct = done as f64 / 1500.0 * 100.0;
    assert_eq!(line, format!("{done} / 1500 pages ({pct:.1}%), {earlier} from earlier runs"));
    // The page sets one decimal; the browser serializes 6.0% as 6%.
    let style = attr(&dom, "#progress-bar", "style").unwrap_or_default();
    let width: f64 = style
        .strip_prefix("width: ")
        .and_then(|w| w.strip_suffix("%;"))
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("#progress-bar style {style:?}"));
    assert!((width - pct).abs() < 0.051, "bar width {width}% for {done} pages ({pct:.1}%)");
    let eta = text(&dom, "#eta");
    let eta_value = eta.strip_prefix("ETA ").unwrap_or_else(|| panic!("#eta {eta:?}"));
    assert!(
        eta_value.ends_with(" s") && eta_value.starts_with(|c: char| c.is_ascii_digit()),
        "#eta {eta:?}"
    );
    // The 404 seed is an error, in the table, the card and the chart.
    let errors = rows(&dom, "error-table");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0][..3], [missing.clone(), "http_error".into(), "404".into()]);
    assert_eq!(text(&dom, "#errors"), "1");
    let bars = chart(&dom);
    assert_eq!(bars.iter().filter(|(k, _)| k == "http_error").map(|(_, n)| n).sum::<u64>(), 1);
    let charted: u64 = bars.iter().map(|(_, n)| n).sum();
    assert!(before["pages"].as_u64().unwrap() <= shown && shown <= after, "{shown} pages shown");
    assert_eq!(charted, shown, "the chart holds every page of a crawl under 5 minutes: {bars:?}");

    sigint(crawl.pid());
    crawl.wait_within(Duration::from_secs(30)).success();
}

/// Pause from the page (with the token), see it hold, resume and scale
/// from the page, then stop over the API: the crawl drains and exits 0.
#[test]
fn dashboard_pauses_resumes_and_scales_a_crawl_and_the_api_stops_it() {
    let token = "ctl-token-7";
    let server = SiteServer::start(SiteSpec::with_pages(2000)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let crawl = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "1", "--concurrency", "2", "--delay", "0.02", "--api-token", token])
        .spawn();
    let addr = await_api(&store, &crawl);
    let status = || get(&addr, "/api/status", Some(token)).json();
    let pages = || status()["pages"].as_u64().unwrap_or(0);
    assert!(wait_until(Duration::from_secs(30), || pages() >= 10), "no progress");
    let workers: Vec<u32> = worker_children(crawl.pid()).iter().map(|k| k.pid).collect();

    // The controls need the token like every data route.
    for t in [None, Some("nope")] {
        for path in ["/api/pause", "/api/resume", "/api/stop"] {
            let r = post_json(&addr, path, "", t);
            assert_eq!(r.status, 401, "{path} with token {t:?}: {}", r.text());
        }
    }
    assert_eq!(status()["state"], "running", "refused requests changed nothing");

    let dom = dump_dom(&format!("http://{addr}/?token={token}&press=pause"));
    assert_eq!(text(&dom, "#state"), "paused");
    assert_eq!(text(&dom, "#pause"), "Resume");
    assert!(text(&dom, "#control-msg").starts_with("paused"), "{:?}", text(&dom, "#control-msg"));
    assert_eq!(status()["state"], "paused");
    // In-flight fetches finish; then nothing moves.
    assert!(
        wait_until(Duration::from_secs(30), || status()["in_flight"] == 0),
        "leases still in flight while paused: {}",
        status()
    );
    let held = pages();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(pages(), held, "pages were fetched while paused");
    let now: Vec<u32> = worker_children(crawl.pid()).iter().map(|k| k.pid).collect();
    assert_eq!(now, workers, "the workers stay up while paused");
    let again = dump_dom(&format!("http://{addr}/?token={token}"));
    assert_eq!((text(&again, "#state"), pages_in(&again)), ("paused".to_owned(), held));

    let resumed = dump_dom(&format!("http://{addr}/?token={token}&press=resume"));
    assert_eq!(text(&resumed, "#state"), "running");
    assert_eq!(text(&resumed, "#pause"), "Pause");
    assert!(wait_until(Duration::from_secs(30), || pages() > held), "no progress after resume");

    // The scale input and button.
    let scaled = dump_dom(&format!("http://{addr}/?token={token}&press=scale&workers=2"));
    assert_eq!(text(&scaled, "#control-msg"), "target workers 2");
    assert!(text(&scaled, "#workers").ends_with(" / 2"), "{:?}", text(&scaled, "#workers"));
    assert_eq!(status()["target_workers"], 2);
    assert!(
        wait_until(Duration::from_secs(30), || worker_children(crawl.pid()).len() == 2),
        "no second worker"
    );

    // Pause and resume are idempotent over the API; stop drains.
    let r = post_json(&addr, "/api/pause", "", Some(token));
    assert_eq!((r.status, r.json()["state"].clone()), (200, "paused".into()), "{}", r.text());
    let r = post_json(&addr, "/api/pause", "", Some(token));
    assert_eq!(r.json()["state"], "paused");
    let r = post_json(&addr, "/api/stop", "", Some(token));
    assert_eq!((r.status, r.json()["state"].clone()), (200, "draining".into()), "{}", r.text());
    assert!(r.json()["in_flight"].is_u64(), "{}", r.text());
    crawl.wait_within(Duration::from_secs(30)).success();
    let stored = query_jsonl(&store).len() as u64;
    assert!(stored > held && stored < 2000, "{stored} pages stored; the stop came early");
}

/// `POST /api/stop` is the first Ctrl-C: it waits for the fetch in flight
/// (a URL that hangs), refuses pause and resume meanwhile (409 naming the
/// state), and the crawl exits 0 once that fetch ends.
#[test]
fn api_stop_drains_the_fetch_in_flight_and_refuses_resume() {
    let mut q = QuietCrawl::start(12, &[]);
    let r = post_json(&q.addr, "/api/stop", "", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({ "state": "draining", "in_flight": 1 }));
    for path in ["/api/resume", "/api/pause"] {
        let r = post_json(&q.addr, path, "", None);
        assert_eq!(r.status, 409, "{path}: {}", r.text());
        assert!(r.text().contains("draining"), "{path}: {}", r.text());
    }
    let r = post_json(&q.addr, "/api/stop", "", None);
    assert_eq!(r.json()["state"], "draining", "a second API stop does not stop at once");
    std::thread::sleep(Duration::from_millis(500));
    assert!(running(q.pid()), "the crawl did not wait for its fetch in flight");
    let status = get(&q.addr, "/api/status", None).json();
    assert_eq!(
        (status["state"].as_str(), status["in_flight"].as_u64()),
        (Some("draining"), Some(1))
    );
    q.finish();
    let hang = query_jsonl(&q.store()).into_iter().find(|p| s(p, "url") == q.hang_url);
    assert!(hang.is_some(), "the fetch in flight was stored");
}
