//! What goes into the state machine and what comes out. The shell (node or simulator) feeds
//! [`Input`]s and carries out [`Output`]s in order; the machine does no I/O of its own.

use platform_types::{
    Action, Block, BlockRef, Checkpoint, Envelope, Epoch, Hash, Height, QuorumCertificate, ValidatorSet, View,
};

/// An opaque tag for where a message came from (a peer), echoed in [`Output::Misbehaviour`]
/// so the shell can penalise the sender.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PeerTag(pub u64);

/// Something that happened, for the machine to react to.
#[derive(Clone, Debug)]
pub enum Input {
    /// A consensus envelope (proposal, vote, view change) received from a peer. The signature
    /// need not be checked yet: the machine checks it, batching votes.
    Message {
        /// Who sent it.
        from: PeerTag,
        /// The message.
        envelope: Envelope,
    },
    /// A timer set with [`Output::SetTimer`] fired.
    Timeout {
        /// Its height.
        height: Height,
        /// Its view.
        view: View,
    },
    /// The application's answer to [`Output::BuildProposal`].
    ProposalBuilt {
        /// The height asked for.
        height: Height,
        /// The view asked for.
        view: View,
        /// The epoch the block belongs to.
        epoch: Epoch,
        /// The chain block it is linked to (see [`platform_types::BlockHeader::chain`]).
        chain: BlockRef,
        /// The ordered actions.
        actions: Vec<Action>,
    },
    /// The application's answer to [`Output::VerifyProposal`].
    ProposalVerified {
        /// Height of the block.
        height: Height,
        /// View it was proposed in.
        view: View,
        /// The block's hash.
        block_hash: Hash,
        /// Whether the application accepts it.
        valid: bool,
    },
    /// The application applied the block committed at `height` ([`Output::Commit`]).
    Applied {
        /// The height applied.
        height: Height,
        /// Application state root after applying it.
        state_root: Hash,
        /// A new validator set, when the block changed it (at an epoch boundary). It votes
        /// from the next height on.
        next_validators: Option<ValidatorSet>,
    },
    /// A committed block fetched from a peer in answer to [`Output::NeedSync`].
    Synced {
        /// The block.
        block: Block,
        /// Its commit certificate.
        certificate: QuorumCertificate,
    },
}

/// Something the shell must do. Outputs are produced in the order they must be carried out.
#[derive(Clone, Debug)]
pub enum Output {
    /// Send to every validator (including ourselves is unnecessary: the machine already counted it).
    Broadcast(Envelope),
    /// Feed [`Input::Timeout`] back after `after_ms` milliseconds.
    SetTimer {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Delay.
        after_ms: u64,
    },
    /// Ask the application for the actions of a new block; answer with [`Input::ProposalBuilt`].
    BuildProposal {
        /// Height.
        height: Height,
        /// View.
        view: View,
    },
    /// Ask the application to check a proposed block; answer with [`Input::ProposalVerified`].
    VerifyProposal {
        /// View it was proposed in.
        view: View,
        /// The block.
        block: Block,
        /// Whether it is re-proposed after a view change because a quorum prepared it in an
        /// earlier view: more than a third of the honest stake checked it then, so what depended
        /// on that moment (its chain link's freshness) is not checked again — only what any
        /// validator can recompute. (Checked again, a block prepared before a stall longer than
        /// the link's tolerance was refused in every later view, and nothing else could be
        /// proposed: the network halted for good.)
        prepared: bool,
    },
    /// The block is committed: apply it, store it with its certificate, then answer with
    /// [`Input::Applied`]. Blocks are committed in height order, each exactly once.
    Commit {
        /// The block.
        block: Block,
        /// A quorum of commit votes for it.
        certificate: QuorumCertificate,
    },
    /// A checkpoint to store and serve to catching-up validators.
    Checkpoint(Checkpoint),
    /// Peers are ahead: fetch committed blocks from `height` on and feed [`Input::Synced`].
    NeedSync {
        /// The first height we lack.
        height: Height,
    },
    /// A peer sent something invalid; penalise it.
    Misbehaviour {
        /// The sender.
        from: PeerTag,
        /// What was wrong.
        reason: Misbehaviour,
    },
}

/// Why a message was rejected and its sender reported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Misbehaviour {
    /// The envelope or payload did not decode or validate.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The signature did not verify.
    #[error("bad signature from {0}")]
    BadSignature(platform_types::PublicKey),
    /// The signer is not in the validator set.
    #[error("signer {0} is not a validator")]
    NotAValidator(platform_types::PublicKey),
    /// A proposal from someone who is not the leader of its (height, view).
    #[error("proposal from {0}, who is not the leader")]
    NotTheLeader(platform_types::PublicKey),
    /// Two different proposals, or two different votes, for one (height, view).
    #[error("equivocation by {0}")]
    Equivocation(platform_types::PublicKey),
    /// A proposal whose header, justification or certificate is wrong.
    #[error("invalid proposal: {0}")]
    InvalidProposal(&'static str),
    /// A view change or certificate that does not hold up.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(&'static str),
}
