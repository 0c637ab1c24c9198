//! What the core reacts to ([`Input`]), the read-only questions the HTTP API asks ([`Query`]),
//! and how a request is refused ([`Rejection`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use platform_chain::{BlockRef, Metagraph};
use platform_consensus::PeerTag;
use platform_p2p::MessageId;
use platform_types::{
    Block, Envelope, Evaluation, EvaluationBatch, Hash, Height, MessageKind, PublicKey, QuorumCertificate, Signed,
    Submission, SubmissionId, SudoAction, VerifiedEnvelopes, View,
};
use serde_json::Value;
use tokio::sync::oneshot;

/// A refused request: an HTTP status and a one-line reason.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// HTTP status code.
    pub status: u16,
    /// Why.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Self {
        Rejection { status, reason: reason.into() }
    }
}

/// Read-only questions the HTTP API asks.
#[derive(Debug, Clone)]
pub enum Query {
    /// Liveness and sync state.
    Health,
    /// Challenges.
    Challenges,
    /// One submission's status.
    Submission(SubmissionId),
    /// Leaderboard (one challenge or all).
    Scores(Option<String>),
    /// Latest agreed weights.
    Weights,
    /// Consensus position and the leader.
    Consensus,
    /// A sudo action's status.
    Sudo(Hash),
    /// The task seeds two-phase challenges' commitments may answer now.
    Task,
}

/// Everything the loop reacts to.
pub(crate) enum Input {
    Gossip {
        id: MessageId,
        from: PeerTag,
        message: Gossiped,
    },
    Timer {
        height: Height,
        view: View,
    },
    Submit {
        signed: Signed<Submission>,
        /// The envelope's bytes as received: stored and relayed as they are.
        bytes: Vec<u8>,
        local: bool,
        blob: Option<(Hash, Vec<u8>)>,
        reply: Option<oneshot::Sender<Result<SubmissionId, Rejection>>>,
    },
    /// The cheap admission checks alone, asked before expensive work (hashing and storing a
    /// large payload, compiling a module); nothing is admitted.
    Precheck {
        check: Precheck,
        reply: oneshot::Sender<Result<(), Rejection>>,
    },
    Sudo {
        signed: Signed<SudoAction>,
        local: bool,
        reply: Option<oneshot::Sender<Result<Hash, Rejection>>>,
    },
    /// This validator's verdict on `id`, to sign in its next batch.
    Evaluated {
        id: SubmissionId,
        evaluation: Evaluation,
    },
    /// Every attempt to evaluate `id` failed on this machine: nothing was signed.
    Abstained {
        id: SubmissionId,
        reason: String,
    },
    /// The challenges whose module the evaluation actor has loaded, after a change.
    ModulesLoaded(BTreeSet<String>),
    Chain {
        block: BlockRef,
        /// The subnet's epoch at `block` as the runtime keeps it (dynamic tempo); `None` under
        /// the legacy rule.
        epoch: Option<u64>,
        metagraph: Option<Arc<Metagraph>>,
    },
    /// The metagraph at a chain block a proposal's snapshot names, read to check it.
    MetagraphRead {
        block: BlockRef,
        metagraph: Result<Arc<Metagraph>, String>,
    },
    Synced {
        blocks: Vec<(Block, QuorumCertificate)>,
        /// No usable block, and a peer answered with blocks starting above the height asked
        /// for: peers pruned what this node needs next (it fell behind their retention).
        behind: bool,
    },
    Bodies {
        envelopes: Vec<Envelope>,
    },
    WeightsSubmitted {
        epoch: u64,
        record: Value,
    },
    /// How weights would be sent now and why, chosen from the chain's state at each metagraph
    /// read (or why it could not be chosen).
    WeightsPath(Result<platform_chain::PathChoice, String>),
}

/// What [`Input::Precheck`] checks.
pub(crate) enum Precheck {
    /// A signed submission: duplicate, challenge, size, registration.
    Submission(SubmissionId, Submission),
    /// A signed sudo action: the owner's key, not applied before.
    Sudo { signer: PublicKey, hash: Hash },
}

/// A gossiped message whose signature the gossip pump has already checked.
pub(crate) enum Gossiped {
    /// A submission, with its envelope's bytes as received.
    Submission(Signed<Submission>, Vec<u8>),
    /// Submissions another validator admitted, relayed in one batch (each with its bytes).
    Submissions(Vec<(Signed<Submission>, Vec<u8>)>),
    Sudo(Signed<SudoAction>),
    /// Validators' signed batches of evaluations, gossiped together.
    Evaluations(Vec<Signed<EvaluationBatch>>),
    /// Consensus messages: the consensus machine checks their signatures itself.
    Consensus(Envelope),
}

impl Gossiped {
    /// Checks the signature of a single application message, decoded from `bytes`; `None` when
    /// it is invalid. Sudo actions are checked again by the rules when ordered: `verified`
    /// remembers them.
    pub(crate) fn open(
        envelope: Envelope,
        bytes: Vec<u8>,
        netuid: platform_types::NetUid,
        verified: &VerifiedEnvelopes,
    ) -> Option<Gossiped> {
        Some(match envelope.kind {
            MessageKind::Submission => Gossiped::Submission(envelope.open(netuid).ok()?, bytes),
            MessageKind::SudoAction => Gossiped::Sudo(verified.open(&envelope, netuid).ok()?),
            // Evaluations travel on their own topic only.
            MessageKind::EvaluationBatch => return None,
            _ => Gossiped::Consensus(envelope),
        })
    }
}
