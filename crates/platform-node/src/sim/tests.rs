//! The simulator's own tests: the harness driven by hand, and [`run`] with its checker.

use std::time::Duration;

use super::actions::challenge_and_submissions;
use super::net::Net;
use super::*;

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

/// The pipeline above consensus, simulated: the owner adds a challenge, a miner submits to one
/// validator, every validator evaluates what is committed, and when the chain moves to the next
/// epoch all four ask the chain to set the same weights, which reward the miner.
#[test]
fn four_validators_evaluate_and_agree_on_the_weights_they_set() {
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(60), |net| net.weights.iter().all(|w| !w.is_empty())).expect("weights");
    let first = &net.weights[0][0];
    assert!(net.weights.iter().all(|w| w[0] == *first), "the same weights from all four: {:?}", net.weights);
    let miner_uid = net.metagraph.uid_of(&miner.public()).expect("registered");
    assert!(first.mechanisms.iter().any(|m| m.uids.contains(&miner_uid)), "the miner is rewarded: {first:?}");
    assert_eq!(net.committed_submissions(0), 6, "every submission committed");
}

/// Submissions leave the state after the weights that follow them and are kept in the store:
/// every committed submission is in the state or retired on disk, final, and its status still
/// answers; the later weights still reward the miner, whose submissions all retired.
#[test]
fn committed_submissions_retire_to_the_store_and_still_count() {
    let mut net = Net::new(4, 31);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(120), |net| net.weights.iter().all(|w| w.len() >= 3)).expect("weights");
    let node = &net.nodes[0];
    let height = node.state.tip.height.get() as usize;
    let ids: Vec<platform_types::SubmissionId> = node
        .records
        .blocks_from(1, height)
        .expect("read")
        .iter()
        .flat_map(|(b, _)| b.actions.clone())
        .filter_map(|a| match a {
            Action::Submission(id) => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 6);
    let retired: Vec<_> = ids.iter().filter_map(|id| node.records.retired(id)).collect();
    assert_eq!(retired.len(), 6, "all six retired ({} still in the state)", node.state.submissions.len());
    assert!(node.state.submissions.is_empty());
    assert!(retired.iter().all(|c| c.is_final(&node.state.registry.validators)));
    let miner_uid = net.metagraph.uid_of(&miner.public()).expect("registered");
    let last = net.weights[0].last().expect("weights");
    assert!(last.mechanisms.iter().any(|m| m.uids.contains(&miner_uid)), "still rewarded: {last:?}");
    let view = crate::view::ReadView { state: node.state.clone(), ..crate::view::ReadView::starting() };
    let status = view.submission_status(&ids[0], &node.records);
    assert_eq!((status["retired"].as_bool(), status["final"].as_bool()), (Some(true), Some(true)), "{status}");
}

