//! Block rules of weights, validator sets and metagraph snapshots, and how the committed
//! settings of a challenge (champion, empty policy) shape the weights.

use crate::common::*;

#[test]
fn weights_and_validator_set_rules() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    run(&net, &mut state, step("first block", vec![], Expect::Valid));
    let early = net.read_at(10);
    let not_due = weights::compute(&state, &early, state.tip.epoch);
    run(
        &net,
        &mut state,
        step(
            "weights of an epoch that already has them",
            vec![Action::Metagraph(early.clone()), Action::Weights(not_due)],
            Expect::Refused("are not due"),
        ),
    );
    net.see_chain_up_to(30);
    let next = net.chain.epoch_of(&net.chain.head().expect("head"), state.tip.epoch).expect("seen");
    let snapshot = net.read_at(29);
    let with = |actions: Vec<Action>| [vec![Action::Metagraph(snapshot.clone())], actions].concat();
    let mut wrong = weights::compute(&state, &snapshot, next);
    wrong.mechanisms[0].weights[0] -= 1;
    let other_epoch = weights::compute(&state, &snapshot, Epoch::new(next.get() + 1));
    let mut set = weights::validator_set(&snapshot, 1, next).expect("set");
    set.validators.pop();
    let right = weights::compute(&state, &snapshot, next);
    run_all(
        &net,
        &mut state,
        vec![
            step(
                "weights with no metagraph snapshot committed in the epoch",
                vec![Action::Weights(right.clone())],
                Expect::Refused("no metagraph snapshot committed in epoch"),
            ),
            step(
                "weights that differ from this validator's computation",
                with(vec![Action::Weights(wrong)]),
                Expect::Refused("differ from this validator's computation"),
            ),
            step(
                "weights for another epoch than the block's",
                with(vec![Action::Weights(other_epoch)]),
                Expect::Refused("another epoch than the block's"),
            ),
            step(
                "a validator set other than the snapshot's",
                with(vec![Action::ValidatorSet(set)]),
                Expect::Refused("differs from the metagraph"),
            ),
            step("the due weights, from the snapshot before them", with(vec![Action::Weights(right)]), Expect::Valid),
            step(
                "a snapshot not newer than the committed one",
                vec![Action::Metagraph(snapshot.clone())],
                Expect::Refused("is not newer than the committed one"),
            ),
        ],
    );
    assert_eq!(state.registry.weights_epoch, Some(next));
    assert_eq!(state.registry.metagraph, Some((next, snapshot)));
}

#[test]
fn metagraph_snapshot_rules() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(30);
    run(&net, &mut state, step("first block", vec![], Expect::Valid));
    let read = net.read_at(28);
    let mut altered = read.clone();
    altered.neurons[0].stake += 1;
    let other_subnet = Metagraph { netuid: NetUid::new(2), ..read.clone() };
    let unread = Metagraph { block: chain_block(27), ..read.clone() };
    let earlier_epoch = net.read_at(10);
    let ahead = net.read_at(35);
    let forged_hash = Metagraph { block: BlockRef { number: 28, hash: Hash::from_bytes([9; 32]) }, ..read.clone() };
    run_all(
        &net,
        &mut state,
        vec![
            step(
                "a snapshot that differs from the chain's at its block",
                vec![Action::Metagraph(altered)],
                Expect::Refused("differs from the chain's"),
            ),
            step("a snapshot of another subnet", vec![Action::Metagraph(other_subnet)], Expect::Refused("of subnet 2")),
            step(
                "a snapshot of a chain block of an earlier epoch",
                vec![Action::Metagraph(earlier_epoch)],
                Expect::Refused("is not of the block's epoch"),
            ),
            step(
                "a snapshot of a block other than the one seen at its number",
                vec![Action::Metagraph(forged_hash)],
                Expect::Refused("not the block this validator saw"),
            ),
            step(
                "a snapshot whose metagraph this validator has not read yet waits",
                vec![Action::Metagraph(unread)],
                Expect::Pending,
            ),
            step("a snapshot of a chain block not seen yet waits", vec![Action::Metagraph(ahead)], Expect::Pending),
            step("a snapshot the chain confirms", vec![Action::Metagraph(read.clone())], Expect::Valid),
        ],
    );
    assert_eq!(state.registry.metagraph.as_ref().map(|(_, m)| m), Some(&read));
}

