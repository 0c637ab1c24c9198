//! The binary merkle tree the host's `merkle_verify` checks (defined in `docs/runtime-abi.md`):
//! leaf node `blake2b-256(0x00 | leaf)`, inner node `blake2b-256(0x01 | left | right)`, an odd
//! node at the end of a level promoted unchanged; proofs list siblings bottom-up.

use alloc::vec::Vec;

use crate::host::blake2b_256_parts;

fn leaf_node(leaf: &[u8; 32]) -> [u8; 32] {
    blake2b_256_parts(&[&[0], leaf])
}

fn inner_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    blake2b_256_parts(&[&[1], left, right])
}

fn next_level(level: &[[u8; 32]]) -> Vec<[u8; 32]> {
    level.chunks(2).map(|pair| if pair.len() == 2 { inner_node(&pair[0], &pair[1]) } else { pair[0] }).collect()
}

/// The root over `leaves` (all zeros for no leaves).
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = leaves.iter().map(leaf_node).collect();
    if level.is_empty() {
        return [0; 32];
    }
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
}

/// The proof for leaf `index`.
pub fn prove(leaves: &[[u8; 32]], mut index: usize) -> Vec<[u8; 32]> {
    let mut level: Vec<[u8; 32]> = leaves.iter().map(leaf_node).collect();
    let mut proof = Vec::new();
    while level.len() > 1 {
        if let Some(sibling) = level.get(index ^ 1) {
            proof.push(*sibling);
        }
        level = next_level(&level);
        index >>= 1;
    }
    proof
}

/// Pure verification (what the host does; use [`crate::host::merkle_verify`] in challenges).
pub fn verify(root: &[u8; 32], leaf: &[u8; 32], index: u64, leaf_count: u64, proof: &[[u8; 32]]) -> bool {
    if index >= leaf_count {
        return false;
    }
    let (mut node, mut index, mut width) = (leaf_node(leaf), index, leaf_count);
    let mut siblings = proof.iter();
    while width > 1 {
        if index ^ 1 < width {
            let Some(sibling) = siblings.next() else { return false };
            node = if index & 1 == 0 { inner_node(&node, sibling) } else { inner_node(sibling, &node) };
        }
        index >>= 1;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && node == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_of_every_small_tree_verifies_and_tampering_fails() {
        for n in 1..=17usize {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| [i as u8; 32]).collect();
            let root = root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = prove(&leaves, i);
                assert!(verify(&root, leaf, i as u64, n as u64, &proof), "n={n} i={i}");
                assert!(!verify(&root, &[0xFF; 32], i as u64, n as u64, &proof));
                assert!(!verify(&root, leaf, (i as u64 + 1) % n as u64, n as u64, &proof) || n == 1);
                let mut longer = proof.clone();
                longer.push([0; 32]);
                assert!(!verify(&root, leaf, i as u64, n as u64, &longer));
            }
            assert!(!verify(&root, &leaves[0], n as u64, n as u64, &[]));
        }
    }
}
