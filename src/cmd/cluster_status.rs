//! `trawl status`: `--cluster URL` reads the cluster's database; `--store
//! DIR` asks the running crawl's API as before.

use super::remote;
use crate::cli::{RemoteArgs, StatusArgs};
use anyhow::Context as _;
use std::io::Write as _;
use std::process::ExitCode;
use trawl_coordinator::cluster_mode::{ClusterStatus, PARTITIONS};

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
        writeln!(out, "{}", trawl_coordinator::cluster_mode::status_json(&s))?;
        return Ok(ExitCode::SUCCESS);
    }
    out.write_all(human(&s).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The human table: totals, one line per machine, outcomes.
fn human(s: &ClusterStatus) -> String {
    let mut t = format!(
        "cluster: {} pages, {} queued, {:.1} pages/s; {} of {} machines alive, {} of {} partitions held\n",
        s.pages,
        s.queued,
        s.pages_per_sec(),
        s.alive(),
        s.machines.len(),
        s.partitions_held,
        PARTITIONS,
    );
    if let Some(max) = s.max_pages.filter(|m| *m > 0) {
        let pct = (s.pages as f64 * 100.0 / max as f64).min(100.0);
        t.push_str(&format!("max pages: {} of {max} ({pct:.0}%)\n", s.pages.min(max)));
    }
    t.push_str(&format!(
        "{:<24} {:<20} {:>5} {:>10} {:>7} {:>8} {:>9} {:>8}\n",
        "machine", "address", "alive", "partitions", "workers", "pages/s", "heartbeat", "pages"
    ));
    for m in &s.machines {
        t.push_str(&format!(
            "{:<24} {:<20} {:>5} {:>10} {:>7} {:>8.1} {:>8.1}s {:>8}\n",
            m.id,
            m.address,
            if m.alive { "yes" } else { "no" },
            m.partitions,
            m.workers,
            m.pages_per_sec,
            m.heartbeat_age_secs,
            m.pages
        ));
    }
    let outcomes: Vec<String> = s.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    t.push_str(&format!("outcomes: {}\n", outcomes.join(", ")));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_coordinator::cluster_mode::MachineStatus;

    #[test]
    fn the_table_shows_every_machine_and_the_progress() {
        let m = |id: &str, alive| MachineStatus {
            id: id.into(),
            address: "host".into(),
            partitions: if alive { 512 } else { 0 },
            workers: 2,
            pages_per_sec: 10.5,
            heartbeat_age_secs: 0.4,
            alive,
            pages: 30,
        };
        let s = ClusterStatus {
            machines: vec![m("a", true), m("b", false)],
            pages: 60,
            queued: 7,
            urls: 67,
            outcomes: vec![("ok".into(), 59), ("http_error".into(), 1)],
            partitions_held: 512,
            max_pages: Some(100),
        };
        let t = human(&s);
        assert!(t.starts_with("cluster: 60 pages, 7 queued, 10.5 pages/s; 1 of 2 machines alive, 512 of 1024 partitions held\n"), "{t}");
        assert!(t.contains("max pages: 60 of 100 (60%)"), "{t}");
        assert!(t.contains("a                        host                   yes        512       2     10.5      0.4s       30"), "{t}");
        assert!(t.contains(" no "), "{t}");
        assert!(t.ends_with("outcomes: ok 59, http_error 1\n"), "{t}");
    }
}
