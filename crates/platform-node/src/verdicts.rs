//! What gossip hears back about a consensus message: the consensus machine's own judgement of
//! it, so that gossipsub stops forwarding what the machine refused and the peer guard counts it
//! toward a ban.

use platform_consensus::{Misbehaviour, Output};
use platform_p2p::Verdict;

/// The verdict on one gossiped consensus message, from the outputs the machine produced while
/// handling it. Any misbehaviour makes it `Invalid`, except equivocation: the second of two
/// conflicting proposals or votes may reach this node through an honest forwarder that saw it
/// first, so it is dropped without penalising whoever relayed it (the machine keeps the
/// evidence).
pub fn consensus_verdict(outputs: &[Output]) -> Verdict {
    let mut verdict = Verdict::Valid;
    for output in outputs {
        if let Output::Misbehaviour { reason, .. } = output {
            match reason {
                Misbehaviour::Equivocation(_) => verdict = Verdict::Ignored,
                _ => return Verdict::Invalid,
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use platform_consensus::{Committee, Config, Consensus, Input, PeerTag};
    use platform_storage::MemoryStore;
    use platform_types::{
        Action, Block, BlockHeaderFields, BlockRef, Envelope, Epoch, Hash, Height, Keypair, NetUid, Proposal,
        SubmissionId, Tip, Uid, Validator, ValidatorSet, View,
    };

    use super::*;

    const NETUID: NetUid = NetUid::new(1);

    struct Net {
        keys: Vec<Keypair>,
        committee: Committee,
    }

    impl Net {
        fn new() -> Net {
            let keys: Vec<Keypair> = (0..4).map(|i| Keypair::from_suri(&format!("//J{i}")).expect("key")).collect();
            let validators = keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator { hotkey: k.public(), uid: Uid::new(i as u16), stake: 1_000 })
                .collect();
            let committee = Committee::new(ValidatorSet { epoch: Epoch::new(0), validators }).expect("committee");
            Net { keys, committee }
        }

        fn key(&self, public: platform_types::PublicKey) -> &Keypair {
            self.keys.iter().find(|k| k.public() == public).expect("member")
        }

        fn follower(&self) -> Consensus {
            let leader = self.committee.leader(Height::new(1), View::new(0));
            let me = self.keys.iter().find(|k| k.public() != leader).expect("follower");
            let tip = Tip::genesis(Hash::ZERO, Epoch::new(0));
            let mut machine = Consensus::new(
                Config::new(NETUID),
                me.clone(),
                Arc::new(MemoryStore::new()),
                self.committee.clone(),
                tip,
            )
            .expect("machine");
            machine.start();
            machine
        }

        fn proposal(&self, signer: &Keypair, tag: u8) -> Input {
            let block = Block::new(
                BlockHeaderFields {
                    height: Height::new(1),
                    epoch: Epoch::new(0),
                    chain: BlockRef::default(),
                    parent_hash: Hash::ZERO,
                    parent_state_root: Hash::ZERO,
                    proposer: self.committee.leader(Height::new(1), View::new(0)),
                    validators_hash: self.committee.hash(),
                },
                vec![Action::Submission(SubmissionId(Hash::from_bytes([tag; 32])))],
            );
            let proposal = Proposal { height: Height::new(1), view: View::new(0), block, justification: None };
            Input::Message { from: PeerTag(1), envelope: Envelope::seal(signer, NETUID, &proposal) }
        }
    }

    /// Hole: invalid consensus messages were reported `Valid` to gossip and forwarded.
    #[test]
    fn a_forged_or_misdirected_consensus_message_is_invalid() {
        let net = Net::new();
        let leader = net.key(net.committee.leader(Height::new(1), View::new(0)));
        let not_leader = net.keys.iter().find(|k| k.public() != leader.public()).expect("other");

        let mut machine = net.follower();
        assert_eq!(consensus_verdict(&machine.handle(net.proposal(leader, 1))), Verdict::Valid);

        let mut machine = net.follower();
        assert_eq!(consensus_verdict(&machine.handle(net.proposal(not_leader, 1))), Verdict::Invalid);

        let mut machine = net.follower();
        let Input::Message { from, mut envelope } = net.proposal(leader, 1) else { unreachable!() };
        envelope.payload[0] ^= 1;
        assert_eq!(consensus_verdict(&machine.handle(Input::Message { from, envelope })), Verdict::Invalid);
    }

    #[test]
    fn an_equivocation_is_dropped_without_blaming_the_forwarder() {
        let net = Net::new();
        let leader = net.key(net.committee.leader(Height::new(1), View::new(0)));
        let mut machine = net.follower();
        assert_eq!(consensus_verdict(&machine.handle(net.proposal(leader, 1))), Verdict::Valid);
        assert_eq!(consensus_verdict(&machine.handle(net.proposal(leader, 2))), Verdict::Ignored);
    }
}
