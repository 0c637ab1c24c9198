//! What miners submit and what validators make of it.

use parity_scale_codec::{Decode, Encode};

use crate::error::DecodeError;
use crate::hash::Hash;
use crate::ids::{ChallengeId, Epoch, MechanismId, SubmissionId, Uid};
use crate::keys::PublicKey;
use crate::limits::*;

/// Where a submission's payload is.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Payload {
    /// Carried in the message.
    Inline(Vec<u8>),
    /// A content-addressed blob (hash = blake2b-256 of its bytes), fetched on demand.
    Blob(Hash),
}

/// A miner's entry to a challenge, signed by the miner's hotkey.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Submission {
    /// The challenge entered.
    pub challenge: ChallengeId,
    /// The miner's hotkey; must equal the envelope signer.
    pub miner: PublicKey,
    /// The payload or its blob hash.
    pub payload: Payload,
    /// Payload length in bytes.
    pub payload_size: u64,
    /// Free-form key/value pairs (e.g. a model name), bounded in count and size.
    pub metadata: Vec<(String, String)>,
    /// Replay protection: unique per miner within the time window.
    pub nonce: u64,
    /// Replay protection: when the miner signed, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// What it is in its challenge's phases.
    pub phase: Phase,
}

/// What a submission is in its challenge's [`crate::Phases`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Encode, Decode)]
pub enum Phase {
    /// The answer to a one-phase challenge.
    #[default]
    Answer,
    /// A two-phase challenge's commitment to the task of `task_epoch` (whose task seed the
    /// miner read from a validator's API): ordered, not evaluated.
    Commit {
        /// The epoch whose task seed the commitment answers: the block ordering it must be of
        /// that epoch or the next.
        task_epoch: Epoch,
    },
    /// The reveal of the miner's commitment `commitment`, evaluated with it.
    Reveal {
        /// The commitment it opens.
        commitment: SubmissionId,
    },
}

impl Submission {
    /// Checks sizes and that an inline payload's declared size is its length.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.payload_size > MAX_PAYLOAD_BYTES {
            return Err(DecodeError::TooLarge {
                field: "payload_size",
                size: usize::try_from(self.payload_size).unwrap_or(usize::MAX),
                max: MAX_PAYLOAD_BYTES as usize,
            });
        }
        if let Payload::Inline(bytes) = &self.payload {
            if bytes.len() > MAX_INLINE_PAYLOAD_BYTES {
                return Err(DecodeError::TooLarge {
                    field: "inline payload",
                    size: bytes.len(),
                    max: MAX_INLINE_PAYLOAD_BYTES,
                });
            }
            if bytes.len() as u64 != self.payload_size {
                return Err(DecodeError::Invalid {
                    field: "payload_size",
                    reason: "differs from the inline payload's length",
                });
            }
        }
        if self.metadata.len() > MAX_METADATA_ENTRIES {
            return Err(DecodeError::TooLarge {
                field: "metadata",
                size: self.metadata.len(),
                max: MAX_METADATA_ENTRIES,
            });
        }
        for (key, value) in &self.metadata {
            if key.len() > MAX_METADATA_KEY_BYTES {
                return Err(DecodeError::TooLarge {
                    field: "metadata key",
                    size: key.len(),
                    max: MAX_METADATA_KEY_BYTES,
                });
            }
            if value.len() > MAX_METADATA_VALUE_BYTES {
                return Err(DecodeError::TooLarge {
                    field: "metadata value",
                    size: value.len(),
                    max: MAX_METADATA_VALUE_BYTES,
                });
            }
        }
        Ok(())
    }
}

/// Whether the challenge scored the payload or refused it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum EvaluationStatus {
    /// Scored; `score_ppb` holds the score.
    Scored,
    /// Refused by the challenge (bad format, trap, limits); the score is 0.
    Rejected,
}

/// A validator's signed result for one submission.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Evaluation {
    /// The submission evaluated.
    pub submission: SubmissionId,
    /// Its challenge.
    pub challenge: ChallengeId,
    /// The evaluating validator; must equal the envelope signer.
    pub validator: PublicKey,
    /// Scored or rejected.
    pub status: EvaluationStatus,
    /// Score in ppb (0..=1e9).
    pub score_ppb: u32,
    /// Fuel the evaluation used.
    pub fuel_used: u64,
    /// blake2b-256 of the module's output bytes; equal on every honest validator.
    pub output_hash: Hash,
    /// The epoch the score counts for.
    pub epoch: Epoch,
}

