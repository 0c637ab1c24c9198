//! The block rules, table-driven: each step is a chain block arriving or a proposal with the
//! verdict a follower must reach (valid → applied; refused with a reason; pending: wait). Each
//! rule's step is named for it, so `cargo test -p platform-app -- <words>` finds it.

mod common;

use common::*;
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

/// A history with every kind of state: challenges, submissions of two miners, evaluations,
/// committed weights with an EMA memory. Snapshots every 3 heights; returns the blocks, the
/// state after them, and each snapshot taken with the state it was taken of.
fn history_with_snapshots(net: &mut Net) -> (Vec<Block>, AppState, Vec<(platform_app::Snapshot, AppState)>) {
    let mut state = net.genesis();
    state.snapshot_interval = 3;
    net.see_chain_up_to(10);
    let mut blocks = Vec::new();
    let mut snapshots = Vec::new();
    let mut commit = |net: &Net, state: &mut AppState, actions: Vec<Action>| {
        let block = net.next_block(state, actions);
        net.check(state, &block).expect("valid");
        if let Some(snapshot) = net.apply(state, &block).snapshot {
            snapshots.push((snapshot, state.clone()));
        }
        blocks.push(block);
    };
    let scoring = ScoringConfig { ema_alpha_ppb: 500_000_000, ..ScoringConfig::default() };
    let add = net.add_scored_challenge("alpha", scoring);
    commit(net, &mut state, vec![add]);
    let add = net.add_challenge("beta");
    commit(net, &mut state, vec![add]);
    let rival = net.rival.public();
    for tag in 1..=8u8 {
        let challenge = if tag % 2 == 0 { "alpha" } else { "beta" };
        let (id, submit) =
            if tag % 3 == 0 { net.submission_by(challenge, tag, rival) } else { net.submission(challenge, tag) };
        commit(net, &mut state, vec![submit]);
        let epoch = state.submissions[&id].epoch;
        let evaluations =
            net.validators.iter().map(|v| net.scored(v, id, challenge, epoch, 100_000_000 * u32::from(tag))).collect();
        commit(net, &mut state, evaluations);
        if tag == 4 {
            net.see_chain_up_to(30);
            let read = net.read_at(30);
            let weights = weights::compute(&state, &read, epoch_at(30));
            commit(net, &mut state, vec![Action::Metagraph(read), Action::Weights(weights)]);
        }
    }
    (blocks, state, snapshots)
}

/// Restart from a snapshot equals restart by full replay: from every snapshot of a history,
/// applying the blocks after it gives the same tip, root, registry, submissions and memory.
#[test]
fn a_state_restored_from_a_snapshot_equals_the_full_replay() {
    let mut net = Net::new();
    let (blocks, state, snapshots) = history_with_snapshots(&mut net);
    assert!(snapshots.len() >= 5, "{} snapshots", snapshots.len());
    assert!(!state.smoothed.is_empty());
    assert_eq!(state.submissions.len(), 4, "the four final before the weights retired with them");
    assert!(!state.retired.is_empty() && !state.replays.is_empty());
    for (snapshot, at) in &snapshots {
        let height = snapshot.manifest.height;
        assert_eq!(height.get() % 3, 0, "snapshots at multiples of the interval only");
        let mut restored = AppState::from_snapshot(snapshot, 3).expect("own snapshot");
        assert_eq!(restored.tip, at.tip, "the snapshot's root is the state root at {height}");
        for block in blocks.iter().filter(|b| b.header.height > height) {
            net.apply(&mut restored, block);
        }
        assert_eq!(restored.tip, state.tip, "from {height}");
        assert_eq!(restored.registry, state.registry);
        assert_eq!(restored.smoothed, state.smoothed);
        assert_eq!(restored.champions, state.champions);
        assert_eq!(restored.by_challenge, state.by_challenge);
        assert_eq!(restored.retired, state.retired);
        assert_eq!(restored.replays, state.replays);
        let ids = |s: &AppState| {
            let mut v: Vec<_> = s.submissions.iter().map(|(id, c)| (*id, c.height, c.evaluations.clone())).collect();
            v.sort_by_key(|(id, ..)| *id);
            v
        };
        assert_eq!(ids(&restored), ids(&state));
    }
}

