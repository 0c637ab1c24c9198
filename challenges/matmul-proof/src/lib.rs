//! `matmul-proof` (the scheme of a compute subnet), a two-phase challenge: prove you computed
//! `C = A · B` for matrices drawn from an epoch's task seed, without the validator redoing the
//! whole product.
//!
//! 1. **Task.** The miner reads the epoch's task seed from a validator (`GET /task`) and draws
//!    its matrices from it and its own hotkey ([`matrices`]): every miner has its own task, so
//!    openings revealed by one are of no use to another.
//! 2. **Commitment.** It computes `C` and submits, as a commitment to that epoch's task, the
//!    merkle root over the row hashes (`leaf_i = blake2b-256(i u32 LE | C[i][0..N] as u64 LE)`,
//!    tree of the SDK's `merkle`): 32 bytes.
//! 3. **Reveal.** Once a block has ordered the commitment, the network's sampling seed for it is
//!    fixed (the miner reads it from `GET /submissions/{id}`); the rows to open are drawn from
//!    it alone ([`sampled_rows`]). The miner reveals them with their merkle proofs. The
//!    challenge checks each proof against the committed root and recomputes just those rows.
//!
//! The seed is drawn after the commitment and the network orders one commitment per miner and
//! task, so neither re-rolling the root nor committing again draws other rows. A miner who
//! computed only a share `p` of the rows passes with probability about `p^SAMPLES`.
//!
//! Reveal payload: `SAMPLES × (row u32 | N × u64 | proof_len u32 | proof_len × [32])`, integers
//! little-endian. [`Work::compute`], [`Work::root`] and [`Work::reveal`] are an honest miner.
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

