//! `trawl export`: jsonl and csv are exactly what `trawl query` prints, and
//! the WARC 1.1 export (read back with Python's `warcio`, an independent
//! implementation) holds one `response` record per page whose body was
//! kept, with the stored URL, status and content type and the very bytes
//! the server sent.

use crate::harness::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use trawl_site::{SiteServer, SiteSpec};

/// Reads a WARC file with warcio: one JSON object per record, each
/// payload written to its own file in a directory; plus the number of
/// gzip members in the file.
const READ_WARC: &str = r#"
import json, os, sys, zlib
from warcio.archiveiterator import ArchiveIterator
path, outdir = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
members, rest = 0, data
while rest:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    d.decompress(rest)
    if not d.eof:
        sys.exit('truncated gzip member %d' % members)
    members += 1
    rest = d.unused_data
print(json.dumps({'gzip_members': members}))
with open(path, 'rb') as f:
    for n, rec in enumerate(ArchiveIterator(f)):
        h = rec.rec_headers
        out = {
            'version': h.protocol,
            'type': rec.rec_type,
            'uri': h.get_header('WARC-Target-URI'),
            'date': h.get_header('WARC-Date'),
            'id': h.get_header('WARC-Record-ID'),
            'content_type': h.get_header('Content-Type'),
        }
        if rec.rec_type == 'response':
            out['status'] = int(rec.http_headers.get_statuscode())
            out['status_line'] = rec.http_headers.protocol + ' ' + rec.http_headers.statusline
            out['http_content_type'] = rec.http_headers.get_header('Content-Type')
            out['http_content_length'] = rec.http_headers.get_header('Content-Length')
        if rec.rec_type == 'revisit':
            out['status'] = int(rec.http_headers.get_statuscode())
        for k in ('WARC-IP-Address', 'WARC-Concurrent-To', 'WARC-Block-Digest', 'WARC-Payload-Digest',
                  'WARC-Profile', 'WARC-Refers-To', 'WARC-Refers-To-Target-URI', 'WARC-Refers-To-Date'):
            out[k] = h.get_header(k)
        if rec.rec_type == 'response':
            out['http_headers'] = [[k, v] for k, v in rec.http_headers.headers]
        if rec.rec_type == 'request':
            out['request_line'] = rec.http_headers.protocol + ' ' + rec.http_headers.statusline
            out['http_headers'] = [[k, v] for k, v in rec.http_headers.headers]
        out['payload_file'] = os.path.join(outdir, 'payload-%d' % n)
        with open(out['payload_file'], 'wb') as p:
            p.write(rec.content_stream().read())
        print(json.dumps(out))
"#;

/// Checks a WARC file with the archivists' tools: `warcio check` (every
/// digest), `warcio index` (every record, with the fields a replay index
/// needs), and a second, independent reader, FastWARC (its own parser and
/// digest checks). Prints one JSON object.
const CHECK_WARC: &str = r#"
import io, json, sys, contextlib
from warcio.cli import main as warcio
from fastwarc.warc import ArchiveIterator, WarcRecordType
path = sys.argv[1]
out = {}
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    try:
        rc = warcio(['check', '-v', path])
    except SystemExit as e:
        rc = e.code
out['check_rc'] = rc or 0
out['check_output'] = buf.getvalue()
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    warcio(['index', '-f', 'warc-type,warc-target-uri,warc-ip-address,http:status,offset', path])
out['index'] = [json.loads(l) for l in buf.getvalue().splitlines() if l.strip()]
# FastWARC checks a block digest over what it has not parsed yet: one
# pass without HTTP parsing for blocks, one with it for payloads.
with open(path, 'rb') as f:
    blocks = [rec.verify_block_digest() for rec in ArchiveIterator(f, parse_http=False)]
