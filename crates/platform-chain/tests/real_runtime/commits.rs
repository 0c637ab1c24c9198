//! Commit-reveal on the real runtime: the bound on unrevealed commits, a reveal across blocks
//! and a restart, and a commit whose window passed.

use super::*;

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
