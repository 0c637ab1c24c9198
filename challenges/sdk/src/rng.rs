//! A seeded pseudo-random generator in pure code (xoshiro256**), identical natively and in
//! WASM, so a challenge's generated data can be reproduced by tests and by miners' tools.

use crate::host::blake2b_256_parts;

/// xoshiro256** seeded from blake2b-256(domain | seed).
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for `domain` (separate streams for separate purposes) under `seed`.
    pub fn new(seed: &[u8; 32], domain: &[u8]) -> Rng {
        let key = blake2b_256_parts(&[domain, seed]);
        let mut s = [0u64; 4];
        for (word, chunk) in s.iter_mut().zip(key.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *word = u64::from_le_bytes(bytes);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..bound` (`bound` > 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi as i128 - lo as i128 + 1) as u64;
        lo.wrapping_add(self.below(span) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_domains_differ() {
        let seed = [7u8; 32];
        let (mut a, mut b, mut c) = (Rng::new(&seed, b"x"), Rng::new(&seed, b"x"), Rng::new(&seed, b"y"));
        let xs: [u64; 4] = core::array::from_fn(|_| a.next_u64());
        let ys: [u64; 4] = core::array::from_fn(|_| b.next_u64());
        let zs: [u64; 4] = core::array::from_fn(|_| c.next_u64());
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        for _ in 0..1000 {
            let v = a.range_i64(-3, 3);
            assert!((-3..=3).contains(&v));
        }
    }
}
