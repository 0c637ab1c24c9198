//! The block rules, table-driven: each step is a chain block arriving or a proposal with the
//! verdict a follower must reach (valid → applied; refused with a reason; pending: wait). Each
//! rule's step is named for it, so `cargo test -p platform-app -- <words>` finds it.
//!
//! Here: chain links and epochs, the actions' rules, and replays; weights, validator sets and
//! snapshots of the metagraph in [`committed_weights`]; state snapshots in [`snapshots`];
//! retirement of final submissions in [`retirement`].

mod committed_weights;
#[path = "../common/mod.rs"]
mod common;
mod retirement;
mod snapshots;

use common::*;
use platform_types::Codec;

#[test]
fn chain_link_rules() {
    let mut net = Net::new();
    let mut state = net.genesis();
    let first = linked("a block with no chain block seen yet waits", chain_block(1), epoch_at(1), Expect::Pending);
    run(&net, &mut state, first);
    net.see_chain_up_to(50);
    let (lead, lag) = (50 + CHAIN_LEAD, 50 - CHAIN_LAG - 1);
    let other_hash = |number, byte| BlockRef { number, hash: Hash::from_bytes([byte; 32]) };
    run_all(
        &net,
        &mut state,
        vec![
            linked(
                "epoch far ahead of its chain block (epoch jump)",
                chain_block(50),
                Epoch::new(1_000),
                Expect::Refused("is not the epoch of chain block 50"),
            ),
            linked(
                "epoch behind its chain block's",
                chain_block(50),
                Epoch::new(epoch_at(50).get() - 1),
                Expect::Refused("is not the epoch of chain block 50"),
            ),
            linked(
                "link further ahead than CHAIN_LEAD of the chain seen waits",
                chain_block(lead + 1),
                epoch_at(lead + 1),
                Expect::Pending,
            ),
            linked(
                "link to a chain block with another hash than the one seen",
                other_hash(49, 1),
                epoch_at(49),
                Expect::Refused("not the block this validator saw"),
            ),
            linked(
                "link more than CHAIN_LAG behind the chain seen",
                chain_block(lag),
                epoch_at(lag),
                Expect::Refused("blocks behind the chain"),
            ),
            linked("link within CHAIN_LEAD ahead of the chain seen", chain_block(lead), epoch_at(lead), Expect::Valid),
            linked(
                "link behind the parent block's",
                chain_block(50),
                epoch_at(50),
                Expect::Refused("behind the parent block's chain block"),
            ),
            linked(
                "link to the parent's chain block number with another hash",
                other_hash(lead, 2),
                epoch_at(lead),
                Expect::Refused("differs from the parent block's"),
            ),
            linked("link to the parent's chain block again", chain_block(lead), epoch_at(lead), Expect::Valid),
        ],
    );
}

/// Hole: a leader proposed a block of an epoch far ahead with that epoch's weights; once
/// committed, no weights were due until the chain reached that epoch, so one Byzantine
/// validator stopped weight setting for the whole subnet.
#[test]
fn an_epoch_jump_is_refused_and_weights_stay_due() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(30);
    run(&net, &mut state, step("first block", vec![], Expect::Valid));
    net.see_chain_up_to(45);
    let now = epoch_at(45);
    assert!(state.weights_due(now), "a new chain epoch makes weights due");

    let snapshot = net.read_at(45);
    let far = Epoch::new(now.get() + 1_000);
    let jump = weights::compute(&state, &snapshot, far);
    let head = net.chain.head().expect("head");
    let jump = TestStep {
        rule: "a block of an epoch far ahead, with that epoch's weights",
        link: Some((head, far)),
        actions: vec![Action::Metagraph(snapshot.clone()), Action::Weights(jump)],
        expect: Expect::Refused("is not the epoch of chain block"),
    };
    run(&net, &mut state, jump);
    assert!(state.weights_due(now), "weights of the chain's epoch are still due");

    let honest = weights::compute(&state, &snapshot, now);
    let actions = vec![Action::Metagraph(snapshot), Action::Weights(honest)];
    run(&net, &mut state, step("the epoch's weights", actions, Expect::Valid));
    assert!(!state.weights_due(now));
    net.see_chain_up_to(70);
    assert!(state.weights_due(epoch_at(70)), "and the next epoch's are due in turn");
}

