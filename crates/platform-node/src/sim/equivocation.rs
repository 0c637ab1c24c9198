//! Byzantine behaviour: a validator that equivocates on its evaluations — half of its peers
//! receive its real signed results, the other half different scores for the same submissions,
//! signed with the same key. Both versions are valid on their own; the blocks commit one per
//! submission, and every honest validator aggregates exactly what was committed.

use platform_types::{Envelope, EvaluationBatch, EvaluationStatus, Keypair, NetUid};

use super::setup::NETUID;

/// For every other receiver, the gossiped batches of evaluations with each score (of a scored
/// verdict: a rejection scores 0) moved by half the range and signed again by `keypair`; `None` for the others and for any other message.
pub(crate) fn rewrite(keypair: &Keypair, batch: &[u8], to: usize) -> Option<Vec<u8>> {
    if to.is_multiple_of(2) {
        return None;
    }
    let netuid = NetUid::new(NETUID);
    let raw = Envelope::split_batch(batch, 1 << 20).ok()?;
    let mut forged = Vec::with_capacity(raw.len());
    for bytes in raw {
        let envelope = Envelope::from_bytes(&bytes, 1 << 20).ok()?;
        let mut evaluations = envelope.open::<EvaluationBatch>(netuid).ok()?.message.into_evaluations();
        for evaluation in evaluations.iter_mut().filter(|e| e.status == EvaluationStatus::Scored) {
            evaluation.score_ppb = (evaluation.score_ppb + 500_000_000) % 1_000_000_000;
        }
        forged.push(Envelope::seal(keypair, netuid, &EvaluationBatch::new(evaluations).ok()?).to_bytes());
    }
    Some(Envelope::join_batch(&forged))
}
