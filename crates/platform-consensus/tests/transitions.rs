//! Table-driven tests of single state-machine transitions: each step feeds one input and
//! lists the outputs expected, by kind, in order.

use std::sync::Arc;

use platform_consensus::{Committee, Config, Consensus, Input, Misbehaviour, Output, PeerTag, Tip};
use platform_storage::{MemoryStore, Store};
use platform_types::*;

const NETUID: NetUid = NetUid::new(1);

struct Net {
    keys: Vec<Keypair>,
    committee: Committee,
}

impl Net {
    fn new() -> Self {
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::from_suri(&format!("//t/{i}")).expect("key")).collect();
        let validators = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator { hotkey: k.public(), uid: Uid::new(i as u16), stake: 10 })
            .collect();
        let committee = Committee::new(ValidatorSet { epoch: Epoch::new(0), validators }).expect("set");
        Net { keys, committee }
    }

    fn key_of(&self, hotkey: PublicKey) -> &Keypair {
        self.keys.iter().find(|k| k.public() == hotkey).expect("member")
    }

    fn leader(&self, height: u64, view: u64) -> &Keypair {
        self.key_of(self.committee.leader(Height::new(height), View::new(view)))
    }

    /// A validator that is not the leader of (1, 0) or (1, 1): the node under test.
    fn follower(&self) -> &Keypair {
        let leaders =
            [self.committee.leader(Height::new(1), View::new(0)), self.committee.leader(Height::new(1), View::new(1))];
        self.keys.iter().find(|k| !leaders.contains(&k.public())).expect("a follower")
    }

    fn others(&self, me: &Keypair) -> Vec<&Keypair> {
        self.keys.iter().filter(|k| k.public() != me.public()).collect()
    }

    fn block(&self, height: u64, view: u64, tag: u8) -> Block {
        Block::new(
            BlockHeaderFields {
                height: Height::new(height),
                epoch: Epoch::new(0),
                chain: BlockRef::default(),
                parent_hash: Hash::ZERO,
                parent_state_root: Hash::from_bytes([7; 32]),
                proposer: self.committee.leader(Height::new(height), View::new(view)),
                validators_hash: self.committee.hash(),
            },
            vec![Action::Submission(SubmissionId(Hash::from_bytes([tag; 32])))],
        )
    }

    fn proposal(&self, view: u64, block: Block) -> Input {
        let proposal = Proposal { height: block.header.height, view: View::new(view), block, justification: None };
        let signer = self.leader(proposal.height.get(), view);
        Input::Message { from: PeerTag(1), envelope: Envelope::seal(signer, NETUID, &proposal) }
    }

    fn vote(&self, signer: &Keypair, kind: VoteKind, view: u64, block: &Block) -> Input {
        let vote = Vote { kind, height: block.header.height, view: View::new(view), block_hash: block.hash() };
        Input::Message { from: PeerTag(2), envelope: Envelope::seal(signer, NETUID, &vote) }
    }

    /// A started machine for [`Net::follower`] with a fresh store.
    fn started_follower(&self) -> (Consensus, &Keypair) {
        let me = self.follower();
        let mut machine = self.machine(me, Arc::new(MemoryStore::new()));
        machine.start();
        (machine, me)
    }

    fn machine(&self, me: &Keypair, store: Arc<dyn Store>) -> Consensus {
        let tip = Tip::genesis(Hash::from_bytes([7; 32]), Epoch::new(0));
        Consensus::new(Config::new(NETUID), me.clone(), store, self.committee.clone(), tip).expect("machine")
    }
}

fn describe(output: &Output) -> String {
    match output {
        Output::Broadcast(e) => format!("send:{:?}", e.kind),
        Output::SetTimer { view, .. } => format!("timer:{}", view.get()),
        Output::BuildProposal { .. } => "build".into(),
        Output::VerifyProposal { .. } => "verify".into(),
        Output::Commit { .. } => "commit".into(),
        Output::Checkpoint(_) => "checkpoint".into(),
        Output::NeedSync { height } => format!("sync:{}", height.get()),
        Output::Misbehaviour { reason, .. } => match reason {
            Misbehaviour::BadSignature(_) => "bad-signature".into(),
            Misbehaviour::NotTheLeader(_) => "not-leader".into(),
            Misbehaviour::NotAValidator(_) => "not-validator".into(),
            Misbehaviour::Equivocation(_) => "equivocation".into(),
            Misbehaviour::InvalidProposal(why) => format!("invalid-proposal:{why}"),
            Misbehaviour::InvalidCertificate(why) => format!("invalid-certificate:{why}"),
            Misbehaviour::Malformed(_) => "malformed".into(),
        },
    }
}

