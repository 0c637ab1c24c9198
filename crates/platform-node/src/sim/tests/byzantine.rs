//! Byzantine validators and peers: epoch jumps, forged and replayed actions, withheld and lying answers, floods, forged genesis, wrong scores.

use std::time::Duration;

use crate::sim::actions::challenge_and_submissions;
use crate::sim::net::Net;
use crate::sim::*;

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
            if let platform_types::Action::Evaluations(envelope) = action
                && envelope.signer == withholder
            {
                assert_eq!(block.header.proposer, withholder, "height {}", block.header.height);
            }
        }
    }
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
    let netuid = NetUid::new(crate::sim::setup::NETUID);
    let honest = node.records.blocks_from(3, 4).expect("read");
    let parent = honest[0].0.header.parent_hash;
    assert_eq!(usable(3, parent, &validators, netuid, honest.clone()).len(), 4, "real blocks pass");
    assert!(usable(2, parent, &validators, netuid, honest.clone()).is_empty(), "not where asked");
    assert!(usable(3, platform_types::Hash::ZERO, &validators, netuid, honest.clone()).is_empty(), "not linked");
    let liar = crate::sim::lying_sync::answer(&net.nodes[1].keypair, &node.records, 3);
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
        let share = node.mempool.evaluations.share(4);
        assert!(node.mempool.evaluations.held_by(&flooder) <= share, "the flooder keeps to its share");
    }
    let height = net.nodes[0].state.tip.height.get() as usize;
    let mut evaluators: std::collections::HashMap<_, std::collections::HashSet<_>> = Default::default();
    let mut submissions = Vec::new();
    for (block, _) in net.nodes[0].records.blocks_from(1, height).expect("read") {
        for action in &block.actions {
            match action {
                platform_types::Action::Submission(id) => submissions.push(*id),
                platform_types::Action::Evaluations(envelope) => {
                    let batch = envelope.open::<platform_types::EvaluationBatch>(platform_types::NetUid::new(3));
                    for evaluation in batch.expect("signed").message.evaluations() {
                        evaluators.entry(evaluation.submission).or_default().insert(envelope.signer);
                    }
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

/// A miner's two commitments to one task, sent at once to two validators (each admits its own,
/// knowing nothing of the other): one is ordered; the other, which the rules now refuse for
/// good, leaves the mempools instead of waiting there forever (it used to, and kept every
/// leader building blocks at once instead of idling).
#[test]
fn a_second_commitment_to_a_task_is_never_ordered_and_leaves_the_mempools() {
    use platform_types::{ChallengeSpec, Phase, Phases};

    use crate::sim::actions::{challenge_spec, register_challenge, submission_input};
    use crate::sim::setup::{MINER, key};
    let mut net = Net::new(4, 5);
    let module = crate::sim::sandbox::module().to_vec();
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
