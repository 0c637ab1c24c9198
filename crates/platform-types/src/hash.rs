//! blake2b-256, the one hash function of the protocol, and the [`Hash`] it produces.

use std::fmt;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use parity_scale_codec::{Decode, Encode};

use crate::error::DecodeError;

type Blake2b256 = Blake2b<U32>;

/// A 32-byte blake2b-256 digest. Displays as `0x`-prefixed lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Hash([u8; 32]);

impl Hash {
    /// The all-zero hash, used as the parent of the first block.
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// Wraps 32 raw bytes that are already a digest.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Hash(bytes)
    }

    /// Reads a digest from a slice that must be exactly 32 bytes long.
    pub fn from_slice(field: &'static str, bytes: &[u8]) -> Result<Self, DecodeError> {
        crate::error::fixed(field, bytes).map(Hash)
    }

    /// Parses `0x`-prefixed (or bare) hex of exactly 32 bytes.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text))
            .map_err(|_| DecodeError::Invalid { field: "hash", reason: "not hex" })?;
        Hash::from_slice("hash", &bytes)
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// blake2b-256 of `data`.
pub fn blake2b_256(data: &[u8]) -> Hash {
    Hash(Blake2b256::digest(data).into())
}

/// blake2b-256 over several parts fed in order, without concatenating them first.
/// Callers are responsible for making the split unambiguous (fixed widths or length prefixes).
pub fn blake2b_256_parts(parts: &[&[u8]]) -> Hash {
    let mut hasher = Blake2b256::new();
    for part in parts {
        hasher.update(part);
    }
    Hash(hasher.finalize().into())
}

/// blake2b-256 of the SCALE encoding of `value`: the canonical hash of a domain type.
pub fn hash_of<T: Encode>(value: &T) -> Hash {
    let mut hasher = Blake2b256::new();
    value.using_encoded(|bytes| hasher.update(bytes));
    Hash(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_matches_the_reference_digest() {
        // blake2b-256("") from RFC 7693's parameterisation (digest length 32).
        assert_eq!(blake2b_256(b"").to_string(), "0x0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    }

    #[test]
    fn parts_hash_like_the_concatenation() {
        assert_eq!(blake2b_256_parts(&[b"ab", b"c"]), blake2b_256(b"abc"));
    }

    #[test]
    fn hex_round_trip_and_bad_lengths() {
        let h = blake2b_256(b"platform");
        assert_eq!(Hash::from_hex(&h.to_string()).ok(), Some(h));
        assert!(Hash::from_hex("0x1234").is_err());
        assert!(Hash::from_hex("zz").is_err());
    }
}
