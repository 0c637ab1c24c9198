//! Wire conversions for submissions, evaluations, weights and peer bindings.

use super::{bounded, challenge_id, codec, hash, pb, public_key, required, single_kind, uid};
use crate::domain::{
    Evaluation, EvaluationBatch, EvaluationStatus, MechanismWeights, Payload, PeerBinding, Phase, Submission,
    WeightsProposal,
};
use crate::envelope::MessageKind;
use crate::error::DecodeError;
use crate::ids::{Epoch, MechanismId, SubmissionId};
use crate::limits::{MAX_BATCH_EVALUATIONS, MAX_MECHANISMS, MAX_METADATA_ENTRIES, MAX_WEIGHT_UIDS};

impl From<&Submission> for pb::Submission {
    fn from(s: &Submission) -> Self {
        use pb::submission::Payload as P;
        let payload = match &s.payload {
            Payload::Inline(bytes) => P::Inline(bytes.clone()),
            Payload::Blob(h) => P::BlobHash(h.as_bytes().to_vec()),
        };
        pb::Submission {
            challenge_id: s.challenge.as_str().to_owned(),
            miner: s.miner.as_bytes().to_vec(),
            payload: Some(payload),
            payload_size: s.payload_size,
            metadata: s
                .metadata
                .iter()
                .map(|(key, value)| pb::MetadataEntry { key: key.clone(), value: value.clone() })
                .collect(),
            nonce: s.nonce,
            timestamp_ms: s.timestamp_ms,
            phase: match s.phase {
                Phase::Answer => None,
                Phase::Commit { task_epoch } => Some(pb::submission::Phase::CommitTaskEpoch(task_epoch.get())),
                Phase::Reveal { commitment } => Some(pb::submission::Phase::Reveals(commitment.0.as_bytes().to_vec())),
            },
        }
    }
}

impl TryFrom<pb::Submission> for Submission {
    type Error = DecodeError;

    fn try_from(s: pb::Submission) -> Result<Self, DecodeError> {
        use pb::submission::Payload as P;
        let payload = match required("payload", s.payload)? {
            P::Inline(bytes) => Payload::Inline(bytes),
            P::BlobHash(h) => Payload::Blob(hash("blob_hash", &h)?),
        };
        let submission = Submission {
            challenge: challenge_id(&s.challenge_id)?,
            miner: public_key("miner", &s.miner)?,
            payload,
            payload_size: s.payload_size,
            metadata: bounded("metadata", s.metadata, MAX_METADATA_ENTRIES)?
                .into_iter()
                .map(|entry| (entry.key, entry.value))
                .collect(),
            nonce: s.nonce,
            timestamp_ms: s.timestamp_ms,
            phase: match s.phase {
                None => Phase::Answer,
                Some(pb::submission::Phase::CommitTaskEpoch(epoch)) => Phase::Commit { task_epoch: Epoch::new(epoch) },
                Some(pb::submission::Phase::Reveals(id)) => {
                    Phase::Reveal { commitment: SubmissionId(hash("reveals", &id)?) }
                }
            },
        };
        submission.validate()?;
        Ok(submission)
    }
}

impl From<&EvaluationBatch> for pb::EvaluationBatch {
    fn from(b: &EvaluationBatch) -> Self {
        let verdicts = b
            .evaluations()
            .iter()
            .map(|e| {
                let status = match e.status {
                    EvaluationStatus::Scored => pb::EvaluationStatus::Scored,
                    EvaluationStatus::Rejected => pb::EvaluationStatus::Rejected,
                };
                pb::Verdict {
                    submission_id: e.submission.0.as_bytes().to_vec(),
                    challenge_id: e.challenge.as_str().to_owned(),
                    status: status as i32,
                    score_ppb: e.score_ppb,
                    fuel_used: e.fuel_used,
                    output_hash: e.output_hash.as_bytes().to_vec(),
                    epoch: e.epoch.get(),
                }
            })
            .collect();
        pb::EvaluationBatch { validator: b.validator().as_bytes().to_vec(), verdicts }
    }
}

impl TryFrom<pb::EvaluationBatch> for EvaluationBatch {
    type Error = DecodeError;