/// One of four validators leads with blocks whose epoch jumps 1 000 ahead of the chain. The
/// others refuse them (the block's epoch must be its linked chain block's), change views past
/// it, and keep setting the same weights each epoch; no committed block carries a jumped epoch.
#[test]
fn an_epoch_jumping_leader_is_refused_and_weights_keep_being_set() {
    let mut net = Net::new(4, 11);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[1] = Some(Behaviour::EpochJump);
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    let honest = [0usize, 2, 3];
    net.run_until(Duration::from_secs(120), |net| honest.iter().all(|&i| net.weights[i].len() >= 2)).expect("weights");
    for epoch in 0..2 {
        let first = &net.weights[0][epoch];
        assert!(honest.iter().all(|&i| net.weights[i][epoch] == *first), "epoch {epoch}: {:?}", net.weights);
    }
    let miner_uid = net.metagraph.uid_of(&miner.public()).expect("registered");
    assert!(net.weights[0][1].mechanisms.iter().any(|m| m.uids.contains(&miner_uid)), "{:?}", net.weights[0][1]);
    let height = net.nodes[0].state.tip.height.get() as usize;
    let blocks = net.nodes[0].records.blocks_from(1, height).expect("read");
    assert!(blocks.iter().all(|(b, _)| b.header.epoch.get() < 1_000), "a jumped epoch was committed");
    assert!(net.nodes[0].state.tip.epoch.get() < 1_000);
    assert!(net.rewritten > 0, "the jumper led and its proposals went out rewritten");
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

/// Dynamic tempo (the chain reports each block's epoch) and the tempo shortening mid-run: every
/// block's epoch is the chain's at the block it links to, and weights come for each epoch the
/// chain counts, before and after the change, one vector per epoch and the same from everyone.
#[test]
fn with_dynamic_tempo_shortening_mid_run_blocks_follow_the_chains_epochs() {
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    net.change_tempo(super::TEMPO_CHANGE_BLOCK, super::TEMPO_AFTER);
    // Before the change one epoch every 10 blocks, after it one every 5.
    let first_after = net.chain_epoch(super::TEMPO_CHANGE_BLOCK).expect("dynamic");
    assert_eq!(net.chain_epoch(super::TEMPO_CHANGE_BLOCK - 1), Some(first_after - 1));
    assert_eq!(net.chain_epoch(super::TEMPO_CHANGE_BLOCK + 5), Some(first_after + 1));
    challenge_and_submissions(&mut net, 0).expect("set up");
    let wanted = first_after + 3;
    net.run_until(Duration::from_secs(120), |net| {
        net.weights.iter().all(|w| w.last().is_some_and(|w| w.epoch.get() >= wanted))
    })
    .expect("weights for the epochs after the change");
    let height = net.nodes.iter().map(|n| n.state.tip.height.get()).min().expect("nodes") as usize;
    for (block, _) in net.nodes[0].records.blocks_from(1, height).expect("read") {
        let chain = block.header.chain.number;
        assert_eq!(Some(block.header.epoch.get()), net.chain_epoch(chain), "height {}", block.header.height.get());
    }
    let epochs: Vec<u64> = net.weights[0].iter().map(|w| w.epoch.get()).collect();
    assert!(epochs.windows(2).all(|w| w[0] < w[1]), "one vector per epoch, in order: {epochs:?}");
    assert!(epochs.contains(&(first_after - 1)) && epochs.iter().any(|&e| e > first_after), "{epochs:?}");
    for other in &net.weights[1..] {
        for w in other {
            if let Some(ours) = net.weights[0].iter().find(|o| o.epoch == w.epoch) {
                assert_eq!(ours, w, "epoch {}", w.epoch.get());
            }
        }
    }
}

/// A malformed answer from a registered miner (an empty payload) is admitted, ordered, and
/// rejected by every validator's sandbox alike, as the run's check requires of honest verdicts.
#[test]
fn a_malformed_answer_is_ordered_and_rejected_by_every_validator() {
    let mut net = Net::new(4, 11);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    let (_, malformed) = super::clients::send(&mut net, 0, &miner);
    net.run_until(Duration::from_secs(60), |net| {
        net.nodes.iter().all(|n| n.state.submissions.get(&malformed).is_some_and(|c| c.evaluations.iter().count() == 4))
    })
    .expect("the malformed answer ordered and evaluated by all four");
    let committed = &net.nodes[0].state.submissions[&malformed];
    for (validator, (status, score, _)) in committed.evaluations.iter() {
        assert_eq!(*status, platform_types::EvaluationStatus::Rejected, "{validator}");
        assert_eq!(*score, 0);
    }
}

/// A validator crashes after a few blocks and starts again from its store (state replayed
/// from the stored blocks, its consensus safety record kept): it catches up through the sync
/// server of the others and ends with the same blocks and the same weights.
#[test]
fn a_validator_restarted_from_its_store_catches_up_and_agrees() {
    let mut net = Net::new(4, 21);
    net.chain_every = Some(Duration::from_millis(100));
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_to(4, Duration::from_secs(30)).expect("commits");
    let before = net.nodes[2].state.tip.height.get();
    net.restart(2);
    assert_eq!(net.nodes[2].state.tip.height.get(), before, "the state is replayed from the stored blocks");
    net.run_until(Duration::from_secs(120), |net| net.weights.iter().all(|w| w.len() >= 2)).expect("weights");
    let height = net.nodes.iter().map(|n| n.state.tip.height.get()).min().expect("nodes") as usize;
    assert!(height > before as usize, "the restarted validator went on");
    let first = net.blocks(0, height);
    assert!((1..4).all(|i| net.blocks(i, height) == first), "the same blocks on all four");
    assert!(net.weights.iter().all(|w| w[..2] == net.weights[0][..2]), "the same weights: {:?}", net.weights);
}

/// One of four validators leads with blocks carrying a sudo action it signed itself, or a
/// replay of the owner's first one, and another withholds its evaluations: the others refuse
/// every such block, no challenge but the owner's exists anywhere, every committed action passes
/// the rules again, and the weights keep being set alike.
#[test]
fn forged_and_replayed_sudo_actions_are_never_applied() {
    let mut net = Net::new(4, 17);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[1] = Some(Behaviour::ForgedSudo);
    challenge_and_submissions(&mut net, 0).expect("set up");
    let honest = [0usize, 2, 3];
    net.run_until(Duration::from_secs(120), |net| honest.iter().all(|&i| net.weights[i].len() >= 2)).expect("weights");
    assert!(net.rewritten > 0, "the forger led and its proposals went out with sudo actions added");
    for i in 0..4 {
        let ids: Vec<_> = net.nodes[i].state.registry.challenges.keys().cloned().collect();
        assert_eq!(ids, vec!["sim".to_owned()], "validator {i}: only the owner's challenge");
        assert_eq!(net.nodes[i].state.registry.sudo_nonce, Some(1), "validator {i}: the owner's action once");
    }
    assert_eq!(net.refused_action(0), None, "every committed action passes the rules");
    assert!(honest.iter().all(|&i| net.weights[i][..2] == net.weights[0][..2]), "{:?}", net.weights);
}

/// A leader's blocks order again the first submission ever committed — retired from the state
/// after the first weights, its body stored everywhere: every such block is refused, each
/// submission is committed once, every committed action passes the rules again, and weights
/// keep being set alike.
#[test]
fn a_committed_submission_ordered_again_is_refused_after_it_retired() {
    let mut net = Net::new(4, 37);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[1] = Some(Behaviour::ReplayedSubmissions);
    challenge_and_submissions(&mut net, 0).expect("set up");
    let honest = [0usize, 2, 3];
    net.run_until(Duration::from_secs(120), |net| honest.iter().all(|&i| net.weights[i].len() >= 3)).expect("weights");
    assert!(net.rewritten > 0, "the replayer led and its proposals went out with a replay added");
    assert!(!net.nodes[0].state.retired.is_empty(), "submissions retired while the replays went on");
    assert_eq!(net.committed_submissions(0), 6, "each of the six committed once");
    assert_eq!(net.refused_action(0), None, "every committed action passes the rules");
    assert!(honest.iter().all(|&i| net.weights[i][..3] == net.weights[0][..3]), "{:?}", net.weights);
}

/// A leader's blocks order a body it never published: no such block commits (every committed
/// submission is one the miner sent), and the network goes on to set weights.
#[test]
fn a_block_ordering_an_unpublished_body_never_commits() {
    let mut net = Net::new(4, 23);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[2] = Some(Behaviour::UnpublishedBodies);
    challenge_and_submissions(&mut net, 0).expect("set up");
    let honest = [0usize, 1, 3];
    net.run_until(Duration::from_secs(120), |net| honest.iter().all(|&i| net.weights[i].len() >= 2)).expect("weights");
    assert!(net.rewritten > 0, "the leader proposed invented bodies");
    assert_eq!(net.committed_submissions(0), 6, "only the miner's six submissions are committed");
    assert_eq!(net.refused_action(0), None);
}

/// A validator that never publishes its evaluations: every submission still becomes final on
/// the other three quarters of the stake; its own evaluations reach blocks only when it leads.
#[test]
fn withheld_evaluations_do_not_stop_final_scores() {
    let mut net = Net::new(4, 29);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[3] = Some(Behaviour::WithheldEvaluations);
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(120), |net| (0..3).all(|i| net.weights[i].len() >= 2)).expect("weights");
    let state = &net.nodes[0].state;
    let withholder = net.nodes[3].keypair.public();
    assert!(net.rewritten > 0, "evaluations were withheld");
    for committed in state.submissions.values() {
        assert!(committed.is_final(&state.registry.validators), "final on three of four");
    }
    // Its evaluations reach blocks only when it leads (its proposals carry what it holds).
    let height = state.tip.height.get() as usize;
    for (block, _) in net.nodes[0].records.blocks_from(1, height).expect("read") {
        for action in &block.actions {
            if let platform_types::Action::Evaluation(envelope) = action
                && envelope.signer == withholder
            {
                assert_eq!(block.header.proposer, withholder, "height {}", block.header.height);
            }
        }
    }
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
        .map(|name| Envelope::seal(&super::setup::key(name), NetUid::new(super::setup::NETUID), &vote))
        .collect();
    node.records.put_block(&block, &QuorumCertificate { votes, ..certificate }).expect("stored");
    let refused = net.refused_action(0).expect("caught");
    assert_eq!((refused.0, refused.1), (tip.height.get() + 1, 0), "{refused:?}");
}