struct Step {
    name: &'static str,
    input: Input,
    expect: &'static [&'static str],
}

fn run(machine: &mut Consensus, steps: Vec<Step>) {
    for step in steps {
        let outputs: Vec<String> = machine.handle(step.input).iter().map(describe).collect();
        assert_eq!(outputs, step.expect, "step {:?}", step.name);
    }
}

#[test]
fn the_happy_path_commits_in_three_phases() {
    let net = Net::new();
    let me = net.follower();
    let mut machine = net.machine(me, Arc::new(MemoryStore::new()));
    assert_eq!(machine.start().iter().map(describe).collect::<Vec<_>>(), ["timer:0"]);
    let block = net.block(1, 0, 1);
    let others = net.others(me);
    run(
        &mut machine,
        vec![
            Step { name: "proposal", input: net.proposal(0, block.clone()), expect: &["verify"] },
            Step {
                name: "application accepts",
                input: Input::ProposalVerified {
                    height: Height::new(1),
                    view: View::new(0),
                    block_hash: block.hash(),
                    valid: true,
                },
                expect: &["send:Prepare"],
            },
            Step { name: "prepare 2/4", input: net.vote(others[0], VoteKind::Prepare, 0, &block), expect: &[] },
            Step {
                name: "prepare 3/4: prepared",
                input: net.vote(others[1], VoteKind::Prepare, 0, &block),
                expect: &["send:Commit"],
            },
            Step {
                name: "late prepare ignored",
                input: net.vote(others[2], VoteKind::Prepare, 0, &block),
                expect: &[],
            },
            Step { name: "commit 2/4", input: net.vote(others[0], VoteKind::Commit, 0, &block), expect: &[] },
            Step {
                name: "commit 3/4: decided",
                input: net.vote(others[1], VoteKind::Commit, 0, &block),
                expect: &["commit"],
            },
            Step {
                name: "applied: next height",
                input: Input::Applied {
                    height: Height::new(1),
                    state_root: Hash::from_bytes([8; 32]),
                    next_validators: None,
                },
                expect: &["timer:0"],
            },
        ],
    );
    assert_eq!(machine.height(), Height::new(2));
    assert_eq!(machine.tip().hash, block.hash());
}

