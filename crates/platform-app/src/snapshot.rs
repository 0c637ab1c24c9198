//! Snapshots: the whole application state after a block, as bytes every validator computes
//! alike, so that a validator can restart from one, or join from one fetched from peers,
//! instead of applying every block since genesis.
//!
//! The state is *captured* after the block [`snapshot_lag`] blocks before each *snapshot
//! height* (a multiple of the snapshot interval), and the state root at the snapshot height
//! covers it: `root = H(previous root, block hash, registry hash, digest)`, where the hashes
//! are the snapshot height's and the digest is the hash of the snapshot's [`Manifest`] (the
//! capture height, and the length and the hash of each [`CHUNK_BYTES`] chunk of the encoded
//! captured state). The next block carries that root as its `parent_state_root`, and its
//! commit certificate — the checkpoint — certifies it. Encoding and hashing a large state takes seconds, so the capture
//! is encoded lazily, once ([`Capture`]): a node hands it to a thread of its own when the
//! capture height's block is applied, and the snapshot height's block, applied blocks later,
//! finds it done instead of encoding the state on the caller's thread. Whoever asks first
//! encodes it; the result is the same, so the state stays a pure function of the blocks.
//!
//! A snapshot from anyone is checked in three steps, before anything of it is decoded:
//! 1. the manifest against the certified root ([`Manifest::root`]),
//! 2. each chunk against its hash in the manifest ([`Manifest::check_chunk`]), as it arrives,
//! 3. the decoded state against the manifest ([`AppState::from_snapshot`]).
//!
//! The restored state is the captured one: the blocks from the capture height to the
//! snapshot height are applied on it like any after, and the state root they reach at the
//! snapshot height is the certified one.

use std::sync::{Arc, Mutex, OnceLock};

use parity_scale_codec::{Decode, Encode};
use platform_types::{BlockRef, Epoch, Hash, Height, PublicKey, SubmissionId, Tip, blake2b_256};
pub use platform_types::{CHUNK_BYTES, MAX_CHUNKS, Manifest, SnapshotError};

use crate::participation::Participations;
use crate::phases::{Commitments, TaskSeeds};
use crate::retire::{ReplayWindow, Retired};
use crate::state::{AppState, Committed, Registry};
use crate::weights::{Champions, Smoothed};

/// Blocks between a captured state and the snapshot height whose root covers it: half the
/// snapshot interval (at least one), the time a node has to encode the capture off its event
/// loop.
pub fn snapshot_lag(snapshot_interval: u64) -> u64 {
    (snapshot_interval / 2).max(1)
}

/// A snapshot: its manifest and its chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// What it is.
    pub manifest: Manifest,
    /// The encoded state, in [`CHUNK_BYTES`] pieces (the last may be shorter); shared with the
    /// capture they were encoded from.
    pub chunks: Arc<Vec<Vec<u8>>>,
}

/// A captured state's encoding: its length, its chunks and their hashes.
#[derive(Debug)]
struct Encoded {
    len: u64,
    hashes: Vec<Hash>,
    chunks: Arc<Vec<Vec<u8>>>,
}

impl Encoded {
    /// Encodes `body` straight into chunks (the encoded state is never held whole besides them).
    fn new(body: &impl Encode) -> Encoded {
        let mut chunks = Chunks(Vec::new());
        body.encode_to(&mut chunks);
        let chunks = chunks.0;
        let len = chunks.iter().map(|c| c.len() as u64).sum();
        let hashes = chunks.iter().map(|c| blake2b_256(c)).collect();
        Encoded { len, hashes, chunks: Arc::new(chunks) }
    }
}

/// An encoding's output cut into [`CHUNK_BYTES`] pieces as it is written.
struct Chunks(Vec<Vec<u8>>);

impl parity_scale_codec::Output for Chunks {
    fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let chunk = match self.0.last_mut() {
                Some(chunk) if chunk.len() < CHUNK_BYTES => chunk,
                _ => {
                    self.0.push(Vec::with_capacity(CHUNK_BYTES));
                    self.0.last_mut().expect("just pushed")
                }
            };
            let take = bytes.len().min(CHUNK_BYTES - chunk.len());
            chunk.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
    }
}

/// The state after a capture height's block, encoded at most once, by whichever thread asks
/// first ([`Capture::encode`]); a thread asking meanwhile waits for that encoding.
#[derive(Debug)]
pub struct Capture {
    height: Height,
    /// The state until it is encoded.
    state: Mutex<Option<AppState>>,
    encoded: OnceLock<Encoded>,
}