/// Sync answers are believed only as far as a quorum of the requester's validator set certified
/// them, block after block, from the block after its tip: real blocks pass; a rewritten history
/// with its author's lone vote, blocks that do not start where asked or do not link to the tip,
/// and a block whose certificate is for another block do not.
#[test]
fn sync_answers_are_believed_only_as_far_as_a_quorum_certified_them() {
    use crate::sync_client::usable;
    use platform_types::NetUid;
    let mut net = Net::new(4, 31);
    net.run_to(6, Duration::from_secs(60)).expect("commits");
    let node = &net.nodes[0];
    let validators = node.state.registry.validators.clone();
    let netuid = NetUid::new(super::setup::NETUID);
    let honest = node.records.blocks_from(3, 4).expect("read");
    let parent = honest[0].0.header.parent_hash;
    assert_eq!(usable(3, parent, &validators, netuid, honest.clone()).len(), 4, "real blocks pass");
    assert!(usable(2, parent, &validators, netuid, honest.clone()).is_empty(), "not where asked");
    assert!(usable(3, platform_types::Hash::ZERO, &validators, netuid, honest.clone()).is_empty(), "not linked");
    let liar = super::lying_sync::answer(&net.nodes[1].keypair, &node.records, 3);
    assert_eq!(liar.len(), 4);
    assert!(usable(3, parent, &validators, netuid, liar).is_empty(), "one vote is no quorum");
    // A certificate for another block ends the prefix there.
    let mut mixed = honest.clone();
    mixed[2].1 = honest[3].1.clone();
    assert_eq!(usable(3, parent, &validators, netuid, mixed).len(), 2);
}

/// A validator down for several blocks starts again from its store and catches up while a liar
/// answers its syncs first with a rewritten history: it asks the next peer, and ends with the
/// honest blocks and weights.
#[test]
fn a_validator_catching_up_past_a_lying_sync_peer_ends_with_the_honest_blocks() {
    let mut net = Net::new(4, 37);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[1] = Some(Behaviour::LyingSync);
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_to(3, Duration::from_secs(30)).expect("commits");
    net.down[3] = true;
    net.run_to(10, Duration::from_secs(60)).expect("the others go on");
    net.down[3] = false;
    net.restart(3);
    net.run_until(Duration::from_secs(120), |net| net.nodes[3].state.tip.height.get() >= 12).expect("catches up");
    assert!(net.rewritten > 0, "the liar answered a sync first");
    let height = net.nodes.iter().map(|n| n.state.tip.height.get()).min().expect("nodes") as usize;
    assert_eq!(net.blocks(3, height), net.blocks(0, height), "the honest blocks");
    assert_eq!(net.refused_action(3), None);
}

/// The network is cut twice, the cut moving (one validator off, then two others), while a
/// Byzantine leader lies: nothing is lost for good — once the cut heals every validator has
/// the same blocks and the honest ones set the same weights for every epoch.
#[test]
fn a_moving_partition_heals_and_every_promise_holds() {
    for seed in 0..4 {
        let scenario = Scenario {
            validators: 4,
            byzantine: 1,
            behaviour: Behaviour::WrongWeights,
            seed,
            epochs: 2,
            restart: false,
            partitions: true,
            set_change: false,
            tempo_change: false,
            loss_permille: 0,
        };
        run(&scenario).unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    }
    // The cut does cut: a run with it loses messages.
    let mut net = Net::new(4, 3);
    net.cuts.push(super::net::Cut { side: vec![2], from: Duration::ZERO, until: Duration::from_millis(500) });
    net.run_to(3, Duration::from_secs(30)).expect("three of four commit");
    assert!(net.cut_off > 0);
    // Validator 2 hears nothing while cut off: all four at height 3 only after the cut healed
    // (without the cut, four validators commit three blocks in about 100 ms).
    assert!(net.elapsed >= Duration::from_millis(500), "{:?}", net.elapsed);
}

