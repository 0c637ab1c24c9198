//! The simulated subnet's participants: their keys, the metagraph that seats them, a
//! validator's core over an in-memory store, and the timing it runs at.

use std::sync::Arc;

use platform_app::AppState;
use platform_storage::{MemoryStore, Store};
use platform_types::{Epoch, Keypair, Metagraph, NetUid, Neuron, SubnetParams, Uid, VerifiedEnvelopes};
use serde_json::Value;
use tokio::sync::watch;

use super::chain::chain_block;
use crate::config::{NodeConfig, Settings};
use crate::core::{Clock, Core, CoreParts};
use crate::metrics::Metrics;
use crate::records::Records;

/// The subnet simulated.
pub(crate) const NETUID: u16 = 3;

/// The miner registered beside the validators (uid = number of validators).
pub(crate) const MINER: &str = "Miner";

/// The secret URI of the simulated participant `name`: a raw seed hashed from the name. Reading
/// it costs one key expansion, where a `//Name` phrase costs 2 048 PBKDF2-SHA512 rounds (which
/// were most of a run's time when every simulated key was derived so).
pub(crate) fn suri(name: &str) -> String {
    format!("0x{}", hex::encode(platform_types::blake2b_256(name.as_bytes()).as_bytes()))
}

/// The key of the simulated participant `name` (see [`suri`]).
pub(crate) fn key(name: &str) -> Keypair {
    Keypair::from_suri(&suri(name)).expect("a 32-byte seed")
}

/// The subnet's metagraph at chain block 1 with the validators named (equal stake each, the
/// first one the owner) and [`MINER`].
pub(crate) fn metagraph(validators: &[&str]) -> Metagraph {
    let keys: Vec<Keypair> = validators.iter().map(|name| key(name)).collect();
    let miner = key(MINER);
    Metagraph {
        netuid: NetUid::new(NETUID),
        block: chain_block(1),
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
        params: SubnetParams::unrestricted(9),
    }
}

/// How fast simulated validators propose and give up on a leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// The least time between a commit and the next proposal.
    pub block_interval_ms: u64,
    /// How long a view waits for its leader.
    pub view_timeout_ms: u64,
}

impl Timing {
    /// The checking runs': blocks as fast as the links allow, so that epochs pass in few steps.
    pub const SIM: Timing = Timing { block_interval_ms: 10, view_timeout_ms: 200 };
    /// `validator-node`'s defaults.
    pub const NODE: Timing = Timing { block_interval_ms: 250, view_timeout_ms: 2_000 };
}

/// The core of validator `name` (see [`suri`]) of `metagraph`'s subnet over an in-memory store,
/// starting at `clock`.
pub(crate) fn validator(name: &str, metagraph: Metagraph, clock: Clock, timing: Timing) -> Core {
    let cfg = NodeConfig::from_settings(Settings {
        secret_key: Some(suri(name)),
        netuid: Some(NETUID),
        // Never opened: the core keeps everything in the memory store below.
        data_dir: Some(std::path::PathBuf::from("simulated")),
        block_interval_ms: Some(timing.block_interval_ms),
        view_timeout_ms: Some(timing.view_timeout_ms),
        // Room for what the scenarios need (a few submissions, their evaluations), so that a
        // flood reaches the pool's bounds within a run.
        mempool_capacity: Some(64),
        // The miner's six submissions and a few of its flood (the Byzantine clients) a minute.
        miner_rate_per_minute: Some(8),
        ..Settings::default()
    })
    .expect("config");
    // Snapshots every 2 heights, so that restarts start from one and every run checks that the
    // roots covering them agree.
    let cfg = NodeConfig { snapshot_interval: 2, ..cfg };
    let genesis = platform_app::weights::validator_set(&metagraph, cfg.min_stake_rao, Epoch::new(0)).expect("a set");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    // Kept as a validator keeps the genesis it adopted (the audit starts from it).
    let records = Records::new(store);
    records.put_genesis(&genesis).expect("memory store");
    let state = AppState { snapshot_interval: cfg.snapshot_interval, ..AppState::genesis(genesis) };
    core(Arc::new(cfg), records, state, metagraph, Arc::new(VerifiedEnvelopes::new(64)), clock)
}

/// A simulated validator's core configured by `cfg` over `records` (a memory store) at `state`,
/// reading `metagraph`, at `clock`; its snapshots written inline, not started.
pub(crate) fn core(
    cfg: Arc<NodeConfig>,
    records: Records,
    state: AppState,
    metagraph: Metagraph,
    verified: Arc<VerifiedEnvelopes>,
    clock: Clock,
) -> Core {
    let store = records.store().clone();
    let (status, _) = watch::channel(Value::Null);
    let (read_view, _) = watch::channel(Arc::new(crate::view::ReadView::starting()));
    let metrics = Arc::new(Metrics::default());
    let parts = CoreParts { cfg, records, state, metagraph, verified, metrics, status, read_view, clock };
    let mut core = Core::new(parts, store).expect("a core over a memory store");
    core.snapshots = crate::snapshots::SnapshotWriter::Inline(core.records.clone());
    core
}
