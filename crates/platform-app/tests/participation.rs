//! Who answered which challenge in which epoch, as committed blocks record it: what an epoch
//! scorer is served to weigh availability, the same on every validator, in every replay and
//! after a restart from a snapshot.

mod common;

use common::*;

#[test]
fn answers_across_epochs_give_each_miners_participation_and_it_survives_a_snapshot() {
    let mut net = Net::new();
    let mut state = net.genesis();
    state.snapshot_interval = 4;
    net.see_chain_up_to(2);
    let add = net.add_challenge("lease");
    run(&net, &mut state, step("a challenge", vec![add], Expect::Valid));
    let first = state.tip.epoch;
    let (miner, rival) = (net.miner.public(), net.rival.public());
    // The miner answers in the first three epochs, the rival in the first only.
    let mut tag = 0u8;
    for (chain, who) in [(2u64, vec![miner, rival]), (25, vec![miner]), (46, vec![miner])] {
        net.see_chain_up_to(chain);
        let actions = who
            .into_iter()
            .map(|m| {
                tag += 1;
                net.submission_by("lease", tag, m).1
            })
            .collect();
        run(&net, &mut state, step("answers of an epoch", actions, Expect::Valid));
    }
    let third = state.tip.epoch;
    assert_eq!(third.get(), first.get() + 2);
    assert_eq!(state.participation("lease", &miner, third), Some(0b111));
    assert_eq!(state.participation("lease", &rival, third), Some(0b100));
    assert_eq!(state.participation("lease", &rival, first), Some(0b1), "as of the first epoch");
    assert_eq!(state.participation("lease", &key("Nobody").public(), third), Some(0));
    let served = state.epoch_participation("lease", third, [&miner, &rival]).expect("held");
    assert_eq!(served.get(miner.as_bytes()), Some(&0b111));
    // An empty block at a snapshot height: the restored state serves the same.
    while !state.is_snapshot_height(state.tip.height.next()) {
        run(&net, &mut state, step("an empty block", vec![], Expect::Valid));
    }
    let block = net.next_block(&state, vec![]);
    let snapshot = net.apply(&mut state, &block).snapshot.expect("a snapshot height");
    let restored = AppState::from_snapshot(&snapshot, 4).expect("restores");
    assert_eq!(restored.participation, state.participation);
    assert_eq!(restored.epoch_participation("lease", third, [&miner, &rival]), Some(served));
}
