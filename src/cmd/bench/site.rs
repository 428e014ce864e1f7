//! The bench's side of `trawl bench-site`: start it, learn its address,
//! read its CPU time from `/proc/<pid>/stat`, stop it and collect its hits.

use crate::cmd::bench_site::{LISTENING, SiteHits};
use anyhow::{Context as _, bail};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use trawl_common::process;

/// A running site process.
pub(crate) struct SiteProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    base_url: String,
    cpu0: f64,
}

impl SiteProcess {
    /// Starts `trawl bench-site --pages N --links-per-page L` and waits
    /// until it listens.
    pub(crate) fn start(pages: u32, links_per_page: u32) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating the trawl executable")?;
        let mut child = Command::new(exe)
            .args(["bench-site", "--pages", &pages.to_string()])
            .args(["--links-per-page", &links_per_page.to_string()])
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
            base_url: String::new(),
            cpu0: 0.0,
        };
        let line = site.line().context("waiting for the site process to listen")?;
        let Some(url) = line.trim().strip_prefix(LISTENING) else {
            bail!("site process said {line:?} instead of its address");
        };
        site.base_url = url.to_owned();
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

    /// `http://127.0.0.1:PORT/`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
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
