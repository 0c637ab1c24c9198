//! Submissions retire from the state once final, so it stays bounded over months, while
//! their scores still count and replay protection still holds.

use crate::common::*;

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
