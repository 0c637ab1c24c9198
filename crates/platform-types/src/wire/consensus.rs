//! Wire conversions for blocks and their actions, proposals, votes, certificates, view changes
//! and checkpoints.

use super::{Codec, bounded, codec, hash, message_kind, pb, public_key, required, single_kind};
use crate::domain::*;
use crate::envelope::{Envelope, MessageKind};
use crate::error::DecodeError;
use crate::ids::{Epoch, Height, SubmissionId, View};
use crate::limits::{MAX_BLOCK_ACTIONS, MAX_VALIDATORS};

impl From<&Action> for pb::Action {
    fn from(a: &Action) -> Self {
        use pb::action::Action as A;
        let action = match a {
            Action::Submission(id) => A::SubmissionId(id.0.as_bytes().to_vec()),
            Action::Sudo(envelope) => A::Sudo(envelope.into()),
            Action::Weights(w) => A::Weights(w.into()),
            Action::ValidatorSet(s) => A::ValidatorSet(s.into()),
            Action::Evaluations(envelope) => A::Evaluations(envelope.into()),
            Action::Metagraph(m) => A::Metagraph(m.into()),
        };
        pb::Action { action: Some(action) }
    }
}

impl TryFrom<pb::Action> for Action {
    type Error = DecodeError;

    fn try_from(a: pb::Action) -> Result<Self, DecodeError> {
        use pb::action::Action as A;
        Ok(match required("action", a.action)? {
            A::SubmissionId(id) => Action::Submission(SubmissionId(hash("submission_id", &id)?)),
            A::Sudo(envelope) => {
                let envelope = Envelope::try_from(envelope)?;
                if envelope.kind != MessageKind::SudoAction {
                    return Err(DecodeError::Invalid { field: "sudo", reason: "envelope is not a sudo action" });
                }
                SudoAction::from_bytes(&envelope.payload)?;
                Action::Sudo(envelope)
            }
            A::Weights(w) => Action::Weights(w.try_into()?),
            A::ValidatorSet(s) => Action::ValidatorSet(s.try_into()?),
            A::Evaluations(envelope) => {
                let envelope = Envelope::try_from(envelope)?;
                if envelope.kind != MessageKind::EvaluationBatch {
                    return Err(DecodeError::Invalid {
                        field: "evaluations",
                        reason: "envelope is not a batch of evaluations",
                    });
                }
                EvaluationBatch::from_bytes(&envelope.payload)?;
                Action::Evaluations(envelope)
            }
            A::Metagraph(m) => Action::Metagraph(m.try_into()?),
        })
    }
}

impl From<&BlockHeader> for pb::BlockHeader {
    fn from(h: &BlockHeader) -> Self {
        pb::BlockHeader {
            height: h.height.get(),
            epoch: h.epoch.get(),
            chain_block_number: h.chain.number,
            chain_block_hash: h.chain.hash.as_bytes().to_vec(),
            parent_hash: h.parent_hash.as_bytes().to_vec(),
            parent_state_root: h.parent_state_root.as_bytes().to_vec(),
            actions_root: h.actions_root.as_bytes().to_vec(),
            proposer: h.proposer.as_bytes().to_vec(),
            validators_hash: h.validators_hash.as_bytes().to_vec(),
        }
    }
}

impl TryFrom<pb::BlockHeader> for BlockHeader {
    type Error = DecodeError;

    fn try_from(h: pb::BlockHeader) -> Result<Self, DecodeError> {
        if h.height == 0 {
            return Err(DecodeError::Invalid { field: "height", reason: "heights start at 1" });
        }
        Ok(BlockHeader {
            height: Height::new(h.height),
            epoch: Epoch::new(h.epoch),
            chain: BlockRef { number: h.chain_block_number, hash: hash("chain_block_hash", &h.chain_block_hash)? },
            parent_hash: hash("parent_hash", &h.parent_hash)?,
            parent_state_root: hash("parent_state_root", &h.parent_state_root)?,
            actions_root: hash("actions_root", &h.actions_root)?,
            proposer: public_key("proposer", &h.proposer)?,
            validators_hash: hash("validators_hash", &h.validators_hash)?,
        })
    }
}

