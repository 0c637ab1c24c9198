//! Platform's application as a pure function of committed blocks: the state every validator
//! holds, the rules a block must pass, and the weights of an epoch.
//!
//! Synchronous and deterministic: no clock, no I/O, no async runtime, no chain client. What the
//! rules need from outside enters as values ([`Context`]: the owner keys, the chain blocks this
//! validator has seen and the metagraphs it read at them, submission bodies), so the same
//! blocks give the same state — and the same state root — on every validator and in every
//! replay. Chain data the state depends on enters through blocks: each epoch's weights and
//! validator set are computed from a metagraph snapshot committed in that epoch
//! (`Action::Metagraph`), which followers compare with their own read of the chain at the
//! snapshot's block.
//!
//! - [`AppState`] is the state; [`AppState::apply_block`] moves it by one committed block and
//!   says what changed ([`Effects`]).
//! - [`AppState::check_block`] is a follower's vote: the block's height, its link to a chain
//!   block and its epoch ([`ChainView`], see [`link`]), then every action in order
//!   ([`rules`]). [`AppState::checker`] is how a leader fills a block with valid actions.
//! - [`snapshot`]: the state captured half an interval below every [`SNAPSHOT_INTERVAL`]-th
//!   block as checked chunks, which that block's state root covers, to restart or join from;
//!   encoded once, by whichever thread asks first (a node's own, not its event loop).
//! - [`GenesisVotes`] decides which genesis validator set a validator with an empty store
//!   adopts: one vouched for by more than two thirds of the chain's stake.
//! - [`phases`]: two-phase challenges — a commitment to an epoch's task, then its reveal within
//!   a window, sampled by a seed fixed after the commitment.
//! - [`participation`]: who answered each challenge in which epoch, for scorers that weigh
//!   availability over a window of epochs.
//! - [`retire`] keeps the state bounded: submissions that can no longer change leave it, what
//!   they still count for stays, and each miner's recent submissions guard against replays.
//! - [`weights`] turns committed evaluations into one weight vector per mechanism, and the
//!   committed metagraph snapshot into the validator set.

pub mod committed;
pub mod genesis;
pub mod link;
pub mod participation;
pub mod phases;
pub mod retire;
pub mod rules;
pub mod snapshot;
pub mod state;
pub mod weights;

pub use genesis::GenesisVotes;
pub use link::{CHAIN_LAG, CHAIN_LEAD, ChainView};
pub use phases::{Commitment, Revealed};
pub use retire::REPLAY_WINDOW_MS;
pub use rules::{Checker, Context, Invalid};
pub use snapshot::{Manifest, Snapshot, SnapshotError};
pub use state::{
    AppState, ChallengeEntry, Committed, Effects, EpochAnswers, Evaluations, Registry, SNAPSHOT_INTERVAL,
    SubmissionInfo, Verdict,
};
pub use weights::{Champions, EpochOutcome};
