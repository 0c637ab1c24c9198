//! What a snapshot of the application state is, without its bytes: its [`Manifest`], which a
//! validator checks against a certified state root before fetching the chunks it names. The
//! state itself, and how it is encoded, is the application's (`platform_app::snapshot`).

use parity_scale_codec::{Decode, Encode};

use crate::hash::{Hash, blake2b_256, blake2b_256_parts, hash_of};
use crate::ids::Height;

/// Size of a snapshot chunk: the unit that is hashed, stored and fetched.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Most chunks a snapshot may have (4 GiB): a manifest naming more is refused unread.
pub const MAX_CHUNKS: usize = 4096;

/// What a snapshot is, without its bytes: enough to check it against a certified state root
/// and to fetch and check its chunks one by one.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Manifest {
    /// The snapshot height: the state root after the block at this height covers the snapshot.
    pub height: Height,
    /// Height of the block the snapshot's state is after (the capture height, a few blocks
    /// below `height`: the application's `snapshot_lag`).
    pub captured: Height,
    /// The hash of the block at `height`.
    pub block_hash: Hash,
    /// The state root before that block.
    pub prev_root: Hash,
    /// Hash of the registry after that block.
    pub registry_hash: Hash,
    /// Length of the encoded state.
    pub len: u64,
    /// Hash of each chunk, in order.
    pub chunks: Vec<Hash>,
}

/// Why a snapshot or one of its chunks was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotError {
    /// The manifest's root is not the certified one.
    #[error("the manifest does not give the certified state root")]
    Root,
    /// The manifest is malformed (chunk count against length, too many chunks).
    #[error("malformed manifest: {0}")]
    Manifest(&'static str),
    /// A chunk does not hash to the manifest's entry.
    #[error("chunk {0} does not match the manifest")]
    Chunk(usize),
    /// The assembled bytes are not a state, or not the manifest's state.
    #[error("the snapshot does not decode to the manifest's state: {0}")]
    Body(&'static str),
}

impl Manifest {
    /// The digest the state root covers: the hash of the capture height, the length and the
    /// chunk hashes.
    pub fn digest(&self) -> Hash {
        hash_of(&(self.captured, self.len, &self.chunks))
    }

    /// The state root this manifest gives: compare it with the certified one.
    pub fn root(&self) -> Hash {
        snapshot_root(&self.prev_root, &self.block_hash, &self.registry_hash, &self.digest())
    }

    /// Checks the manifest is well formed and gives `certified`, the state root a checkpoint
    /// certifies for `height`.
    pub fn check(&self, height: Height, certified: &Hash) -> Result<(), SnapshotError> {
        if self.chunks.len() > MAX_CHUNKS {
            return Err(SnapshotError::Manifest("too many chunks"));
        }
        let expected =
            usize::try_from(self.len).map_err(|_| SnapshotError::Manifest("too long"))?.div_ceil(CHUNK_BYTES);
        if self.chunks.len() != expected {
            return Err(SnapshotError::Manifest("chunk count does not fit the length"));
        }
        if self.captured >= self.height {
            return Err(SnapshotError::Manifest("a state captured at or above the snapshot height"));
        }
        if self.height != height || &self.root() != certified {
            return Err(SnapshotError::Root);
        }
        Ok(())
    }

    /// Checks chunk `index` against the manifest.
    pub fn check_chunk(&self, index: usize, bytes: &[u8]) -> Result<(), SnapshotError> {
        let expected_len =
            if index + 1 == self.chunks.len() { (self.len as usize) - index * CHUNK_BYTES } else { CHUNK_BYTES };
        match self.chunks.get(index) {
            Some(hash) if bytes.len() == expected_len && blake2b_256(bytes) == *hash => Ok(()),
            _ => Err(SnapshotError::Chunk(index)),
        }
    }
}

/// The state root at a snapshot height.
pub fn snapshot_root(prev_root: &Hash, block_hash: &Hash, registry_hash: &Hash, digest: &Hash) -> Hash {
    blake2b_256_parts(&[prev_root.as_bytes(), block_hash.as_bytes(), registry_hash.as_bytes(), digest.as_bytes()])
}