fast = []
with open(path, 'rb') as f:
    for n, rec in enumerate(ArchiveIterator(f, parse_http=True)):
        fast.append({
            'type': str(rec.record_type),
            'uri': rec.headers.get('WARC-Target-URI'),
            'block_ok': blocks[n] if n < len(blocks) else None,
            'payload_ok': rec.verify_payload_digest() if rec.headers.get('WARC-Payload-Digest') else None,
            'status': rec.http_headers.status_code if rec.http_headers is not None and rec.record_type == WarcRecordType.response else None,
        })
out['fastwarc'] = fast
print(json.dumps(out))
"#;

/// Fails the test (does not skip it) when warcio or FastWARC is missing.
fn require_warcio() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import warcio, fastwarc"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "Python's warcio and FastWARC are needed to read the WARC export back: \
         pip install warcio fastwarc"
    );
}

/// [`CHECK_WARC`]'s verdict on a file: warcio check passes, and both
/// warcio index and FastWARC see `records` records, every digest valid.
fn assert_archivists_accept(path: &Path, records: usize) -> Value {
    let out = std::process::Command::new("python3")
        .args(["-c", CHECK_WARC])
        .arg(path)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "checking {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("checker output");
    let check = v["check_output"].as_str().unwrap_or("");
    assert_eq!(v["check_rc"], 0, "warcio check failed:\n{check}");
    assert!(!check.contains("fail") && !check.contains("invalid"), "warcio check:\n{check}");
    assert_eq!(v["index"].as_array().map(Vec::len), Some(records), "warcio index: {}", v["index"]);
    let fast = v["fastwarc"].as_array().expect("fastwarc records");
    assert_eq!(fast.len(), records, "FastWARC records");
    let bad: Vec<&Value> = fast
        .iter()
        .filter(|r| r["type"] != "warcinfo" && (r["block_ok"] != true || r["payload_ok"] == false))
        .collect();
    assert!(
        bad.is_empty(),
        "{} FastWARC digest failures, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(3)]
    );
    v
}

/// The bytes of a WARC file after its first gzip member (the `warcinfo`
/// record, dated by the export).
fn after_warcinfo(path: &Path) -> Vec<u8> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, zlib\nd = zlib.decompressobj(31)\nd.decompress(open(sys.argv[1], 'rb').read())\nprint(len(d.unused_data))"])
        .arg(path)
        .output()
        .expect("running python3");
    let rest: usize = String::from_utf8_lossy(&out.stdout).trim().parse().expect("length");
    let bytes = std::fs::read(path).unwrap();
    bytes[bytes.len() - rest..].to_vec()
}

/// The payload of a record read by [`read_warc`].
fn payload(rec: &Value) -> Vec<u8> {
    std::fs::read(rec["payload_file"].as_str().expect("payload_file")).expect("payload file")
}

/// `(gzip members, records)` of a WARC file, as warcio reads it.
fn read_warc(path: &Path, payloads: &Path) -> (u64, Vec<Value>) {
    std::fs::create_dir_all(payloads).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", READ_WARC])
        .arg(path)
        .arg(payloads)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "warcio could not read {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = parse_jsonl(&String::from_utf8_lossy(&out.stdout));
    let first = lines.remove(0);
    (first["gzip_members"].as_u64().unwrap(), lines)
}

/// The hand-made pages next to the site: `(path, status line, content
/// type, body)`.
const RAW: &[(&str, &str, &str, &str)] = &[
    (
        "/missing",
        "404 Not Found",
        "text/html; charset=utf-8",
        "<html><body>no such page</body></html>\n",
    ),
    ("/boom", "500 Internal Server Error", "text/plain", "it broke\r\n\r\nreally\n"),
    ("/data.json", "200 OK", "application/json", "{\"k\": [1, 2, \"\u{e9}\u{20ac}\"]}\n"),
    ("/empty", "404 Not Found", "text/plain", ""),
    ("/bin", "200 OK", "application/octet-stream", "\0\u{1}\u{7f}\u{80}\u{ff}\r\n\0"),
    // A reason phrase of the server's own: kept as sent.
    ("/odd", "299 Quite Fine", "text/plain", "odd status line\n"),
];

