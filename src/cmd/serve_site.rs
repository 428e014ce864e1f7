//! `trawl serve-site`: the generated demo site on 127.0.0.1 until Ctrl-C,
//! to try trawl out (`trawl crawl <url>`, `trawl extract <url>`) against
//! a site that is always there and never leaves the machine.
//!
//! With `--change-every N` the site changes: `POST /_site/advance` moves
//! it to the next generation (pages change as `trawl_site::ChangeSpec`
//! says), `GET /_site/stats` reports its counters (conditional requests,
//! 304s, deleted pages served), so `trawl refresh` can be tried by hand.

use crate::cli::ServeSiteArgs;
use anyhow::Context as _;
use std::process::ExitCode;
use trawl_coordinator::api::signals;
use trawl_site::{ChangeSpec, ServeOptions, SiteServer, SiteSpec, Validators, ValidatorsBy};

/// How the served site changes over generations (`trawl_site::ChangeSpec`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ChangeArgs {
    /// Page i changes at generation g when (g + i) % N == 0, so 1/N of the
    /// pages change at each `POST /_site/advance` (0: never).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) change_every: u32,
    /// Changing pages with i % N == 0 change only markup, not the title,
    /// posts or links (0: none).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) cosmetic_every: u32,
    /// Pages i > 0 with i % N == 0 are deleted (404 or 410) from
    /// generation --delete-at on (0: none).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) delete_every: u32,
    /// The generation deleted pages disappear at.
    #[arg(long, default_value_t = 1, value_name = "G")]
    pub(crate) delete_at: u32,
    /// Validators, cycled over pages or hosts (--validators-by): a
    /// comma-separated list of etag, last-modified, both, none.
    #[arg(long, default_value = "etag,last-modified,none", value_name = "LIST",
          value_parser = parse_validators)]
    pub(crate) validators: ValidatorList,
    /// Whether --validators cycles over pages or hosts.
    #[arg(long, default_value = "page", value_name = "page|host", value_parser = parse_by)]
    pub(crate) validators_by: ValidatorsBy,
}

/// A parsed `--validators` list.
#[derive(Debug, Clone)]
pub(crate) struct ValidatorList(pub(crate) Vec<Validators>);

fn parse_validators(s: &str) -> Result<ValidatorList, String> {
    let one = |v: &str| match v.trim() {
        "etag" => Ok(Validators::ETag),
        "last-modified" => Ok(Validators::LastModified),
        "both" => Ok(Validators::Both),
        "none" => Ok(Validators::None),
        other => Err(format!("unknown validators {other:?} (etag, last-modified, both, none)")),
    };
    s.split(',').map(one).collect::<Result<_, _>>().map(ValidatorList)
}

fn parse_by(s: &str) -> Result<ValidatorsBy, String> {
    match s {
        "page" => Ok(ValidatorsBy::Page),
        "host" => Ok(ValidatorsBy::Host),
        other => Err(format!("{other:?} is neither page nor host")),
    }
}

impl ChangeArgs {
    /// The spec these flags describe.
    pub(crate) fn spec(&self) -> ChangeSpec {
        ChangeSpec {
            every: self.change_every,
            cosmetic_every: self.cosmetic_every,
            delete_every: self.delete_every,
            delete_at: self.delete_at,
            validators: self.validators.0.clone(),
            validators_by: self.validators_by,
        }
    }
}

pub(crate) fn run(args: &ServeSiteArgs) -> anyhow::Result<ExitCode> {
    let spec = SiteSpec { changes: args.changes.spec(), ..SiteSpec::with_pages(args.pages) };
    let options = ServeOptions { hosts: args.hosts, port: args.port, ..ServeOptions::default() };
    let server = SiteServer::start_with(spec, options)
        .with_context(|| format!("serving on 127.0.0.1:{}", args.port))?;
    let url = server.base_url();
    // The URLs alone on stdout (scripts read them); the help on stderr.
    super::out::line(&server.base_urls().join(" "));
    super::out::line_err(&format!(
        "trawl: serving a generated site of {} pages at {url} until Ctrl-C; try `trawl crawl {url} --store site.store`",
        args.pages
    ));
    if args.changes.change_every > 0 || args.changes.delete_every > 0 {
        super::out::line_err(&format!(
            "trawl: `curl -X POST {url}_site/advance` changes the site; `curl {url}_site/stats` counts requests"
        ));
    }
    let signal = signals::wait().map_err(anyhow::Error::msg)?;
    super::out::line_err(&format!(
        "trawl: stopped ({signal:?}); served {} page requests",
        server.page_hits()
    ));
    server.shutdown();
    Ok(ExitCode::SUCCESS)
}
