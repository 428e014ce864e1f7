//! Talking to a running crawl through its API: `trawl status`,
//! `trawl scale`, and live `trawl query`. The crawl advertises its address
//! in the store directory (`trawl-api.json`).

use crate::cli::{RemoteArgs, ScaleArgs};
use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use trawl_coordinator::api::API_FILE;
use trawl_coordinator::control::StatusReport;

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
    /// Finds the API of the crawl running on `store`, if one advertises.
    pub(crate) fn find(store: &Path, token: Option<String>) -> anyhow::Result<Option<Self>> {
        let file = store.join(API_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        let Some(addr) = v.get("addr").and_then(|a| a.as_str()) else {
            bail!("{} has no addr", file.display());
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = reqwest::Client::builder().no_proxy().build()?;
        Ok(Some(Self { base: format!("http://{addr}"), token, rt, client }))
    }

    fn require(store: &Path, token: Option<String>) -> anyhow::Result<Self> {
        Self::find(store, token)?
            .with_context(|| format!("no crawl is running on {} (no {API_FILE})", store.display()))
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

    fn post(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<String> {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
    }
}

pub(crate) fn status(args: &RemoteArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::require(&args.store, args.api_token.clone())?;
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
    let remote = Remote::require(&args.remote.store, args.remote.api_token.clone())?;
    let body = remote.post("/api/workers", &serde_json::json!({ "workers": args.workers }))?;
    println!("{body}");
    Ok(ExitCode::SUCCESS)
}
