//! `matmul-proof` (the scheme of a compute subnet): prove you computed `C = A · B` for matrices
//! drawn from the epoch seed, without the validator redoing the whole product.
//!
//! The miner commits to `C` with the merkle root over its row hashes
//! (`leaf_i = blake2b-256(i u32 LE | C[i][0..N] as u64 LE)`, tree of the SDK's `merkle`), then
//! opens the rows drawn Fiat–Shamir style from `(root, seed)` ([`sampled_rows`]). The challenge
//! checks each opening's merkle proof and recomputes just those rows. A miner who skipped a share
//! `p` of the rows passes with probability about `(1 - p)^SAMPLES`.
//!
//! Payload: `root [32] | SAMPLES × (row u32 | N × u64 | proof_len u32 | proof_len × [32])`,
//! integers little-endian. [`solve`] builds it; score 1e9 when every opening checks out.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;

use platform_challenge_sdk::host::{blake2b_256_parts, merkle_verify};
use platform_challenge_sdk::merkle;
use platform_challenge_sdk::rng::Rng;
use platform_challenge_sdk::{Input, PPB, Verdict};

/// Matrix dimension.
pub const N: usize = 64;
/// Rows opened per proof.
pub const SAMPLES: usize = 8;

/// The matrices `A` and `B` for `seed`, row-major, entries below 2^16.
pub fn matrices(seed: &[u8; 32]) -> (Vec<u64>, Vec<u64>) {
    let mut rng = Rng::new(seed, b"matmul-proof/matrices");
    let mut draw = || (0..N * N).map(|_| rng.below(1 << 16)).collect::<Vec<u64>>();
    let a = draw();
    let b = draw();
    (a, b)
}

/// Row `i` of `A · B`.
pub fn product_row(a: &[u64], b: &[u64], i: usize) -> Vec<u64> {
    // Rows as fixed-size arrays: the compiler knows every trip count, so the loops need no
    // bounds checks and no scalar remainder.
    let (b_rows, _) = b.as_chunks::<N>();
    let mut row = [0u64; N];
    for (a_ik, b_row) in a[i * N..(i + 1) * N].iter().zip(b_rows) {
        for (cell, b_kj) in row.iter_mut().zip(b_row) {
            *cell = cell.wrapping_add(a_ik.wrapping_mul(*b_kj));
        }
    }
    row.to_vec()
}

/// The merkle leaf of row `i`.
pub fn row_leaf(i: usize, row: &[u64]) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(4 + 8 * row.len());
    bytes.extend_from_slice(&(i as u32).to_le_bytes());
    for v in row {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    blake2b_256_parts(&[&bytes])
}

/// The rows to open, drawn from the commitment and the seed.
pub fn sampled_rows(root: &[u8; 32], seed: &[u8; 32]) -> [usize; SAMPLES] {
    core::array::from_fn(|t| {
        let h = blake2b_256_parts(&[b"matmul-proof/sample", root, seed, &(t as u32).to_le_bytes()]);
        let mut word = [0u8; 8];
        word.copy_from_slice(&h[..8]);
        (u64::from_le_bytes(word) % N as u64) as usize
    })
}

/// An honest miner: computes `C`, commits, and opens the sampled rows.
pub fn solve(seed: &[u8; 32]) -> Vec<u8> {
    let (a, b) = matrices(seed);
    let rows: Vec<Vec<u64>> = (0..N).map(|i| product_row(&a, &b, i)).collect();
    let leaves: Vec<[u8; 32]> = rows.iter().enumerate().map(|(i, r)| row_leaf(i, r)).collect();
    let root = merkle::root(&leaves);
    let mut out = Vec::from(root);
    for i in sampled_rows(&root, seed) {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        for v in &rows[i] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let proof = merkle::prove(&leaves, i);
        out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
        for node in proof {
            out.extend_from_slice(&node);
        }
    }
    out
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("payload ends early");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(w))
    }
}

fn check(input: &Input) -> Result<(), alloc::string::String> {
    let mut cursor = Cursor(input.payload);
    let mut root = [0u8; 32];
    root.copy_from_slice(cursor.take(32)?);
    let (a, b) = matrices(&input.seed);
    for (t, expected) in sampled_rows(&root, &input.seed).into_iter().enumerate() {
        let row_index = cursor.u32()? as usize;
        if row_index != expected {
            return Err(format!("opening {t} is for row {row_index}; row {expected} was drawn"));
        }
        let row: Vec<u64> = cursor
            .take(8 * N)?
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        let proof_len = cursor.u32()? as usize;
        if proof_len > 64 {
            return Err(format!("opening {t}: proof of {proof_len} hashes is too long"));
        }
        let proof: Vec<[u8; 32]> = cursor
            .take(32 * proof_len)?
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        if !merkle_verify(&root, &row_leaf(row_index, &row), row_index as u64, N as u64, &proof) {
            return Err(format!("opening {t}: merkle proof for row {row_index} does not match the root"));
        }
        if row != product_row(&a, &b, row_index) {
            return Err(format!("row {row_index} is not row {row_index} of A·B"));
        }
    }
    if !cursor.0.is_empty() {
        return Err("trailing bytes after the openings".into());
    }
    Ok(())
}

/// The challenge.
pub fn evaluate(input: &Input) -> Verdict {
    match check(input) {
        Ok(()) => Verdict::scored(PPB),
        Err(reason) => Verdict::rejected(reason),
    }
}

#[cfg(not(feature = "library"))]
platform_challenge_sdk::challenge!(evaluate);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seed: [u8; 32], payload: &[u8]) -> Input<'_> {
        Input { seed, epoch: 0, miner: [0; 32], payload }
    }

    #[test]
    fn an_honest_proof_passes_and_tampering_fails() {
        let seed = [4; 32];
        let proof = solve(&seed);
        assert_eq!(evaluate(&input(seed, &proof)).score_ppb(), PPB);
        assert!(matches!(evaluate(&input([5; 32], &proof)), Verdict::Rejected { .. }), "other seed");
        let mut wrong_value = proof.clone();
        wrong_value[32 + 4] ^= 1;
        assert!(matches!(evaluate(&input(seed, &wrong_value)), Verdict::Rejected { .. }));
        let mut wrong_root = proof.clone();
        wrong_root[0] ^= 1;
        assert!(matches!(evaluate(&input(seed, &wrong_root)), Verdict::Rejected { .. }));
        assert!(matches!(evaluate(&input(seed, &proof[..proof.len() - 1])), Verdict::Rejected { .. }));
        assert!(matches!(evaluate(&input(seed, b"")), Verdict::Rejected { .. }));
    }

    #[test]
    fn product_rows_match_the_textbook_product() {
        let (a, b) = matrices(&[9; 32]);
        for i in [0, 17, N - 1] {
            let expected: Vec<u64> = (0..N)
                .map(|j| (0..N).fold(0u64, |sum, k| sum.wrapping_add(a[i * N + k].wrapping_mul(b[k * N + j]))))
                .collect();
            assert_eq!(product_row(&a, &b, i), expected, "row {i}");
        }
    }
}
