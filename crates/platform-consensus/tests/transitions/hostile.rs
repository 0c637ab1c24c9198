//! Transitions on hostile input: invalid and forged messages, messages from later heights, and
//! a member flooding the buffer of future messages.

use super::*;

#[test]
fn invalid_messages_are_reported_not_obeyed() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    let block = net.block(1, 0, 1);
    let outsider = Keypair::from_suri("//outsider").expect("key");
    let mut forged = Envelope::seal(
        &outsider,
        NETUID,
        &Proposal { height: Height::new(1), view: View::new(0), block: block.clone(), justification: None },
    );
    forged.signer = net.leader(1, 0).public();
    let not_leader = Envelope::seal(
        me,
        NETUID,
        &Proposal { height: Height::new(1), view: View::new(0), block: block.clone(), justification: None },
    );
    let wrong_parent = {
        let mut b = net.block(1, 0, 2);
        b.header.parent_hash = Hash::from_bytes([9; 32]);
        Block::new(
            BlockHeaderFields {
                height: b.header.height,
                epoch: b.header.epoch,
                chain: b.header.chain,
                parent_hash: b.header.parent_hash,
                parent_state_root: b.header.parent_state_root,
                proposer: b.header.proposer,
                validators_hash: b.header.validators_hash,
            },
            b.actions,
        )
    };
    run(
        &mut machine,
        vec![
            Step {
                name: "forged signature",
                input: Input::Message { from: PeerTag(3), envelope: forged },
                expect: &["bad-signature"],
            },
            Step {
                name: "not the leader",
                input: Input::Message { from: PeerTag(3), envelope: not_leader },
                expect: &["not-leader"],
            },
            Step {
                name: "wrong parent",
                input: net.proposal(0, wrong_parent),
                expect: &["invalid-proposal:parent hash"],
            },
            Step {
                name: "outsider vote",
                input: net.vote(&outsider, VoteKind::Prepare, 0, &block),
                expect: &["not-validator"],
            },
            Step {
                name: "garbage",
                input: Input::Message {
                    from: PeerTag(3),
                    envelope: Envelope {
                        kind: MessageKind::Prepare,
                        payload: vec![0xff; 3],
                        signer: me.public(),
                        signature: Signature::from_bytes([0; 64]),
                    },
                },
                expect: &["malformed"],
            },
            Step { name: "the real proposal still works", input: net.proposal(0, block.clone()), expect: &["verify"] },
            Step { name: "equivocating leader", input: net.proposal(0, net.block(1, 0, 3)), expect: &["equivocation"] },
        ],
    );
}

#[test]
fn forged_votes_neither_count_nor_crowd_out_real_ones() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    let block = net.block(1, 0, 1);
    machine.handle(net.proposal(0, block.clone()));
    machine.handle(Input::ProposalVerified {
        height: Height::new(1),
        view: View::new(0),
        block_hash: block.hash(),
        valid: true,
    });
    let others = net.others(me);
    // A forged prepare in others[0]'s name, signed by others[1].
    let Input::Message { envelope: mut forged, .. } = net.vote(others[1], VoteKind::Prepare, 0, &block) else {
        unreachable!()
    };
    forged.signer = others[0].public();
    run(
        &mut machine,
        vec![
            Step {
                name: "forged vote pending",
                input: Input::Message { from: PeerTag(9), envelope: forged },
                expect: &[],
            },
            // Now our vote + forged + this one look like a quorum: the batch check unmasks the forgery.
            Step {
                name: "quorum check finds it",
                input: net.vote(others[2], VoteKind::Prepare, 0, &block),
                expect: &["bad-signature"],
            },
            Step {
                name: "the real vote still counts",
                input: net.vote(others[0], VoteKind::Prepare, 0, &block),
                expect: &["send:Commit"],
            },
        ],
    );
}

#[test]
fn a_verified_message_from_a_later_height_triggers_one_sync_request() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    let later = net.block(3, 0, 1);
    let others = net.others(me);
    let Input::Message { envelope: mut forged, .. } = net.vote(others[0], VoteKind::Commit, 0, &later) else {
        unreachable!()
    };
    forged.signature = Signature::from_bytes([1; 64]);
    run(
        &mut machine,
        vec![
            Step { name: "forged: no sync", input: Input::Message { from: PeerTag(6), envelope: forged }, expect: &[] },
            Step {
                name: "a member ahead: sync",
                input: net.vote(others[1], VoteKind::Commit, 0, &later),
                expect: &["sync:1"],
            },
            Step { name: "only once", input: net.vote(others[2], VoteKind::Commit, 0, &later), expect: &[] },
            Step {
                name: "again on timeout",
                input: Input::Timeout { height: Height::new(1), view: View::new(0) },
                expect: &["sync:1", "send:ViewChange", "timer:1"],
            },
        ],
    );
}

#[test]
fn a_flooding_member_fills_only_its_share_of_the_future_buffer() {
    let net = Net::new();
    let me = net.follower();
    let mut config = Config::new(NETUID);
    config.max_buffered = 8; // two messages per validator
    let genesis_root = Hash::from_bytes([7; 32]);
    let tip = Tip::genesis(genesis_root, Epoch::new(0));
    let mut machine =
        Consensus::new(config, me.clone(), Arc::new(MemoryStore::new()), net.committee.clone(), tip).expect("machine");
    machine.start();
    let others = net.others(me);
    let block1 = net.block(1, 0, 1);
    let root1 = Hash::from_bytes([8; 32]);
    let block2 = Block::new(
        BlockHeaderFields {
            height: Height::new(2),
            epoch: Epoch::new(0),
            chain: BlockRef::default(),
            parent_hash: block1.hash(),
            parent_state_root: root1,
            proposer: net.committee.leader(Height::new(2), View::new(0)),
            validators_hash: net.committee.hash(),
        },
        vec![],
    );
    // While we are still at height 1, others[0] floods height-2 prepares; only its share is kept.
    for _ in 0..10 {
        machine.handle(net.vote(others[0], VoteKind::Prepare, 0, &block2));
    }
    // The other validators' early prepares still fit.
    machine.handle(net.vote(others[1], VoteKind::Prepare, 0, &block2));
    machine.handle(net.vote(others[2], VoteKind::Prepare, 0, &block2));
    // Height 1 commits.
    machine.handle(net.proposal(0, block1.clone()));
    machine.handle(Input::ProposalVerified {
        height: Height::new(1),
        view: View::new(0),
        block_hash: block1.hash(),
        valid: true,
    });
    for signer in &others[..2] {
        machine.handle(net.vote(signer, VoteKind::Prepare, 0, &block1));
    }
    for signer in &others[..2] {
        machine.handle(net.vote(signer, VoteKind::Commit, 0, &block1));
    }
    machine.handle(Input::Applied { height: Height::new(1), state_root: root1, next_validators: None });
    assert_eq!(machine.height(), Height::new(2));
    // The replayed prepares of all three others form a prepare quorum, so accepting the
    // proposal sends our prepare and, at once, our commit.
    run(
        &mut machine,
        vec![
            Step { name: "height-2 proposal", input: net.proposal(0, block2.clone()), expect: &["verify"] },
            Step {
                name: "accepted: prepared already",
                input: Input::ProposalVerified {
                    height: Height::new(2),
                    view: View::new(0),
                    block_hash: block2.hash(),
                    valid: true,
                },
                expect: &["send:Prepare", "send:Commit"],
            },
        ],
    );
}
