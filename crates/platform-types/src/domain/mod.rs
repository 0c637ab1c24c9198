//! Domain types of the whole flow: what miners submit, what validators evaluate, what the owner
//! changes, and the blocks and votes consensus orders them with.
//!
//! Values built from the wire are validated (see [`crate::wire`]); values built in code can be
//! checked with their `validate` methods, which the encoders never skip on decode.

mod chain;
mod challenge;
mod consensus;
mod epoch_state;
mod schedule;
mod snapshot;
mod sync;
mod work;

pub use chain::{BlockRef, Metagraph, Neuron, SubnetParams, inherited_stake, stake_weight};
pub use challenge::{
    ChallengeSpec, EmptyPolicy, Normalisation, Phases, RuntimePolicy, ScoringConfig, SudoAction, SudoCommand, Version,
};
pub use consensus::{
    Action, Block, BlockHeader, BlockHeaderFields, CHECKPOINT_INTERVAL, Checkpoint, NewView, PreparedProof, Proposal,
    QuorumCertificate, Tip, Validator, ValidatorSet, ViewChange, Vote, VoteKind,
};
pub use epoch_state::{EpochState, INCLUSION_DELAY_BLOCKS, MAX_TEMPO, ScheduleError};
pub use schedule::Schedule;
pub use snapshot::{CHUNK_BYTES, MAX_CHUNKS, Manifest, SnapshotError, snapshot_root};
pub use sync::{MAX_SYNC_BLOCKS, MAX_SYNC_SUBMISSIONS, SyncRequest, SyncResponse};
pub use work::{
    Evaluation, EvaluationBatch, EvaluationStatus, MechanismWeights, Payload, PeerBinding, Phase, Submission,
    WeightsProposal,
};
