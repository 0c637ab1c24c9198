//! The core on its own: no tokio runtime, no network, no chain client, no actor. What it wants
//! done outside itself comes out as data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_app::AppState;
use platform_p2p::Topic;
use platform_storage::{MemoryStore, Store};
use platform_types::{Epoch, Keypair, Metagraph, NetUid, Neuron, SubnetParams, Uid, VerifiedEnvelopes};
use tokio::sync::watch;

use super::*;
use crate::config::Settings;
use crate::effects::Effect;
use crate::evaluations::Request as Evaluate;

const NETUID: u16 = 3;

/// A core of a lone validator (all the stake) over an in-memory store.
fn lone_validator() -> Core {
    let dir = tempfile::tempdir().expect("dir");
    let validator = Keypair::from_suri("//Alice").expect("key");
    let cfg = NodeConfig::from_settings(Settings {
        secret_key: Some("//Alice".into()),
        netuid: Some(NETUID),
        data_dir: Some(dir.path().to_path_buf()),
        block_interval_ms: Some(10),
        view_timeout_ms: Some(200),
        ..Settings::default()
    })
    .expect("config");
    let metagraph = Metagraph {
        netuid: NetUid::new(NETUID),
        block: platform_chain::test_block(1),
        neurons: vec![Neuron {
            uid: Uid::new(0),
            hotkey: validator.public(),
            stake: 5_000_000_000_000,
            validator_permit: true,
        }],
        owner_coldkey: None,
        owner_hotkey: Some(validator.public()),
        params: SubnetParams {
            tempo: 100,
            weights_version_key: 0,
            weights_rate_limit: 1,
            commit_reveal_enabled: false,
            reveal_period_epochs: 1,
            mechanism_count: 1,
        },
    };
    let genesis = platform_app::weights::validator_set(&metagraph, cfg.min_stake_rao, Epoch::new(0)).expect("a set");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (status, _) = watch::channel(Value::Null);
    let (read_view, _) = watch::channel(Arc::new(crate::view::ReadView::starting()));
    let parts = CoreParts {
        cfg: Arc::new(cfg),
        records: Records::new(store.clone()),
        state: AppState::genesis(genesis),
        metagraph,
        verified: Arc::new(VerifiedEnvelopes::new(64)),
        metrics: Arc::new(Metrics::default()),
        status,
        read_view,
    };
    Core::new(parts, store).expect("core")
}

/// Runs without a tokio runtime: a core that spawned a task or called the network (as the
/// event loop did before effects became data) panics here.
#[test]
fn the_core_commits_blocks_and_hands_out_its_effects_as_data() {
    let mut core = lone_validator();
    core.start();
    let started = core.take_effects();
    assert!(
        started.iter().any(|e| matches!(e, Effect::Evaluate(Evaluate::Challenges(c)) if c.is_empty())),
        "the evaluation actor is told the active challenges: {started:?}"
    );
    assert!(started.iter().any(|e| matches!(e, Effect::Timer { .. })), "the view timer is asked for: {started:?}");
    assert!(core.take_effects().is_empty(), "taken effects are gone");

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut effects = Vec::new();
    while core.state.tip.height.get() < 3 {
        assert!(Instant::now() < deadline, "no blocks committed; effects so far: {effects:?}");
        std::thread::sleep(Duration::from_millis(5));
        core.tick();
        core.end_turn();
        effects.extend(core.take_effects());
    }
    let published = effects.iter().filter(|e| matches!(e, Effect::Publish { topic: Topic::Consensus, .. })).count();
    assert!(published >= 3, "each block's proposal and votes go out as effects: {effects:?}");
    assert!(core.records.blocks_from(1, 8).expect("read").len() >= 3, "committed blocks are stored");
}