/// A restart starts from the newest stored snapshot and applies only the blocks after it; a
/// snapshot whose chunk was damaged on disk is skipped for the one before it, and with none
/// usable the state is replayed from genesis: the same state every way.
#[test]
fn a_restart_starts_from_the_newest_usable_snapshot() {
    let mut net = Net::new(4, 21);
    net.chain_every = Some(Duration::from_millis(100));
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_to(7, Duration::from_secs(30)).expect("commits");
    let node = &net.nodes[2];
    let held = node.state.tip;
    let manifests = node.records.snapshot_manifests().expect("listed");
    let heights: Vec<u64> = manifests.iter().map(|m| m.height.get()).collect();
    let newest = held.height.get() / 2 * 2;
    assert_eq!(heights, vec![newest, newest - 2], "the newest two snapshots are kept");
    let genesis =
        platform_app::weights::validator_set(&net.metagraph, node.cfg.min_stake_rao, platform_types::Epoch::new(0))
            .expect("set");
    let owner: Vec<_> = net.metagraph.owner_hotkey.into_iter().collect();
    let replay = || {
        let verified = platform_types::VerifiedEnvelopes::new(64);
        crate::recovery::replay(&node.records, genesis.clone(), &node.cfg, &owner, &verified).expect("replays").0.tip
    };
    let start = || crate::recovery::starting_state(&node.records, genesis.clone(), 2).tip.height.get();
    assert_eq!((start(), replay()), (newest, held));

    let damage = |height: platform_types::Height| {
        let key = crate::snapshots::chunk_key(height, 0);
        node.records.store().put(platform_storage::Column::Registry, &key, b"damaged").expect("written");
    };
    damage(manifests[0].height);
    assert_eq!((start(), replay()), (newest - 2, held), "the damaged newest is skipped");
    damage(manifests[1].height);
    assert_eq!((start(), replay()), (0, held), "with none usable, from genesis");
}

/// What a joiner believes of a snapshot offer: a validator's own offer (its newest snapshot and
/// the checkpoint after it) passes against the set the chain gives; a manifest changed on the
/// way, a certificate short of a quorum, or a checkpoint of another block is a forgery; an offer
/// whose signers no longer hold two thirds of the stake the chain gives cannot be believed.
#[test]
fn a_snapshot_offer_is_believed_only_with_a_certificate_the_chain_backs() {
    use crate::state_sync::{Refusal, check_offer};
    let mut net = Net::new(4, 5);
    net.run_to(9, Duration::from_secs(30)).expect("commits");
    let node = &net.nodes[1];
    let (checkpoint, manifest) = node.records.snapshot_offer().expect("an offer");
    assert_eq!(checkpoint.header.height, manifest.height.next());
    let netuid = node.cfg.netuid;
    let chain =
        platform_app::weights::validator_set(&net.metagraph, node.cfg.min_stake_rao, platform_types::Epoch::new(0))
            .expect("set");
    assert_eq!(check_offer(&checkpoint, &manifest, netuid, &chain), Ok(()));
    let snapshot = node.records.snapshot(&manifest).expect("read").expect("whole");
    let restored = platform_app::AppState::from_snapshot(&snapshot, 2).expect("decodes");
    assert_eq!(restored.tip.state_root, checkpoint.header.parent_state_root);

    let forged = |r: Result<(), Refusal>| matches!(r, Err(Refusal::Forged(_)));
    let mut other_root = manifest.clone();
    other_root.prev_root = platform_types::Hash::from_bytes([7; 32]);
    assert!(forged(check_offer(&checkpoint, &other_root, netuid, &chain)), "a changed manifest");
    let mut short = checkpoint.clone();
    short.commit.votes.truncate(2);
    assert!(forged(check_offer(&short, &manifest, netuid, &chain)), "two of four votes");
    let older = node.records.checkpoint(platform_types::Height::new(manifest.height.get() - 1)).expect("stored");
    assert!(forged(check_offer(&older, &manifest, netuid, &chain)), "the checkpoint of another snapshot");

    // The chain now gives most of the stake to a validator that did not sign.
    let mut moved = chain.clone();
    moved.validators[0].stake *= 100;
    let signers: Vec<_> = checkpoint.commit.votes.iter().map(|v| v.signer).collect();
    if !signers.contains(&moved.validators[0].hotkey) {
        assert!(matches!(check_offer(&checkpoint, &manifest, netuid, &moved), Err(Refusal::Unproven(_))));
    }
    let newcomer = platform_types::Validator {
        hotkey: platform_types::Keypair::from_suri("//Newcomer").expect("key").public(),
        uid: platform_types::Uid::new(99),
        stake: moved.validators.iter().map(|v| v.stake).sum::<u64>() * 2,
    };
    moved.validators.push(newcomer);
    assert!(matches!(check_offer(&checkpoint, &manifest, netuid, &moved), Err(Refusal::Unproven(_))));
}