#[test]
fn action_rules() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let add = net.add_challenge("alpha");
    run(&net, &mut state, step("the owner adds a challenge", vec![add], Expect::Valid));

    let (id, submit) = net.submission("alpha", 1);
    let (_, unknown_challenge) = net.submission("beta", 2);
    let unknown_body = Action::Submission(SubmissionId(Hash::from_bytes([3; 32])));
    let stranger = key("Stranger");
    let by_stranger = net.sudo(&stranger, SudoCommand::RemoveChallenge(ChallengeId::new("alpha").expect("id")));
    let add_again = net.add_challenge("alpha");
    let early = net.evaluation(&net.validators[1], id, "alpha", state.tip.epoch);
    run_all(
        &net,
        &mut state,
        vec![
            step(
                "a submission for a challenge that is not active",
                vec![unknown_challenge],
                Expect::Refused("inactive challenge"),
            ),
            step("a submission whose body has not arrived waits", vec![unknown_body], Expect::Pending),
            step(
                "a submission ordered twice in one block",
                vec![submit.clone(), submit.clone()],
                Expect::Refused("ordered twice"),
            ),
            step("a sudo action not signed by the owner", vec![by_stranger], Expect::Refused("not the subnet owner")),
            step("adding a challenge that exists", vec![add_again], Expect::Refused("already exists")),
            step("an evaluation of a submission not committed", vec![early], Expect::Refused("uncommitted submission")),
            step("a submission for an active challenge", vec![submit.clone()], Expect::Valid),
            step("a submission ordered again in a later block", vec![submit], Expect::Refused("ordered twice")),
        ],
    );

    let epoch = state.submissions[&id].epoch;
    let evaluation = net.evaluation(&net.validators[1], id, "alpha", epoch);
    let by_miner = net.evaluation(&net.miner, id, "alpha", epoch);
    let wrong_epoch = net.evaluation(&net.validators[2], id, "alpha", Epoch::new(epoch.get() + 1));
    let not_committed = SubmissionId(Hash::from_bytes([4; 32]));
    let partly_early = net.batch(&net.validators[1], &[(id, "alpha", epoch, 5), (not_committed, "alpha", epoch, 5)]);
    let Action::Evaluations(by_other) = net.evaluation(&net.validators[2], id, "alpha", epoch) else { unreachable!() };
    let batch = EvaluationBatch::from_bytes(&by_other.payload).expect("batch");
    let signed_for_another = Action::Evaluations(Envelope::seal(&net.validators[1], NETUID, &batch));
    run_all(
        &net,
        &mut state,
        vec![
            step(
                "an evaluation by someone outside the validator set",
                vec![by_miner],
                Expect::Refused("who is not a validator"),
            ),
            step(
                "an evaluation naming another epoch than its submission's",
                vec![wrong_epoch],
                Expect::Refused("wrong challenge or epoch"),
            ),
            step(
                "a batch with one verdict on a submission not committed is refused whole",
                vec![partly_early],
                Expect::Refused("uncommitted submission"),
            ),
            step(
                "a batch signed by another validator than the one its verdicts name",
                vec![signed_for_another],
                Expect::Refused("evaluations:"),
            ),
            step(
                "one validator's evaluation twice in one block",
                vec![evaluation.clone(), evaluation.clone()],
                Expect::Refused("second evaluation"),
            ),
            step("a validator's evaluation of a committed submission", vec![evaluation.clone()], Expect::Valid),
            step(
                "a validator's second evaluation in a later block",
                vec![evaluation],
                Expect::Refused("second evaluation"),
            ),
        ],
    );
    assert_eq!(state.submissions[&id].evaluations.len(), 1);
}

#[test]
fn the_same_blocks_give_the_same_state_root() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let mut blocks = Vec::new();
    let add = net.add_challenge("alpha");
    blocks.push(net.next_block(&state, vec![add]));
    net.apply(&mut state, &blocks[0]);
    let (_, submit) = net.submission("alpha", 9);
    blocks.push(net.next_block(&state, vec![submit]));
    net.apply(&mut state, &blocks[1]);

    let mut replayed = net.genesis();
    for block in &blocks {
        net.apply(&mut replayed, block);
    }
    assert_eq!(replayed.tip, state.tip);
    assert_eq!(replayed.chain, state.chain);
    assert_eq!(replayed.registry, state.registry);
}

/// Hole: the EMA's memory was recomputed from the local metagraph when weights were applied, and
/// a restart replayed the blocks with the metagraph read at start-up: a miner deregistered since
/// vanished from the replayed memory, and the node's next weights differed from the others'.
/// A replay now reads nothing from the chain: the snapshots it needs are in the blocks.
#[test]
fn a_replay_without_the_chain_gives_the_same_state() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let scoring = ScoringConfig { ema_alpha_ppb: 500_000_000, ..ScoringConfig::default() };
    let mut blocks = Vec::new();
    let mut commit = |net: &Net, state: &mut AppState, actions: Vec<Action>| {
        let block = net.next_block(state, actions);
        net.check(state, &block).expect("valid");
        net.apply(state, &block);
        blocks.push(block);
    };
    let add = net.add_scored_challenge("alpha", scoring);
    commit(&net, &mut state, vec![add]);
    let (id, submit) = net.submission("alpha", 4);
    commit(&net, &mut state, vec![submit]);
    let epoch = state.submissions[&id].epoch;
    let evaluations = net.validators.iter().map(|v| net.evaluation(v, id, "alpha", epoch)).collect();
    commit(&net, &mut state, evaluations);
    net.see_chain_up_to(30);
    let snapshot = net.read_at(30);
    let weights = weights::compute(&state, &snapshot, state.tip.epoch.max(epoch_at(30)));
    commit(&net, &mut state, vec![Action::Metagraph(snapshot.clone()), Action::Weights(weights)]);
    assert_eq!(state.smoothed["alpha"].get(&net.miner.public()), Some(&250_000_000), "alpha * 0.5");

    // Replayed later, by a node that reads nothing from the chain (the miner may be gone).
    let mut replayed = net.genesis();
    for block in &blocks {
        net.apply(&mut replayed, block);
    }
    assert_eq!(replayed.smoothed, state.smoothed);
    assert_eq!(replayed.tip, state.tip);
    assert_eq!(replayed.registry, state.registry);
    let next = Epoch::new(state.tip.epoch.get() + 1);
    assert_eq!(weights::compute(&replayed, &snapshot, next), weights::compute(&state, &snapshot, next));
}
