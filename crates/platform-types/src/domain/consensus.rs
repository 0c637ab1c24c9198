//! Blocks and the stake-weighted PBFT messages that order them.

use parity_scale_codec::{Decode, Encode};

use crate::envelope::{Envelope, MessageKind};
use crate::error::DecodeError;
use crate::hash::{Hash, blake2b_256_parts, hash_of};
use crate::ids::{Epoch, Height, SubmissionId, Uid, View};
use crate::keys::PublicKey;
use crate::limits::{MAX_BLOCK_ACTIONS, MAX_VALIDATORS};

use super::chain::{BlockRef, Metagraph};
use super::work::WeightsProposal;

/// The last committed block, from which the next height starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Its height (0 before the first block).
    pub height: Height,
    /// Its hash ([`Hash::ZERO`] before the first block).
    pub hash: Hash,
    /// Application state root after it.
    pub state_root: Hash,
    /// Its epoch.
    pub epoch: Epoch,
}

impl Tip {
    /// The tip before any block: height 0 with the given genesis state root.
    pub fn genesis(state_root: Hash, epoch: Epoch) -> Self {
        Tip { height: Height::new(0), hash: Hash::ZERO, state_root, epoch }
    }
}

/// A validator as consensus sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Validator {
    /// Its hotkey.
    pub hotkey: PublicKey,
    /// Its uid on the subnet.
    pub uid: Uid,
    /// Its stake in rao (1 TAO = 1e9 rao); the weight of its votes.
    pub stake: u64,
}

/// The validators of an epoch. Changes only through a committed block.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct ValidatorSet {
    /// The epoch from which the set applies.
    pub epoch: Epoch,
    /// Members, each hotkey once.
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// The set's canonical hash (SCALE encoding), committed to in every block header.
    pub fn hash(&self) -> Hash {
        hash_of(self)
    }

    /// Checks the set is non-empty, bounded, has unique hotkeys and non-zero stake.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.validators.is_empty() {
            return Err(DecodeError::Invalid { field: "validators", reason: "empty validator set" });
        }
        if self.validators.len() > MAX_VALIDATORS {
            return Err(DecodeError::TooLarge {
                field: "validators",
                size: self.validators.len(),
                max: MAX_VALIDATORS,
            });
        }
        if self.validators.iter().any(|v| v.stake == 0) {
            return Err(DecodeError::Invalid { field: "stake", reason: "a validator has zero stake" });
        }
        let mut hotkeys: Vec<_> = self.validators.iter().map(|v| v.hotkey).collect();
        hotkeys.sort_unstable();
        if hotkeys.windows(2).any(|w| w[0] == w[1]) {
            return Err(DecodeError::Invalid { field: "validators", reason: "duplicate hotkey" });
        }
        Ok(())
    }
}

/// One ordered step of a block.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Action {
    /// Evaluate this gossiped submission.
    Submission(SubmissionId),
    /// Apply this owner-signed [`crate::SudoAction`] envelope.
    Sudo(Envelope),
    /// The agreed weights of an epoch.
    Weights(WeightsProposal),
    /// The validator set of the next epoch.
    ValidatorSet(ValidatorSet),
    /// A validator's signed [`crate::EvaluationBatch`] envelope: its evaluations of
    /// submissions committed earlier, valid only whole. Ordering evaluations makes every validator aggregate exactly the same scores.
    Evaluations(Envelope),
    /// The subnet's metagraph at a chain block of the block's epoch: the chain data the
    /// epoch's weights and validator set are computed from, committed so that they are a
    /// function of the blocks alone.
    Metagraph(Metagraph),
}

/// What a block's hash covers.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct BlockHeader {
    /// Height (first block is 1).
    pub height: Height,
    /// Bittensor epoch the block belongs to: the epoch of [`BlockHeader::chain`].
    pub epoch: Epoch,
    /// The Bittensor block the proposer had seen when it built this block; followers check it
    /// against the chain blocks they have seen themselves, which bounds the epoch by the chain.
    pub chain: BlockRef,
    /// Hash of the previous block ([`Hash::ZERO`] for the first).
    pub parent_hash: Hash,
    /// Application state root after the parent was applied.
    pub parent_state_root: Hash,
    /// Root over the actions, see [`Block::actions_root`].
    pub actions_root: Hash,
    /// The proposing leader.
    pub proposer: PublicKey,
    /// [`ValidatorSet::hash`] of the set whose votes commit this block.
    pub validators_hash: Hash,
}

/// The header fields a proposer chooses; the actions root is computed by [`Block::new`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BlockHeaderFields {
    /// Height (first block is 1).
    pub height: Height,
    /// Bittensor epoch the block belongs to.
    pub epoch: Epoch,
    /// The Bittensor block it is linked to.
    pub chain: BlockRef,
    /// Hash of the previous block.
    pub parent_hash: Hash,
    /// Application state root after the parent was applied.
    pub parent_state_root: Hash,
    /// The proposing leader.
    pub proposer: PublicKey,
    /// Hash of the validator set that votes on the block.
    pub validators_hash: Hash,
}

impl BlockHeader {
    /// The header's hash, which is the block's hash.
    pub fn hash(&self) -> Hash {
        hash_of(self)
    }

    /// The fields a proposer chose (all but the actions root), to build a block with the same
    /// header fields and other actions ([`Block::new`]).
    pub fn fields(&self) -> BlockHeaderFields {
        BlockHeaderFields {
            height: self.height,
            epoch: self.epoch,
            chain: self.chain,
            parent_hash: self.parent_hash,
            parent_state_root: self.parent_state_root,
            proposer: self.proposer,
            validators_hash: self.validators_hash,
        }
    }
}

