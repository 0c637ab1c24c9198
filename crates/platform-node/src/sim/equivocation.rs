//! Byzantine behaviour: a validator that equivocates on its evaluations — half of its peers
//! receive its real signed results, the other half different scores for the same submissions,
//! signed with the same key. Both versions are valid on their own; the blocks commit one per
//! submission, and every honest validator aggregates exactly what was committed.

use platform_types::{Envelope, Evaluation, Keypair, NetUid};

use super::setup::NETUID;

/// For every other receiver, the batch of evaluations with each score moved by half the range
/// and signed again by `keypair`; `None` for the others and for any other message.
pub(crate) fn rewrite(keypair: &Keypair, batch: &[u8], to: usize) -> Option<Vec<u8>> {
    if to.is_multiple_of(2) {
        return None;
    }
    let netuid = NetUid::new(NETUID);
    let raw = Envelope::split_batch(batch, 1 << 20).ok()?;
    let mut forged = Vec::with_capacity(raw.len());
    for bytes in raw {
        let mut evaluation = Envelope::from_bytes(&bytes, 1 << 20).ok()?.open::<Evaluation>(netuid).ok()?.message;
        evaluation.score_ppb = (evaluation.score_ppb + 500_000_000) % 1_000_000_000;
        forged.push(Envelope::seal(keypair, netuid, &evaluation).to_bytes());
    }
    Some(Envelope::join_batch(&forged))
}
