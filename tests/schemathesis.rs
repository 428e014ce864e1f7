//! Issue 14: the OpenAPI document describes exactly what the server
//! accepts. schemathesis (PyPI; `.ci/run` installs it) generates requests
//! from a live crawl's `/api/openapi.json` and runs every check against the
//! real server, so the document and the server cannot drift apart.
//!
//! Accepted gaps, excluded one check on one operation at a time in
//! `support/schemathesis.toml` (see the reasons there): out-of-scope seeds
//! on `POST /api/seeds`, and the safe regex/glob subset the `/api/pages`
//! patterns describe. Two operations are left out because of what they
//! do, not what they accept: `POST /api/stop` ends the crawl under test,
//! and `POST /api/workers` would fork up to 256 workers on a shared
//! machine; `api::` tests cover their validation.

use crate::harness::*;
use std::process::Command;
use std::time::Duration;

/// The config file with the narrow exclusions, next to this module.
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/schemathesis.toml");

#[test]
fn schemathesis_finds_no_mismatch_between_openapi_and_server() {
    let st = Command::new("st").arg("--version").output();
    assert!(
        st.is_ok_and(|o| o.status.success()),
        "schemathesis is needed (`st` on PATH): python3 -m pip install schemathesis"
    );
    // 300 pages at one per 0.5 s: the crawl outlives the run by far.
    let live = SlowCrawl::start(300, "0.5", &[]);
    let schema = format!("http://{}/api/openapi.json", live.addr);
    let mut cmd = Command::new("st");
    // It writes a `.schemathesis/` cache into its working directory.
    cmd.current_dir(live.dir.path("."));
    cmd.arg("--config-file").arg(CONFIG).arg("run").arg(&schema).args([
        "--max-examples",
        "10",
        "--seed",
        "1",
        "--max-time",
        "70",
        "--request-timeout",
        "10",
        "--exclude-path",
        "/api/stop",
        "--exclude-path",
        "/api/workers",
        "--no-color",
    ]);
    let (ok, stdout, stderr) = run_bounded(cmd, Duration::from_secs(110))
        .unwrap_or_else(|e| panic!("schemathesis did not finish: {e}"));
    let stdout = String::from_utf8_lossy(&stdout);
    assert!(
        ok,
        "schemathesis found mismatches between {schema} and the server:\n{}\n{}",
        tail(&stdout, 8000),
        tail(&stderr, 2000)
    );
    // It really tested the API (not, say, a schema it could not load).
    let tested = stdout
        .split_once("Tested: ")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse::<u32>().ok());
    assert!(tested >= Some(8), "{}", tail(&stdout, 3000));
    assert!(running(live.crawl.pid()), "the crawl ended during the run; slow it down");
}