/// Hole: a validator below the network's required version stopped following blocks; it must
/// keep following (and serving reads) and only stop signing.
#[test]
fn a_validator_that_stopped_voting_follows_without_signing() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    machine.stop_voting();
    assert!(!machine.is_voting());
    let block = net.block(1, 0, 1);
    let others = net.others(me);
    let verified =
        Input::ProposalVerified { height: Height::new(1), view: View::new(0), block_hash: block.hash(), valid: true };
    run(
        &mut machine,
        vec![
            Step { name: "proposal", input: net.proposal(0, block.clone()), expect: &["verify"] },
            Step { name: "accepted, but no prepare sent", input: verified, expect: &[] },
            Step { name: "prepare 1", input: net.vote(others[0], VoteKind::Prepare, 0, &block), expect: &[] },
            Step { name: "prepare 2", input: net.vote(others[1], VoteKind::Prepare, 0, &block), expect: &[] },
            Step {
                name: "prepare 3: prepared, no commit sent",
                input: net.vote(others[2], VoteKind::Prepare, 0, &block),
                expect: &[],
            },
            Step { name: "commit 1", input: net.vote(others[0], VoteKind::Commit, 0, &block), expect: &[] },
            Step { name: "commit 2", input: net.vote(others[1], VoteKind::Commit, 0, &block), expect: &[] },
            Step {
                name: "commit 3: decided by the others",
                input: net.vote(others[2], VoteKind::Commit, 0, &block),
                expect: &["commit"],
            },
            Step {
                name: "applied: next height",
                input: Input::Applied {
                    height: Height::new(1),
                    state_root: Hash::from_bytes([8; 32]),
                    next_validators: None,
                },
                expect: &["timer:0"],
            },
            Step {
                name: "a timeout asks for sync instead of a view change",
                input: Input::Timeout { height: Height::new(2), view: View::new(0) },
                expect: &["sync:2", "timer:0"],
            },
        ],
    );
    assert_eq!(machine.tip().hash, block.hash());
}

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
fn a_timeout_starts_a_view_change_and_a_third_of_the_stake_pulls_others_along() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    let others = net.others(me);
    let change = |signer: &Keypair, view: u64| Input::Message {
        from: PeerTag(4),
        envelope: Envelope::seal(
            signer,
            NETUID,
            &ViewChange { height: Height::new(1), view: View::new(view), prepared: None },
        ),
    };
    run(
        &mut machine,
        vec![
            Step { name: "one view change is not enough", input: change(others[0], 1), expect: &[] },
            Step {
                name: "two (over a third) pull us along",
                input: change(others[1], 1),
                expect: &["send:ViewChange", "timer:1"],
            },
            Step {
                name: "stale timeout ignored",
                input: Input::Timeout { height: Height::new(1), view: View::new(0) },
                expect: &[],
            },
            Step {
                name: "view 1 lasts two ticks: the first sends our view change again",
                input: Input::Timeout { height: Height::new(1), view: View::new(1) },
                expect: &["send:ViewChange", "timer:1"],
            },
            Step {
                name: "the second times out",
                input: Input::Timeout { height: Height::new(1), view: View::new(1) },
                expect: &["send:ViewChange", "timer:2"],
            },
        ],
    );
    assert_eq!(machine.view(), View::new(2));
}

