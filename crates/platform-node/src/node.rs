//! Starting a validator: open `data/`, read the chain, join the network, recover the state
//! from the stored blocks, then run the event loop, the chain follower, the gossip pump and the
//! HTTP API until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use platform_app::weights::validator_set;
use platform_chain::{Chain, Metagraph, WeightSetter};
use platform_p2p::{Client, P2pConfig};
use platform_runtime::{Runtime, RuntimeOptions};
use platform_storage::{RocksStore, Store};
use platform_types::{Epoch, ValidatorSet, VerifiedEnvelopes};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::chain_client::follow_chain;
use crate::config::NodeConfig;
use crate::core::{Core, CoreParts, Input};
use crate::effects::Dispatcher;
use crate::http::{Api, ApiParts, router};
use crate::metrics::Metrics;
use crate::records::Records;
use crate::rejoin::Rejoiner;
use crate::running::RunningNode;
use crate::tasks::{genesis_by_vote, gossip_pump};
use crate::verifier::Verifier;

/// Signed evaluations and sudo actions whose signature check is remembered (about 70 bytes
/// each) beyond the evaluations the pool can hold: those of the blocks being checked and applied.
const VERIFIED_MARGIN: usize = 65_536;

/// How many signature checks a node with `mempool_capacity` remembers: every batch of
/// evaluations its pool can hold (one verdict each at the least), and [`VERIFIED_MARGIN`] more.
/// Fewer, and under a backlog the rules check a batch the gossip pump checked again when its
/// block is proposed and again when it is applied (about three times the work per evaluation in
/// the simulator, when each evaluation was an envelope of its own).
pub(crate) fn verified_capacity(mempool_capacity: usize) -> usize {
    crate::mempool::evaluation_room(mempool_capacity).saturating_add(VERIFIED_MARGIN)
}

/// Consensus messages waiting for the event loop (proposals and votes of a few views).
const CONSENSUS_LANE: usize = 4_096;
/// How long a validator with an empty store waits for peers to answer whether they have a
/// snapshot before it starts from genesis (the first answer ends the wait).
const FRESH_PATIENCE_SECS: u64 = 20;
/// The same for a validator restarting with a store: a short wait, so that a restart while the
/// peers are down stays quick.
const RESTART_PATIENCE_SECS: u64 = 3;

