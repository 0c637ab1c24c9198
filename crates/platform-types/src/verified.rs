//! A bounded memory of envelopes whose signatures already verified. One signed evaluation is
//! checked where it arrives by gossip, again when the leader puts it in a block, when each
//! follower checks that block and when every validator applies it: with this memory the
//! sr25519 check (about 30 µs) runs once per envelope and node, and the others cost a hash.
//!
//! The key covers everything the signature check reads (kind, subnet, payload, signer and
//! signature), so a remembered answer is exactly the answer the check would give again.

use std::sync::Mutex;

use crate::envelope::{DOMAIN_PREFIX, Envelope, EnvelopeError, Signed};
use crate::error::SignatureError;
use crate::hash::{Hash, blake2b_256_parts};
use crate::ids::NetUid;
use crate::recent::Recent;
use crate::wire::WireMessage;

/// Envelopes known to carry a valid signature, the oldest forgotten first beyond a capacity.
/// Shared between threads (the gossip pump remembers, the rules consult).
pub struct VerifiedEnvelopes {
    inner: Mutex<Recent<Hash>>,
}

impl VerifiedEnvelopes {
    /// Remembers at most `capacity` envelopes.
    pub fn new(capacity: usize) -> Self {
        VerifiedEnvelopes { inner: Mutex::new(Recent::new(capacity)) }
    }

    fn key(envelope: &Envelope, netuid: NetUid) -> Hash {
        blake2b_256_parts(&[
            DOMAIN_PREFIX,
            &[envelope.kind as u8],
            &netuid.get().to_le_bytes(),
            envelope.signer.as_bytes(),
            envelope.signature.as_bytes(),
            &envelope.payload,
        ])
    }

    fn contains(&self, key: &Hash) -> bool {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(key)
    }

    fn insert(&self, key: Hash) {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key);
    }

    /// [`Envelope::verify`], answered from memory when this envelope verified before.
    pub fn verify(&self, envelope: &Envelope, netuid: NetUid) -> Result<(), SignatureError> {
        let key = Self::key(envelope, netuid);
        if self.contains(&key) {
            return Ok(());
        }
        envelope.verify(netuid)?;
        self.insert(key);
        Ok(())
    }

    /// [`Envelope::open`] with the signature check answered from memory when it can be.
    pub fn open<M: WireMessage>(&self, envelope: &Envelope, netuid: NetUid) -> Result<Signed<M>, EnvelopeError> {
        let message = envelope.decode_as::<M>()?;
        self.verify(envelope, netuid)?;
        Ok(Signed { message, signer: envelope.signer, envelope: envelope.clone() })
    }

    /// Records an envelope whose signature is known good without checking it: one this node
    /// signed itself, or one checked in a batch.
    pub fn remember(&self, envelope: &Envelope, netuid: NetUid) {
        self.insert(Self::key(envelope, netuid));
    }

    /// Envelopes remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChallengeId, Epoch, Evaluation, EvaluationBatch, EvaluationStatus, Keypair, SubmissionId};

    fn evaluation(keypair: &Keypair, score: u32) -> Envelope {
        let evaluation = Evaluation {
            submission: SubmissionId(Hash::from_bytes([7; 32])),
            challenge: ChallengeId::new("c").expect("id"),
            validator: keypair.public(),
            status: EvaluationStatus::Scored,
            score_ppb: score,
            fuel_used: 1,
            output_hash: Hash::from_bytes([1; 32]),
            epoch: Epoch::new(1),
        };
        Envelope::seal(keypair, NetUid::new(1), &EvaluationBatch::new(vec![evaluation]).expect("batch"))
    }

    #[test]
    fn a_changed_envelope_is_checked_again_and_rejected() {
        let keypair = Keypair::from_suri("//v").expect("key");
        let verified = VerifiedEnvelopes::new(8);
        let good = evaluation(&keypair, 5);
        verified.open::<EvaluationBatch>(&good, NetUid::new(1)).expect("valid");
        assert_eq!(verified.len(), 1);
        verified.open::<EvaluationBatch>(&good, NetUid::new(1)).expect("remembered");
        assert_eq!(verified.len(), 1);

        // The same signature over another payload, or under another subnet, is not remembered.
        let mut forged = good.clone();
        forged.payload = evaluation(&keypair, 6).payload;
        assert!(verified.open::<EvaluationBatch>(&forged, NetUid::new(1)).is_err());
        assert!(verified.verify(&good, NetUid::new(2)).is_err());
        let mut other_signer = good.clone();
        other_signer.signer = Keypair::from_suri("//w").expect("key").public();
        assert!(verified.verify(&other_signer, NetUid::new(1)).is_err());
        assert_eq!(verified.len(), 1, "failures are not remembered");
    }

    #[test]
    fn the_oldest_are_forgotten_beyond_capacity() {
        let keypair = Keypair::from_suri("//v").expect("key");
        let verified = VerifiedEnvelopes::new(2);
        let envelopes: Vec<Envelope> = (0..3).map(|score| evaluation(&keypair, score)).collect();
        for envelope in &envelopes {
            verified.remember(envelope, NetUid::new(1));
        }
        assert_eq!(verified.len(), 2);
        let key = |e: &Envelope| VerifiedEnvelopes::key(e, NetUid::new(1));
        assert!(!verified.contains(&key(&envelopes[0])));
        assert!(verified.contains(&key(&envelopes[1])) && verified.contains(&key(&envelopes[2])));
    }
}
