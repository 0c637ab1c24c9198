//! The commit-reveal (v2) commit hash, exactly as the runtime recomputes it on reveal.

use parity_scale_codec::Encode;
use platform_types::{Hash, PublicKey};

/// Subtensor's index of a (subnet, mechanism) pair: `mecid * 4096 + netuid`, so mechanism 0 is
/// the subnet itself.
pub fn netuid_index(netuid: u16, mecid: u8) -> u16 {
    u16::from(mecid).wrapping_mul(4096).wrapping_add(netuid)
}

/// `BlakeTwo256(SCALE(hotkey: AccountId32, netuid_index: u16, uids: Vec<u16>,
/// values: Vec<u16>, salt: Vec<u16>, version_key: u64))`.
pub fn commit_hash(
    hotkey: &PublicKey,
    netuid_index: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> Hash {
    let encoded = (hotkey.as_bytes(), netuid_index, uids, values, salt, version_key).encode();
    platform_types::blake2b_256(&encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_zero_is_the_subnet() {
        assert_eq!(netuid_index(7, 0), 7);
        assert_eq!(netuid_index(7, 1), 4103);
        assert_eq!(netuid_index(100, 2), 8292);
    }

    #[test]
    fn hash_covers_every_field_in_scale_order() {
        let hotkey = PublicKey::from_bytes([7; 32]);
        let base = commit_hash(&hotkey, 1, &[0, 1], &[65535, 100], &[1, 2, 3], 5);
        // The hand-written SCALE encoding of the same tuple.
        let mut bytes = vec![7u8; 32];
        bytes.extend([1, 0]); // netuid_index u16 LE
        bytes.extend([8, 0, 0, 1, 0]); // Vec<u16> [0, 1]: compact len 2 = 0x08
        bytes.extend([8, 0xff, 0xff, 100, 0]);
        bytes.extend([12, 1, 0, 2, 0, 3, 0]);
        bytes.extend(5u64.to_le_bytes());
        assert_eq!(base, platform_types::blake2b_256(&bytes));
        // Any change moves the hash.
        assert_ne!(base, commit_hash(&hotkey, 1, &[0, 1], &[65535, 100], &[1, 2, 4], 5));
        assert_ne!(base, commit_hash(&hotkey, 4097, &[0, 1], &[65535, 100], &[1, 2, 3], 5));
        assert_ne!(base, commit_hash(&hotkey, 1, &[0, 1], &[65535, 100], &[1, 2, 3], 6));
    }
}
