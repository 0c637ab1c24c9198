//! Transitions across views: timeouts and view changes, resends before a timeout, the new
//! leader's re-proposal, a restart against the persisted record, and a quorum that arrives
//! before the application's answer.

use super::*;

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
