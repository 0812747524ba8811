//! SplitMix64 (Steele, Lea and Flood, 2014): the one integer hash and small
//! generator of the workspace. Dropout masks hash `(seed, element)` with it,
//! the trainer mixes `(seed, stream, index)` into a generator seed with it,
//! and the tests draw their inputs from [`SplitMix64`].

/// The sequence's increment, 2⁶⁴ divided by the golden ratio (odd).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The finaliser's first multiplier (odd; also a second odd constant for
/// combining numbers before [`mix`]).
pub const MUL1: u64 = 0xBF58_476D_1CE4_E5B9;

const MUL2: u64 = 0x94D0_49BB_1331_11EB;

/// The SplitMix64 finaliser: a bijection of `u64` that mixes every input
/// bit into every output bit.
#[inline]
pub fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(MUL1);
    let z = (z ^ (z >> 27)).wrapping_mul(MUL2);
    z ^ (z >> 31)
}

/// Output `k` (1-based) of the sequence seeded `seed`, without the `k − 1`
/// before it: what [`SplitMix64::next_u64`] returns on its `k`-th call.
#[inline]
pub fn at(seed: u64, k: u64) -> u64 {
    mix(seed.wrapping_add(k.wrapping_mul(GAMMA)))
}

/// The top 24 bits of `z` as a uniform number in `[0, 1)` (exact in `f32`).
#[inline]
pub fn unit_f32(z: u64) -> f32 {
    (z >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// The SplitMix64 generator: tiny, deterministic, no dependency.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        mix(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_access_matches_the_sequence() {
        let mut g = SplitMix64::new(42);
        for k in 1..=100 {
            assert_eq!(g.next_u64(), at(42, k));
        }
    }

    #[test]
    fn first_outputs_of_seed_zero() {
        // Published reference values of SplitMix64 seeded 0.
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(g.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn unit_is_in_range() {
        assert_eq!(unit_f32(0), 0.0);
        assert!(unit_f32(u64::MAX) < 1.0);
        assert_eq!(unit_f32(1 << 63), 0.5);
    }
}
