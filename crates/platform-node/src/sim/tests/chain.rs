//! The chain moving under the network: dynamic tempo, validator set changes.

use std::time::Duration;

use crate::sim::actions::challenge_and_submissions;
use crate::sim::net::Net;
use crate::sim::*;

/// Dynamic tempo (the chain reports each block's epoch) and the tempo shortening mid-run: every
/// block's epoch is the chain's at the block it links to, and weights come for each epoch the
/// chain counts, before and after the change, one vector per epoch and the same from everyone.
#[test]
fn with_dynamic_tempo_shortening_mid_run_blocks_follow_the_chains_epochs() {
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    net.change_tempo(crate::sim::TEMPO_CHANGE_BLOCK, crate::sim::TEMPO_AFTER);
    // Before the change one epoch every 10 blocks, after it one every 5.
    let first_after = net.chain_epoch(crate::sim::TEMPO_CHANGE_BLOCK).expect("dynamic");
    assert_eq!(net.chain_epoch(crate::sim::TEMPO_CHANGE_BLOCK - 1), Some(first_after - 1));
    assert_eq!(net.chain_epoch(crate::sim::TEMPO_CHANGE_BLOCK + 5), Some(first_after + 1));
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
    net.changes.push((SET_CHANGE_BLOCK, crate::sim::set_changed(&net.metagraph, Some(1), 0, Some(key))));
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
