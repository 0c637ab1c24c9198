//! [`Message`], the decoded form of any envelope payload.

use super::Codec;
use crate::domain::*;
use crate::envelope::MessageKind;
use crate::error::DecodeError;

/// Any envelope payload, decoded according to its kind.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Message {
    /// A miner's submission.
    Submission(Submission),
    /// A validator's batch of evaluations.
    EvaluationBatch(EvaluationBatch),
    /// An owner action.
    SudoAction(SudoAction),
    /// A leader's proposal.
    Proposal(Proposal),
    /// A prepare or commit vote.
    Vote(Vote),
    /// A view change.
    ViewChange(ViewChange),
    /// A new view.
    NewView(NewView),
    /// A checkpoint.
    Checkpoint(Checkpoint),
    /// A peer binding.
    PeerBinding(PeerBinding),
}

impl Message {
    /// The author the message names, which must be its signer (see [`crate::WireMessage::claimed_signer`]).
    pub fn claimed_signer(&self) -> Option<crate::keys::PublicKey> {
        use super::WireMessage;
        match self {
            Message::Submission(m) => m.claimed_signer(),
            Message::EvaluationBatch(m) => m.claimed_signer(),
            Message::SudoAction(m) => m.claimed_signer(),
            Message::Proposal(m) => m.claimed_signer(),
            Message::Vote(m) => m.claimed_signer(),
            Message::ViewChange(m) => m.claimed_signer(),
            Message::NewView(m) => m.claimed_signer(),
            Message::Checkpoint(m) => m.claimed_signer(),
            Message::PeerBinding(m) => m.claimed_signer(),
        }
    }

    /// Decodes `payload` as the message type of `kind`. A vote's inner kind must match.
    pub fn decode(kind: MessageKind, payload: &[u8]) -> Result<Message, DecodeError> {
        Ok(match kind {
            MessageKind::Submission => Message::Submission(Submission::from_bytes(payload)?),
            MessageKind::EvaluationBatch => Message::EvaluationBatch(EvaluationBatch::from_bytes(payload)?),
            MessageKind::SudoAction => Message::SudoAction(SudoAction::from_bytes(payload)?),
            MessageKind::Proposal => Message::Proposal(Proposal::from_bytes(payload)?),
            MessageKind::Prepare | MessageKind::Commit => {
                let vote = Vote::from_bytes(payload)?;
                if vote.kind.message_kind() != kind {
                    return Err(DecodeError::Invalid {
                        field: "kind",
                        reason: "vote kind differs from its envelope's",
                    });
                }
                Message::Vote(vote)
            }
            MessageKind::ViewChange => Message::ViewChange(ViewChange::from_bytes(payload)?),
            MessageKind::NewView => Message::NewView(NewView::from_bytes(payload)?),
            MessageKind::Checkpoint => Message::Checkpoint(Checkpoint::from_bytes(payload)?),
            MessageKind::PeerBinding => Message::PeerBinding(PeerBinding::from_bytes(payload)?),
        })
    }
}