/// Hole: the evaluations waiting to be ordered were bounded in all but not per signer, so one
/// validator flooding validly signed evaluations of made-up submissions filled every pool, and
/// the honest validators' own evaluations were refused: their submissions never became final.
/// Now the flooder keeps to its share, and every submission is evaluated by every honest one.
#[test]
fn a_gossip_flood_keeps_to_its_share_and_every_honest_evaluation_is_ordered() {
    let mut net = Net::new(4, 5);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[3] = Some(Behaviour::GossipFlood);
    // The flood first, so that the pools are full of it when the submissions come.
    net.run_to(8, Duration::from_secs(30)).expect("commits");
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(60), |net| (0..3).all(|i| net.weights[i].len() >= 2)).expect("weights");
    assert!(net.rewritten > 0, "the flood was sent");
    assert!(net.refused > 0, "its malformed and forged messages were refused by the receivers' pumps");
    let flooder = net.nodes[3].keypair.public();
    for node in &net.nodes[..3] {
        let share = node.mempool.evaluation_share(4);
        assert!(node.mempool.evaluations_by(&flooder) <= share, "the flooder keeps to its share");
    }
    let height = net.nodes[0].state.tip.height.get() as usize;
    let mut evaluators: std::collections::HashMap<_, std::collections::HashSet<_>> = Default::default();
    let mut submissions = Vec::new();
    for (block, _) in net.nodes[0].records.blocks_from(1, height).expect("read") {
        for action in &block.actions {
            match action {
                platform_types::Action::Submission(id) => submissions.push(*id),
                platform_types::Action::Evaluation(envelope) => {
                    let evaluation = envelope.open::<platform_types::Evaluation>(platform_types::NetUid::new(3));
                    let evaluation = evaluation.expect("signed").message;
                    evaluators.entry(evaluation.submission).or_default().insert(envelope.signer);
                }
                _ => {}
            }
        }
    }
    assert_eq!(submissions.len(), 6);
    for id in &submissions {
        let by = evaluators.get(id).cloned().unwrap_or_default();
        assert!((0..3).all(|i| by.contains(&net.nodes[i].keypair.public())), "{id}: evaluated by {by:?}");
    }
}

/// A validator joining from an empty store asks the liar first for the genesis validator set: it
/// adopts the set validators holding more than two thirds of the chain's stake vouch for, not the
/// liar's (itself with all the stake), and catches up with the honest blocks. With two liars of
/// four (past the fault bound) it adopts nothing rather than guess.
#[test]
fn a_joiner_served_a_forged_genesis_adopts_only_what_the_stake_vouches_for() {
    let mut net = Net::new(4, 7);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[3] = Some(Behaviour::ForgedGenesis);
    net.run_to(4, Duration::from_secs(30)).expect("commits");
    net.rejoin(2).expect("a set is decided");
    assert_eq!(net.rewritten, 1, "the liar answered");
    let genesis = net.genesis(&net.nodes[0].cfg);
    assert_eq!(net.nodes[2].records.genesis().expect("read"), Some(genesis));
    let target = net.nodes[0].state.tip.height.get() + 3;
    net.run_to(target, Duration::from_secs(30)).expect("the joiner catches up");
    assert_eq!(net.blocks(2, target as usize), net.blocks(0, target as usize));

    let mut net = Net::new(4, 7);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[2] = Some(Behaviour::ForgedGenesis);
    net.behaviour[3] = Some(Behaviour::ForgedGenesis);
    net.run_to(2, Duration::from_secs(30)).expect("commits");
    let why = net.rejoin(1).expect_err("nothing decided");
    assert!(why.contains("two thirds"), "{why}");
}

/// The chain's validator set changes mid-run (a validator loses its permit and stake, another's
/// stake triples, a registered neuron becomes a validator): from the next epoch the set in force
/// is the new one at every validator, the weights go on, the newcomer — its validator following
/// the blocks since the start — votes and sets the same weights, and the validator that left
/// still follows the blocks.
#[test]
fn a_validator_set_change_on_chain_takes_effect_the_newcomer_votes_and_the_leaver_follows() {
    let mut net = Net::new(4, 9);
    net.chain_every = Some(Duration::from_millis(100));
    let newcomer = net.add_newcomer("Newcomer");
    let key = net.nodes[newcomer].keypair.public();
    net.changes.push((SET_CHANGE_BLOCK, super::set_changed(&net.metagraph, Some(1), 0, Some(key))));
    challenge_and_submissions(&mut net, 0).expect("set up");
    let voters = [0, 2, 3, newcomer];
    net.run_until(Duration::from_secs(60), |net| voters.iter().all(|&i| net.weights[i].len() >= 2)).expect("weights");
    let leaver = net.nodes[1].keypair.public();
    for node in &net.nodes {
        let set = &node.state.registry.validators;
        assert!(set.epoch.get() >= 1, "a set from the chain's change is in force");
        assert_eq!(set.validators.len(), 4);
        assert!(set.validators.iter().all(|v| v.hotkey != leaver), "the leaver is out");
        assert!(set.validators.iter().any(|v| v.hotkey == key), "the newcomer is in");
        let grown = set.validators.iter().find(|v| v.hotkey == net.nodes[0].keypair.public()).expect("in");
        assert_eq!(grown.stake, 3 * 5_000_000_000_000);
    }
    for w in &net.weights[newcomer] {
        assert_eq!(net.weights[0].iter().find(|ours| ours.epoch == w.epoch), Some(w), "the newcomer's weights");
    }
    let target = net.nodes[0].state.tip.height.get();
    net.run_to(target, Duration::from_secs(60)).expect("the leaver follows");
    assert_eq!(net.blocks(1, target as usize), net.blocks(0, target as usize));
    assert_eq!(net.blocks(newcomer, target as usize), net.blocks(0, target as usize));
}

