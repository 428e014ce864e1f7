//! Queue segments and their encoding on disk: the URLs joined by newlines,
//! deflated when that pays. sled keeps every value it wrote in memory
//! whatever its `cache_capacity` (measured: 118 MB of segment values at 4M
//! queued URLs), so the encoding is what bounds the coordinator's memory
//! here: a page's links share their scheme, host and path prefixes and
//! deflate ~6x (a 1,000-link segment: 44 KB -> 6.7 KB).

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::io::{Read, Write};

/// A queue segment's key: (depth, first seq).
pub type SegmentId = (u32, u64);

/// URLs that entered the frontier together, with consecutive seqs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Their depth.
    pub depth: u32,
    /// The seq of the first; the i-th has `first_seq + i`.
    pub first_seq: u64,
    /// The URLs, in seq order.
    pub urls: Vec<String>,
}

/// First byte of a deflated segment. A plain one starts with its first
/// URL's scheme, a letter, so the two never mix up (and segments written
/// before compression existed still read).
const DEFLATED: u8 = 0;

/// Smaller segments are stored plain: deflate gains little there.
const MIN_DEFLATE: usize = 256;

/// The stored form of `urls`.
pub(super) fn encode(urls: &[String]) -> Vec<u8> {
    let text = urls.join("\n");
    if text.len() < MIN_DEFLATE {
        return text.into_bytes();
    }
    let mut out = DeflateEncoder::new(vec![DEFLATED], Compression::fast());
    // Writing into a Vec cannot fail.
    match out.write_all(text.as_bytes()).and_then(|()| out.finish()) {
        Ok(v) => v,
        Err(_) => text.into_bytes(),
    }
}

/// The URLs of a stored segment.
pub(super) fn decode(v: &[u8]) -> Result<Vec<String>, String> {
    let text = match v.split_first() {
        Some((&DEFLATED, rest)) => {
            let mut text = String::with_capacity(rest.len() * 6);
            DeflateDecoder::new(rest)
                .read_to_string(&mut text)
                .map_err(|e| format!("bad deflated queue segment: {e}"))?;
            text
        }
        _ => String::from_utf8_lossy(v).into_owned(),
    };
    Ok(text.split('\n').map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("http://127.0.0.1:8080/page/{}", i * 7919 % 100_003)).collect()
    }

    #[test]
    fn round_trips_small_and_large() {
        for n in [1, 3, 50, 1000] {
            let u = urls(n);
            let v = encode(&u);
            assert_eq!(decode(&v).unwrap(), u, "{n} URLs");
        }
        assert_eq!(encode(&urls(1))[0], b'h', "small segments stay plain");
        let big = encode(&urls(1000));
        assert_eq!(big[0], DEFLATED);
        let plain: usize = urls(1000).iter().map(|u| u.len() + 1).sum();
        assert!(big.len() * 4 < plain, "{} -> {} bytes", plain, big.len());
    }

    #[test]
    fn plain_segments_of_older_stores_still_read() {
        assert_eq!(decode(b"http://a/1\nhttp://a/2").unwrap(), ["http://a/1", "http://a/2"]);
    }

    #[test]
    fn a_damaged_segment_is_an_error() {
        let mut v = encode(&urls(1000));
        v.truncate(v.len() / 2);
        assert!(decode(&v).is_err());
    }
}
