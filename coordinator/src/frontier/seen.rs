//! The seen-set: 64-bit fingerprints of every URL ever admitted, so memory
//! stays at 10-20 bytes per URL however long the URLs are. It is rebuilt
//! from the store on resume. At a million URLs the chance of any
//! fingerprint collision is about 3e-8.
//!
//! It is split into 256 tables that grow one at a time: a single table
//! holds its old and new arrays at once while it doubles, a 1.5x spike of
//! the whole set (28 MB instead of 19 MB at a million URLs).

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Hashes the already-random fingerprints without rehashing them.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table = HashSet<u64, BuildHasherDefault<Identity>>;

const SHARDS: usize = 256;

/// A set of URL fingerprints.
#[derive(Debug)]
pub struct Seen {
    shards: Box<[Table]>,
    len: usize,
}

impl Default for Seen {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| Table::default()).collect(), len: 0 }
    }
}

/// The table of fingerprint `fp`: chosen by bits 48..56, so that within a
/// table the low bits (the bucket index) and the top seven (the probe
/// tags) stay random.
fn shard(fp: u64) -> usize {
    (fp >> 48) as usize % SHARDS
}

/// The fingerprint of a URL: SipHash-1-3 with fixed keys (deterministic
/// within one build, which is all the set needs).
pub fn fingerprint(url: &str) -> u64 {
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(url)
}

impl Seen {
    /// Adds `url`; returns true if it was not there.
    pub fn insert(&mut self, url: &str) -> bool {
        let fp = fingerprint(url);
        let new = self.shards[shard(fp)].insert(fp);
        self.len += usize::from(new);
        new
    }

    /// Was `url` admitted?
    pub fn contains(&self, url: &str) -> bool {
        let fp = fingerprint(url);
        self.shards[shard(fp)].contains(&fp)
    }

    /// URLs admitted.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing admitted?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedups() {
        let mut s = Seen::default();
        assert!(s.insert("http://a/"));
        assert!(!s.insert("http://a/"));
        assert!(s.contains("http://a/") && !s.contains("http://b/"));
        assert_eq!(s.len(), 1);
        assert_eq!(fingerprint("x"), fingerprint("x"));
    }

    #[test]
    fn many_urls_spread_over_the_tables() {
        let mut s = Seen::default();
        for i in 0..100_000 {
            assert!(s.insert(&format!("http://h/{i}")));
        }
        for i in 0..100_000 {
            assert!(!s.insert(&format!("http://h/{i}")) && s.contains(&format!("http://h/{i}")));
        }
        assert!(!s.contains("http://h/x"));
        assert_eq!(s.len(), 100_000);
        let sizes: Vec<usize> = s.shards.iter().map(|t| t.len()).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(*min > 250 && *max < 550, "uneven tables: {min}..{max}");
    }
}