/// Every validator evaluates in the real sandbox with the module whose hash the owner signed:
/// those without it fetch it from a peer by that hash; the committed scores are what the module
/// computes (last payload byte x 1e6 ppb) and every validator used the same fuel for the same
/// submission.
#[test]
fn evaluations_run_the_owners_module_in_the_sandbox_fetched_by_hash() {
    use platform_types::{Action, Evaluation, NetUid, Payload};
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    challenge_and_submissions(&mut net, 1).expect("set up");
    net.run_until(Duration::from_secs(60), |net| (0..4).all(|i| !net.weights[i].is_empty())).expect("weights");
    let module = super::sandbox::module();
    for node in &net.nodes {
        assert_eq!(node.records.blob(&platform_types::blake2b_256(module)).as_deref(), Some(module), "fetched");
    }
    let height = net.nodes[0].state.tip.height.get() as usize;
    let mut fuel: std::collections::HashMap<_, u64> = Default::default();
    let mut evaluations = 0;
    for (block, _) in net.nodes[0].records.blocks_from(1, height).expect("read") {
        for action in &block.actions {
            let Action::Evaluation(envelope) = action else { continue };
            let evaluation = envelope.open::<Evaluation>(NetUid::new(3)).expect("signed").message;
            let submission = net.nodes[0].records.submission(&evaluation.submission).expect("body");
            let Payload::Inline(payload) = submission.payload else { panic!("inline") };
            let last = u32::from(*payload.last().expect("a byte"));
            assert_eq!(evaluation.score_ppb, last * 1_000_000, "the module's score");
            assert!(evaluation.fuel_used > 0);
            let first = *fuel.entry(evaluation.submission).or_insert(evaluation.fuel_used);
            assert_eq!(evaluation.fuel_used, first, "the same fuel at every validator");
            evaluations += 1;
        }
    }
    assert!(evaluations >= 6, "{evaluations} evaluations committed");
}

/// Hole found by the sweep (n = 7, two silent, seed 44): a block prepared by a quorum just
/// before the network was cut had to be re-proposed in every later view (PBFT), but after the
/// stall its chain link was more than `CHAIN_LAG` blocks behind the chain, so every validator
/// refused it in every view and nothing else could be proposed: the network never committed
/// again. A re-proposed prepared block is now checked by the rules any validator can
/// recompute, its link's freshness having been checked by the quorum that prepared it.
#[test]
fn a_block_prepared_before_a_long_stall_is_committed_after_it() {
    let scenario = Scenario {
        validators: 7,
        byzantine: 2,
        behaviour: Behaviour::Silent,
        seed: 44,
        epochs: 2,
        restart: true,
        partitions: true,
        set_change: false,
        tempo_change: false,
        loss_permille: 0,
    };
    run(&scenario).unwrap_or_else(|v| panic!("{v}"));
}

/// A validator signing wrong scores to everyone: its verdicts are committed, the weights stay the
/// honest ones at every honest validator, and the public audit, running every evaluation again
/// in the sandbox, names it — and only it.
#[test]
fn a_validator_signing_wrong_scores_is_named_by_the_audit_and_no_one_else() {
    let mut net = Net::new(4, 13);
    net.chain_every = Some(Duration::from_millis(100));
    net.behaviour[3] = Some(Behaviour::WrongScores);
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(60), |net| (0..3).all(|i| net.weights[i].len() >= 2)).expect("weights");
    assert!(net.rewritten > 0, "it lied");
    assert!(net.weights[1][..2] == net.weights[0][..2] && net.weights[2][..2] == net.weights[0][..2]);
    let report = net.audit(1).expect("audits");
    let liar = net.nodes[3].keypair.public().to_ss58();
    let named: Vec<&String> = report.evaluations.differing_by_validator.keys().collect();
    assert_eq!(named, vec![&liar], "{:?}", report.evaluations);
    assert!(report.evaluations.agreed >= 3 * 6, "the honest verdicts agree: {:?}", report.evaluations);
}

/// Hole found by the sweep (n = 16, five silent, 1 % loss, seed 1): a validator that missed a
/// submission's gossip waited for the body when a proposal ordered it, then refused the
/// proposal, in every view: with exactly a quorum running, nothing committed again. The bodies a
/// proposal orders that a validator lacks are now asked of its peers at once.
#[test]
fn a_validator_that_missed_a_submission_fetches_it_to_vote() {
    let scenario = Scenario {
        validators: 16,
        byzantine: 5,
        behaviour: Behaviour::Silent,
        seed: 1,
        epochs: 2,
        restart: true,
        partitions: true,
        set_change: true,
        tempo_change: false,
        loss_permille: 10,
    };
    run(&scenario).unwrap_or_else(|v| panic!("{v}"));
}

/// Nothing acknowledged is lost across a restart: a validator acknowledges a submission (written
/// to its store, answered) and crashes before relaying it to anyone; started again from its
/// store, it relays it, and every validator orders it.
#[test]
fn a_submission_acknowledged_just_before_a_crash_is_ordered_after_the_restart() {
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_to(3, LIMIT).expect("runs");
    let late = clients::acknowledge_then_crash(&mut net, 3, &miner).expect("acknowledged");
    assert!((0..3).all(|i| net.nodes[i].mempool.get(&late.id).is_none()), "only the crashed one has it");
    net.restart(3);
    net.run_until(Duration::from_secs(60), |net| (0..4).all(|i| late.ordered_by(net, i))).expect("ordered by all");
}

