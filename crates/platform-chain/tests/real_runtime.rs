//! platform-chain against the real subtensor runtime (spec 218) under chopsticks: one chain per
//! test on its own loopback port.

mod common;

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
async fn set_weights_lands_and_reads_back_max_upscaled() {
    let Some(fx) = start().await else { return };
    within(async {
        let keys = register(&fx, &["v", "m1", "m2"]).await;
        let (validator, v_uid) = &keys[0];
        set_permits(&fx, &[*v_uid]).await;
        // What platform-scoring would send for scores 0.6 / 0.2 (max-upscaled already).
        let (uids, values) = platform_scoring::chain_weights(&[keys[1].1, keys[2].1], &[0.6, 0.2]).expect("converts");
        let setter =
            WeightSetter::new(fx.chain.clone(), Arc::new(platform_storage::MemoryStore::new()), validator.clone());
        let submitted = setter.submit(vector(&uids, &values, 0)).await.expect("set_weights");
        let Submitted::Set(inclusion) = submitted else { panic!("commit-reveal is off: {submitted:?}") };
        assert!(inclusion.events.iter().any(|e| e == "SubtensorModule::WeightsSet"), "{:?}", inclusion.events);
        let stored = fx.chain.weights(net(), MechanismId::new(0), *v_uid, None).await.expect("weights");
        let expected: Vec<(u16, u16)> = uids.iter().copied().zip(values.iter().copied()).collect();
        assert_eq!(stored, expected);
        assert_eq!(values, vec![65535, 21845]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_refusals_come_back_typed() {
    let Some(fx) = start().await else { return };
    within(async {
        let keys = register(&fx, &["v", "m"]).await;
        let (v, v_uid) = &keys[0];
        let m_uid = keys[1].1;
        set_permits(&fx, &[*v_uid]).await;
        let set = |w: WeightVector| WeightsCall::Set(w);

        // Commit-reveal off: a commit is refused.
        let commit = WeightsCall::Commit { netuid: net(), mechanism: MechanismId::new(0), hash: platform_types::Hash::ZERO };
        assert_eq!(fx.chain.submit(v, &commit).await.expect_err("commit refused"), ChainError::CommitRevealDisabled { netuid: NETUID });

        // Not registered.
        let stranger = hotkey("stranger");
        let err = fx.chain.submit(&stranger, &set(vector(&[m_uid], &[65535], 0))).await.expect_err("unregistered");
        assert!(matches!(&err, ChainError::NotRegistered { netuid: NETUID, hotkey } if *hotkey == stranger.public().to_ss58()), "{err:?}");

        // Version key below the subnet's.
        set_subnet_item(&fx, "WeightsVersionKey", json!(5)).await;
        let err = fx.chain.submit(v, &set(vector(&[m_uid], &[65535], 4))).await.expect_err("old version key");
        assert_eq!(err, ChainError::VersionKey { sent: 4, required: 5 });
        fx.chain.submit(v, &set(vector(&[m_uid], &[65535], 5))).await.expect("current version key");

        // Rate limit: a second set within WeightsSetRateLimit blocks.
        set_subnet_item(&fx, "WeightsSetRateLimit", json!(100)).await;
        let err = fx.chain.submit(v, &set(vector(&[m_uid], &[65535], 5))).await.expect_err("too fast");
        assert_eq!(err, ChainError::RateLimited { blocks: 100, next_block: None });

        // Commit-reveal on: plain set_weights is refused; off again: commits are refused.
        set_subnet_item(&fx, "CommitRevealWeightsEnabled", json!(true)).await;
        set_subnet_item(&fx, "WeightsSetRateLimit", json!(1)).await;
        let err = fx.chain.submit(v, &set(vector(&[m_uid], &[65535], 5))).await.expect_err("commit-reveal on");
        assert_eq!(err, ChainError::CommitRevealEnabled { netuid: NETUID });
        // Messages name the fix.
        assert!(err.to_string().contains("committed, then revealed"));

        // Malformed weights never leave the node.
        let err = fx.chain.submit(v, &set(vector(&[m_uid, m_uid], &[1, 2], 5))).await.expect_err("duplicates");
        assert!(matches!(err, ChainError::InvalidWeights(_)));
        // Mechanisms are not in spec 218: refused from the metadata, before signing.
        let mut w = vector(&[m_uid], &[65535], 5);
        w.mechanism = MechanismId::new(1);
        assert!(matches!(fx.chain.submit(v, &set(w)).await, Err(ChainError::Unsupported(_))));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setter_waits_out_the_rate_limit_instead_of_sending() {
    let Some(fx) = start().await else { return };
    within(async {
        let keys = register(&fx, &["v", "m"]).await;
        let (v, v_uid) = &keys[0];
        set_permits(&fx, &[*v_uid]).await;
        set_subnet_item(&fx, "WeightsSetRateLimit", json!(6)).await;
        let setter = WeightSetter::new(fx.chain.clone(), Arc::new(platform_storage::MemoryStore::new()), v.clone());
        let weights = vector(&[keys[1].1], &[65535], 0);
        // Registration counts as an update: right after it, the setter holds (the runtime would
        // refuse), naming the block the chain accepts weights from.
        let head = fx.chain.block(Head::Best).await.expect("best");
        let registered = fx.chain.sender_state(net(), MechanismId::new(0), v.public(), 0, head).await.expect("sender");
        assert_eq!(registered.uid, Some(*v_uid));
        assert!(registered.last_update > 0 && registered.last_update <= head.number, "{registered:?}");
        let from = registered.last_update + 6;
        if head.number + 1 < from {
            let held = setter.submit(weights.clone()).await.expect_err("held after registration");
            assert_eq!(held, ChainError::RateLimited { blocks: 6, next_block: Some(from) });
            fx.local.new_blocks((from - 1 - head.number) as u32).await.expect("advance");
        }
        let Submitted::Set(first) = setter.submit(weights.clone()).await.expect("first set") else {
            panic!("commit-reveal is off")
        };
        // The chain recorded the set in LastUpdate; the setter reads it back.
        let head = fx.chain.block(Head::Best).await.expect("best");
        let state = fx.chain.sender_state(net(), MechanismId::new(0), v.public(), 0, head).await.expect("sender");
        assert_eq!((state.uid, state.last_update), (Some(*v_uid), first.block.number));
        // Too early: held before signing, with the block the chain accepts it from (the
        // runtime's own refusal carries no block).
        let held = setter.submit(weights.clone()).await.expect_err("held");
        assert_eq!(held, ChainError::RateLimited { blocks: 6, next_block: Some(first.block.number + 6) });
        assert!(held.is_transient());
        // One block short of the limit the chain itself refuses the same call: the check is not
        // stricter than the runtime's, and not laxer.
        let best = fx.chain.block(Head::Best).await.expect("best").number;
        fx.local.new_blocks((first.block.number + 6 - 2 - best) as u32).await.expect("advance");
        assert!(matches!(
            setter.submit(weights.clone()).await,
            Err(ChainError::RateLimited { next_block: Some(_), .. })
        ));
        let raw = fx.chain.submit(v, &WeightsCall::Set(weights.clone())).await.expect_err("chain refuses");
        assert_eq!(raw, ChainError::RateLimited { blocks: 6, next_block: None });
        // The refused call's block counts too; from the allowed block on, it lands.
        let best = fx.chain.block(Head::Best).await.expect("best").number;
        if best + 1 < first.block.number + 6 {
            fx.local.new_blocks((first.block.number + 6 - 1 - best) as u32).await.expect("advance");
        }
        let Submitted::Set(second) = setter.submit(weights).await.expect("after the limit") else { panic!() };
        assert!(second.block.number >= first.block.number + 6);
        // An unregistered hotkey is told so before anything is signed.
        let stranger = WeightSetter::new(fx.chain.clone(), Arc::new(platform_storage::MemoryStore::new()), hotkey("x"));
        assert!(matches!(
            stranger.submit(vector(&[keys[1].1], &[65535], 0)).await,
            Err(ChainError::NotRegistered { netuid: NETUID, .. })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_stop_at_the_chains_bound_on_unrevealed_commits() {
    let Some(fx) = start().await else { return };
    within(async {
        let keys = register(&fx, &["v", "m"]).await;
        let (v, v_uid) = &keys[0];
        set_permits(&fx, &[*v_uid]).await;
        set_subnet_item(&fx, "CommitRevealWeightsEnabled", json!(true)).await;
        // (1 is the least: chopsticks reads a 0 written here as "remove", leaving the default 100.)
        set_subnet_item(&fx, "WeightsSetRateLimit", json!(1)).await;
        let setter = WeightSetter::new(fx.chain.clone(), Arc::new(platform_storage::MemoryStore::new()), v.clone());
        let weights = vector(&[keys[1].1], &[65535], 0);
        for i in 0..platform_chain::MAX_UNREVEALED_COMMITS {
            let submitted = setter.submit(weights.clone()).await.unwrap_or_else(|e| panic!("commit {i}: {e}"));
            assert!(matches!(submitted, Submitted::Committed { .. }), "{submitted:?}");
        }
        // The eleventh is held by the setter, before signing…
        let held = setter.submit(weights.clone()).await.expect_err("held");
        assert_eq!(held, ChainError::TooManyUnrevealed { limit: 10 });
        assert_eq!(setter.pending().expect("pending").len(), 10);
        // …and the runtime would refuse it for the same reason: the bound is the chain's.
        let hash = platform_types::Hash::from_bytes([9; 32]);
        let commit = WeightsCall::Commit { netuid: net(), mechanism: MechanismId::new(0), hash };
        assert_eq!(
            fx.chain.submit(v, &commit).await.expect_err("refused"),
            ChainError::TooManyUnrevealed { limit: 10 }
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_then_reveal_across_blocks_and_a_restart() {
    let Some(fx) = start().await else { return };
    within(async {
        let keys = register(&fx, &["v", "m1", "m2"]).await;
        let (v, v_uid) = &keys[0];
        set_permits(&fx, &[*v_uid]).await;
        set_subnet_item(&fx, "CommitRevealWeightsEnabled", json!(true)).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let weights = vector(&[keys[1].1, keys[2].1], &[65535, 30000], 0);

        let commit = {
            let store: Arc<dyn Store> = Arc::new(RocksStore::open(dir.path()).expect("store"));
            let setter = WeightSetter::new(fx.chain.clone(), store, v.clone());
            let submitted = setter.submit(weights.clone()).await.expect("commit");
            let Submitted::Committed { inclusion, commit } = submitted else {
                panic!("expected a commit: {submitted:?}")
            };
            assert!(
                inclusion.events.iter().any(|e| e == "SubtensorModule::WeightsCommitted"),
                "{:?}",
                inclusion.events
            );
            assert_eq!(commit.commit_block, inclusion.block.number);
            assert_eq!(setter.pending().expect("pending"), vec![commit.clone()]);
            // Revealing now is too early, and the runtime says so.
            let early = WeightsCall::Reveal { weights: weights.clone(), salt: commit.salt.clone() };
            assert_eq!(
                fx.chain.submit(v, &early).await.expect_err("early"),
                ChainError::Reveal(RevealRefusal::TooEarly)
            );
            // Nothing is revealed before the window either.
            assert!(setter.reveal_due(inclusion.block.number + 1).await.expect("reveal_due").is_empty());
            commit
            // The setter and its store are dropped here: the node "restarts".
        };
        let hash = commit_hash(&v.public(), NETUID, &weights.uids, &weights.values, &commit.salt, 0);
        assert_eq!(commit.hash, hash);

        let best = fx.chain.block(Head::Best).await.expect("best").number;
        fx.local.new_blocks((commit.reveal_from - best) as u32).await.expect("advance to the window");
        let store: Arc<dyn Store> = Arc::new(RocksStore::open(dir.path()).expect("store reopens"));
        let setter = WeightSetter::new(fx.chain.clone(), store, v.clone());
        assert_eq!(setter.pending().expect("pending"), vec![commit.clone()]);
        let now = fx.chain.block(Head::Best).await.expect("best").number;
        let outcomes = setter.reveal_due(now).await.expect("reveal");
        assert!(matches!(outcomes.as_slice(), [RevealOutcome::Revealed(_)]), "{outcomes:?}");
        assert!(setter.pending().expect("pending").is_empty());
        let stored = fx.chain.weights(net(), MechanismId::new(0), *v_uid, None).await.expect("weights");
        assert_eq!(stored, vec![(keys[1].1, 65535), (keys[2].1, 30000)]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_window_passed_is_dropped() {
    let Some(fx) = start().await else { return };
    within(async {
        let keys = register(&fx, &["v", "m"]).await;
        let (v, v_uid) = &keys[0];
        set_permits(&fx, &[*v_uid]).await;
        set_subnet_item(&fx, "CommitRevealWeightsEnabled", json!(true)).await;
        let setter = WeightSetter::new(fx.chain.clone(), Arc::new(platform_storage::MemoryStore::new()), v.clone());
        let Submitted::Committed { commit, .. } =
            setter.submit(vector(&[keys[1].1], &[65535], 0)).await.expect("commit")
        else {
            panic!("expected a commit")
        };
        let outcomes = setter.reveal_due(commit.reveal_until + 1).await.expect("reveal_due");
        assert!(matches!(outcomes.as_slice(), [RevealOutcome::Expired(c)] if *c == commit), "{outcomes:?}");
        assert!(setter.pending().expect("pending").is_empty());
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
async fn the_runtime_refuses_what_the_weight_rules_forbid_and_takes_the_fitted_vector() {
    let Some(fx) = start().await else { return };
    within(async {
        let keys = register(&fx, &["v", "m1", "m2"]).await;
        let (validator, v_uid) = &keys[0];
        let (m1, m2) = (keys[1].1, keys[2].1);
        set_permits(&fx, &[*v_uid]).await;
        set_subnet_item(&fx, "MinAllowedWeights", json!(3)).await;
        set_subnet_item(&fx, "MaxWeightsLimit", json!(40_000)).await;
        let params = fx.chain.subnet_params(net(), None).await.expect("params");
        assert_eq!((params.min_allowed_weights, params.max_weights_limit), (3, 40_000));
        let setter =
            WeightSetter::new(fx.chain.clone(), Arc::new(platform_storage::MemoryStore::new()), validator.clone());
        // Too few entries, then one weight above 40 000 / 65 535 of the sum: both refused.
        let short = setter.submit(vector(&[m1, m2], &[65535, 100], 0)).await;
        assert!(
            matches!(&short, Err(ChainError::Module { error, .. }) if error == "WeightVecLengthIsLow"),
            "{short:?}"
        );
        let mut uids = vec![*v_uid, m1, m2];
        uids.sort_unstable();
        let lopsided: Vec<u16> = uids
            .iter()
            .map(|u| {
                if *u == m1 {
                    65535
                } else if *u == m2 {
                    100
                } else {
                    0
                }
            })
            .collect();
        let refused = setter.submit(vector(&uids, &lopsided, 0)).await;
        assert!(
            matches!(&refused, Err(ChainError::Module { error, .. }) if error == "MaxWeightExceeded"),
            "{refused:?}"
        );
        // Fitted as every validator fits the agreed vector: it lands.
        let limits = platform_scoring::ChainLimits {
            neurons: 3,
            min_allowed_weights: params.min_allowed_weights,
            max_weights_limit: params.max_weights_limit,
        };
        let (uids, values) = platform_scoring::fit_to_chain_limits(vec![m1, m2], vec![65535, 100], limits);
        assert_eq!(uids.len(), 3);
        let landed = setter.submit(vector(&uids, &values, 0)).await;
        assert!(matches!(landed, Ok(Submitted::Set(_))), "{landed:?}");
        let stored = fx.chain.weights(net(), MechanismId::new(0), *v_uid, None).await.expect("weights");
        assert!(stored.iter().any(|&(uid, w)| uid == m2 && w > 0), "{stored:?}");
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
