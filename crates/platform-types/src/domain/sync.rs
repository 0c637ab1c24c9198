//! The sync protocol between validators: catching up on committed blocks, fetching submission
//! bodies, the genesis vote, and state snapshots (a manifest, then its chunks). Answers are not signed as a whole; each part carries its own
//! proof (a commit certificate, a miner's signature) or is a vote the asker weighs.

use super::consensus::{Block, Checkpoint, QuorumCertificate, ValidatorSet};
use super::snapshot::Manifest;
use crate::envelope::Envelope;
use crate::ids::{Height, SubmissionId};

/// Most submission ids one request may ask for, and envelopes one answer may carry.
pub const MAX_SYNC_SUBMISSIONS: usize = 4096;

/// Most committed blocks one answer may carry.
pub const MAX_SYNC_BLOCKS: usize = 64;

/// What a validator asks another.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SyncRequest {
    /// The genesis validator set the peer holds, or vouches for while it has none.
    Genesis,
    /// Committed blocks with their commit certificates, from this height on.
    Blocks {
        /// First height wanted (at least 1).
        from: Height,
    },
    /// Submission envelopes by id.
    Submissions(Vec<SubmissionId>),
    /// The newest state snapshot the peer can serve, with the checkpoint certifying it.
    Snapshot,
    /// One chunk of the snapshot at a height.
    Chunk {
        /// The snapshot's height.
        height: Height,
        /// The chunk's index.
        index: u32,
    },
}

/// The answer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SyncResponse {
    /// The genesis validator set, if the peer has one to vouch for.
    Genesis(Option<ValidatorSet>),
    /// Committed blocks with their commit certificates, in height order.
    Blocks(Vec<(Block, QuorumCertificate)>),
    /// The submission envelopes the peer holds, as the miners signed them.
    Submissions(Vec<Envelope>),
    /// The peer's newest snapshot: its manifest and the checkpoint (the block after it, with
    /// its commit certificate) whose `parent_state_root` is the snapshot's root; `None` when it
    /// has none to serve.
    Snapshot(Option<Box<(Checkpoint, Manifest)>>),
    /// The chunk asked for, if the peer holds it (at most [`crate::CHUNK_BYTES`]).
    Chunk(Option<Vec<u8>>),
}
