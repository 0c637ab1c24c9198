//! Byzantine behaviour: a validator whose evaluations all carry a wrong score (one billion
//! minus the sandbox's), signed with its own key — in what it gossips to every peer alike and in
//! the blocks it leads: a validator that lies about what the module computed, or runs another
//! module. Its verdicts are valid on their own and are committed; the aggregation leaves them
//! out as outliers, the weights are the honest ones, and the public audit, running every
//! evaluation again, names it (and no honest validator).

use platform_types::{Action, Envelope, EvaluationBatch, EvaluationStatus, Keypair, NetUid};

use super::setup::NETUID;

/// `envelope` (a batch of evaluations) with every scored verdict's score inverted, signed again
/// by `keypair`.
fn inverted(keypair: &Keypair, envelope: &Envelope) -> Option<Envelope> {
    let netuid = NetUid::new(NETUID);
    let mut evaluations = envelope.open::<EvaluationBatch>(netuid).ok()?.message.into_evaluations();
    for evaluation in evaluations.iter_mut().filter(|e| e.status == EvaluationStatus::Scored) {
        evaluation.score_ppb = platform_types::limits::PPB - evaluation.score_ppb.min(platform_types::limits::PPB);
    }
    Some(Envelope::seal(keypair, netuid, &EvaluationBatch::new(evaluations).ok()?))
}

/// The gossiped batches of evaluations with every score inverted; `None` for anything else.
pub(crate) fn rewrite(keypair: &Keypair, batch: &[u8]) -> Option<Vec<u8>> {
    let raw = Envelope::split_batch(batch, 1 << 20).ok()?;
    let mut forged = Vec::with_capacity(raw.len());
    for bytes in raw {
        forged.push(inverted(keypair, &Envelope::from_bytes(&bytes, 1 << 20).ok()?)?.to_bytes());
    }
    Some(Envelope::join_batch(&forged))
}

/// Its proposal with its own evaluations so inverted (its core orders the true ones it holds);
/// `None` for any other message, or a proposal carrying none of its evaluations.
pub(crate) fn repropose(keypair: &Keypair, bytes: &[u8]) -> Option<Vec<u8>> {
    super::behaviour::reproposed(keypair, bytes, |_, actions| {
        let mut changed = false;
        for action in actions.iter_mut() {
            if let Action::Evaluations(envelope) = action
                && envelope.signer == keypair.public()
            {
                *envelope = inverted(keypair, envelope)?;
                changed = true;
            }
        }
        changed.then_some(())
    })
}
