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
        out['payload_file'] = os.path.join(outdir, 'payload-%d' % n)
        with open(out['payload_file'], 'wb') as p:
            p.write(rec.content_stream().read())
        print(json.dumps(out))
"#;

/// Fails the test (does not skip it) when warcio is missing.
fn require_warcio() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import warcio"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "Python's warcio is needed to read the WARC export back: pip install warcio");
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
    Some(http_response(status, &[("Content-Type", ct)], body))
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
    assert_eq!(recs.len(), responses.len() + 1, "only warcinfo and response records");
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
}
