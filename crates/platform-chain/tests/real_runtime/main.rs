//! platform-chain against the real subtensor runtime (spec 218) under chopsticks: one chain per
//! test on its own loopback port. Here: the metagraph, stake, block streams, reconnection and
//! the choice of path; setting weights in [`weights`]; timelocked commits and reveals in
//! [`commits`].

mod commits;
#[path = "../common/mod.rs"]
mod common;
mod weights;

use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, NETUID, TEMPO, hotkey, net, register, set_permits, start, vector, within};
use platform_chain::LocalChain;
use platform_chain::{
    Chain, ChainError, Head, RevealOutcome, RevealRefusal, Submitted, WeightSetter, WeightVector, WeightsCall,
    WeightsPath, commit_hash,
};
use platform_storage::{RocksStore, Store};
use platform_types::{MechanismId, NetUid};
use serde_json::json;

async fn set_subnet_item(fx: &Fixture, item: &str, value: serde_json::Value) {
    fx.local.set_storage(json!({ "SubtensorModule": { item: [[[NETUID], value]] } })).await.expect("set storage");
}

/// Hole: chopsticks builds block 1 at start-up from two reads of the wall clock (the digest's
/// slot, the timestamp inherent); a slot boundary (3 s) between them made Aura refuse it, every
/// try after could fail alike under load, and the first transaction was never included (a
/// 16-validator devnet waited 600 s for its first registration). A started chain is past its
/// genesis, so that every later block's slot and timestamp come from the stored timestamp; and
/// blocks keep building after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_chain_is_past_its_genesis_and_keeps_building_blocks() {
    let Some(fx) = start().await else { return };
    within(async {
        let first = fx.local.head_number().await.expect("head");
        assert!(first >= 1, "the chain is still at its genesis");
        fx.local.new_blocks(2).await.expect("new blocks");
        assert_eq!(fx.local.head_number().await.expect("head"), first + 2, "{}", fx.local.log_tail());
    })
    .await;
}

