//! Snapshots: the whole application state after a block, as bytes every validator computes
//! alike, so that a validator can restart from one, or join from one fetched from peers,
//! instead of applying every block since genesis.
//!
//! At a *snapshot height* (a multiple of the snapshot interval) the state root covers the
//! snapshot too: `root = H(previous root, block hash, registry hash, digest)`, where the
//! digest is the hash of the snapshot's [`Manifest`] (its length and the hash of each
//! [`CHUNK_BYTES`] chunk of the encoded state). The next block carries that root as its
//! `parent_state_root`, and its commit certificate — the checkpoint — certifies it. So a
//! snapshot from anyone is checked in three steps, before anything of it is decoded:
//! 1. the manifest against the certified root ([`Manifest::root`]),
//! 2. each chunk against its hash in the manifest ([`Manifest::check_chunk`]), as it arrives,
//! 3. the decoded state against the manifest ([`AppState::from_snapshot`]).

use parity_scale_codec::{Decode, Encode};
use platform_types::{BlockRef, Epoch, Hash, Height, SubmissionId, Tip, blake2b_256, blake2b_256_parts, hash_of};

use crate::state::{AppState, Committed, Registry};
use crate::weights::{Champions, Smoothed};

/// Size of a snapshot chunk: the unit that is hashed, stored and fetched.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Most chunks a snapshot may have (4 GiB): a manifest naming more is refused unread.
pub const MAX_CHUNKS: usize = 4096;

/// What a snapshot is, without its bytes: enough to check it against a certified state root
/// and to fetch and check its chunks one by one.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Manifest {
    /// Height of the block the snapshot is the state after.
    pub height: Height,
    /// That block's hash.
    pub block_hash: Hash,
    /// The state root before that block.
    pub prev_root: Hash,
    /// Hash of the registry in the snapshot.
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
    /// The digest the state root covers: the hash of the length and the chunk hashes.
    pub fn digest(&self) -> Hash {
        hash_of(&(self.len, &self.chunks))
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
pub(crate) fn snapshot_root(prev_root: &Hash, block_hash: &Hash, registry_hash: &Hash, digest: &Hash) -> Hash {
    blake2b_256_parts(&[prev_root.as_bytes(), block_hash.as_bytes(), registry_hash.as_bytes(), digest.as_bytes()])
}

/// A snapshot: its manifest and its chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// What it is.
    pub manifest: Manifest,
    /// The encoded state, in [`CHUNK_BYTES`] pieces (the last may be shorter).
    pub chunks: Vec<Vec<u8>>,
}

impl Snapshot {
    /// Cuts `bytes` (an encoded state) into chunks and describes them.
    fn new(height: Height, block_hash: Hash, prev_root: Hash, registry_hash: Hash, bytes: &[u8]) -> Snapshot {
        let chunks: Vec<Vec<u8>> = bytes.chunks(CHUNK_BYTES).map(<[u8]>::to_vec).collect();
        let manifest = Manifest {
            height,
            block_hash,
            prev_root,
            registry_hash,
            len: bytes.len() as u64,
            chunks: chunks.iter().map(|c| blake2b_256(c)).collect(),
        };
        Snapshot { manifest, chunks }
    }
}

/// The encoded state: every field of [`AppState`] but its root, maps in key order.
#[derive(Encode, Decode)]
struct Body {
    height: Height,
    epoch: Epoch,
    chain: Option<BlockRef>,
    registry: Registry,
    submissions: Vec<(SubmissionId, Committed)>,
    by_challenge: Vec<(String, Vec<SubmissionId>)>,
    smoothed: Smoothed,
    champions: Champions,
}

impl AppState {
    /// The snapshot of this state, which must be the state after `self.tip` with `prev_root`
    /// the root before it. Encoding is deterministic: submissions by id, maps in key order.
    pub fn snapshot(&self, prev_root: Hash) -> Snapshot {
        let mut submissions: Vec<(SubmissionId, Committed)> =
            self.submissions.iter().map(|(id, c)| (*id, c.clone())).collect();
        submissions.sort_unstable_by_key(|(id, _)| *id);
        let body = Body {
            height: self.tip.height,
            epoch: self.tip.epoch,
            chain: self.chain,
            registry: self.registry.clone(),
            submissions,
            by_challenge: self.by_challenge.iter().map(|(k, v)| (k.clone(), v.iter().copied().collect())).collect(),
            smoothed: self.smoothed.clone(),
            champions: self.champions.clone(),
        };
        Snapshot::new(self.tip.height, self.tip.hash, prev_root, hash_of(&self.registry), &body.encode())
    }

    /// The state a snapshot holds. `snapshot.manifest` must already be checked against a
    /// certified root ([`Manifest::check`]) or come from this validator's own store; the
    /// chunks are checked against it here, then the state against the manifest.
    pub fn from_snapshot(snapshot: &Snapshot, snapshot_interval: u64) -> Result<AppState, SnapshotError> {
        let manifest = &snapshot.manifest;
        if snapshot.chunks.len() != manifest.chunks.len() {
            return Err(SnapshotError::Manifest("chunk count does not fit the manifest"));
        }
        let mut bytes = Vec::with_capacity(manifest.len as usize);
        for (index, chunk) in snapshot.chunks.iter().enumerate() {
            manifest.check_chunk(index, chunk)?;
            bytes.extend_from_slice(chunk);
        }
        let body = Body::decode(&mut &bytes[..]).map_err(|_| SnapshotError::Body("not a state"))?;
        if body.height != manifest.height || hash_of(&body.registry) != manifest.registry_hash {
            return Err(SnapshotError::Body("another height or registry"));
        }
        Ok(AppState {
            tip: Tip { height: body.height, hash: manifest.block_hash, state_root: manifest.root(), epoch: body.epoch },
            chain: body.chain,
            registry: body.registry,
            submissions: body.submissions.into_iter().collect(),
            by_challenge: body.by_challenge.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
            smoothed: body.smoothed,
            champions: body.champions,
            snapshot_interval,
        })
    }
}