/// The root at a snapshot height covers the whole state: two states that differ only in a
/// submission's evaluations (which the chained root before did not cover) get different roots.
#[test]
fn the_root_at_a_snapshot_height_covers_every_submission() {
    let mut net = Net::new();
    let (_, _, snapshots) = history_with_snapshots(&mut net);
    let (snapshot, at) = snapshots.last().expect("a snapshot");
    let mut other = at.clone();
    let id = *other.submissions.iter().find(|(_, c)| !c.evaluations.is_empty()).expect("an evaluated submission").0;
    std::sync::Arc::make_mut(other.submissions.get_mut(&id).expect("held")).evaluations.clear();
    let prev_root = snapshot.manifest.prev_root;
    assert_ne!(other.snapshot(prev_root).manifest.root(), snapshot.manifest.root());
    assert_eq!(at.snapshot(prev_root), *snapshot, "the encoding is deterministic");
}

/// A snapshot from a peer is checked before anything of it is used: a manifest that does not
/// give the certified root, a chunk that does not match, a chunk count that does not fit.
#[test]
fn a_tampered_snapshot_is_refused() {
    use platform_app::SnapshotError;
    let mut net = Net::new();
    let (_, _, snapshots) = history_with_snapshots(&mut net);
    let (good, _) = snapshots.last().expect("a snapshot");
    let (height, root) = (good.manifest.height, good.manifest.root());
    assert_eq!(good.manifest.check(height, &root), Ok(()));
    assert_eq!(good.manifest.check(height.next(), &root), Err(SnapshotError::Root), "another height");
    assert_eq!(good.manifest.check(height, &Hash::from_bytes([9; 32])), Err(SnapshotError::Root), "another root");

    let mut lying = good.clone();
    lying.manifest.prev_root = Hash::from_bytes([1; 32]);
    assert_eq!(lying.manifest.check(height, &root), Err(SnapshotError::Root), "a manifest changed");

    let mut flipped = good.clone();
    flipped.chunks[0][10] ^= 1;
    assert_eq!(flipped.manifest.check_chunk(0, &flipped.chunks[0]), Err(SnapshotError::Chunk(0)));
    assert!(matches!(AppState::from_snapshot(&flipped, 3), Err(SnapshotError::Chunk(0))));

    let mut short = good.clone();
    short.chunks[0].pop();
    assert_eq!(short.manifest.check_chunk(0, &short.chunks[0]), Err(SnapshotError::Chunk(0)), "a chunk cut short");

    let mut padded = good.clone();
    padded.manifest.len += 1;
    assert!(matches!(padded.manifest.check(height, &root), Err(SnapshotError::Root)), "length is covered");
    let mut huge = good.clone();
    huge.manifest.chunks = vec![Hash::ZERO; platform_app::snapshot::MAX_CHUNKS + 1];
    assert!(matches!(huge.manifest.check(height, &root), Err(SnapshotError::Manifest(_))), "too many chunks");
}

/// Commits the metagraph read at chain block `number` (seen first) and the weights computed
/// from it, as one block; what applying it changed.
fn commit_weights(net: &mut Net, state: &mut AppState, number: u64) -> platform_app::Effects {
    net.see_chain_up_to(number);
    let read = net.read_at(number);
    let epoch = net.chain.epoch_of(&net.chain.head().expect("head"), state.tip.epoch).expect("seen");
    let weights = weights::compute(state, &read, epoch);
    let block = net.next_block(state, vec![Action::Metagraph(read), Action::Weights(weights)]);
    net.check(state, &block).expect("valid");
    net.apply(state, &block)
}

/// Orders a submission of `who`'s and commits evaluations of it by the first `by` validators.
fn submit_and_evaluate(net: &mut Net, state: &mut AppState, tag: u8, who: PublicKey, by: usize, score_ppb: u32) {
    let (id, submit) = net.submission_by("alpha", tag, who);
    run(net, state, step("a submission", vec![submit], Expect::Valid));
    let epoch = state.submissions[&id].epoch;
    let evaluations = net.validators[..by].iter().map(|v| net.scored(v, id, "alpha", epoch, score_ppb)).collect();
    run(net, state, step("its evaluations", evaluations, Expect::Valid));
}