fn raw_handler(_port: u16, path: &str) -> Option<String> {
    if path == "/robots.txt" {
        return Some(http_response("404 Not Found", &[], ""));
    }
    if path == "/" {
        let links: String = RAW.iter().map(|r| format!(r#"<a href="{}">x</a> "#, r.0)).collect();
        let body = format!(
            "<!DOCTYPE html><html><head><title>raw</title></head><body>{links}<a href=\"/redir\">r</a></body></html>"
        );
        return Some(http_response("200 OK", &[("Content-Type", "text/html")], &body));
    }
    if path == "/redir" {
        return Some(http_response("301 Moved Permanently", &[("Location", "/data.json")], ""));
    }
    let (_, status, ct, body) = RAW.iter().find(|r| r.0 == path)?;
    Some(http_response(status, &[("Content-Type", ct), ("X-Served-By", "raw")], body))
}

#[test]
fn export_jsonl_csv_and_warc_match_the_store_and_the_site() {
    require_warcio();
    let site = SiteServer::start(SiteSpec::with_pages(200)).expect("site");
    let raw = RawServer::start(raw_handler);
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&site.base_url(), &store)
        .arg(raw.base_url())
        .args(["--workers", "2", "--retries", "0", "--keep-bodies"])
        .run_within(Duration::from_secs(60))
        .success();
    let all = query_jsonl(&store);
    let records = by_url(&all);
    assert_eq!(all.len(), 200 + 1 + RAW.len() + 1, "stored: {:?}", records.keys());

    // jsonl: stdout and -o FILE are exactly `trawl query`.
    let query_jsonl_text = query_args(&store, &[]).success().stdout;
    let out = Trawl::new("export")
        .arg("--store")
        .arg(&store)
        .run_within(Duration::from_secs(60))
        .success();
    assert_eq!(out.stdout, query_jsonl_text, "export (jsonl) vs query");
    assert!(out.stderr.contains(&format!("exported {} pages", all.len())), "{}", out.stderr);
    let file = dir.path("pages.jsonl");
    Trawl::new("export")
        .arg("--store")
        .arg(&store)
        .args(["--format", "jsonl", "-o"])
        .arg(&file)
        .run_within(Duration::from_secs(60))
        .success();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), query_jsonl_text, "export -o (jsonl)");

    // csv: the header and one row per page, exactly `trawl query --format csv`.
    let csv = Trawl::new("export")
        .arg("--store")
        .arg(&store)
        .args(["--format", "csv"])
        .run_within(Duration::from_secs(60))
        .success()
        .stdout;
    assert_eq!(
        csv,
        query_args(&store, &["--format", "csv"]).success().stdout,
        "export csv vs query"
    );
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), all.len() + 1, "csv: header + one row per page");
    assert_eq!(rows[0][0], "url");
    let csv_urls: BTreeSet<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(csv_urls, records.keys().map(String::as_str).collect());

    // warc.
    let warc = dir.path("crawl.warc.gz");
    let out = Trawl::new("export")
        .arg("--store")
        .arg(&store)
        .args(["--format", "warc", "-o"])
        .arg(&warc)
        .run_within(Duration::from_secs(60))
        .success();
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");
    let (members, recs) = read_warc(&warc, &dir.path("payloads"));
    assert_eq!(members, recs.len() as u64, "one gzip member per record");
    assert!(recs.iter().all(|r| r["version"] == "WARC/1.1"), "WARC/1.1 records");
    assert_eq!(recs[0]["type"], "warcinfo", "the first record: {}", recs[0]);
    let info = String::from_utf8(payload(&recs[0])).unwrap();
    assert!(info.contains("trawl"), "warcinfo payload: {info:?}");
    let ids: BTreeSet<&str> = recs.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), recs.len(), "WARC-Record-IDs are unique");

    // The bytes each URL was served with.
    let origin = site.base_url().trim_end_matches('/').to_owned();
    let offsite = origin.replace("127.0.0.1", "localhost");
    let spec = site.spec().clone();
    let mut served: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..spec.pages {
        served.insert(
            join_url(&site.base_url(), &spec.path(i)),
            spec.render(i, &origin, &offsite).into_bytes(),
        );
    }
    for (path, _, _, body) in RAW {
        served.insert(format!("{}{}", raw.base_url(), &path[1..]), body.as_bytes().to_vec());
    }
    let root = raw_handler(0, "/").unwrap();
    served.insert(raw.base_url(), root.split_once("\r\n\r\n").unwrap().1.as_bytes().to_vec());
    // The model is what the server really sends (spot checks over HTTP).
    for i in [0, 1, 7, 14, 199] {
        let url = join_url(&site.base_url(), &spec.path(i));
        let r = http(&site.addr().to_string(), "GET", &spec.path(i), &[], None);
        assert_eq!(r.status, 200);
        assert!(r.body == served[&url], "render({i}) differs from what the server sends");
    }

    // Pages with a complete body (ok, not_html, http_error) have one
    // response record each; the redirect has none.
    let responses: Vec<&Value> = recs.iter().filter(|r| r["type"] == "response").collect();
    assert_eq!(recs.len(), 2 * responses.len() + 1, "warcinfo, then request + response pairs");
    let mut wrong = Vec::new();
    for pair in recs[1..].chunks(2) {
        let (req, resp) = (&pair[0], &pair[1]);
        let uri = resp["uri"].as_str().unwrap_or("?");
        if req["type"] != "request" || resp["type"] != "response" || req["uri"] != resp["uri"] {
            wrong.push(format!("{uri}: not a request/response pair: {req} {resp}"));
            continue;
        }
        if req["WARC-Concurrent-To"] != resp["id"] || resp["WARC-Concurrent-To"] != req["id"] {
            wrong.push(format!("{uri}: WARC-Concurrent-To does not link the pair"));
        }
        if resp["WARC-IP-Address"] != "127.0.0.1" {
            wrong.push(format!("{uri}: WARC-IP-Address {}", resp["WARC-IP-Address"]));
        }
        for d in ["WARC-Block-Digest", "WARC-Payload-Digest"] {
            if !resp[d].as_str().is_some_and(|v| v.starts_with("sha1:") && v.len() == 37) {
                wrong.push(format!("{uri}: {d} {}", resp[d]));
            }
        }
        let path =
            uri.split_once("//").and_then(|(_, r)| r.find('/').map(|i| &r[i..])).unwrap_or("/");
        if req["request_line"] != format!("GET {path} HTTP/1.1") {
            wrong.push(format!("{uri}: request line {}", req["request_line"]));
        }
        let header = |rec: &Value, name: &str| -> Option<String> {
            rec["http_headers"].as_array()?.iter().find_map(|kv| {
                (kv[0].as_str()?.eq_ignore_ascii_case(name))
                    .then(|| kv[1].as_str().unwrap_or("").to_owned())
            })
        };
        if header(req, "user-agent").is_none_or(|ua| !ua.contains("trawl")) {
            wrong.push(format!(
                "{uri}: request without trawl's user-agent: {}",
                req["http_headers"]
            ));
        }
        // The raw pages: the status line and a header field as sent.
        if let Some((_, status, _, _)) =
            RAW.iter().find(|r| uri.ends_with(r.0) && uri.starts_with(&raw.base_url()))
        {
            if resp["status_line"] != format!("HTTP/1.1 {status}") {
                wrong.push(format!(
                    "{uri}: status line {} (sent: HTTP/1.1 {status})",
                    resp["status_line"]
                ));
            }
            if header(resp, "x-served-by").as_deref() != Some("raw") {
                wrong.push(format!("{uri}: X-Served-By lost: {}", resp["http_headers"]));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", sample("bad request/response pairs", &wrong));
    let checked = assert_archivists_accept(&warc, recs.len());
    let index_types: Vec<&str> = checked["index"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["warc-type"].as_str())
        .collect();
    assert_eq!(index_types.iter().filter(|t| **t == "response").count(), responses.len());
    let ips: BTreeSet<&str> = checked["index"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["warc-ip-address"].as_str())
        .collect();
    assert_eq!(ips, BTreeSet::from(["127.0.0.1"]), "warcio index: WARC-IP-Address");
    let want_uris: BTreeSet<String> = all
        .iter()
        .filter(|r| ["ok", "not_html", "http_error"].contains(&s(r, "outcome")))
        .map(|r| s(r, "url").to_owned())
        .collect();
    assert_eq!(want_uris.len(), all.len() - 1, "every page but the redirect has a body");
    let mut got_uris = BTreeSet::new();
    let mut wrong = Vec::new();
    for rec in &responses {
        let uri = rec["uri"].as_str().expect("WARC-Target-URI").to_owned();
        assert!(got_uris.insert(uri.clone()), "two response records for {uri}");
        let Some(page) = records.get(&uri) else {
            wrong.push(format!("{uri}: not a stored URL"));
            continue;
        };
        if rec["status"].as_u64() != n(page, "status") {
            wrong
                .push(format!("{uri}: HTTP status {} vs stored {}", rec["status"], page["status"]));
        }
        if rec["http_content_type"] != page["content_type"] {
            wrong.push(format!(
                "{uri}: Content-Type {} vs stored {}",
                rec["http_content_type"], page["content_type"]
            ));
        }
        if rec["content_type"] != "application/http;msgtype=response" {
            wrong.push(format!("{uri}: record Content-Type {}", rec["content_type"]));
        }
        let date = rec["date"].as_str().unwrap_or("");
        if date.get(..19) != s(page, "fetched_at").get(..19) {
            wrong.push(format!("{uri}: WARC-Date {date} vs fetched_at {}", s(page, "fetched_at")));
        }
        let payload = payload(rec);
        if rec["http_content_length"].as_str() != Some(payload.len().to_string().as_str()) {
            wrong.push(format!(
                "{uri}: Content-Length {} for {} bytes",
                rec["http_content_length"],
                payload.len()
            ));
        }
        if n(page, "bytes") != Some(payload.len() as u64) {
            wrong.push(format!(
                "{uri}: {} payload bytes, stored bytes {}",
                payload.len(),
                page["bytes"]
            ));
        }
        match served.get(&uri) {
            None => wrong.push(format!("{uri}: no model of what was served")),
            Some(b) if *b != payload => wrong.push(format!(
                "{uri}: payload ({} bytes) differs from what the server sent ({} bytes)",
                payload.len(),
                b.len()
            )),
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", sample("bad response records", &wrong));
    assert_sets_eq("WARC-Target-URIs vs stored pages with a body", &want_uris, &got_uris);
    assert!(
        out.stderr.contains(&format!("exported {} response records", responses.len()))
            && out.stderr.contains("warning: 1 page has no kept body"),
        "{}",
        out.stderr
    );
}

#[test]
fn warc_without_kept_bodies_has_only_warcinfo() {
    require_warcio();
    let site = SiteServer::start(SiteSpec::with_pages(10)).expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&site.base_url(), &store).args(["--workers", "1"]).run().success();
    let warc = dir.path("x.warc.gz");
    let out = Trawl::new("export")
        .arg("--store")
        .arg(&store)
        .args(["--format", "warc", "-o"])
        .arg(&warc)
        .run_within(Duration::from_secs(30))
        .success();
    assert!(out.stderr.contains("--keep-bodies"), "the summary should say why: {}", out.stderr);
    assert!(
        out.stderr.contains("exported 0 response records")
            && out.stderr.contains("warning: 10 pages have no kept body")
            && out.stderr.contains("only its warcinfo record"),
        "{}",
        out.stderr
    );
    let (members, recs) = read_warc(&warc, &dir.path("payloads"));
    assert_eq!((members, recs.len()), (1, 1), "{recs:?}");
    assert_eq!(recs[0]["type"], "warcinfo");
    assert_archivists_accept(&warc, 1);
}

/// `trawl export` on the store of a running crawl streams the export
/// through the crawl's API: every format, the same bytes as an offline
/// export of the same pages (a WARC's dated warcinfo record aside), and a
/// WARC that the archivists' tools accept.
#[test]
fn export_through_a_running_crawl_matches_the_offline_export() {
    require_warcio();
    let mut q = QuietCrawl::start(40, &["--keep-bodies"]);
    let store = q.store();
    let export = |format: &str, file: &Path| {
        Trawl::new("export")
            .arg("--store")
            .arg(&store)
            .args(["--format", format, "-o"])
            .arg(file)
            .run_within(Duration::from_secs(60))
            .success()
    };
    let formats = ["jsonl", "csv", "warc"];
    let live: Vec<(Vec<u8>, String)> = formats
        .iter()
        .map(|f| {
            let file = q.dir.path(&format!("live.{f}"));
            let out = export(f, &file);
            (std::fs::read(&file).unwrap(), out.stderr)
        })
        .collect();
    // A bad format is a 400 naming the parameter, like /api/pages.
    let bad = get(&q.addr, "/api/export?format=xml", None);
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(bad.json()["param"], "format", "{}", bad.text());
    let st = get(&q.addr, "/api/status", None).json();
    assert_eq!(st["state"], "running", "the crawl must still hold the store: {st}");
    for ((_, stderr), want) in live.iter().zip([
        "exported 40 pages (through the running crawl)",
        "exported 40 pages (through the running crawl)",
        "exported 40 response records (each with its request record) (through the running crawl)",
    ]) {
        assert!(stderr.contains(want), "want {want:?} in {stderr:?}");
    }
    q.finish();
    // Offline, the store also holds the hanging URL (no body): leave it out.
    let hang = q.hang_url.clone();
    let offline: Vec<Vec<u8>> = formats
        .iter()
        .map(|f| {
            let file = q.dir.path(&format!("offline.{f}"));
            export(f, &file);
            std::fs::read(&file).unwrap()
        })
        .collect();
    let live_jsonl = String::from_utf8(live[0].0.clone()).unwrap();
    let offline_jsonl: String = String::from_utf8(offline[0].clone())
        .unwrap()
        .lines()
        .filter(|l| !l.contains(&format!("\"url\":\"{hang}\"")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(parse_jsonl(&live_jsonl).len(), 40);
    assert_eq!(live_jsonl, offline_jsonl, "jsonl: live vs offline");
    let live_csv = parse_csv(&String::from_utf8(live[1].0.clone()).unwrap());
    let offline_csv: Vec<Vec<String>> = parse_csv(&String::from_utf8(offline[1].clone()).unwrap())
        .into_iter()
        .filter(|r| r[0] != hang)
        .collect();
    assert_eq!(live_csv.len(), 41);
    assert_eq!(live_csv, offline_csv, "csv: live vs offline");
    let (live_warc, offline_warc) = (q.dir.path("live.warc"), q.dir.path("offline.warc"));
    assert_eq!(after_warcinfo(&live_warc), after_warcinfo(&offline_warc), "warc: live vs offline");
    assert_archivists_accept(&live_warc, 1 + 2 * 40);
}

/// After a refresh of the changing site, the WARC holds a `revisit`
/// record for every fetch that found a page unchanged: profile
/// `server-not-modified` for a 304, `identical-payload-digest` for a body
/// that hashed the same, each referring to the page's response record by
/// id, URI and date; changed pages have their new response and no
/// revisit. warcio reads it, and its digests check out.
#[test]
fn warc_has_revisit_records_after_a_refresh() {
    use trawl_site::{ChangeSpec, Validators};
    require_warcio();
    let site = SiteServer::start(SiteSpec {
        page_bytes: 3_000,
        posts_per_page: 4,
        links_per_page: 12,
        changes: ChangeSpec { every: 10, ..ChangeSpec::default() },
        ..SiteSpec::with_pages(40)
    })
    .expect("site");
    let dir = TestDir::new();
    let store = dir.store();
    Trawl::crawl(&site.base_url(), &store)
        .args(["--workers", "1", "--retries", "0", "--keep-bodies"])
        .run_within(Duration::from_secs(60))
        .success();
    std::thread::sleep(Duration::from_millis(1100));
    site.advance();
    Trawl::new("refresh")
        .arg("--store")
        .arg(&store)
        .args(["--older-than", "1ms", "--workers", "1", "--retries", "0", "--keep-bodies"])
        .run_within(Duration::from_secs(60))
        .success();
    let diff = site.spec().changes_between(0, 1);
    let file = dir.path("refresh.warc.gz");
    Trawl::new("export")
        .arg("--store")
        .arg(&store)
        .args(["--format", "warc", "-o"])
        .arg(&file)
        .run_within(Duration::from_secs(60))
        .success();
    let (_, records) = read_warc(&file, &dir.path("payloads"));
    let responses: BTreeMap<&str, &Value> = records
        .iter()
        .filter(|r| r["type"] == "response")
        .map(|r| (r["uri"].as_str().unwrap(), r))
        .collect();
    assert_eq!(responses.len(), 40, "one response per page");
    let revisits: BTreeMap<&str, &Value> = records
        .iter()
        .filter(|r| r["type"] == "revisit")
        .map(|r| (r["uri"].as_str().unwrap(), r))
        .collect();
    let url = |i: u32| join_url(&site.base_url(), &site.spec().path(i));
    let unchanged: BTreeSet<String> = diff.unchanged.iter().map(|&i| url(i)).collect();
    assert_eq!(
        revisits.keys().map(|u| (*u).to_owned()).collect::<BTreeSet<_>>(),
        unchanged,
        "a revisit for exactly the unchanged pages"
    );
    for &i in &diff.unchanged {
        let u = url(i);
        let (rv, resp) = (revisits[u.as_str()], responses[u.as_str()]);
        let profile = if site.spec().changes.validators_of(0, i) == Validators::None {
            "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
        } else {
            "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
        };
        assert_eq!(rv["WARC-Profile"], profile, "page {i}: {rv}");
        assert_eq!(rv["WARC-Refers-To"], resp["id"], "page {i}");
        assert_eq!(rv["WARC-Refers-To-Target-URI"], resp["uri"], "page {i}");
        assert_eq!(rv["WARC-Refers-To-Date"], resp["date"], "page {i}");
        assert!(rv["date"].as_str() > resp["date"].as_str(), "revisited later: {rv}");
        assert_eq!(rv["content_type"], "application/http;msgtype=response");
        if profile.ends_with("server-not-modified") {
            assert_eq!(rv["status"], 304, "{rv}");
        } else {
            assert_eq!(rv["WARC-Payload-Digest"], resp["WARC-Payload-Digest"], "page {i}");
            assert_eq!(rv["status"], 200, "{rv}");
        }
    }
    // Changed pages: the new body, fetched at the refresh.
    for &i in &diff.changed {
        let html = String::from_utf8(payload(responses[url(i).as_str()])).unwrap();
        assert!(html.contains("<p class=\"update\">Update 1:"), "page {i}");
    }
    let check = std::process::Command::new("python3")
        .args(["-m", "warcio.cli", "check", "-v"])
        .arg(&file)
        .output()
        .expect("warcio check");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && !text.contains("fail"), "warcio check:\n{text}");
}