/// Starts a validator on `chain`.
pub async fn start<C: Chain + Clone + 'static>(cfg: NodeConfig, chain: C) -> anyhow::Result<RunningNode> {
    let cfg = Arc::new(cfg);
    let me = cfg.hotkey.public();
    if let Some(fault) = cfg.fault {
        warn!(?fault, "fault injection is on: this validator misbehaves on purpose (for tests only)");
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create the data directory {}", cfg.data_dir.display()))?;
    let store: Arc<dyn Store> = Arc::new(
        RocksStore::open(&cfg.data_dir.join("db"))
            .with_context(|| format!("cannot open the store in {}", cfg.data_dir.display()))?,
    );
    let records = Records::new(store.clone());
    let closing = store.clone();
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(cfg.data_dir.join("modules")),
        audit: Some(store.clone()),
        ..RuntimeOptions::default()
    })
    .context("cannot start the WASM runtime")?;

    let metagraph = chain
        .metagraph(cfg.netuid, None)
        .await
        .with_context(|| format!("cannot read subnet {} from the chain at {}", cfg.netuid, cfg.endpoints.join(", ")))?;
    info!(hotkey = %me, netuid = cfg.netuid.get(), block = metagraph.block.number, neurons = metagraph.neurons.len(), "chain read");
    if metagraph.uid_of(&me).is_none() {
        warn!(hotkey = %me, "this hotkey is not registered on the subnet: the node follows but cannot vote");
    }

    // The network.
    let mut p2p_config = P2pConfig::new(cfg.netuid);
    p2p_config.listen = vec![cfg.p2p_listen.clone()];
    p2p_config.external = cfg.p2p_external.iter().cloned().collect();
    p2p_config.bootstrap = cfg.bootstrap.clone();
    p2p_config.limits.max_connections_per_ip = cfg.max_connections_per_ip;
    let identity = records.p2p_identity().context("cannot create the node identity")?;
    let (p2p, events, event_loop) =
        platform_p2p::new(p2p_config, identity, Some(cfg.hotkey.clone()), provider(&cfg, &records))
            .context("cannot start the peer-to-peer network")?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    // The swarm stops with the node, not when the last client handle is dropped: detached
    // evaluation and publishing tasks may still hold one.
    let mut p2p_shutdown = shutdown_rx.clone();
    tasks.spawn(async move {
        tokio::select! {
            _ = event_loop.run() => {}
            _ = p2p_shutdown.changed() => {}
        }
    });
    #[cfg(unix)]
    if cfg.fault == Some(crate::config::Fault::IsolateOnSignal) {
        tasks.spawn(isolate_on_signals(p2p.clone(), shutdown_rx.clone()));
    }

    let verified = Arc::new(VerifiedEnvelopes::new(verified_capacity(cfg.mempool_capacity)));
    let (inputs, input_rx) = mpsc::channel(16_384);
    // Consensus messages: a lane of their own, which the event loop takes first.
    let (consensus_inputs, consensus_rx) = mpsc::channel(CONSENSUS_LANE);
    let (status, status_rx) = watch::channel(crate::http::starting_status());
    let (read_view, view_rx) = watch::channel(Arc::new(crate::view::ReadView::starting()));
    let metrics = Arc::new(Metrics::default());

    // HTTP.
    let listener = tokio::net::TcpListener::bind(cfg.http_addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", cfg.http_addr))?;
    let http_addr = listener.local_addr()?;
    let api = Api::new(ApiParts {
        inputs: inputs.clone(),
        status: status_rx,
        view: view_rx,
        p2p: p2p.clone(),
        records: records.clone(),
        runtime: runtime.clone(),
        netuid: cfg.netuid,
        hotkey: me,
        metrics: metrics.clone(),
        verifier: Verifier::start(
            cfg.netuid,
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            metrics.admission_check_batch.clone(),
        ),
        data_dir: cfg.data_dir.clone(),
    });
    tasks.spawn(crate::http::serve(
        listener,
        router(api.clone()),
        crate::http::MAX_CONNECTIONS,
        crate::http::HEAD_TIMEOUT,
        shutdown_rx.clone(),
    ));
    // What this node holds is announced again after a restart (the DHT forgets providers).
    let (announce_p2p, announce_records) = (p2p.clone(), records.clone());
    tasks.spawn(async move {
        let hashes = tokio::task::spawn_blocking(move || announce_records.blob_hashes()).await.unwrap_or_default();
        for hash in hashes {
            let _ = announce_p2p.provide(hash).await;
        }
    });
    tasks.spawn(gossip_pump(
        events,
        p2p.clone(),
        consensus_inputs,
        inputs.clone(),
        cfg.netuid,
        verified.clone(),
        shutdown_rx.clone(),
    ));
    tasks.spawn(follow_chain(chain.clone(), cfg.netuid, inputs.clone(), shutdown_rx.clone(), metagraph.clone()));
    let p2p_addresses = listen_addresses(&p2p).await;

    // The application: recovered from the stored blocks on top of the genesis validator set.
    // Without a stored genesis, the set is the one validators holding more than two thirds of
    // the chain's stake vouch for (never a guess of this node's own); that vote needs the
    // other validators, which may start after this one, so it runs in the background.
    let (failed, failure) = watch::channel(None);
    let parts = Parts {
        cfg: cfg.clone(),
        chain,
        store,
        records: records.clone(),
        runtime,
        p2p: p2p.clone(),
        inputs,
        verified,
        metagraph,
        metrics,
        status,
        read_view,
    };
    match records.genesis().map_err(anyhow::Error::msg)? {
        Some(genesis) => {
            let (mut core, dispatcher, rejoiner) = parts.assemble(genesis).await?;
            core.publish_view();
            tasks.spawn(crate::event_loop::run(core, dispatcher, rejoiner, consensus_rx, input_rx, shutdown_rx));
        }
        None => {
            let candidate = validator_set(&parts.metagraph, cfg.min_stake_rao, Epoch::new(0)).with_context(|| {
                format!(
                    "no neuron of subnet {} holds a validator permit and at least {} TAO",
                    cfg.netuid,
                    cfg.min_stake_rao / crate::config::RAO_PER_TAO
                )
            })?;
            records.put_genesis_candidate(&candidate).context("cannot store the genesis candidate")?;
            // The validators the chain knows now may ask this node for its vote.
            p2p.set_validators(candidate.validators.iter().map(|v| v.hotkey).collect()).await.ok();
            let mut stop = shutdown_rx.clone();
            tasks.spawn(async move {
                let genesis = tokio::select! {
                    genesis = genesis_by_vote(&parts.p2p, me, candidate) => genesis,
                    _ = stop.changed() => return,
                };
                let assembled = match parts.records.put_genesis(&genesis) {
                    Ok(()) => parts.assemble(genesis).await,
                    Err(e) => Err(anyhow::Error::new(e).context("cannot store the genesis validator set")),
                };
                match assembled {
                    Ok((mut core, dispatcher, rejoiner)) => {
                        core.publish_view();
                        crate::event_loop::run(core, dispatcher, rejoiner, consensus_rx, input_rx, shutdown_rx).await
                    }
                    Err(e) => {
                        error!("the validator cannot start: {e:#}");
                        let _ = failed.send(Some(format!("{e:#}")));
                    }
                }
            });
        }
    }
    info!(%http_addr, peer = %p2p.local_peer(), "validator started");
    Ok(RunningNode {
        http_addr,
        peer_id: p2p.local_peer().to_string(),
        p2p_addresses,
        api,
        shutdown,
        tasks,
        failure,
        p2p: p2p.clone(),
        store: closing,
    })
}

/// What this node serves to peers: its records, or, under the `wrong-snapshot-chunks` fault,
/// its records with every snapshot chunk altered.
fn provider(cfg: &NodeConfig, records: &Records) -> Arc<dyn platform_p2p::Provider> {
    match cfg.fault {
        Some(crate::config::Fault::WrongSnapshotChunks) => Arc::new(crate::snapshots::WrongChunks(records.clone())),
        _ => Arc::new(records.clone()),
    }
}

