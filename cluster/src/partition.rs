//! Hosts, not URLs, are what machines own: a host's key (`host[:port]`,
//! the key politeness and robots use) hashes into one of [`PARTITIONS`]
//! fixed partitions, and a machine that holds a partition's lease crawls
//! every URL of its hosts. The hash is FNV-1a (64-bit) of the key's
//! bytes: fixed by this file, independent of the Rust version and the
//! machine, because every machine of a cluster must agree on it and the
//! database stores its result.

use trawl_common::url::{Url, host_key};

/// Number of partitions. Fixed for the life of a cluster's database (the
/// schema creates exactly this many rows, and joining checks it): enough
/// that a share moves in small steps when machines come and go, few
/// enough that the lease table is tiny.
pub const PARTITIONS: u32 = 1024;

/// One of the [`PARTITIONS`] partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(u32);

impl PartitionId {
    /// The partition `n`, if it exists.
    pub fn new(n: u32) -> Option<Self> {
        (n < PARTITIONS).then_some(Self(n))
    }

    /// Its number, `0..PARTITIONS`.
    pub fn get(self) -> u32 {
        self.0
    }

    /// As the database's `integer` column.
    pub fn as_i32(self) -> i32 {
        // PARTITIONS is far below i32::MAX.
        self.0.cast_signed()
    }

    /// From the database's `integer` column (rows this crate wrote).
    pub(crate) fn from_db(n: i32) -> Option<Self> {
        u32::try_from(n).ok().and_then(Self::new)
    }

    /// The partition a host key (`host[:port]`) belongs to.
    pub fn of_host(host_key: &str) -> Self {
        Self(u32::try_from(fnv1a(host_key.as_bytes()) % u64::from(PARTITIONS)).unwrap_or(0))
    }

    /// The partition a URL belongs to: that of its host key.
    pub fn of_url(url: &Url) -> Self {
        Self::of_host(&host_key(url))
    }
}

impl std::fmt::Display for PartitionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// How many partitions one of `machines` live machines should hold: an
/// even split, rounded up so the partitions are always all covered.
pub fn fair_share(machines: usize) -> usize {
    let total = PARTITIONS as usize;
    total.div_ceil(machines.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // From the FNV reference test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn partition_of_a_host_is_fixed() {
        // Golden values (computed independently): changing the hash would
        // split a running cluster's hosts across owners.
        for (host, partition) in
            [("example.com", 198), ("127.0.0.1:8080", 972), ("127.0.0.1:8001", 247)]
        {
            assert_eq!(PartitionId::of_host(host).get(), partition, "{host}");
        }
    }

    #[test]
    fn urls_of_one_host_share_a_partition_and_ports_differ() {
        let a = Url::parse("http://127.0.0.1:8080/a?x=1").unwrap();
        let b = Url::parse("http://127.0.0.1:8080/deep/b").unwrap();
        assert_eq!(PartitionId::of_url(&a), PartitionId::of_url(&b));
        assert_eq!(PartitionId::of_url(&a), PartitionId::of_host("127.0.0.1:8080"));
        // The scheme's default port is not part of the key.
        let c = Url::parse("http://example.com:80/").unwrap();
        assert_eq!(PartitionId::of_url(&c), PartitionId::of_host("example.com"));
    }

    #[test]
    fn hosts_spread_over_partitions() {
        let mut counts = vec![0u32; PARTITIONS as usize];
        for i in 0..100_000 {
            counts[PartitionId::of_host(&format!("host{i}.example:8080")).get() as usize] += 1;
        }
        // ~98 per partition on average; a sound hash stays well within 2x.
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*min > 50 && *max < 160, "min {min} max {max}");
    }

    #[test]
    fn fair_share_covers_every_partition() {
        assert_eq!(fair_share(0), 1024);
        assert_eq!(fair_share(1), 1024);
        assert_eq!(fair_share(3), 342);
        assert!(fair_share(3) * 3 >= PARTITIONS as usize);
        assert_eq!(PartitionId::new(1024), None);
        assert_eq!(PartitionId::new(1023).map(PartitionId::get), Some(1023));
    }
}
