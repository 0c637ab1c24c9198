//! The rules of two-phase challenges (`platform_app::phases`), table-driven like the other
//! block rules: a commitment to an epoch's task, then its reveal within the window, once, by
//! its miner; what is refused says why.

mod common;

use common::*;
use platform_app::phases::{sampling_seed, task_seed};

/// A commitment to `task_epoch`'s task and the action ordering it.
fn commit(net: &mut Net, challenge: &str, tag: u8, miner: PublicKey, task_epoch: Epoch) -> (SubmissionId, Action) {
    net.phased(challenge, tag, miner, u64::from(tag) * 1000, Phase::Commit { task_epoch })
}

/// A reveal of `commitment` and the action ordering it.
fn reveal(
    net: &mut Net,
    challenge: &str,
    tag: u8,
    miner: PublicKey,
    commitment: SubmissionId,
) -> (SubmissionId, Action) {
    net.phased(challenge, tag, miner, u64::from(tag) * 1000, Phase::Reveal { commitment })
}

/// Empty blocks until the tip is at `height`.
fn empty_blocks_to(net: &Net, state: &mut AppState, height: u64) {
    while state.tip.height.get() < height {
        run(net, state, step("an empty block", vec![], Expect::Valid));
    }
}

#[test]
fn a_commitment_then_its_reveal_within_the_window_is_evaluated_with_both_seeds() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(2);
    let (two, one) = (net.add_two_phase_challenge("matmul", 3), net.add_challenge("alpha"));
    run(&net, &mut state, step("the owner adds a two-phase and a one-phase challenge", vec![two, one], Expect::Valid));
    let epoch = state.tip.epoch;
    let first_block = state.tip.hash;
    assert_eq!(state.task_seeds.get(&epoch), Some(&task_seed(&first_block)), "the epoch's first block draws its task");

    let miner = net.miner.public();
    let rival = net.rival.public();
    let (_, plain) = net.phased("matmul", 1, miner, 1000, Phase::Answer);
    let (_, commit_to_one_phase) = commit(&mut net, "alpha", 2, miner, epoch);
    let (_, future_task) = commit(&mut net, "matmul", 3, miner, Epoch::new(epoch.get() + 1));
    let (c1, commitment) = commit(&mut net, "matmul", 4, miner, epoch);
    let (_, reveal_in_same_block) = reveal(&mut net, "matmul", 5, miner, c1);
    run_all(
        &net,
        &mut state,
        vec![
            step(
                "a plain answer to a two-phase challenge",
                vec![plain],
                Expect::Refused("takes a commitment, then its reveal"),
            ),
            step("a commitment to a one-phase challenge", vec![commit_to_one_phase], Expect::Refused("has one phase")),
            step(
                "a commitment to the task of an epoch not begun",
                vec![future_task],
                Expect::Refused("own epoch's task or the one before"),
            ),
            step(
                "a reveal in the block that orders its commitment (its sampling seed is not drawn)",
                vec![commitment.clone(), reveal_in_same_block],
                Expect::Refused("ordered in this same block"),
            ),
        ],
    );
    let block = net.next_block(&state, vec![commitment]);
    assert_eq!(net.check(&state, &block), Ok(()));
    let effects = net.apply(&mut state, &block);
    assert_eq!(effects.commitments, vec![c1], "the commitment is ordered");
    assert!(effects.submissions.is_empty() && !state.submissions.contains_key(&c1), "and not evaluated");
    let committed_at = state.tip.height;

    let (_, grind) = commit(&mut net, "matmul", 6, miner, epoch);
    let (_, by_rival) = reveal(&mut net, "matmul", 7, rival, c1);
    let (_, of_nothing) = reveal(&mut net, "matmul", 8, miner, SubmissionId(Hash::from_bytes([99; 32])));
    let (r1, good) = reveal(&mut net, "matmul", 9, miner, c1);
    let (_, again) = reveal(&mut net, "matmul", 10, miner, c1);
    run_all(
        &net,
        &mut state,
        vec![
            step(
                "a second commitment to the same task (to draw the sampling again)",
                vec![grind],
                Expect::Refused("already committed to the task of epoch"),
            ),
            step(
                "a reveal of another miner's commitment",
                vec![by_rival],
                Expect::Refused("is not a commitment of miner"),
            ),
            step("a reveal of no commitment", vec![of_nothing], Expect::Refused("is not a commitment of miner")),
            step(
                "two reveals of one commitment in a block",
                vec![good.clone(), again.clone()],
                Expect::Refused("revealed already"),
            ),
            step("the reveal, the next block", vec![good], Expect::Valid),
            step("a second reveal of the commitment", vec![again], Expect::Refused("revealed already")),
        ],
    );
    let revealed = state.submissions[&r1].revealed.clone().expect("the reveal keeps what it is evaluated with");
    assert_eq!(revealed.commitment, c1);
    assert_eq!(revealed.task_seed, task_seed(&first_block));
    let commitment_block = state.commitments.values().find(|c| c.id == c1).expect("kept").block_hash;
    assert_eq!(revealed.sampling_seed, sampling_seed(&commitment_block, &c1));
    assert_eq!(
        state.commitments.values().find(|c| c.id == c1).map(|c| (c.height, c.revealed)),
        Some((committed_at, true))
    );

    // The window: reveal_blocks = 3 after the commitment's block, the boundary included.
    let (c2, rival_commitment) = commit(&mut net, "matmul", 11, rival, epoch);
    let third = key("Third").public();
    let (c3, third_commitment) = commit(&mut net, "matmul", 12, third, epoch);
    run(&net, &mut state, step("two more commitments", vec![rival_commitment, third_commitment], Expect::Valid));
    let at = state.tip.height.get();
    empty_blocks_to(&net, &mut state, at + 2);
    let (_, on_time) = reveal(&mut net, "matmul", 13, rival, c2);
    run(&net, &mut state, step("a reveal in the window's last block", vec![on_time], Expect::Valid));
    let (_, late) = reveal(&mut net, "matmul", 14, third, c3);
    run(&net, &mut state, step("a reveal one block after the window", vec![late], Expect::Refused("comes late")));
}

