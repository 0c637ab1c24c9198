//! The harness driven by hand, and [`run`](crate::sim::run) with its checker: agreement, replay, the checker's own catches.

use std::time::Duration;

use crate::sim::net::Net;
use crate::sim::*;

/// Two validators of half the stake each (both must vote) commit the same blocks.
#[test]
fn two_validators_commit_the_same_blocks_through_their_effects_alone() {
    let mut net = Net::new(2, 1);
    net.run_to(5, Duration::from_secs(30)).expect("commits");
    assert_eq!(net.blocks(0, 5).len(), 5);
    assert_eq!(net.blocks(0, 5), net.blocks(1, 5), "the same five blocks on both");
    assert_eq!(net.nodes[0].state.tip.state_root, net.nodes[1].state.tip.state_root);
}

/// Four validators, one of them down from the start (f = 1 of n = 4): the other three hold
/// three quarters of the stake and keep committing, the same blocks, at every seed tried.
#[test]
fn three_of_four_validators_commit_without_the_fourth() {
    for seed in 0..5 {
        let mut net = Net::new(4, seed);
        net.down[3] = true;
        net.run_to(4, Duration::from_secs(60)).expect("commits");
        let first = net.blocks(0, 4);
        assert_eq!(first.len(), 4, "seed {seed}");
        assert!((1..3).all(|i| net.blocks(i, 4) == first), "seed {seed}: the three agree");
    }
}

/// The same seed gives the same run: every validator's blocks, byte for byte, and the virtual
/// time it took; another seed (other delays) still commits.
#[test]
fn the_same_seed_replays_the_same_run() {
    let run = |seed: u64| {
        let mut net = Net::new(4, seed);
        net.run_to(6, Duration::from_secs(60)).expect("commits");
        ((0..4).map(|i| net.blocks(i, 6)).collect::<Vec<_>>(), net.elapsed)
    };
    let (first, took) = run(7);
    assert!(first.iter().all(|b| *b == first[0] && b.len() == 6), "all four agree");
    assert_eq!(run(7), (first, took), "seed 7 twice");
    assert_eq!(run(8).0[0].len(), 6);
}

/// `run` keeps every promise with one Byzantine validator of four, for each behaviour, and the
/// same scenario gives the same digest.
#[test]
fn runs_with_one_byzantine_of_four_keep_every_promise_and_replay_alike() {
    for behaviour in Behaviour::ALL {
        let scenario = Scenario {
            validators: 4,
            byzantine: 1,
            behaviour,
            seed: 5,
            epochs: 2,
            restart: true,
            partitions: true,
            set_change: true,
            tempo_change: true,
            loss_permille: 10,
        };
        let first = run(&scenario).unwrap_or_else(|v| panic!("{behaviour:?}: {v}"));
        assert_eq!(run(&scenario).expect("again"), first, "{behaviour:?}: the same run twice");
    }
    // Each lying behaviour comes into play at some seed (a bad leader must lead a height that
    // carries weights) and every promise holds there too.
    for behaviour in Behaviour::ALL.into_iter().filter(|b| *b != Behaviour::Silent) {
        let forged = (0..20).find_map(|seed| {
            // Genesis and block syncs are asked for by a validator joining or catching up (the
            // restarting one).
            let restart = matches!(behaviour, Behaviour::ForgedGenesis | Behaviour::LyingSync);
            let scenario = Scenario {
                validators: 4,
                byzantine: 1,
                behaviour,
                seed,
                epochs: 2,
                restart,
                partitions: false,
                set_change: false,
                tempo_change: false,
                loss_permille: 0,
            };
            let outcome = run(&scenario).unwrap_or_else(|v| panic!("{behaviour:?} seed {seed}: {v}"));
            (outcome.forged > 0).then_some(outcome.forged)
        });
        assert!(forged.is_some(), "{behaviour:?} never lied in 20 seeds");
    }
}

/// Beyond the fault bound the checker says so: two silent validators of four leave half the
/// stake, nothing commits, and the run ends in a liveness violation instead of passing.
#[test]
fn the_checker_catches_a_run_beyond_the_fault_bound() {
    let scenario = Scenario {
        validators: 4,
        byzantine: 2,
        behaviour: Behaviour::Silent,
        seed: 1,
        epochs: 1,
        restart: false,
        partitions: false,
        set_change: false,
        tempo_change: false,
        loss_permille: 0,
    };
    assert!(matches!(run(&scenario), Err(Violation::Liveness(_))), "{:?}", run(&scenario));
}

/// The validity checker (the public audit) fails a run whose committed blocks hold an action
/// the rules refuse: here a block ordering a body nobody has, certified by both validators (the
/// fault bound exceeded). Stored with a certificate nobody signed, it fails on the certificate.
#[test]
fn the_checker_catches_a_committed_action_that_fails_the_rules() {
    use platform_types::{
        Action, Block, BlockHeaderFields, Envelope, NetUid, QuorumCertificate, SubmissionId, View, Vote, VoteKind,
    };
    let mut net = Net::new(2, 2);
    net.run_to(2, Duration::from_secs(30)).expect("commits");
    assert_eq!(net.refused_action(0), None);
    let node = &net.nodes[0];
    let tip = &node.state.tip;
    let (last, _) = node.records.blocks_from(tip.height.get(), 1).expect("read").pop().expect("the tip");
    let h = &last.header;
    let fields = BlockHeaderFields {
        height: tip.height.next(),
        parent_hash: tip.hash,
        parent_state_root: tip.state_root,
        ..h.fields()
    };
    let block = Block::new(fields, vec![Action::Submission(SubmissionId(platform_types::Hash::ZERO))]);
    let certificate = QuorumCertificate {
        kind: VoteKind::Commit,
        height: tip.height.next(),
        view: View::new(0),
        block_hash: block.hash(),
        votes: vec![],
    };
    node.records.put_block(&block, &certificate).expect("stored");
    let refused = net.refused_action(0).expect("caught");
    assert_eq!(refused.0, tip.height.get() + 1, "{refused:?}");
    assert!(refused.2.contains("certificate"), "{refused:?}");

    let vote = Vote { kind: VoteKind::Commit, height: tip.height.next(), view: View::new(0), block_hash: block.hash() };
    let votes = ["V0", "V1"]
        .iter()
        .map(|name| Envelope::seal(&crate::sim::setup::key(name), NetUid::new(crate::sim::setup::NETUID), &vote))
        .collect();
    node.records.put_block(&block, &QuorumCertificate { votes, ..certificate }).expect("stored");
    let refused = net.refused_action(0).expect("caught");
    assert_eq!((refused.0, refused.1), (tip.height.get() + 1, 0), "{refused:?}");
}

/// A run that goes on handing its validators input after input (a storm of messages, a
/// stalled network re-sending) ends as stuck once it passes its bound, and does not spin.
#[test]
fn a_run_past_its_bound_on_inputs_is_stuck() {
    let mut net = Net::new(4, 2);
    net.chain_every = Some(Duration::from_millis(100));
    net.max_inputs = 200;
    let stuck = net.run_until(LIMIT, |net| net.nodes[0].state.tip.height.get() >= 1_000).expect_err("bounded");
    assert!(stuck.inputs > 200 && stuck.inputs < 400, "{stuck}");
    assert!(stuck.elapsed < LIMIT, "{stuck}");
}
