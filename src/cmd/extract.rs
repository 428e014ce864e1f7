//! `trawl extract`: run `--extract` rules on one page and print what they
//! find, like `scrapy shell`, so rules can be tried before a crawl. The
//! rules go through the worker's own extraction code
//! ([`trawl_worker::extract::extract`]), so what is printed is what a crawl
//! would store.

use super::exit::USAGE;
use crate::cli::ExtractArgs;
use anyhow::Context as _;
use std::process::ExitCode;
use std::time::Duration;
use trawl_common::url::{Scope, ScopeKind};
use trawl_worker::extract::{self, Rules};
use url::Url;

/// Fetch timeout for the page.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest page read.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// The page to extract from: bytes, where they came from, their type.
struct Page {
    url: Url,
    status: Option<u16>,
    content_type: Option<String>,
    body: Vec<u8>,
}

pub(crate) fn run(args: &ExtractArgs) -> anyhow::Result<ExitCode> {
    let mut rules = Vec::with_capacity(args.extract.len());
    let mut names = std::collections::HashSet::new();
    for (name, rule) in &args.extract {
        if !names.insert(name.as_str()) {
            super::out::error(&format!("invalid --extract: field {name:?} is given twice"));
            return Ok(ExitCode::from(USAGE));
        }
        match rule.resolve(name) {
            Ok(r) => rules.push(r),
            Err(e) => {
                super::out::error(&e.to_string());
                return Ok(ExitCode::from(USAGE));
            }
        }
    }
    let page = match (&args.url, &args.file) {
        (_, Some(file)) => {
            let body =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let url = match &args.base {
                Some(b) => match Url::parse(b) {
                    Ok(u) => u,
                    Err(e) => {
                        super::out::error(&format!("invalid --base {b:?}: {e}"));
                        return Ok(ExitCode::from(USAGE));
                    }
                },
                None => {
                    let abs = std::path::absolute(file)?;
                    Url::from_file_path(&abs)
                        .map_err(|()| anyhow::anyhow!("{} is not a file path", abs.display()))?
                }
            };
            Page { url, status: None, content_type: None, body }
        }
        (Some(u), None) => {
            let url = match Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => url,
                Ok(_) => {
                    super::out::error(&format!("invalid URL {u:?}: only http and https"));
                    return Ok(ExitCode::from(USAGE));
                }
                Err(e) => {
                    super::out::error(&format!("invalid URL {u:?}: {e}"));
                    return Ok(ExitCode::from(USAGE));
                }
            };
            fetch(url)?
        }
        (None, None) => unreachable!("clap requires a URL or --file"),
    };
    let html = extract::decode(&page.body, page.content_type.as_deref());
    let scope = Scope::new(ScopeKind::Any, std::slice::from_ref(&page.url)).matcher()?;
    let found = match extract::extract(&page.url, &html, &scope, &Rules::new(&rules, false)) {
        Ok(found) => found,
        Err(over) => {
            super::out::error(&format!(
                "parsing this page used {} ms of CPU, over its budget of {} ms",
                over.spent.as_millis(),
                over.limit.as_millis()
            ));
            return Ok(ExitCode::from(1));
        }
    };
    // The same JSON as `trawl query` prints for stored fields.
    let fields = trawl_coordinator::query::fields_json(&found.fields);
    let out = serde_json::json!({
        "url": page.url.as_str(),
        "status": page.status,
        "title": found.title,
        "links": found.links.len(),
        "noindex": found.noindex,
        "fields": fields,
    });
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, &out)?;
    std::io::Write::write_all(&mut stdout, b"\n")?;
    Ok(ExitCode::SUCCESS)
}

fn fetch(url: Url) -> anyhow::Result<Page> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(TIMEOUT)
            .user_agent(concat!("trawl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let resp =
            client.get(url.clone()).send().await.with_context(|| format!("fetching {url}"))?;
        let status = resp.status().as_u16();
        let final_url = resp.url().clone();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.with_context(|| format!("reading {url}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                anyhow::bail!("{url} is larger than {MAX_BYTES} bytes");
            }
        }
        Ok(Page { url: final_url, status: Some(status), content_type, body })
    })
}