/// Months of history in a bounded state (before, every committed submission stayed in the
/// state for good). Each epoch two miners submit, every validator evaluates, one more
/// submission gets a single evaluation, and the epoch's weights commit. A final submission
/// leaves the state with the next weights, one never final an epoch later, so the state holds
/// only the newest whatever the length of history; and a retired submission still counts: the
/// miner's best score, from the first epoch, decides its weight eight epochs on.
#[test]
fn submissions_retire_so_the_state_stays_bounded_and_their_scores_still_count() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let add = net.add_challenge("alpha");
    run(&net, &mut state, step("a challenge", vec![add], Expect::Valid));
    let (miner, rival) = (net.miner.public(), net.rival.public());
    let all = net.validators.len();
    let mut tag = 0u8;
    let mut retired = 0;
    for round in 0..8u64 {
        let miner_score = if round == 0 { 900_000_000 } else { 100_000_000 };
        for (who, by, score) in [(miner, all, miner_score), (rival, all, 500_000_000), (rival, 1, 200_000_000)] {
            tag += 1;
            submit_and_evaluate(&mut net, &mut state, tag, who, by, score);
        }
        let effects = commit_weights(&mut net, &mut state, 30 + 20 * round);
        retired += effects.retired.len();
        assert!(effects.retired.iter().all(|(id, _)| !state.submissions.contains_key(id)));
        assert!(state.submissions.len() <= 1, "round {round}: {} held", state.submissions.len());
        let smoothed = &state.smoothed["alpha"];
        assert_eq!(smoothed[&miner], 900_000_000, "round {round}: the retired best still counts");
        assert_eq!(smoothed[&rival], 500_000_000, "round {round}");
    }
    let alpha = &state.retired["alpha"];
    assert_eq!(alpha.count as usize, retired);
    assert_eq!(retired, 3 * 8 - 1, "all but the last never-final one");
    assert_eq!(alpha.best.len(), 2, "one record per miner, however many submissions");
    let weights = weights::compute(&state, &net.read_at(200), state.tip.epoch);
    let of = |uid: u16| {
        let m = &weights.mechanisms[0];
        m.uids.iter().position(|u| *u == Uid::new(uid)).map(|i| m.weights[i]).expect("weighted")
    };
    assert!(of(4) > of(6), "the miner's retired 0.9 beats the rival's 0.5");
}

/// Replay protection without every submission in the state: a retired submission is refused
/// as ordered twice, and once a miner's newer submission moves its window on, one signed more
/// than [`platform_app::REPLAY_WINDOW_MS`] before it is refused; each miner's window is its own.
#[test]
fn a_retired_or_stale_submission_is_refused() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(10);
    let add = net.add_challenge("alpha");
    run(&net, &mut state, step("a challenge", vec![add], Expect::Valid));
    let (miner, rival) = (net.miner.public(), net.rival.public());
    let all = net.validators.len();
    submit_and_evaluate(&mut net, &mut state, 1, miner, all, 500_000_000);
    let first = SubmissionId(Hash::from_bytes([1; 32]));
    let effects = commit_weights(&mut net, &mut state, 30);
    assert_eq!(effects.retired.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![first]);
    assert!(state.submissions.is_empty());
    let again = step("the retired submission again", vec![Action::Submission(first)], Expect::Refused("ordered twice"));
    run(&net, &mut state, again);

    let window = platform_app::REPLAY_WINDOW_MS;
    let (_, newer) = net.submission_at("alpha", 2, miner, window + 10_000);
    run(&net, &mut state, step("a newer submission", vec![newer], Expect::Valid));
    let (_, stale) = net.submission_at("alpha", 3, miner, 5_000);
    run(&net, &mut state, step("one signed before the window", vec![stale], Expect::Refused("signed")));
    let replay = step("the first, now below the window", vec![Action::Submission(first)], Expect::Refused("signed"));
    run(&net, &mut state, replay);
    let (_, other) = net.submission_at("alpha", 4, rival, 5_000);
    run(&net, &mut state, step("another miner's, as old", vec![other], Expect::Valid));
}