impl From<&Block> for pb::Block {
    fn from(b: &Block) -> Self {
        pb::Block { header: Some((&b.header).into()), actions: b.actions.iter().map(Into::into).collect() }
    }
}

impl TryFrom<pb::Block> for Block {
    type Error = DecodeError;

    fn try_from(b: pb::Block) -> Result<Self, DecodeError> {
        let header = BlockHeader::try_from(required("header", b.header)?)?;
        let actions = bounded("actions", b.actions, MAX_BLOCK_ACTIONS)?
            .into_iter()
            .map(Action::try_from)
            .collect::<Result<_, _>>()?;
        let block = Block { header, actions };
        block.validate()?;
        Ok(block)
    }
}

fn vote_kind(kind: i32) -> Result<VoteKind, DecodeError> {
    match message_kind(kind)? {
        MessageKind::Prepare => Ok(VoteKind::Prepare),
        MessageKind::Commit => Ok(VoteKind::Commit),
        _ => Err(DecodeError::Invalid { field: "kind", reason: "a vote is a prepare or a commit" }),
    }
}

impl From<&Vote> for pb::Vote {
    fn from(v: &Vote) -> Self {
        pb::Vote {
            height: v.height.get(),
            view: v.view.get(),
            block_hash: v.block_hash.as_bytes().to_vec(),
            kind: v.kind.message_kind() as i32,
        }
    }
}

impl TryFrom<pb::Vote> for Vote {
    type Error = DecodeError;

    fn try_from(v: pb::Vote) -> Result<Self, DecodeError> {
        Ok(Vote {
            kind: vote_kind(v.kind)?,
            height: Height::new(v.height),
            view: View::new(v.view),
            block_hash: hash("block_hash", &v.block_hash)?,
        })
    }
}

