//! Key encodings. Everything lives in one sled tree so that one atomic
//! batch can store a page, retire its queue entry and enqueue the links it
//! found: a crash can never keep a page while losing its links.
//!
//! - `P` + url -> [`super::PageRecord`]
//! - `B` + url -> the response body, when the crawl keeps bodies
//! - `H` + url -> the response head that came with the body ([`super::head`]);
//!   stores written before heads were kept have bodies without heads
//! - `Q` + depth (u32 BE) + first seq (u64 BE) -> newline-separated URLs:
//!   a queue *segment*, the new URLs one page led to (their seqs run from
//!   the first). Segments are immutable and deleted once every URL in them
//!   is stored; a resume re-queues the URLs of live segments that have no
//!   page record (leased-but-unstored ones included). One object per page
//!   rather than per URL keeps sled's per-object overhead in check.
//!
//! Integers are big-endian so byte order is numeric order.

/// Prefix of page records.
pub const PAGE: u8 = b'P';
/// Prefix of queue entries.
pub const QUEUE: u8 = b'Q';
/// Prefix of kept response bodies (`--keep-bodies`).
pub const BODY: u8 = b'B';

/// Prefix of kept response heads (status line, headers, peer address).
pub const HEAD: u8 = b'H';

/// Key of the kept response head of `url`.
pub fn head(url: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + url.len());
    k.push(HEAD);
    k.extend_from_slice(url.as_bytes());
    k
}

/// Key of the kept body of `url`.
pub fn body(url: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + url.len());
    k.push(BODY);
    k.extend_from_slice(url.as_bytes());
    k
}

/// Key of the page record for `url`.
pub fn page(url: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + url.len());
    k.push(PAGE);
    k.extend_from_slice(url.as_bytes());
    k
}

/// Key of a queue entry.
pub fn queue(depth: u32, seq: u64) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[0] = QUEUE;
    k[1..5].copy_from_slice(&depth.to_be_bytes());
    k[5..13].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Decodes a queue key into (depth, seq).
pub fn parse_queue(k: &[u8]) -> Option<(u32, u64)> {
    if k.len() != 13 || k[0] != QUEUE {
        return None;
    }
    let depth = u32::from_be_bytes(k[1..5].try_into().ok()?);
    let seq = u64::from_be_bytes(k[5..13].try_into().ok()?);
    Some((depth, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_sort_breadth_first() {
        let a = queue(0, 9);
        let b = queue(1, 0);
        let c = queue(1, 256);
        assert!(a < b && b < c);
        assert_eq!(parse_queue(&c), Some((1, 256)));
        assert_eq!(parse_queue(&page("x")), None);
    }
}