impl Capture {
    fn of(state: AppState) -> Capture {
        Capture { height: state.tip.height, state: Mutex::new(Some(state)), encoded: OnceLock::new() }
    }

    /// The capture a restored snapshot holds: already encoded.
    fn restored(height: Height, snapshot: &Snapshot) -> Capture {
        let encoded = Encoded {
            len: snapshot.manifest.len,
            hashes: snapshot.manifest.chunks.clone(),
            chunks: snapshot.chunks.clone(),
        };
        Capture { height, state: Mutex::new(None), encoded: OnceLock::from(encoded) }
    }

    /// Height of the block the captured state is after.
    pub fn height(&self) -> Height {
        self.height
    }

    /// Whether the state has been encoded.
    pub fn is_encoded(&self) -> bool {
        self.encoded.get().is_some()
    }

    /// Encodes the captured state, unless done (then at once) or under way on another thread
    /// (then waits for it).
    pub fn encode(&self) {
        self.encoded();
    }

    fn encoded(&self) -> &Encoded {
        self.encoded.get_or_init(|| {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner()).take();
            let state = state.expect("a capture not yet encoded holds its state");
            Encoded::new(&state.body())
        })
    }

    /// The snapshot this capture is, covered by the state root after the block `block_hash`
    /// at `height` (the snapshot height), with `prev_root` the root before that block and
    /// `registry_hash` the registry's after it.
    pub fn snapshot(&self, height: Height, block_hash: Hash, prev_root: Hash, registry_hash: Hash) -> Snapshot {
        let encoded = self.encoded();
        let manifest = Manifest {
            height,
            captured: self.height,
            block_hash,
            prev_root,
            registry_hash,
            len: encoded.len,
            chunks: encoded.hashes.clone(),
        };
        Snapshot { manifest, chunks: encoded.chunks.clone() }
    }
}

/// The encoded state: every field of [`AppState`] but its capture, maps in key order.
#[derive(Encode, Decode)]
struct Body {
    height: Height,
    /// The tip's block hash and state root.
    hash: Hash,
    state_root: Hash,
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
    /// What a snapshot of this state encodes. Deterministic: submissions by id, maps in key
    /// order.
    fn body(&self) -> Body {
        let mut submissions: Vec<(SubmissionId, Arc<Committed>)> =
            self.submissions.iter().map(|(id, c)| (*id, c.clone())).collect();
        submissions.sort_unstable_by_key(|(id, _)| *id);
        Body {
            height: self.tip.height,
            hash: self.tip.hash,
            state_root: self.tip.state_root,
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
        }
    }

    /// A capture of this state (a copy sharing its maps), not yet encoded.
    pub fn capture(&self) -> Capture {
        Capture::of(AppState { captured: None, ..self.clone() })
    }

    /// The state a snapshot holds: the captured state, [`snapshot_lag`] blocks below the
    /// snapshot's height, holding the capture so that applying the blocks up to that height
    /// gives the root the manifest does. `snapshot.manifest` must already be checked against a
    /// certified root ([`Manifest::check`]) or come from this validator's own store; the chunks
    /// are checked against it here, then the state against the manifest.
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
        let lag = snapshot_lag(snapshot_interval);
        if body.height != manifest.captured || body.height.get().checked_add(lag) != Some(manifest.height.get()) {
            return Err(SnapshotError::Body("a state captured at another height"));
        }
        Ok(AppState {
            tip: Tip { height: body.height, hash: body.hash, state_root: body.state_root, epoch: body.epoch },
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
            captured: Some(Arc::new(Capture::restored(body.height, snapshot))),
        })
    }
}

#[cfg(test)]
mod tests {
    use parity_scale_codec::Encode;

    use super::{CHUNK_BYTES, Encoded};

    /// Encoding straight into chunks gives the chunks of the whole encoding cut after the fact,
    /// whatever the length: empty, within one chunk, exactly one, across several.
    #[test]
    fn an_encoding_cut_as_it_is_written_is_the_whole_encoding_cut_after() {
        for len in [0, 1, CHUNK_BYTES - 3, CHUNK_BYTES, 2 * CHUNK_BYTES + 7] {
            let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let whole = value.encode();
            let cut: Vec<Vec<u8>> = whole.chunks(CHUNK_BYTES).map(<[u8]>::to_vec).collect();
            let encoded = Encoded::new(&value);
            assert_eq!(*encoded.chunks, cut, "{len} bytes");
            assert_eq!(encoded.len, whole.len() as u64);
            assert!(encoded.chunks.iter().all(|c| c.len() <= CHUNK_BYTES && !c.is_empty()));
        }
    }
}