/// A block: a header and the actions it orders.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Block {
    /// The header (its hash is the block's).
    pub header: BlockHeader,
    /// The ordered actions.
    pub actions: Vec<Action>,
}

impl Block {
    /// Builds a block, computing its actions root.
    pub fn new(fields: BlockHeaderFields, actions: Vec<Action>) -> Self {
        let BlockHeaderFields { height, epoch, chain, parent_hash, parent_state_root, proposer, validators_hash } =
            fields;
        let actions_root = Block::actions_root(&actions);
        let header = BlockHeader {
            height,
            epoch,
            chain,
            parent_hash,
            parent_state_root,
            actions_root,
            proposer,
            validators_hash,
        };
        Block { header, actions }
    }

    /// blake2b-256 over the concatenated SCALE hashes of the actions.
    pub fn actions_root(actions: &[Action]) -> Hash {
        let hashes: Vec<Hash> = actions.iter().map(hash_of).collect();
        let parts: Vec<&[u8]> = hashes.iter().map(|h| h.as_bytes().as_slice()).collect();
        blake2b_256_parts(&parts)
    }

    /// The block's hash: blake2b-256 of the SCALE-encoded header.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Checks the action count and that the header's actions root matches the actions.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.actions.len() > MAX_BLOCK_ACTIONS {
            return Err(DecodeError::TooLarge { field: "actions", size: self.actions.len(), max: MAX_BLOCK_ACTIONS });
        }
        if Block::actions_root(&self.actions) != self.header.actions_root {
            return Err(DecodeError::Invalid { field: "actions_root", reason: "does not match the actions" });
        }
        if self.header.height.get() == 0 {
            return Err(DecodeError::Invalid { field: "height", reason: "heights start at 1" });
        }
        Ok(())
    }
}

/// A leader's proposal of a block at (height, view).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// View.
    pub view: View,
    /// The proposed block; its header height equals `height`.
    pub block: Block,
    /// After a view change: the quorum of view changes that justifies this proposal.
    pub justification: Option<NewView>,
}

/// Prepare or commit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Encode, Decode)]
pub enum VoteKind {
    /// Second phase: the block is well-formed and the voter accepts it at this view.
    Prepare,
    /// Third phase: the voter saw a prepare quorum and will commit.
    Commit,
}

impl VoteKind {
    /// The envelope kind votes of this kind travel as.
    pub const fn message_kind(self) -> MessageKind {
        match self {
            VoteKind::Prepare => MessageKind::Prepare,
            VoteKind::Commit => MessageKind::Commit,
        }
    }
}

/// A vote for a block hash at (height, view).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Vote {
    /// Prepare or commit.
    pub kind: VoteKind,
    /// Height.
    pub height: Height,
    /// View.
    pub view: View,
    /// The block voted for.
    pub block_hash: Hash,
}

/// Signed votes of one kind for one (height, view, block). Whether they reach a quorum is
/// checked by consensus, which knows the stakes.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct QuorumCertificate {
    /// Prepare or commit.
    pub kind: VoteKind,
    /// Height.
    pub height: Height,
    /// View.
    pub view: View,
    /// The certified block.
    pub block_hash: Hash,
    /// The votes, each in the envelope its signer sent.
    pub votes: Vec<Envelope>,
}

impl QuorumCertificate {
    /// Checks the vote count bound and that each vote envelope has the certificate's kind.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.votes.len() > MAX_VALIDATORS {
            return Err(DecodeError::TooLarge { field: "votes", size: self.votes.len(), max: MAX_VALIDATORS });
        }
        if self.votes.iter().any(|v| v.kind != self.kind.message_kind()) {
            return Err(DecodeError::Invalid {
                field: "votes",
                reason: "a vote's kind differs from the certificate's",
            });
        }
        Ok(())
    }
}

/// The prepared certificate a view change carries, with the block it certifies.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct PreparedProof {
    /// A prepare quorum certificate.
    pub certificate: QuorumCertificate,
    /// The block whose hash it certifies.
    pub block: Block,
}

/// A validator leaving `view - 1` for `view` at `height`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ViewChange {
    /// Height.
    pub height: Height,
    /// The view the sender moves to.
    pub view: View,
    /// The highest prepared certificate the sender holds at this height, if any.
    pub prepared: Option<PreparedProof>,
}

/// A new leader's proof that a quorum moved to `view`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewView {
    /// Height.
    pub height: Height,
    /// The new view.
    pub view: View,
    /// Signed [`ViewChange`] envelopes.
    pub view_changes: Vec<Envelope>,
}

/// Blocks between checkpoints. The application snapshots its state after every height divisible
/// by this, and the block after each such height is a [`Checkpoint`]: its commit certificate
/// certifies the snapshot's root (its `parent_state_root`). Every validator of a network must
/// use the same value.
pub const CHECKPOINT_INTERVAL: u64 = 100;

/// The header of a committed block every K heights, with the certificate that proves it and
/// the validator set that signed it. It certifies `header.parent_state_root`, the application
/// state after the previous block, so a new node can start from a snapshot with that root.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// The committed block's header.
    pub header: BlockHeader,
    /// Its commit certificate.
    pub commit: QuorumCertificate,
    /// The set whose votes the certificate holds; hashes to `header.validators_hash`.
    pub validators: ValidatorSet,
}
