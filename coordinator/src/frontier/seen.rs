//! The seen-set: 64-bit fingerprints of every URL ever admitted, so memory
//! stays at ~10 bytes per URL however long the URLs are. It is rebuilt
//! from the store on resume. At a million URLs the chance of any
//! fingerprint collision is about 3e-8.
//!
//! It is split into 256 shards by fingerprint. A shard keeps most of its
//! fingerprints in a sorted array (8 bytes each, binary-searched) and the
//! newest in a small hash table, merged into the array once it holds an
//! eighth as many: ~10 bytes per URL where one hash table costs 10-20
//! (its load factor swings between 7/16 and 7/8, and it holds two arrays
//! while it doubles). Shards grow one at a time, so the whole set never
//! spikes.

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

/// The newest fingerprints of a shard are merged into its array once
/// there are this many, or an eighth of the array if that is more.
const MIN_RECENT: usize = 64;

/// One shard: a sorted array and the newest fingerprints, never both
/// holding the same one.
#[derive(Debug, Default)]
struct Shard {
    sorted: Vec<u64>,
    /// Where each top byte's fingerprints start in `sorted` (257 entries
    /// once it is large), so a lookup binary-searches ~1/256 of the array:
    /// a few cache misses instead of one per halving.
    starts: Vec<u32>,
    recent: Table,
}

/// Arrays shorter than this are searched whole. Low, because a million
/// URLs are only ~3,900 per shard: at 4,096 no shard of a million-page
/// crawl had a directory, and the 12 halvings over each shard's array
/// (one cache miss each on a busy machine) were 31-36% of the
/// coordinator's CPU (perf, `trawl bench --pages 1000000 --slice
/// 100000`). A directory is 1 KB per shard (256 KB for the whole set).
const DIRECTORY_FROM: usize = 512;

impl Shard {
    fn contains(&self, fp: u64) -> bool {
        self.recent.contains(&fp) || self.in_sorted(fp)
    }

    fn in_sorted(&self, fp: u64) -> bool {
        let top = (fp >> 56) as usize;
        let range = match (self.starts.get(top), self.starts.get(top + 1)) {
            (Some(&a), Some(&b)) => &self.sorted[a as usize..b as usize],
            _ => &self.sorted[..],
        };
        range.binary_search(&fp).is_ok()
    }

    fn insert(&mut self, fp: u64) -> bool {
        if self.contains(fp) {
            return false;
        }
        self.recent.insert(fp);
        if self.recent.len() >= MIN_RECENT.max(self.sorted.len() / 8) {
            self.merge();
        }
        true
    }

    /// Moves the newest fingerprints into the array (an exact-size one:
    /// no spare capacity is kept).
    fn merge(&mut self) {
        let mut new: Vec<u64> = self.recent.drain().collect();
        new.sort_unstable();
        let old = std::mem::take(&mut self.sorted);
        let mut merged = Vec::with_capacity(old.len() + new.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < new.len() {
            if old[i] < new[j] {
                merged.push(old[i]);
                i += 1;
            } else {
                merged.push(new[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&old[i..]);
        merged.extend_from_slice(&new[j..]);
        self.starts.clear();
        if merged.len() >= DIRECTORY_FROM {
            let mut at = 0;
            for top in 0..=256u64 {
                while at < merged.len() && (merged[at] >> 56) < top {
                    at += 1;
                }
                self.starts.push(u32::try_from(at).unwrap_or(u32::MAX));
            }
        }
        self.sorted = merged;
    }
}

/// A set of URL fingerprints.
#[derive(Debug)]
pub struct Seen {
    shards: Box<[Shard]>,
    len: usize,
}

impl Default for Seen {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| Shard::default()).collect(), len: 0 }
    }
}

/// The shard of fingerprint `fp`: chosen by bits 48..56, so that within a
/// shard's hash table the low bits (the bucket index) and the top seven
/// (the probe tags) stay random.
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
        self.shards[shard(fp)].contains(fp)
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
        let sizes: Vec<usize> = s.shards.iter().map(|t| t.sorted.len() + t.recent.len()).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(*min > 250 && *max < 550, "uneven tables: {min}..{max}");
    }

    /// A shard of the size a million-URL crawl gives (~3,900) narrows its
    /// search with the directory, to a few cache lines.
    #[test]
    fn a_million_urls_worth_of_shard_has_a_directory() {
        let mut s = Shard::default();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..1_000_000 / SHARDS {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.insert(x);
        }
        assert!(s.sorted.len() >= DIRECTORY_FROM, "{}", s.sorted.len());
        assert_eq!(s.starts.len(), 257, "{} sorted: the directory is built", s.sorted.len());
        let widest = s.starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        assert!(widest <= 64, "a lookup searches at most {widest} fingerprints");
        for &fp in &s.sorted {
            assert!(s.in_sorted(fp));
        }
    }

    /// Against a plain hash set, over inserts that repeat, across many
    /// merges.
    #[test]
    fn agrees_with_a_hash_set() {
        let mut s = Shard::default();
        let mut model = std::collections::HashSet::new();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..100_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Every third value repeats an earlier one.
            let fp = if i % 3 == 0 { x % 1000 } else { x };
            assert_eq!(s.insert(fp), model.insert(fp), "insert {fp} at {i}");
            assert!(s.contains(fp));
        }
        assert_eq!(s.sorted.len() + s.recent.len(), model.len());
        assert!(s.sorted.windows(2).all(|w| w[0] < w[1]), "the array stays sorted");
        assert_eq!(s.starts.len(), 257, "{} sorted: the directory is built", s.sorted.len());
        for &fp in model.iter().take(5000) {
            assert!(s.contains(fp), "{fp}");
        }
        for probe in [0, 1, u64::MAX, 1 << 56, (1 << 56) - 1, 0xFF << 56] {
            assert_eq!(s.contains(probe), model.contains(&probe), "{probe:#x}");
        }
        assert!(s.recent.len() <= MIN_RECENT.max(s.sorted.len() / 8));
        assert_eq!(s.sorted.capacity(), s.sorted.len(), "no spare capacity");
        assert!(!s.contains(u64::MAX - 1) || model.contains(&(u64::MAX - 1)));
    }
}
