//! The live HTML dashboard (`GET /`), rendered by headless Chromium: its
//! script polls `/api/status` and fills the counters and tables, so a
//! DOM dumped twice during a crawl shows the page count growing, the
//! worker and host tables filled, and with `--api-token` it works only
//! when the page is opened with `?token=`.

use crate::harness::*;
use crate::query_support::*;
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

fn pages_in(dom: &Html) -> u64 {
    let t = text(dom, "#pages");
    t.parse().unwrap_or_else(|_| panic!("#pages is {t:?}, state {:?}", text(dom, "#state")))
}

#[test]
fn dashboard_shows_a_running_crawl() {
    let server = SiteServer::start(SiteSpec::with_pages(2000)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    let crawl = Trawl::crawl(&server.base_url(), &store)
        .args(["--workers", "1", "--concurrency", "2", "--delay", "0.02"])
        .spawn();
    let addr = await_api(&store, &crawl);
    let status_pages = || get(&addr, "/api/status", None).json()["pages"].as_u64().unwrap_or(0);
    assert!(wait_until(Duration::from_secs(30), || status_pages() >= 10), "no progress");

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
