//! Setting weights on the real runtime: they land and read back, the runtime's refusals come
//! back typed, the setter waits out the rate limit, and what the weight rules forbid is refused.

use super::*;

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