/// The matrices `A` and `B` of the task drawn from `task_seed` for `miner`, row-major, entries
/// below 2^16.
pub fn matrices(task_seed: &[u8; 32], miner: &[u8; 32]) -> (Vec<u64>, Vec<u64>) {
    let seed = blake2b_256_parts(&[b"matmul-proof/task", task_seed, miner]);
    let mut rng = Rng::new(&seed, b"matmul-proof/matrices");
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

/// The rows to open, drawn from the commitment's sampling seed alone.
pub fn sampled_rows(sampling_seed: &[u8; 32]) -> [usize; SAMPLES] {
    core::array::from_fn(|t| {
        let h = blake2b_256_parts(&[b"matmul-proof/sample", sampling_seed, &(t as u32).to_le_bytes()]);
        let mut word = [0u8; 8];
        word.copy_from_slice(&h[..8]);
        (u64::from_le_bytes(word) % N as u64) as usize
    })
}

/// A miner's work on its task: the product's rows and their merkle leaves.
pub struct Work {
    /// The rows of `C = A · B`.
    pub rows: Vec<Vec<u64>>,
    leaves: Vec<[u8; 32]>,
}

impl Work {
    /// Computes the task of `task_seed` for `miner`.
    pub fn compute(task_seed: &[u8; 32], miner: &[u8; 32]) -> Work {
        let (a, b) = matrices(task_seed, miner);
        Work::from_rows((0..N).map(|i| product_row(&a, &b, i)).collect())
    }

    /// Work over given rows (an honest miner's, or a lazy one's for tests).
    pub fn from_rows(rows: Vec<Vec<u64>>) -> Work {
        let leaves = rows.iter().enumerate().map(|(i, r)| row_leaf(i, r)).collect();
        Work { rows, leaves }
    }

    /// The commitment: the merkle root over the rows.
    pub fn root(&self) -> [u8; 32] {
        merkle::root(&self.leaves)
    }

    /// The reveal for `sampling_seed`: the drawn rows with their proofs.
    pub fn reveal(&self, sampling_seed: &[u8; 32]) -> Vec<u8> {
        let mut out = Vec::new();
        for i in sampled_rows(sampling_seed) {
            out.extend_from_slice(&(i as u32).to_le_bytes());
            for v in &self.rows[i] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            let proof = merkle::prove(&self.leaves, i);
            out.extend_from_slice(&(proof.len() as u32).to_le_bytes());
            for node in proof {
                out.extend_from_slice(&node);
            }
        }
        out
    }
}

/// An honest miner's commitment and reveal, for tools and tests.
pub fn solve(task_seed: &[u8; 32], miner: &[u8; 32], sampling_seed: &[u8; 32]) -> ([u8; 32], Vec<u8>) {
    let work = Work::compute(task_seed, miner);
    (work.root(), work.reveal(sampling_seed))
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
    let Some(commitment) = input.commitment else {
        return Err("matmul-proof takes a commitment (the merkle root of A·B's rows), then its reveal".into());
    };
    let root: [u8; 32] = commitment
        .payload
        .try_into()
        .map_err(|_| format!("the commitment is {} bytes, not a 32-byte merkle root", commitment.payload.len()))?;
    let mut cursor = Cursor(input.payload);
    let (a, b) = matrices(&commitment.task_seed, &input.miner);
    for (t, expected) in sampled_rows(&input.seed).into_iter().enumerate() {
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
    use platform_challenge_sdk::Commitment;

    const TASK: [u8; 32] = [4; 32];
    const MINER: [u8; 32] = [8; 32];
    const SAMPLING: [u8; 32] = [6; 32];

    fn reveal<'a>(root: &'a [u8], sampling_seed: [u8; 32], payload: &'a [u8]) -> Input<'a> {
        Input {
            seed: sampling_seed,
            epoch: 0,
            miner: MINER,
            commitment: Some(Commitment { task_seed: TASK, payload: root }),
            payload,
        }
    }

    fn refused(verdict: Verdict, why: &str) {
        match verdict {
            Verdict::Rejected { reason } => assert!(reason.contains(why), "{reason:?} does not say {why:?}"),
            other => panic!("expected a rejection saying {why:?}, got {other:?}"),
        }
    }

    #[test]
    fn an_honest_commitment_and_reveal_pass_and_tampering_fails() {
        let (root, openings) = solve(&TASK, &MINER, &SAMPLING);
        assert_eq!(evaluate(&reveal(&root, SAMPLING, &openings)).score_ppb(), PPB);
        refused(evaluate(&reveal(&root, [7; 32], &openings)), "was drawn");
        let mut wrong_value = openings.clone();
        wrong_value[4] ^= 1;
        refused(evaluate(&reveal(&root, SAMPLING, &wrong_value)), "does not match the root");
        let mut wrong_root = root;
        wrong_root[0] ^= 1;
        refused(evaluate(&reveal(&wrong_root, SAMPLING, &openings)), "does not match the root");
        refused(evaluate(&reveal(&root, SAMPLING, &openings[..openings.len() - 1])), "ends early");
        refused(evaluate(&reveal(&root[..31], SAMPLING, &openings)), "not a 32-byte merkle root");
        let mut trailing = openings.clone();
        trailing.push(0);
        refused(evaluate(&reveal(&root, SAMPLING, &trailing)), "trailing bytes");
        let plain = Input { commitment: None, ..reveal(&root, SAMPLING, &openings) };
        refused(evaluate(&plain), "takes a commitment");
    }

    /// Another miner's task is another product: openings copied from a miner's reveal do not
    /// answer it.
    #[test]
    fn each_miner_has_its_own_task() {
        let (root, openings) = solve(&TASK, &[9; 32], &SAMPLING);
        refused(evaluate(&reveal(&root, SAMPLING, &openings)), "is not row");
    }

    /// A miner that commits to a product it computed only partly (rows it guessed would be
    /// drawn) passes only when the seed drawn after its commitment picks just those rows:
    /// re-rolling its root moves nothing, since the draw depends on the sampling seed alone.
    #[test]
    fn a_partly_computed_product_fails_when_the_draw_finds_a_skipped_row() {
        let honest = Work::compute(&TASK, &MINER);
        let mut rows = honest.rows.clone();
        for row in rows.iter_mut().skip(N / 2) {
            row.iter_mut().for_each(|v| *v = 0);
        }
        let lazy = Work::from_rows(rows);
        let root = lazy.root();
        let mut passed = 0;
        for s in 0..64u8 {
            let seed = [s; 32];
            let openings = lazy.reveal(&seed);
            let verdict = evaluate(&reveal(&root, seed, &openings));
            if sampled_rows(&seed).iter().all(|&i| i < N / 2) {
                assert_eq!(verdict.score_ppb(), PPB, "the draw found only computed rows");
                passed += 1;
            } else {
                refused(verdict, "is not row");
            }
        }
        assert!(passed <= 2, "about 64 × 2^-8 of the draws pass; {passed} did");
        let mut other = lazy.rows.clone();
        other[0][0] ^= 1;
        assert_ne!(Work::from_rows(other).root(), root, "another root, and the same draw for the same seed");
    }

    #[test]
    fn product_rows_match_the_textbook_product() {
        let (a, b) = matrices(&[9; 32], &MINER);
        for i in [0, 17, N - 1] {
            let expected: Vec<u64> = (0..N)
                .map(|j| (0..N).fold(0u64, |sum, k| sum.wrapping_add(a[i * N + k].wrapping_mul(b[k * N + j]))))
                .collect();
            assert_eq!(product_row(&a, &b, i), expected, "row {i}");
        }
    }
}