/// With exactly a quorum running and 1 % of messages lost, a lost vote or view change used to
/// cost a whole view, each twice as long as the last: after its second weights the network
/// committed nothing for minutes (found by the durability check above: the late submission was
/// never ordered). The consensus machine now sends its messages of the round again at every tick.
#[test]
fn with_exactly_a_quorum_running_and_lost_messages_a_late_submission_is_still_ordered() {
    let scenario = Scenario {
        validators: 16,
        byzantine: 5,
        behaviour: Behaviour::Silent,
        seed: 1,
        epochs: 2,
        restart: true,
        partitions: false,
        set_change: true,
        tempo_change: false,
        loss_permille: 10,
    };
    run(&scenario).unwrap_or_else(|v| panic!("{v}"));
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

/// A challenge that scores epochs (issue 23): once the epoch of its answers closes, every
/// validator scores them together, in commit order, and signs the scorer's verdict on each as
/// that submission's evaluation, which is committed like any other. A validator that restarts
/// before its evaluations were committed scores the closed epoch again from its store, to the
/// same verdicts. (Two of the four withhold their evaluations, so that the submissions wait for
/// the restarted one's; the per-submission entry point, which rejects everything, never runs.)
#[test]
fn an_epoch_scorer_gives_every_validator_the_same_verdicts_and_again_after_a_restart() {
    use super::actions::{add_challenge, submit};
    use super::setup::{MINER, key};
    let mut net = Net::new(4, 17);
    net.chain_every = Some(Duration::from_millis(100));
    net.change_tempo(2, 29); // epochs of about three seconds
    net.behaviour[2] = Some(Behaviour::WithheldEvaluations);
    net.behaviour[3] = Some(Behaviour::WithheldEvaluations);
    add_challenge(&mut net, 0, "epochal", super::sandbox::epoch_module()).expect("added");
    let miner = key(MINER);
    let payloads = [b"answer x1".to_vec(), b"answer y1".to_vec(), b"answer z2".to_vec()];
    let ids = submit(&mut net, 0, &miner, "epochal", 100, &payloads);
    let evaluated_by = |net: &Net, validators: &[usize]| {
        let state = &net.nodes[0].state;
        ids.iter().all(|id| {
            state
                .submissions
                .get(id)
                .is_some_and(|c| validators.iter().all(|&v| c.evaluations.contains_key(&net.nodes[v].keypair.public())))
        })
    };
    net.run_until(Duration::from_secs(30), |net| evaluated_by(net, &[0, 1])).expect("scored once the epoch closed");
    net.behaviour[3] = None;
    net.restart(3);
    net.run_until(Duration::from_secs(30), |net| evaluated_by(net, &[0, 1, 3]))
        .expect("scored again after the restart");
    // What the scorer must say: per epoch, in commit order, 1e9 for the answers ending as the
    // first one does.
    let state = &net.nodes[0].state;
    let mut answers: Vec<_> =
        ids.iter().map(|id| (state.submissions[id].epoch, state.submissions[id].height, *id)).collect();
    answers.sort();
    let last_byte = |id: &platform_types::SubmissionId| {
        *payloads[ids.iter().position(|i| i == id).expect("ours")].last().expect("byte")
    };
    let mut scored = 0;
    for (epoch, _, id) in &answers {
        let first = answers.iter().find(|(e, ..)| e == epoch).map(|(.., first)| last_byte(first)).expect("first");
        let expected = if last_byte(id) == first { 1_000_000_000 } else { 0 };
        scored += usize::from(expected > 0);
        let verdicts: Vec<_> = [0, 1, 3]
            .iter()
            .map(|&v| *state.submissions[id].evaluations.get(&net.nodes[v].keypair.public()).expect("evaluated"))
            .collect();
        assert!(verdicts.iter().all(|v| *v == verdicts[0]), "{id}: {verdicts:?}");
        assert_eq!(verdicts[0].0, platform_types::EvaluationStatus::Scored, "{id}");
        assert_eq!(verdicts[0].1, expected, "{id} in epoch {epoch}");
    }
    assert!(scored >= 1 && answers.len() == 3);
    // The public audit scores the closed epochs again as the validators did, and agrees.
    let report = net.audit(0).expect("audits");
    assert!(report.evaluations.differing.is_empty(), "{:?}", report.evaluations);
    assert!(report.evaluations.agreed >= 3 * 3, "{:?}", report.evaluations);
}

/// A validator scoring a closed epoch again after a restart must see every answer of it, also
/// those that have left its state since (final on the others' evaluations, then retired): they
/// are found again in its stored blocks.
#[test]
fn the_answers_of_a_closed_epoch_that_left_the_state_are_found_in_the_stored_blocks() {
    use super::actions::{add_challenge, submit};
    use super::setup::{MINER, key};
    let mut net = Net::new(4, 19);
    net.chain_every = Some(Duration::from_millis(100));
    add_challenge(&mut net, 0, "epochal", super::sandbox::epoch_module()).expect("added");
    let payloads = [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()];
    let ids = submit(&mut net, 0, &key(MINER), "epochal", 100, &payloads);
    let retired = |net: &Net| ids.iter().all(|id| net.nodes[0].records.retired(id).is_some());
    net.run_until(Duration::from_secs(60), retired).expect("scored, final and retired");
    let node = &net.nodes[0];
    let challenge = platform_types::ChallengeId::new("epochal").expect("id");
    let record = |id| node.records.retired(id).expect("retired");
    // Say only the first answer were still held: the others are found.
    let first = record(&ids[0]);
    let held = [crate::epoch_answers::EpochAnswer {
        id: ids[0],
        miner: first.miner,
        height: first.height,
        block_hash: first.block_hash,
        evaluated: false,
    }];
    let found = node.retired_answers(&challenge, first.epoch, &held).expect("all found");
    let mut expected: Vec<_> = ids[1..].iter().filter(|id| record(id).epoch == first.epoch).copied().collect();
    let mut got: Vec<_> = found.iter().map(|a| a.id).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(found.iter().all(|a| a.height == record(&a.id).height && a.block_hash == record(&a.id).block_hash));
    // Without the epoch's blocks (pruned) the answers are not all known: no scoring from a guess.
    let height = first.height.get();
    node.records.store().delete(platform_storage::Column::Blocks, &crate::records::height_key(height)).expect("delete");
    assert!(node.retired_answers(&challenge, first.epoch, &held).is_err());
}

/// Adds (or updates) challenge "tuned", whose module scores what its one parameter byte says,
/// with `param` as that byte, through validator 0.
fn register_tuned(net: &mut Net, module: &[u8], param: u8, update: bool) {
    use super::actions::{challenge_spec, register_challenge};
    let spec = platform_types::ChallengeSpec { params: vec![param], ..challenge_spec("tuned", module) };
    register_challenge(net, 0, spec, module, update).expect("registered");
}

/// A challenge's parameters (owner-signed, in its spec) reach its module on every validator,
/// and an update of the parameters alone (the same module) is what later evaluations see.
#[test]
fn a_challenges_parameters_reach_its_module_and_an_update_of_them_takes_effect() {
    use super::actions::submit;
    use super::setup::{MINER, key};
    let mut net = Net::new(4, 23);
    net.chain_every = Some(Duration::from_millis(100));
    let module = wat::parse_str(super::sandbox::PARAMS_MODULE_WAT).expect("wat");
    register_tuned(&mut net, &module, 42, false);
    let miner = key(MINER);
    let verdicts = |net: &Net, ids: &[platform_types::SubmissionId]| -> Option<Vec<u32>> {
        let state = &net.nodes[0].state;
        let mut scores = Vec::new();
        for id in ids {
            let c = state.submissions.get(id)?;
            if c.evaluations.len() < 4 {
                return None;
            }
            scores.extend(c.evaluations.iter().map(|(_, v)| v.1));
        }
        Some(scores)
    };
    let before = submit(&mut net, 0, &miner, "tuned", 100, &[b"a".to_vec(), b"b".to_vec()]);
    net.run_until(Duration::from_secs(30), |net| verdicts(net, &before).is_some()).expect("evaluated");
    assert!(verdicts(&net, &before).expect("all").iter().all(|&s| s == 42_000_000));
    register_tuned(&mut net, &module, 7, true);
    let after = submit(&mut net, 0, &miner, "tuned", 200, &[b"c".to_vec()]);
    net.run_until(Duration::from_secs(30), |net| verdicts(net, &after).is_some()).expect("evaluated");
    assert!(verdicts(&net, &after).expect("all").iter().all(|&s| s == 7_000_000), "{:?}", verdicts(&net, &after));
    // The audit loads the module with each version's parameters too.
    let report = net.audit(1).expect("audits");
    assert!(report.evaluations.differing.is_empty(), "{:?}", report.evaluations);
}

/// A submission ordered under one version of a challenge is never evaluated under a later one
/// (a validator resuming after the owner updated the challenge, here only its parameters, hands
/// such a submission to no evaluation): its verdict could differ from what the others computed
/// and what the audit computes with the version in force at ordering.
#[test]
fn a_submission_is_not_evaluated_under_a_later_version_of_its_challenge() {
    use super::actions::submit;
    use super::setup::{MINER, key};
    let mut net = Net::new(4, 29);
    net.chain_every = Some(Duration::from_millis(100));
    net.change_tempo(2, 49); // epochs of about five seconds: nothing retires meanwhile
    let module = wat::parse_str(super::sandbox::PARAMS_MODULE_WAT).expect("wat");
    register_tuned(&mut net, &module, 42, false);
    let old = submit(&mut net, 0, &key(MINER), "tuned", 100, &[b"a".to_vec()])[0];
    net.run_until(Duration::from_secs(30), |net| net.nodes[1].state.submissions.contains_key(&old)).expect("ordered");
    let asked = |net: &mut Net, id| {
        let node = &mut net.nodes[1];
        node.effects.clear();
        node.start_evaluation(id);
        node.effects.iter().any(
            |e| matches!(e, crate::effects::Effect::Evaluate(crate::evaluations::Request::Evaluate(t)) if t.id == id),
        )
    };
    assert!(asked(&mut net, old), "under the version it was ordered under, it is evaluated");
    register_tuned(&mut net, &module, 7, true);
    assert!(net.nodes[1].state.submissions.contains_key(&old), "still in the state");
    assert!(!asked(&mut net, old), "not under the later version");
    let new = submit(&mut net, 0, &key(MINER), "tuned", 200, &[b"b".to_vec()])[0];
    net.run_until(Duration::from_secs(30), |net| net.nodes[1].state.submissions.contains_key(&new)).expect("ordered");
    assert!(asked(&mut net, new), "one ordered under the later version is");
}

/// A miner's two commitments to one task, sent at once to two validators (each admits its own,
/// knowing nothing of the other): one is ordered; the other, which the rules now refuse for
/// good, leaves the mempools instead of waiting there forever (it used to, and kept every
/// leader building blocks at once instead of idling).
#[test]
fn a_second_commitment_to_a_task_is_never_ordered_and_leaves_the_mempools() {
    use platform_types::{ChallengeSpec, Phase, Phases};

    use super::actions::{challenge_spec, register_challenge, submission_input};
    use super::setup::{MINER, key};
    let mut net = Net::new(4, 5);
    let module = super::sandbox::module().to_vec();
    let spec = ChallengeSpec { phases: Phases::CommitReveal { reveal_blocks: 50 }, ..challenge_spec("tp", &module) };
    register_challenge(&mut net, 0, spec, &module, false).expect("added");
    let task_epoch = net.nodes[0].state.tip.epoch;
    let miner = key(MINER);
    let commit = Phase::Commit { task_epoch };
    let (first, a) = submission_input(&net, &miner, "tp", 1, vec![1; 32], None, commit);
    let (second, b) = submission_input(&net, &miner, "tp", 2, vec![2; 32], None, commit);
    net.deliver(0, a);
    net.deliver(1, b);
    let held = |n: &crate::core::Core| [first, second].iter().filter(|id| n.state.commitment(id).is_some()).count();
    net.run_until(Duration::from_secs(30), |net| net.nodes.iter().all(|n| held(n) == 1)).expect("one is ordered");
    net.run_until(Duration::from_secs(30), |net| net.nodes.iter().all(|n| n.mempool.submission_ids().next().is_none()))
        .expect("the other leaves every mempool");
    let ordered = |n: &crate::core::Core| n.state.commitment(&first).is_some();
    assert!(net.nodes.iter().all(|n| ordered(n) == ordered(&net.nodes[0])), "the same one everywhere");
}