/// A lost message must not cost a view: at each tick before the view's timeout the machine
/// sends its messages of the round again, signed again (gossip drops bytes it has seen), and
/// only those that still count.
#[test]
fn each_tick_before_the_timeout_sends_our_messages_of_the_round_again() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    let others = net.others(me);
    let timeout = |view: u64| Input::Timeout { height: Height::new(1), view: View::new(view) };
    // View 0 times out at its first tick: a view change to 1; a third of the stake joins, and a
    // proposal for view 1 arrives with their new view.
    let sent = machine.handle(timeout(0));
    let Some(Output::Broadcast(first_change)) = sent.first().cloned() else { panic!("{sent:?}") };
    let block = net.block(1, 1, 3);
    let changes: Vec<Envelope> = others
        .iter()
        .map(|k| Envelope::seal(k, NETUID, &ViewChange { height: Height::new(1), view: View::new(1), prepared: None }))
        .chain([first_change.clone()])
        .collect();
    let leader = net.leader(1, 1);
    let justification = NewView { height: Height::new(1), view: View::new(1), view_changes: changes };
    let proposal = Proposal {
        height: Height::new(1),
        view: View::new(1),
        block: block.clone(),
        justification: Some(justification),
    };
    let outputs =
        machine.handle(Input::Message { from: PeerTag(1), envelope: Envelope::seal(leader, NETUID, &proposal) });
    assert_eq!(outputs.iter().map(describe).collect::<Vec<_>>(), ["verify"]);
    let outputs = machine.handle(Input::ProposalVerified {
        height: Height::new(1),
        view: View::new(1),
        block_hash: block.hash(),
        valid: true,
    });
    let Some(Output::Broadcast(prepare)) = outputs.first().cloned() else { panic!("{outputs:?}") };
    // The first tick of view 1: our view change to 1 and our prepare again, newly signed.
    let again: Vec<Envelope> = machine
        .handle(timeout(1))
        .into_iter()
        .filter_map(|o| match o {
            Output::Broadcast(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(again.len(), 2, "{again:?}");
    for (original, resent) in [(&first_change, &again[1]), (&prepare, &again[0])] {
        assert_eq!((resent.kind, &resent.payload), (original.kind, &original.payload));
        assert_ne!(resent.to_bytes(), original.to_bytes(), "signed again");
        assert!(resent.verify(NETUID).is_ok());
    }
}

#[test]
fn the_new_leader_reproposes_the_highest_prepared_block() {
    let net = Net::new();
    let leader1 = net.leader(1, 1);
    let mut machine = net.machine(leader1, Arc::new(MemoryStore::new()));
    machine.start();
    let block = net.block(1, 0, 1);
    // A prepare certificate for `block` in view 0, held by one of the others.
    let prepares: Vec<Envelope> = net
        .keys
        .iter()
        .take(3)
        .map(|k| {
            Envelope::seal(
                k,
                NETUID,
                &Vote { kind: VoteKind::Prepare, height: Height::new(1), view: View::new(0), block_hash: block.hash() },
            )
        })
        .collect();
    let certificate = QuorumCertificate {
        kind: VoteKind::Prepare,
        height: Height::new(1),
        view: View::new(0),
        block_hash: block.hash(),
        votes: prepares,
    };
    let others = net.others(leader1);
    let prepared = PreparedProof { certificate, block: block.clone() };
    let change = |signer: &Keypair, proof: Option<PreparedProof>| Input::Message {
        from: PeerTag(5),
        envelope: Envelope::seal(
            signer,
            NETUID,
            &ViewChange { height: Height::new(1), view: View::new(1), prepared: proof },
        ),
    };
    run(
        &mut machine,
        vec![
            Step {
                name: "own timeout",
                input: Input::Timeout { height: Height::new(1), view: View::new(0) },
                expect: &["send:ViewChange", "timer:1"],
            },
            Step { name: "a view change with a prepared block", input: change(others[0], Some(prepared)), expect: &[] },
            // Quorum of view changes: re-propose `block` (no BuildProposal), then verify it ourselves.
            Step { name: "quorum: re-propose", input: change(others[1], None), expect: &["send:Proposal", "verify"] },
        ],
    );
}

#[test]
fn a_restarted_node_never_votes_against_its_persisted_record() {
    let net = Net::new();
    let me = net.follower();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let block = net.block(1, 0, 1);
    {
        let mut machine = net.machine(me, store.clone());
        machine.start();
        machine.handle(net.proposal(0, block.clone()));
        let out = machine.handle(Input::ProposalVerified {
            height: Height::new(1),
            view: View::new(0),
            block_hash: block.hash(),
            valid: true,
        });
        assert_eq!(out.iter().map(describe).collect::<Vec<_>>(), ["send:Prepare"]);
    } // crash
    let mut machine = net.machine(me, store);
    machine.start();
    // The leader equivocates to the restarted node: a different block at the same (height, view).
    let other = net.block(1, 0, 2);
    run(
        &mut machine,
        vec![
            Step {
                name: "conflicting proposal after restart",
                input: net.proposal(0, other.clone()),
                expect: &["verify"],
            },
            Step {
                name: "no second prepare in view 0",
                input: Input::ProposalVerified {
                    height: Height::new(1),
                    view: View::new(0),
                    block_hash: other.hash(),
                    valid: true,
                },
                expect: &[],
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
fn a_prepare_quorum_before_the_application_answers_still_leads_to_a_commit_vote() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    let block = net.block(1, 0, 1);
    let others = net.others(me);
    run(
        &mut machine,
        vec![
            Step { name: "proposal", input: net.proposal(0, block.clone()), expect: &["verify"] },
            Step { name: "prepare 1", input: net.vote(others[0], VoteKind::Prepare, 0, &block), expect: &[] },
            Step { name: "prepare 2", input: net.vote(others[1], VoteKind::Prepare, 0, &block), expect: &[] },
            Step {
                name: "prepare 3: quorum without us",
                input: net.vote(others[2], VoteKind::Prepare, 0, &block),
                expect: &[],
            },
            Step {
                name: "the application answers late",
                input: Input::ProposalVerified {
                    height: Height::new(1),
                    view: View::new(0),
                    block_hash: block.hash(),
                    valid: true,
                },
                expect: &["send:Prepare", "send:Commit"],
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
