//! `trawl status`: `--cluster URL` reads the cluster's database; `--store
//! DIR` asks the running crawl's API as before.

use super::remote;
use crate::cli::{RemoteArgs, StatusArgs};
use anyhow::Context as _;
use std::io::Write as _;
use std::process::ExitCode;

pub(crate) fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let Some(url) = args.cluster else {
        let Some(store) = args.store else {
            eprintln!("trawl status: --store DIR or --cluster URL");
            return Ok(ExitCode::from(2));
        };
        return remote::status(&RemoteArgs { store, api_token: args.api_token, json: args.json });
    };
    if let Err(e) = trawl_common::config::sections::check_url(&url) {
        eprintln!("trawl status: --cluster: {e}");
        return Ok(ExitCode::from(2));
    }
    let s = trawl_coordinator::cluster_mode::status(&url).context("cluster database")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let machines: Vec<serde_json::Value> = s
            .machines
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id, "address": m.address, "partitions": m.partitions,
                    "heartbeat_age_secs": m.heartbeat_age_secs, "pages": m.pages,
                })
            })
            .collect();
        let outcomes: serde_json::Map<String, serde_json::Value> =
            s.outcomes.iter().map(|(k, v)| (k.clone(), (*v).into())).collect();
        let doc = serde_json::json!({
            "machines": machines, "pages": s.pages, "queued": s.queued, "outcomes": outcomes,
        });
        writeln!(out, "{doc}")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "cluster: {} pages, {} queued", s.pages, s.queued)?;
    writeln!(
        out,
        "{:<24} {:<20} {:>10} {:>10} {:>8}",
        "machine", "address", "partitions", "heartbeat", "pages"
    )?;
    for m in &s.machines {
        writeln!(
            out,
            "{:<24} {:<20} {:>10} {:>9.1}s {:>8}",
            m.id, m.address, m.partitions, m.heartbeat_age_secs, m.pages
        )?;
    }
    let outcomes: Vec<String> = s.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(out, "outcomes: {}", outcomes.join(", "))?;
    Ok(ExitCode::SUCCESS)
}
