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
//! - `V` + url + `0x00` + fetched_at_ms (u64 BE) -> [`super::HistoryEntry`]:
//!   one per fetch of the page, oldest first (the `0x00` ends the URL, which
//!   never contains one, so one page's history is one prefix scan).
//! - `D` + due_at_ms (u64 BE) + url -> empty: the due index of pages with a
//!   revisit schedule, earliest first. Written and removed in the same
//!   batch as the record whose `revisit.due_at_ms` it mirrors, so exactly
//!   one entry exists per scheduled page, whatever the crash point.
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

/// Prefix of fetch history entries.
pub const HISTORY: u8 = b'V';

/// Prefix of the due index.
pub const DUE: u8 = b'D';

/// Ends the URL in a history key.
const URL_END: u8 = 0;

/// The prefix of every history key of `url`.
pub fn history_prefix(url: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(url.len() + 10);
    k.push(HISTORY);
    k.extend_from_slice(url.as_bytes());
    k.push(URL_END);
    k
}

/// Key of the history entry of the fetch of `url` at `fetched_at_ms`.
pub fn history(url: &str, fetched_at_ms: u64) -> Vec<u8> {
    let mut k = history_prefix(url);
    k.extend_from_slice(&fetched_at_ms.to_be_bytes());
    k
}

/// Decodes a history key into (url, fetched_at_ms).
pub fn parse_history(k: &[u8]) -> Option<(String, u64)> {
    let rest = k.strip_prefix(&[HISTORY])?;
    let (url, at) = rest.split_at_checked(rest.len().checked_sub(8)?)?;
    let url = url.strip_suffix(&[URL_END])?;
    let at = u64::from_be_bytes(at.try_into().ok()?);
    Some((String::from_utf8_lossy(url).into_owned(), at))
}

/// Key of the due-index entry of `url`, due at `due_at_ms`.
pub fn due(due_at_ms: u64, url: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + url.len());
    k.push(DUE);
    k.extend_from_slice(&due_at_ms.to_be_bytes());
    k.extend_from_slice(url.as_bytes());
    k
}

/// The smallest due key after every entry due at or before `at_ms`.
pub fn due_after(at_ms: u64) -> Vec<u8> {
    match at_ms.checked_add(1) {
        Some(next) => due(next, ""),
        None => vec![DUE + 1],
    }
}

/// Decodes a due key into (due_at_ms, url).
pub fn parse_due(k: &[u8]) -> Option<(u64, String)> {
    let rest = k.strip_prefix(&[DUE])?;
    let (at, url) = rest.split_at_checked(8)?;
    let at = u64::from_be_bytes(at.try_into().ok()?);
    Some((at, String::from_utf8_lossy(url).into_owned()))
}

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

    #[test]
    fn history_keys_group_by_url_then_time() {
        let a1 = history("http://a/", 5);
        let a2 = history("http://a/", 256);
        let ax = history("http://a/x", 1);
        assert!(a1 < a2 && a2 < ax, "one page's entries are contiguous and in time order");
        assert!(a1.starts_with(&history_prefix("http://a/")));
        assert!(!ax.starts_with(&history_prefix("http://a/")), "no prefix bleed to longer URLs");
        assert_eq!(parse_history(&a2), Some(("http://a/".into(), 256)));
        assert_eq!(parse_history(&page("http://a/")), None);
        assert_eq!(parse_history(&[HISTORY, 1, 2]), None);
    }

    #[test]
    fn due_keys_sort_by_time() {
        let early = due(10, "http://z/");
        let late = due(256, "http://a/");
        assert!(early < late);
        assert!(early < due_after(10) && due_after(10) <= due(11, ""));
        assert!(late > due_after(255) && late < due_after(256));
        assert_eq!(parse_due(&late), Some((256, "http://a/".into())));
        assert_eq!(parse_due(&[DUE, 0]), None);
        assert!(due(u64::MAX, "x") < due_after(u64::MAX));
    }
}
