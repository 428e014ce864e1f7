//! A tiny splitmix64 stream: every pseudo-random choice of the site comes
//! from here, keyed by the spec's seed, a stream number and the page, so a
//! page renders identically on every request and in every process.

/// splitmix64 finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A tiny splitmix64 generator.
pub(crate) struct Rng(u64);

impl Rng {
    /// The stream `stream` of page `i` under `seed`.
    pub(crate) fn new(seed: u64, stream: u64, i: u32) -> Self {
        Rng(mix(seed ^ mix(stream.wrapping_mul(0x1_0000_0001) ^ mix(u64::from(i) + 1))))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform-ish in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
    pub(crate) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u32) as usize]
    }
}