/// What the event loop is assembled from once the genesis validator set is known.
struct Parts<C: Chain + Clone + 'static> {
    cfg: Arc<NodeConfig>,
    chain: C,
    store: Arc<dyn Store>,
    records: Records,
    runtime: Runtime,
    p2p: Client,
    inputs: mpsc::Sender<Input>,
    verified: Arc<VerifiedEnvelopes>,
    metagraph: Metagraph,
    metrics: Arc<Metrics>,
    status: watch::Sender<Value>,
    read_view: watch::Sender<Arc<crate::view::ReadView>>,
}

impl<C: Chain + Clone + 'static> Parts<C> {
    /// Recovers the state from the stored blocks on top of `genesis`, starts the actors and
    /// builds the core and the dispatcher of their effects.
    async fn assemble(self, genesis: ValidatorSet) -> anyhow::Result<(Core, Dispatcher, Rejoiner)> {
        let Parts { cfg, chain, store, records, runtime, p2p, inputs, verified, metagraph, metrics, status, read_view } =
            self;
        let me = cfg.hotkey.public();
        p2p.set_validators(genesis.validators.iter().map(|v| v.hotkey).collect()).await.ok();
        let sudo: Vec<_> = cfg
            .sudo_key
            .map_or_else(|| metagraph.owner_hotkey.into_iter().chain(metagraph.owner_coldkey).collect(), |k| vec![k]);
        // A validator with peers to join through starts from their newest snapshot when it is
        // ahead of what this one holds (an empty store, or one left behind the blocks the
        // others still keep), checked against the validator set the chain gives now.
        let held = records.last_height().context("cannot read the stored blocks")?;
        if !cfg.bootstrap.is_empty() {
            let chain_set = validator_set(&metagraph, cfg.min_stake_rao, Epoch::new(0)).unwrap_or(genesis.clone());
            let patience = Duration::from_secs(if held == 0 { FRESH_PATIENCE_SECS } else { RESTART_PATIENCE_SECS });
            let interval = cfg.snapshot_interval;
            crate::state_sync::join(&p2p, &records, cfg.netuid, &chain_set, held, interval, &metrics, patience).await;
        }
        let (state, from) = crate::recovery::replay(&records, genesis.clone(), &cfg, &sudo, &verified)?;
        metrics.started_from_snapshot.set(from as i64);
        if state.registry.validators.validators.iter().all(|v| v.hotkey != me) {
            warn!(hotkey = %me, "this hotkey is not in the validator set: the node follows without voting");
        }
        let author = crate::evaluator::Author {
            validator: cfg.hotkey.public(),
            invert_scores: cfg.fault == Some(crate::config::Fault::WrongScores),
        };
        let worker =
            crate::evaluator::Worker::start(runtime.clone(), author).context("cannot start the evaluation thread")?;
        let evaluations = crate::evaluations::Evaluations::spawn(
            runtime.clone(),
            records.clone(),
            p2p.clone(),
            worker,
            inputs.clone(),
        );
        let rejoiner =
            Rejoiner::new(p2p.clone(), records.clone(), cfg.clone(), genesis, sudo, verified.clone(), metrics.clone());
        let core = Core::new(
            CoreParts {
                cfg: cfg.clone(),
                records,
                state,
                metagraph,
                verified,
                metrics: metrics.clone(),
                status,
                read_view,
                clock: crate::core::Clock::system(),
            },
            store.clone(),
        )?;
        let setter = Arc::new(WeightSetter::new(chain, store, cfg.hotkey.clone()));
        let dispatcher = Dispatcher::new(
            p2p.clone(),
            evaluations,
            crate::sync_client::spawn(p2p, inputs.clone(), cfg.netuid),
            crate::chain_client::spawn(setter, cfg.netuid, inputs, metrics.clone()),
            metrics.clone(),
        );
        Ok((core, dispatcher, rejoiner))
    }
}

/// The partition fault: each SIGUSR2 cuts this node off the p2p network or restores it.
/// (SIGUSR1 is wasmer's: it interrupts running WASM.)
#[cfg(unix)]
async fn isolate_on_signals(p2p: Client, mut shutdown: watch::Receiver<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut toggle) = signal(SignalKind::user_defined2()) else {
        warn!("cannot listen for SIGUSR2: the partition fault is off");
        return;
    };
    let mut isolated = false;
    loop {
        tokio::select! {
            _ = toggle.recv() => isolated = !isolated,
            _ = shutdown.changed() => return,
        }
        if p2p.set_isolated(isolated).await.is_err() {
            return;
        }
    }
}

async fn listen_addresses(p2p: &Client) -> Vec<String> {
    for _ in 0..50 {
        let addresses = p2p.listen_addresses().await.unwrap_or_default();
        if !addresses.is_empty() {
            let peer = p2p.local_peer();
            let suffix = format!("/p2p/{peer}");
            return addresses
                .into_iter()
                .map(|a| if a.ends_with(&suffix) { a } else { format!("{a}{suffix}") })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Vec::new()
}
