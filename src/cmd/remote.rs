//! Talking to a running crawl through its API: `trawl status`,
//! `trawl scale`, and live `trawl query`. The crawl advertises its address
//! in the store directory (`trawl-api.json`, [`ApiAdvert`]); an advert
//! whose process is gone (a SIGKILLed crawl) counts as no crawl.

use super::exit;
use crate::cli::{RemoteArgs, ScaleArgs};
use anyhow::Context as _;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use trawl_coordinator::api::ApiAdvert;
use trawl_coordinator::control::StatusReport;

/// No crawl runs on the store: said in one sentence, exit 1.
#[derive(Debug)]
pub(crate) struct NotRunning {
    store: std::path::PathBuf,
    /// The pid of a dead crawl's leftover advert.
    stale_pid: Option<u32>,
}

impl std::fmt::Display for NotRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no crawl is running on {}", self.store.display())?;
        match self.stale_pid {
            Some(pid) => write!(f, " (last one, pid {pid}, is gone)"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for NotRunning {}

/// Where the store's crawl is: running at an advertised address, or not
/// running (perhaps with a dead crawl's advert left behind).
pub(crate) enum Lookup {
    Running(ApiAdvert),
    NotRunning(NotRunning),
}

impl Lookup {
    pub(crate) fn of(store: &Path) -> anyhow::Result<Self> {
        let advert = ApiAdvert::read(store)?;
        Ok(match advert {
            Some(a) if a.is_alive() => Self::Running(a),
            Some(a) => {
                tracing::info!(pid = a.pid, store = %store.display(), "stale API advert: its crawl is gone");
                Self::NotRunning(NotRunning { store: store.to_owned(), stale_pid: Some(a.pid) })
            }
            None => Self::NotRunning(NotRunning { store: store.to_owned(), stale_pid: None }),
        })
    }
}

/// The API answered, but with an error status: a final answer, not a
/// reason to retry.
#[derive(Debug)]
pub(crate) struct ApiRefused {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl std::fmt::Display for ApiRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the crawl's API answered {}: {}", self.status, self.body.trim())
    }
}

impl std::error::Error for ApiRefused {}

/// A running crawl's API.
pub(crate) struct Remote {
    base: String,
    token: Option<String>,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Remote {
    /// Finds the API of the crawl running on `store`, if one advertises
    /// and its process is alive.
    pub(crate) fn find(store: &Path, token: Option<String>) -> anyhow::Result<Option<Self>> {
        match Lookup::of(store)? {
            Lookup::Running(a) => Ok(Some(Self::at(&a, token)?)),
            Lookup::NotRunning(_) => Ok(None),
        }
    }

    fn at(advert: &ApiAdvert, token: Option<String>) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = reqwest::Client::builder().no_proxy().build()?;
        Ok(Self { base: advert.base_url(), token, rt, client })
    }

    fn require(store: &Path, token: Option<String>) -> Result<Self, anyhow::Error> {
        match Lookup::of(store)? {
            Lookup::Running(a) => Self::at(&a, token),
            Lookup::NotRunning(n) => Err(n.into()),
        }
    }

    fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        self.rt.block_on(async {
            let resp = req.send().await.context("the crawl's API did not answer")?;
            let status = resp.status();
            let body = resp.text().await?;
            if !status.is_success() {
                return Err(ApiRefused { status: status.as_u16(), body }.into());
            }
            Ok(body)
        })
    }

    /// GET a path; the body as text.
    pub(crate) fn get(&self, path_and_query: &str) -> anyhow::Result<String> {
        self.send(self.client.get(format!("{}{path_and_query}", self.base)))
    }

    /// GET a path, streaming the body into `out` as it arrives (an
    /// export can be larger than memory); an error status is
    /// [`ApiRefused`] and nothing is written.
    pub(crate) fn get_into(&self, path_and_query: &str, out: &mut dyn Write) -> anyhow::Result<()> {
        let req = self.client.get(format!("{}{path_and_query}", self.base));
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        self.rt.block_on(async {
            let mut resp = req.send().await.context("the crawl's API did not answer")?;
            let status = resp.status();
            if !status.is_success() {
                let body = resp.text().await?;
                return Err(ApiRefused { status: status.as_u16(), body }.into());
            }
            while let Some(chunk) = resp.chunk().await.context("the crawl's answer broke off")? {
                out.write_all(&chunk)?;
            }
            Ok(())
        })
    }

    fn post(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<String> {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
    }
}

/// Runs `f` against the store's crawl; "not running" is one line on
/// stderr and exit 1, not an error chain.
fn with_remote(
    args: &RemoteArgs,
    f: impl FnOnce(&Remote) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    match Remote::require(&args.store, args.api_token.clone()) {
        Ok(remote) => f(&remote),
        Err(e) if e.downcast_ref::<NotRunning>().is_some() => {
            super::out::error(&e.to_string());
            Ok(ExitCode::from(exit::FAILED))
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn status(args: &RemoteArgs) -> anyhow::Result<ExitCode> {
    with_remote(args, |remote| print_status(args, remote))
}

fn print_status(args: &RemoteArgs, remote: &Remote) -> anyhow::Result<ExitCode> {
    let body = remote.get("/api/status")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{body}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let s: StatusReport = serde_json::from_str(&body).context("parsing status")?;
    writeln!(
        out,
        "crawl pid {} {}: {} pages ({:.0} pages/s), {} queued ({} on disk), {} in flight, {} discovered",
        s.pid,
        s.state,
        s.pages,
        s.pages_per_sec,
        s.queued,
        s.queued_on_disk,
        s.in_flight,
        s.discovered
    )?;
    writeln!(
        out,
        "workers: {} (target {}), restarts {}, hung kills {}, poison pages {}",
        s.workers.len(),
        s.target_workers,
        s.restarts,
        s.hung_kills,
        s.poison
    )?;
    writeln!(
        out,
        "  {:<5} {:>8} {:>8} {:>8} {:>10} {:>9}  state",
        "id", "pid", "pages", "pages/s", "RSS", "in flight"
    )?;
    for w in &s.workers {
        writeln!(
            out,
            "  {:<5} {:>8} {:>8} {:>8.0} {:>7.1} MB {:>9}  {}",
            w.id,
            w.pid,
            w.pages,
            w.pages_per_sec,
            w.rss_bytes as f64 / 1_048_576.0,
            w.in_flight,
            w.state
        )?;
    }
    if !s.hosts.is_empty() {
        writeln!(out, "hosts with the most queued URLs:")?;
        for (host, queued) in &s.hosts {
            writeln!(out, "  {host:<40} {queued:>8} queued")?;
        }
    }
    if !s.recent_errors.is_empty() {
        writeln!(out, "recent errors:")?;
        for e in s.recent_errors.iter().rev().take(5) {
            let status = e.status.map_or_else(|| "-".to_owned(), |c| c.to_string());
            writeln!(
                out,
                "  {} {} {} {}",
                e.outcome,
                status,
                e.url,
                e.detail.as_deref().unwrap_or("")
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn scale(args: &ScaleArgs) -> anyhow::Result<ExitCode> {
    with_remote(&args.remote, |remote| {
        let body = remote.post("/api/workers", &serde_json::json!({ "workers": args.workers }))?;
        let mut out = std::io::stdout().lock();
        if args.remote.json {
            writeln!(out, "{}", body.trim())?;
        } else {
            let v: serde_json::Value = serde_json::from_str(&body).context("parsing the answer")?;
            let n = v.get("target_workers").and_then(serde_json::Value::as_u64).unwrap_or(0);
            writeln!(
                out,
                "scaling the crawl on {} to {}",
                args.remote.store.display(),
                super::out::plural(n, "worker", "workers")
            )?;
        }
        Ok(ExitCode::SUCCESS)
    })
}
