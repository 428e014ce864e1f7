//! The bench's side of `trawl bench-site`: start it, learn its address,
//! read its CPU time from `/proc/<pid>/stat`, stop it and collect its hits.

use crate::cmd::bench_site::{LISTENING, SiteHits};
use anyhow::{Context as _, bail};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;
use trawl_common::process;

/// What a site process serves.
#[derive(Debug, Clone)]
pub(crate) struct SiteShape {
    /// Pages per host.
    pub(crate) pages: u32,
    pub(crate) links_per_page: u32,
    pub(crate) posts_per_page: u32,
    pub(crate) page_bytes: u32,
    /// Hosts (ports of 127.0.0.1), each serving `pages` pages.
    pub(crate) hosts: u32,
    /// Latency added to every response (mean).
    pub(crate) latency: Duration,
    /// Latency jitter, a fraction.
    pub(crate) jitter: f64,
    /// Record per-host request times and report the gaps.
    pub(crate) timeline: bool,
}

impl SiteShape {
    /// The default site (44 KB pages, 60 links) with `pages` pages and
    /// `links_per_page` links.
    pub(crate) fn pages(pages: u32, links_per_page: u32) -> Self {
        let spec = trawl_site::SiteSpec::default();
        Self {
            pages,
            links_per_page,
            posts_per_page: spec.posts_per_page,
            page_bytes: u32::try_from(spec.page_bytes).unwrap_or(u32::MAX),
            hosts: 1,
            latency: Duration::ZERO,
            jitter: 0.0,
            timeline: false,
        }
    }
}

/// A running site process.
pub(crate) struct SiteProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    base_urls: Vec<String>,
    cpu0: f64,
}

impl SiteProcess {
    /// Starts `trawl bench-site` serving `shape` and waits until it
    /// listens.
    pub(crate) fn start(shape: &SiteShape) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating the trawl executable")?;
        let mut command = Command::new(exe);
        command
            .args(["bench-site", "--pages", &shape.pages.to_string()])
            .args(["--links-per-page", &shape.links_per_page.to_string()])
            .args(["--posts-per-page", &shape.posts_per_page.to_string()])
            .args(["--page-bytes", &shape.page_bytes.to_string()])
            .args(["--hosts", &shape.hosts.to_string()])
            .args(["--latency", &format!("{}us", shape.latency.as_micros())])
            .args(["--jitter", &shape.jitter.to_string()]);
        if shape.timeline {
            command.arg("--timeline");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the site process")?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("site process has no stdio pipes");
        };
        let mut site = Self {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            base_urls: Vec::new(),
            cpu0: 0.0,
        };
        let line = site.line().context("waiting for the site process to listen")?;
        let Some(urls) = line.trim().strip_prefix(LISTENING) else {
            bail!("site process said {line:?} instead of its address");
        };
        site.base_urls = urls.split(' ').map(str::to_owned).collect();
        site.cpu0 = process::cpu_seconds_of_pid(site.child.id()).unwrap_or(0.0);
        Ok(site)
    }

    fn line(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("site process exited early");
        }
        Ok(line)
    }

    /// `http://127.0.0.1:PORT/` of the first host.
    pub(crate) fn base_url(&self) -> &str {
        self.base_urls.first().map_or("", String::as_str)
    }

    /// `http://127.0.0.1:PORT/` of every host.
    pub(crate) fn base_urls(&self) -> &[String] {
        &self.base_urls
    }

    /// The site process's id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds the site used since it started listening.
    pub(crate) fn cpu_secs(&self) -> f64 {
        process::cpu_seconds_of_pid(self.child.id()).map_or(0.0, |c| c - self.cpu0)
    }

    /// Stops the site and returns what it served.
    pub(crate) fn finish(mut self) -> anyhow::Result<SiteHits> {
        drop(self.stdin.take());
        let line = self.line().context("reading the site's request counts")?;
        let hits =
            serde_json::from_str(line.trim()).context("parsing the site's request counts")?;
        self.child.wait().context("waiting for the site process")?;
        Ok(hits)
    }
}

impl Drop for SiteProcess {
    fn drop(&mut self) {
        // Normally already reaped by `finish`; this covers error paths.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