/// The repair itself: a chain left at its genesis (set back to it here; at start-up it is left
/// there when Aura refused block 1) gets a stored timestamp, builds block 1 from it, and keeps
/// building.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_left_at_its_genesis_builds_block_one_from_a_stored_timestamp() {
    let Some(fx) = start().await else { return };
    within(async {
        let genesis = fx.local.request("chain_getBlockHash", &[json!(0)]).await.expect("genesis hash");
        fx.local.request("dev_setHead", &[genesis]).await.expect("back to the genesis");
        assert_eq!(fx.local.head_number().await.expect("head"), 0);
        fx.local.ensure_first_block().await.expect("block 1 builds");
        assert_eq!(fx.local.head_number().await.expect("head"), 1, "{}", fx.local.log_tail());
        fx.local.new_blocks(2).await.expect("new blocks");
        assert_eq!(fx.local.head_number().await.expect("head"), 3, "{}", fx.local.log_tail());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_hotkeys_appear_in_the_metagraph_with_stake_and_permits() {
    let Some(fx) = start().await else { return };
    within(async {
        assert_eq!(fx.chain.spec_version(), 218);
        let before = fx.chain.metagraph(net(), None).await.expect("metagraph");
        assert_eq!(before.params.tempo, TEMPO);
        let keys = register(&fx, &["a", "b", "c"]).await;
        let (a, a_uid) = &keys[0];
        fx.local
            .set_storage(json!({ "SubtensorModule": { "TotalHotkeyAlpha": [[[a.public().to_ss58(), NETUID], 5_000_000_000_000u64]] } }))
            .await
            .expect("stake");
        set_permits(&fx, &[*a_uid]).await;

        let graph = fx.chain.metagraph(net(), None).await.expect("metagraph");
        assert_eq!(graph.neurons.len(), before.neurons.len() + 3);
        for (key, uid) in &keys {
            let neuron = &graph.neurons[usize::from(*uid)];
            assert_eq!(neuron.uid.get(), *uid);
            assert_eq!(neuron.hotkey, key.public());
            assert_eq!(neuron.validator_permit, uid == a_uid);
        }
        assert_eq!(graph.neurons[usize::from(*a_uid)].stake, 5_000_000_000_000);
        assert_eq!(graph.neurons[usize::from(keys[1].1)].stake, 0);
        let best = fx.chain.block(Head::Best).await.expect("best");
        assert_eq!(graph.block, best);
        let next = graph.next_epoch_block();
        assert!(next > best.number && next <= best.number + u64::from(TEMPO) + 1);
        assert_eq!((next + u64::from(NETUID) + 1) % (u64::from(TEMPO) + 1), 0);

        // A metagraph at an older block is the chain as it was then.
        let old = fx.chain.metagraph(net(), Some(before.block)).await.expect("old metagraph");
        assert_eq!(old.neurons.len(), before.neurons.len());
        // A subnet that does not exist is an error, not an empty metagraph.
        assert!(matches!(fx.chain.metagraph(NetUid::new(999), None).await, Err(ChainError::Unsupported(_))));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_streams_follow_the_chain() {
    let Some(fx) = start().await else { return };
    within(async {
        let mut best = fx.chain.blocks(Head::Best).await.expect("best stream");
        let mut finalized = fx.chain.blocks(Head::Finalized).await.expect("finalized stream");
        let start = fx.chain.block(Head::Best).await.expect("best").number;
        fx.local.new_blocks(3).await.expect("blocks");
        let mut seen = Vec::new();
        while seen.last().copied().unwrap_or(0) < start + 3 {
            seen.push(best.next().await.expect("stream open").expect("block").number);
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        let mut last_final = 0;
        while last_final < start + 3 {
            last_final = finalized.next().await.expect("stream open").expect("block").number;
        }
        assert_eq!(fx.chain.block(Head::Finalized).await.expect("finalized").number, start + 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_when_the_endpoint_comes_back() {
    let Some(fx) = start().await else { return };
    let Fixture { local, chain, config, dir: _dir, slot: _slot, .. } = fx;
    within(async {
        let mut best = chain.blocks(Head::Best).await.expect("best stream");
        local.new_blocks(1).await.expect("block");
        best.next().await.expect("open").expect("block");
        // The endpoint goes away, then comes back on the same port.
        local.stop().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let local = LocalChain::start(&config).await.expect("restart");
        // Requests wait for the new connection instead of failing.
        let head = chain.block(Head::Best).await.expect("answers after reconnect");
        local.new_blocks(2).await.expect("blocks");
        // The stream re-subscribes by itself and sees the new chain's blocks.
        let target = head.number + 2;
        loop {
            let block = best.next().await.expect("stream still open").expect("block");
            if block.number >= target {
                break;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_path_is_chosen_from_the_runtime_and_the_subnet() {
    let Some(fx) = start().await else { return };
    within(async {
        let caps = fx.chain.capabilities();
        // Spec 218 predates timelocked commits and dynamic tempo.
        assert!(!caps.timelocked_commits && !caps.mechanism_timelocked_commits && !caps.dynamic_tempo);
        let ctx = fx.chain.weights_context(net(), None).await.expect("context");
        assert!(!ctx.dynamic_tempo);
        assert_eq!(ctx.epoch, ctx.params.schedule(net()).epoch_state(ctx.block.number));
        assert!(ctx.block_time_secs > 0.0, "block time {}", ctx.block_time_secs);
        let path = |ctx: &platform_chain::WeightsContext| {
            platform_chain::choose_path(&caps, ctx, MechanismId::new(0)).expect("a path").path
        };
        let on = ctx.params.commit_reveal_enabled;
        assert_eq!(path(&ctx), if on { WeightsPath::HashedCommitReveal } else { WeightsPath::Direct });
        set_subnet_item(&fx, "CommitRevealWeightsEnabled", json!(!on)).await;
        let ctx = fx.chain.weights_context(net(), None).await.expect("context");
        assert_eq!(ctx.params.commit_reveal_enabled, !on);
        assert_eq!(path(&ctx), if !on { WeightsPath::HashedCommitReveal } else { WeightsPath::Direct });
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stake_weight_counts_root_stake_by_tao_weight() {
    let Some(fx) = start().await else { return };
    within(async {
        assert!(fx.chain.capabilities().tao_weight && fx.chain.capabilities().stake_per_subnet);
        let keys = register(&fx, &["v"]).await;
        let (v, uid) = &keys[0];
        let stake_of = |graph: &platform_chain::Metagraph| {
            graph.neurons.iter().find(|n| n.uid.get() == *uid).expect("neuron").stake
        };
        let alpha = stake_of(&fx.chain.metagraph(net(), None).await.expect("metagraph"));
        // Half of the hotkey's 2 000 root TAO counts when TaoWeight is half of u64::MAX.
        fx.local
            .set_storage(json!({ "SubtensorModule": {
                "TotalHotkeyAlpha": [[[v.public().to_ss58(), 0], 2_000_000_000_000u64]],
            } }))
            .await
            .expect("set root stake");
        // Spec 218 keeps TaoWeight per subnet (current runtimes: one value). Past 2^53 a JSON
        // number loses digits in chopsticks (JavaScript): a decimal string.
        fx.local
            .set_storage(json!({ "SubtensorModule": { "TaoWeight": [[[NETUID], (u64::MAX / 2).to_string()]] } }))
            .await
            .expect("set TaoWeight");
        let weighted = stake_of(&fx.chain.metagraph(net(), None).await.expect("metagraph"));
        assert_eq!(weighted, platform_types::stake_weight(alpha, 2_000_000_000_000, u64::MAX / 2));
        assert_eq!(weighted - alpha, 999_999_999_999);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_keys_move_stake_from_parent_to_child() {
    let Some(fx) = start().await else { return };
    within(async {
        assert!(fx.chain.capabilities().child_keys);
        let keys = register(&fx, &["parent", "child"]).await;
        let ((parent, p_uid), (child, c_uid)) = (&keys[0], &keys[1]);
        let stake_of = |graph: &platform_chain::Metagraph, uid: u16| {
            graph.neurons.iter().find(|n| n.uid.get() == uid).expect("neuron").stake
        };
        // No root stake counts here: TaoWeight 0 for the subnet.
        let half = (u64::MAX / 2).to_string();
        fx.local
            .set_storage(json!({ "SubtensorModule": {
                "TaoWeight": [[[NETUID], 0]],
                "TotalHotkeyAlpha": [
                    [[parent.public().to_ss58(), NETUID], 4_000_000_000_000u64],
                    [[child.public().to_ss58(), NETUID], 1_000_000_000_000u64],
                ],
                "ChildKeys": [[[parent.public().to_ss58(), NETUID], [[half, child.public().to_ss58()]]]],
                "ParentKeys": [[[child.public().to_ss58(), NETUID], [[half, parent.public().to_ss58()]]]],
            } }))
            .await
            .expect("set storage");
        let graph = fx.chain.metagraph(net(), None).await.expect("metagraph");
        let half = u64::MAX / 2;
        assert_eq!(stake_of(&graph, *p_uid), platform_types::inherited_stake(4_000_000_000_000, &[half], &[]));
        assert_eq!(
            stake_of(&graph, *c_uid),
            platform_types::inherited_stake(1_000_000_000_000, &[], &[(half, 4_000_000_000_000)])
        );
        assert_eq!(stake_of(&graph, *c_uid), 2_999_999_999_999);
    })
    .await;
}
