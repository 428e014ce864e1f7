//! The seen-set: 64-bit fingerprints of every URL ever admitted, so memory
//! stays at ~16 bytes per URL however long the URLs are. It is rebuilt
//! from the store on resume. At a million URLs the chance of any
//! fingerprint collision is about 3e-8.

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

/// A set of URL fingerprints.
#[derive(Default, Debug)]
pub struct Seen {
    set: HashSet<u64, BuildHasherDefault<Identity>>,
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
        self.set.insert(fingerprint(url))
    }

    /// Was `url` admitted?
    pub fn contains(&self, url: &str) -> bool {
        self.set.contains(&fingerprint(url))
    }

    /// URLs admitted.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Nothing admitted?
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
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
}