impl From<&QuorumCertificate> for pb::QuorumCertificate {
    fn from(c: &QuorumCertificate) -> Self {
        pb::QuorumCertificate {
            kind: c.kind.message_kind() as i32,
            height: c.height.get(),
            view: c.view.get(),
            block_hash: c.block_hash.as_bytes().to_vec(),
            votes: c.votes.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::QuorumCertificate> for QuorumCertificate {
    type Error = DecodeError;

    fn try_from(c: pb::QuorumCertificate) -> Result<Self, DecodeError> {
        let votes =
            bounded("votes", c.votes, MAX_VALIDATORS)?.into_iter().map(Envelope::try_from).collect::<Result<_, _>>()?;
        let certificate = QuorumCertificate {
            kind: vote_kind(c.kind)?,
            height: Height::new(c.height),
            view: View::new(c.view),
            block_hash: hash("block_hash", &c.block_hash)?,
            votes,
        };
        certificate.validate()?;
        Ok(certificate)
    }
}

impl From<&NewView> for pb::NewView {
    fn from(n: &NewView) -> Self {
        pb::NewView {
            height: n.height.get(),
            view: n.view.get(),
            view_changes: n.view_changes.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::NewView> for NewView {
    type Error = DecodeError;

    fn try_from(n: pb::NewView) -> Result<Self, DecodeError> {
        let view_changes: Vec<Envelope> = bounded("view_changes", n.view_changes, MAX_VALIDATORS)?
            .into_iter()
            .map(Envelope::try_from)
            .collect::<Result<_, _>>()?;
        if view_changes.iter().any(|e| e.kind != MessageKind::ViewChange) {
            return Err(DecodeError::Invalid { field: "view_changes", reason: "an entry is not a view change" });
        }
        Ok(NewView { height: Height::new(n.height), view: View::new(n.view), view_changes })
    }
}

impl From<&Proposal> for pb::Proposal {
    fn from(p: &Proposal) -> Self {
        pb::Proposal {
            height: p.height.get(),
            view: p.view.get(),
            block: Some((&p.block).into()),
            justification: p.justification.as_ref().map(Into::into),
        }
    }
}

impl TryFrom<pb::Proposal> for Proposal {
    type Error = DecodeError;

    fn try_from(p: pb::Proposal) -> Result<Self, DecodeError> {
        let block = Block::try_from(required("block", p.block)?)?;
        if block.header.height.get() != p.height {
            return Err(DecodeError::Invalid { field: "height", reason: "differs from the block's height" });
        }
        Ok(Proposal {
            height: Height::new(p.height),
            view: View::new(p.view),
            block,
            justification: p.justification.map(NewView::try_from).transpose()?,
        })
    }
}

impl From<&ViewChange> for pb::ViewChange {
    fn from(v: &ViewChange) -> Self {
        pb::ViewChange {
            height: v.height.get(),
            view: v.view.get(),
            prepared: v.prepared.as_ref().map(|p| (&p.certificate).into()),
            prepared_block: v.prepared.as_ref().map(|p| (&p.block).into()),
        }
    }
}

impl TryFrom<pb::ViewChange> for ViewChange {
    type Error = DecodeError;

    fn try_from(v: pb::ViewChange) -> Result<Self, DecodeError> {
        let prepared = match (v.prepared, v.prepared_block) {
            (None, None) => None,
            (Some(certificate), Some(block)) => {
                let certificate = QuorumCertificate::try_from(certificate)?;
                let block = Block::try_from(block)?;
                if certificate.kind != VoteKind::Prepare {
                    return Err(DecodeError::Invalid { field: "prepared", reason: "not a prepare certificate" });
                }
                if certificate.block_hash != block.hash() || certificate.height.get() != v.height {
                    return Err(DecodeError::Invalid {
                        field: "prepared_block",
                        reason: "does not match the certificate",
                    });
                }
                Some(PreparedProof { certificate, block })
            }
            (Some(_), None) => return Err(DecodeError::MissingField("prepared_block")),
            (None, Some(_)) => return Err(DecodeError::MissingField("prepared")),
        };
        Ok(ViewChange { height: Height::new(v.height), view: View::new(v.view), prepared })
    }
}

impl From<&Checkpoint> for pb::Checkpoint {
    fn from(c: &Checkpoint) -> Self {
        pb::Checkpoint {
            header: Some((&c.header).into()),
            commit: Some((&c.commit).into()),
            validators: Some((&c.validators).into()),
        }
    }
}

impl TryFrom<pb::Checkpoint> for Checkpoint {
    type Error = DecodeError;

    fn try_from(c: pb::Checkpoint) -> Result<Self, DecodeError> {
        let header = BlockHeader::try_from(required("header", c.header)?)?;
        let commit = QuorumCertificate::try_from(required("commit", c.commit)?)?;
        if commit.kind != VoteKind::Commit || commit.block_hash != header.hash() || commit.height != header.height {
            return Err(DecodeError::Invalid { field: "commit", reason: "not a commit certificate for this block" });
        }
        let validators = ValidatorSet::try_from(required("validators", c.validators)?)?;
        if validators.hash() != header.validators_hash {
            return Err(DecodeError::Invalid {
                field: "validators",
                reason: "do not match the header's validators_hash",
            });
        }
        Ok(Checkpoint { header, commit, validators })
    }
}

codec!(Block, pb::Block, "Block");
codec!(Proposal, pb::Proposal, "Proposal");
codec!(Vote, pb::Vote, "Vote");
codec!(QuorumCertificate, pb::QuorumCertificate, "QuorumCertificate");
codec!(ViewChange, pb::ViewChange, "ViewChange");
codec!(NewView, pb::NewView, "NewView");
codec!(Checkpoint, pb::Checkpoint, "Checkpoint");
single_kind!(Proposal, MessageKind::Proposal);
single_kind!(ViewChange, MessageKind::ViewChange);
single_kind!(NewView, MessageKind::NewView);
single_kind!(Checkpoint, MessageKind::Checkpoint);

impl super::WireMessage for Vote {
    const KINDS: &'static [MessageKind] = &[MessageKind::Prepare, MessageKind::Commit];

    fn kind(&self) -> MessageKind {
        self.kind.message_kind()
    }
}

impl Action {
    /// The batch of evaluations an [`Action::Evaluations`] carries, decoded (its signature is
    /// not checked here: the block rules checked it before the block was committed).
    pub fn evaluation_batch(&self) -> Option<EvaluationBatch> {
        match self {
            Action::Evaluations(envelope) => EvaluationBatch::from_bytes(&envelope.payload).ok(),
            _ => None,
        }
    }
}