impl Evaluation {
    /// Checks the score is within 0..=1e9 and a rejection scores 0.
    pub fn validate(&self) -> Result<(), DecodeError> {
        crate::domain::challenge::check_ppb("score_ppb", self.score_ppb)?;
        if self.status == EvaluationStatus::Rejected && self.score_ppb != 0 {
            return Err(DecodeError::Invalid { field: "score_ppb", reason: "a rejected evaluation scores 0" });
        }
        Ok(())
    }
}

/// One validator's evaluations of different submissions, signed, gossiped and ordered as one
/// (envelope kind [`crate::MessageKind::EvaluationBatch`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EvaluationBatch {
    evaluations: Vec<Evaluation>,
}

impl EvaluationBatch {
    /// A batch of `evaluations`: 1 to [`MAX_BATCH_EVALUATIONS`], all by the same validator,
    /// each of a different submission, each valid ([`Evaluation::validate`]).
    pub fn new(evaluations: Vec<Evaluation>) -> Result<Self, DecodeError> {
        let Some(first) = evaluations.first() else {
            return Err(DecodeError::MissingField("verdicts"));
        };
        if evaluations.len() > MAX_BATCH_EVALUATIONS {
            return Err(DecodeError::TooLarge {
                field: "verdicts",
                size: evaluations.len(),
                max: MAX_BATCH_EVALUATIONS,
            });
        }
        let validator = first.validator;
        let mut seen = std::collections::HashSet::with_capacity(evaluations.len());
        for evaluation in &evaluations {
            if evaluation.validator != validator {
                return Err(DecodeError::Invalid { field: "verdicts", reason: "verdicts by more than one validator" });
            }
            if !seen.insert(evaluation.submission) {
                return Err(DecodeError::Invalid { field: "verdicts", reason: "two verdicts on one submission" });
            }
            evaluation.validate()?;
        }
        Ok(EvaluationBatch { evaluations })
    }

    /// The evaluating validator (the batch's signer).
    pub fn validator(&self) -> PublicKey {
        self.evaluations[0].validator
    }

    /// The verdicts, in the batch's order.
    pub fn evaluations(&self) -> &[Evaluation] {
        &self.evaluations
    }

    /// The verdicts, taken.
    pub fn into_evaluations(self) -> Vec<Evaluation> {
        self.evaluations
    }
}

/// One mechanism's weight vector in chain form (u16 values, as `set_weights` takes them).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct MechanismWeights {
    /// The mechanism.
    pub mechanism: MechanismId,
    /// Destination uids, strictly increasing.
    pub uids: Vec<Uid>,
    /// One weight per uid.
    pub weights: Vec<u16>,
}

/// The weights of one epoch, as proposed by the leader and agreed in a block.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct WeightsProposal {
    /// The epoch they are for.
    pub epoch: Epoch,
    /// One vector per mechanism, mechanism ids strictly increasing.
    pub mechanisms: Vec<MechanismWeights>,
}

impl WeightsProposal {
    /// Checks lengths match, and uids and mechanism ids are strictly increasing (so unique).
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.mechanisms.len() > MAX_MECHANISMS {
            return Err(DecodeError::TooLarge {
                field: "mechanisms",
                size: self.mechanisms.len(),
                max: MAX_MECHANISMS,
            });
        }
        if !self.mechanisms.windows(2).all(|w| w[0].mechanism < w[1].mechanism) {
            return Err(DecodeError::Invalid {
                field: "mechanisms",
                reason: "mechanism ids must be strictly increasing",
            });
        }
        for vector in &self.mechanisms {
            if vector.uids.len() != vector.weights.len() {
                return Err(DecodeError::Invalid { field: "weights", reason: "uids and weights differ in length" });
            }
            if vector.uids.len() > MAX_WEIGHT_UIDS {
                return Err(DecodeError::TooLarge { field: "uids", size: vector.uids.len(), max: MAX_WEIGHT_UIDS });
            }
            if !vector.uids.windows(2).all(|w| w[0] < w[1]) {
                return Err(DecodeError::Invalid { field: "uids", reason: "uids must be strictly increasing" });
            }
        }
        Ok(())
    }
}

/// A validator's statement that a libp2p peer id is its own, signed by its hotkey.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct PeerBinding {
    /// The peer id's bytes.
    pub peer_id: Vec<u8>,
    /// When it was signed, ms since the Unix epoch.
    pub timestamp_ms: u64,
}

impl PeerBinding {
    /// Checks the peer id is present and bounded.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.peer_id.is_empty() {
            return Err(DecodeError::MissingField("peer_id"));
        }
        if self.peer_id.len() > MAX_PEER_ID_BYTES {
            return Err(DecodeError::TooLarge { field: "peer_id", size: self.peer_id.len(), max: MAX_PEER_ID_BYTES });
        }
        Ok(())
    }
}
