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

use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use platform_types::{BlockRef, Epoch, Hash, Height, PublicKey, SubmissionId, Tip, blake2b_256, hash_of};
pub use platform_types::{CHUNK_BYTES, MAX_CHUNKS, Manifest, SnapshotError};

use crate::participation::Participations;
use crate::phases::{Commitments, TaskSeeds};
use crate::retire::{ReplayWindow, Retired};
use crate::state::{AppState, Committed, Registry};
use crate::weights::{Champions, Smoothed};

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
    /// Shared with the state (an `Arc` encodes as what it holds).
    submissions: Vec<(SubmissionId, Arc<Committed>)>,
    by_challenge: Vec<(String, Vec<SubmissionId>)>,
    retired: Retired,
    /// Encoded as the `BTreeMap` it was: a compact length, then the windows in miner order.
    replays: Vec<(PublicKey, ReplayWindow)>,
    smoothed: Smoothed,
    champions: Champions,
    commitments: Commitments,
    task_seeds: TaskSeeds,
    participation: Participations,
}

impl AppState {
    /// The snapshot of this state, which must be the state after `self.tip` with `prev_root`
    /// the root before it. Encoding is deterministic: submissions by id, maps in key order.
    pub fn snapshot(&self, prev_root: Hash) -> Snapshot {
        let mut submissions: Vec<(SubmissionId, Arc<Committed>)> =
            self.submissions.iter().map(|(id, c)| (*id, c.clone())).collect();
        submissions.sort_unstable_by_key(|(id, _)| *id);
        let body = Body {
            height: self.tip.height,
            epoch: self.tip.epoch,
            chain: self.chain,
            registry: self.registry.clone(),
            submissions,
            by_challenge: self.by_challenge.iter().map(|(k, v)| (k.clone(), v.iter().copied().collect())).collect(),
            retired: self.retired.clone(),
            replays: self.replays.iter().map(|(miner, window)| (*miner, window.clone())).collect(),
            smoothed: self.smoothed.clone(),
            champions: self.champions.clone(),
            commitments: self.commitments.clone(),
            task_seeds: self.task_seeds.clone(),
            participation: self.participation.clone(),
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
            retired: body.retired,
            replays: body.replays.into_iter().collect(),
            smoothed: body.smoothed,
            champions: body.champions,
            commitments: body.commitments,
            task_seeds: body.task_seeds,
            participation: body.participation,
            snapshot_interval,
        })
    }
}
