//! Vote collection with lazy, batched signature checks.
//!
//! Votes are held unverified until the stake behind one (view, block) could form a quorum;
//! then all pending signatures are checked in one schnorrkel batch (falling back to one-by-one
//! only when the batch fails, to find the forgers). Votes arriving after a certificate formed
//! are never verified at all. A second, different vote from the same signer forces both to be
//! checked at once, so a forged vote cannot crowd out the real one.

use std::collections::BTreeMap;

use platform_types::{Envelope, Hash, Height, NetUid, PublicKey, QuorumCertificate, View, Vote, VoteKind};

use crate::committee::Committee;
use crate::io::{Misbehaviour, Output, PeerTag};

#[derive(Debug, Default)]
struct Tally {
    verified: BTreeMap<PublicKey, Envelope>,
    pending: BTreeMap<PublicKey, (PeerTag, Envelope)>,
    /// Stake behind `verified` and `pending` together (a signer is in at most one of them).
    stake: u128,
    certified: bool,
}

/// The prepare or commit votes of one height.
#[derive(Debug)]
pub(crate) struct VoteBook {
    kind: VoteKind,
    height: Height,
    tallies: BTreeMap<(View, Hash), Tally>,
    by_signer: BTreeMap<(View, PublicKey), Hash>,
}

fn report(out: &mut Vec<Output>, from: PeerTag, reason: Misbehaviour) {
    out.push(Output::Misbehaviour { from, reason });
}

impl VoteBook {
    pub(crate) fn new(kind: VoteKind, height: Height) -> Self {
        VoteBook { kind, height, tallies: BTreeMap::new(), by_signer: BTreeMap::new() }
    }

    /// Adds a vote whose envelope may not be verified yet (`verified` is true only for our own).
    /// Returns a certificate the first time one (view, block) reaches a quorum.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        committee: &Committee,
        netuid: NetUid,
        from: PeerTag,
        vote: &Vote,
        envelope: Envelope,
        verified: bool,
        out: &mut Vec<Output>,
    ) -> Option<QuorumCertificate> {
        let signer = envelope.signer;
        let stake = committee.stake(&signer).map(u128::from)?;
        let key = (vote.view, vote.block_hash);
        if let Some(&earlier) = self.by_signer.get(&(vote.view, signer)) {
            if earlier == vote.block_hash {
                return None; // a duplicate
            }
            // Two different votes for one view: check both now.
            if !verified && envelope.verify(netuid).is_err() {
                report(out, from, Misbehaviour::BadSignature(signer));
                return None;
            }
            let earlier_tally = self.tallies.entry((vote.view, earlier)).or_default();
            if let Some((earlier_from, earlier_envelope)) = earlier_tally.pending.remove(&signer) {
                if earlier_envelope.verify(netuid).is_err() {
                    report(out, earlier_from, Misbehaviour::BadSignature(signer));
                    earlier_tally.stake -= stake;
                    self.by_signer.insert((vote.view, signer), vote.block_hash);
                    let tally = self.tallies.entry(key).or_default();
                    tally.verified.insert(signer, envelope);
                    tally.stake += stake;
                    return self.try_certify(committee, netuid, key, out);
                }
                earlier_tally.verified.insert(signer, earlier_envelope);
            }
            report(out, from, Misbehaviour::Equivocation(signer));
            return None;
        }
        self.by_signer.insert((vote.view, signer), vote.block_hash);
        let tally = self.tallies.entry(key).or_default();
        if tally.certified {
            return None;
        }
        if verified {
            tally.verified.insert(signer, envelope);
        } else {
            tally.pending.insert(signer, (from, envelope));
        }
        tally.stake += stake;
        self.try_certify(committee, netuid, key, out)
    }

    fn try_certify(
        &mut self,
        committee: &Committee,
        netuid: NetUid,
        key: (View, Hash),
        out: &mut Vec<Output>,
    ) -> Option<QuorumCertificate> {
        let tally = self.tallies.get_mut(&key)?;
        if tally.certified {
            return None;
        }
        if !committee.is_quorum(tally.stake) {
            return None;
        }
        let pending = std::mem::take(&mut tally.pending);
        let envelopes: Vec<&Envelope> = pending.values().map(|(_, e)| e).collect();
        let all_good = Envelope::verify_batch(&envelopes, netuid).is_ok();
        for (signer, (from, envelope)) in pending {
            if all_good || envelope.verify(netuid).is_ok() {
                tally.verified.insert(signer, envelope);
            } else {
                report(out, from, Misbehaviour::BadSignature(signer));
                // Forget the forged vote so the real one can still be counted.
                self.by_signer.remove(&(key.0, signer));
                tally.stake -= committee.stake(&signer).map_or(0, u128::from);
            }
        }
        if !committee.is_quorum(tally.stake) {
            return None;
        }
        tally.certified = true;
        Some(QuorumCertificate {
            kind: self.kind,
            height: self.height,
            view: key.0,
            block_hash: key.1,
            votes: tally.verified.values().cloned().collect(),
        })
    }
}