/// Hole: a follower checked weights against its own latest metagraph read, which differs from
/// the leader's whenever a registration lands between their reads (and the weights block was
/// refused). Weights are now computed from the snapshot committed before them, which every
/// follower compares with its own read of the chain *at the snapshot's block*.
#[test]
fn weights_follow_the_committed_snapshot_not_the_followers_latest_read() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let add = net.add_challenge("alpha");
    run(&net, &mut state, step("the owner adds a challenge", vec![add], Expect::Valid));
    let (id, submit) = net.submission("alpha", 7);
    run(&net, &mut state, step("a submission", vec![submit], Expect::Valid));
    let epoch = state.submissions[&id].epoch;
    let evaluations = net.validators.iter().map(|v| net.evaluation(v, id, "alpha", epoch)).collect();
    run(&net, &mut state, step("its evaluations", evaluations, Expect::Valid));

    net.see_chain_up_to(30);
    let leaders = net.read_at(25);
    // The follower has read the chain again since: the miner has moved to another uid.
    let mut newer = net.metagraph.clone();
    newer.block = chain_block(30);
    for neuron in &mut newer.neurons {
        if neuron.hotkey == net.miner.public() {
            neuron.uid = Uid::new(9);
        }
    }
    net.reads.insert(newer.block.hash, Arc::new(newer.clone()));
    let next = net.chain.epoch_of(&net.chain.head().expect("head"), state.tip.epoch).expect("seen");
    let weights = weights::compute(&state, &leaders, next);
    assert_ne!(weights, weights::compute(&state, &newer, next), "the two reads give different weights");
    let actions = vec![Action::Metagraph(leaders), Action::Weights(weights)];
    run(&net, &mut state, step("weights from the committed snapshot", actions, Expect::Valid));
}

/// Hole: champion-takes-all ran with no champion (`champion: None` was hard-coded), so its
/// margin never protected anyone: any challenger a hair better took the whole share.
#[test]
fn a_champion_keeps_its_challenge_unless_beaten_by_the_margin() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let scoring = ScoringConfig {
        normalisation: Normalisation::ChampionTakesAll { margin_ppb: 100_000_000, owner_share_ppb: 0 },
        ..ScoringConfig::default()
    };
    let add = net.add_scored_challenge("champ", scoring);
    run(&net, &mut state, step("a champion-takes-all challenge", vec![add], Expect::Valid));
    let (miner, rival) = (net.miner.public(), net.rival.public());
    let score = |net: &mut Net, state: &mut AppState, tag: u8, who: PublicKey, score_ppb: u32| {
        let (id, submit) = net.submission_by("champ", tag, who);
        run(net, state, step("a submission", vec![submit], Expect::Valid));
        let epoch = state.submissions[&id].epoch;
        let evaluations = net.validators.iter().map(|v| net.scored(v, id, "champ", epoch, score_ppb)).collect();
        run(net, state, step("its evaluations", evaluations, Expect::Valid));
    };
    let weights_at = |net: &mut Net, state: &mut AppState, number: u64| {
        net.see_chain_up_to(number);
        let snapshot = net.read_at(number);
        let epoch = net.chain.epoch_of(&net.chain.head().expect("head"), state.tip.epoch).expect("seen");
        let weights = weights::compute(state, &snapshot, epoch);
        run(
            net,
            state,
            step(
                "the epoch's weights",
                vec![Action::Metagraph(snapshot), Action::Weights(weights.clone())],
                Expect::Valid,
            ),
        );
        weights
    };
    score(&mut net, &mut state, 1, miner, 600_000_000);
    score(&mut net, &mut state, 2, rival, 500_000_000);
    let first = weights_at(&mut net, &mut state, 30);
    assert_eq!(first.mechanisms[0].uids, vec![Uid::new(4)], "the best miner wins the first epoch");
    assert_eq!(state.champions.get("champ"), Some(&miner));

    // The rival now beats the champion, but by less than the margin: the champion keeps it.
    score(&mut net, &mut state, 3, rival, 650_000_000);
    let second = weights_at(&mut net, &mut state, 50);
    assert_eq!(second.mechanisms[0].uids, vec![Uid::new(4)], "within the margin the champion holds");
    assert_eq!(state.champions.get("champ"), Some(&miner));

    // Beyond the margin the rival takes over, and is the champion from then on.
    score(&mut net, &mut state, 4, rival, 800_000_000);
    let third = weights_at(&mut net, &mut state, 70);
    assert_eq!(third.mechanisms[0].uids, vec![Uid::new(6)]);
    assert_eq!(state.champions.get("champ"), Some(&rival));
}

/// Hole: what happens to a challenge's unearned emission was hard-coded (always burnt to the
/// owner); the challenge's scoring settings now choose.
#[test]
fn a_challenge_nobody_scored_follows_its_empty_policy() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let hold = ScoringConfig { empty_policy: platform_types::EmptyPolicy::Hold, ..ScoringConfig::default() };
    let add_hold = net.add_scored_challenge("held", hold);
    run(&net, &mut state, step("a challenge that holds its share", vec![add_hold], Expect::Valid));
    net.see_chain_up_to(30);
    let snapshot = net.read_at(30);
    let epoch = net.chain.epoch_of(&net.chain.head().expect("head"), state.tip.epoch).expect("seen");
    let weights = weights::compute(&state, &snapshot, epoch);
    assert!(weights.mechanisms.is_empty(), "nothing to weight: the weights on chain stay ({weights:?})");
    let burn = net.add_challenge("burnt");
    run(&net, &mut state, step("a challenge that burns its share", vec![burn], Expect::Valid));
    let weights = weights::compute(&state, &snapshot, epoch);
    assert_eq!(weights.mechanisms[0].uids, vec![Uid::new(5)], "the burnt share goes to the owner's uid");
}
