//! Property tests over the untrusted input `common` reads: links from
//! pages (URL resolution and normalization) and the bytes of the IPC link
//! (a crashed or hostile worker can send anything). Bounded case counts,
//! stable Rust, part of `cargo test`; `PROPTEST_CASES=100000` for a longer
//! pass. Failures proptest finds are kept in `proptest-regressions/` and
//! replayed first.

// Test support.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use trawl_common::protocol::{FetchOutcome, Lease, PageReport, ToWorker, WorkerSettings};
use trawl_common::url::{Url, normalize, parse_crawl_url, resolve_link};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, ..ProptestConfig::default() }
}

/// Link-like text: schemes, hosts, ports, dot segments, percent escapes,
/// IPv6, queries, fragments, and any other characters.
fn href() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("http://".to_owned()),
        Just("https://".to_owned()),
        Just("//".to_owned()),
        Just("../".to_owned()),
        Just("./".to_owned()),
        Just("/".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just("%".to_owned()),
        Just("%7e".to_owned()),
        Just("%2F".to_owned()),
        Just("%zz".to_owned()),
        Just("[::1]".to_owned()),
        Just(":8080".to_owned()),
        Just("@".to_owned()),
        Just("xn--".to_owned()),
        "[a-zA-Z0-9._~-]{1,6}",
        "\\PC{1,3}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    /// Resolving never panics, and what it returns is a fixed point:
    /// normalizing or resolving it again changes nothing (else one page
    /// would be crawled under two keys).
    #[test]
    fn resolved_links_are_normalized_fixed_points(h in href()) {
        let base = Url::parse("http://h.test/dir/page.html?q=1").unwrap();
        if let Some(u) = resolve_link(&base, &h) {
            prop_assert!(matches!(u.scheme(), "http" | "https"));
            prop_assert_eq!(normalize(u.clone()), u.clone());
            prop_assert_eq!(resolve_link(&base, u.as_str()), Some(u.clone()));
        }
        let _ = parse_crawl_url(&h);
    }

    /// Arbitrary bytes on the IPC link (postcard, as ipc-channel encodes)
    /// and in a stored record (bincode 2 with a limit) are errors or
    /// values, never panics, and allocate no more than the input allows.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = postcard::from_bytes::<Vec<PageReport>>(&bytes);
        let _ = postcard::from_bytes::<PageReport>(&bytes);
        let _ = postcard::from_bytes::<ToWorker>(&bytes);
        let _ = postcard::from_bytes::<WorkerSettings>(&bytes);
        let cfg = bincode::config::standard().with_limit::<{ 1 << 20 }>();
        let _ = bincode::serde::decode_from_slice::<PageReport, _>(&bytes, cfg);
    }

    /// A report survives the IPC encoding whatever its strings hold.
    #[test]
    fn reports_round_trip(url in "\\PC*", title in proptest::option::of("\\PC*"),
                          links in prop::collection::vec("\\PC*", 0..8), status in any::<Option<u16>>()) {
        let mut r = report();
        r.url = url;
        r.title = title;
        r.links = links;
        r.status = status;
        r.outcome = FetchOutcome::Blocked { detail: r.url.clone() };
        let bytes = postcard::to_allocvec(&r).unwrap();
        prop_assert_eq!(postcard::from_bytes::<PageReport>(&bytes).unwrap(), r);
    }
}

/// A length prefix claiming far more elements than the input holds is an
/// error, not a huge allocation.
#[test]
fn huge_length_prefixes_are_errors() {
    // varint u64::MAX as the Vec length, then nothing.
    let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(postcard::from_bytes::<Vec<PageReport>>(&bytes).is_err());
    assert!(postcard::from_bytes::<Vec<Lease>>(&bytes).is_err());
    let cfg = bincode::config::standard().with_limit::<{ 1 << 20 }>();
    assert!(bincode::serde::decode_from_slice::<Vec<String>, _>(&bytes, cfg).is_err());
}

fn report() -> PageReport {
    PageReport {
        lease: trawl_common::ids::LeaseId(7),
        url: String::new(),
        depth: 1,
        status: None,
        content_type: Some("text/html".into()),
        bytes: 10,
        fetched_at_ms: 1,
        request_started_us: None,
        elapsed_ms: 2,
        outcome: FetchOutcome::Ok,
        title: None,
        outlinks: 0,
        links: Vec::new(),
        text: None,
        sitemaps: Vec::new(),
        attempts: 1,
        retry_after_secs: None,
        noindex: false,
        nofollow: false,
        canonical: None,
        fields: std::collections::BTreeMap::new(),
        body: None,
        response: None,
        etag: None,
        last_modified: None,
        content_hash: None,
    }
}