#[test]
fn a_commitment_answers_its_epochs_task_or_the_one_before_and_leaves_the_state_when_spent() {
    let mut net = Net::new();
    let mut state = net.genesis();
    net.see_chain_up_to(2);
    let add = net.add_two_phase_challenge("matmul", 2);
    run(&net, &mut state, step("a two-phase challenge", vec![add], Expect::Valid));
    let first = state.tip.epoch;
    let miner = net.miner.public();
    let (c1, commitment) = commit(&mut net, "matmul", 1, miner, first);
    run(&net, &mut state, step("a commitment to this epoch's task", vec![commitment], Expect::Valid));

    net.see_chain_up_to(25);
    run(&net, &mut state, step("the next epoch's first block", vec![], Expect::Valid));
    let second = state.tip.epoch;
    assert_eq!(second.get(), first.get() + 1);
    assert_eq!(state.task_seeds.keys().copied().collect::<Vec<_>>(), vec![first, second]);
    let rival = net.rival.public();
    let (c2, previous_task) = commit(&mut net, "matmul", 2, rival, first);
    run(&net, &mut state, step("a commitment to the previous epoch's task", vec![previous_task], Expect::Valid));
    assert!(state.commitments.values().any(|c| c.id == c1), "the first commitment's task is still open");

    net.see_chain_up_to(46);
    run(&net, &mut state, step("two epochs on", vec![], Expect::Valid));
    assert_eq!(state.tip.epoch.get(), first.get() + 2);
    let third = key("Third").public();
    let (_, stale_task) = commit(&mut net, "matmul", 3, third, first);
    run(
        &net,
        &mut state,
        step("a commitment to a task two epochs old", vec![stale_task], Expect::Refused("or the one before")),
    );
    let kept: Vec<SubmissionId> = state.commitments.values().map(|c| c.id).collect();
    assert_eq!(kept, vec![c2], "one whose window closed and whose task passed leaves; one still open stays");
    assert_eq!(state.task_seeds.len(), 2, "two task seeds are kept");
    let (_, late) = reveal(&mut net, "matmul", 4, miner, c1);
    run(
        &net,
        &mut state,
        step("a reveal of a commitment that has left", vec![late], Expect::Refused("can still be revealed")),
    );
}

#[test]
fn commitments_and_task_seeds_are_in_the_snapshot() {
    let mut net = Net::new();
    let mut state = net.genesis();
    state.snapshot_interval = 4;
    net.see_chain_up_to(2);
    let add = net.add_two_phase_challenge("matmul", 5);
    run(&net, &mut state, step("a two-phase challenge", vec![add], Expect::Valid));
    let miner = net.miner.public();
    let epoch = state.tip.epoch;
    let (_, commitment) = commit(&mut net, "matmul", 1, miner, epoch);
    let block = net.next_block(&state, vec![commitment]);
    assert!(net.apply(&mut state, &block).capture.is_some(), "height 2 is captured for height 4");
    let captured = state.clone();
    let mut snapshot = None;
    while snapshot.is_none() {
        let block = net.next_block(&state, vec![]);
        snapshot = net.apply(&mut state, &block).snapshot;
    }
    let snapshot = snapshot.expect("height 4 is a snapshot height");
    assert_eq!(snapshot.manifest.root(), state.tip.state_root);
    let restored = AppState::from_snapshot(&snapshot, 4).expect("restores");
    assert!(!captured.commitments.is_empty());
    assert_eq!(restored.commitments, captured.commitments);
    assert_eq!(restored.task_seeds, captured.task_seeds);
    assert_eq!(restored.tip.state_root, captured.tip.state_root);
    let mut without = captured.clone();
    without.commitments.clear();
    let m = &snapshot.manifest;
    assert_ne!(
        without.capture().snapshot(m.height, m.block_hash, m.prev_root, m.registry_hash).manifest.root(),
        state.tip.state_root,
        "the root covers the commitments"
    );
}
