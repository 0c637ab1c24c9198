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

pub(super) const NETUID: u16 = 3;

/// The miner registered beside the validators (uid = number of validators).
pub(super) const MINER: &str = "//Miner";

/// The subnet's metagraph at chain block 1 with these validators (equal stake each, the first
/// one the owner) and [`MINER`].
pub(super) fn metagraph(validators: &[&str]) -> Metagraph {
    let keys: Vec<Keypair> = validators.iter().map(|s| Keypair::from_suri(s).expect("key")).collect();
    let miner = Keypair::from_suri(MINER).expect("key");
    Metagraph {
        netuid: NetUid::new(NETUID),
        block: platform_chain::test_block(1),
        neurons: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Neuron {
                uid: Uid::new(i as u16),
                hotkey: k.public(),
                stake: 5_000_000_000_000,
                validator_permit: true,
            })
            .chain([Neuron {
                uid: Uid::new(keys.len() as u16),
                hotkey: miner.public(),
                stake: 0,
                validator_permit: false,
            }])
            .collect(),
        owner_coldkey: None,
        owner_hotkey: Some(keys[0].public()),
        params: SubnetParams {
            tempo: 9,
            weights_version_key: 0,
            weights_rate_limit: 1,
            commit_reveal_enabled: false,
            reveal_period_epochs: 1,
            mechanism_count: 1,
        },
    }
}

/// The core of validator `suri` of `metagraph`'s subnet over an in-memory store, starting at
/// `clock`.
pub(super) fn validator(suri: &str, metagraph: Metagraph, clock: Clock) -> Core {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = NodeConfig::from_settings(Settings {
        secret_key: Some(suri.into()),
        netuid: Some(NETUID),
        data_dir: Some(dir.path().to_path_buf()),
        block_interval_ms: Some(10),
        view_timeout_ms: Some(200),
        ..Settings::default()
    })
    .expect("config");
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
        clock,
    };
    Core::new(parts, store).expect("core")
}

/// A core of a lone validator (all the stake).
fn lone_validator() -> Core {
    validator("//Alice", metagraph(&["//Alice"]), Clock { now: Instant::now(), wall_ms: 1_764_000_000_000 })
}

/// Runs without a tokio runtime and without a clock: a core that spawned a task or called the
/// network (as the event loop did before effects became data) panics here, and one that read
/// the system's clock would not commit, since the test's time only moves when it says so.
#[test]
fn the_core_commits_blocks_and_hands_out_its_effects_as_data() {
    let mut core = lone_validator();
    let start = core.clock;
    core.start();
    let started = core.take_effects();
    assert!(
        started.iter().any(|e| matches!(e, Effect::Evaluate(Evaluate::Challenges(c)) if c.is_empty())),
        "the evaluation actor is told the active challenges: {started:?}"
    );
    assert!(started.iter().any(|e| matches!(e, Effect::Timer { .. })), "the view timer is asked for: {started:?}");
    assert!(core.take_effects().is_empty(), "taken effects are gone");

    let mut effects = Vec::new();
    let mut elapsed = Duration::ZERO;
    while core.state.tip.height.get() < 3 {
        assert!(elapsed < Duration::from_secs(10), "no blocks committed; effects so far: {effects:?}");
        // Virtual time: 20 ms per tick, as the event loop's ticks.
        elapsed += Duration::from_millis(20);
        core.set_time(Clock { now: start.now + elapsed, wall_ms: start.wall_ms + elapsed.as_millis() as u64 });
        core.tick();
        core.end_turn();
        effects.extend(core.take_effects());
    }
    let published = effects.iter().filter(|e| matches!(e, Effect::Publish { topic: Topic::Consensus, .. })).count();
    assert!(published >= 3, "each block's proposal and votes go out as effects: {effects:?}");
    assert!(core.records.blocks_from(1, 8).expect("read").len() >= 3, "committed blocks are stored");
}
