//! Content hashes for change detection: xxh3-64 of a page's body (hashed
//! while it streams in, in the worker) and of what was extracted from it
//! (title and fields, in the coordinator). Stable across processes and
//! releases: the values are stored and compared on later revisits.

pub use xxhash_rust::xxh3::Xxh3;

/// xxh3-64 of `bytes`, as [`Xxh3`] fed the same bytes in pieces gives.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot_and_values_are_stable() {
        let body = b"<html><title>x</title></html>".repeat(100);
        let mut h = Xxh3::new();
        for chunk in body.chunks(7) {
            h.update(chunk);
        }
        assert_eq!(h.digest(), content_hash(&body));
        // Stored values must not change between releases.
        assert_eq!(content_hash(b""), 0x2d06_8005_38d3_94c2);
        assert_ne!(content_hash(b"a"), content_hash(b"b"));
    }
}