    fn try_from(b: pb::EvaluationBatch) -> Result<Self, DecodeError> {
        let validator = public_key("validator", &b.validator)?;
        let verdict = |v: pb::Verdict| {
            let status = match pb::EvaluationStatus::try_from(v.status) {
                Ok(pb::EvaluationStatus::Scored) => EvaluationStatus::Scored,
                Ok(pb::EvaluationStatus::Rejected) => EvaluationStatus::Rejected,
                _ => return Err(DecodeError::Invalid { field: "status", reason: "unknown evaluation status" }),
            };
            Ok(Evaluation {
                submission: SubmissionId(hash("submission_id", &v.submission_id)?),
                challenge: challenge_id(&v.challenge_id)?,
                validator,
                status,
                score_ppb: v.score_ppb,
                fuel_used: v.fuel_used,
                output_hash: hash("output_hash", &v.output_hash)?,
                epoch: Epoch::new(v.epoch),
            })
        };
        let evaluations = bounded("verdicts", b.verdicts, MAX_BATCH_EVALUATIONS)?
            .into_iter()
            .map(verdict)
            .collect::<Result<Vec<_>, _>>()?;
        EvaluationBatch::new(evaluations)
    }
}

impl From<&WeightsProposal> for pb::WeightsProposal {
    fn from(w: &WeightsProposal) -> Self {
        pb::WeightsProposal {
            epoch: w.epoch.get(),
            mechanisms: w
                .mechanisms
                .iter()
                .map(|m| pb::MechanismWeights {
                    mechanism_id: u32::from(m.mechanism.get()),
                    uids: m.uids.iter().map(|u| u32::from(u.get())).collect(),
                    weights: m.weights.iter().map(|&v| u32::from(v)).collect(),
                })
                .collect(),
        }
    }
}

impl TryFrom<pb::WeightsProposal> for WeightsProposal {
    type Error = DecodeError;

    fn try_from(w: pb::WeightsProposal) -> Result<Self, DecodeError> {
        let mechanisms = bounded("mechanisms", w.mechanisms, MAX_MECHANISMS)?
            .into_iter()
            .map(|m| {
                let mechanism = u8::try_from(m.mechanism_id)
                    .map_err(|_| DecodeError::Invalid { field: "mechanism_id", reason: "exceeds 255" })?;
                let uids = bounded("uids", m.uids, MAX_WEIGHT_UIDS)?
                    .into_iter()
                    .map(|u| uid("uids", u))
                    .collect::<Result<_, _>>()?;
                let weights = bounded("weights", m.weights, MAX_WEIGHT_UIDS)?
                    .into_iter()
                    .map(|v| {
                        u16::try_from(v).map_err(|_| DecodeError::Invalid { field: "weights", reason: "exceeds 65535" })
                    })
                    .collect::<Result<_, _>>()?;
                Ok(MechanismWeights { mechanism: MechanismId::new(mechanism), uids, weights })
            })
            .collect::<Result<_, DecodeError>>()?;
        let proposal = WeightsProposal { epoch: Epoch::new(w.epoch), mechanisms };
        proposal.validate()?;
        Ok(proposal)
    }
}

impl From<&PeerBinding> for pb::PeerBinding {
    fn from(b: &PeerBinding) -> Self {
        pb::PeerBinding { peer_id: b.peer_id.clone(), timestamp_ms: b.timestamp_ms }
    }
}

impl TryFrom<pb::PeerBinding> for PeerBinding {
    type Error = DecodeError;

    fn try_from(b: pb::PeerBinding) -> Result<Self, DecodeError> {
        let binding = PeerBinding { peer_id: b.peer_id, timestamp_ms: b.timestamp_ms };
        binding.validate()?;
        Ok(binding)
    }
}

codec!(Submission, pb::Submission, "Submission");
codec!(EvaluationBatch, pb::EvaluationBatch, "EvaluationBatch");
codec!(WeightsProposal, pb::WeightsProposal, "WeightsProposal");
codec!(PeerBinding, pb::PeerBinding, "PeerBinding");
single_kind!(Submission, MessageKind::Submission, signer = miner);
impl super::WireMessage for EvaluationBatch {
    const KINDS: &'static [MessageKind] = &[MessageKind::EvaluationBatch];

    fn kind(&self) -> MessageKind {
        MessageKind::EvaluationBatch
    }

    fn claimed_signer(&self) -> Option<crate::keys::PublicKey> {
        Some(self.validator())
    }
}
single_kind!(PeerBinding, MessageKind::PeerBinding);
